// SPDX-License-Identifier: MIT
/*
 * The seccomp allow-list (src/util/sandbox.c) without installing it: every
 * name is a system call of x86_64 or arm64 (a typo would silently leave a
 * call out), no name twice, and none of the calls that load, attach, mount
 * or change privileges is on it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <seccomp.h>
#include <string.h>

#include "util/sandbox.h"

static void test_names_resolve(void **state)
{
	for (size_t i = 0; i < sandbox_n_allowed; i++) {
		const char *n = sandbox_allowed[i];

		if (seccomp_syscall_resolve_name_arch(SCMP_ARCH_X86_64, n) == __NR_SCMP_ERROR &&
		    seccomp_syscall_resolve_name_arch(SCMP_ARCH_AARCH64, n) == __NR_SCMP_ERROR)
			fail_msg("sandbox_allowed[%zu] \"%s\": no such system call", i, n);
		for (size_t j = 0; j < i; j++)
			if (!strcmp(n, sandbox_allowed[j]))
				fail_msg("sandbox_allowed: \"%s\" twice", n);
	}
}

static void test_not_allowed(void **state)
{
	static const char *const never[] = { "mount",	   "umount2",	  "execve",
					     "execveat",   "ptrace",	  "capset",
					     "setuid",	   "init_module", "perf_event_open",
					     "kexec_load", "unshare" };

	for (size_t i = 0; i < sizeof(never) / sizeof(never[0]); i++)
		for (size_t j = 0; j < sandbox_n_allowed; j++)
			if (!strcmp(never[i], sandbox_allowed[j]))
				fail_msg("sandbox_allowed has \"%s\"", never[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names_resolve),
		cmocka_unit_test(test_not_allowed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
