// SPDX-License-Identifier: MIT
/*
 * Unit tests for src/log.c: level names, the line format, one line per
 * message (also for libbpf's multi-line output), level filtering and the
 * libbpf level mapping. stderr is pointed at a temporary file with dup2()
 * while a test logs, and put back before anything is asserted, so that
 * cmocka's own messages still reach the terminal.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "util/log.h"

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

#define LINE_RE "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z level=[a-z]+ "

/* ==== Capturing stderr ==== */

struct capture {
	FILE *file;
	int saved_fd;
};

static void capture_start(struct capture *c)
{
	fflush(stderr);
	c->file = tmpfile();
	assert_non_null(c->file);
	c->saved_fd = dup(STDERR_FILENO);
	assert_true(c->saved_fd >= 0);
	assert_true(dup2(fileno(c->file), STDERR_FILENO) >= 0);
}

/* Restore stderr; returns what was written, NUL-terminated (caller frees). */
static char *capture_end(struct capture *c)
{
	long size;
	char *out;

	fflush(stderr);
	dup2(c->saved_fd, STDERR_FILENO);
	close(c->saved_fd);
	assert_int_equal(fseek(c->file, 0, SEEK_END), 0);
	size = ftell(c->file);
	assert_true(size >= 0);
	rewind(c->file);
	out = malloc((size_t)size + 1);
	assert_non_null(out);
	assert_int_equal(fread(out, 1, (size_t)size, c->file), (size_t)size);
	out[size] = '\0';
	fclose(c->file);
	return out;
}

static int count_lines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* `line` (without its newline) is a well-formed line at `level` saying `msg`. */
static void check_line(const char *what, const char *line, const char *level, const char *msg)
{
	char want[256];
	const char *rest;
	regex_t re;
	int ret;

	assert_int_equal(regcomp(&re, LINE_RE, REG_EXTENDED | REG_NOSUB), 0);
	ret = regexec(&re, line, 0, NULL, 0);
	regfree(&re);
	if (ret)
		fail_msg("%s: line does not match %s:\n  actual: \"%s\"", what, LINE_RE, line);
	rest = strchr(line, ' ') + 1;
	snprintf(want, sizeof(want), "level=%s %s", level, msg);
	if (strcmp(rest, want))
		fail_msg("%s:\n  expected: \"... %s\"\n  actual:   \"%s\"", what, want, line);
}

static int restore_level(void **state)
{
	log_set_level(LOG_LEVEL_INFO);
	return 0;
}

/* ==== Levels ==== */

static void test_level_parse(void **state)
{
	static const struct {
		const char *text;
		int ret;
		enum log_level level;
	} cases[] = {
		{ "error", 0, LOG_LEVEL_ERROR },  { "warn", 0, LOG_LEVEL_WARN },
		{ "warning", 0, LOG_LEVEL_WARN }, { "info", 0, LOG_LEVEL_INFO },
		{ "debug", 0, LOG_LEVEL_DEBUG },  { "", -EINVAL, 0 },
		{ "INFO", -EINVAL, 0 },		  { "Info", -EINVAL, 0 },
		{ "information", -EINVAL, 0 },	  { "inf", -EINVAL, 0 },
		{ " info", -EINVAL, 0 },	  { "info ", -EINVAL, 0 },
		{ "trace", -EINVAL, 0 },	  { "2", -EINVAL, 0 },
		{ "fatal", -EINVAL, 0 },	  { "err", -EINVAL, 0 },
	};
	size_t i;

	for (i = 0; i < COUNT_OF(cases); i++) {
		enum log_level level = (enum log_level)99;
		int ret = log_level_parse(cases[i].text, &level);

		if (ret != cases[i].ret)
			fail_msg("\"%s\": expected return %d, got %d", cases[i].text, cases[i].ret,
				 ret);
		if (!ret && level != cases[i].level)
			fail_msg("\"%s\": expected level %d, got %d", cases[i].text, cases[i].level,
				 level);
		if (ret && level != (enum log_level)99)
			fail_msg("\"%s\": output written on error", cases[i].text);
	}
	assert_int_equal(log_level_parse(NULL, &(enum log_level){ 0 }), -EINVAL);
	assert_int_equal(log_level_parse("info", NULL), -EINVAL);
}

static void test_level_names(void **state)
{
	static const struct {
		enum log_level level;
		const char *name;
	} cases[] = {
		{ LOG_LEVEL_ERROR, "error" },	  { LOG_LEVEL_WARN, "warn" },
		{ LOG_LEVEL_INFO, "info" },	  { LOG_LEVEL_DEBUG, "debug" },
		{ (enum log_level)4, "unknown" }, { (enum log_level) - 1, "unknown" },
	};
	size_t i;

	for (i = 0; i < COUNT_OF(cases); i++) {
		const char *name = log_level_name(cases[i].level);
		enum log_level back;

		if (strcmp(name, cases[i].name))
			fail_msg("level %d: expected \"%s\", got \"%s\"", (int)cases[i].level,
				 cases[i].name, name);
		/* every real name parses back to its level */
		if (strcmp(name, "unknown")) {
			assert_int_equal(log_level_parse(name, &back), 0);
			assert_int_equal(back, cases[i].level);
		}
	}
}

static void test_level_set_get(void **state)
{
	assert_int_equal(log_get_level(), LOG_LEVEL_INFO); /* the default */
	log_set_level(LOG_LEVEL_DEBUG);
	assert_int_equal(log_get_level(), LOG_LEVEL_DEBUG);
	log_set_level(LOG_LEVEL_ERROR);
	assert_int_equal(log_get_level(), LOG_LEVEL_ERROR);
	/* out of range is clamped, not stored */
	log_set_level((enum log_level)17);
	assert_int_equal(log_get_level(), LOG_LEVEL_DEBUG);
	log_set_level((enum log_level) - 3);
	assert_int_equal(log_get_level(), LOG_LEVEL_ERROR);
}

/* ==== Line format ==== */

static void test_line_format(void **state)
{
	struct capture cap;
	struct tm tm = { 0 };
	time_t before, after, stamp;
	char *out, *end;

	before = time(NULL);
	capture_start(&cap);
	pr_warn("attach %s failed: %d", "tcp", -22);
	out = capture_end(&cap);
	after = time(NULL);

	assert_int_equal(count_lines(out), 1);
	assert_int_equal(out[strlen(out) - 1], '\n');
	out[strlen(out) - 1] = '\0';
	check_line("pr_warn", out, "warn", "attach tcp failed: -22");

	/* the stamp is now, in UTC */
	end = strptime(out, "%Y-%m-%dT%H:%M:%S", &tm);
	assert_non_null(end);
	stamp = timegm(&tm);
	if (stamp < before - 1 || stamp > after + 1)
		fail_msg("timestamp %lld is not between %lld and %lld (UTC)", (long long)stamp,
			 (long long)before, (long long)after);
	free(out);
}

static void test_each_level(void **state)
{
	static const struct {
		enum log_level level;
		const char *name;
	} cases[] = {
		{ LOG_LEVEL_ERROR, "error" },
		{ LOG_LEVEL_WARN, "warn" },
		{ LOG_LEVEL_INFO, "info" },
		{ LOG_LEVEL_DEBUG, "debug" },
	};
	struct capture cap;
	char *out, *line;
	size_t i;

	log_set_level(LOG_LEVEL_DEBUG);
	capture_start(&cap);
	pr_err("one");
	pr_warn("two");
	pr_info("three");
	pr_debug("four");
	out = capture_end(&cap);

	assert_int_equal(count_lines(out), 4);
	line = strtok(out, "\n");
	for (i = 0; i < COUNT_OF(cases); i++) {
		static const char *const msgs[] = { "one", "two", "three", "four" };

		assert_non_null(line);
		check_line(cases[i].name, line, cases[i].name, msgs[i]);
		line = strtok(NULL, "\n");
	}
	free(out);
}

static void test_newlines_joined(void **state)
{
	static const struct {
		const char *msg;
		const char *want;
	} cases[] = {
		{ "trailing newline\n", "trailing newline" },
		{ "two trailing\r\n\n", "two trailing" },
		{ "first\nsecond\nthird", "first second third" },
		{ "crlf\r\ninside", "crlf  inside" },
		{ "\nleading", " leading" },
		{ "", "" },
		{ "\n", "" },
	};
	size_t i;

	for (i = 0; i < COUNT_OF(cases); i++) {
		struct capture cap;
		char what[64];
		char *out;

		capture_start(&cap);
		pr_info("%s", cases[i].msg);
		out = capture_end(&cap);
		snprintf(what, sizeof(what), "newline case %zu", i);
		if (count_lines(out) != 1)
			fail_msg("%s: expected 1 line, got %d: \"%s\"", what, count_lines(out),
				 out);
		out[strlen(out) - 1] = '\0';
		check_line(what, out, "info", cases[i].want);
		free(out);
	}
}

static void test_level_filter(void **state)
{
	struct capture cap;
	char *out;

	log_set_level(LOG_LEVEL_WARN);
	capture_start(&cap);
	pr_debug("dropped");
	pr_info("dropped");
	pr_warn("kept");
	pr_err("kept too");
	out = capture_end(&cap);
	assert_int_equal(count_lines(out), 2);
	assert_null(strstr(out, "dropped"));

	free(out);

	log_set_level(LOG_LEVEL_ERROR);
	capture_start(&cap);
	pr_warn("dropped");
	out = capture_end(&cap);
	if (out[0])
		fail_msg("at level error: expected no output, got \"%s\"", out);
	free(out);
}

/* Longer than any stack buffer: still one line, nothing lost. */
static void test_long_message(void **state)
{
	const size_t n = 100000;
	struct capture cap;
	char *msg, *out, *body;
	size_t i;

	msg = malloc(n + 1);
	assert_non_null(msg);
	for (i = 0; i < n; i++)
		msg[i] = (i % 1000 == 999) ? '\n' : (char)('a' + i % 26);
	msg[n] = '\0';

	capture_start(&cap);
	pr_info("<%s>", msg);
	out = capture_end(&cap);

	assert_int_equal(count_lines(out), 1);
	body = strstr(out, "level=info <");
	assert_non_null(body);
	body += strlen("level=info <");
	for (i = 0; i < n; i++) {
		char want = msg[i] == '\n' ? ' ' : msg[i];

		if (body[i] != want)
			fail_msg("long message: byte %zu: expected '%c', got '%c'", i, want,
				 body[i]);
	}
	assert_string_equal(body + n, ">\n");
	free(msg);
	free(out);
}

static void test_errno_preserved(void **state)
{
	struct capture cap;
	char *out;

	capture_start(&cap);
	errno = EADDRINUSE;
	pr_err("bind failed: %s", strerror(errno));
	assert_int_equal(errno, EADDRINUSE);
	errno = ENOENT;
	pr_debug("filtered out");
	assert_int_equal(errno, ENOENT);
	out = capture_end(&cap);
	assert_int_equal(count_lines(out), 1);
	free(out);
}

/* Lines logged from several threads at once come out whole. */
#define THREADS		 4
#define LINES_PER_THREAD 500

static void *log_thread(void *arg)
{
	long id = (long)arg;
	int i;

	for (i = 0; i < LINES_PER_THREAD; i++)
		pr_info("thread %ld line %d %s", id, i,
			"padding padding padding padding padding padding padding padding");
	return NULL;
}

static void test_threads(void **state)
{
	pthread_t threads[THREADS];
	struct capture cap;
	char *out, *line, *save = NULL;
	regex_t re;
	int seen = 0;
	long t;

	assert_int_equal(regcomp(&re, LINE_RE "thread [0-9] line [0-9]+ (padding ?){8}$",
				 REG_EXTENDED | REG_NOSUB),
			 0);
	capture_start(&cap);
	for (t = 0; t < THREADS; t++)
		assert_int_equal(pthread_create(&threads[t], NULL, log_thread, (void *)t), 0);
	for (t = 0; t < THREADS; t++)
		pthread_join(threads[t], NULL);
	out = capture_end(&cap);

	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (regexec(&re, line, 0, NULL, 0)) {
			regfree(&re);
			fail_msg("interleaved line %d: \"%s\"", seen, line);
		}
		seen++;
	}
	regfree(&re);
	free(out);
	assert_int_equal(seen, THREADS * LINES_PER_THREAD);
}

/* ==== libbpf ==== */

static int call_libbpf(libbpf_print_fn_t fn, enum libbpf_print_level level, const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = fn(level, fmt, ap);
	va_end(ap);
	return ret;
}

/* The callback log_setup_libbpf() installed (libbpf_set_print returns the old one). */
static libbpf_print_fn_t installed_callback(void)
{
	libbpf_print_fn_t fn;

	log_setup_libbpf();
	fn = libbpf_set_print(NULL);
	libbpf_set_print(fn);
	assert_non_null(fn);
	return fn;
}

static void test_libbpf_levels(void **state)
{
	static const struct {
		enum log_level threshold;
		enum libbpf_print_level from;
		const char *want; /* our level name, NULL: dropped */
	} cases[] = {
		{ LOG_LEVEL_ERROR, LIBBPF_WARN, NULL },	 { LOG_LEVEL_WARN, LIBBPF_WARN, NULL },
		{ LOG_LEVEL_INFO, LIBBPF_WARN, "info" }, { LOG_LEVEL_DEBUG, LIBBPF_WARN, "info" },
		{ LOG_LEVEL_INFO, LIBBPF_INFO, NULL },	 { LOG_LEVEL_DEBUG, LIBBPF_INFO, "debug" },
		{ LOG_LEVEL_INFO, LIBBPF_DEBUG, NULL },	 { LOG_LEVEL_DEBUG, LIBBPF_DEBUG, "debug" },
		{ LOG_LEVEL_ERROR, LIBBPF_DEBUG, NULL },
	};
	libbpf_print_fn_t fn = installed_callback();
	size_t i;

	for (i = 0; i < COUNT_OF(cases); i++) {
		struct capture cap;
		char what[96];
		char *out;

		snprintf(what, sizeof(what), "libbpf level %d at threshold %s", cases[i].from,
			 log_level_name(cases[i].threshold));
		log_set_level(cases[i].threshold);
		capture_start(&cap);
		call_libbpf(fn, cases[i].from, "libbpf: map '%s': created\n", "conns");
		out = capture_end(&cap);
		if (!cases[i].want) {
			if (out[0])
				fail_msg("%s: expected nothing, got \"%s\"", what, out);
		} else {
			if (count_lines(out) != 1)
				fail_msg("%s: expected 1 line, got \"%s\"", what, out);
			out[strlen(out) - 1] = '\0';
			check_line(what, out, cases[i].want, "libbpf: map 'conns': created");
		}
		free(out);
	}
}

static void test_libbpf_multiline(void **state)
{
	libbpf_print_fn_t fn = installed_callback();
	char *out, *first, *second, *save = NULL;
	struct capture cap;

	log_set_level(LOG_LEVEL_INFO);
	capture_start(&cap);
	call_libbpf(fn, LIBBPF_WARN, "libbpf: prog '%s': BPF program load failed: %s\n", "tcp",
		    "Invalid argument");
	call_libbpf(fn, LIBBPF_WARN,
		    "libbpf: -- BEGIN PROG LOAD LOG --\n%s-- END PROG LOAD LOG --\n",
		    "0: R1=ctx() R10=fp0\n1: (b7) r0 = 0\n");
	out = capture_end(&cap);

	/* one line per call: the verifier log is folded into its line */
	if (count_lines(out) != 2)
		fail_msg("expected 2 lines, got %d: \"%s\"", count_lines(out), out);
	first = strtok_r(out, "\n", &save);
	second = strtok_r(NULL, "\n", &save);
	check_line("first call", first, "info",
		   "libbpf: prog 'tcp': BPF program load failed: Invalid argument");
	check_line(
		"second call", second, "info",
		"libbpf: -- BEGIN PROG LOAD LOG -- 0: R1=ctx() R10=fp0 1: (b7) r0 = 0 -- END PROG LOAD LOG --");
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_level_set_get, restore_level),
		cmocka_unit_test_teardown(test_level_parse, restore_level),
		cmocka_unit_test(test_level_names),
		cmocka_unit_test_teardown(test_line_format, restore_level),
		cmocka_unit_test_teardown(test_each_level, restore_level),
		cmocka_unit_test_teardown(test_newlines_joined, restore_level),
		cmocka_unit_test_teardown(test_level_filter, restore_level),
		cmocka_unit_test_teardown(test_long_message, restore_level),
		cmocka_unit_test_teardown(test_errno_preserved, restore_level),
		cmocka_unit_test_teardown(test_threads, restore_level),
		cmocka_unit_test_teardown(test_libbpf_levels, restore_level),
		cmocka_unit_test_teardown(test_libbpf_multiline, restore_level),
	};

	return cmocka_run_group_tests_name("log", tests, NULL, NULL);
}
