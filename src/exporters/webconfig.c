// SPDX-License-Identifier: MIT
/*
 * exporter-toolkit's web-config.yml for the Prometheus endpoint (webconfig.h).
 *
 * The file is read with the strict config reader, so a wrong key or value is
 * one "FILE:LINE: key.path: what" line like in the main config, and every
 * certificate and key is read and parsed by GnuTLS at load: a file that
 * loads is one libmicrohttpd will start with. Keys of the format that need
 * Go's TLS stack (cipher_suites, curve_preferences, client_allowed_sans) or
 * a feature gespann lacks (rate_limit) are refused by name rather than
 * silently ignored; http2 and prefer_server_cipher_suites are accepted and
 * have no effect (libmicrohttpd speaks HTTP/1.1, GnuTLS picks by priority).
 *
 * libmicrohttpd asks for a client certificate whenever it is given a trust
 * list and never refuses a handshake for a missing one, so the policy of
 * client_auth_type is applied per request (webconfig_admit()), which also
 * means every policy but NoClientCert needs client_ca_file.
 *
 * bcrypt costs tens of milliseconds on the one main loop, so a password that
 * matched is remembered as an HMAC-SHA256 under a key drawn at load (what
 * exporter-toolkit caches too); wrong passwords pay bcrypt each time.
 */
#include <crypt.h>
#include <errno.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include "config/reader.h"
#include "exporters/webconfig.h"

#define WEBCONFIG_MAX_USERS  64
#define WEBCONFIG_MAX_PEM    (1u << 20)
#define WEBCONFIG_TEXT_MAX   (1u << 20)
#define WEBCONFIG_REALM	     "gespann"
#define WEBCONFIG_DIGEST_LEN 32
#define WEBCONFIG_BCRYPT_LEN 60
#define WEBCONFIG_HEADER_MAX 256

enum client_auth {
	NO_CLIENT_CERT,
	REQUEST_CLIENT_CERT,
	REQUIRE_ANY_CLIENT_CERT,
	VERIFY_CLIENT_CERT_IF_GIVEN,
	REQUIRE_AND_VERIFY_CLIENT_CERT,
};

static const char *const client_auth_names[] = {
	"NoClientCert",
	"RequestClientCert",
	"RequireAnyClientCert",
	"VerifyClientCertIfGiven",
	"RequireAndVerifyClientCert",
};

/* The versions Go's tls accepts in the file, and their GnuTLS names. */
static const char *const version_names[] = { "TLS10", "TLS11", "TLS12", "TLS13" };
static const char *const version_gnutls[] = { "TLS1.0", "TLS1.1", "TLS1.2", "TLS1.3" };

/* The headers exporter-toolkit lets a file set (it refuses any other). */
static const char *const header_names[] = {
	"Content-Security-Policy", "X-Frame-Options",		"X-Content-Type-Options",
	"X-XSS-Protection",	   "Strict-Transport-Security",
};
#define N_HEADERS CONFIG_COUNT_OF(header_names)

struct webconfig_user {
	char name[128];
	char hash[WEBCONFIG_BCRYPT_LEN + 1];
	unsigned char good[WEBCONFIG_DIGEST_LEN]; /* HMAC of the password that matched */
	int has_good;
};

struct webconfig {
	char *cert, *key, *ca; /* PEM text, NUL-terminated; NULL when not set */
	enum client_auth client_auth;
	char priorities[96];
	struct webconfig_user *users;
	size_t n_users;
	char headers[N_HEADERS][WEBCONFIG_HEADER_MAX]; /* "" when not set */
	uint64_t stamp;
	unsigned char hmac_key[32];
	struct crypt_data *crypt; /* crypt_rn()'s scratch, ~32 KB */
	const char *dir;	  /* during the parse only */
};

/* ==== Parsing ==== */

static void stamp_add(uint64_t *h, const void *data, size_t len)
{
	const unsigned char *p = data;

	for (size_t i = 0; i < len; i++) {
		*h ^= p[i];
		*h *= 0x100000001b3ULL; /* FNV-1a */
	}
}

/* A string value into *out (the node's own text, valid during the walk). */
static int get_text(struct config_ctx *ctx, const struct config_entry *e, const char *path,
		    const char **out)
{
	*out = NULL;
	if (!e->key)
		return 0;
	return config_get_string(ctx, e->key, e->value, path, out);
}

/*
 * The PEM of `inline_` (cert:) or of the file `file` (cert_file:) into *out;
 * both set is an error, as in exporter-toolkit.
 */
static int get_pem(struct config_ctx *ctx, struct webconfig *wc, const struct config_entry *inl,
		   const struct config_entry *file, const char *inl_name, const char *file_name,
		   char **out)
{
	char path[64], fpath[4096], rerr[512];
	const char *text, *name;
	size_t len;
	int ret;

	snprintf(path, sizeof(path), "tls_server_config.%s", inl_name);
	ret = get_text(ctx, inl, path, &text);
	if (ret)
		return ret;
	if (inl->key && file->key)
		return config_error(ctx, config_node_line(file->key), "tls_server_config",
				    "%s and %s are both set: give one", inl_name, file_name);
	if (text) {
		*out = strdup(text);
		return *out ? 0 : -ENOMEM;
	}
	snprintf(path, sizeof(path), "tls_server_config.%s", file_name);
	ret = get_text(ctx, file, path, &name);
	if (ret || !name)
		return ret;
	if (!name[0])
		return config_error(ctx, config_value_line(file->key, file->value), path,
				    "is empty");
	if (name[0] == '/' || !wc->dir)
		snprintf(fpath, sizeof(fpath), "%s", name);
	else
		snprintf(fpath, sizeof(fpath), "%s/%s", wc->dir, name);
	ret = config_read_file(fpath, WEBCONFIG_MAX_PEM, out, &len, rerr, sizeof(rerr));
	if (ret)
		return config_error(ctx, config_value_line(file->key, file->value), path, "%s",
				    rerr);
	return 0;
}

static int pem_datum(const char *pem, gnutls_datum_t *d)
{
	d->data = (unsigned char *)pem;
	d->size = (unsigned int)strlen(pem);
	return 0;
}

/* "cert" for an inline PEM, the file name for a *_file key (f[3..5]). */
static const char *pem_source(const struct config_entry *e, const struct config_entry *f)
{
	return e >= &f[3] ? config_scalar(e->value) : config_scalar(e->key);
}

/* The certificate, key and CA parse, and the key is the certificate's. */
static int check_pems(struct config_ctx *ctx, const struct webconfig *wc,
		      const struct config_entry *f)
{
	/* f: cert, key, client_ca, cert_file, key_file, client_ca_file */
	const struct config_entry *ce = f[0].key ? &f[0] : &f[3];
	const struct config_entry *ke = f[1].key ? &f[1] : &f[4];
	const struct config_entry *ae = f[2].key ? &f[2] : &f[5];
	gnutls_certificate_credentials_t cred = NULL;
	gnutls_x509_crt_t *crts = NULL;
	gnutls_x509_privkey_t pk = NULL;
	gnutls_datum_t cd, kd, ad;
	unsigned int n = 0;
	int rc, ret = 0;

	pem_datum(wc->cert, &cd);
	pem_datum(wc->key, &kd);
	rc = gnutls_x509_crt_list_import2(&crts, &n, &cd, GNUTLS_X509_FMT_PEM, 0);
	if (rc < 0 || !n) {
		ret = config_error(ctx, config_value_line(ce->key, ce->value), "tls_server_config",
				   "no PEM certificate in %s: %s", pem_source(ce, f),
				   rc < 0 ? gnutls_strerror(rc) : "empty");
		goto out;
	}
	if (gnutls_x509_privkey_init(&pk) < 0) {
		ret = -ENOMEM;
		goto out;
	}
	rc = gnutls_x509_privkey_import2(pk, &kd, GNUTLS_X509_FMT_PEM, NULL, 0);
	if (rc < 0) {
		ret = config_error(ctx, config_value_line(ke->key, ke->value), "tls_server_config",
				   "no unencrypted PEM key in %s: %s", pem_source(ke, f),
				   gnutls_strerror(rc));
		goto out;
	}
	if (gnutls_certificate_allocate_credentials(&cred) < 0) {
		ret = -ENOMEM;
		goto out;
	}
	rc = gnutls_certificate_set_x509_key_mem2(cred, &cd, &kd, GNUTLS_X509_FMT_PEM, NULL, 0);
	if (rc < 0) {
		ret = config_error(ctx, config_value_line(ke->key, ke->value), "tls_server_config",
				   "the key does not go with the certificate: %s",
				   gnutls_strerror(rc));
		goto out;
	}
	if (wc->ca) {
		pem_datum(wc->ca, &ad);
		rc = gnutls_certificate_set_x509_trust_mem(cred, &ad, GNUTLS_X509_FMT_PEM);
		if (rc <= 0)
			ret = config_error(ctx, config_value_line(ae->key, ae->value),
					   "tls_server_config", "no PEM certificate in %s: %s",
					   pem_source(ae, f),
					   rc < 0 ? gnutls_strerror(rc) : "empty");
	}
out:
	for (unsigned int i = 0; i < n; i++)
		gnutls_x509_crt_deinit(crts[i]);
	gnutls_free(crts);
	gnutls_x509_privkey_deinit(pk);
	if (cred)
		gnutls_certificate_free_credentials(cred);
	return ret;
}

/* A key whose value must be an empty list, or absent: what gespann cannot do. */
static int refuse_list(struct config_ctx *ctx, const struct config_entry *e, const char *name)
{
	if (!e->key)
		return 0;
	if (e->value->type == YAML_SEQUENCE_NODE &&
	    e->value->data.sequence.items.top == e->value->data.sequence.items.start)
		return 0;
	return config_error(ctx, config_node_line(e->key), "tls_server_config",
			    "%s is not supported by gespann (GnuTLS priorities decide)", name);
}

static int parse_version(struct config_ctx *ctx, const struct config_entry *e, const char *path,
			 int def, int *out)
{
	const char *s;
	int ret;

	*out = def;
	ret = get_text(ctx, e, path, &s);
	if (ret || !s)
		return ret;
	for (size_t i = 0; i < CONFIG_COUNT_OF(version_names); i++) {
		if (!strcmp(s, version_names[i])) {
			*out = (int)i;
			return 0;
		}
	}
	return config_error(ctx, config_value_line(e->key, e->value), path,
			    "\"%s\" is not a TLS version (TLS10, TLS11, TLS12, TLS13)", s);
}

static int parse_tls(struct config_ctx *ctx, struct webconfig *wc, const struct config_entry *te)
{
	static const char *const keys[] = {
		"cert",
		"key",
		"client_ca",
		"cert_file",
		"key_file",
		"client_ca_file",
		"client_auth_type",
		"min_version",
		"max_version",
		"cipher_suites",
		"curve_preferences",
		"client_allowed_sans",
		"prefer_server_cipher_suites",
	};
	struct config_entry f[CONFIG_COUNT_OF(keys)];
	const char *auth = NULL;
	int ret, min, max, prefer;

	if (te->value->type == YAML_SCALAR_NODE &&
	    config_scalar_kind(te->value) == CONFIG_SCALAR_NULL)
		return 0; /* `tls_server_config:` with nothing under it */
	ret = config_expect_type(ctx, te->key, te->value, "tls_server_config", YAML_MAPPING_NODE);
	if (!ret)
		ret = config_map_collect(ctx, te->value, "tls_server_config", keys,
					 CONFIG_COUNT_OF(keys), f);
	if (!ret)
		ret = get_pem(ctx, wc, &f[0], &f[3], "cert", "cert_file", &wc->cert);
	if (!ret)
		ret = get_pem(ctx, wc, &f[1], &f[4], "key", "key_file", &wc->key);
	if (!ret)
		ret = get_pem(ctx, wc, &f[2], &f[5], "client_ca", "client_ca_file", &wc->ca);
	if (!ret)
		ret = get_text(ctx, &f[6], "tls_server_config.client_auth_type", &auth);
	if (!ret)
		ret = parse_version(ctx, &f[7], "tls_server_config.min_version", 2, &min);
	if (!ret)
		ret = parse_version(ctx, &f[8], "tls_server_config.max_version", 3, &max);
	for (size_t i = 9; !ret && i < 12; i++)
		ret = refuse_list(ctx, &f[i], keys[i]);
	if (!ret && f[12].key)
		ret = config_get_bool(ctx, f[12].key, f[12].value,
				      "tls_server_config.prefer_server_cipher_suites", &prefer);
	if (ret)
		return ret;

	if (auth) {
		int k = -1;

		for (size_t i = 0; i < CONFIG_COUNT_OF(client_auth_names); i++)
			if (!strcmp(auth, client_auth_names[i]))
				k = (int)i;
		if (k < 0)
			return config_error(ctx, config_value_line(f[6].key, f[6].value),
					    "tls_server_config.client_auth_type",
					    "\"%s\" is not a client auth type (NoClientCert, "
					    "RequestClientCert, RequireAnyClientCert, "
					    "VerifyClientCertIfGiven, RequireAndVerifyClientCert)",
					    auth);
		wc->client_auth = (enum client_auth)k;
	}
	if (!wc->cert && !wc->key && !wc->ca && !auth)
		return 0; /* no certificate: plain HTTP, as exporter-toolkit */
	if (!wc->cert)
		return config_error(ctx, config_node_line(te->key), "tls_server_config",
				    "missing cert_file");
	if (!wc->key)
		return config_error(ctx, config_node_line(te->key), "tls_server_config",
				    "missing key_file");
	if (wc->ca && wc->client_auth == NO_CLIENT_CERT)
		return config_error(ctx, config_node_line(f[2].key ? f[2].key : f[5].key),
				    "tls_server_config",
				    "client CA set without a client_auth_type that asks for "
				    "certificates");
	if (!wc->ca && wc->client_auth != NO_CLIENT_CERT)
		return config_error(ctx, config_value_line(f[6].key, f[6].value),
				    "tls_server_config.client_auth_type",
				    "%s needs client_ca_file (microhttpd asks for a client "
				    "certificate only with a CA list)",
				    auth);
	if (min > max)
		return config_error(ctx, config_value_line(f[8].key, f[8].value),
				    "tls_server_config.max_version", "%s is below min_version %s",
				    version_names[max], version_names[min]);
	snprintf(wc->priorities, sizeof(wc->priorities), "NORMAL:-VERS-ALL");
	for (int v = max; v >= min; v--) {
		size_t o = strlen(wc->priorities);

		snprintf(wc->priorities + o, sizeof(wc->priorities) - o, ":+VERS-%s",
			 version_gnutls[v]);
	}
	return check_pems(ctx, wc, f);
}

/* A bcrypt hash as htpasswd -B and Go's bcrypt write it: $2a$/$2b$/$2y$, cost, 53 chars. */
static int bcrypt_ok(const char *h)
{
	static const char b64[] =
		"./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
	int cost;

	if (strlen(h) != WEBCONFIG_BCRYPT_LEN || h[0] != '$' || h[1] != '2' ||
	    !strchr("aby", h[2]) || h[3] != '$' || h[6] != '$')
		return 0;
	if (h[4] < '0' || h[4] > '3' || h[5] < '0' || h[5] > '9')
		return 0;
	cost = (h[4] - '0') * 10 + (h[5] - '0');
	if (cost < 4 || cost > 31)
		return 0;
	for (size_t i = 7; i < WEBCONFIG_BCRYPT_LEN; i++)
		if (!strchr(b64, h[i]))
			return 0;
	return 1;
}

static int parse_users(struct config_ctx *ctx, struct webconfig *wc, const struct config_entry *ue)
{
	const yaml_node_t *map = ue->value;
	char path[192], buf[CONFIG_SHOW_MAX];
	yaml_node_pair_t *pair;
	size_t n;
	int ret;

	if (map->type == YAML_SCALAR_NODE && config_scalar_kind(map) == CONFIG_SCALAR_NULL)
		return 0;
	ret = config_expect_type(ctx, ue->key, map, "basic_auth_users", YAML_MAPPING_NODE);
	if (ret)
		return ret;
	n = (size_t)(map->data.mapping.pairs.top - map->data.mapping.pairs.start);
	if (n > WEBCONFIG_MAX_USERS)
		return config_error(ctx, config_node_line(ue->key), "basic_auth_users",
				    "%zu users, at most %d are supported", n, WEBCONFIG_MAX_USERS);
	wc->users = calloc(n ? n : 1, sizeof(*wc->users));
	if (!wc->users)
		return -ENOMEM;
	for (pair = map->data.mapping.pairs.start; pair < map->data.mapping.pairs.top; pair++) {
		yaml_node_t *k = config_node(ctx, pair->key);
		yaml_node_t *v = config_node(ctx, pair->value);
		struct webconfig_user *u = &wc->users[wc->n_users];
		const char *name, *hash;

		if (!k || !v || k->type != YAML_SCALAR_NODE)
			return config_error(ctx, config_node_line(k ? k : map), "basic_auth_users",
					    "a user name must be a string");
		name = config_scalar(k);
		if (!name[0] || strchr(name, ':') || config_scalar_has_nul(k) ||
		    strlen(name) >= sizeof(u->name))
			return config_error(ctx, config_node_line(k), "basic_auth_users",
					    "%s is not a user name (1-%zu characters, no colon)",
					    config_show(k, true, buf, sizeof(buf)),
					    sizeof(u->name) - 1);
		for (size_t j = 0; j < wc->n_users; j++)
			if (!strcmp(wc->users[j].name, name))
				return config_error(ctx, config_node_line(k), "basic_auth_users",
						    "duplicate user \"%s\"", name);
		snprintf(path, sizeof(path), "basic_auth_users.%s", name);
		ret = config_get_string(ctx, k, v, path, &hash);
		if (ret)
			return ret;
		if (!bcrypt_ok(hash))
			return config_error(ctx, config_value_line(k, v), path,
					    "is not a bcrypt hash ($2y$10$ and 53 characters, "
					    "as htpasswd -nbB USER PASSWORD writes)");
		snprintf(u->name, sizeof(u->name), "%s", name);
		snprintf(u->hash, sizeof(u->hash), "%s", hash);
		wc->n_users++;
	}
	return 0;
}

static int parse_headers(struct config_ctx *ctx, struct webconfig *wc, const yaml_node_t *key,
			 const yaml_node_t *map)
{
	static const char *const path = "http_server_config.headers";
	struct config_entry f[N_HEADERS];
	char sub[96];
	const char *s;
	int ret;

	ret = config_expect_type(ctx, key, map, path, YAML_MAPPING_NODE);
	if (!ret)
		ret = config_map_collect(ctx, map, path, header_names, N_HEADERS, f);
	for (size_t i = 0; !ret && i < N_HEADERS; i++) {
		snprintf(sub, sizeof(sub), "%s.%s", path, header_names[i]);
		ret = get_text(ctx, &f[i], sub, &s);
		if (ret || !s)
			continue;
		if (strlen(s) >= WEBCONFIG_HEADER_MAX || strpbrk(s, "\r\n"))
			return config_error(ctx, config_value_line(f[i].key, f[i].value), sub,
					    "is not a header value (one line, at most %d "
					    "characters)",
					    WEBCONFIG_HEADER_MAX - 1);
		/* the checks exporter-toolkit makes */
		if (i == 1 && s[0] && strcasecmp(s, "deny") && strcasecmp(s, "sameorigin"))
			return config_error(ctx, config_value_line(f[i].key, f[i].value), sub,
					    "\"%s\" is not deny or sameorigin", s);
		if (i == 2 && s[0] && strcasecmp(s, "nosniff"))
			return config_error(ctx, config_value_line(f[i].key, f[i].value), sub,
					    "\"%s\" is not nosniff", s);
		snprintf(wc->headers[i], sizeof(wc->headers[i]), "%s", s);
	}
	return ret;
}

static int parse_http(struct config_ctx *ctx, struct webconfig *wc, const struct config_entry *he)
{
	static const char *const keys[] = { "http2", "headers" };
	struct config_entry f[2];
	int ret, http2;

	if (he->value->type == YAML_SCALAR_NODE &&
	    config_scalar_kind(he->value) == CONFIG_SCALAR_NULL)
		return 0;
	ret = config_expect_type(ctx, he->key, he->value, "http_server_config", YAML_MAPPING_NODE);
	if (!ret)
		ret = config_map_collect(ctx, he->value, "http_server_config", keys, 2, f);
	if (!ret && f[0].key) /* accepted; microhttpd speaks HTTP/1.1 only */
		ret = config_get_bool(ctx, f[0].key, f[0].value, "http_server_config.http2",
				      &http2);
	if (!ret && f[1].key)
		ret = parse_headers(ctx, wc, f[1].key, f[1].value);
	return ret;
}

static int walk_web(struct config_ctx *ctx, yaml_node_t *root, void *arg)
{
	static const char *const keys[] = { "tls_server_config", "http_server_config",
					    "basic_auth_users", "rate_limit" };
	struct webconfig *wc = arg;
	struct config_entry f[CONFIG_COUNT_OF(keys)];
	int ret;

	if (!root)
		return 0; /* an empty file: plain HTTP, no auth */
	ret = config_expect_type(ctx, NULL, root, "", YAML_MAPPING_NODE);
	if (!ret)
		ret = config_map_collect(ctx, root, "", keys, CONFIG_COUNT_OF(keys), f);
	if (ret)
		return ret;
	if (f[3].key)
		return config_error(ctx, config_node_line(f[3].key), "rate_limit",
				    "is not supported by gespann");
	if (f[0].key && (ret = parse_tls(ctx, wc, &f[0])))
		return ret;
	if (f[1].key && (ret = parse_http(ctx, wc, &f[1])))
		return ret;
	if (f[2].key && (ret = parse_users(ctx, wc, &f[2])))
		return ret;
	return 0;
}

int webconfig_parse(const char *text, size_t len, const char *name, const char *dir,
		    struct webconfig **out, char *err, size_t errlen)
{
	struct webconfig *wc;
	int ret;

	*out = NULL;
	wc = calloc(1, sizeof(*wc));
	if (!wc)
		return -ENOMEM;
	wc->dir = dir;
	ret = config_read_document(text, len, name, walk_web, wc, err, errlen);
	wc->dir = NULL;
	if (!ret && wc->n_users) {
		wc->crypt = calloc(1, sizeof(*wc->crypt));
		if (!wc->crypt || getrandom(wc->hmac_key, sizeof(wc->hmac_key), 0) !=
					  (ssize_t)sizeof(wc->hmac_key))
			ret = -ENOMEM;
	}
	if (ret) {
		if (ret == -ENOMEM)
			config_set_error(err, errlen, "%s: out of memory", name);
		webconfig_free(wc);
		return ret;
	}
	wc->stamp = 0xcbf29ce484222325ULL;
	stamp_add(&wc->stamp, text, len);
	if (wc->cert)
		stamp_add(&wc->stamp, wc->cert, strlen(wc->cert));
	if (wc->key)
		stamp_add(&wc->stamp, wc->key, strlen(wc->key));
	if (wc->ca)
		stamp_add(&wc->stamp, wc->ca, strlen(wc->ca));
	if (!wc->stamp)
		wc->stamp = 1;
	*out = wc;
	return 0;
}

int webconfig_load(const char *path, struct webconfig **out, char *err, size_t errlen)
{
	char *text = NULL, *copy;
	size_t len;
	int ret;

	*out = NULL;
	ret = config_read_file(path, WEBCONFIG_TEXT_MAX, &text, &len, err, errlen);
	if (ret)
		return ret;
	copy = strdup(path);
	if (!copy) {
		free(text);
		config_set_error(err, errlen, "%s: out of memory", path);
		return -ENOMEM;
	}
	ret = webconfig_parse(text, len, path, dirname(copy), out, err, errlen);
	free(copy);
	free(text);
	return ret;
}

void webconfig_free(struct webconfig *wc)
{
	if (!wc)
		return;
	if (wc->key)
		explicit_bzero(wc->key, strlen(wc->key));
	free(wc->cert);
	free(wc->key);
	free(wc->ca);
	free(wc->users);
	free(wc->crypt);
	explicit_bzero(wc->hmac_key, sizeof(wc->hmac_key));
	free(wc);
}

uint64_t webconfig_stamp(const struct webconfig *wc)
{
	return wc ? wc->stamp : 0;
}

int webconfig_tls(const struct webconfig *wc)
{
	return wc && wc->cert;
}

size_t webconfig_users(const struct webconfig *wc)
{
	return wc ? wc->n_users : 0;
}

/* ==== Serving ==== */

unsigned int webconfig_mhd_flags(const struct webconfig *wc)
{
	return webconfig_tls(wc) ? MHD_USE_TLS : 0;
}

void webconfig_mhd_options(const struct webconfig *wc, struct MHD_OptionItem *opts)
{
	size_t n = 0;

	if (webconfig_tls(wc)) {
		opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_KEY, 0, wc->key };
		opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_CERT, 0, wc->cert };
		opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_PRIORITIES, 0,
						     (void *)wc->priorities };
		if (wc->ca)
			opts[n++] =
				(struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_TRUST, 0, wc->ca };
	}
	opts[n] = (struct MHD_OptionItem){ MHD_OPTION_END, 0, NULL };
}

enum MHD_Result webconfig_add_headers(const struct webconfig *wc, struct MHD_Response *resp)
{
	if (!wc)
		return MHD_YES;
	for (size_t i = 0; i < N_HEADERS; i++) {
		if (wc->headers[i][0] &&
		    MHD_add_response_header(resp, header_names[i], wc->headers[i]) != MHD_YES)
			return MHD_NO;
	}
	return MHD_YES;
}

static enum MHD_Result refuse(const struct webconfig *wc, struct MHD_Connection *conn,
			      unsigned int status, const char *text)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	resp = MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_PERSISTENT);
	if (!resp)
		return MHD_NO;
	if (MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
				    "text/plain; charset=utf-8") != MHD_YES ||
	    webconfig_add_headers(wc, resp) != MHD_YES) {
		MHD_destroy_response(resp);
		return MHD_NO;
	}
	if (status == MHD_HTTP_UNAUTHORIZED)
		ret = MHD_queue_basic_auth_fail_response(conn, WEBCONFIG_REALM, resp);
	else
		ret = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* The client certificate against client_auth_type: 1 when it passes. */
static int client_cert_ok(const struct webconfig *wc, struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *info;
	gnutls_session_t session;
	unsigned int n = 0, status = 0;
	int verify;

	if (!webconfig_tls(wc) || wc->client_auth == NO_CLIENT_CERT ||
	    wc->client_auth == REQUEST_CLIENT_CERT)
		return 1;
	info = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	if (!info || !info->tls_session)
		return 0;
	session = (gnutls_session_t)info->tls_session;
	if (!gnutls_certificate_get_peers(session, &n) || !n)
		return wc->client_auth == VERIFY_CLIENT_CERT_IF_GIVEN;
	verify = wc->client_auth == VERIFY_CLIENT_CERT_IF_GIVEN ||
		 wc->client_auth == REQUIRE_AND_VERIFY_CLIENT_CERT;
	if (!verify)
		return 1;
	return gnutls_certificate_verify_peers2(session, &status) == 0 && status == 0;
}

static int same_bytes(const unsigned char *a, const unsigned char *b, size_t n)
{
	unsigned char d = 0;

	for (size_t i = 0; i < n; i++)
		d |= a[i] ^ b[i];
	return d == 0;
}

/* The user and password against basic_auth_users: 1 when they match. */
static int password_ok(struct webconfig *wc, const char *user, const char *pass)
{
	unsigned char mac[WEBCONFIG_DIGEST_LEN];
	struct webconfig_user *u = NULL;
	const char *out;
	int ok;

	for (size_t i = 0; i < wc->n_users; i++)
		if (!strcmp(wc->users[i].name, user))
			u = &wc->users[i];
	if (gnutls_hmac_fast(GNUTLS_MAC_SHA256, wc->hmac_key, sizeof(wc->hmac_key), pass,
			     strlen(pass), mac) < 0)
		return 0;
	if (u && u->has_good && same_bytes(mac, u->good, sizeof(mac)))
		return 1;
	/* an unknown user costs a bcrypt too: no telling names apart by time */
	memset(wc->crypt, 0, sizeof(*wc->crypt));
	out = crypt_rn(pass, u ? u->hash : wc->users[0].hash, wc->crypt, sizeof(*wc->crypt));
	ok = u && out && strlen(out) == WEBCONFIG_BCRYPT_LEN &&
	     same_bytes((const unsigned char *)out, (const unsigned char *)u->hash,
			WEBCONFIG_BCRYPT_LEN);
	if (ok) {
		memcpy(u->good, mac, sizeof(mac));
		u->has_good = 1;
	}
	explicit_bzero(wc->crypt, sizeof(*wc->crypt));
	return ok;
}

int webconfig_admit(struct webconfig *wc, struct MHD_Connection *conn, enum MHD_Result *ret)
{
	char *user, *pass = NULL;
	int ok;

	if (!wc)
		return 1;
	if (!client_cert_ok(wc, conn)) {
		*ret = refuse(wc, conn, MHD_HTTP_FORBIDDEN, "client certificate required\n");
		return 0;
	}
	if (!wc->n_users)
		return 1;
	user = MHD_basic_auth_get_username_password(conn, &pass);
	ok = user && pass && password_ok(wc, user, pass);
	if (pass) {
		explicit_bzero(pass, strlen(pass));
		MHD_free(pass);
	}
	MHD_free(user);
	if (ok)
		return 1;
	*ret = refuse(wc, conn, MHD_HTTP_UNAUTHORIZED, "unauthorized\n");
	return 0;
}
