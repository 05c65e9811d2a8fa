// SPDX-License-Identifier: MIT
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/log.h"
#include "util/netns.h"

int netns_call(int ns_fd, void (*fn)(void *arg), void *arg)
{
	int self_fd, err;

	if (ns_fd < 0) {
		fn(arg);
		return 0;
	}
	self_fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self_fd < 0)
		return -errno;
	if (setns(ns_fd, CLONE_NEWNET)) {
		err = -errno;
		close(self_fd);
		return err;
	}
	fn(arg);
	if (setns(self_fd, CLONE_NEWNET)) {
		/* Every later socket would open in the wrong namespace. */
		pr_err("cannot return to the agent's network namespace: %s", strerror(errno));
		abort();
	}
	close(self_fd);
	return 0;
}

int netns_call_path(const char *path, void (*fn)(void *arg), void *arg)
{
	int fd, err;

	if (!path)
		return netns_call(-1, fn, arg);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	err = netns_call(fd, fn, arg);
	close(fd);
	return err;
}

void netns_foreach_holder(void (*fn)(const char *path, void *arg), void *arg)
{
	static const char *const dirs[] = { "/proc", "/var/run/netns" };

	for (size_t d = 0; d < 2; d++) {
		DIR *dir = opendir(dirs[d]);
		struct dirent *de;

		while (dir && (de = readdir(dir))) {
			char path[300];

			if (de->d_name[0] == '.' ||
			    (d == 0 && (de->d_name[0] < '0' || de->d_name[0] > '9')))
				continue;
			snprintf(path, sizeof(path), d == 0 ? "%s/%s/ns/net" : "%s/%s", dirs[d],
				 de->d_name);
			fn(path, arg);
		}
		if (dir)
			closedir(dir);
	}
}
