// SPDX-License-Identifier: MIT
/*
 * The redaction helper (redact.h). The authority of a URL ends at the first
 * '/', '?' or '#' after "://"; its userinfo is everything before the last '@'
 * in it (RFC 3986 allows no '@' in a host, and a password may hold one).
 */
#include <stdio.h>
#include <string.h>

#include "util/redact.h"

const char *redact_url(const char *s, char *buf, size_t size)
{
	const char *auth = strstr(s, "://"), *end, *at = NULL, *colon;

	if (!size)
		return buf;
	if (auth) {
		auth += 3;
		end = auth + strcspn(auth, "/?#");
		for (const char *p = auth; p < end; p++)
			if (*p == '@')
				at = p;
	}
	if (!at) {
		snprintf(buf, size, "%s", s);
		return buf;
	}
	colon = memchr(auth, ':', (size_t)(at - auth));
	if (colon)
		snprintf(buf, size, "%.*s" REDACT_HIDDEN "%s", (int)(colon + 1 - s), s, at);
	else
		snprintf(buf, size, "%.*s" REDACT_HIDDEN "%s", (int)(auth - s), s, at);
	return buf;
}
