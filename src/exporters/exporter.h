/* SPDX-License-Identifier: MIT */
/*
 * The adapter interface every exporter implements: start from its adapter
 * config, expose at most one fd for the main epoll set and a timeout, do its
 * work in run() (never blocking: sockets are non-blocking, pushes are bounded
 * and dropped with a count when the backend is slow), stop. Adding an
 * exporter: one ops table here and one line in exporter.c.
 */
#ifndef GESPANN_EXPORTERS_EXPORTER_H
#define GESPANN_EXPORTERS_EXPORTER_H

#include <stdint.h>

#include "config/config.h"
#include "metrics/registry.h"

struct exporter_env {
	struct registry *reg;
	/* Brings the registry up to date; call before reading it. */
	void (*refresh)(void *ctx);
	void *refresh_ctx;
	/* Label of this adapter in self-metrics: the type, with "_N" appended
	 * for the second and later adapters of the same type. */
	const char *name;
	/* Started by a reload: the registry already holds values the backend
	 * may have been sent by an earlier adapter; a delta exporter (DogStatsD)
	 * takes them as its baseline and sends only what grows from now on. */
	int reload;
};

struct exporter_ops {
	const char *type;
	/* Returns the exporter's state, or NULL after logging why. */
	void *(*start)(const struct adapter_config *cfg, const struct exporter_env *env);
	/* Readable fd for the main epoll set, or -1. */
	int (*fd)(void *state);
	/* Milliseconds until run() is due without I/O, or -1. */
	int (*timeout_ms)(void *state);
	/* Called when the fd is readable and after every loop iteration. */
	void (*run)(void *state);
	/* Best effort final flush, then free; accepts NULL. */
	void (*stop)(void *state);
	/* Failed sends or requests, and snapshots or datagrams dropped. */
	uint64_t (*errors)(const void *state);
	uint64_t (*dropped)(const void *state);
	/* Points or records a receiver took the request of but refused (OTLP's
	 * partial success); NULL where a protocol has no such answer. */
	uint64_t (*rejected)(const void *state);
};

struct exporter {
	const struct exporter_ops *ops;
	void *state;
	char name[32];
	struct adapter_config cfg; /* what it was started with */
	/* errors and drops of earlier adapters of the same name (a reload
	 * restarted it): added to its own, so the counters stay monotonic */
	uint64_t errors_base, dropped_base, rejected_base;
};

/* The ops for an adapter type, or NULL. */
const struct exporter_ops *exporter_ops_for(enum adapter_type type);

/* Start every adapter of cfg into out[] (cfg->n_adapters entries). On error
 * the ones already started are stopped and a negative errno returned. */
int exporters_start(const struct config *cfg, struct registry *reg, void (*refresh)(void *ctx),
		    void *refresh_ctx, struct exporter *out);
void exporters_stop(struct exporter *ex, size_t n);

/*
 * A reload: make ex[] (*n entries) the adapters of cfg. An adapter whose
 * name (type and position among its type, as exporters_start() names them)
 * and settings are unchanged keeps running untouched; the others are
 * stopped, then the new and changed ones started (env.reload set), carrying
 * the error and drop counts of the adapter that had their name. An adapter
 * that fails to start is left out (logged by its start()). Returns 0 or
 * -EIO when one or more failed to start.
 */
int exporters_reload(struct exporter *ex, size_t *n, const struct config *cfg, struct registry *reg,
		     void (*refresh)(void *ctx), void *refresh_ctx);

/* Each started exporter's failed sends and drops into the registry's
 * exporter error and drop families (labelled by its name); exporters not
 * started (state NULL) are skipped. Call before reading the registry. */
void exporters_publish(const struct exporter *ex, size_t n, struct registry *reg);

#endif
