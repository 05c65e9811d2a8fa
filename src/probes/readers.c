// SPDX-License-Identifier: MIT
/*
 * Readers: everything user space reads out of the probe families' maps, in
 * one file next to the code that loads them, so no other part of the agent
 * includes a skeleton. Batch reads use one preallocated buffer per map kind
 * (no allocation per pass); the ring buffer hands records on unchanged.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "probes/readers.h"
#include "util/log.h"
#include "proc.skel.h"
#include "tcp.skel.h"
#include "udp.skel.h"

#define BATCH GS_REFRESH_BATCH /* entries per batch read, for both maps */

struct probes_io {
	struct ring_buffer *rb;
	probes_record_fn record_fn;
	void *record_ctx;
	int ncpus;
	struct gs_stats *percpu; /* ncpus values, for one lookup */
	__u64 *conn_keys;
	struct gs_conn *conn_vals;
	struct gs_conn *refreshed_vals; /* conn_vals after refresh_batch */
	struct gs_udp_key *udp_keys;
	struct gs_udp_flow *udp_vals;
	__u32 idx[GS_REFRESH_BATCH];	 /* 0 .. GS_REFRESH_BATCH - 1: refresh_keys' keys */
	__u32 idx_out[GS_REFRESH_BATCH]; /* refresh_vals' keys as read back */
	bool refresh_warned;
};

static struct probes_io *io_get(struct probes *p)
{
	struct probes_io *io = p->io;

	if (io)
		return io;
	io = calloc(1, sizeof(*io));
	if (!io)
		return NULL;
	for (__u32 i = 0; i < GS_REFRESH_BATCH; i++)
		io->idx[i] = i;
	io->ncpus = libbpf_num_possible_cpus();
	if (io->ncpus > 0)
		io->percpu = calloc(io->ncpus, sizeof(*io->percpu));
	io->conn_keys = calloc(BATCH, sizeof(*io->conn_keys));
	io->conn_vals = calloc(BATCH, sizeof(*io->conn_vals));
	io->refreshed_vals = calloc(BATCH, sizeof(*io->refreshed_vals));
	io->udp_keys = calloc(BATCH, sizeof(*io->udp_keys));
	io->udp_vals = calloc(BATCH, sizeof(*io->udp_vals));
	if (!io->percpu || !io->conn_keys || !io->conn_vals || !io->refreshed_vals ||
	    !io->udp_keys || !io->udp_vals) {
		p->io = io;
		probes_readers_free(p);
		return NULL;
	}
	p->io = io;
	return io;
}

void probes_readers_free(struct probes *p)
{
	struct probes_io *io = p ? p->io : NULL;

	if (!io)
		return;
	ring_buffer__free(io->rb);
	free(io->percpu);
	free(io->conn_keys);
	free(io->conn_vals);
	free(io->refreshed_vals);
	free(io->udp_keys);
	free(io->udp_vals);
	free(io);
	p->io = NULL;
}

/* ==== Per-CPU counters ==== */

static void sum_stats(struct probes_io *io, int map_fd, struct gs_stats *out)
{
	__u32 zero = 0;
	const __u64 *src;
	__u64 *dst = (__u64 *)out;
	size_t words = sizeof(*out) / sizeof(__u64);

	memset(out, 0, sizeof(*out));
	if (bpf_map_lookup_elem(map_fd, &zero, io->percpu))
		return;
	for (int cpu = 0; cpu < io->ncpus; cpu++) {
		src = (const __u64 *)&io->percpu[cpu];
		for (size_t w = 0; w < words; w++)
			dst[w] += src[w];
	}
}

void probes_read_sums(struct probes *p, struct probes_sums *out)
{
	struct probes_io *io = io_get(p);

	memset(out, 0, sizeof(*out));
	if (!io)
		return;
	if (p->tcp)
		sum_stats(io, bpf_map__fd(p->tcp->maps.stats), &out->tcp);
	if (p->udp)
		sum_stats(io, bpf_map__fd(p->udp->maps.udp_stats), &out->udp);
	if (p->proc)
		sum_stats(io, bpf_map__fd(p->proc->maps.proc_stats), &out->proc);
}

/* ==== Ring buffer ==== */

static int on_record(void *ctx, void *data, size_t size)
{
	struct probes_io *io = ctx;

	io->record_fn(io->record_ctx, data, size);
	return 0;
}

int probes_events_open(struct probes *p, probes_record_fn fn, void *ctx)
{
	struct probes_io *io = io_get(p);
	int err;

	if (!io)
		return -ENOMEM;
	if (!p->tcp)
		return 0;
	io->record_fn = fn;
	io->record_ctx = ctx;
	io->rb = ring_buffer__new(bpf_map__fd(p->tcp->maps.events), on_record, io, NULL);
	if (!io->rb) {
		err = -errno;
		pr_err("failed to open the ring buffer: %s", strerror(-err));
		return err;
	}
	return 0;
}

int probes_events_fd(const struct probes *p)
{
	return p->io && p->io->rb ? ring_buffer__epoll_fd(p->io->rb) : -1;
}

int probes_events_drain(struct probes *p)
{
	int n;

	if (!p->io || !p->io->rb)
		return 0;
	n = ring_buffer__consume(p->io->rb);
	if (n < 0 && n != -EINTR)
		pr_warn("ring buffer consume failed: %s", strerror(-n));
	return n;
}

/* ==== Hash maps in batches ==== */

/* One batch of up to BATCH entries of a hash map from where cur left it,
 * into keys/vals, handed to fn(ctx, n). Returns 1 when more may follow, 0
 * when the map was read to its end, or a negative errno (logged, naming
 * what). */
static int read_batch(int fd, struct probes_batch_cursor *cur, void *keys, void *vals,
		      const char *what, void (*fn)(void *ctx, __u32 n), void *ctx)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	__u32 count = BATCH;
	int err;

	err = bpf_map_lookup_batch(fd, cur->started ? &cur->in_batch : NULL, &cur->out_batch, keys,
				   vals, &count, &opts);
	err = err ? -errno : 0;
	if (err && err != -ENOENT) {
		pr_warn("reading the %s map failed: %s", what, strerror(-err));
		return err;
	}
	fn(ctx, count);
	if (err == -ENOENT)
		return 0;
	cur->in_batch = cur->out_batch;
	cur->started = true;
	return 1;
}

/* Where the batches of a UDP read go. */
struct batch_call {
	struct probes_io *io;
	probes_udp_fn udp_fn;
	void *ctx;
};

static void batch_emit(void *arg, __u32 n)
{
	struct batch_call *b = arg;

	b->udp_fn(b->ctx, b->io->udp_keys, b->io->udp_vals, n);
}

static void batch_count(void *arg, __u32 n)
{
	*(__u32 *)arg = n;
}

/* Refresh the n connections whose keys are in io->conn_keys (refresh_batch)
 * and put their values after the refresh in io->refreshed_vals; the batch's sums
 * are added to *sum. 0 or a negative errno. */
static int refresh_batch(struct probes *p, struct probes_io *io, __u32 n, struct gs_live *sum)
{
	LIBBPF_OPTS(bpf_map_batch_opts, bo);
	__u64 args[1] = { n }; /* refresh_batch's context: the keys to refresh */
	LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = args, .ctx_size_in = sizeof(args));
	__u32 cnt = n, zero = 0, out_batch;
	struct gs_live part;

	if (bpf_map_update_batch(bpf_map__fd(p->tcp->maps.refresh_keys), io->idx, io->conn_keys,
				 &cnt, &bo) ||
	    bpf_prog_test_run_opts(bpf_program__fd(p->tcp->progs.refresh_batch), &opts))
		return -errno;
	cnt = n;
	if (bpf_map_lookup_batch(bpf_map__fd(p->tcp->maps.refresh_vals), NULL, &out_batch,
				 io->idx_out, io->refreshed_vals, &cnt, &bo) &&
	    errno != ENOENT)
		return -errno;
	if (cnt != n)
		return -EIO;
	if (bpf_map_lookup_elem(bpf_map__fd(p->tcp->maps.live), &zero, &part))
		return -errno;
	sum->conns += part.conns;
	sum->idle += part.idle;
	sum->entries += part.entries;
	sum->run_ns = part.run_ns;
	return 0;
}

int probes_refresh_conns_step(struct probes *p, struct probes_batch_cursor *cur,
			      struct probes_refresh_sums *sum, probes_conn_fn fn, void *ctx)
{
	struct probes_io *io = io_get(p);
	const struct gs_conn *vals;
	__u32 n = 0;
	int r, err;

	if (!io || !p->tcp)
		return -ENOENT;
	vals = io->conn_vals;
	r = read_batch(bpf_map__fd(p->tcp->maps.conns), cur, io->conn_keys, io->conn_vals,
		       "connection", batch_count, &n);
	if (r < 0)
		return r;
	if (sum && n && bpf_program__fd(p->tcp->progs.refresh_batch) >= 0) {
		err = refresh_batch(p, io, n, &sum->live);
		if (err) {
			/* the batch as read: its growth waits for the next pass */
			if (!io->refresh_warned)
				pr_warn("refreshing open connections failed: %s (logged once)",
					strerror(-err));
			io->refresh_warned = true;
			sum->failed++;
		} else {
			vals = io->refreshed_vals;
		}
	}
	if (n)
		fn(ctx, io->conn_keys, vals, n);
	return r;
}

int probes_read_udp_step(struct probes *p, struct probes_batch_cursor *cur, probes_udp_fn fn,
			 void *ctx)
{
	struct probes_io *io = io_get(p);
	struct batch_call b = { .io = io, .udp_fn = fn, .ctx = ctx };

	if (!io || !p->udp)
		return -ENOENT;
	return read_batch(bpf_map__fd(p->udp->maps.udp_flows), cur, io->udp_keys, io->udp_vals,
			  "UDP flow", batch_emit, &b);
}

int probes_udp_take(struct probes *p, const struct gs_udp_key *k, struct gs_udp_flow *last)
{
	int fd;

	if (!p->udp)
		return -ENOENT;
	fd = bpf_map__fd(p->udp->maps.udp_flows);
	if (!bpf_map_lookup_and_delete_elem(fd, k, last))
		return 1;
	if (errno != ENOENT && !bpf_map_delete_elem(fd, k))
		return 0;
	return -ENOENT;
}

/* ==== Program statistics ==== */

void probes_recursion_misses(struct probes *p, probes_prog_fn fn, void *ctx)
{
	struct bpf_program *prog;

	if (!p->tcp)
		return;
	bpf_object__for_each_program(prog, p->tcp->obj) {
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);
		int fd = bpf_program__fd(prog);

		if (fd < 0 || !bpf_program__autoattach(prog))
			continue;
		if (bpf_obj_get_info_by_fd(fd, &info, &len))
			continue;
		fn(ctx, bpf_program__name(prog), info.recursion_misses);
	}
}

int probes_listeners_fd(const struct probes *p)
{
	return p->tcp ? bpf_map__fd(p->tcp->maps.listeners) : -1;
}
