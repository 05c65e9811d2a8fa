/* SPDX-License-Identifier: MIT */
/*
 * Scope: the network namespaces the agent watches, resolved once at start
 * from the config's `scope` key (host, netns, or a namespace file) into one
 * value that main.c hands to everything depending on it: the kernel
 * programs' netns filter and the start-time seeding walks (probes_start),
 * the TIME_WAIT census (feed_new) and the "scope:" log line. Nothing else
 * reads cfg->scope or cfg->scope_path.
 */
#ifndef GESPANN_PROBES_SCOPE_H
#define GESPANN_PROBES_SCOPE_H

#include <stdint.h>

#include "config/config.h"

struct scope {
	enum scope_kind kind; /* SCOPE_HOST, SCOPE_NETNS or SCOPE_PATH */
	char path[256];	      /* SCOPE_PATH: the namespace file; "" otherwise */
	/* The kernel programs' filter: 0 (every namespace) for scope host,
	 * else the namespace's cookie, or its inode number on kernels
	 * without SO_NETNS_COOKIE (before 5.14). */
	uint64_t netns_cookie;
};

/* Resolve the config's scope into *out (netns_cookie 0 for host). Returns 0
 * or a negative errno, logging the path and cause. */
int probes_resolve_scope(const struct config *cfg, struct scope *out);

#endif
