// SPDX-License-Identifier: MIT
/*
 * Event decoding. Records come from the kernel through the ring buffer and are
 * checked before use: a wrong size or type is rejected, never trusted.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "flows/event.h"

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

static bool is_family(uint16_t family)
{
	return family == AF_INET || family == AF_INET6;
}

static int validate_conn(const struct gs_event *ev)
{
	/* 0: untracked records whose socket had no family yet. */
	if (!is_family(ev->conn.family) && ev->conn.family != 0)
		return -EINVAL;
	return 0;
}

static int validate_dns(const struct gs_dns_event *ev)
{
	if (!is_family(ev->family) || ev->len > GS_DNS_MAX || ev->len > ev->payload_len ||
	    ev->egress > 1)
		return -EINVAL;
	if (ev->protocol != IPPROTO_UDP && ev->protocol != IPPROTO_TCP)
		return -EINVAL;
	return 0;
}

static int validate_resolve(const struct gs_resolve_event *ev)
{
	if (ev->n_addrs > GS_RESOLVE_MAX)
		return -EINVAL;
	for (uint32_t i = 0; i < ev->n_addrs; i++)
		if (!is_family(ev->addrs[i].family))
			return -EINVAL;
	return 0;
}

int event_validate(const void *data, size_t size)
{
	const struct gs_event_hdr *hdr = data;
	size_t want;

	if (!data || size < sizeof(*hdr))
		return -EINVAL;
	switch (hdr->type) {
	case GS_EV_CLOSE:
	case GS_EV_FAILED:
		want = sizeof(struct gs_event);
		break;
	case GS_EV_EXEC:
	case GS_EV_FORK:
	case GS_EV_EXIT:
		want = sizeof(struct gs_proc_event);
		break;
	case GS_EV_DNS:
		want = sizeof(struct gs_dns_event);
		break;
	case GS_EV_RESOLVE:
		want = sizeof(struct gs_resolve_event);
		break;
	default:
		return -EINVAL;
	}
	if (size != want || hdr->size != want)
		return -EINVAL;
	switch (hdr->type) {
	case GS_EV_CLOSE:
	case GS_EV_FAILED:
		return validate_conn(data);
	case GS_EV_DNS:
		return validate_dns(data);
	case GS_EV_RESOLVE:
		return validate_resolve(data);
	default:
		return 0;
	}
}

void event_copy_str(char *dst, size_t dstlen, const char *src, size_t srclen)
{
	size_t i;

	if (!dst || !dstlen)
		return;
	for (i = 0; src && i < srclen && i < dstlen - 1 && src[i]; i++) {
		unsigned char ch = (unsigned char)src[i];

		dst[i] = (ch >= 0x20 && ch < 0x7f) ? (char)ch : '?';
	}
	dst[i] = '\0';
}

/* For log lines: fields are space-separated, so spaces become '?' too. */
static void copy_field(char *dst, size_t dstlen, const char *src, size_t srclen)
{
	event_copy_str(dst, dstlen, src, srclen);
	for (char *q = dst; *q; q++)
		if (*q == ' ')
			*q = '?';
}

static void copy_comm(char *dst, const char *src)
{
	copy_field(dst, GS_COMM_LEN, src, GS_COMM_LEN);
}

int event_format(const struct gs_event *ev, const char (*reason_names)[32], unsigned int n_reasons,
		 char *buf, size_t len)
{
	const struct gs_conn *c = &ev->conn;
	char sa[EVENT_ADDR_STRLEN], da[EVENT_ADDR_STRLEN], comm[GS_COMM_LEN], errbuf[32];
	char reset[64] = "", owner[48];
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
	snprintf(owner, sizeof(owner), "cgroup=%llu%s", (unsigned long long)c->cgroup_id,
		 (c->flags & GS_CF_ACCEPTED) ? " accepted" : "");
	if (c->established_ns > c->start_ns && (c->flags & GS_CF_ACTIVE))
		connect_us = (c->established_ns - c->start_ns) / 1000;
	if (c->end_ns > c->established_ns && c->established_ns)
		duration_ms = (c->end_ns - c->established_ns) / 1000000;

	if (ev->hdr.type == GS_EV_FAILED) {
		n = snprintf(
			buf, len,
			"tcp failed %s pid=%u comm=%s %s %s:%u -> %s:%u netns=%u errno=%s retrans=%u",
			(c->flags & GS_CF_PASSIVE) ? "passive" : "active", c->pid,
			comm[0] ? comm : "-", owner, sa, c->sport, da, c->dport, c->netns_ino,
			event_errno_label(c->err, errbuf, sizeof(errbuf)), c->total_retrans);
	} else {
		n = snprintf(buf, len,
			     "tcp close %s pid=%u comm=%s %s %s:%u -> %s:%u netns=%u sent=%llu "
			     "received=%llu srtt_us=%u min_rtt_us=%u retrans=%u connect_us=%llu "
			     "duration_ms=%llu%s",
			     (c->flags & GS_CF_PASSIVE) ? "passive" : "active", c->pid,
			     comm[0] ? comm : "-", owner, sa, c->sport, da, c->dport, c->netns_ino,
			     (unsigned long long)c->bytes_sent,
			     (unsigned long long)c->bytes_received, c->srtt_us, c->min_rtt_us,
			     c->total_retrans, (unsigned long long)connect_us,
			     (unsigned long long)duration_ms, reset);
	}
	if (n < 0 || !len)
		return 0;
	return (size_t)n >= len ? (int)len - 1 : n;
}

static int clamp_len(int n, size_t len)
{
	if (n < 0 || !len)
		return 0;
	return (size_t)n >= len ? (int)len - 1 : n;
}

int event_format_proc(const struct gs_proc_event *ev, char *buf, size_t len)
{
	char comm[GS_COMM_LEN], path[GS_PATH_LEN];
	const char *type = ev->hdr.type == GS_EV_EXEC ? "exec" :
			   ev->hdr.type == GS_EV_FORK ? "fork" :
							"exit";
	int n;

	copy_comm(comm, ev->comm);
	copy_field(path, sizeof(path), ev->path, sizeof(ev->path));
	n = snprintf(buf, len, "proc %s pid=%u ppid=%u comm=%s cgroup=%llu%s%s", type, ev->pid,
		     ev->ppid, comm[0] ? comm : "-", (unsigned long long)ev->cgroup_id,
		     ev->hdr.type == GS_EV_EXEC ? " path=" : "",
		     ev->hdr.type == GS_EV_EXEC ? (path[0] ? path : "-") : "");
	return clamp_len(n, len);
}

int event_format_resolve(const struct gs_resolve_event *ev, char *buf, size_t len)
{
	char comm[GS_COMM_LEN], name[GS_NAME_LEN];
	char addrs[GS_RESOLVE_MAX * (EVENT_ADDR_STRLEN + 1)] = "";
	size_t off = 0;
	int n;

	copy_comm(comm, ev->comm);
	copy_field(name, sizeof(name), ev->name, sizeof(ev->name));
	for (uint32_t i = 0; i < ev->n_addrs && i < GS_RESOLVE_MAX; i++) {
		char a[EVENT_ADDR_STRLEN];

		event_addr(ev->addrs[i].family, ev->addrs[i].addr, a, sizeof(a));
		n = snprintf(addrs + off, sizeof(addrs) - off, "%s%s", i ? "," : "", a);
		if (n < 0 || (size_t)n >= sizeof(addrs) - off)
			break;
		off += n;
	}
	n = snprintf(buf, len, "resolve pid=%u comm=%s name=%s latency_us=%llu addrs=%s", ev->pid,
		     comm[0] ? comm : "-", name[0] ? name : "-",
		     (unsigned long long)(ev->latency_ns / 1000), addrs[0] ? addrs : "-");
	return clamp_len(n, len);
}
