/* SPDX-License-Identifier: MIT */
/*
 * Attribute selection: which of a metric family's attributes (labels) are
 * exported, from the attributes.select entries of the configuration (Beyla
 * style: glob patterns over family names with include and exclude lists).
 */
#ifndef GESPANN_ATTRSEL_H
#define GESPANN_ATTRSEL_H

#include <stddef.h>
#include <stdint.h>

#include "config/config.h"

/* A family has at most this many attributes (bits of a mask). */
#define ATTRSEL_MAX_ATTRS 64

struct attrsel;

/* Copy cfg's select entries. Returns NULL with errno ENOMEM or EINVAL (cfg NULL). */
struct attrsel *attrsel_new(const struct config *cfg);

/* Accepts NULL. */
void attrsel_free(struct attrsel *s);

/*
 * Which of a family's attributes to export. all: NULL-terminated names (at
 * most ATTRSEL_MAX_ATTRS); default_mask bit i = all[i]. Every select entry
 * whose pattern matches `family` (fnmatch, no flags) applies, in config
 * order: a non-empty include replaces the set ("*" = all), exclude removes
 * ("*" = all). Names a family does not have are ignored for that family but
 * remembered; attrsel_unused() then reports a name that no family used.
 * Bits past the last name are never set. Returns 0, or -EINVAL (NULL
 * argument, more than ATTRSEL_MAX_ATTRS names) leaving *mask untouched.
 */
int attrsel_resolve(struct attrsel *s, const char *family, const char *const *all,
		    uint64_t default_mask, uint64_t *mask);

/*
 * After every family has been resolved: 0, or -EINVAL with one line in err
 * naming the first select entry that matched no family, or the first include
 * or exclude name that no matching family has, e.g.
 * "attributes.select 'gespann_flow_*': include: unknown attribute 'dst_nmae'
 * (gespann_flow_bytes_total has: direction, protocol, ...)".
 */
int attrsel_unused(const struct attrsel *s, char *err, size_t errlen);

#endif
