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

#endif
