/* SPDX-License-Identifier: MIT */
/*
 * The capabilities the agent needs, as one table, checked at start before
 * any BPF work: an unprivileged start then says "missing capabilities:
 * CAP_BPF ..." instead of failing in the first kernel probe and blaming the
 * kernel. The README's capability table is checked against these rows by
 * tests/unit/util/test_caps.c, so the two cannot drift.
 */
#ifndef GESPANN_CAPS_H
#define GESPANN_CAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* When a capability is needed (a row's `need`, a caller's mask). */
enum caps_need {
	CAPS_ALWAYS = 1,      /* no start without it */
	CAPS_OTHER_NETNS = 2, /* no start without it unless scope: netns */
	CAPS_FEATURES = 4,    /* a start without it loses features: a warning */
	/* the same, for a user other than uid 0 (root owns what it opens) */
	CAPS_FEATURES_NOT_ROOT = 8,
};

/* One capability: its number, its name, when and what for. */
struct caps_row {
	int cap;	  /* CAP_BPF */
	const char *name; /* "CAP_BPF" */
	int alt;	  /* another capability the kernel accepts instead, or -1 */
	enum caps_need need;
	const char *when; /* the README's "Needed" cell: "always", ... */
	const char *what; /* what needs it, one line (the README's "For" cell) */
	/* kept at run time when this is in caps_lockdown()'s mask (0: never) */
	enum caps_need keep;
	const char *kept; /* the README's "Kept at run time" cell */
};

extern const struct caps_row caps_rows[];
extern const size_t caps_n_rows;

/* The effective capability set of this process: bit n is capability n. */
int caps_effective(uint64_t *mask);

/*
 * The rows whose need is in `needs` (a mask of enum caps_need) and that `eff`
 * lacks (neither the capability nor its alt), as "CAP_A CAP_B" into buf, in
 * table order. Returns how many are missing (0: buf is "").
 */
size_t caps_missing(uint64_t eff, unsigned int needs, char *buf, size_t size);

/* The capabilities of the rows whose keep is in `keeps` (enum caps_need). */
uint64_t caps_keep_mask(unsigned int keeps);

/* The rows' names whose capability is in mask, "CAP_A CAP_B" into buf, in
 * table order. Returns how many. */
size_t caps_names(uint64_t mask, char *buf, size_t size);

/*
 * Keep only the capabilities in `keep` that this process holds: the others
 * leave the bounding, ambient, inheritable, permitted and effective sets
 * (for good). *kept is what stays. Returns 0; -EPERM when only the bounding
 * set could not shrink (no CAP_SETPCAP: the other sets are reduced all the
 * same); another negative errno when capset(2) failed.
 */
int caps_drop(uint64_t keep, uint64_t *kept);

/*
 * After start (the programs attached, the listeners open): caps_drop() to the
 * rows kept at run time for `keeps` (CAPS_ALWAYS, plus CAPS_OTHER_NETNS
 * unless scope: netns), no-new-privs, and with `seccomp` the allow-list of
 * util/sandbox.h. Logs the set kept in one info line. Returns 0 or a negative
 * errno (the agent then stops: it would otherwise run with more than it
 * says).
 */
int caps_lockdown(unsigned int keeps, bool seccomp);

#endif
