/* SPDX-License-Identifier: MIT */
/*
 * Network namespaces: run a short piece of work (open a socket, create a BPF
 * iterator, read a cookie) inside another namespace and come back. Sockets
 * and iterators stay bound to the namespace they were created in, so this is
 * all the agent needs to watch one it does not live in.
 */
#ifndef GESPANN_NETNS_H
#define GESPANN_NETNS_H

/*
 * Run fn(arg) with the calling thread in the network namespace ns_fd (-1:
 * the current one, fn runs where it is), then switch back. Returns 0 when fn
 * ran, or a negative errno when the namespace could not be entered (fn did
 * not run); fn reports its own result through arg. The agent cannot go on in
 * a foreign namespace: when it cannot switch back it logs and aborts.
 */
int netns_call(int ns_fd, void (*fn)(void *arg), void *arg);

/* The same, with the namespace named by a file (/var/run/netns/NAME,
 * /proc/PID/ns/net); NULL means the current one. */
int netns_call_path(const char *path, void (*fn)(void *arg), void *arg);

/* Call fn(path, arg) for every file that holds a network namespace: each
 * /proc/PID/ns/net, then each /var/run/netns/NAME. A namespace comes once
 * per holder: callers tell them apart by the file's inode. */
void netns_foreach_holder(void (*fn)(const char *path, void *arg), void *arg);

#endif
