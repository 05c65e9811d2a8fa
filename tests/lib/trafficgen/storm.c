// SPDX-License-Identifier: MIT
/*
 * trafficgen storm: short connections as fast as --threads threads can
 * make them, for --duration-ms or --conns: connect, 4 bytes out, 4 back
 * (a tcp-server --echo4 closes first), close. Prints the rate.
 */
#include <stdlib.h>
#include <unistd.h>

#include "trafficgen.h"

/* One storm connection: connect, send 4 bytes, read 4 bytes, close. */
static void storm_one(const struct client_ctx *ctx, struct tcp_stats *st)
{
	uint64_t cns = 0, sent = 0, got = 0;
	int fd = -1, err;

	err = tcp_connect(&ctx->t, &fd, &cns);
	if (!err) {
		st->connect_ns_sum += cns;
		err = sock_write_n(fd, 4, &sent);
		st->bytes_sent += sent;
		if (!err)
			err = sock_read(fd, 4, &got);
		st->bytes_received += got;
		close(fd);
	}
	if (err) {
		st->failed++;
		err_count(st->err, -err);
	} else if (got != 4) {
		st->failed++;
		st->mismatch++;
	} else {
		st->ok++;
	}
}

static void *storm_thread(void *arg)
{
	struct client_thread *th = arg;
	struct client_ctx *ctx = th->ctx;

	for (;;) {
		if (ctx->end_ns) {
			if (tool_now_ns() >= ctx->end_ns)
				break;
		} else if (atomic_fetch_add(&ctx->next, 1) >= ctx->o->conns) {
			break;
		}
		storm_one(ctx, &th->st);
	}
	return NULL;
}

int cmd_storm(const struct opts *o)
{
	struct client_ctx ctx = { .o = o };
	struct tcp_stats st;
	uint64_t t0, elapsed, attempted;
	uint64_t threads = o->threads;

	target_parse(o->addr, o->port, &ctx.t);
	atomic_init(&ctx.next, 0);
	if (o->conns_set && threads > o->conns)
		threads = o->conns;
	t0 = tool_now_ns();
	if (o->duration_set) {
		ctx.end_ns = t0 + o->duration_ms * 1000000ull;
		if (ctx.end_ns > g_deadline_ns)
			die_usage("%s", "--duration-ms must end before --deadline-ms");
	}
	run_threads(&ctx, threads, storm_thread, &st);
	elapsed = tool_now_ns() - t0;
	attempted = st.ok + st.failed;

	printf("{\"conns\":%" PRIu64 ",\"ok\":%" PRIu64 ",\"failed\":%" PRIu64, attempted, st.ok,
	       st.failed);
	err_print(st.err);
	printf(",\"elapsed_ns\":%" PRIu64 ",\"rate\":%.1f,\"threads\":%" PRIu64
	       ",\"connect_ns_sum\":%" PRIu64 "}\n",
	       elapsed, elapsed ? (double)st.ok * 1e9 / (double)elapsed : 0.0, threads,
	       st.connect_ns_sum);
	fflush(stdout);
	return 0;
}
