/* SPDX-License-Identifier: MIT */
/*
 * The event queue: the agent's events (a connect that failed, a connection
 * reset, a DNS answer) on their way from the flows, which see them, to an
 * exporter that sends them as log records (OTLP logs). It sits in metrics/
 * beside the registry because it is the same kind of thing: the store the
 * flows write and the exporters read, so neither includes the other.
 *
 * Bounded twice: a token bucket lets at most `rate` records a second in
 * (bursts up to one second's worth), and the queue holds at most `cap`
 * records. Each record refused, and each one an exporter gives up on, is
 * counted by reason; each one let in is counted by event. The counts live
 * for the whole process (a reload makes a new queue, the counters go on)
 * and reach the registry through eventq_publish().
 *
 * One queue is attached at a time (one adapter sends logs); while none is,
 * producers skip the work (eventq_current() is NULL) and nothing is counted.
 * Single-threaded, like the loop that uses it.
 */
#ifndef GESPANN_METRICS_EVENTQ_H
#define GESPANN_METRICS_EVENTQ_H

#include <stddef.h>
#include <stdint.h>

#include "metrics/registry.h"

enum eventq_kind {
	EVENTQ_CONN_FAILED = 0, /* a connection that never reached ESTABLISHED */
	EVENTQ_CONN_RESET,	/* an established connection ended by a RST */
	EVENTQ_DNS_ANSWER,	/* a DNS query of a local process answered */
	EVENTQ_KIND_MAX
};

enum eventq_drop {
	EVENTQ_DROP_SAMPLED = 0, /* not the one of every `sample` kept */
	EVENTQ_DROP_RATE,	 /* over the rate */
	EVENTQ_DROP_QUEUE_FULL,	 /* the queue held cap records */
	EVENTQ_DROP_EXPORT,	 /* the exporter gave up on the batch (or could not encode it) */
	EVENTQ_DROP_MAX
};

#define EVENTQ_ADDR_LEN	  48  /* an IPv6 address in text */
#define EVENTQ_NAME_LEN	  256 /* a DNS name in text (DNS_NAME_MAX) */
#define EVENTQ_ANSWERS	  8   /* DNS answers kept per record */
#define EVENTQ_ANSWER_LEN 96  /* one answer's data: an address or a target name (cut) */
#define EVENTQ_RATE_MAX	  10000
#define EVENTQ_CAP_MAX	  16384 /* about 28 MB of records */
#define EVENTQ_SAMPLE_MAX 10000

/*
 * One event, its facts as text (what the log record carries), so that the
 * encoder needs nothing but the record. Empty strings and zero ports are
 * absent facts.
 */
struct eventq_rec {
	enum eventq_kind kind;
	uint64_t time_unix_ns;	   /* when it happened (the kernel's timestamp) */
	uint64_t observed_unix_ns; /* when the agent read it */
	/* the local process */
	uint32_t pid;
	char process[24];  /* its name (comm), "unknown" when none */
	char service[128]; /* container, systemd unit or process name (proc_service) */
	/* the connection, or the DNS exchange (peer: the DNS server) */
	char transport[4]; /* "tcp", "udp" */
	char role[8];	   /* "client" (we connected), "server" (accepted) */
	int ipv6;
	char local_addr[EVENTQ_ADDR_LEN];
	uint16_t local_port;
	char peer_addr[EVENTQ_ADDR_LEN];
	uint16_t peer_port;
	char peer_name[EVENTQ_NAME_LEN]; /* the name the process looked the peer up by */
	/* EVENTQ_CONN_FAILED */
	char error[32]; /* errno name: "ECONNREFUSED", "ETIMEDOUT" ... */
	/* EVENTQ_CONN_RESET */
	char reset_dir[12];    /* "sent", "received" */
	char reset_reason[32]; /* the kernel's reason for a RST sent ("unknown" before 6.10) */
	/* EVENTQ_DNS_ANSWER */
	char qname[EVENTQ_NAME_LEN];
	char qtype[16];
	char rcode[16];
	uint64_t latency_ns;
	uint32_t n_answers; /* in answers[], at most EVENTQ_ANSWERS */
	char answers[EVENTQ_ANSWERS][EVENTQ_ANSWER_LEN];
};

struct eventq;

/* What the queue counted since the process started (all queues). */
struct eventq_stats {
	uint64_t queued[EVENTQ_KIND_MAX]; /* let in, by event */
	uint64_t dropped[EVENTQ_DROP_MAX];
};

/* Names as exported: the event label ("gespann.connection.failed" ...,
 * also the log record's event_name) and the drop reason label. */
const char *eventq_kind_name(enum eventq_kind k);
const char *eventq_drop_name(enum eventq_drop d);

/* A queue of at most cap records (1..EVENTQ_CAP_MAX) letting in at most
 * rate a second (1..EVENTQ_RATE_MAX), its bucket full. NULL on bad
 * arguments (errno EINVAL) or no memory. */
struct eventq *eventq_new(uint32_t rate, uint32_t cap);
/* Free q (detached first if attached); NULL is fine. Records still in it
 * are dropped and counted (EVENTQ_DROP_EXPORT): they never left. */
void eventq_free(struct eventq *q);

/* Keep one event of every n of each kind (1, the default: all), counted
 * events first: the others are dropped as "sampled". */
void eventq_set_sample(struct eventq *q, uint32_t n);

/* Make q the queue producers push to: 0, or -EBUSY when another is. */
int eventq_attach(struct eventq *q);
void eventq_detach(struct eventq *q); /* when q is the attached one */
/* The attached queue, or NULL: producers build a record only then. */
struct eventq *eventq_current(void);

/* Offer a record at now_ns (CLOCK_MONOTONIC, for the bucket): 0 when queued,
 * -EAGAIN over the rate or -ENOBUFS when full (both counted). */
int eventq_push(struct eventq *q, const struct eventq_rec *r, uint64_t now_ns);

/* Records waiting; the i-th oldest (i < eventq_len), valid until the next
 * push or pop. */
size_t eventq_len(const struct eventq *q);
const struct eventq_rec *eventq_at(const struct eventq *q, size_t i);
/* Remove the n oldest (they were encoded into a request). */
void eventq_pop(struct eventq *q, size_t n);

/* n records an exporter gave up on (a batch never delivered). */
void eventq_count_lost(size_t n);

void eventq_get_stats(struct eventq_stats *out);

/* The counts into reg's log-record families, declared on the first call
 * after a queue was ever attached (before that, nothing: an agent without
 * logs shows no such family). */
void eventq_publish(struct registry *reg);

#endif
