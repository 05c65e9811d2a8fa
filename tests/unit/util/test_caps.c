// SPDX-License-Identifier: MIT
/*
 * The capability check (src/util/caps.c) without privileges: its logic fed
 * capability masks (root, nobody, each capability alone, CAP_SYS_ADMIN
 * standing in for the BPF ones), and the README's capability table checked
 * against caps_rows[] so that the list a user reads is the list the code
 * checks. README.md is read from the working directory (make unit runs from
 * the top of the tree).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "readme_table.h"

#include <linux/capability.h>
#include <stdio.h>
#include <string.h>

#include "util/caps.h"

#define BIT(c) (1ULL << (c))

static const unsigned int start_host = CAPS_ALWAYS | CAPS_OTHER_NETNS;
static const unsigned int start_netns = CAPS_ALWAYS;

static void check_missing(const char *what, uint64_t eff, unsigned int needs, size_t n_exp,
			  const char *exp)
{
	char buf[256];
	size_t n = caps_missing(eff, needs, buf, sizeof(buf));

	if (n != n_exp || strcmp(buf, exp))
		fail_msg("%s: expected %zu \"%s\", got %zu \"%s\"", what, n_exp, exp, n, buf);
}

static void test_masks(void **state)
{
	const uint64_t all = ~0ULL;
	const uint64_t three = BIT(CAP_BPF) | BIT(CAP_PERFMON) | BIT(CAP_NET_ADMIN);

	check_missing("root", all, start_host, 0, "");
	check_missing("root, features", all, CAPS_FEATURES, 0, "");
	check_missing("nobody", 0, start_host, 4,
		      "CAP_BPF CAP_PERFMON CAP_NET_ADMIN CAP_SYS_ADMIN");
	check_missing("nobody, scope netns", 0, start_netns, 3,
		      "CAP_BPF CAP_PERFMON CAP_NET_ADMIN");
	check_missing("nobody, features", 0, CAPS_FEATURES, 1, "CAP_SYS_PTRACE");
	/* the kernel takes CAP_SYS_ADMIN for bpf_capable(), perfmon_capable() ... */
	check_missing("CAP_SYS_ADMIN alone", BIT(CAP_SYS_ADMIN), start_host, 0, "");
	check_missing("the three, scope netns", three, start_netns, 0, "");
	check_missing("the three, scope host", three, start_host, 1, "CAP_SYS_ADMIN");
	check_missing("CAP_BPF alone", BIT(CAP_BPF), start_netns, 2, "CAP_PERFMON CAP_NET_ADMIN");
	check_missing("no CAP_PERFMON", BIT(CAP_BPF) | BIT(CAP_NET_ADMIN), start_netns, 1,
		      "CAP_PERFMON");
	/* unrelated capabilities count for nothing */
	check_missing("CAP_NET_RAW and CAP_CHOWN", BIT(CAP_NET_RAW) | BIT(CAP_CHOWN), start_netns,
		      3, "CAP_BPF CAP_PERFMON CAP_NET_ADMIN");
	check_missing("CAP_SYS_ADMIN, features", BIT(CAP_SYS_ADMIN), CAPS_FEATURES, 1,
		      "CAP_SYS_PTRACE");
	check_missing("nothing asked", 0, 0, 0, "");
}

/* The run-time set: the "kept" rows, CAP_SYS_ADMIN only beyond our netns. */
static void test_keep(void **state)
{
	char buf[128];

	caps_names(caps_keep_mask(CAPS_ALWAYS), buf, sizeof(buf));
	assert_string_equal(buf, "CAP_BPF CAP_SYS_PTRACE");
	caps_names(caps_keep_mask(CAPS_ALWAYS | CAPS_OTHER_NETNS), buf, sizeof(buf));
	assert_string_equal(buf, "CAP_BPF CAP_SYS_ADMIN CAP_SYS_PTRACE");
	assert_int_equal(caps_keep_mask(0), 0);
}

/* A small buffer: cut, still terminated, the count still right. */
static void test_small_buffer(void **state)
{
	char buf[10];

	assert_int_equal(caps_missing(0, start_host, buf, sizeof(buf)), 4);
	assert_string_equal(buf, "CAP_BPF C");
	assert_int_equal(caps_missing(0, start_host, buf, 0), 4);
}

/* Whatever this process holds, reading it works (root or not). */
static void test_effective(void **state)
{
	uint64_t eff = 0;

	assert_int_equal(caps_effective(&eff), 0);
}

static void test_readme_table(void **state)
{
	char line[1024], name[64], when[128], what[256], kept[256], want[64];
	int in_table = 0, bad = 0;
	size_t i = 0;
	FILE *f = fopen("README.md", "r");

	if (!f)
		fail_msg("README.md: cannot open (run from the top of the tree)");
	while (fgets(line, sizeof(line), f)) {
		const char *l = line + strspn(line, " ");

		if (!strncmp(l, "| Capability | Needed | For | Kept at run time |", 48)) {
			in_table = 1;
			continue;
		}
		if (!in_table)
			continue;
		if (l[0] != '|')
			break;
		if (!strncmp(l, "|---", 4))
			continue;
		if (readme_cell(l, 0, name, sizeof(name)) ||
		    readme_cell(l, 1, when, sizeof(when)) ||
		    readme_cell(l, 2, what, sizeof(what)) || readme_cell(l, 3, kept, sizeof(kept)))
			fail_msg("README.md: capability table: malformed line: %s", line);
		if (i >= caps_n_rows) {
			print_error("README.md: capability table: %s is not in caps_rows[]\n",
				    name);
			bad = 1;
			continue;
		}
		snprintf(want, sizeof(want), "`%s`", caps_rows[i].name);
		if (strcmp(name, want) || strcmp(when, caps_rows[i].when) ||
		    strcmp(what, caps_rows[i].what) || strcmp(kept, caps_rows[i].kept)) {
			print_error("README.md: capability table, row %zu:\n"
				    "  expected: | %s | %s | %s | %s |\n"
				    "  actual:   | %s | %s | %s | %s |\n",
				    i + 1, want, caps_rows[i].when, caps_rows[i].what,
				    caps_rows[i].kept, name, when, what, kept);
			bad = 1;
		}
		i++;
	}
	fclose(f);
	if (!in_table)
		fail_msg(
			"README.md: no \"| Capability | Needed | For | Kept at run time |\" table");
	for (; i < caps_n_rows; i++) {
		print_error("README.md: capability table: missing row | `%s` | %s | %s | %s |\n",
			    caps_rows[i].name, caps_rows[i].when, caps_rows[i].what,
			    caps_rows[i].kept);
		bad = 1;
	}
	if (bad)
		fail_msg("README.md: the capability table and caps_rows[] differ (above)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_masks),	     cmocka_unit_test(test_keep),
		cmocka_unit_test(test_small_buffer), cmocka_unit_test(test_effective),
		cmocka_unit_test(test_readme_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
