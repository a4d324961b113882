/* BuildKit's progress: the StatusResponse decoder on hand-made messages
 * (every field, unknown fields of each wire type, every malformation), base64,
 * and the trace of real builds recorded from an engine (POST
 * /build?version=2): steps numbered and told once, CACHED, times, log lines,
 * a failed step with its last lines; the builder an engine offers; the
 * query a BuildKit build sends. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "docker_api/build.h"
#include "docker_api/buildkit.h"
#include "testutil.h"

/* --- a small protobuf writer for the tests --- */

typedef struct pb {
	uint8_t b[4096];
	size_t n;
} pb;

static void pb_varint(pb *p, uint64_t v)
{
	do {
		uint8_t c = v & 0x7f;

		v >>= 7;
		p->b[p->n++] = c | (v ? 0x80 : 0);
	} while (v);
}

static void pb_key(pb *p, unsigned field, unsigned wt)
{
	pb_varint(p, (uint64_t)field << 3 | wt);
}

static void pb_bytes(pb *p, unsigned field, const void *d, size_t n)
{
	pb_key(p, field, 2);
	pb_varint(p, n);
	memcpy(p->b + p->n, d, n);
	p->n += n;
}

static void pb_str(pb *p, unsigned field, const char *s)
{
	pb_bytes(p, field, s, strlen(s));
}

static void pb_msg(pb *p, unsigned field, const pb *m)
{
	pb_bytes(p, field, m->b, m->n);
}

static void pb_ts(pb *p, unsigned field, uint64_t sec, uint64_t nanos)
{
	pb t = { .n = 0 };

	pb_key(&t, 1, 0);
	pb_varint(&t, sec);
	pb_key(&t, 2, 0);
	pb_varint(&t, nanos);
	pb_msg(p, field, &t);
}

static void pb_vertex(pb *p, const char *digest, const char *name, bool cached, uint64_t start_ms,
		      uint64_t end_ms, const char *error)
{
	pb v = { .n = 0 };

	pb_str(&v, 1, digest);
	pb_str(&v, 2, "sha256:input");    /* inputs: skipped */
	if (name)
		pb_str(&v, 3, name);
	if (cached) {
		pb_key(&v, 4, 0);
		pb_varint(&v, 1);
	}
	if (start_ms)
		pb_ts(&v, 5, 1700000000 + start_ms / 1000, (start_ms % 1000) * 1000000);
	if (end_ms)
		pb_ts(&v, 6, 1700000000 + end_ms / 1000, (end_ms % 1000) * 1000000);
	if (error)
		pb_str(&v, 7, error);
	pb_msg(p, 1, &v);
}

static void pb_log(pb *p, const char *vertex, int stream, const char *msg)
{
	pb l = { .n = 0 };

	pb_str(&l, 1, vertex);
	pb_ts(&l, 2, 1700000000, 5);
	pb_key(&l, 3, 0);
	pb_varint(&l, (uint64_t)stream);
	pb_str(&l, 4, msg);
	pb_msg(p, 3, &l);
}

/* --- what a trace tells --- */

struct told {
	char steps[32][256];
	size_t n_steps;
	char lines[64][256];
	size_t n_lines;
};

static void on_step(const vd_bk_step *st, void *ctx)
{
	struct told *t = ctx;

	if (t->n_steps < 32)
		snprintf(t->steps[t->n_steps++], 256, "#%u %s|%s|%s", st->num, st->name,
			 st->error ? st->error : st->cached ? "CACHED" : "done", st->ms >= 0 ? "ms" : "-");
}

static void on_line(const char *line, void *ctx)
{
	struct told *t = ctx;

	if (t->n_lines < 64)
		snprintf(t->lines[t->n_lines++], 256, "%s", line);
}

/* ------------------------------------------------------------------ */

static void bk__decode_every_field(void **state)
{
	pb p = { .n = 0 }, w = { .n = 0 };
	vd_bk_status s;
	vd_error err = VD_ERROR_INIT;

	pb_vertex(&p, "sha256:aa", "[1/2] FROM base", true, 100, 250, NULL);
	pb_vertex(&p, "sha256:bb", NULL, false, 300, 0, "exit code: 3");
	pb_key(&p, 2, 2);            /* statuses: skipped whole */
	pb_varint(&p, 3);
	memcpy(p.b + p.n, "\x0a\x01x", 3);
	p.n += 3;
	pb_log(&p, "sha256:bb", 2, "an error line\n");
	pb_str(&w, 1, "sha256:aa");
	pb_key(&w, 2, 0);
	pb_varint(&w, 1);
	pb_str(&w, 3, "FROM uses a moving tag");
	pb_msg(&p, 4, &w);
	/* unknown fields of every wire type a newer engine may add */
	pb_key(&p, 9, 0);
	pb_varint(&p, 123456789);
	pb_key(&p, 10, 1);
	memset(p.b + p.n, 7, 8);
	p.n += 8;
	pb_key(&p, 11, 5);
	memset(p.b + p.n, 7, 4);
	p.n += 4;
	pb_str(&p, 12, "future");

	assert_int_equal(vd_bk_status_decode(p.b, p.n, &s, &err), 0);
	assert_int_equal(s.n_vertexes, 2);
	assert_string_equal(s.vertexes[0].digest, "sha256:aa");
	assert_string_equal(s.vertexes[0].name, "[1/2] FROM base");
	assert_true(s.vertexes[0].cached);
	assert_true(s.vertexes[0].completed_ns - s.vertexes[0].started_ns == 150000000);
	assert_null(s.vertexes[0].error);
	assert_null(s.vertexes[1].name);
	assert_int_equal(s.vertexes[1].completed_ns, 0);
	assert_string_equal(s.vertexes[1].error, "exit code: 3");
	assert_int_equal(s.n_logs, 1);
	assert_string_equal(s.logs[0].vertex, "sha256:bb");
	assert_int_equal(s.logs[0].stream, 2);
	assert_int_equal(s.logs[0].msg_len, 14);
	assert_int_equal(s.n_warnings, 1);
	assert_string_equal(s.warnings[0].text, "FROM uses a moving tag");
	vd_bk_status_release(&s);
	vd_error_release(&err);
}

static void bk__decode_refuses_malformed(void **state)
{
	static const struct {
		const char *bytes;
		size_t n;
		const char *why;
	} cases[] = {
		{ "\x0a", 1, "cut short" },                          /* key, no length */
		{ "\x0a\x05\x0a\x01", 4, "past the end" },          /* length 5, 2 bytes */
		{ "\x0a\x02\x0a\x09", 4, "past the end" },          /* inner length past its message */
		{ "\x48\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 12, "longer than 10" },
		{ "\x0b", 1, "wire type" },                          /* a group */
		{ "\x0f", 1, "wire type" },                          /* wire type 7 */
		{ "\x51\x01\x02", 3, "cut short" },                  /* fixed64 with 2 bytes */
		{ "\x00", 1, "field number" },                       /* field 0 */
		{ "\x08\x01", 2, "wrong wire type" },                /* vertexes as a varint */
		{ "\x0a\x02\x20\x01", 4, "without a digest" },       /* a vertex with only cached */
		{ "\x1a\x02\x08\x01", 4, "wrong wire type" },        /* a log's vertex as a varint */
		{ "\x1a\x00", 2, "without its vertex" },             /* an empty log */
		{ "\x22\x00", 2, "without its text" },               /* an empty warning */
		{ "\x0a\x04\x0a\x00\x2a\x01", 6, "past the end" },  /* a timestamp cut */
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		vd_bk_status s;
		vd_error err = VD_ERROR_INIT;

		assert_int_equal(vd_bk_status_decode((const uint8_t *)cases[i].bytes, cases[i].n, &s, &err),
				 VD_EPROTO);
		if (!strstr(vd_error_msg(&err), cases[i].why))
			fail_msg("case %zu: '%s' does not say '%s'", i, vd_error_msg(&err), cases[i].why);
		assert_int_equal(s.n_vertexes, 0);
		assert_null(s.vertexes);
		vd_error_release(&err);
	}
}

static void bk__base64(void **state)
{
	vd_error err = VD_ERROR_INIT;
	uint8_t *out;
	size_t n;

	assert_int_equal(vd_bk_base64_decode("aGVsbG8=", 8, &out, &n, &err), 0);
	assert_int_equal(n, 5);
	assert_memory_equal(out, "hello", 5);
	free(out);
	assert_int_equal(vd_bk_base64_decode("aGVsbG8", 7, &out, &n, &err), 0);
	assert_int_equal(n, 5);
	free(out);
	assert_int_equal(vd_bk_base64_decode("+/+/", 4, &out, &n, &err), 0);
	assert_int_equal(n, 3);
	assert_memory_equal(out, "\xfb\xff\xbf", 3);
	free(out);
	assert_int_equal(vd_bk_base64_decode("", 0, &out, &n, &err), 0);
	assert_int_equal(n, 0);
	free(out);
	assert_int_equal(vd_bk_base64_decode("aGV sbG8", 8, &out, &n, &err), VD_EPROTO);
	assert_non_null(strstr(vd_error_msg(&err), "character 3"));
	assert_null(out);
	vd_error_release(&err);
	assert_int_equal(vd_bk_base64_decode("aGVsb", 5, &out, &n, &err), VD_EPROTO);
	vd_error_release(&err);
}

/* A vertex re-sent as it changes is told once, when it ends; logs become
 * lines, the last line without a newline too; the step list. */
static void bk__trace_merges_updates(void **state)
{
	vd_bk_trace t;
	vd_error err = VD_ERROR_INIT;
	struct told told = { .n_steps = 0 };
	vd_bk_status s;
	pb p = { .n = 0 };

	vd_bk_trace_init(&t, on_step, on_line, &told);
	pb_vertex(&p, "sha256:aa", "[1/2] FROM base", false, 0, 0, NULL);
	pb_vertex(&p, "sha256:bb", "[2/2] RUN make", false, 0, 0, NULL);
	assert_int_equal(vd_bk_status_decode(p.b, p.n, &s, &err), 0);
	assert_int_equal(vd_bk_trace_apply(&t, &s, &err), 0);
	vd_bk_status_release(&s);
	assert_int_equal(told.n_steps, 0);

	p.n = 0;
	pb_vertex(&p, "sha256:aa", NULL, true, 100, 100, NULL);
	pb_vertex(&p, "sha256:bb", NULL, false, 200, 0, NULL);
	pb_log(&p, "sha256:bb", 1, "cc main.c\ncc ut");
	assert_int_equal(vd_bk_status_decode(p.b, p.n, &s, &err), 0);
	assert_int_equal(vd_bk_trace_apply(&t, &s, &err), 0);
	vd_bk_status_release(&s);
	assert_int_equal(told.n_steps, 1);
	assert_string_equal(told.steps[0], "#1 [1/2] FROM base|CACHED|ms");
	assert_int_equal(told.n_lines, 1);
	assert_string_equal(told.lines[0], "#2 cc main.c");

	p.n = 0;
	pb_log(&p, "sha256:bb", 1, "il.c\r\rlast");
	pb_vertex(&p, "sha256:bb", NULL, false, 200, 1450, NULL);
	pb_vertex(&p, "sha256:aa", NULL, true, 100, 100, NULL);   /* told already */
	assert_int_equal(vd_bk_status_decode(p.b, p.n, &s, &err), 0);
	assert_int_equal(vd_bk_trace_apply(&t, &s, &err), 0);
	vd_bk_status_release(&s);
	assert_int_equal(told.n_steps, 2);
	assert_string_equal(told.steps[1], "#2 [2/2] RUN make|done|ms");
	assert_int_equal(told.n_lines, 3);
	assert_string_equal(told.lines[1], "#2 cc util.c");
	assert_string_equal(told.lines[2], "#2 last");
	assert_string_equal(vd_bk_trace_steps(&t), "#1 [1/2] FROM base: CACHED\n#2 [2/2] RUN make: 1.25s\n");
	assert_null(t.failed);
	vd_bk_trace_release(&t);
	vd_error_release(&err);
}

/* The first real error is the failure; the steps BuildKit then cancels are
 * not; the tail keeps the last VD_BK_TAIL_LINES lines. */
static void bk__trace_failure_and_tail(void **state)
{
	vd_bk_trace t;
	vd_error err = VD_ERROR_INIT;
	vd_bk_status s;
	pb p = { .n = 0 };
	char msg[64];
	int i;

	vd_bk_trace_init(&t, NULL, NULL, NULL);
	pb_vertex(&p, "sha256:aa", "[a 1/1] RUN long", false, 10, 0, NULL);
	pb_vertex(&p, "sha256:bb", "[b 1/1] RUN fails", false, 10, 0, NULL);
	for (i = 1; i <= 15; i++) {
		snprintf(msg, sizeof(msg), "line %d\n", i);
		pb_log(&p, "sha256:bb", 1, msg);
	}
	pb_vertex(&p, "sha256:aa", NULL, false, 10, 20, "context canceled");
	pb_vertex(&p, "sha256:bb", NULL, false, 10, 30, "exit code: 2");
	assert_int_equal(vd_bk_status_decode(p.b, p.n, &s, &err), 0);
	assert_int_equal(vd_bk_trace_apply(&t, &s, &err), 0);
	vd_bk_status_release(&s);
	assert_string_equal(t.failed, "[b 1/1] RUN fails");
	assert_string_equal(t.failed_tail, "line 6\nline 7\nline 8\nline 9\nline 10\nline 11\nline 12\n"
					   "line 13\nline 14\nline 15\n");
	assert_non_null(strstr(vd_bk_trace_steps(&t), "#1 [a 1/1] RUN long: ERROR context canceled\n"));
	vd_bk_trace_release(&t);
}

/* Past VD_BK_MAX_VERTEXES new vertexes are not kept (memory stays bounded);
 * the step list stays within VD_BK_STEPS_MAX (one journal record). */
static void bk__trace_bounded(void **state)
{
	vd_bk_trace t;
	vd_error err = VD_ERROR_INIT;
	vd_bk_status s;
	char d[32];
	size_t i;

	vd_bk_trace_init(&t, NULL, NULL, NULL);
	for (i = 0; i < VD_BK_MAX_VERTEXES + 10; i++) {
		pb p = { .n = 0 };

		snprintf(d, sizeof(d), "sha256:%zu", i);
		pb_vertex(&p, d, "[stage 1/1] RUN a step with a name of some length", false, 100, 200, NULL);
		pb_log(&p, d, 1, "y\n");
		assert_int_equal(vd_bk_status_decode(p.b, p.n, &s, &err), 0);
		assert_int_equal(vd_bk_trace_apply(&t, &s, &err), 0);
		vd_bk_status_release(&s);
	}
	assert_int_equal(t.n, VD_BK_MAX_VERTEXES);
	assert_true(strlen(vd_bk_trace_steps(&t)) <= VD_BK_STEPS_MAX);
	assert_true(strlen(vd_bk_trace_steps(&t)) > VD_BK_STEPS_MAX - 200);
	vd_bk_trace_release(&t);
}

static char *data(const char *name)
{
	char path[512];
	char *s;

	snprintf(path, sizeof(path), "%s/%s", VD_TEST_DATA, name);
	s = tu_read_file(path);
	assert_non_null(s);
	return s;
}

static void on_build_line(const char *line, void *ctx)
{
	on_line(line, ctx);
}

/* A real multi-stage build with a cache mount, recorded from an engine:
 * every vertex told once in order, the image id, the log lines. */
static void bk__recorded_build(void **state)
{
	static const size_t chunks[] = { 1, 13, 4096, 1 << 20 };
	char *out = data("buildkit_multistage.jsonl");
	size_t c;

	for (c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++) {
		struct told told = { .n_steps = 0 };
		vd_build_stream s;
		vd_error err = VD_ERROR_INIT;
		char *id = NULL, *steps;
		size_t off, i, n = strlen(out);

		vd_build_stream_init(&s, on_build_line, on_step, &told);
		for (off = 0; off < n; off += chunks[c])
			assert_int_equal(vd_build_stream_feed(&s, out + off,
							      n - off < chunks[c] ? n - off : chunks[c], &err), 0);
		assert_int_equal(vd_build_stream_finish(&s, &id, &err), 0);
		assert_true(strncmp(id, "sha256:", 7) == 0 && strlen(id) == 71);
		assert_false(s.trace_broken);
		/* numbered 1..n as first seen, each told once (in the order they end) */
		assert_true(told.n_steps >= 8);
		for (i = 1; i <= told.n_steps; i++) {
			char num[32];
			size_t j, seen = 0;

			snprintf(num, sizeof(num), "#%zu ", i);
			for (j = 0; j < told.n_steps; j++)
				seen += strncmp(told.steps[j], num, strlen(num)) == 0;
			assert_int_equal(seen, 1);
		}
		steps = strdup(vd_bk_trace_steps(&s.trace));
		assert_non_null(strstr(steps, "RUN --mount=type=cache,target=/cache"));
		assert_non_null(strstr(steps, "COPY --from=two /two /two"));
		assert_non_null(strstr(steps, "exporting to image"));
		assert_null(strstr(steps, "ERROR"));
		/* the lines the last RUN printed, and its last without a newline */
		for (i = 0; i < told.n_lines && !strstr(told.lines[i], " line 12"); i++)
			;
		assert_true(i < told.n_lines);
		for (i = 0; i < told.n_lines && !strstr(told.lines[i], " no newline"); i++)
			;
		assert_true(i < told.n_lines);
		assert_int_equal(told.lines[i][0], '#');
		free(steps);
		free(id);
		vd_build_stream_release(&s);
		vd_error_release(&err);
	}
	free(out);
}

/* A real failed RUN: the failing step, the engine's message and the step's
 * last lines, stdout and stderr. */
static void bk__recorded_failure(void **state)
{
	char *out = data("buildkit_failed_run.jsonl");
	vd_build_stream s;
	vd_error err = VD_ERROR_INIT;
	char *id = NULL;
	int rc;

	vd_build_stream_init(&s, NULL, NULL, NULL);
	rc = vd_build_stream_feed(&s, out, strlen(out), &err);
	if (!rc)
		rc = vd_build_stream_finish(&s, &id, &err);
	assert_int_equal(rc, VD_EAPI);
	assert_null(id);
	assert_non_null(strstr(vd_error_msg(&err), "step [2/2] RUN echo out; echo err >&2; exit 3: "));
	assert_non_null(strstr(vd_error_msg(&err), "exit code: 3"));
	assert_non_null(strstr(vd_error_msg(&err), "\n  | out"));
	assert_non_null(strstr(vd_error_msg(&err), "\n  | err"));
	vd_build_stream_release(&s);
	vd_error_release(&err);
	free(out);
}

/* What kind of failure: the Dockerfile's fault is VD_EINVAL (exit 2), a
 * session's need and a frontend to fetch VD_EUNSUPPORTED with advice. */
static void bk__failure_kinds(void **state)
{
	static const struct {
		const char *msg;
		int code;
		const char *says;
	} cases[] = {
		{ "failed to solve with frontend dockerfile.v0: failed to create LLB definition: dockerfile "
		  "parse error line 2: unknown instruction: RUNN", VD_EINVAL, "unknown instruction: RUNN" },
		{ "no active sessions", VD_EUNSUPPORTED, "needs a client session" },
		{ "failed to solve with frontend dockerfile.v0: failed to solve with frontend gateway.v0: "
		  "failed to do request", VD_EUNSUPPORTED, "'# syntax=' line" },
		{ "failed to solve with frontend dockerfile.v0: failed to create LLB definition: pull access "
		  "denied", VD_EAPI, "pull access denied" },
	};
	char *out = data("buildkit_failed_run.jsonl");
	const char *first_end = strchr(out, '\n');
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		vd_build_stream s;
		vd_error err = VD_ERROR_INIT;
		char line[1024];

		vd_build_stream_init(&s, NULL, NULL, NULL);
		/* one trace line first: this is a BuildKit build */
		assert_int_equal(vd_build_stream_feed(&s, out, (size_t)(first_end - out) + 1, &err), 0);
		snprintf(line, sizeof(line), "{\"error\":\"%s\"}\n", cases[i].msg);
		assert_int_equal(vd_build_stream_feed(&s, line, strlen(line), &err), cases[i].code);
		if (!strstr(vd_error_msg(&err), cases[i].says))
			fail_msg("case %zu: '%s'", i, vd_error_msg(&err));
		vd_build_stream_release(&s);
		vd_error_release(&err);
	}
	free(out);
}

/* Docker 23 and later name the frontend image of a "# syntax=" line
 * instead of saying "frontend gateway": told as the frontend's failure. */
static void bk__syntax_frontend_named(void **state)
{
	char *out = data("buildkit_failed_run.jsonl");
	const char *first_end = strchr(out, '\n');
	static const char line[] =
		"{\"error\":\"failed to resolve source metadata for docker.io/docker/dockerfile:1.4: "
		"failed to do request\"}\n";
	vd_build_stream s;
	vd_error err = VD_ERROR_INIT;

	vd_build_stream_init(&s, NULL, NULL, NULL);
	s.syntax = strdup("docker/dockerfile:1.4");
	assert_int_equal(vd_build_stream_feed(&s, out, (size_t)(first_end - out) + 1, &err), 0);
	assert_int_equal(vd_build_stream_feed(&s, line, strlen(line), &err), VD_EUNSUPPORTED);
	assert_non_null(strstr(vd_error_msg(&err), "'# syntax=' line"));
	vd_build_stream_release(&s);
	vd_error_release(&err);
	free(out);
}

/* A trace line that cannot be read does not fail the build. */
static void bk__broken_trace_is_not_fatal(void **state)
{
	static const char out[] =
		"{\"id\":\"moby.buildkit.trace\",\"aux\":\"not base64!\"}\n"
		"{\"id\":\"moby.buildkit.trace\",\"aux\":\"CgA=\"}\n"
		"{\"id\":\"moby.image.id\",\"aux\":{\"ID\":\"sha256:0123\"}}\n";
	vd_build_stream s;
	vd_error err = VD_ERROR_INIT;
	char *id = NULL;

	vd_build_stream_init(&s, NULL, NULL, NULL);
	assert_int_equal(vd_build_stream_feed(&s, out, strlen(out), &err), 0);
	assert_int_equal(vd_build_stream_finish(&s, &id, &err), 0);
	assert_string_equal(id, "sha256:0123");
	assert_true(s.trace_broken);
	free(id);
	vd_build_stream_release(&s);
}

static void bk__engine_builder(void **state)
{
	const char *why;

	assert_int_equal(vd_build_engine_builder("2", "linux", "1.45", &why), VD_BUILDER_BUILDKIT);
	assert_null(why);
	assert_int_equal(vd_build_engine_builder("1", "linux", "1.45", &why), VD_BUILDER_CLASSIC);
	assert_non_null(strstr(why, "Builder-Version"));
	/* 20.10 without features.buildkit says nothing: BuildKit all the same */
	assert_int_equal(vd_build_engine_builder("", "linux", "1.41", &why), VD_BUILDER_BUILDKIT);
	assert_int_equal(vd_build_engine_builder(NULL, NULL, "1.41", &why), VD_BUILDER_BUILDKIT);
	assert_int_equal(vd_build_engine_builder("", "windows", "1.41", &why), VD_BUILDER_CLASSIC);
	assert_non_null(strstr(why, "Linux"));
	assert_int_equal(vd_build_engine_builder("", "linux", "1.38", &why), VD_BUILDER_CLASSIC);
	assert_non_null(strstr(why, "1.39"));
}

static void bk__query(void **state)
{
	const char *tags[] = { "app:1", NULL };
	const char *cache[] = { "app:prev", "app:\"q\"", NULL };
	const char *hosts[] = { "db:10.0.0.2", "cache:10.0.0.3", NULL };
	vd_build_options o = VD_BUILD_OPTIONS_INIT;
	vd_buf q = VD_BUF_INIT;

	o.tags = tags;
	assert_int_equal(vd_build_query(&o, "Dockerfile", &q), 0);
	assert_non_null(strstr(vd_buf_cstr(&q), "version=1"));
	assert_null(strstr(vd_buf_cstr(&q), "cachefrom"));
	vd_buf_clear(&q);
	o.builder = VD_BUILDER_BUILDKIT;
	o.cache_from = cache;
	o.extra_hosts = hosts;
	o.network = "host";
	o.platform = "linux/amd64";
	assert_int_equal(vd_build_query(&o, "Dockerfile", &q), 0);
	assert_non_null(strstr(vd_buf_cstr(&q), "version=2"));
	assert_non_null(strstr(vd_buf_cstr(&q),
			       "cachefrom=%5B%22app%3Aprev%22%2C%22app%3A%5C%22q%5C%22%22%5D"));
	assert_non_null(strstr(vd_buf_cstr(&q), "extrahosts=db%3A10.0.0.2&extrahosts=cache%3A10.0.0.3"));
	assert_non_null(strstr(vd_buf_cstr(&q), "networkmode=host"));
	assert_non_null(strstr(vd_buf_cstr(&q), "platform=linux%2Famd64"));
	vd_buf_release(&q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(bk__decode_every_field),
		cmocka_unit_test(bk__decode_refuses_malformed),
		cmocka_unit_test(bk__base64),
		cmocka_unit_test(bk__trace_merges_updates),
		cmocka_unit_test(bk__trace_failure_and_tail),
		cmocka_unit_test(bk__trace_bounded),
		cmocka_unit_test(bk__recorded_build),
		cmocka_unit_test(bk__recorded_failure),
		cmocka_unit_test(bk__failure_kinds),
		cmocka_unit_test(bk__syntax_frontend_named),
		cmocka_unit_test(bk__broken_trace_is_not_fatal),
		cmocka_unit_test(bk__engine_builder),
		cmocka_unit_test(bk__query),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
