// SPDX-License-Identifier: MIT
/*
 * Unit tests for the scraper table (which series each /metrics scraper has
 * been shown) and the Accept negotiation between OpenMetrics and text 0.0.4,
 * with the exact Accept header Debian's Prometheus 2.42 sends.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "exporters/httpbody.h"
#include "exporters/scrapers.h"

static struct sockaddr_in v4(const char *a, uint16_t port)
{
	struct sockaddr_in in = { .sin_family = AF_INET, .sin_port = htons(port) };

	assert_int_equal(inet_pton(AF_INET, a, &in.sin_addr), 1);
	return in;
}

#define SA(x) ((const struct sockaddr *)&(x)), sizeof(x)

static void test_first_scrape_sees_everything(void **state)
{
	struct scrapers t = { 0 };
	struct sockaddr_in prom = v4("127.0.0.1", 40000);
	struct sockaddr_in prom2 = v4("127.0.0.1", 40001);
	struct sockaddr_in curl = v4("127.0.0.1", 40002);

	(void)state;
	/* a new scraper: nothing is new to it (no replay of history) */
	assert_int_equal(scrapers_scrape(&t, SA(prom), "Prometheus/2.42.0", 10, 1000), 10);
	/* 5 series created; its next scrape (another port, same scraper) */
	assert_int_equal(scrapers_scrape(&t, SA(prom2), "Prometheus/2.42.0", 15, 2000), 10);
	/* a second consumer does not take the first one's zeros */
	assert_int_equal(scrapers_scrape(&t, SA(curl), "curl/7.88.1", 17, 2500), 17);
	assert_int_equal(scrapers_scrape(&t, SA(prom), "Prometheus/2.42.0", 17, 3000), 15);
	assert_int_equal(scrapers_scrape(&t, SA(curl), "curl/7.88.1", 20, 3500), 17);
	assert_int_equal(t.forgotten, 0);
}

/* 16 remembered; the 17th forgets the one idle longest, and counts it. */
static void test_bounded(void **state)
{
	struct scrapers t = { 0 };
	struct sockaddr_in a = v4("10.0.0.1", 1);
	char ua[32];

	(void)state;
	for (int i = 0; i < SCRAPERS_MAX; i++) {
		snprintf(ua, sizeof(ua), "agent/%d", i);
		assert_int_equal(scrapers_scrape(&t, SA(a), ua, 5, 100 + i), 5);
	}
	assert_int_equal(t.forgotten, 0);
	/* agent/0 scrapes again: it stays the newest */
	assert_int_equal(scrapers_scrape(&t, SA(a), "agent/0", 6, 200), 5);
	assert_int_equal(scrapers_scrape(&t, SA(a), "newcomer", 7, 300), 7);
	assert_int_equal(t.forgotten, 1);
	/* agent/1 was idle longest: it is new again; agent/0 is remembered */
	assert_int_equal(scrapers_scrape(&t, SA(a), "agent/1", 8, 400), 8);
	assert_int_equal(t.forgotten, 2);
	assert_int_equal(scrapers_scrape(&t, SA(a), "agent/0", 9, 500), 6);
}

static void test_accepts_openmetrics(void **state)
{
	(void)state;
	/* Prometheus 2.42 (strings /usr/bin/prometheus) */
	assert_true(http_accepts_openmetrics(
		"application/openmetrics-text;version=1.0.0,application/openmetrics-text;"
		"version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"));
	assert_true(http_accepts_openmetrics("application/openmetrics-text"));
	assert_true(http_accepts_openmetrics(
		"text/plain;q=0.5, application/openmetrics-text; version=0.0.1"));
	/* curl, browsers, nothing */
	assert_false(http_accepts_openmetrics(NULL));
	assert_false(http_accepts_openmetrics(""));
	assert_false(http_accepts_openmetrics("*/*"));
	assert_false(http_accepts_openmetrics("text/plain;version=0.0.4"));
	assert_false(http_accepts_openmetrics("text/html,application/xhtml+xml,*/*;q=0.8"));
	/* refused, unknown version, or not preferred */
	assert_false(http_accepts_openmetrics("application/openmetrics-text;q=0,*/*"));
	assert_false(http_accepts_openmetrics("application/openmetrics-text;version=2.0.0"));
	assert_false(http_accepts_openmetrics("application/openmetrics-text;q=0.5,text/plain"));
	assert_false(http_accepts_openmetrics("application/openmetrics-text;q=0.5,*/*;q=0.5"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_first_scrape_sees_everything),
		cmocka_unit_test(test_bounded),
		cmocka_unit_test(test_accepts_openmetrics),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
