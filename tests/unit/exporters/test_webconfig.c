// SPDX-License-Identifier: MIT
/*
 * Unit tests for the web config file (exporters/webconfig.c): a good file
 * in every part (TLS with inline and file certificates, users, headers),
 * each kind of wrong file with its exact "web.yml:LINE: ..." line, the stamp
 * that tells a reload the file or a certificate changed, and the bcrypt
 * check with its cache. The certificates are fixed test keys (EC P-256,
 * self-signed, valid to 2126); the hash is `htpasswd -nbBC 4 alice secret`.
 * No root, no network.
 *
 * webconfig.c is included (h2o style) to reach password_ok().
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config/config.h"
#include "exporters/webconfig.c"

#define HASH "$2y$04$usbkLMBT5K8uElp0I6ZCz.lhadnTKJJsdTbNsvacJqrY.h5lyhJsy"

static const char cert_pem[] = "-----BEGIN CERTIFICATE-----\n"
			       "MIIBdTCCARugAwIBAgIUGK1Kl6PlLGA7LCmqd/iU4U1ysmIwCgYIKoZIzj0EAwIw\n"
			       "DzENMAsGA1UEAwwEdGVzdDAgFw0yNjEyMDcxODUxMzNaGA8yMTI2MTExMzE4NTEz\n"
			       "M1owDzENMAsGA1UEAwwEdGVzdDBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABKQE\n"
			       "nrx0/n1wh0uslHopd/OEnCqKI+RQTLgfV1qm2XyMcHyylajWVnQKwzzC8qv4i1Dr\n"
			       "WOUccZhvwyuBOM69q1WjUzBRMB0GA1UdDgQWBBQiribDq0SRR3C+KzjNMVLtAVX3\n"
			       "JDAfBgNVHSMEGDAWgBQiribDq0SRR3C+KzjNMVLtAVX3JDAPBgNVHRMBAf8EBTAD\n"
			       "AQH/MAoGCCqGSM49BAMCA0gAMEUCIQCY3P/gumVK31O4AUNctqbd38vM6rn6g92A\n"
			       "phtzXrSb7wIgWhe5BctNhUuA4uKa5Oq5Nt9Wq7rds0wmC7L686j6CfM=\n"
			       "-----END CERTIFICATE-----\n";

static const char key_pem[] = "-----BEGIN PRIVATE KEY-----\n"
			      "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgz6rWevVC2aJhh5H+\n"
			      "l+1Wc6Aljauov6FTnd9abm0Ihz2hRANCAASkBJ68dP59cIdLrJR6KXfzhJwqiiPk\n"
			      "UEy4H1daptl8jHB8spWo1lZ0CsM8wvKr+ItQ61jlHHGYb8MrgTjOvatV\n"
			      "-----END PRIVATE KEY-----\n";

/* A key that is not the certificate's. */
static const char other_key_pem[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgQv6lbOUM/kipQF+i\n"
	"kirNTLrIm2pPMz1v8rrd4t7w9BOhRANCAAQhpGmBPjEjwoE2PaePGwumYDilUe+W\n"
	"/ZZBPg+ji+ouUwCLXYbnYRqqbAHBLcGdS35SLSi/qZpzyk70FPJts6+l\n"
	"-----END PRIVATE KEY-----\n";

#define INLINE_CERT                                                              \
	"  cert: |\n"                                                            \
	"    -----BEGIN CERTIFICATE-----\n"                                      \
	"    MIIBdTCCARugAwIBAgIUGK1Kl6PlLGA7LCmqd/iU4U1ysmIwCgYIKoZIzj0EAwIw\n" \
	"    DzENMAsGA1UEAwwEdGVzdDAgFw0yNjEyMDcxODUxMzNaGA8yMTI2MTExMzE4NTEz\n" \
	"    M1owDzENMAsGA1UEAwwEdGVzdDBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABKQE\n" \
	"    nrx0/n1wh0uslHopd/OEnCqKI+RQTLgfV1qm2XyMcHyylajWVnQKwzzC8qv4i1Dr\n" \
	"    WOUccZhvwyuBOM69q1WjUzBRMB0GA1UdDgQWBBQiribDq0SRR3C+KzjNMVLtAVX3\n" \
	"    JDAfBgNVHSMEGDAWgBQiribDq0SRR3C+KzjNMVLtAVX3JDAPBgNVHRMBAf8EBTAD\n" \
	"    AQH/MAoGCCqGSM49BAMCA0gAMEUCIQCY3P/gumVK31O4AUNctqbd38vM6rn6g92A\n" \
	"    phtzXrSb7wIgWhe5BctNhUuA4uKa5Oq5Nt9Wq7rds0wmC7L686j6CfM=\n"         \
	"    -----END CERTIFICATE-----\n"                                        \
	"  key: |\n"                                                             \
	"    -----BEGIN PRIVATE KEY-----\n"                                      \
	"    MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgz6rWevVC2aJhh5H+\n" \
	"    l+1Wc6Aljauov6FTnd9abm0Ihz2hRANCAASkBJ68dP59cIdLrJR6KXfzhJwqiiPk\n" \
	"    UEy4H1daptl8jHB8spWo1lZ0CsM8wvKr+ItQ61jlHHGYb8MrgTjOvatV\n"         \
	"    -----END PRIVATE KEY-----\n"

static int parse(const char *text, struct webconfig **wc, char *err, size_t errlen)
{
	return webconfig_parse(text, strlen(text), "web.yml", NULL, wc, err, errlen);
}

static void test_empty_is_plain_http(void **state)
{
	struct webconfig *wc = NULL;
	char err[512] = "";

	assert_int_equal(parse("", &wc, err, sizeof(err)), 0);
	assert_non_null(wc);
	assert_int_equal(webconfig_tls(wc), 0);
	assert_int_equal(webconfig_users(wc), 0);
	assert_int_equal(webconfig_mhd_flags(wc), 0);
	assert_int_not_equal(webconfig_stamp(wc), 0);
	webconfig_free(wc);
	assert_int_equal(webconfig_mhd_flags(NULL), 0);
	webconfig_free(NULL);
}

static void test_good_file(void **state)
{
	static const char text[] = "tls_server_config:\n" INLINE_CERT "  min_version: TLS13\n"
				   "  prefer_server_cipher_suites: true\n"
				   "  cipher_suites: []\n"
				   "http_server_config:\n"
				   "  http2: false\n"
				   "  headers:\n"
				   "    X-Frame-Options: deny\n"
				   "    X-Content-Type-Options: nosniff\n"
				   "basic_auth_users:\n"
				   "  alice: " HASH "\n"
				   "  bob: " HASH "\n";
	struct MHD_OptionItem opts[WEBCONFIG_MHD_OPTIONS];
	struct webconfig *wc = NULL;
	char err[512] = "";
	int ret;

	ret = parse(text, &wc, err, sizeof(err));
	if (ret)
		fail_msg("expected 0, got %d: %s", ret, err);
	assert_int_equal(webconfig_tls(wc), 1);
	assert_int_equal(webconfig_users(wc), 2);
	assert_int_equal(webconfig_mhd_flags(wc), MHD_USE_TLS);
	assert_string_equal(wc->priorities, "NORMAL:-VERS-ALL:+VERS-TLS1.3");
	assert_string_equal(wc->cert, cert_pem);
	assert_string_equal(wc->headers[1], "deny");
	assert_string_equal(wc->headers[2], "nosniff");
	assert_string_equal(wc->headers[0], "");
	webconfig_mhd_options(wc, opts);
	assert_int_equal(opts[0].option, MHD_OPTION_HTTPS_MEM_KEY);
	assert_int_equal(opts[1].option, MHD_OPTION_HTTPS_MEM_CERT);
	assert_int_equal(opts[2].option, MHD_OPTION_HTTPS_PRIORITIES);
	assert_int_equal(opts[3].option, MHD_OPTION_END); /* no client CA: no trust list */
	webconfig_free(wc);
}

/* ==== Files on disk: relative names, the stamp ==== */

static void write_file(const char *dir, const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_files_and_stamp(void **state)
{
	char dir[] = "/tmp/gespann-test-webconfig-XXXXXX", path[512], err[512] = "";
	struct MHD_OptionItem opts[WEBCONFIG_MHD_OPTIONS];
	struct webconfig *wc = NULL;
	uint64_t s1, s2;
	int ret;

	assert_non_null(mkdtemp(dir));
	write_file(dir, "c.pem", cert_pem);
	write_file(dir, "k.pem", key_pem);
	write_file(dir, "web.yml",
		   "tls_server_config:\n"
		   "  cert_file: c.pem\n"
		   "  key_file: k.pem\n"
		   "  client_ca_file: c.pem\n"
		   "  client_auth_type: RequireAndVerifyClientCert\n");
	snprintf(path, sizeof(path), "%s/web.yml", dir);
	ret = webconfig_load(path, &wc, err, sizeof(err));
	if (ret)
		fail_msg("expected 0, got %d: %s", ret, err);
	assert_int_equal(wc->client_auth, REQUIRE_AND_VERIFY_CLIENT_CERT);
	assert_string_equal(wc->priorities, "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2");
	webconfig_mhd_options(wc, opts);
	assert_int_equal(opts[3].option, MHD_OPTION_HTTPS_MEM_TRUST);
	assert_int_equal(opts[4].option, MHD_OPTION_END);
	s1 = webconfig_stamp(wc);
	webconfig_free(wc);

	/* the same file again: the same stamp; a new key: another one */
	assert_int_equal(webconfig_load(path, &wc, err, sizeof(err)), 0);
	assert_true(webconfig_stamp(wc) == s1);
	webconfig_free(wc);
	write_file(dir, "k.pem", other_key_pem);
	ret = webconfig_load(path, &wc, err, sizeof(err));
	assert_int_equal(ret, -EINVAL);
	assert_non_null(strstr(err, "web.yml:3: tls_server_config: the key does not go with"));
	write_file(dir, "k.pem", key_pem);
	write_file(dir, "web.yml", "tls_server_config:\n  cert_file: c.pem\n  key_file: k.pem\n");
	assert_int_equal(webconfig_load(path, &wc, err, sizeof(err)), 0);
	s2 = webconfig_stamp(wc);
	assert_true(s2 != s1);
	webconfig_free(wc);

	/* the file itself missing: "PATH: cannot read: ..." (the caller adds its line) */
	snprintf(path, sizeof(path), "%s/none.yml", dir);
	assert_int_equal(webconfig_load(path, &wc, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "none.yml: cannot read: "));
	assert_null(wc);

	snprintf(path, sizeof(path), "%s/c.pem", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/k.pem", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/web.yml", dir);
	unlink(path);
	rmdir(dir);
}

/* ==== Wrong files ==== */

struct bad_case {
	const char *text;
	const char *err; /* the whole line, or its start when it ends in "..." */
};

static const struct bad_case bad_cases[] = {
	{ "tls:\n  cert_file: x\n",
	  "web.yml:1: unknown key \"tls\" (known: tls_server_config, http_server_config, "
	  "basic_auth_users, rate_limit)" },
	{ "- a\n", "web.yml:1: expected a mapping, got a list" },
	{ "tls_server_config:\n" INLINE_CERT "  client_auth_type: Always\n",
	  "web.yml:19: tls_server_config.client_auth_type: \"Always\" is not a client auth "
	  "type (NoClientCert, RequestClientCert, RequireAnyClientCert, "
	  "VerifyClientCertIfGiven, RequireAndVerifyClientCert)" },
	{ "tls_server_config:\n" INLINE_CERT "  client_auth_type: RequireAndVerifyClientCert\n",
	  "web.yml:19: tls_server_config.client_auth_type: RequireAndVerifyClientCert needs "
	  "client_ca_file (microhttpd asks for a client certificate only with a CA list)" },
	{ "tls_server_config:\n  cert_file: /nonexistent/c.pem\n  key_file: k.pem\n",
	  "web.yml:2: tls_server_config.cert_file: /nonexistent/c.pem: cannot read: No such "
	  "file or directory" },
	{ "tls_server_config:\n  cert: |\n    not a certificate\n  key: |\n    no\n",
	  "web.yml:2: tls_server_config: no PEM certificate in cert: ..." },
	{ "tls_server_config:\n  key_file: k.pem\n  key: x\n",
	  "web.yml:2: tls_server_config: key and key_file are both set: give one" },
	{ "tls_server_config:\n  key_file: k.pem\n  client_auth_type: NoClientCert\n",
	  "web.yml:2: tls_server_config.key_file: k.pem: cannot read: No such file or "
	  "directory" },
	{ "tls_server_config:\n  client_auth_type: NoClientCert\n",
	  "web.yml:1: tls_server_config: missing cert_file" },
	{ "tls_server_config:\n" INLINE_CERT "  min_version: TLS13\n  max_version: TLS12\n",
	  "web.yml:20: tls_server_config.max_version: TLS12 is below min_version TLS13" },
	{ "tls_server_config:\n" INLINE_CERT "  min_version: SSL3\n",
	  "web.yml:19: tls_server_config.min_version: \"SSL3\" is not a TLS version (TLS10, "
	  "TLS11, TLS12, TLS13)" },
	{ "tls_server_config:\n" INLINE_CERT "  client_ca: |\n    x\n",
	  "web.yml:19: tls_server_config: client CA set without a client_auth_type that asks "
	  "for certificates" },
	{ "tls_server_config:\n" INLINE_CERT "  cipher_suites: [TLS_AES_128_GCM_SHA256]\n",
	  "web.yml:19: tls_server_config: cipher_suites is not supported by gespann (GnuTLS "
	  "priorities decide)" },
	{ "tls_server_config:\n" INLINE_CERT "  ocsp: true\n",
	  "web.yml:19: tls_server_config: unknown key \"ocsp\" (known: ..." },
	{ "basic_auth_users:\n  alice: secret\n",
	  "web.yml:2: basic_auth_users.alice: is not a bcrypt hash ($2y$10$ and 53 "
	  "characters, as htpasswd -nbB USER PASSWORD writes)" },
	{ "basic_auth_users:\n  alice: " HASH "\n  \"a:b\": " HASH "\n",
	  "web.yml:3: basic_auth_users: \"a:b\" is not a user name (1-127 characters, no "
	  "colon)" },
	{ "basic_auth_users:\n  alice: " HASH "\n  alice: " HASH "\n",
	  "web.yml:3: basic_auth_users: duplicate user \"alice\"" },
	{ "basic_auth_users: [alice]\n",
	  "web.yml:1: basic_auth_users: expected a mapping, got a list" },
	{ "http_server_config:\n  headers:\n    Server: gespann\n",
	  "web.yml:3: http_server_config.headers: unknown key \"Server\" (known: ..." },
	{ "http_server_config:\n  headers:\n    X-Frame-Options: allow\n",
	  "web.yml:3: http_server_config.headers.X-Frame-Options: \"allow\" is not deny or "
	  "sameorigin" },
	{ "http_server_config:\n  http2: maybe\n",
	  "web.yml:2: http_server_config.http2: expected true or false, got a string (\"maybe\")" },
	{ "rate_limit:\n  interval: 1s\n", "web.yml:1: rate_limit: is not supported by gespann" },
};

static void test_bad_files(void **state)
{
	for (size_t i = 0; i < CONFIG_COUNT_OF(bad_cases); i++) {
		const struct bad_case *c = &bad_cases[i];
		struct webconfig *wc = (struct webconfig *)1;
		char err[512] = "";
		size_t n = strlen(c->err);
		int ret;

		ret = parse(c->text, &wc, err, sizeof(err));
		if (ret != -EINVAL)
			fail_msg("bad_cases[%zu]: expected %d, got %d (%s)", i, -EINVAL, ret, err);
		assert_null(wc);
		if (n > 3 && !strcmp(c->err + n - 3, "..."))
			n -= 3;
		else
			n++; /* the NUL too: the whole line */
		if (strncmp(err, c->err, n))
			fail_msg("bad_cases[%zu]:\n  expected: %s\n  actual:   %s", i, c->err, err);
	}
}

/* ==== Basic auth ==== */

static void test_password(void **state)
{
	static const char text[] = "basic_auth_users:\n  alice: " HASH "\n";
	struct webconfig *wc = NULL;
	char err[512] = "";

	assert_int_equal(parse(text, &wc, err, sizeof(err)), 0);
	assert_int_equal(password_ok(wc, "alice", "wrong"), 0);
	assert_int_equal(wc->users[0].has_good, 0);
	assert_int_equal(password_ok(wc, "bob", "secret"), 0);
	assert_int_equal(password_ok(wc, "alice", "secret"), 1);
	assert_int_equal(wc->users[0].has_good, 1); /* remembered: no bcrypt next time */
	assert_int_equal(password_ok(wc, "alice", "secret"), 1);
	assert_int_equal(password_ok(wc, "alice", "secre"), 0);
	assert_int_equal(password_ok(wc, "alice", ""), 0);
	webconfig_free(wc);
}

/* ==== Through the main config: web_config_file ==== */

static void test_config_key(void **state)
{
	static const char head[] = "adapters:\n  - type: prometheus\n    settings:\n"
				   "      web_config_file: ";
	char dir[] = "/tmp/gespann-test-webconfig-XXXXXX", path[512], text[1024], err[512];
	struct config *cfg = malloc(sizeof(*cfg));
	int ret;

	assert_non_null(cfg);
	assert_non_null(mkdtemp(dir));
	snprintf(text, sizeof(text), "%s/nonexistent.yml\n", head);
	ret = config_parse(text, strlen(text), "config.yaml", cfg, err, sizeof(err));
	assert_int_equal(ret, -EINVAL);
	assert_string_equal(err, "config.yaml:4: adapters[0].settings.web_config_file: "
				 "/nonexistent.yml: cannot read: No such file or directory");

	/* a wrong web file: its own name and line */
	write_file(dir, "web.yml", "basic_auth_users:\n  alice: plain\n");
	snprintf(path, sizeof(path), "%s/web.yml", dir);
	snprintf(text, sizeof(text), "%s%s\n", head, path);
	ret = config_parse(text, strlen(text), "config.yaml", cfg, err, sizeof(err));
	assert_int_equal(ret, -EINVAL);
	assert_non_null(strstr(err, "/web.yml:2: basic_auth_users.alice: is not a bcrypt hash"));
	assert_true(!strncmp(err, path, strlen(path)));

	/* a good one: its stamp in the adapter config, 0 without a file */
	write_file(dir, "web.yml", "basic_auth_users:\n  alice: " HASH "\n");
	ret = config_parse(text, strlen(text), "config.yaml", cfg, err, sizeof(err));
	if (ret)
		fail_msg("expected 0, got %d: %s", ret, err);
	assert_string_equal(cfg->adapters[0].web_config_file, path);
	assert_true(cfg->adapters[0].web_config_stamp != 0);
	snprintf(text, sizeof(text), "%s\"\"\n", head);
	assert_int_equal(config_parse(text, strlen(text), "config.yaml", cfg, err, sizeof(err)), 0);
	assert_true(cfg->adapters[0].web_config_stamp == 0);

	unlink(path);
	rmdir(dir);
	free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_is_plain_http),
		cmocka_unit_test(test_good_file),
		cmocka_unit_test(test_files_and_stamp),
		cmocka_unit_test(test_bad_files),
		cmocka_unit_test(test_password),
		cmocka_unit_test(test_config_key),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
