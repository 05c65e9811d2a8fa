/* SPDX-License-Identifier: MIT */
/*
 * Address classification: which class (localhost, internal, external, or a
 * class named in the networks: configuration) and which zone an address
 * belongs to, for the dst_class and dst_zone labels of the flow metrics (the
 * peer's address) and src_zone (the local address; the flows fall back to
 * the host's zone: when no network gives one).
 */
#ifndef GESPANN_NETCLASS_H
#define GESPANN_NETCLASS_H

#include <stddef.h>
#include <stdint.h>

#include "config/config.h"

struct netclass;

/*
 * Build the classifier from the configured networks (copied; nets may be
 * NULL when n is 0). Entries are expected as config_parse() leaves them:
 * family AF_INET or AF_INET6, host bits clear. Returns NULL with errno EINVAL
 * (a bad family or prefix) or ENOMEM.
 */
struct netclass *netclass_new(const struct config_network *nets, size_t n);

/* Accepts NULL. */
void netclass_free(struct netclass *nc);

/*
 * Class and zone of an address: family AF_INET uses addr[0..3], AF_INET6 all
 * 16 bytes (a v4-mapped ::ffff:a.b.c.d is looked up as IPv4). The longest
 * matching prefix among the configured networks wins; without one, the
 * built-in classes apply: 127.0.0.0/8 and ::1 localhost; 10/8, 172.16/12,
 * 192.168/16, 100.64/10, 169.254/16, 198.18/15, fc00::/7, fe80::/10
 * internal; everything else external. A configured network without a class
 * takes the built-in class of the address. zone is "" when none. The strings
 * stay valid until netclass_free(). An unknown family is "external", "".
 */
void netclass_lookup(const struct netclass *nc, uint16_t family, const uint8_t addr[16],
		     const char **cls, const char **zone);

#endif
