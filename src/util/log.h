/* SPDX-License-Identifier: MIT */
/*
 * Logging: one line per event, leveled, to stderr. libbpf's own messages are
 * routed here one level lower (its warnings become our info, and so on).
 */
#ifndef GESPANN_LOG_H
#define GESPANN_LOG_H

enum log_level {
	LOG_LEVEL_ERROR = 0,
	LOG_LEVEL_WARN = 1,
	LOG_LEVEL_INFO = 2,
	LOG_LEVEL_DEBUG = 3,
};

/* Set the threshold; messages above it are dropped. Default: info. */
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Parse "error", "warn", "info", "debug" (also "warning"). Returns 0 or -EINVAL. */
int log_level_parse(const char *s, enum log_level *out);
const char *log_level_name(enum log_level level);

/* Format: "2026-11-23T13:12:17.123Z level=warn msg" (newline added). */
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define pr_err(...)   log_msg(LOG_LEVEL_ERROR, __VA_ARGS__)
#define pr_warn(...)  log_msg(LOG_LEVEL_WARN, __VA_ARGS__)
#define pr_info(...)  log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define pr_debug(...) log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__)

/* Install a libbpf print callback that maps libbpf levels one lower. */
void log_setup_libbpf(void);

#endif
