// SPDX-License-Identifier: MIT
/*
 * The udp program family (src/bpf/udp.bpf.c): UDP flows, their owners and
 * DNS capture, libbpf-tools style: open -> configure rodata and map sizes
 * -> load -> attach, freed in one place (probes_udp_stop). Optional as a
 * whole: every failure is logged and leaves the agent running without it.
 * The cgroup_skb programs attach to the cgroup v2 root (mounted privately
 * when the host has none). The owner hooks the kernel refuses are dropped
 * one at a time, and sockets open before start are named by two iterators
 * run at start (the second once per namespace in scope).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "probes/kcompat.h"
#include "probes/probes_int.h"
#include "util/log.h"
#include "udp.skel.h"
#include "udp_legacy.skel.h"

/* udp_bpf_open_variant(): the normal or GS_LEGACY object (kcompat.h). */
KCOMPAT_DEFINE_SKEL_OPEN(udp)

#define PRIVATE_CGROUP2_DIR "/run/gespann/cgroup2"

/* The cgroup v2 root: the host's mount, or a private one. */
static int open_cgroup2_root(void)
{
	char line[512], dev[128], dir[256], type[64];
	FILE *f = fopen("/proc/mounts", "re");
	int fd = -1;

	if (f) {
		while (fgets(line, sizeof(line), f)) {
			if (sscanf(line, "%127s %255s %63s", dev, dir, type) == 3 &&
			    !strcmp(type, "cgroup2")) {
				fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
				if (fd >= 0) {
					pr_debug("using cgroup v2 at %s", dir);
					break;
				}
			}
		}
		fclose(f);
	}
	if (fd >= 0)
		return fd;
	mkdir("/run/gespann", 0755);
	mkdir(PRIVATE_CGROUP2_DIR, 0755);
	if (mount("none", PRIVATE_CGROUP2_DIR, "cgroup2", 0, NULL) && errno != EBUSY) {
		pr_warn("no cgroup v2 mount and mounting one at %s failed: %s", PRIVATE_CGROUP2_DIR,
			strerror(errno));
		return -1;
	}
	pr_info("mounted cgroup v2 at %s", PRIVATE_CGROUP2_DIR);
	return open(PRIVATE_CGROUP2_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

/* Which programs record UDP owners in process context: the start-up
 * iterator needs bpf_sock_from_file (5.11+), sock_create the current-task
 * helpers in cgroup/sock programs. */
enum udp_owner_hooks {
	UDP_OWNER_NONE = 0,
	UDP_OWNER_CREATE = 1,	   /* cgroup/sock_create */
	UDP_OWNER_CREATE_SEED = 2, /* ... and the task_file iterator at start */
};

/* Open and configure the udp skeleton with the owner hooks selected. NULL
 * on failure (logged). */
static struct udp_bpf *udp_open(struct probes *p, const struct config *cfg, uint64_t cookie,
				bool *dns_capture, enum udp_owner_hooks owner_hooks)
{
	struct udp_bpf *skel = udp_bpf_open_variant(p->legacy);
	int err;

	if (!skel) {
		pr_warn("UDP tracking disabled: failed to open the udp programs: %s",
			strerror(errno));
		return NULL;
	}
	skel->rodata->target_netns = cookie;
	skel->rodata->gs_netns_by_ino = probes_netns_by_ino();
	skel->rodata->gs_skb_has_netns_cookie = p->features[FEAT_CGROUP_SKB_NETNS_COOKIE];
	skel->rodata->gs_skb_has_pid = p->features[FEAT_CGROUP_SKB_PID];
	/* The leader's comm where cgroup_skb can name the current task (the
	 * cgroup_skb_pid feature, whose fallback line covers this one too: a
	 * socket keeps its creator's name); the helper probes only confirm.
	 * Without it the owner's name is the creating thread's comm, as
	 * before: the same unless a thread renamed itself. */
	skel->rodata->udp_owner_leader_comm = p->features[FEAT_CGROUP_SKB_PID] &&
					      kcompat_prog_reads_task(BPF_PROG_TYPE_CGROUP_SOCK) &&
					      kcompat_prog_reads_task(BPF_PROG_TYPE_CGROUP_SKB);
	skel->rodata->ringbuf_wakeup_bytes = cfg->ringbuf_bytes / 4;
	bpf_map__set_max_entries(skel->maps.udp_flows, cfg->max_udp_flows);
	/* One ring buffer for every record: the tcp family's. */
	err = p->tcp ? bpf_map__reuse_fd(skel->maps.events, probes_tcp_events_fd(p)) : -ENOENT;
	if (err) {
		if (*dns_capture)
			pr_warn("DNS capture disabled: cannot share the ring buffer: %s",
				strerror(-err));
		*dns_capture = false;
		bpf_map__set_max_entries(skel->maps.events, 4096);
	}
	skel->rodata->dns_capture = *dns_capture;
	bpf_program__set_autoload(skel->progs.seed_udp_owners,
				  owner_hooks >= UDP_OWNER_CREATE_SEED);
	bpf_program__set_autoload(skel->progs.handle_udp_sock_create,
				  owner_hooks >= UDP_OWNER_CREATE);
	bpf_program__set_autoload(skel->progs.seed_udp_apply, owner_hooks >= UDP_OWNER_CREATE_SEED);
	bpf_program__set_autoattach(skel->progs.seed_udp_owners, false);
	bpf_program__set_autoattach(skel->progs.seed_udp_apply, false);
	bpf_map__set_max_entries(skel->maps.udp_seed, cfg->max_udp_flows);
	return skel;
}

/* Drop what the seeding left in udp_seed (sockets the udp iterators did
 * not reach: closed meanwhile, or in a namespace that went away). */
static void udp_seed_clear(int fd)
{
	__u64 key;

	while (!bpf_map_get_next_key(fd, NULL, &key))
		if (bpf_map_delete_elem(fd, &key))
			break;
}

/*
 * Give UDP sockets open before start their owner (udp.bpf.c): the task_file
 * iterator notes who holds each, then the udp iterator of each namespace in
 * scope writes it into their socket storage. Best effort: their flows
 * otherwise stay without an owner until the socket sends.
 */
static void seed_udp_owners(struct udp_bpf *skel, const struct config *cfg, const struct scope *s)
{
	int seed_fd = bpf_map__fd(skel->maps.udp_seed), err = 0;
	struct scope_walk w = { 0 };
	struct bpf_link *link;
	size_t full = 0;
	ssize_t n;
	__u64 key;

	/* Step 1 prints one byte per socket it could not note. */
	link = bpf_program__attach_iter(skel->progs.seed_udp_owners, NULL);
	n = link ? probes_iter_run_in(bpf_link__fd(link), -1) : -errno;
	bpf_link__destroy(link);
	if (n < 0)
		err = (int)n;
	else
		full = (size_t)n;
	/* Step 2 only when step 1 noted a socket. */
	if (!err && !bpf_map_get_next_key(seed_fd, NULL, &key)) {
		link = bpf_program__attach_iter(skel->progs.seed_udp_apply, NULL);
		if (link) {
			w = probes_iter_run_scope(bpf_link__fd(link), s);
			bpf_link__destroy(link);
		} else {
			err = -errno;
		}
	}
	udp_seed_clear(seed_fd);
	if (err)
		pr_warn("cannot name the owners of UDP sockets open before start (%s): their "
			"flows get an owner once the socket sends",
			strerror(-err));
	else
		pr_info("named the owners of %zu UDP socket(s) open before start", w.printed);
	if (full)
		pr_warn("%zu UDP socket(s) open before start not named (more than max_udp_flows "
			"= %u): their flows get an owner once the socket sends",
			full, cfg->max_udp_flows);
	if (w.n_fail)
		pr_warn("naming UDP socket owners failed in %zu of %zu network namespaces",
			w.n_fail, w.n_ns);
}

/*
 * UDP flows (and their owners) and DNS capture. Optional as a whole: any
 * failure is logged and leaves the agent running without it. dns_capture
 * turns the DNS copy on; its records go into the tcp family's ring buffer,
 * so probes_tcp_start() must have succeeded.
 */
int probes_udp_start(struct probes *p, const struct config *cfg, const struct scope *s,
		     bool dns_capture)
{
	enum udp_owner_hooks owner_hooks = UDP_OWNER_CREATE_SEED;
	struct udp_bpf *skel;
	int err;

	p->cgroup_fd = open_cgroup2_root();
	if (p->cgroup_fd < 0) {
		pr_warn("UDP tracking disabled: no cgroup v2 hierarchy to attach to");
		return 0;
	}
	for (;;) {
		skel = udp_open(p, cfg, s->netns_cookie, &dns_capture, owner_hooks);
		if (!skel)
			return 0;
		err = udp_bpf__load(skel);
		if (!err || owner_hooks == UDP_OWNER_NONE)
			break;
		/* Drop the owner hook the kernel is least likely to have and
		 * try again: flows and DNS do not depend on them. */
		pr_info("udp programs failed to load with %s (%s), retrying without it",
			owner_hooks == UDP_OWNER_CREATE_SEED ? "the owner seeding iterator" :
							       "the sock_create owner hook",
			strerror(-err));
		udp_bpf__destroy(skel);
		owner_hooks--;
	}
	p->udp = skel;
	if (!p->features[FEAT_CGROUP_SKB_NETNS_COOKIE])
		pr_info("cgroup_skb programs cannot call bpf_get_netns_cookie on this kernel: "
			"UDP flows take the netns from their socket");
	if (!p->features[FEAT_CGROUP_SKB_PID])
		pr_warn("cgroup_skb programs cannot call the current-task helpers on this "
			"kernel: UDP flows are named by their socket's creator only");
	if (err) {
		pr_warn("UDP tracking disabled: failed to load the udp programs: %s",
			strerror(-err));
		return 0;
	}
	p->udp_links[0] = bpf_program__attach_cgroup(skel->progs.handle_udp_egress, p->cgroup_fd);
	p->udp_links[1] = bpf_program__attach_cgroup(skel->progs.handle_udp_ingress, p->cgroup_fd);
	if (!p->udp_links[0] || !p->udp_links[1]) {
		pr_warn("UDP tracking disabled: failed to attach cgroup_skb programs: %s",
			strerror(errno));
		bpf_link__destroy(p->udp_links[0]);
		bpf_link__destroy(p->udp_links[1]);
		p->udp_links[0] = p->udp_links[1] = NULL;
		return 0;
	}
	p->features[FEAT_CGROUP_SKB_UDP] = true;
	p->features[FEAT_DNS_CAPTURE] = dns_capture;
	if (owner_hooks == UDP_OWNER_NONE) {
		pr_warn("UDP flows name their owner only once the socket sends (the kernel "
			"refused the owner hooks)");
		return 0;
	}
	/* The link lives in the skeleton: udp_bpf__destroy() detaches it. */
	skel->links.handle_udp_sock_create =
		bpf_program__attach_cgroup(skel->progs.handle_udp_sock_create, p->cgroup_fd);
	p->features[FEAT_UDP_OWNER] = skel->links.handle_udp_sock_create != NULL;
	if (!p->features[FEAT_UDP_OWNER]) {
		pr_warn("cgroup/sock_create attach failed (%s): UDP flows name their owner only "
			"once the socket sends",
			strerror(errno));
		return 0;
	}
	/* After sock_create is attached: no socket falls between the two. */
	p->features[FEAT_UDP_OWNER_SEED] = owner_hooks == UDP_OWNER_CREATE_SEED;
	if (owner_hooks == UDP_OWNER_CREATE_SEED)
		seed_udp_owners(skel, cfg, s);
	else
		pr_info("UDP sockets opened before start are named once they send (no "
			"task_file iterator with bpf_sock_from_file on this kernel)");
	return 0;
}

const void *probes_udp_elf(size_t *sz)
{
	return udp_bpf__elf_bytes(sz);
}

void probes_udp_stop(struct probes *p)
{
	bpf_link__destroy(p->udp_links[0]);
	bpf_link__destroy(p->udp_links[1]);
	p->udp_links[0] = p->udp_links[1] = NULL;
	udp_bpf__destroy(p->udp);
	p->udp = NULL;
	if (p->cgroup_fd >= 0)
		close(p->cgroup_fd);
	p->cgroup_fd = -1;
}
