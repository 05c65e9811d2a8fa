/* SPDX-License-Identifier: MIT */
/*
 * The seccomp allow-list of the running agent (config `seccomp: true`): the
 * system calls the main loop makes after start, and nothing that loads,
 * attaches or mounts. A call outside the list fails with EPERM (it does not
 * kill the agent): the failing operation logs its error as usual.
 */
#ifndef GESPANN_SANDBOX_H
#define GESPANN_SANDBOX_H

#include <stddef.h>

/* The allow-list, by name (unit tests check each resolves somewhere). */
extern const char *const sandbox_allowed[];
extern const size_t sandbox_n_allowed;

/* Install the filter on this process (and the threads it starts later:
 * libcurl's resolver). Needs no-new-privs set first. Returns 0 or a negative
 * errno. */
int sandbox_seccomp(void);

#endif
