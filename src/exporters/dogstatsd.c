// SPDX-License-Identifier: MIT
/*
 * Placeholder until the dogstatsd adapter lands: the config accepts the type, the
 * start fails with a clear message.
 */
#include <stddef.h>

#include "../log.h"
#include "exporter.h"

static void *stub_start(const struct adapter_config *cfg, const struct exporter_env *env)
{
	(void)cfg;
	pr_err("adapter %s: not implemented in this build", env->name);
	return NULL;
}

const struct exporter_ops dogstatsd_exporter_ops = {
	.type = "datadog",
	.start = stub_start,
};
