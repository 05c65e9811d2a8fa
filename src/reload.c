// SPDX-License-Identifier: MIT
/*
 * The reload decision (reload.h). Which keys may change at run time is not
 * listed here: each config row carries its flag (CONFIG_RELOAD in
 * src/config/config.c), and config_diff() walks the same tables the parser
 * does, so a key added to a table is compared without a word here.
 */
#include <stdio.h>
#include <string.h>

#include "flows/flows.h"
#include "reload.h"

int reload_load_config(const char *path, struct config *cfg, char *err, size_t errlen)
{
	int rc;

	if (path)
		rc = config_load_file(path, cfg, err, errlen);
	else
		rc = config_parse(config_default_text(), strlen(config_default_text()), "(default)",
				  cfg, err, errlen);
	if (!rc)
		rc = flows_check_config(cfg, err, errlen);
	return rc;
}

enum reload_verdict reload_plan(const struct config *cur, const char *path, struct config *next,
				struct config_diff *d, char *msg, size_t len)
{
	char err[512];
	int rc;

	memset(d, 0, sizeof(*d));
	rc = reload_load_config(path, next, err, sizeof(err));
	if (rc) {
		snprintf(msg, len, "reload refused: %s", err);
		return RELOAD_REFUSED;
	}
	config_diff(cur, next, d);
	if (d->n_restart) {
		snprintf(msg, len, "reload refused: %s %s a restart", d->restart,
			 d->n_restart > 1 ? "need" : "needs");
		return RELOAD_REFUSED;
	}
	if (!d->n_changed) {
		snprintf(msg, len, "reload: nothing changed in %s", path);
		return RELOAD_UNCHANGED;
	}
	snprintf(msg, len, "reloaded: %s", d->changed);
	return RELOAD_APPLY;
}
