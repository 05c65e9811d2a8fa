/* SPDX-License-Identifier: MIT */
/*
 * Reading README.md's tables from the unit tests that hold a table in the
 * code and its copy in the README together (test_schema: settings, test_caps:
 * capabilities). Header-only: each test is one binary.
 */
#ifndef GESPANN_TESTS_README_TABLE_H
#define GESPANN_TESTS_README_TABLE_H

#include <stdio.h>
#include <string.h>

/* Cell idx (0-based) of a "| a | b | c |" line, trimmed of spaces (backticks
 * kept), into out. Returns 0, or -1 when the line has fewer cells. */
static inline int readme_cell(const char *line, int idx, char *out, size_t size)
{
	const char *p = line, *end;
	int i;

	for (i = 0; i <= idx; i++) {
		p = strchr(p, '|');
		if (!p)
			return -1;
		p++;
	}
	end = strchr(p, '|');
	if (!end)
		return -1;
	while (p < end && *p == ' ')
		p++;
	while (end > p && end[-1] == ' ')
		end--;
	snprintf(out, size, "%.*s", (int)(end - p), p);
	return 0;
}

#endif
