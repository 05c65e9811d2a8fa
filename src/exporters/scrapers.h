/* SPDX-License-Identifier: MIT */
/*
 * Who scrapes /metrics, and which series each has already been shown: the
 * state behind "a new counter series is rendered at 0 on its first scrape by
 * each scraper, then with its value" (registry_render_opts.shown_upto).
 */
#ifndef GESPANN_EXPORTERS_SCRAPERS_H
#define GESPANN_EXPORTERS_SCRAPERS_H

#include <stdint.h>
#include <sys/socket.h>

/* Scrapers remembered; the one idle longest is forgotten to make room. */
#define SCRAPERS_MAX 16

struct scraper {
	uint64_t id;	     /* hash of address and User-Agent; 0: free slot */
	uint64_t shown_upto; /* registry generation at its last scrape */
	int64_t last_ms;
};

struct scrapers {
	struct scraper slot[SCRAPERS_MAX];
	uint64_t forgotten; /* scrapers dropped to make room */
};

/*
 * A scrape by the client at addr (may be NULL) sending user_agent (may be
 * NULL), at now_ms, of a registry at `generation` (registry_generation()).
 * Returns the generation up to which this scraper has seen series: its
 * previous scrape's, or `generation` itself for a scraper not known (its
 * first scrape has no earlier view to compare with, and rendering all at 0
 * would make a new Prometheus count the agent's whole history as one
 * increase). Records `generation` as seen. A scraper is its address (without
 * port: a new connection per scrape is common) plus its User-Agent.
 */
uint64_t scrapers_scrape(struct scrapers *t, const struct sockaddr *addr, socklen_t addr_len,
			 const char *user_agent, uint64_t generation, int64_t now_ms);

#endif
