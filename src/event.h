/* SPDX-License-Identifier: MIT */
/*
 * Event decoding: turn the kernel's records (struct gs_event, UDP flow keys)
 * into text: addresses, errno and reset-reason labels, one log line per
 * connection.
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

/* Validate a record from the ring buffer: size, type, family. Returns 0 or
 * -EINVAL (a record that fails is counted and dropped by the caller). */
int event_validate(const void *data, size_t size);

/* One line describing a connection record, e.g.
 * "tcp close active pid=42 comm=curl 198.18.0.1:40000 -> 198.18.0.2:80 netns=4026531840
 *  sent=100 received=200 srtt_us=51 min_rtt_us=40 retrans=0 connect_us=120 duration_ms=3
 *  reset=sent(tcp_abort_on_close)".
 * reason_names (indexed by enum sk_rst_reason, may be NULL) names the reset
 * reason. Returns the length written (truncated to len - 1). */
int event_format(const struct gs_event *ev, const char (*reason_names)[32], unsigned int n_reasons,
		 char *buf, size_t len);

#endif
