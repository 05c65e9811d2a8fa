/* SPDX-License-Identifier: MIT */
/*
 * Kernel compatibility probes: small questions asked of the running kernel
 * by loading a few instructions, whose answers pick between variants of the
 * same BPF programs (src/bpf/lib/compat.bpf.h explains the variants: CO-RE
 * flavours, .rodata knobs, the GS_LEGACY object). Each probe loads something
 * real rather than trusting a version number or a verifier message. No
 * logging here: probes.c logs each choice once and reports it in
 * gespann_feature_enabled.
 */
#ifndef GESPANN_KCOMPAT_H
#define GESPANN_KCOMPAT_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include <linux/bpf.h>

/* Does the verifier accept fetching atomics (BPF_XCHG, BPF_OR; Linux 5.12)?
 * When not, the GS_LEGACY objects are loaded. */
bool kcompat_has_atomics(void);

/* May a program of TYPE call helper ID? Answered by loading one that does:
 * libbpf 1.1's libbpf_probe_bpf_helper() takes 6.x's "program of this type
 * cannot use helper" for a yes (cgroup_skb and bpf_get_netns_cookie on
 * 6.12). False also when loading fails for any other reason. */
bool kcompat_prog_has_helper(enum bpf_prog_type type, enum bpf_func_id id);

/* May cgroup_skb programs name the current task: pid, comm and cgroup id
 * helpers together (6.12 has the pid but not the comm)? */
bool kcompat_skb_has_current_task(void);

/* May programs of this type read the current task's fields:
 * bpf_get_current_task() and bpf_probe_read_kernel() (the thread-group
 * leader's comm)? Cgroup program types have them only where the base
 * helpers include them. */
bool kcompat_prog_reads_task(enum bpf_prog_type type);

/* Does getsockopt(SO_NETNS_COOKIE) work (Linux 5.14)? When not, network
 * namespaces are identified by their inode number on both sides. */
bool kcompat_has_netns_cookie(void);

/* The identity of the calling thread's network namespace: its cookie, or
 * with BY_INO its inode number (/proc/thread-self/ns/net). Returns 0 or a
 * negative errno. */
int kcompat_netns_id_here(bool by_ino, uint64_t *id);

/*
 * KCOMPAT_DEFINE_SKEL_OPEN(fam) defines
 *   static struct fam_bpf *fam_bpf_open_variant(bool legacy);
 * which opens skeleton fam_bpf like fam_bpf__open(), with the ELF bytes of
 * its GS_LEGACY build (build/fam_legacy.skel.h, same source compiled with
 * -DGS_LEGACY) when LEGACY is true. Both builds have the same maps, programs
 * and variables (the Makefile compares the skeletons' structs), so the
 * normal skeleton struct fits either object. Returns NULL with errno set on
 * failure. Include both skeleton headers before using it.
 */
#define KCOMPAT_DEFINE_SKEL_OPEN(fam)                                                         \
	static struct fam##_bpf *fam##_bpf_open_variant(bool legacy)                          \
	{                                                                                     \
		struct fam##_bpf *obj = calloc(1, sizeof(*obj));                              \
		int err;                                                                      \
                                                                                              \
		(void)fam##_legacy_bpf__destroy; /* only its ELF bytes are used */            \
		if (!obj) {                                                                   \
			errno = ENOMEM;                                                       \
			return NULL;                                                          \
		}                                                                             \
		err = fam##_bpf__create_skeleton(obj);                                        \
		if (!err && legacy)                                                           \
			obj->skeleton->data =                                                 \
				(void *)fam##_legacy_bpf__elf_bytes(&obj->skeleton->data_sz); \
		if (!err)                                                                     \
			err = bpf_object__open_skeleton(obj->skeleton, NULL);                 \
		if (err) {                                                                    \
			fam##_bpf__destroy(obj);                                              \
			errno = -err;                                                         \
			return NULL;                                                          \
		}                                                                             \
		return obj;                                                                   \
	}

#endif
