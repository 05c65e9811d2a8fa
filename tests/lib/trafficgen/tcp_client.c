// SPDX-License-Identifier: MIT
/*
 * trafficgen tcp-client: --conns connections over --parallel threads, each
 * connect, send --send bytes, shut down and read to EOF (or with --abort:
 * read --recv bytes and reset), with the kernel's TCP_INFO summed per
 * connection. Also the thread pool and the stats storm shares.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/tcp.h> /* struct tcp_info with tcpi_bytes_* (not glibc's older copy) */
#include <netinet/in.h>

#include "trafficgen.h"

static void stats_add(struct tcp_stats *dst, const struct tcp_stats *src)
{
	int i;

	dst->ok += src->ok;
	dst->failed += src->failed;
	dst->mismatch += src->mismatch;
	dst->bytes_sent += src->bytes_sent;
	dst->bytes_received += src->bytes_received;
	dst->retrans += src->retrans;
	dst->bytes_retrans += src->bytes_retrans;
	dst->tcpi_bytes_sent += src->tcpi_bytes_sent;
	dst->tcpi_bytes_acked += src->tcpi_bytes_acked;
	dst->tcpi_bytes_received += src->tcpi_bytes_received;
	dst->rtt_us_sum += src->rtt_us_sum;
	dst->min_rtt_us_sum += src->min_rtt_us_sum;
	dst->connect_ns_sum += src->connect_ns_sum;
	for (i = 0; i < ERR_SLOTS; i++)
		dst->err[i] += src->err[i];
}

static void stats_tcp_info(int fd, struct tcp_stats *st)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	memset(&ti, 0, sizeof(ti)); /* an older kernel fills less */
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len))
		return;
	st->retrans += ti.tcpi_total_retrans;
	st->bytes_retrans += ti.tcpi_bytes_retrans;
	st->tcpi_bytes_sent += ti.tcpi_bytes_sent;
	st->tcpi_bytes_acked += ti.tcpi_bytes_acked;
	st->tcpi_bytes_received += ti.tcpi_bytes_received;
	st->rtt_us_sum += ti.tcpi_rtt;
	st->min_rtt_us_sum += ti.tcpi_min_rtt;
}

/* One tcp-client connection: connect, send, shutdown, read to EOF, close;
 * or with --abort: connect, send, read --recv bytes, reset. */
static void tcp_client_one(const struct client_ctx *ctx, uint64_t idx, struct tcp_stats *st)
{
	const struct opts *o = ctx->o;
	uint64_t cns = 0, sent = 0, got = 0;
	struct target t;
	int fd = -1, err;

	target_nth(&ctx->t, o->port, o->port_span, idx, &t);
	err = tcp_connect(&t, &fd, &cns);
	if (err) {
		st->failed++;
		err_count(st->err, -err);
		return;
	}
	st->connect_ns_sum += cns;
	err = sock_write_n(fd, o->send, &sent);
	st->bytes_sent += sent;
	if (!err && !o->abort_conn && shutdown(fd, SHUT_WR))
		err = -errno;
	if (!err) {
		uint64_t limit = UINT64_MAX;

		if (o->abort_conn)
			limit = o->recv_set ? o->recv : 0;
		err = sock_read(fd, limit, &got);
		st->bytes_received += got;
	}
	stats_tcp_info(fd, st);
	if (err) {
		st->failed++;
		err_count(st->err, -err);
	} else if (o->recv_set && got != o->recv) {
		st->failed++;
		st->mismatch++;
	} else {
		st->ok++;
	}
	if (o->abort_conn)
		set_linger0(fd);
	close(fd);
}

static void *tcp_client_thread(void *arg)
{
	struct client_thread *th = arg;
	struct client_ctx *ctx = th->ctx;

	uint64_t idx;

	while ((idx = atomic_fetch_add(&ctx->next, 1)) < ctx->o->conns)
		tcp_client_one(ctx, idx, &th->st);
	return NULL;
}

/* Run fn on n threads; the summed stats land in *total. */
void run_threads(struct client_ctx *ctx, uint64_t n, void *(*fn)(void *), struct tcp_stats *total)
{
	struct client_thread *ths = calloc(n, sizeof(*ths));
	pthread_attr_t attr;
	uint64_t i;
	int err;

	if (!ths)
		tool_die_setup("out of memory");
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	for (i = 0; i < n; i++) {
		ths[i].ctx = ctx;
		err = pthread_create(&ths[i].tid, &attr, fn, &ths[i]);
		if (err)
			tool_die_setup("pthread_create: %s", strerror(err));
	}
	pthread_attr_destroy(&attr);
	memset(total, 0, sizeof(*total));
	for (i = 0; i < n; i++) {
		pthread_join(ths[i].tid, NULL);
		stats_add(total, &ths[i].st);
	}
	free(ths);
}

int cmd_tcp_client(const struct opts *o)
{
	struct client_ctx ctx = { .o = o };
	struct tcp_stats st;
	uint64_t k = o->parallel < o->conns ? o->parallel : o->conns;

	target_parse(o->addr, o->port, &ctx.t);
	atomic_init(&ctx.next, 0);
	run_threads(&ctx, k, tcp_client_thread, &st);

	printf("{\"conns\":%" PRIu64 ",\"ok\":%" PRIu64 ",\"failed\":%" PRIu64, o->conns, st.ok,
	       st.failed);
	err_print(st.err);
	printf(",\"bytes_sent\":%" PRIu64 ",\"bytes_received\":%" PRIu64 ",\"retrans\":%" PRIu64
	       ",\"bytes_retrans\":%" PRIu64 ",\"tcpi_bytes_sent\":%" PRIu64
	       ",\"rtt_us_sum\":%" PRIu64 ",\"connect_ns_sum\":%" PRIu64 ",\"mismatch\":%" PRIu64
	       ",\"tcpi_bytes_acked\":%" PRIu64 ",\"tcpi_bytes_received\":%" PRIu64
	       ",\"min_rtt_us_sum\":%" PRIu64 "}\n",
	       st.bytes_sent, st.bytes_received, st.retrans, st.bytes_retrans, st.tcpi_bytes_sent,
	       st.rtt_us_sum, st.connect_ns_sum, st.mismatch, st.tcpi_bytes_acked,
	       st.tcpi_bytes_received, st.min_rtt_us_sum);
	fflush(stdout);
	return 0;
}
