/* SPDX-License-Identifier: MIT */
/*
 * `gespann -check-prereqs`: can this kernel and this user run the agent? The
 * hooks checked are the programs the skeletons contain (their SEC() names),
 * so a program added later is checked without anyone editing a list; the
 * feature rows use the names of PROBES_FEATURES (gespann_feature_enabled).
 * Nothing is attached and no skeleton is loaded: the objects are only opened,
 * BTF and tracefs read, and with privileges a few probes load a map or a
 * program of a few instructions and close it again.
 */
#ifndef GESPANN_PREREQS_H
#define GESPANN_PREREQS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

enum prereq_status {
	PREREQ_OK = 0,
	PREREQ_NOT_USED,     /* the kernel may have it; this build does not use it */
	PREREQ_FALLBACK,     /* missing, and the agent uses its fallback */
	PREREQ_UNKNOWN_ROOT, /* cannot be answered without privileges */
	PREREQ_UNKNOWN,	     /* cannot be answered here, for another reason */
	PREREQ_UNAVAILABLE,  /* present in principle, not usable here */
	PREREQ_MISSING,	     /* the kernel or system does not have it */
};

struct prereq_row {
	char name[64]; /* a hook's SEC() name, a feature's name, or a system row */
	char detail[256];
	enum prereq_status status;
	bool required; /* the agent refuses to start when it is not ok */
	bool hook;     /* name is the section of a program in a skeleton */
	int feature;   /* the enum feature a hook serves, -1 for none */
};

#define PREREQS_MAX_ROWS 128

struct prereqs {
	struct prereq_row rows[PREREQS_MAX_ROWS];
	size_t n;
};

/* Fill r with every row: system (kernel, privileges, cgroup v2, tracefs),
 * the map types and hooks of every program family, then one row per
 * PROBES_FEATURES entry. Never loads a skeleton or attaches anything. */
void prereqs_collect(struct prereqs *r);

/* The word printed in the STATUS column. */
const char *prereqs_status_name(enum prereq_status s);

/* Print r as the table FEATURE / STATUS / DETAIL and a summary. Returns 1
 * when a required row is not ok, else 0 (the exit status). */
int prereqs_print(FILE *out, const struct prereqs *r);

/* -check-prereqs: collect and print to stdout. Returns the exit status. */
int prereqs_check(void);

#endif
