// SPDX-License-Identifier: MIT
/*
 * Event decoding. Records come from the kernel through the ring buffer and are
 * checked before use: a wrong size or type is rejected, never trusted.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "event.h"

const char *event_addr(uint16_t family, const uint8_t addr[GS_ADDR_LEN], char *buf, size_t len)
{
	static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	if (family == AF_INET6 && !memcmp(addr, v4mapped, sizeof(v4mapped))) {
		if (!inet_ntop(AF_INET, addr + 12, buf, len))
			snprintf(buf, len, "?");
		return buf;
	}
	if (!inet_ntop(family == AF_INET6 ? AF_INET6 : AF_INET, addr, buf, len))
		snprintf(buf, len, "?");
	return buf;
}

const char *event_errno_label(int err, char *buf, size_t len)
{
	const char *name;

	if (err == 0) {
		snprintf(buf, len, "none");
		return buf;
	}
	name = strerrorname_np(err);
	if (name)
		snprintf(buf, len, "%s", name);
	else
		snprintf(buf, len, "E%d", err);
	return buf;
}

int event_validate(const void *data, size_t size)
{
	const struct gs_event *ev = data;

	if (!data || size < sizeof(*ev))
		return -EINVAL;
	if (ev->hdr.type != GS_EV_CLOSE && ev->hdr.type != GS_EV_FAILED)
		return -EINVAL;
	if (ev->hdr.size != sizeof(*ev))
		return -EINVAL;
	if (ev->conn.family != AF_INET && ev->conn.family != AF_INET6 && ev->conn.family != 0)
		return -EINVAL;
	return 0;
}

static void copy_comm(char *dst, const char *src)
{
	size_t i;

	for (i = 0; i < GS_COMM_LEN - 1 && src[i]; i++)
		dst[i] = (src[i] >= 0x20 && src[i] < 0x7f && src[i] != ' ') ? src[i] : '?';
	dst[i] = '\0';
}

int event_format(const struct gs_event *ev, const char (*reason_names)[32], unsigned int n_reasons,
		 char *buf, size_t len)
{
	const struct gs_conn *c = &ev->conn;
	char sa[EVENT_ADDR_STRLEN], da[EVENT_ADDR_STRLEN], comm[GS_COMM_LEN], errbuf[32];
	char reset[64] = "";
	const char *reason = "not_specified";
	uint64_t connect_us = 0, duration_ms = 0;
	int n;

	copy_comm(comm, c->comm);
	event_addr(c->family, c->saddr, sa, sizeof(sa));
	event_addr(c->family, c->daddr, da, sizeof(da));
	if (reason_names && c->reset_reason < n_reasons && reason_names[c->reset_reason][0])
		reason = reason_names[c->reset_reason];
	if (c->flags & GS_CF_RST_SENT)
		snprintf(reset, sizeof(reset), " reset=sent(%s)", reason);
	else if (c->flags & GS_CF_RST_RECEIVED)
		snprintf(reset, sizeof(reset), " reset=received");
	else if (c->flags & GS_CF_ABORTED)
		snprintf(reset, sizeof(reset), " reset=sent(abort)");
	if (c->established_ns > c->start_ns && (c->flags & GS_CF_ACTIVE))
		connect_us = (c->established_ns - c->start_ns) / 1000;
	if (c->end_ns > c->established_ns && c->established_ns)
		duration_ms = (c->end_ns - c->established_ns) / 1000000;

	if (ev->hdr.type == GS_EV_FAILED) {
		n = snprintf(
			buf, len,
			"tcp failed %s pid=%u comm=%s %s:%u -> %s:%u netns=%u errno=%s retrans=%u",
			(c->flags & GS_CF_PASSIVE) ? "passive" : "active", c->pid,
			comm[0] ? comm : "-", sa, c->sport, da, c->dport, c->netns_ino,
			event_errno_label(c->err, errbuf, sizeof(errbuf)), c->total_retrans);
	} else {
		n = snprintf(buf, len,
			     "tcp close %s pid=%u comm=%s %s:%u -> %s:%u netns=%u sent=%llu "
			     "received=%llu srtt_us=%u min_rtt_us=%u retrans=%u connect_us=%llu "
			     "duration_ms=%llu%s",
			     (c->flags & GS_CF_PASSIVE) ? "passive" : "active", c->pid,
			     comm[0] ? comm : "-", sa, c->sport, da, c->dport, c->netns_ino,
			     (unsigned long long)c->bytes_sent,
			     (unsigned long long)c->bytes_received, c->srtt_us, c->min_rtt_us,
			     c->total_retrans, (unsigned long long)connect_us,
			     (unsigned long long)duration_ms, reset);
	}
	if (n < 0)
		return 0;
	return (size_t)n >= len ? (int)len - 1 : n;
}
