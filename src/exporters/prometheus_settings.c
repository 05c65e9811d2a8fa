// SPDX-License-Identifier: MIT
/*
 * The settings of a `prometheus` adapter (the /metrics listener), as config
 * rows: each key's name, bounds, default and description are written here
 * once (config/schema.h).
 */
#include <arpa/inet.h>
#include <string.h>

#include "exporters/settings.h"
#include "exporters/webconfig.h"

static const char *address_problem(const char *s)
{
	unsigned char bin[sizeof(struct in6_addr)];

	if (inet_pton(AF_INET, s, bin) == 1 || inet_pton(AF_INET6, s, bin) == 1)
		return NULL;
	return "is not an IPv4 or IPv6 address";
}

/*
 * web_config_file: the file is read and checked now, so a wrong one stops a
 * start, -check-config and a reload with its own FILE:LINE; its stamp goes
 * into the adapter config, so a reload restarts the listener when the file
 * or a certificate it names changed even if gespann.yaml did not.
 */
static int parse_web_config(struct config_ctx *ctx, const struct config_row *row,
			    const struct config_entry *e, const char *path, void *base)
{
	struct adapter_config *ad = base;
	struct webconfig *wc;
	char err[512];
	size_t n;
	int ret;

	ret = config_row_parse_typed(ctx, row, e, path, base);
	if (ret || !ad->web_config_file[0])
		return ret;
	ret = webconfig_load(ad->web_config_file, &wc, err, sizeof(err));
	n = strlen(ad->web_config_file);
	/* "FILE: cannot read: ...": blame this key; "FILE:LINE: ..." stands as it is */
	if (ret && !strncmp(err, ad->web_config_file, n) && !strncmp(err + n, ": ", 2))
		return config_error(ctx, config_value_line(e->key, e->value), path, "%s", err);
	if (ret) {
		snprintf(ctx->err, ctx->errlen, "%s", err);
		return ret;
	}
	ad->web_config_stamp = webconfig_stamp(wc);
	webconfig_free(wc);
	return 0;
}

/* clang-format off */
static const struct config_row prometheus_rows[] = {
	/* 0 asks the kernel for a free port: tests use it */
	CONFIG_UINT_ROW("port", struct adapter_config, port, 0, 65535, 8080,
			"the /metrics port", .range = "is not a port (1-65535)"),
	CONFIG_STRING_ROW("address", struct adapter_config, address, "0.0.0.0",
			  "listen address, IPv4 or IPv6 (quote \"::\")", .check = address_problem),
	CONFIG_STRING_ROW("web_config_file", struct adapter_config, web_config_file, "",
			  "exporter-toolkit web-config.yml: TLS, basic auth (\"\": plain HTTP)",
			  .parse = parse_web_config),
};
/* clang-format on */

const struct config_section prometheus_settings = CONFIG_SECTION_OF(prometheus_rows);
