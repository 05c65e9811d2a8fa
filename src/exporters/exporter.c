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

const struct exporter_ops *exporter_ops_for(enum adapter_type type)
{
	switch (type) {
	case ADAPTER_PROMETHEUS:
		return &prometheus_exporter_ops;
	case ADAPTER_DATADOG:
		return &dogstatsd_exporter_ops;
	case ADAPTER_OTLP:
		return &otlp_exporter_ops;
	}
	return NULL;
}

int exporters_start(const struct config *cfg, struct registry *reg, void (*refresh)(void *ctx),
		    void *refresh_ctx, struct exporter *out)
{
	for (size_t i = 0; i < cfg->n_adapters; i++) {
		const struct exporter_ops *ops = exporter_ops_for(cfg->adapters[i].type);
		struct exporter_env env = {
			.reg = reg,
			.refresh = refresh,
			.refresh_ctx = refresh_ctx,
		};
		size_t same = 0;

		if (!ops) {
			exporters_stop(out, i);
			return -EINVAL;
		}
		for (size_t j = 0; j < i; j++)
			same += cfg->adapters[j].type == cfg->adapters[i].type;
		if (same)
			snprintf(out[i].name, sizeof(out[i].name), "%s_%zu", ops->type, same + 1);
		else
			snprintf(out[i].name, sizeof(out[i].name), "%s", ops->type);
		env.name = out[i].name;
		out[i].ops = ops;
		out[i].state = ops->start(&cfg->adapters[i], &env);
		if (!out[i].state) {
			exporters_stop(out, i);
			return -EIO;
		}
	}
	return 0;
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

	for (size_t i = 0; i < n; i++) {
		const char *lv[1] = { ex[i].name };

		if (!ex[i].state)
			continue;
		if (errors)
			registry_set(errors, lv, (double)ex[i].ops->errors(ex[i].state));
		if (dropped)
			registry_set(dropped, lv, (double)ex[i].ops->dropped(ex[i].state));
	}
}
