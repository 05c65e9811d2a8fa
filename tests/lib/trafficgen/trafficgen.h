/* SPDX-License-Identifier: MIT */
/*
 * trafficgen.h: what trafficgen's files share. Each subcommand is one file
 * (tcp_server.c, tcp_client.c, storm.c, tcp_hold.c, udp_server.c,
 * udp_client.c, tcp_steps.c, prefork.c) with one entry point cmd_*(); main.c parses the command line
 * and dispatches, io.c holds the deadline, the errno tally and the socket
 * helpers they all use. The command line and the JSON lines are documented
 * at the top of main.c.
 */
#ifndef GESPANN_TRAFFICGEN_H
#define GESPANN_TRAFFICGEN_H

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <sys/socket.h>

#define TOOL_NAME "trafficgen"
#include "lib/tool.h"

#define ERR_SLOTS	    256		/* errno values counted individually; above: last slot */
#define IO_CHUNK	    (64 * 1024) /* read/write buffer */
#define MAX_PARALLEL	    4096	/* client threads */
#define UDP_ECHO_TIMEOUT_MS 1000	/* an echo later than this is a loss */
#define UDP_MAX_SIZE	    65507

/* ==== Options (main.c) ==== */

enum cmd {
	CMD_TCP_SERVER = 1 << 0,
	CMD_TCP_CLIENT = 1 << 1,
	CMD_TCP_HOLD = 1 << 2,
	CMD_UDP_SERVER = 1 << 3,
	CMD_UDP_CLIENT = 1 << 4,
	CMD_STORM = 1 << 5,
	CMD_TCP_STEPS = 1 << 6,
	CMD_PREFORK = 1 << 7,
};
#define CMD_ALL 0xff

struct opts {
	const char *addr;
	uint16_t port;
	bool port_set;
	uint64_t reply;
	bool rst;
	bool echo4;
	uint64_t max_conns; /* 0: unlimited */
	uint64_t conns;
	bool conns_set;
	uint64_t send;
	bool send_set;
	uint64_t recv;
	bool recv_set;
	uint64_t parallel;
	bool abort_conn;
	uint64_t flows;
	uint64_t datagrams;
	uint64_t size;
	bool connected;
	uint64_t port_span; /* 1: every connection to --port */
	bool half_close;
	uint64_t threads;
	uint64_t duration_ms;
	bool duration_set;
	uint64_t deadline_ms;
	uint64_t factor;  /* tcp-steps, prefork-server: bytes answered per byte */
	uint64_t workers; /* prefork-server: children */
};

/* A usage error: "trafficgen: MESSAGE", a pointer to --help, exit 2. */
void __attribute__((noreturn, format(printf, 1, 2))) die_usage(const char *fmt, ...);

/* ==== Deadline, errno tally, sockets (io.c) ==== */

extern uint64_t g_deadline_ns;		  /* CLOCK_MONOTONIC ns, set once by main() */
extern uint64_t g_deadline_ms;		  /* --deadline-ms, for the message */
extern unsigned char g_pattern[IO_CHUNK]; /* payload written by everyone */

/* "deadline of MS ms passed while WHAT" and exit 3; any thread may call it. */
void __attribute__((noreturn)) die_deadline(const char *what);
/* Milliseconds left until the deadline (at least 1), or die_deadline(what). */
int remaining_ms(const char *what);

/* Count err (a positive errno) in slots[ERR_SLOTS]. */
void err_count(uint64_t *slots, int err);
/* Print ,"errno":{"ENAME":N,...} with the non-zero slots. */
void err_print(const uint64_t *slots);

struct target {
	struct sockaddr_storage ss;
	socklen_t len;
};

/* An IPv4 or IPv6 literal and a port; anything else is a usage error. */
void target_parse(const char *addr, uint16_t port, struct target *t);
/* The target of connection i: --port-span spreads connections over ports. */
void target_nth(const struct target *base, uint16_t port, uint64_t span, uint64_t i,
		struct target *t);
/* The local port of fd, 0 if unknown. */
uint16_t sock_local_port(int fd);
/* After poll()/epoll_wait() returned n with a timeout of remaining_ms(what):
 * true when interrupted (wait again), false when n fds are ready; a failed
 * call ("CALL: error") or the deadline (n == 0) ends the program. */
bool wait_interrupted(int n, const char *call, const char *what);
/* Wait until fd is ready for events; die at the deadline. Returns revents. */
short wait_fd(int fd, short events, const char *what);
/* Close with a RST rather than a FIN (SO_LINGER 0). */
void set_linger0(int fd);
/* Non-blocking connect, waited for: 0 with *fdp and *ns (time taken), or
 * -errno with the socket closed. */
int tcp_connect(const struct target *t, int *fdp, uint64_t *ns);
/* Write n pattern bytes (*done: how many went out). Returns 0 or -errno. */
int sock_write_n(int fd, uint64_t n, uint64_t *done);
/* Read to EOF (limit UINT64_MAX) or limit bytes (*got: how many came).
 * Returns 0 or -errno. */
int sock_read(int fd, uint64_t limit, uint64_t *got);
/* A signalfd for SIGTERM and SIGINT, which are blocked from here on. */
int stop_signal_fd(void);
/* One line of stdin into buf, without its newline; false at its end. */
bool read_stdin_line(char *buf, size_t len);
/* A non-blocking socket of type bound to --bind and --port, or die. */
int bind_socket(const struct opts *o, int type);

/* ==== TCP clients (tcp_client.c, storm.c) ==== */

struct tcp_stats {
	uint64_t ok, failed, mismatch;
	uint64_t bytes_sent, bytes_received;
	uint64_t retrans, bytes_retrans, tcpi_bytes_sent, tcpi_bytes_acked, tcpi_bytes_received;
	uint64_t rtt_us_sum, min_rtt_us_sum, connect_ns_sum;
	uint64_t err[ERR_SLOTS];
};

struct client_ctx {
	const struct opts *o;
	struct target t;
	atomic_uint_fast64_t next; /* next connection index to run */
	uint64_t end_ns;	   /* storm --duration-ms; 0 otherwise */
};

struct client_thread {
	pthread_t tid;
	struct client_ctx *ctx;
	struct tcp_stats st;
};

/* Run fn on n threads over ctx; the summed stats land in *total. */
void run_threads(struct client_ctx *ctx, uint64_t n, void *(*fn)(void *), struct tcp_stats *total);

/* ==== Subcommands: each prints its JSON lines, returns the exit status ==== */

int cmd_tcp_server(const struct opts *o);
int cmd_tcp_client(const struct opts *o);
int cmd_storm(const struct opts *o);
int cmd_tcp_hold(const struct opts *o);
int cmd_udp_server(const struct opts *o);
int cmd_udp_client(const struct opts *o);
int cmd_tcp_steps(const struct opts *o);
int cmd_prefork(const struct opts *o);

#endif /* GESPANN_TRAFFICGEN_H */
