/* SPDX-License-Identifier: MIT */
/*
 * The flow table's insides, shared by the files of src/flows/ only:
 * flows.c (records and batch passes), table.c (entries and interned label
 * sets), families.c (the families, setup and publishing). Nothing outside
 * src/flows/ includes this header; flows.h is the module's interface.
 */
#ifndef GESPANN_FLOWS_INT_H
#define GESPANN_FLOWS_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "flows/flows.h"
#include "metrics/agg.h"
#include "util/hashmix.h"

/* The flow table's hash tables are uthash's, hashed with the seeded mixer of
 * util/hashmix.h (one random seed per process, flows_hash_seed) so that
 * addresses and ports a peer chooses cannot pile into one bucket; running
 * out of memory fails the add instead of exiting. Defined here, before
 * uthash.h, so that every file of src/flows/ hashes alike. */
extern uint64_t flows_hash_seed;
#define HASH_FUNCTION(keyptr, keylen, hashv) \
	((hashv) = hashmix_key(hashmix_seed_once(&flows_hash_seed), (keyptr), (keylen)))
#define HASH_NONFATAL_OOM 1
#include <uthash.h>

/* ==== Labels ==== */

/* The flow label universe; each flow family exports a subset. */
enum ulabel {
	U_DIRECTION = 0,
	U_PROTOCOL,
	U_ROLE,
	U_SRC_PROCESS,
	U_SRC_SERVICE,
	U_SRC_PID,
	U_SRC_EXE,
	U_SRC_CONTAINER,
	U_SRC_UNIT,
	U_SRC_CGROUP,
	U_SRC_ADDRESS,
	U_DST_ADDRESS,
	U_DST_PORT,
	U_DST_NAME,
	U_DST_CLASS,
	U_SRC_ZONE,
	U_DST_ZONE,
	U_OUTCOME,
	U_STATE,
	U_MAX,
};

#define B(x) (1ULL << (x))

enum fam_id {
	FF_BYTES = 0,
	FF_CONNS,
	FF_RETRANS,
	FF_RTT,
	FF_OPEN,
	FF_ZONE_BYTES, /* the last family whose labels come from the universe */
	FF_PROC_BYTES,
	FF_DNS_QUERIES,
	FF_DNS_LATENCY,
	FF_MAX,
};

/* Process bytes and DNS families have their own label lists. */
enum plabel {
	P_PROCESS = 0,
	P_SERVICE,
	P_DIRECTION,
	P_PROTOCOL,
	P_PID,
	P_EXE,
	P_CONTAINER,
	P_UNIT,
	P_CGROUP,
	P_MAX
};
enum qlabel { Q_QTYPE = 0, Q_RCODE, Q_SERVER, Q_SRC_PROCESS, Q_NAME, Q_MAX };
enum llabel { LL_SERVER = 0, LL_QTYPE, LL_SRC_PROCESS, LL_MAX };

/* An interned label set: everything about a flow but direction, outcome and
 * state. Shared by the connections with the same values. Its key is the
 * values themselves, each label as a 0 byte (absent) or a 1 byte followed by
 * the value and its NUL; v[] points into it. */
struct lset {
	UT_hash_handle hh; /* in flows->lsets, keyed by key[0, keylen) */
	uint32_t refs;
	uint32_t tw_n;	      /* TIME_WAIT sockets in the last census */
	struct lset *tw_next; /* list of the sets with tw_n > 0 */
	char *v[U_MAX];	      /* U_DIRECTION, U_OUTCOME, U_STATE unused (NULL) */
	size_t keylen;
	char key[];
};

/* ==== Connection table ==== */

enum entry_kind { K_TCP = 1, K_UDP = 2, K_TW = 3 };

struct ekey {
	uint8_t kind;
	uint8_t pad[7];
	uint8_t b[48];
};

struct entry {
	UT_hash_handle hh; /* in its struct table, keyed by key */
	struct ekey key;
	struct lset *ls;
	uint64_t sent, rcvd;
	uint32_t retrans;
	uint32_t pid;	    /* owner the labels were made for */
	uint32_t seen_pass; /* last batch pass that saw it (TCP) */
	bool final;	    /* TCP: labels made from the final tuple */
	uint64_t expire_ns; /* K_TW: forget after */
};

struct table {
	struct entry *head; /* uthash; NULL when empty */
};

#define TW_REMEMBER_NS	  (120ULL * 1000000000ULL) /* TIME_WAIT lasts 60 s */
/* A census dumps every namespace in scope, and each dump walks the kernel's
 * whole established hash (all namespaces share it): at most 0.5% of a core,
 * so the next one waits 200 times what the last took, 30 s at most. The
 * passes in between count what it found. */
#define TW_CENSUS_SPACING 200
#define TW_CENSUS_MAX_NS  (30ULL * 1000000000ULL)
#define RESOLVE_TTL_S	  60 /* getaddrinfo gives no TTL */

struct flows {
	const struct config *cfg;
	struct registry *reg;
	struct agg *a[FF_MAX];
	int fam_idx[FF_MAX][U_MAX]; /* family label position -> universe label */
	int fam_n[FF_MAX];
	struct metric_family *f_dropped, *f_malformed, *f_names, *f_lost;
	struct metric_family *f_names_evicted;
	struct attrsel *sel;
	struct proccache *pc;
	struct hostcache *hc;
	struct netclass *nc;
	struct dnstrack *dt;
	struct twcensus *tw;
	struct lset *tw_sets; /* sets the last census found (tw_n > 0) */
	uint64_t next_census_ns;
	struct table tcp, udp, tws; /* K_TCP, K_UDP, K_TW entries */
	struct lset *lsets;	    /* uthash of the interned label sets */
	uint32_t pass;		    /* TCP batch passes */
	uint32_t udp_pass;	    /* UDP sweeps */
	int listeners_fd;
	bool accept_owner;	     /* accept() names passive connections (flows_tcp_entry) */
	uint16_t eph_lo, eph_hi;     /* net.ipv4.ip_local_port_range */
	uint64_t now_ns;	     /* of the record or pass being handled */
	uint64_t lost_tcp, lost_udp; /* entries whose final reading never came */
	bool tcp_pass_open;	     /* between flows_tcp_begin and _end: FF_OPEN is half built */
	bool tw_sliced;		     /* the census runs in steps (flows_tw_census_*), not in _end */
	uint64_t tw_work_ns;	     /* the steps of the census in progress */
	const char (*rst_names)[32]; /* enum sk_rst_reason names (flows_set_reset_reasons) */
	unsigned int n_rst_names;
};

/* ==== table.c ==== */

/* Entries of one kind, by key. ftable_add returns a zeroed entry with the
 * key set, or NULL on ENOMEM; ftable_del drops the entry's label set
 * reference. Walk a table with HASH_ITER(hh, t->head, e, tmp), which may
 * ftable_del the entry it is on. */
struct entry *ftable_find(struct table *t, const struct ekey *k);
struct entry *ftable_add(struct table *t, const struct ekey *k);
void ftable_del(struct flows *f, struct table *t, struct entry *e);
static inline size_t ftable_count(const struct table *t)
{
	return HASH_CNT(hh, t->head);
}
/* Free every entry of t (label sets are freed by flows_lsets_free). */
void ftable_free(struct table *t);
/* A referenced label set equal to v (strings copied), or NULL (ENOMEM). */
struct lset *flows_lset_get(struct flows *f, char *const *v);
/* Drop a reference; the last one frees the set. Accepts NULL. */
void flows_lset_put(struct flows *f, struct lset *ls);
/* Free every label set, referenced or not. */
void flows_lsets_free(struct flows *f);

/* ==== flows.c ==== */

/* Forget the TIME_WAIT census's sets. */
void flows_tw_forget(struct flows *f);
/* The DNS tracker's callback: a query answered or timed out (ctx: flows). */
struct dnstrack_result;
void flows_dns_result(const struct dnstrack_result *r, void *ctx);

#endif
