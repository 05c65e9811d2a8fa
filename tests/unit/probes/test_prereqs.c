// SPDX-License-Identifier: MIT
/*
 * check-prereqs (src/probes/prereqs.c) must check exactly the hooks the
 * agent uses: the hook rows are compared with the SEC() names read from the
 * BPF sources (every .bpf.c in src/bpf, so a new program or a new family
 * without a row fails here), every PROBES_FEATURES name must be a row of the
 * printed table, and the table's own lists must not name sections that no
 * program has. Runs without root: what needs privileges answers "unknown".
 * Included, h2o style, to see the file's tables.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <glob.h>

#include "probes/prereqs.c"

#define MAX_SECS 64

struct secs {
	char name[MAX_SECS][64];
	size_t n;
};

static void secs_add(struct secs *s, const char *name, size_t len)
{
	for (size_t i = 0; i < s->n; i++)
		if (strlen(s->name[i]) == len && !strncmp(s->name[i], name, len))
			return;
	assert_true(s->n < MAX_SECS);
	assert_true(len < sizeof(s->name[0]));
	memcpy(s->name[s->n], name, len);
	s->name[s->n++][len] = '\0';
}

/* The program sections of every BPF source: SEC("...") but maps, license
 * and the data sections (their names start with '.' or are "license"). */
static void read_sources(struct secs *s)
{
	static char text[1 << 20];
	glob_t g;

	s->n = 0;
	assert_int_equal(glob("src/bpf/*.bpf.c", 0, NULL, &g), 0);
	assert_true(g.gl_pathc >= 3);
	for (size_t i = 0; i < g.gl_pathc; i++) {
		FILE *f = fopen(g.gl_pathv[i], "re");
		size_t n;

		assert_non_null(f);
		n = fread(text, 1, sizeof(text) - 1, f);
		fclose(f);
		text[n] = '\0';
		for (const char *p = strstr(text, "SEC(\""); p; p = strstr(p, "SEC(\"")) {
			const char *name = p + 5, *end = strchr(name, '"');

			assert_non_null(end);
			if (name[0] != '.' && strncmp(name, "license\"", 8))
				secs_add(s, name, (size_t)(end - name));
			p = end;
		}
	}
	globfree(&g);
}

static struct prereqs rows;

static int setup(void **state)
{
	(void)state;
	prereqs_collect(&rows);
	return 0;
}

static void test_hooks_are_the_sections(void **state)
{
	struct secs s;
	size_t n_hooks = 0;

	(void)state;
	read_sources(&s);
	for (size_t i = 0; i < s.n; i++) {
		struct prereq_row *row = row_find(&rows, s.name[i], true);

		if (!row)
			fail_msg("SEC(\"%s\") has no check-prereqs row", s.name[i]);
	}
	for (size_t i = 0; i < rows.n; i++) {
		bool found = false;

		if (!rows.rows[i].hook)
			continue;
		n_hooks++;
		for (size_t j = 0; j < s.n; j++)
			found |= !strcmp(s.name[j], rows.rows[i].name);
		if (!found)
			fail_msg("hook row %s is no SEC() in src/bpf", rows.rows[i].name);
	}
	assert_int_equal(n_hooks, s.n);
	/* No row was lost to a full table. */
	assert_true(rows.n < PREREQS_MAX_ROWS);
}

/* The tables of prereqs.c name only sections that exist. */
static void test_hook_uses_exist(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(hook_uses) / sizeof(hook_uses[0]); i++)
		if (!row_find(&rows, hook_uses[i].sec, true))
			fail_msg("hook_uses names %s, which no program has", hook_uses[i].sec);
}

static void test_every_feature_is_printed(void **state)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	int ret;

	(void)state;
	assert_non_null(f);
	ret = prereqs_print(f, &rows);
	fclose(f);
	assert_true(!strncmp(out, "FEATURE ", 8)); /* the header line first */
	for (int i = 0; i < FEAT_MAX; i++) {
		struct prereq_row *row = row_find(&rows, feature_name(i), false);
		char line[96];

		if (!row)
			fail_msg("feature %s has no row", feature_name(i));
		/* Column one of its own line, padded by at least two spaces. */
		snprintf(line, sizeof(line), "\n%s  ", feature_name(i));
		if (!strstr(out, line))
			fail_msg("feature %s is not printed", feature_name(i));
	}
	/* The exit status: 1 exactly when a required row is not ok. */
	{
		bool bad = false;

		for (size_t i = 0; i < rows.n; i++)
			bad |= rows.rows[i].required && rows.rows[i].status != PREREQ_OK;
		assert_int_equal(ret, bad ? 1 : 0);
	}
	free(out);
}

/* Required is what the agent cannot start without: the tcp hooks tcp.c
 * does not switch off, BTF, the ring buffer, privileges; never a hook of
 * the optional families. */
static void test_required(void **state)
{
	static const char *const required[] = {
		"tp_btf/inet_sock_set_state", "iter/tcp", "btf", "ringbuf", "privileges",
		"tp_inet_sock_set_state",
	};
	static const char *const optional[] = {
		"tp_btf/tcp_send_reset",
		"tracepoint/syscalls/sys_exit_accept4",
		"raw_tp",
		"cgroup_skb/egress",
		"uprobe",
		"tp_btf/sched_process_exec",
		"kprobe",
		"fentry",
		"bpf_atomics",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
		struct prereq_row *row = row_find(&rows, required[i], !!strchr(required[i], '/'));

		assert_non_null(row);
		if (!row->required)
			fail_msg("%s should be required", required[i]);
	}
	for (size_t i = 0; i < sizeof(optional) / sizeof(optional[0]); i++) {
		struct prereq_row *row = row_find(&rows, optional[i], false);

		row = row ? row : row_find(&rows, optional[i], true);
		assert_non_null(row);
		if (row->required)
			fail_msg("%s should be optional", optional[i]);
	}
	assert_int_equal(row_find(&rows, "kprobe", false)->status, PREREQ_NOT_USED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hooks_are_the_sections),
		cmocka_unit_test(test_hook_uses_exist),
		cmocka_unit_test(test_every_feature_is_printed),
		cmocka_unit_test(test_required),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
