/* SPDX-License-Identifier: MIT */
/*
 * What the files of src/probes/ share and nobody else sees: one start and
 * one stop per program family (tcp.c, udp.c, proc.c: each opens,
 * configures, loads and attaches its own skeleton, libbpf-tools style),
 * called in order by probes.c, and the scope helpers they seed with
 * (scope.c). probes.h and readers.h are the module's interface.
 */
#ifndef GESPANN_PROBES_INT_H
#define GESPANN_PROBES_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "config/config.h"
#include "probes/probes.h"
#include "probes/scope.h"

struct btf;

/* ==== scope.c ==== */

/* Before 5.14 user space cannot read netns cookies: every netns identity,
 * the scope's and the kernel programs' (rodata gs_netns_by_ino), is then
 * the namespace's inode number. Asked once (logged then), cached after. */
bool probes_netns_by_ino(void);

/* Run an iterator to EOF in namespace ns_fd (-1: ours; socket iterators
 * walk the namespace they are created in). Returns the bytes it printed, or
 * a negative errno. */
ssize_t probes_iter_run_in(int iter_link_fd, int ns_fd);

/* Namespaces in scope, each run through a socket iterator. */
struct scope_walk {
	size_t n_ns, n_fail;
	size_t printed; /* bytes the iterator printed, all namespaces */
};

/*
 * Run the socket iterator behind iter_link_fd once in every network
 * namespace in scope: ours, the one at s->path, or with scope host each
 * namespace a process or a /var/run/netns file holds.
 */
struct scope_walk probes_iter_run_scope(int iter_link_fd, const struct scope *s);

/* ==== Kernel questions the families and prereqs.c share ==== */

/* probes.c: kprobes exist when the kprobe PMU does (CONFIG_KPROBE_EVENTS). */
bool probes_kprobe_exists(void);

/* tcp.c: does BTF have the tp_btf hook TP (typedef btf_trace_<TP>, what
 * libbpf resolves at load)? False when btf is NULL. */
bool probes_btf_has_tracepoint(const struct btf *btf, const char *tp);

/* prereqs.c: does the kernel's enum ENUM_NAME (in BTF) have the value
 * VALUE? False when btf is NULL. */
bool probes_btf_enum_has(const struct btf *btf, const char *enum_name, const char *value);

/* tcp.c: the tracefs directory libbpf will use to find tracepoint ids: the
 * one under debugfs when that exists (libbpf prefers it), else
 * /sys/kernel/tracing, mounted there when nothing is and MAY_MOUNT (logged).
 * Returns the directory, or NULL (none, or not mounted and !MAY_MOUNT). */
const char *probes_tracefs_dir(bool may_mount);

/* tcp.c: does tracefs at DIR have the event CATEGORY/NAME? */
bool probes_tracepoint_exists(const char *dir, const char *category, const char *name);

/* proc.c: the libc.so.6 mapped into this process (the host's, when the
 * agent runs on the host) into buf. Returns 0 or -ENOENT. */
int probes_find_own_libc(char *buf, size_t len);

/* Each family's ELF object, the bytes its skeleton opens (the normal build,
 * not GS_LEGACY: both have the same programs and maps). For prereqs.c,
 * which opens them without loading. */
const void *probes_tcp_elf(size_t *sz);
const void *probes_udp_elf(size_t *sz);
const void *probes_proc_elf(size_t *sz);

/* ==== The families, in start order ==== */

/* tcp.c: required. Open, configure, load and attach the tcp family (with
 * accept attribution), seed the connections open in scope and run the live
 * refresh once. Returns 0 or a negative errno (logged); p->tcp may be set
 * either way: probes_tcp_stop() frees it. */
int probes_tcp_start(struct probes *p, const struct config *cfg, const struct scope *s,
		     const struct btf *btf);
void probes_tcp_stop(struct probes *p);
/* The fd of the tcp family's ring buffer (`events`), which the other
 * families reuse before their load so one reader drains every record.
 * p->tcp must be loaded. */
int probes_tcp_events_fd(const struct probes *p);

/* proc.c: optional, after tcp (it shares tcp's ring buffer). A failure logs
 * why and leaves its features off. */
void probes_proc_start(struct probes *p, const struct config *cfg, const struct scope *s,
		       const struct btf *btf);
void probes_proc_stop(struct probes *p);

/* udp.c: optional as a whole, after tcp (DNS records go into tcp's ring
 * buffer). dns_capture turns the DNS copy on. Any failure is logged and
 * leaves the agent running without it; returns 0. */
int probes_udp_start(struct probes *p, const struct config *cfg, const struct scope *s,
		     bool dns_capture);
void probes_udp_stop(struct probes *p);

#endif
