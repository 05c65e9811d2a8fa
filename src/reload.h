/* SPDX-License-Identifier: MIT */
/*
 * Reloading the configuration on SIGHUP: the decision, kept apart from the
 * agent so it can be tested without BPF. The file is read and checked as at
 * start, compared key by key with the running config (config_diff(), the
 * rows' reload flags), and the reload refused, found empty or allowed. The
 * agent (main.c) applies an allowed one.
 */
#ifndef GESPANN_RELOAD_H
#define GESPANN_RELOAD_H

#include <stddef.h>

#include "config/config.h"

/*
 * The config as a start reads it: the file (or the embedded default when
 * path is NULL), then the checks that need the flow families. A start,
 * -check-config and a reload all run exactly this. 0 or a negative errno
 * with one line in err.
 */
int reload_load_config(const char *path, struct config *cfg, char *err, size_t errlen);

enum reload_verdict {
	RELOAD_REFUSED,	  /* the file is bad, or a key that needs a restart changed */
	RELOAD_UNCHANGED, /* no key changed */
	RELOAD_APPLY,	  /* only keys that reload changed: d->changed */
};

/*
 * Read path into *next (flows_check_config() too, as at start) and compare
 * it with *cur into *d. msg gets the line to log for REFUSED ("reload
 * refused: FILE:LINE: ...", "reload refused: scope, max_connections need a
 * restart") and UNCHANGED ("reload: nothing changed in FILE"), and
 * "reloaded: KEY, KEY" for APPLY.
 */
enum reload_verdict reload_plan(const struct config *cur, const char *path, struct config *next,
				struct config_diff *d, char *msg, size_t len);

#endif
