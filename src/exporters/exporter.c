// SPDX-License-Identifier: MIT
/*
 * Exporter table: adapter type -> ops, and starting the configured adapters
 * with unique names for their self-metrics.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "exporters/exporter.h"
#include "metrics/catalogue.h"

extern const struct exporter_ops prometheus_exporter_ops;
extern const struct exporter_ops dogstatsd_exporter_ops;
extern const struct exporter_ops otlp_exporter_ops;
extern const struct exporter_ops remote_write_exporter_ops;

const struct exporter_ops *exporter_ops_for(enum adapter_type type)
{
	switch (type) {
	case ADAPTER_PROMETHEUS:
		return &prometheus_exporter_ops;
	case ADAPTER_DATADOG:
		return &dogstatsd_exporter_ops;
	case ADAPTER_OTLP:
		return &otlp_exporter_ops;
	case ADAPTER_REMOTE_WRITE:
		return &remote_write_exporter_ops;
	}
	return NULL;
}

/* Adapter i of cfg, named and set up in *ex but not started: -EINVAL for an
 * unknown type. The name is the type, "_N" added for the Nth of a type. */
static int exporter_prepare(const struct config *cfg, size_t i, struct exporter *ex)
{
	const struct exporter_ops *ops = exporter_ops_for(cfg->adapters[i].type);
	size_t same = 0;

	memset(ex, 0, sizeof(*ex));
	if (!ops)
		return -EINVAL;
	for (size_t j = 0; j < i; j++)
		same += cfg->adapters[j].type == cfg->adapters[i].type;
	if (same)
		snprintf(ex->name, sizeof(ex->name), "%s_%zu", ops->type, same + 1);
	else
		snprintf(ex->name, sizeof(ex->name), "%s", ops->type);
	ex->ops = ops;
	ex->cfg = cfg->adapters[i];
	return 0;
}

static int exporter_start(struct exporter *ex, struct registry *reg, void (*refresh)(void *ctx),
			  void *refresh_ctx, int reload)
{
	struct exporter_env env = {
		.reg = reg,
		.refresh = refresh,
		.refresh_ctx = refresh_ctx,
		.name = ex->name,
		.reload = reload,
	};

	ex->state = ex->ops->start(&ex->cfg, &env);
	return ex->state ? 0 : -EIO;
}

int exporters_start(const struct config *cfg, struct registry *reg, void (*refresh)(void *ctx),
		    void *refresh_ctx, struct exporter *out)
{
	for (size_t i = 0; i < cfg->n_adapters; i++) {
		int err = exporter_prepare(cfg, i, &out[i]);

		if (!err)
			err = exporter_start(&out[i], reg, refresh, refresh_ctx, 0);
		if (err) {
			exporters_stop(out, i);
			return err;
		}
	}
	return 0;
}

int exporters_reload(struct exporter *ex, size_t *n, const struct config *cfg, struct registry *reg,
		     void (*refresh)(void *ctx), void *refresh_ctx)
{
	struct exporter next[CONFIG_MAX_ADAPTERS];
	int kept[CONFIG_MAX_ADAPTERS] = { 0 }, started[CONFIG_MAX_ADAPTERS] = { 0 };
	size_t i, j, m = 0;
	int ret = 0;

	for (j = 0; j < cfg->n_adapters; j++) {
		if (exporter_prepare(cfg, j, &next[j]))
			continue; /* cannot happen: the parser knows every type */
		for (i = 0; i < *n; i++) {
			if (kept[i] || strcmp(ex[i].name, next[j].name) ||
			    memcmp(&ex[i].cfg, &next[j].cfg, sizeof(next[j].cfg)))
				continue;
			next[j] = ex[i];
			kept[i] = started[j] = 1;
			break;
		}
	}
	/* stop first: a changed adapter may want the same port back */
	for (i = 0; i < *n; i++) {
		if (kept[i] || !ex[i].state)
			continue;
		for (j = 0; j < cfg->n_adapters; j++) {
			if (started[j] || strcmp(ex[i].name, next[j].name))
				continue;
			next[j].errors_base = ex[i].errors_base + ex[i].ops->errors(ex[i].state);
			next[j].dropped_base = ex[i].dropped_base + ex[i].ops->dropped(ex[i].state);
			if (ex[i].ops->rejected)
				next[j].rejected_base =
					ex[i].rejected_base + ex[i].ops->rejected(ex[i].state);
		}
		ex[i].ops->stop(ex[i].state);
		ex[i].state = NULL;
	}
	for (j = 0; j < cfg->n_adapters; j++) {
		if (!next[j].ops)
			continue;
		if (!started[j] && exporter_start(&next[j], reg, refresh, refresh_ctx, 1)) {
			ret = -EIO;
			continue;
		}
		ex[m++] = next[j];
	}
	*n = m;
	return ret;
}

void exporters_stop(struct exporter *ex, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (ex[i].ops && ex[i].state)
			ex[i].ops->stop(ex[i].state);
		ex[i].state = NULL;
	}
}

void exporters_publish(const struct exporter *ex, size_t n, struct registry *reg)
{
	struct metric_family *errors = registry_find(reg, catalogue[M_EXPORTER_ERRORS].name);
	struct metric_family *dropped = registry_find(reg, catalogue[M_EXPORTER_DROPPED].name);
	struct metric_family *rejected = registry_find(reg, catalogue[M_EXPORTER_REJECTED].name);

	for (size_t i = 0; i < n; i++) {
		const char *lv[1] = { ex[i].name };

		if (!ex[i].state)
			continue;
		if (errors)
			registry_set(errors, lv,
				     (double)(ex[i].errors_base + ex[i].ops->errors(ex[i].state)));
		if (dropped)
			registry_set(
				dropped, lv,
				(double)(ex[i].dropped_base + ex[i].ops->dropped(ex[i].state)));
		if (rejected && ex[i].ops->rejected)
			registry_set(
				rejected, lv,
				(double)(ex[i].rejected_base + ex[i].ops->rejected(ex[i].state)));
	}
}
