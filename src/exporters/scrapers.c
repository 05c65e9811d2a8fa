// SPDX-License-Identifier: MIT
/*
 * Scrapers of /metrics (see scrapers.h). Prometheus computes rate() and
 * increase() from consecutive samples of a series, so a counter series that
 * first appears at its value (a connection that failed once) never shows an
 * increase. Each scraper is shown a series created since its previous scrape
 * at 0 first. Tracking this per scraper, not once for the endpoint, keeps a
 * second consumer (a person with curl, a second Prometheus) from taking the
 * 0 that the first one needed. The table is tiny and fixed: 16 scrapers, the
 * one idle longest forgotten (and counted) when a 17th comes.
 */
#include <netinet/in.h>
#include <string.h>

#include "exporters/scrapers.h"
#include "util/hashmix.h"

/* The address bytes without the port; IPv4-mapped IPv6 as IPv4. */
static uint64_t addr_hash(uint64_t h, const struct sockaddr *sa, socklen_t len)
{
	if (!sa)
		return h;
	if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *in = (const void *)sa;

		return fnv1a_bytes(h, &in->sin_addr, sizeof(in->sin_addr));
	}
	if (sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *in6 = (const void *)sa;

		if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr))
			return fnv1a_bytes(h, in6->sin6_addr.s6_addr + 12, 4);
		return fnv1a_bytes(h, &in6->sin6_addr, sizeof(in6->sin6_addr));
	}
	return h;
}

uint64_t scrapers_scrape(struct scrapers *t, const struct sockaddr *addr, socklen_t addr_len,
			 const char *user_agent, uint64_t generation, int64_t now_ms)
{
	struct scraper *s = NULL, *oldest = &t->slot[0];
	uint64_t id, seen;

	id = fmix64(fnv1a_str(addr_hash(FNV1A_INIT, addr, addr_len), user_agent ? user_agent : ""));
	id = id ? id : 1; /* 0 marks a free slot */
	for (size_t i = 0; i < SCRAPERS_MAX; i++) {
		if (t->slot[i].id == id) {
			s = &t->slot[i];
			break;
		}
		if (!t->slot[i].id || (oldest->id && t->slot[i].last_ms < oldest->last_ms))
			oldest = &t->slot[i];
	}
	if (s) {
		seen = s->shown_upto;
	} else {
		s = oldest;
		if (s->id)
			t->forgotten++;
		s->id = id;
		seen = generation;
	}
	s->shown_upto = generation;
	s->last_ms = now_ms;
	return seen;
}
