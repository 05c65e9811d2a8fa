// SPDX-License-Identifier: MIT
/*
 * The settings of a `prometheus` adapter (the /metrics listener), as config
 * rows: each key's name, bounds, default and description are written here
 * once (config/schema.h).
 */
#include <arpa/inet.h>

#include "exporters/settings.h"

static const char *address_problem(const char *s)
{
	unsigned char bin[sizeof(struct in6_addr)];

	if (inet_pton(AF_INET, s, bin) == 1 || inet_pton(AF_INET6, s, bin) == 1)
		return NULL;
	return "is not an IPv4 or IPv6 address";
}

/* clang-format off */
static const struct config_row prometheus_rows[] = {
	/* 0 asks the kernel for a free port: tests use it */
	CONFIG_UINT_ROW("port", struct adapter_config, port, 0, 65535, 8080,
			"the /metrics port", .range = "is not a port (1-65535)"),
	CONFIG_STRING_ROW("address", struct adapter_config, address, "0.0.0.0",
			  "listen address, IPv4 or IPv6 (quote \"::\")", .check = address_problem),
};
/* clang-format on */

const struct config_section prometheus_settings = CONFIG_SECTION_OF(prometheus_rows);
