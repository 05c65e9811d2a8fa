/* SPDX-License-Identifier: MIT */
/*
 * The web configuration of the Prometheus endpoint: Prometheus
 * exporter-toolkit's web-config.yml (`--web.config.file`) read as is, so a
 * file written for node_exporter works here. TLS (server certificate,
 * client certificates, version bounds) goes to libmicrohttpd's GnuTLS
 * support; basic_auth_users are checked with crypt(3)'s bcrypt; the
 * http_server_config headers are added to every response.
 *
 * Who may include it: src/exporters/ (prometheus.c, prometheus_settings.c)
 * and its unit test.
 */
#ifndef GESPANN_EXPORTERS_WEBCONFIG_H
#define GESPANN_EXPORTERS_WEBCONFIG_H

#include <stddef.h>
#include <stdint.h>

#include <microhttpd.h>

struct webconfig;

/* Room webconfig_mhd_options() may fill, its MHD_OPTION_END included. */
#define WEBCONFIG_MHD_OPTIONS 6

/*
 * Read and check the web config file at path into a new *out. Relative
 * file names in it (cert_file ...) are relative to the file's folder, as in
 * exporter-toolkit. Every certificate and key is read and parsed now.
 * Errors: -EINVAL with "PATH:LINE: key.path: what" in err for a wrong file
 * (unknown key, unreadable or bad certificate, bad hash, unknown auth type),
 * a negative errno with "PATH: cannot read: ..." when the file itself
 * cannot be read, -ENOMEM.
 */
int webconfig_load(const char *path, struct webconfig **out, char *err, size_t errlen);

/* The same from text (name for messages, dir for relative file names). */
int webconfig_parse(const char *text, size_t len, const char *name, const char *dir,
		    struct webconfig **out, char *err, size_t errlen);

void webconfig_free(struct webconfig *wc); /* accepts NULL */

/*
 * A digest of the file and of every certificate and key it names: it
 * changes when any of them changes, so a reload can tell (never 0).
 */
uint64_t webconfig_stamp(const struct webconfig *wc);

/* Whether the file turns TLS on; the number of basic auth users. */
int webconfig_tls(const struct webconfig *wc);
size_t webconfig_users(const struct webconfig *wc);

/*
 * The flags (MHD_USE_TLS or 0) and options (key, certificate, client CA,
 * TLS priorities, then MHD_OPTION_END) to start the daemon with; pass the
 * options as MHD_OPTION_ARRAY. opts holds WEBCONFIG_MHD_OPTIONS items and
 * points into wc, which must outlive the daemon. wc may be NULL (plain HTTP).
 */
unsigned int webconfig_mhd_flags(const struct webconfig *wc);
void webconfig_mhd_options(const struct webconfig *wc, struct MHD_OptionItem *opts);

/*
 * Admit a request: the client certificate policy, then basic auth. Returns
 * 1 when the request may be answered; 0 when a refusal (403 for a missing
 * or unverified client certificate, 401 with `WWW-Authenticate: Basic
 * realm="gespann"` for missing or wrong credentials) was queued, its result
 * in *ret. A password that matched once is remembered (as a keyed digest)
 * so bcrypt runs only for new or wrong passwords. wc may be NULL (admit).
 */
int webconfig_admit(struct webconfig *wc, struct MHD_Connection *conn, enum MHD_Result *ret);

/* Add the configured http_server_config headers to resp: MHD_YES or MHD_NO. */
enum MHD_Result webconfig_add_headers(const struct webconfig *wc, struct MHD_Response *resp);

#endif
