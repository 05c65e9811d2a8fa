// SPDX-License-Identifier: MIT
/*
 * loadcheck: load each BPF program of Gespann's objects on its own and say
 * which ones the running kernel accepts. The objects are the ones embedded
 * in build/tcp.skel.h and build/udp.skel.h (or their GS_LEGACY builds),
 * configured with the kernel fallbacks the agent would choose (src/probes/kcompat.h):
 * byte for byte what the agent loads. The agent stops at the first program
 * the kernel refuses; this tool goes through all of them, so one boot of an
 * old kernel names every program that needs a fallback, with the libbpf and
 * verifier lines that explain why. Used by tests/kernels/guest_run.sh.
 *
 *   cc -Ibuild -Isrc -o build/kernels/loadcheck tests/kernels/loadcheck.c src/probes/kcompat.c -lbpf
 *   loadcheck
 *
 * Prints one line per program, "OBJECT PROGRAM: ok" or "OBJECT PROGRAM:
 * FAIL errno", the latter followed by the relevant log lines indented with
 * "  | ". Exits 0 when every program loaded, 1 otherwise.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/libbpf.h>

#include "probes/kcompat.h"
#include "tcp.skel.h"
#include "tcp_legacy.skel.h"
#include "udp.skel.h"
#include "udp_legacy.skel.h"

KCOMPAT_DEFINE_SKEL_OPEN(tcp)
KCOMPAT_DEFINE_SKEL_OPEN(udp)

#define LOG_SIZE (1024 * 1024)

static char log_buf[LOG_SIZE];
static size_t log_len;

/* Does this libbpf line tell what went wrong? */
static bool is_error_line(const char *l)
{
	static const char *const words[] = { "failed",	    "error",	   "unknown",
					     "invalid",	    "not found",   "not supported",
					     "no matching", "substituting" };

	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strstr(l, words[i]))
			return true;
	return false;
}

/* The last CO-RE relocation libbpf described ("relo #N: <byte_off> [id]
 * struct net.net_cookie ..."): printed when it finds no match for it. */
static char relo_spec[1024];

static void append(const char *s)
{
	size_t n = strlen(s);

	if (n >= sizeof(log_buf) - log_len)
		n = sizeof(log_buf) - log_len - 1;
	memcpy(log_buf + log_len, s, n);
	log_len += n;
	log_buf[log_len] = '\0';
}

/* libbpf's warnings and notes (the verifier log comes at warning level, as
 * one message), and those of its debug lines that tell of a failure (a CO-RE
 * relocation without a match, with the relocation it was), kept for the
 * report of a failed load. */
static int collect(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char *line = NULL;

	if (vasprintf(&line, fmt, ap) < 0)
		return 0;
	if (level == LIBBPF_DEBUG && strstr(line, "relo #") && strstr(line, "] ") &&
	    !strstr(line, "candidate") && !strstr(line, "patched"))
		snprintf(relo_spec, sizeof(relo_spec), "%s", line);
	if (level != LIBBPF_DEBUG || is_error_line(line)) {
		if (strstr(line, "no matching targets") && relo_spec[0])
			append(relo_spec);
		append(line);
	}
	free(line);
	return 0;
}

/* The lines that explain a failure: libbpf's (kept by collect()) and the
 * end of each verifier log, where its verdict is. */
static void print_failure_lines(void)
{
	static char *lines[16384];
	size_t n = 0, log_start = 0;
	bool in_log = false;
	char *save = NULL, *line;

	for (line = strtok_r(log_buf, "\n", &save); line && n < 16384;
	     line = strtok_r(NULL, "\n", &save))
		lines[n++] = line;
	for (size_t i = 0; i < n; i++) {
		if (strstr(lines[i], "-- BEGIN PROG LOAD LOG --")) {
			in_log = true;
			log_start = i + 1;
		} else if (strstr(lines[i], "-- END PROG LOAD LOG --")) {
			in_log = false;
			for (size_t j = i >= log_start + 8 ? i - 8 : log_start; j < i; j++)
				printf("  | %s\n", lines[j]);
		} else if (!in_log) {
			printf("  | %s\n", lines[i]);
		}
	}
}

/* The fallbacks the agent chooses on this kernel (probes.c). */
static struct {
	bool legacy, by_ino, skb_cookie, skb_pid;
} knobs;

/* One family: its skeleton opened and configured as the agent does. */
struct object {
	const char *name;
	void *(*open)(struct bpf_object **obj);
	void (*destroy)(void *skel);
};

static void *open_tcp(struct bpf_object **obj)
{
	struct tcp_bpf *s = tcp_bpf_open_variant(knobs.legacy);

	if (!s)
		return NULL;
	s->rodata->gs_netns_by_ino = knobs.by_ino;
	*obj = s->obj;
	return s;
}

static void *open_udp(struct bpf_object **obj)
{
	struct udp_bpf *s = udp_bpf_open_variant(knobs.legacy);

	if (!s)
		return NULL;
	s->rodata->gs_netns_by_ino = knobs.by_ino;
	s->rodata->gs_skb_has_netns_cookie = knobs.skb_cookie;
	s->rodata->gs_skb_has_pid = knobs.skb_pid;
	*obj = s->obj;
	return s;
}

static void destroy_tcp(void *s)
{
	tcp_bpf__destroy(s);
}

static void destroy_udp(void *s)
{
	udp_bpf__destroy(s);
}

static const struct object objects[] = {
	{ "tcp", open_tcp, destroy_tcp },
	{ "udp", open_udp, destroy_udp },
};

/* Load PROG_NAME alone from O (every other program's autoload off). */
static int check_one(const struct object *o, const char *prog_name)
{
	struct bpf_object *obj = NULL;
	struct bpf_program *prog;
	void *skel;
	int err;

	log_len = 0;
	log_buf[0] = '\0';
	skel = o->open(&obj);
	if (!skel) {
		printf("%s %s: FAIL open: %s\n", o->name, prog_name, strerror(errno));
		return -1;
	}
	bpf_object__for_each_program(prog, obj)
		bpf_program__set_autoload(prog, !strcmp(bpf_program__name(prog), prog_name));
	err = bpf_object__load(obj);
	if (err) {
		printf("%s %s: FAIL %s\n", o->name, prog_name, strerror(-err));
		print_failure_lines();
	} else {
		printf("%s %s: ok\n", o->name, prog_name);
	}
	o->destroy(skel);
	return err ? -1 : 0;
}

int main(void)
{
	int failed = 0;

	libbpf_set_print(collect);
	knobs.legacy = !kcompat_has_atomics();
	knobs.by_ino = !kcompat_has_netns_cookie();
	knobs.skb_cookie =
		kcompat_prog_has_helper(BPF_PROG_TYPE_CGROUP_SKB, BPF_FUNC_get_netns_cookie);
	knobs.skb_pid = kcompat_skb_has_current_task();
	printf("fallbacks: %s objects, netns by %s, cgroup_skb netns %s, cgroup_skb pid %s\n",
	       knobs.legacy ? "legacy" : "normal", knobs.by_ino ? "inode" : "cookie",
	       knobs.skb_cookie ? "helper" : "via skb->sk", knobs.skb_pid ? "helper" : "none");
	for (size_t i = 0; i < sizeof(objects) / sizeof(objects[0]); i++) {
		struct bpf_object *obj = NULL;
		void *skel = objects[i].open(&obj);
		struct bpf_program *prog;
		char names[64][128];
		int n = 0;

		if (!skel) {
			printf("%s: FAIL open: %s\n", objects[i].name, strerror(errno));
			failed = 1;
			continue;
		}
		bpf_object__for_each_program(prog, obj)
			if (n < 64)
				snprintf(names[n++], sizeof(names[0]), "%s",
					 bpf_program__name(prog));
		objects[i].destroy(skel);
		for (int j = 0; j < n; j++)
			failed |= check_one(&objects[i], names[j]) != 0;
	}
	fflush(stdout);
	return failed;
}
