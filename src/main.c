// SPDX-License-Identifier: MIT
/*
 * gespann: watch every TCP and UDP connection from inside the kernel and
 * export what it sees. main() parses flags and the config, starts the probes,
 * the collector and the exporters, and runs the one event loop: epoll over a
 * signalfd, a timerfd, the ring buffer and the HTTP listeners. Only main()
 * exits.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "enrich/hostcache.h"
#include "enrich/netclass.h"
#include "enrich/proccache.h"
#include "util/clock.h"
#include "metrics/collector.h"
#include "config/config.h"
#include "exporters/exporter.h"
#include "flows/feed.h"
#include "flows/flows.h"
#include "util/caps.h"
#include "util/log.h"
#include "probes/probes.h"
#include "probes/prereqs.h"
#include "metrics/registry.h"
#include "reload.h"

#define EXIT_CONFIG	   2
#define EXIT_FAILURE_START 1

enum loop_tag {
	TAG_SIGNAL = 1,
	TAG_TIMER,
	TAG_EVENTS,
	TAG_EXPORTER_BASE = 16,
};

struct agent {
	struct config cfg;
	struct probes probes;
	struct registry *reg;
	struct collector *collector;
	struct flows_enrich enrich; /* the caches flows label with */
	struct flows *flows;
	struct feed *feed;
	struct exporter exporters[CONFIG_MAX_ADAPTERS];
	size_t n_exporters;
	int epfd, sigfd, timerfd;
	const char *config_path; /* NULL: the embedded default (nothing to reload) */
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: gespann [-config FILE] [-check-config FILE] [-print-config] [-check-prereqs]\n"
		"               [-version] [-help]\n"
		"\n"
		"Watches every TCP and UDP connection from inside the kernel and exports\n"
		"metrics (Prometheus /metrics on :8080 by default).\n"
		"\n"
		"  -config FILE         YAML configuration (default: the embedded one below)\n"
		"  -check-config FILE   parse and check FILE, then exit: 0 and \"FILE: ok\", or 2\n"
		"                       and the error (no BPF, no root needed)\n"
		"  -print-config        print the embedded default configuration and exit\n"
		"  -version             print the version and exit\n"
		"  -help                this text\n"
		"\n"
		"Embedded default configuration:\n%s",
		config_default_text());
}

static void refresh_registry(void *ctx)
{
	struct agent *a = ctx;

	collector_update(a->collector, a->feed);
	exporters_publish(a->exporters, a->n_exporters, a->reg);
	flows_publish(a->flows);
}

static int epoll_add(int epfd, int fd, uint64_t tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = tag };

	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

/* The poll_interval timer, (re)armed. */
static int agent_set_timer(struct agent *a)
{
	struct itimerspec its = { 0 };

	its.it_interval.tv_sec = a->cfg.poll_interval_ns / 1000000000ULL;
	its.it_interval.tv_nsec = a->cfg.poll_interval_ns % 1000000000ULL;
	its.it_value = its.it_interval;
	return timerfd_settime(a->timerfd, 0, &its, NULL) ? -errno : 0;
}

/* Every exporter's fd in the epoll set (tagged by its index; a reload
 * moves them); a closed exporter's fd left the set when it was closed. */
static int agent_watch_exporters(struct agent *a)
{
	for (size_t i = 0; i < a->n_exporters; i++) {
		struct epoll_event ev = { .events = EPOLLIN, .data.u64 = TAG_EXPORTER_BASE + i };
		int fd = a->exporters[i].ops->fd(a->exporters[i].state);

		if (fd < 0)
			continue;
		if (epoll_ctl(a->epfd, EPOLL_CTL_ADD, fd, &ev) &&
		    (errno != EEXIST || epoll_ctl(a->epfd, EPOLL_CTL_MOD, fd, &ev)))
			return -errno;
	}
	return 0;
}

/*
 * SIGHUP: reload what can change at run time (README "Reload"); a file
 * that does not parse, or that changes a key needing a restart, changes
 * nothing. Counters go on: the registry, flows and kernel maps stay.
 */
static void agent_reload(struct agent *a)
{
	struct config *next;
	struct netclass *nc = NULL;
	struct config_diff d;
	char msg[1280], fams[512];
	int err;

	if (!a->config_path) {
		pr_info("SIGHUP: no config file to reload (running the embedded default)");
		return;
	}
	next = malloc(sizeof(*next)); /* ~190 KB */
	if (!next) {
		pr_warn("reload refused: out of memory");
		return;
	}
	switch (reload_plan(&a->cfg, a->config_path, next, &d, msg, sizeof(msg))) {
	case RELOAD_REFUSED:
		pr_warn("%s", msg);
		goto out;
	case RELOAD_UNCHANGED:
		pr_info("%s", msg);
		goto out;
	case RELOAD_APPLY:
		break;
	}
	if (config_diff_has(&d, "networks")) {
		nc = netclass_new(next->networks, next->n_networks);
		if (!nc) {
			pr_warn("reload refused: out of memory");
			goto out;
		}
	}
	/* In place (the flows point at it). Only reloadable keys differ. */
	a->cfg = *next;
	log_set_level(a->cfg.log_level);
	if (nc) {
		netclass_free(flows_set_netclass(a->flows, nc));
		a->enrich.nc = nc;
	}
	err = flows_reconfigure(a->flows, fams, sizeof(fams));
	if (err)
		pr_warn("reload: attributes: %s", strerror(-err));
	if (config_diff_has(&d, "poll_interval") && (err = agent_set_timer(a)))
		pr_warn("reload: poll_interval: %s", strerror(-err));
	if (config_diff_has(&d, "adapters")) {
		if (exporters_reload(a->exporters, &a->n_exporters, &a->cfg, a->reg,
				     refresh_registry, a))
			pr_warn("reload: an adapter failed to start (see above)");
		if ((err = agent_watch_exporters(a)))
			pr_warn("reload: adapters: %s", strerror(-err));
	}
	pr_info("%s", msg);
	if (fams[0])
		pr_info("reload: other attributes, series start again: %s", fams);
out:
	free(next);
}

static int agent_setup_loop(struct agent *a)
{
	sigset_t mask;
	int err;

	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &mask, NULL))
		return -errno;
	signal(SIGPIPE, SIG_IGN);
	a->sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	a->epfd = epoll_create1(EPOLL_CLOEXEC);
	a->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (a->sigfd < 0 || a->epfd < 0 || a->timerfd < 0)
		return -errno;
	if ((err = agent_set_timer(a)) || (err = epoll_add(a->epfd, a->sigfd, TAG_SIGNAL)) ||
	    (err = epoll_add(a->epfd, a->timerfd, TAG_TIMER)))
		return err;
	if (feed_events_fd(a->feed) >= 0 &&
	    (err = epoll_add(a->epfd, feed_events_fd(a->feed), TAG_EVENTS)))
		return err;
	return agent_watch_exporters(a);
}

/* The loop: never blocks but in epoll_wait. Returns the exit code. */
static int agent_run(struct agent *a)
{
	uint64_t last_sweep = 0;
	const uint64_t sweep_every = 1000000000ULL;

	for (;;) {
		struct epoll_event evs[16];
		int timeout = -1, n;
		uint64_t turn_start;

		for (size_t i = 0; i < a->n_exporters; i++) {
			int t = a->exporters[i].ops->timeout_ms(a->exporters[i].state);

			if (t >= 0 && (timeout < 0 || t < timeout))
				timeout = t;
		}
		/* A pass in slices goes on at the next turn, after the I/O. */
		if (feed_busy(a->feed))
			timeout = 0;
		n = epoll_wait(a->epfd, evs, 16, timeout);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			pr_err("epoll_wait failed: %s", strerror(errno));
			return 1;
		}
		turn_start = mono_ns();
		for (int i = 0; i < n; i++) {
			uint64_t tag = evs[i].data.u64;

			if (tag == TAG_SIGNAL) {
				struct signalfd_siginfo si;

				if (read(a->sigfd, &si, sizeof(si)) == sizeof(si)) {
					if (si.ssi_signo == SIGHUP) {
						agent_reload(a);
						continue;
					}
					pr_info("received %s, stopping", strsignal(si.ssi_signo));
					return 0;
				}
			} else if (tag == TAG_TIMER) {
				uint64_t expirations, now;

				if (read(a->timerfd, &expirations, sizeof(expirations)) < 0 &&
				    errno != EAGAIN)
					pr_warn("timerfd read failed: %s", strerror(errno));
				feed_drain(a->feed);
				now = mono_ns();
				if (now - last_sweep >= sweep_every) {
					feed_tick(a->feed, now);
					last_sweep = now;
				}
			} else if (tag == TAG_EVENTS) {
				feed_drain(a->feed);
			}
		}
		if (feed_busy(a->feed))
			feed_work(a->feed);
		/* Exporters run after I/O and after their timeouts. */
		for (size_t i = 0; i < a->n_exporters; i++)
			a->exporters[i].ops->run(a->exporters[i].state);
		feed_loop_turn(a->feed, mono_ns() - turn_start);
	}
}

static void agent_stop(struct agent *a)
{
	exporters_stop(a->exporters, a->n_exporters);
	a->n_exporters = 0;
	feed_free(a->feed);
	a->feed = NULL;
	flows_free(a->flows);
	a->flows = NULL;
	netclass_free(a->enrich.nc);
	hostcache_free(a->enrich.hc);
	proccache_free(a->enrich.pc);
	memset(&a->enrich, 0, sizeof(a->enrich));
	collector_free(a->collector);
	a->collector = NULL;
	probes_stop(&a->probes);
	registry_free(a->reg);
	a->reg = NULL;
	if (a->epfd >= 0)
		close(a->epfd);
	if (a->sigfd >= 0)
		close(a->sigfd);
	if (a->timerfd >= 0)
		close(a->timerfd);
	a->epfd = a->sigfd = a->timerfd = -1;
}

/* -check-config FILE: no BPF, no probes, nothing written but the verdict. */
static int check_config(const char *path, struct config *cfg)
{
	char err[512];

	if (reload_load_config(path, cfg, err, sizeof(err))) {
		fprintf(stderr, "gespann: %s\n", err);
		return EXIT_CONFIG;
	}
	printf("%s: ok\n", path);
	return 0;
}

/*
 * Before any BPF work: the capabilities the config needs (util/caps.h), so
 * that an unprivileged start names what is missing instead of failing in the
 * first kernel probe. Returns 0, or -EPERM when the agent cannot start.
 */
static int check_capabilities(const struct config *cfg)
{
	unsigned int needs = CAPS_ALWAYS | (cfg->scope == SCOPE_NETNS ? 0 : CAPS_OTHER_NETNS);
	char missing[128];
	uint64_t eff;
	int err;

	err = caps_effective(&eff);
	if (err) {
		pr_warn("cannot read the capabilities of this process: %s", strerror(-err));
		return 0;
	}
	if (caps_missing(eff, needs, missing, sizeof(missing))) {
		pr_err("missing capabilities: %s (run as root or grant them)", missing);
		return -EPERM;
	}
	if (caps_missing(eff, CAPS_FEATURES | (geteuid() ? CAPS_FEATURES_NOT_ROOT : 0), missing,
			 sizeof(missing)))
		pr_warn("missing capabilities: %s (some features are off: see README "
			"\"Requirements\")",
			missing);
	return 0;
}

int main(int argc, char **argv)
{
	static struct agent a = { .epfd = -1, .sigfd = -1, .timerfd = -1 };
	const char *config_path = NULL, *check_path = NULL;
	char err[512];
	struct scope scope;
	int ret = 1, rc;

	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];

		/* Go-style single dash, GNU-style double dash both accepted. */
		if (arg[0] == '-' && arg[1] == '-')
			arg++;
		if (!strcmp(arg, "-version")) {
			printf("gespann %s\n", GESPANN_VERSION);
			return 0;
		} else if (!strcmp(arg, "-help") || !strcmp(arg, "-h")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(arg, "-check-prereqs")) {
			return prereqs_check();
		} else if (!strcmp(arg, "-print-config")) {
			fputs(config_default_text(), stdout);
			return 0;
		} else if (!strcmp(arg, "-check-config") && i + 1 < argc) {
			check_path = argv[++i];
		} else if (!strncmp(arg, "-check-config=", 14)) {
			check_path = arg + 14;
		} else if (!strcmp(arg, "-config") && i + 1 < argc) {
			config_path = argv[++i];
		} else if (!strncmp(arg, "-config=", 8)) {
			config_path = arg + 8;
		} else {
			fprintf(stderr, "gespann: unknown argument \"%s\"\n", argv[i]);
			usage(stderr);
			return EXIT_CONFIG;
		}
	}

	if (check_path)
		return check_config(check_path, &a.cfg);
	rc = reload_load_config(config_path, &a.cfg, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "gespann: %s\n", err);
		return EXIT_CONFIG;
	}
	log_set_level(a.cfg.log_level);
	log_setup_libbpf();
	pr_info("gespann %s starting (config %s)", GESPANN_VERSION,
		config_path ? config_path : "embedded default");

	if (check_capabilities(&a.cfg))
		return EXIT_FAILURE_START;
	if (probes_resolve_scope(&a.cfg, &scope))
		goto out;
	if (scope.kind != SCOPE_HOST)
		pr_info("scope: %s (netns cookie %llu)",
			scope.kind == SCOPE_NETNS ? "own network namespace" : scope.path,
			(unsigned long long)scope.netns_cookie);
	/* dns.getaddrinfo: auto (the host libc), off, or a libc path. */
	if (strcmp(a.cfg.getaddrinfo, "auto"))
		a.probes.libc_path = a.cfg.getaddrinfo;
	if (probes_start(&a.probes, &a.cfg, &scope))
		goto out;
	a.reg = registry_new();
	if (!a.reg)
		goto out;
	/* Core families first, then the flow families: the order of /metrics. */
	a.collector = collector_new(a.reg, &a.probes);
	if (!a.collector)
		goto out;
	/* The caches, each from its own section: processes, dns, networks. */
	a.enrich.pc = proccache_new(a.cfg.max_processes, "/proc", "/sys/fs/cgroup");
	a.enrich.hc = hostcache_new(a.cfg.dns_max_names);
	a.enrich.nc = netclass_new(a.cfg.networks, a.cfg.n_networks);
	if (!a.enrich.pc || !a.enrich.hc || !a.enrich.nc) {
		pr_err("out of memory");
		goto out;
	}
	a.flows = flows_new(a.reg, &a.cfg, &a.enrich, err, sizeof(err));
	if (!a.flows) {
		pr_err("%s", err);
		goto out;
	}
	a.feed = feed_new(&a.probes, a.flows, &scope, a.cfg.idle_timeout_ns);
	if (!a.feed)
		goto out;
	if (exporters_start(&a.cfg, a.reg, refresh_registry, &a, a.exporters))
		goto out;
	a.n_exporters = a.cfg.n_adapters;
	rc = agent_setup_loop(&a);
	if (rc) {
		pr_err("failed to set up the event loop: %s", strerror(-rc));
		goto out;
	}
	/* Loaded, attached, listening: only the run-time privileges from here. */
	rc = caps_lockdown(CAPS_ALWAYS | (a.cfg.scope == SCOPE_NETNS ? 0 : CAPS_OTHER_NETNS),
			   a.cfg.seccomp);
	if (rc) {
		pr_err("failed to drop privileges: %s", strerror(-rc));
		goto out;
	}
	a.config_path = config_path;
	pr_info("running");
	ret = agent_run(&a);
out:
	agent_stop(&a);
	pr_info("stopped");
	return ret;
}
