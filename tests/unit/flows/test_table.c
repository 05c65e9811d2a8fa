// SPDX-License-Identifier: MIT
/*
 * The flow table's storage (src/flows/table.c) on its own: entries found,
 * added, swept and counted through uthash, and label sets interned by value
 * with their reference counts, including the cases a byte-wise key could
 * confuse (absent against empty, values split at another place, values
 * longer than the lookup's stack buffer).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "flows/flows_int.h"

static struct flows *flows_zeroed(void)
{
	struct flows *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	return f;
}

static void test_lset_interning(void **state)
{
	struct flows *f = flows_zeroed();
	char *a[U_MAX] = { 0 }, *b[U_MAX] = { 0 };
	struct lset *x, *y, *z;

	(void)state;
	a[U_SRC_PROCESS] = "curl";
	a[U_DST_PORT] = "443";
	b[U_SRC_PROCESS] = "curl";
	b[U_DST_PORT] = "443";
	x = flows_lset_get(f, a);
	y = flows_lset_get(f, b);
	assert_non_null(x);
	assert_ptr_equal(x, y);
	assert_int_equal(x->refs, 2);
	assert_string_equal(x->v[U_SRC_PROCESS], "curl");
	assert_string_equal(x->v[U_DST_PORT], "443");
	assert_null(x->v[U_DST_NAME]);

	/* Absent and empty differ; so do values split at another place. */
	b[U_DST_NAME] = "";
	z = flows_lset_get(f, b);
	assert_ptr_not_equal(z, x);
	assert_string_equal(z->v[U_DST_NAME], "");
	flows_lset_put(f, z);
	b[U_DST_NAME] = NULL;
	b[U_SRC_PROCESS] = "cur";
	b[U_SRC_PID] = "l";
	a[U_SRC_PID] = NULL;
	z = flows_lset_get(f, b);
	assert_ptr_not_equal(z, x);
	flows_lset_put(f, z);

	/* The last reference frees the set: the next get makes a new one. */
	flows_lset_put(f, y);
	assert_int_equal(x->refs, 1);
	flows_lset_put(f, x);
	assert_int_equal(HASH_COUNT(f->lsets), 0);
	x = flows_lset_get(f, a);
	assert_int_equal(x->refs, 1);
	flows_lset_put(f, NULL);
	flows_lsets_free(f);
	assert_null(f->lsets);
	free(f);
}

static void test_lset_long_values(void **state)
{
	struct flows *f = flows_zeroed();
	char *v[U_MAX] = { 0 }, *w[U_MAX] = { 0 };
	char long1[2000], long2[2000];
	struct lset *x, *y;

	(void)state;
	memset(long1, 'a', sizeof(long1) - 1);
	long1[sizeof(long1) - 1] = '\0';
	memcpy(long2, long1, sizeof(long2));
	long2[1500] = 'b';
	v[U_SRC_CGROUP] = long1;
	w[U_SRC_CGROUP] = long2;
	x = flows_lset_get(f, v);
	y = flows_lset_get(f, w);
	assert_non_null(x);
	assert_non_null(y);
	assert_ptr_not_equal(x, y);
	assert_string_equal(x->v[U_SRC_CGROUP], long1);
	assert_ptr_equal(flows_lset_get(f, v), x);
	assert_int_equal(x->refs, 2);
	flows_lsets_free(f);
	free(f);
}

static void key_of(struct ekey *k, uint32_t i)
{
	memset(k, 0, sizeof(*k));
	k->kind = K_TCP;
	memcpy(k->b, &i, sizeof(i));
}

static bool odd(const struct entry *e)
{
	uint32_t i;

	memcpy(&i, e->key.b, sizeof(i));
	return i & 1;
}

static void test_entries(void **state)
{
	struct flows *f = flows_zeroed();
	char *v[U_MAX] = { [U_PROTOCOL] = "tcp" };
	struct entry *e, *tmp;
	struct ekey k;
	struct lset *ls;
	const uint32_t n = 100000;

	(void)state;
	for (uint32_t i = 0; i < n; i++) {
		key_of(&k, i);
		assert_null(ftable_find(&f->tcp, &k));
		e = ftable_add(&f->tcp, &k);
		assert_non_null(e);
		e->ls = flows_lset_get(f, v);
		e->pid = i;
	}
	assert_int_equal(ftable_count(&f->tcp), n);
	ls = f->tcp.head->ls;
	assert_int_equal(ls->refs, n);
	for (uint32_t i = 0; i < n; i += 997) {
		key_of(&k, i);
		e = ftable_find(&f->tcp, &k);
		assert_non_null(e);
		assert_int_equal(e->pid, i);
	}
	/* A sweep deletes as it walks; each entry drops its set reference. */
	HASH_ITER(hh, f->tcp.head, e, tmp)
	{
		if (odd(e))
			ftable_del(f, &f->tcp, e);
	}
	assert_int_equal(ftable_count(&f->tcp), n / 2);
	assert_int_equal(ls->refs, n / 2);
	key_of(&k, 3);
	assert_null(ftable_find(&f->tcp, &k));
	key_of(&k, 4);
	assert_non_null(ftable_find(&f->tcp, &k));
	ftable_free(&f->tcp);
	assert_int_equal(ftable_count(&f->tcp), 0);
	assert_null(f->tcp.head);
	flows_lsets_free(f);
	free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lset_interning),
		cmocka_unit_test(test_lset_long_values),
		cmocka_unit_test(test_entries),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
