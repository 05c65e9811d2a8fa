// SPDX-License-Identifier: MIT
/*
 * Unit tests for the src_service rule (proc_service() in
 * src/enrich/proccache.c) applied to real cgroup v2 paths through
 * proc_parse_cgroup(), as the flow table does: a container's id, else a
 * systemd service unit, else the process name. User sessions, the user's
 * manager and scopes are not services. No root, no /proc.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "enrich/proccache.h"

#define HEX_A "4f0c3d6e8a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5"
#define POD_S "kubepods-burstable-pod0f2a6b1e_2d5c_4b8e_9a1f_3c2b1d0e9f8a.slice"
#define UMGR  "/user.slice/user-1000.slice/user@1000.service"

static void test_service_from_cgroup_path(void **state)
{
	static const struct {
		const char *path, *want;
	} cases[] = {
		/* containers: the runtime's id (lxc: the name) */
		{ "/system.slice/docker-" HEX_A ".scope", HEX_A },
		{ "/docker/" HEX_A, HEX_A },
		{ "/kubepods.slice/kubepods-burstable.slice/" POD_S "/cri-containerd-" HEX_A
		  ".scope",
		  HEX_A },
		{ "/kubepods.slice/kubepods-burstable.slice/" POD_S "/crio-" HEX_A ".scope",
		  HEX_A },
		{ "/machine.slice/libpod-" HEX_A ".scope/container", HEX_A },
		{ UMGR "/user.slice/libpod-" HEX_A ".scope", HEX_A }, /* rootless podman */
		{ "/lxc.payload.web1/system.slice/nginx.service", "web1" },
		/* a service inside a container is the container */
		{ "/system.slice/docker-" HEX_A ".scope/system.slice/nginx.service", HEX_A },
		/* systemd services, system and user */
		{ "/system.slice/foo.service", "foo.service" },
		{ "/system.slice/system-getty.slice/getty@tty1.service", "getty@tty1.service" },
		{ "/system.slice/foo.service/worker", "foo.service" }, /* delegated subtree */
		{ UMGR "/app.slice/bar.service", "bar.service" },
		/* not services: the process name */
		{ "/user.slice/user-1000.slice/session-3.scope", "python3" },
		{ UMGR "/init.scope", "python3" },
		{ UMGR, "python3" },
		{ UMGR "/app.slice/app-gnome-firefox-4242.scope", "python3" },
		{ "/system.slice/run-r3f1e2d4c5b6a79808f7e6d5c4b3a2910.scope", "python3" },
		{ "/machine.slice/libpod-conmon-" HEX_A ".scope", "python3" },
		{ "/init.scope", "python3" },
		{ "/user.slice", "python3" },
		{ "/", "python3" },
		{ "", "python3" },
	};
	char cid[72], unit[128];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *got;

		proc_parse_cgroup(cases[i].path, cid, sizeof(cid), unit, sizeof(unit));
		got = proc_service(cid, unit, "python3");
		if (strcmp(got, cases[i].want))
			fail_msg("case %zu %s: want \"%s\", got \"%s\"", i, cases[i].path,
				 cases[i].want, got);
	}
}

static void test_service_null_arguments(void **state)
{
	(void)state;
	assert_string_equal(proc_service(NULL, NULL, "curl"), "curl");
	assert_string_equal(proc_service(NULL, "a.service", NULL), "a.service");
	assert_string_equal(proc_service("", "", NULL), "");
	assert_string_equal(proc_service("", ".service", "x"), ".service");
	assert_string_equal(proc_service("", "user@0.service", "x"), "x");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_service_from_cgroup_path),
		cmocka_unit_test(test_service_null_arguments),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
