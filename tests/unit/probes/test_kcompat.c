// SPDX-License-Identifier: MIT
/*
 * Unit tests for src/kcompat.c: the parts that need neither root nor BPF.
 * The netns identity by inode must be what /proc shows for the namespace;
 * by cookie it is either a nonzero cookie or ENOPROTOOPT (before 5.14), and
 * kcompat_has_netns_cookie() agrees. The BPF probes are exercised by the
 * kernel matrix (tests/kernels); here they must only answer without a crash,
 * also unprivileged.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <sys/stat.h>

#include "probes/kcompat.h"

static void test_netns_id_by_inode(void **state)
{
	struct stat st;
	uint64_t id = 0;

	(void)state;
	assert_int_equal(stat("/proc/self/ns/net", &st), 0);
	assert_int_equal(kcompat_netns_id_here(true, &id), 0);
	assert_int_equal(id, (uint64_t)st.st_ino);
}

static void test_netns_id_by_cookie(void **state)
{
	uint64_t id = 0;
	int err = kcompat_netns_id_here(false, &id);

	(void)state;
	if (err == 0) {
		assert_true(id != 0);
		assert_true(kcompat_has_netns_cookie());
	} else {
		assert_int_equal(err, -ENOPROTOOPT);
		assert_false(kcompat_has_netns_cookie());
	}
}

static void test_bpf_probes_answer(void **state)
{
	(void)state;
	/* Any answer will do: without privileges both are false. */
	(void)kcompat_has_atomics();
	(void)kcompat_prog_has_helper(BPF_PROG_TYPE_CGROUP_SKB, BPF_FUNC_get_netns_cookie);
	/* A helper id no kernel has is never there. */
	assert_false(
		kcompat_prog_has_helper(BPF_PROG_TYPE_SOCKET_FILTER, (enum bpf_func_id)100000));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_netns_id_by_inode),
		cmocka_unit_test(test_netns_id_by_cookie),
		cmocka_unit_test(test_bpf_probes_answer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
