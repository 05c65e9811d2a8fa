// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: the DNS transaction tracker fed a stream of gs_dns_event
 * records decoded from the input, with a small pending table so the full,
 * retransmit, timeout and match paths all run, and every result formatted
 * as JSON into a roomy and a cramped buffer. Input: records of an 8-byte
 * control header then up to len data bytes:
 *   [0] bit0 egress, bit1 TCP, bit2 IPv6, bit3 run expiry first, bits4-7 clock step (x 0.5 s)
 *   [1] client address (bits 0-1), server address (bits 2-3), netns (bit 4)
 *   [2] client port (low bits), [3] server port: 53 unless bit 7
 *   [4..5] len (mod 600: may exceed GS_DNS_MAX), [6] payload_len - len (signed)
 *   [7] unused
 */
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "enrich/dnstrack.h"
#include "enrich/hostcache.h"

static struct hostcache *cache;

static void on_result(const struct dnstrack_result *r, void *ctx)
{
	char big[8192], small[48];
	int n;

	(void)ctx;
	n = dnstrack_format_json(r, big, sizeof(big));
	if (n < 0 || (size_t)n != strlen(big))
		abort();
	n = dnstrack_format_json(r, small, sizeof(small));
	if (strlen(small) >= sizeof(small) || (n >= 0 && (size_t)n != strlen(small)))
		abort();
	if (r->response) {
		/* As flows_dns_result feeds it: the answer's time, namespace and
		 * asker, then lookups as of that time. */
		struct hostcache_origin o = { .seen_ns = r->ts_ns,
					      .netns = r->netns_cookie,
					      .pid = r->pid,
					      .min_ttl_s = 60 };
		struct hostcache_query q = { .at_ns = r->ts_ns, .netns = r->netns_cookie };

		hostcache_put_response(cache, r->response, &o);
		for (size_t i = 0; i < r->response->n_answers; i++)
			hostcache_lookup(cache, r->response->answers[i].family,
					 r->response->answers[i].addr, &q);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t addrs[4][16] = {
		{ 198, 18, 0, 1 },
		{ 198, 18, 0, 2 },
		{ 127, 0, 0, 1 },
		{ 0xfd, 0, 0x67, 0x65, 0x73, 0x70, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2 },
	};
	static struct gs_dns_event ev;
	struct dnstrack *t;
	uint64_t now = 1000000000ULL;
	size_t off = 0;

	if (!cache)
		cache = hostcache_new(32);
	t = dnstrack_new(4, 2000000000ULL, on_result, NULL);
	if (!t)
		abort();
	while (size - off >= 8) {
		const uint8_t *h = data + off;
		unsigned len = (unsigned)(h[4] << 8 | h[5]) % 600;
		int delta = (int8_t)h[6];
		const uint8_t *client = addrs[h[1] & 3], *server = addrs[(h[1] >> 2) & 3];
		uint16_t cport = 40000 + (h[2] & 7), sport = h[3] & 0x80 ? h[3] : 53;
		size_t avail;

		off += 8;
		now += (uint64_t)(h[0] >> 4) * 500000000ULL;
		if (h[0] & 8)
			dnstrack_expire(t, now);
		memset(&ev, 0, sizeof(ev));
		ev.hdr.type = GS_EV_DNS;
		ev.hdr.size = sizeof(ev);
		ev.ts_ns = now;
		ev.netns_cookie = h[1] & 0x10 ? 1 : 2;
		ev.egress = h[0] & 1;
		ev.protocol = h[0] & 2 ? IPPROTO_TCP : IPPROTO_UDP;
		ev.family = h[0] & 4 ? AF_INET6 : AF_INET;
		memcpy(ev.saddr, ev.egress ? client : server, 16);
		memcpy(ev.daddr, ev.egress ? server : client, 16);
		ev.sport = ev.egress ? cport : sport;
		ev.dport = ev.egress ? sport : cport;
		memcpy(ev.comm, "fuzzfuzzfuzzfuzz", 16); /* no NUL, as the kernel may send */
		avail = size - off < GS_DNS_MAX ? size - off : GS_DNS_MAX;
		if (len > avail && len <= GS_DNS_MAX)
			len = (unsigned)avail;
		ev.len = (uint16_t)len;
		ev.payload_len = (uint16_t)((int)len + delta < 0 ? 0 : (int)len + delta);
		memcpy(ev.data, data + off, len < avail ? len : avail);
		off += len < avail ? len : avail;
		dnstrack_packet(t, &ev);
	}
	dnstrack_expire(t, now + 10000000000ULL);
	dnstrack_free(t);
	return 0;
}
