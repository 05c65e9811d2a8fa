/* SPDX-License-Identifier: MIT */
/*
 * The settings tables of the adapters, one per *_settings.c file next to the
 * exporter it configures. settings.c lists them for the config layer in
 * config_adapter_kinds[]; config/ never includes this header (exporters
 * include config, not the reverse).
 */
#ifndef GESPANN_EXPORTERS_SETTINGS_H
#define GESPANN_EXPORTERS_SETTINGS_H

#include "config/schema.h"

extern const struct config_section prometheus_settings;
extern const struct config_section datadog_settings;
extern const struct config_section otlp_settings;
extern const struct config_section remote_write_settings;

/* The check of an http:// or https:// endpoint (the otlp and remote_write
 * rows): NULL, or why it is not one. */
const char *settings_url_problem(const char *s);

#endif
