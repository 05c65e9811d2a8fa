// SPDX-License-Identifier: MIT
/*
 * Prometheus remote write exporter: every interval a snapshot of the whole
 * registry becomes one WriteRequest (remote_write_encode.c), snappy block
 * compressed, queued and POSTed to a remote write 1.0 receiver (Prometheus
 * with --web.enable-remote-write-receiver, VictoriaMetrics, Mimir, Thanos
 * Receive ...) with Content-Encoding: snappy and
 * X-Prometheus-Remote-Write-Version: 0.1.0.
 *
 * Queue: snapshots wait in a ring bounded in count (queue) and compressed
 * bytes (queue_bytes); when a new one does not fit, the oldest not being
 * sent is dropped and counted. Snapshots go out oldest first, one request at
 * a time (httppush.c: libcurl multi under the main loop's epoll, never
 * blocking), so a receiver that comes back gets the backlog in time order.
 *
 * Retries: 429, 5xx and connection failures keep the snapshot at the head
 * and try again after Retry-After or an exponential backoff with jitter
 * (1 s to 30 s, growing with the failures in a row, whichever snapshot they
 * were for). Any other answer (a 400 for a malformed or out-of-order
 * sample, a 401) would come again: the snapshot is dropped. Every failed
 * request is an error, every snapshot not delivered a drop; warnings are
 * limited to one a minute.
 *
 * TLS: an https:// endpoint is verified against the system's CAs or the
 * ca_file given (libcurl); a certificate that does not verify is an error
 * the next try would repeat: not retried.
 *
 * Credentials: basic auth or a bearer token, given inline or read from a
 * file before every snapshot (a rotated secret is picked up without a
 * reload; when the file cannot be read the last value read is kept).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/clock.h"
#include "util/log.h"
#include "util/redact.h"
#include "exporters/exporter.h"
#include "exporters/httppush.h"
#include "exporters/remote_write.h"

#define NS_PER_MS  UINT64_C(1000000)
#define NS_PER_SEC UINT64_C(1000000000)

#define RW_WARN_EVERY (60 * NS_PER_SEC)
#define RW_SECRET_MAX 4096 /* bytes of a password or token file */

struct rw_snapshot {
	uint8_t *body; /* snappy-compressed WriteRequest */
	size_t len;
};

struct rw_exporter {
	char name[32];
	char shown[512]; /* the endpoint for logs: its password redacted */
	uint64_t interval_ns;
	struct registry *reg;
	void (*refresh)(void *ctx);
	void *refresh_ctx;
	struct adapter_config cfg;
	const char *ext[CONFIG_MAX_EXT_LABELS][2]; /* into cfg.ext_labels */
	char secret[RW_SECRET_MAX]; /* the password or token last read from its file */

	struct httppush *http;
	struct rw_snapshot *q; /* ring of cfg.queue entries */
	size_t q_head, q_len;
	uint64_t q_bytes;
	bool sending; /* the head is in flight */
	bool retry_pending;
	uint64_t retry_at_ns;
	unsigned int failures; /* requests failed in a row: the backoff's step */
	uint64_t next_export_ns;
	uint32_t rnd;

	uint64_t delivered, errors, dropped;
	uint64_t last_warn_ns, suppressed;
	bool warned; /* a warning since the last success */
};

static uint32_t next_rnd(struct rw_exporter *e)
{
	uint32_t x = e->rnd; /* xorshift32: jitter only */

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	e->rnd = x;
	return x;
}

/* One warning a minute at most; the rest go to debug and are counted. */
static void rw_warn(struct rw_exporter *e, uint64_t now, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void rw_warn(struct rw_exporter *e, uint64_t now, const char *fmt, ...)
{
	char msg[640];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	e->warned = true;
	if (e->last_warn_ns && now - e->last_warn_ns < RW_WARN_EVERY) {
		e->suppressed++;
		pr_debug("adapter %s: %s", e->name, msg);
		return;
	}
	if (e->suppressed)
		pr_warn("adapter %s: %s (%" PRIu64 " more problems in the last minute)", e->name,
			msg, e->suppressed);
	else
		pr_warn("adapter %s: %s", e->name, msg);
	e->last_warn_ns = now;
	e->suppressed = 0;
}

/* ==== Credentials ==== */

/*
 * The first line of path (trailing CR, LF and blanks cut) into buf. Returns
 * 0 or a negative errno (-EINVAL: empty, too long or a control character).
 */
static int read_secret(const char *path, char *buf, size_t size)
{
	char tmp[RW_SECRET_MAX + 1];
	ssize_t n;
	size_t len;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	n = read(fd, tmp, sizeof(tmp));
	if (n < 0) {
		n = -errno;
		close(fd);
		return (int)n;
	}
	close(fd);
	len = (size_t)n;
	if (len >= size || len >= sizeof(tmp))
		return -EINVAL;
	while (len && (tmp[len - 1] == '\n' || tmp[len - 1] == '\r' || tmp[len - 1] == ' ' ||
		       tmp[len - 1] == '\t'))
		len--;
	if (!len)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		if ((unsigned char)tmp[i] < ' ' || tmp[i] == 0x7f)
			return -EINVAL;
	}
	memcpy(buf, tmp, len);
	buf[len] = '\0';
	return 0;
}

/* Give the client the credentials, reading their file. Returns 0 or -errno
 * (the last good value stays in use). */
static int apply_credentials(struct rw_exporter *e)
{
	const struct adapter_config *c = &e->cfg;
	const char *file = c->password_file[0] ? c->password_file : c->bearer_token_file;
	int err;

	if (file[0]) {
		char buf[RW_SECRET_MAX];

		err = read_secret(file, buf, sizeof(buf));
		if (err)
			return err;
		memcpy(e->secret, buf, sizeof(buf));
	}
	if (c->username[0])
		return httppush_set_basic(e->http, c->username,
					  c->password_file[0] ? e->secret : c->password);
	if (c->bearer_token_file[0])
		return httppush_set_bearer(e->http, e->secret);
	if (c->bearer_token[0])
		return httppush_set_bearer(e->http, c->bearer_token);
	return 0;
}

/* ==== Queue ==== */

static struct rw_snapshot *q_at(struct rw_exporter *e, size_t i)
{
	return &e->q[(e->q_head + i) % e->cfg.queue];
}

static void q_pop_head(struct rw_exporter *e)
{
	struct rw_snapshot *s = q_at(e, 0);

	e->q_bytes -= s->len;
	free(s->body);
	s->body = NULL;
	e->q_head = (e->q_head + 1) % e->cfg.queue;
	e->q_len--;
}

/* Drop the oldest snapshot not in flight; false when there is none. */
static bool q_drop_oldest(struct rw_exporter *e)
{
	struct rw_snapshot *s;
	size_t i = e->sending ? 1 : 0;

	if (e->q_len <= i)
		return false;
	if (!i) {
		q_pop_head(e);
	} else {
		/* close the gap behind the head being sent */
		s = q_at(e, 1);
		e->q_bytes -= s->len;
		free(s->body);
		for (; i + 1 < e->q_len; i++)
			*q_at(e, i) = *q_at(e, i + 1);
		q_at(e, e->q_len - 1)->body = NULL;
		e->q_len--;
	}
	e->dropped++;
	return true;
}

/* Queue body (taken over), dropping the oldest to make room. */
static void q_push(struct rw_exporter *e, uint8_t *body, size_t len, uint64_t now)
{
	uint64_t lost = 0;

	if (len > e->cfg.queue_bytes) {
		free(body);
		e->dropped++;
		rw_warn(e, now,
			"a snapshot of %zu bytes is larger than queue_bytes (%" PRIu64 "): dropped",
			len, e->cfg.queue_bytes);
		return;
	}
	while (e->q_len >= e->cfg.queue || e->q_bytes + len > e->cfg.queue_bytes) {
		if (!q_drop_oldest(e))
			break;
		lost++;
	}
	if (e->q_len >= e->cfg.queue || e->q_bytes + len > e->cfg.queue_bytes) {
		/* only the one in flight is left and there is still no room */
		free(body);
		e->dropped++;
		lost++;
	} else {
		struct rw_snapshot *s = q_at(e, e->q_len);

		s->body = body;
		s->len = len;
		e->q_len++;
		e->q_bytes += len;
	}
	if (lost)
		rw_warn(e, now,
			"queue full (%zu snapshots, %" PRIu64 " bytes): %" PRIu64
			" oldest dropped; is %s reachable?",
			e->q_len, e->q_bytes, lost, e->shown);
}

/* ==== Sending ==== */

static void send_head(struct rw_exporter *e, uint64_t now)
{
	struct rw_snapshot *s = q_at(e, 0);

	e->retry_pending = false;
	if (httppush_post(e->http, s->body, s->len)) {
		e->errors++;
		q_pop_head(e);
		e->dropped++;
		rw_warn(e, now, "failed to start a request to %s", e->shown);
		return;
	}
	e->sending = true;
	pr_debug("adapter %s: POST %s (%zu bytes, %zu queued)", e->name, e->shown, s->len,
		 e->q_len);
}

static void finish_request(struct rw_exporter *e, const struct httppush_result *r, uint64_t now)
{
	int64_t delay;

	e->sending = false;
	if (r->outcome == HTTPPUSH_DELIVERED) {
		e->delivered++;
		q_pop_head(e);
		if (e->warned)
			pr_info("adapter %s: remote write to %s works again after %u failed "
				"requests",
				e->name, e->shown, e->failures);
		e->warned = false;
		e->failures = 0;
		return;
	}
	e->errors++;
	e->failures++;
	if (r->outcome == HTTPPUSH_RETRY) {
		delay = r->retry_after_ns;
		if (delay < 0)
			delay = (int64_t)httppush_backoff_ns(e->failures, next_rnd(e));
		e->retry_pending = true;
		e->retry_at_ns = now + (uint64_t)delay;
		rw_warn(e, now, "remote write to %s failed (%s), retrying in %" PRIu64 " ms",
			e->shown, r->what, (uint64_t)delay / NS_PER_MS);
		return;
	}
	q_pop_head(e);
	e->dropped++;
	if (r->body[0])
		rw_warn(e, now, "remote write to %s failed (%s, not retried): %s", e->shown,
			r->what, r->body);
	else
		rw_warn(e, now, "remote write to %s failed (%s, not retried)", e->shown, r->what);
}

static void take_snapshot(struct rw_exporter *e, uint64_t now)
{
	uint8_t *raw = NULL, *z = NULL;
	size_t raw_len = 0, z_len = 0;
	int err;

	if (e->refresh)
		e->refresh(e->refresh_ctx);
	err = remote_write_render(e->reg, (const char *const(*)[2])e->ext, e->cfg.n_ext_labels,
				  (int64_t)(unix_ns() / NS_PER_MS), &raw, &raw_len);
	if (!err)
		err = remote_write_snappy(raw, raw_len, &z, &z_len);
	free(raw);
	if (err) {
		e->errors++;
		e->dropped++;
		rw_warn(e, now, "failed to encode a snapshot: %s", strerror(-err));
		return;
	}
	err = apply_credentials(e);
	if (err)
		rw_warn(e, now, "cannot read %s (%s): the last credentials read stay in use",
			e->cfg.password_file[0] ? e->cfg.password_file : e->cfg.bearer_token_file,
			strerror(-err));
	q_push(e, z, z_len, now);
}

/* ==== Adapter interface ==== */

static void rw_stop(void *state)
{
	struct rw_exporter *e = state;

	if (!e)
		return;
	/* no final flush: it could only block or be cut short */
	httppush_free(e->http);
	while (e->q && e->q_len)
		q_pop_head(e);
	free(e->q);
	explicit_bzero(e->secret, sizeof(e->secret));
	explicit_bzero(&e->cfg, sizeof(e->cfg));
	free(e);
}

static void *rw_start(const struct adapter_config *cfg, const struct exporter_env *env)
{
	static const char *const headers[] = {
		"Content-Type: application/x-protobuf",
		"Content-Encoding: snappy",
		"X-Prometheus-Remote-Write-Version: 0.1.0",
	};
	struct rw_exporter *e = calloc(1, sizeof(*e));
	int err;

	if (!e) {
		pr_err("adapter %s: %s", env->name, strerror(ENOMEM));
		return NULL;
	}
	snprintf(e->name, sizeof(e->name), "%s", env->name ? env->name : "remote_write");
	/* the defaults are remote_write_settings.c's rows, applied by the parser */
	e->cfg = *cfg;
	if (!e->cfg.queue)
		e->cfg.queue = 1;
	redact_url(e->cfg.endpoint, e->shown, sizeof(e->shown));
	for (size_t i = 0; i < e->cfg.n_ext_labels && i < CONFIG_MAX_EXT_LABELS; i++) {
		e->ext[i][0] = e->cfg.ext_labels[i][0];
		e->ext[i][1] = e->cfg.ext_labels[i][1];
	}
	e->interval_ns = cfg->interval_ns;
	e->reg = env->reg;
	e->refresh = env->refresh;
	e->refresh_ctx = env->refresh_ctx;
	e->rnd = (uint32_t)(mono_ns() ^ ((uint64_t)getpid() << 16)) | 1;
	e->q = calloc(e->cfg.queue, sizeof(*e->q));
	if (!e->q) {
		pr_err("adapter %s: %s", e->name, strerror(ENOMEM));
		goto fail;
	}
	e->http = httppush_new(e->name, e->cfg.endpoint, cfg->timeout_ns, headers,
			       sizeof(headers) / sizeof(headers[0]));
	if (!e->http)
		goto fail;
	if (cfg->ca_file[0]) {
		/* refused now rather than on every request */
		if (access(cfg->ca_file, R_OK)) {
			pr_err("adapter %s: ca_file %s: %s", e->name, cfg->ca_file,
			       strerror(errno));
			goto fail;
		}
		if (httppush_set_ca(e->http, cfg->ca_file)) {
			pr_err("adapter %s: ca_file %s: not usable by libcurl", e->name,
			       cfg->ca_file);
			goto fail;
		}
	}
	err = apply_credentials(e);
	if (err) {
		if (err == -ENOMEM)
			pr_err("adapter %s: %s", e->name, strerror(ENOMEM));
		else
			pr_err("adapter %s: cannot read %s: %s", e->name,
			       cfg->password_file[0] ? cfg->password_file : cfg->bearer_token_file,
			       err == -EINVAL ? "empty, longer than 4095 bytes or not one line" :
						strerror(-err));
		goto fail;
	}
	e->next_export_ns = mono_ns() + e->interval_ns;
	pr_info("remote_write exporter pushing to %s every %" PRIu64 " ms (queue %" PRIu32
		" snapshots, %" PRIu64 " bytes)",
		e->shown, e->interval_ns / NS_PER_MS, e->cfg.queue, e->cfg.queue_bytes);
	return e;
fail:
	rw_stop(e);
	return NULL;
}

static int rw_fd(void *state)
{
	const struct rw_exporter *e = state;

	return e ? httppush_fd(e->http) : -1;
}

/* ns until t (monotonic), rounded up to whole ms so the loop does not spin. */
static int ms_until(uint64_t t, uint64_t now)
{
	uint64_t ms;

	if (t <= now)
		return 0;
	ms = (t - now + NS_PER_MS - 1) / NS_PER_MS;
	return ms > INT_MAX ? INT_MAX : (int)ms;
}

static int rw_timeout_ms(void *state)
{
	const struct rw_exporter *e = state;
	uint64_t now = mono_ns();
	int64_t dl;
	int t, best;

	if (!e)
		return -1;
	best = ms_until(e->next_export_ns, now);
	if (!e->sending && e->q_len) {
		t = e->retry_pending ? ms_until(e->retry_at_ns, now) : 0;
		best = t < best ? t : best;
	}
	dl = httppush_deadline_ns(e->http);
	if (dl >= 0) {
		t = ms_until((uint64_t)dl, now);
		best = t < best ? t : best;
	}
	return best;
}

static void rw_run(void *state)
{
	struct rw_exporter *e = state;
	struct httppush_result res;
	uint64_t now;

	if (!e)
		return;
	if (httppush_drive(e->http, &res))
		finish_request(e, &res, mono_ns());
	now = mono_ns();
	if (now >= e->next_export_ns) {
		take_snapshot(e, now);
		e->next_export_ns += e->interval_ns;
		/* after a stall, skip the missed intervals rather than burst */
		if (e->next_export_ns <= now)
			e->next_export_ns = now + e->interval_ns;
	}
	if (!e->sending && e->q_len && (!e->retry_pending || now >= e->retry_at_ns))
		send_head(e, now);
}

static uint64_t rw_errors(const void *state)
{
	const struct rw_exporter *e = state;

	return e ? e->errors : 0;
}

static uint64_t rw_dropped(const void *state)
{
	const struct rw_exporter *e = state;

	return e ? e->dropped : 0;
}

const struct exporter_ops remote_write_exporter_ops = {
	.type = "remote_write",
	.start = rw_start,
	.fd = rw_fd,
	.timeout_ms = rw_timeout_ms,
	.run = rw_run,
	.stop = rw_stop,
	.errors = rw_errors,
	.dropped = rw_dropped,
};
