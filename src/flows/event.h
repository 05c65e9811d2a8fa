/* SPDX-License-Identifier: MIT */
/*
 * Event decoding: check the kernel's ring-buffer records (connections,
 * process lifecycle, DNS packets, getaddrinfo results) and turn them into
 * text: addresses, errno and reset-reason labels, one log line per record.
 */
#ifndef GESPANN_EVENT_H
#define GESPANN_EVENT_H

#include <stddef.h>
#include <stdint.h>

#include "abi/gespann_abi.h"

#define EVENT_ADDR_STRLEN 48

/* Format an address of the given family (AF_INET uses the first 4 bytes). An
 * IPv4-mapped IPv6 address is printed as IPv4. Returns buf. */
const char *event_addr(uint16_t family, const uint8_t addr[GS_ADDR_LEN], char *buf, size_t len);

/* "ECONNREFUSED" etc.; "none" for 0; "E<n>" for an errno without a name. */
const char *event_errno_label(int err, char *buf, size_t len);

/* Validate a record from the ring buffer: the header's type, then the exact
 * size of that type (both the buffer's and hdr.size), then its fields
 * (family, n_addrs <= GS_RESOLVE_MAX, len <= GS_DNS_MAX, ...). Returns 0 or
 * -EINVAL (a record that fails is counted and dropped by the caller). String
 * fields are not checked: read them with event_copy_str. */
int event_validate(const void *data, size_t size);

/* Type of a record that passed event_validate (enum gs_event_type). */
static inline uint32_t event_type(const void *data)
{
	return ((const struct gs_event_hdr *)data)->type;
}

/* Copy a kernel string field of srclen bytes (NUL termination not trusted)
 * into dst (dstlen > 0): stops at the first NUL or after dstlen - 1 bytes,
 * replaces bytes outside printable ASCII with '?', always terminates. */
void event_copy_str(char *dst, size_t dstlen, const char *src, size_t srclen);

/* One line describing a connection record, e.g.
 * "tcp close active pid=42 comm=curl cgroup=7 198.18.0.1:40000 -> 198.18.0.2:80 netns=4026531840
 *  sent=100 received=200 srtt_us=51 min_rtt_us=40 retrans=0 connect_us=120 duration_ms=3
 *  reset=sent(tcp_abort_on_close)".
 * reason_names (indexed by enum sk_rst_reason, may be NULL) names the reset
 * reason. Returns the length written (truncated to len - 1). */
int event_format(const struct gs_event *ev, const char (*reason_names)[32], unsigned int n_reasons,
		 char *buf, size_t len);

/* One line for a process record, e.g.
 * "proc exec pid=42 ppid=1 comm=curl cgroup=7 path=/usr/bin/curl" (fork and
 * exit have no path). Returns the length written (truncated to len - 1). */
int event_format_proc(const struct gs_proc_event *ev, char *buf, size_t len);

/* One line for a getaddrinfo record, e.g.
 * "resolve pid=42 comm=curl name=api.example latency_us=120 addrs=198.18.0.2,fd00::2".
 * Returns the length written (truncated to len - 1). */
int event_format_resolve(const struct gs_resolve_event *ev, char *buf, size_t len);

#endif
