// SPDX-License-Identifier: MIT
/*
 * The settings of a `datadog` adapter (DogStatsD push), as config rows with
 * the checks of their odd values: the server address, the metric namespace
 * and the global tags. Each default is written here once (config/schema.h).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <string.h>
#include <sys/un.h>

#include "exporters/settings.h"

static bool port_text_ok(const char *s)
{
	unsigned long long v;

	return s[0] != '0' && strlen(s) <= 5 && config_uint_parse(s, &v) == CONFIG_UINT_OK &&
	       v >= 1 && v <= 65535;
}

static bool host_name_ok(const char *s, size_t len)
{
	bool only_digits_dots = true;
	char ip[16];
	size_t i;

	if (!len || len > 253 || !isalnum((unsigned char)s[0]))
		return false;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!isalnum(c) && c != '.' && c != '-' && c != '_')
			return false;
		if (!isdigit(c) && c != '.')
			only_digits_dots = false;
	}
	if (!only_digits_dots)
		return true;
	/* looks like an IPv4 address: then it must be one */
	if (len >= sizeof(ip))
		return false;
	memcpy(ip, s, len);
	ip[len] = '\0';
	return inet_pton(AF_INET, ip, &(struct in_addr){ 0 }) == 1;
}

static const char *datadog_host_problem(const char *s)
{
	static const char form[] =
		"is not a DogStatsD address (write HOST:PORT, [IPV6]:PORT or unix:///PATH)";
	const char *colon, *close;
	char ip6[INET6_ADDRSTRLEN + 1];
	unsigned char bin[sizeof(struct in6_addr)];

	if (!strncmp(s, "unix://", 7)) {
		if (s[7] != '/')
			return "is not a DogStatsD address (unix:// needs an absolute path, "
			       "e.g. unix:///var/run/datadog/dsd.socket)";
		if (strlen(s + 7) >= sizeof(((struct sockaddr_un *)0)->sun_path))
			return "has a socket path longer than 107 characters";
		return NULL;
	}
	if (s[0] == '[') {
		close = strchr(s, ']');
		if (!close || close[1] != ':' || (size_t)(close - s - 1) >= sizeof(ip6))
			return form;
		memcpy(ip6, s + 1, (size_t)(close - s - 1));
		ip6[close - s - 1] = '\0';
		if (inet_pton(AF_INET6, ip6, bin) != 1)
			return "is not a DogStatsD address (no IPv6 address in the brackets)";
		colon = close + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			return form;
		if (memchr(s, ':', (size_t)(colon - s)))
			return "is not a DogStatsD address (write an IPv6 address in brackets, "
			       "e.g. [::1]:8125)";
		if (!host_name_ok(s, (size_t)(colon - s)))
			return form;
	}
	if (!port_text_ok(colon + 1))
		return "has no valid port (1-65535)";
	return NULL;
}

/* Letters, digits, '_' and '.', a letter first: a DogStatsD name prefix. */
static const char *metric_namespace_problem(const char *s)
{
	static const char why[] =
		"is not a metric namespace (a letter, then letters, digits, '_' or '.')";

	if (!isalpha((unsigned char)s[0]))
		return why;
	for (s++; *s; s++) {
		if (!isalnum((unsigned char)*s) && *s != '_' && *s != '.')
			return why;
	}
	return NULL;
}

/* "key:value" or "key": no character DogStatsD uses as a separator, no space. */
static const char *tag_problem(const char *s)
{
	static const char why[] =
		"is not a tag (key:value or key, without '|', ',', '#' or whitespace)";

	if (!s[0] || s[0] == ':')
		return why;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c <= ' ' || c == 0x7f || c == '|' || c == ',' || c == '#')
			return why;
	}
	return NULL;
}

static int parse_tags(struct config_ctx *ctx, const struct config_row *row,
		      const struct config_entry *e, const char *path, void *base)
{
	static const struct config_string_list spec = { .plural = "tags", .check = tag_problem };
	struct adapter_config *ad = base;

	return config_get_string_list(ctx, e->key, e->value, path, &spec, ad->tags[0],
				      sizeof(ad->tags[0]), CONFIG_MAX_TAGS, &ad->n_tags);
}

/* clang-format off */
static const char *const histogram_names[] = {
	[DATADOG_HIST_DISTRIBUTION] = "distribution", [DATADOG_HIST_HISTOGRAM] = "histogram"
};

static const struct config_row datadog_rows[] = {
	CONFIG_STRING_ROW("host", struct adapter_config, host, "localhost:8125",
			  "HOST:PORT, \"[IPV6]:PORT\" or unix:///var/run/datadog/dsd.socket",
			  .check = datadog_host_problem),
	CONFIG_DURATION_ROW("flush_interval", struct adapter_config, flush_interval_ns,
			    100 * CONFIG_NS_PER_MS, 3600 * CONFIG_NS_PER_SEC,
			    10 * CONFIG_NS_PER_SEC, "how often metrics are sent"),
	CONFIG_STRING_ROW("namespace", struct adapter_config, metric_namespace, "gespann",
			  "replaces the leading \"gespann\" of every name",
			  .check = metric_namespace_problem),
	{ .key = "tags", .type = CONFIG_LIST, .parse = parse_tags,
	  .doc = "added to every metric: \"key:value\" or \"key\"" },
	CONFIG_CHOICE_ROW("histogram", struct adapter_config, histogram, histogram_names,
			  "a histogram type", DATADOG_HIST_DISTRIBUTION,
			  "distribution (|d) or histogram (|h, Agent-side)"),
};
/* clang-format on */

const struct config_section datadog_settings = CONFIG_SECTION_OF(datadog_rows);
