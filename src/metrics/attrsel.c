// SPDX-License-Identifier: MIT
/*
 * Attribute selection (attributes.select): turns the configured glob patterns
 * with their include and exclude lists into a label mask per metric family.
 *
 * Families resolve their masks once, at start-up, so this is a plain walk
 * over the (at most 32) entries. It also remembers which entries and names
 * were used by some family, so that a typo ("dst_nmae", "gespann_flwo_*") is
 * reported once every family is known instead of silently doing nothing.
 */
#include <errno.h>
#include <fnmatch.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/attrsel.h"

/* The first family an entry matched and its attributes, for messages. */
#define ATTRSEL_EXAMPLE_LEN 512

struct attrsel_entry {
	struct config_select sel;
	bool matched;
	bool include_used[CONFIG_MAX_ATTRS];
	bool exclude_used[CONFIG_MAX_ATTRS];
	char example[ATTRSEL_EXAMPLE_LEN]; /* "family has: a, b, c" */
};

struct attrsel {
	struct attrsel_entry *entries;
	size_t n;
};

struct attrsel *attrsel_new(const struct config *cfg)
{
	struct attrsel *s;
	size_t i;

	if (!cfg || cfg->n_select > CONFIG_MAX_SELECT) {
		errno = EINVAL;
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->entries = calloc(cfg->n_select ? cfg->n_select : 1, sizeof(*s->entries));
	if (!s->entries) {
		free(s);
		errno = ENOMEM;
		return NULL;
	}
	for (i = 0; i < cfg->n_select; i++)
		s->entries[i].sel = cfg->select[i];
	s->n = cfg->n_select;
	return s;
}

void attrsel_free(struct attrsel *s)
{
	if (!s)
		return;
	free(s->entries);
	free(s);
}

/* Index of name in all, or -1. */
static int attr_index(const char *const *all, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (!strcmp(all[i], name))
			return (int)i;
	}
	return -1;
}

static void remember_example(struct attrsel_entry *e, const char *family, const char *const *all,
			     size_t n)
{
	size_t i, o;

	if (e->matched)
		return;
	e->matched = true;
	o = (size_t)snprintf(e->example, sizeof(e->example), "%s has: ", family);
	for (i = 0; i < n && o < sizeof(e->example); i++)
		o += (size_t)snprintf(e->example + o, sizeof(e->example) - o, "%s%s", i ? ", " : "",
				      all[i]);
	if (o >= sizeof(e->example)) /* cut: say so */
		memcpy(e->example + sizeof(e->example) - 4, "...", 4);
}

int attrsel_resolve(struct attrsel *s, const char *family, const char *const *all,
		    uint64_t default_mask, uint64_t *mask)
{
	uint64_t m, full;
	size_t n = 0, i, j;
	int k;

	if (!s || !family || !all || !mask)
		return -EINVAL;
	while (all[n]) {
		if (++n > ATTRSEL_MAX_ATTRS)
			return -EINVAL;
	}
	full = n == 64 ? UINT64_MAX : (UINT64_C(1) << n) - 1;
	m = default_mask & full;
	for (i = 0; i < s->n; i++) {
		struct attrsel_entry *e = &s->entries[i];

		if (fnmatch(e->sel.pattern, family, 0))
			continue;
		remember_example(e, family, all, n);
		if (e->sel.has_include && e->sel.n_include) {
			m = 0;
			for (j = 0; j < e->sel.n_include; j++) {
				if (!strcmp(e->sel.include[j], "*")) {
					m = full;
					e->include_used[j] = true;
					continue;
				}
				k = attr_index(all, n, e->sel.include[j]);
				if (k < 0)
					continue;
				m |= UINT64_C(1) << k;
				e->include_used[j] = true;
			}
		}
		for (j = 0; j < e->sel.n_exclude; j++) {
			if (!strcmp(e->sel.exclude[j], "*")) {
				m = 0;
				e->exclude_used[j] = true;
				continue;
			}
			k = attr_index(all, n, e->sel.exclude[j]);
			if (k < 0)
				continue;
			m &= ~(UINT64_C(1) << k);
			e->exclude_used[j] = true;
		}
	}
	*mask = m;
	return 0;
}

/* The first name of a list no family of the pattern has: "include" or
 * "exclude" and its index, or NULL. */
static const char *unused_name(const struct attrsel_entry *e, const char **list)
{
	size_t j;

	for (j = 0; j < e->sel.n_include; j++) {
		if (!e->include_used[j]) {
			*list = "include";
			return e->sel.include[j];
		}
	}
	for (j = 0; j < e->sel.n_exclude; j++) {
		if (!e->exclude_used[j]) {
			*list = "exclude";
			return e->sel.exclude[j];
		}
	}
	return NULL;
}

int attrsel_unused(const struct attrsel *s, char *err, size_t errlen)
{
	const char *name, *list = NULL;
	char where[sizeof(s->entries[0].sel.where) + 2];

	if (err && errlen)
		err[0] = '\0';
	if (!s)
		return 0;
	for (size_t i = 0; i < s->n; i++) {
		const struct attrsel_entry *e = &s->entries[i];

		/* "FILE:LINE: " where the pattern was written, when it was */
		snprintf(where, sizeof(where), "%s%s", e->sel.where, e->sel.where[0] ? ": " : "");
		if (!e->matched) {
			if (err && errlen)
				snprintf(err, errlen,
					 "%sattributes.select '%s': the pattern matches no metric "
					 "family",
					 where, e->sel.pattern);
			return -EINVAL;
		}
		name = unused_name(e, &list);
		if (name) {
			if (err && errlen)
				snprintf(
					err, errlen,
					"%sattributes.select '%s': %s: unknown attribute '%s' (%s)",
					where, e->sel.pattern, list, name, e->example);
			return -EINVAL;
		}
	}
	return 0;
}
