/* Unit tests: event lines → vd_event, the incremental event parser, and the
 * since/until timestamps. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <cmocka.h>

#include "docker_api/events.h"

/* Recorded from Docker 20.10 (GET /events, a container with a HEALTHCHECK
 * that was started, became healthy, went unhealthy, ran out of memory,
 * exited 3 and was removed), ids shortened. */
#define CID "4f2a9c1d6e0b"
#define ATTRS "\"com.docker.compose.project\":\"vox\",\"image\":\"voxdeploy-test/busybox:1\"," \
	      "\"io.voxdeploy.test\":\"1\",\"name\":\"vox_app\""
static const char ev_create[] =
	"{\"status\":\"create\",\"id\":\"" CID "\",\"from\":\"voxdeploy-test/busybox:1\","
	"\"Type\":\"container\",\"Action\":\"create\",\"Actor\":{\"ID\":\"" CID "\","
	"\"Attributes\":{" ATTRS "}},\"scope\":\"local\",\"time\":1700000000,"
	"\"timeNano\":1700000000111111111}";
static const char ev_start[] =
	"{\"status\":\"start\",\"id\":\"" CID "\",\"from\":\"voxdeploy-test/busybox:1\","
	"\"Type\":\"container\",\"Action\":\"start\",\"Actor\":{\"ID\":\"" CID "\","
	"\"Attributes\":{" ATTRS "}},\"scope\":\"local\",\"time\":1700000001,"
	"\"timeNano\":1700000001222222222}";
static const char ev_exec[] =
	"{\"status\":\"exec_start: /bin/sh -c true\",\"id\":\"" CID "\",\"from\":\"voxdeploy-test/busybox:1\","
	"\"Type\":\"container\",\"Action\":\"exec_start: /bin/sh -c true\",\"Actor\":{\"ID\":\"" CID "\","
	"\"Attributes\":{" ATTRS ",\"execID\":\"77aa\"}},\"scope\":\"local\",\"time\":1700000002,"
	"\"timeNano\":1700000002000000001}";
static const char ev_healthy[] =
	"{\"status\":\"health_status: healthy\",\"id\":\"" CID "\",\"from\":\"voxdeploy-test/busybox:1\","
	"\"Type\":\"container\",\"Action\":\"health_status: healthy\",\"Actor\":{\"ID\":\"" CID "\","
	"\"Attributes\":{" ATTRS "}},\"scope\":\"local\",\"time\":1700000002,"
	"\"timeNano\":1700000002333333333}";
static const char ev_unhealthy[] =
	"{\"status\":\"health_status: unhealthy\",\"id\":\"" CID "\",\"from\":\"voxdeploy-test/busybox:1\","
	"\"Type\":\"container\",\"Action\":\"health_status: unhealthy\",\"Actor\":{\"ID\":\"" CID "\","
	"\"Attributes\":{" ATTRS "}},\"scope\":\"local\",\"time\":1700000005,"
	"\"timeNano\":1700000005444444444}";
static const char ev_oom[] =
	"{\"status\":\"oom\",\"id\":\"" CID "\",\"from\":\"voxdeploy-test/busybox:1\","
	"\"Type\":\"container\",\"Action\":\"oom\",\"Actor\":{\"ID\":\"" CID "\","
	"\"Attributes\":{" ATTRS "}},\"scope\":\"local\",\"time\":1700000006,"
	"\"timeNano\":1700000006555555555}";
static const char ev_die[] =
	"{\"status\":\"die\",\"id\":\"" CID "\",\"from\":\"voxdeploy-test/busybox:1\","
	"\"Type\":\"container\",\"Action\":\"die\",\"Actor\":{\"ID\":\"" CID "\","
	"\"Attributes\":{" ATTRS ",\"exitCode\":\"3\"}},\"scope\":\"local\",\"time\":1700000006,"
	"\"timeNano\":1700000006666666666}";
static const char ev_destroy[] =
	"{\"status\":\"destroy\",\"id\":\"" CID "\",\"from\":\"voxdeploy-test/busybox:1\","
	"\"Type\":\"container\",\"Action\":\"destroy\",\"Actor\":{\"ID\":\"" CID "\","
	"\"Attributes\":{" ATTRS "}},\"scope\":\"local\",\"time\":1700000007,"
	"\"timeNano\":1700000007777777777}";
static const char ev_network[] =
	"{\"Type\":\"network\",\"Action\":\"connect\",\"Actor\":{\"ID\":\"9e8d\","
	"\"Attributes\":{\"container\":\"" CID "\",\"name\":\"bridge\",\"type\":\"bridge\"}},"
	"\"scope\":\"local\",\"time\":1700000001,\"timeNano\":1700000001000000000}";

static const char *const recorded[] = {
	ev_create, ev_network, ev_start, ev_exec, ev_healthy, ev_unhealthy, ev_oom, ev_die, ev_destroy,
};
static const char *const recorded_actions[] = {
	"create", "connect", "start", "exec_start: /bin/sh -c true", "health_status: healthy",
	"health_status: unhealthy", "oom", "die", "destroy",
};
#define N_RECORDED (sizeof(recorded) / sizeof(recorded[0]))

static void events__parse_start(void **state)
{
	vd_event ev;
	vd_error err = VD_ERROR_INIT;

	assert_int_equal(vd_event_parse_line(ev_start, &ev, &err), 0);
	assert_string_equal(ev.type, "container");
	assert_string_equal(ev.action, "start");
	assert_string_equal(ev.actor_id, CID);
	assert_string_equal(ev.scope, "local");
	assert_int_equal(ev.time, 1700000001);
	assert_int_equal(ev.time_nano, 1700000001222222222LL);
	assert_int_equal(ev.attributes.len, 4);
	assert_string_equal(vd_event_attr(&ev, "name"), "vox_app");
	assert_string_equal(vd_event_attr(&ev, "image"), "voxdeploy-test/busybox:1");
	assert_string_equal(vd_event_attr(&ev, "com.docker.compose.project"), "vox");
	assert_null(vd_event_attr(&ev, "exitCode"));
	vd_event_release(&ev);
	assert_null(ev.type);
	vd_event_release(&ev);  /* twice is fine */
}

/* found by fuzz_jsonl: times no int64 holds */
static void events__parse_huge_times(void **state)
{
	vd_event ev;
	vd_error err = VD_ERROR_INIT;

	assert_int_equal(vd_event_parse_line("{\"Type\":\"network\",\"Action\":\"connect\",\"Actor\":"
					     "{\"ID\":\"4e8d\"},\"time\":1.7e24,\"timeNano\":-1e30}",
					     &ev, &err), 0);
	assert_string_equal(ev.action, "connect");
	assert_int_equal(ev.time, 0);
	assert_int_equal(ev.time_nano, 0);
	vd_event_release(&ev);
}

static void events__parse_die_exit_code(void **state)
{
	vd_event ev;
	vd_error err = VD_ERROR_INIT;

	assert_int_equal(vd_event_parse_line(ev_die, &ev, &err), 0);
	assert_string_equal(ev.action, "die");
	assert_string_equal(vd_event_attr(&ev, "exitCode"), "3");
	assert_string_equal(vd_event_attr(&ev, "name"), "vox_app");
	vd_event_release(&ev);
}

static void events__parse_health(void **state)
{
	vd_event ev;
	vd_error err = VD_ERROR_INIT;

	assert_int_equal(vd_event_parse_line(ev_healthy, &ev, &err), 0);
	assert_string_equal(ev.action, "health_status: healthy");
	assert_int_equal(ev.time_nano, 1700000002333333333LL);
	vd_event_release(&ev);
	assert_int_equal(vd_event_parse_line(ev_unhealthy, &ev, &err), 0);
	assert_string_equal(ev.action, "health_status: unhealthy");
	vd_event_release(&ev);
}

static void events__parse_oom_destroy(void **state)
{
	vd_event ev;
	vd_error err = VD_ERROR_INIT;

	assert_int_equal(vd_event_parse_line(ev_oom, &ev, &err), 0);
	assert_string_equal(ev.action, "oom");
	vd_event_release(&ev);
	assert_int_equal(vd_event_parse_line(ev_destroy, &ev, &err), 0);
	assert_string_equal(ev.action, "destroy");
	assert_string_equal(ev.actor_id, CID);
	vd_event_release(&ev);
	assert_int_equal(vd_event_parse_line(ev_network, &ev, &err), 0);
	assert_string_equal(ev.type, "network");
	assert_string_equal(vd_event_attr(&ev, "container"), CID);
	vd_event_release(&ev);
}

static void events__parse_legacy_and_sparse(void **state)
{
	vd_event ev;
	vd_error err = VD_ERROR_INIT;

	/* engines before API 1.22: status/id/from, no Type/Actor */
	assert_int_equal(vd_event_parse_line("{\"status\":\"die\",\"id\":\"abc\",\"from\":\"img\","
					     "\"time\":1600000000}", &ev, &err), 0);
	assert_string_equal(ev.action, "die");
	assert_string_equal(ev.actor_id, "abc");
	assert_string_equal(ev.type, "");
	assert_null(ev.scope);
	assert_int_equal(ev.attributes.len, 0);
	assert_int_equal(ev.time_nano, 1600000000000000000LL);
	vd_event_release(&ev);

	/* null attributes, non-string attribute values skipped, only timeNano */
	assert_int_equal(vd_event_parse_line("{\"Type\":\"container\",\"Action\":\"kill\","
					     "\"Actor\":{\"ID\":\"x\",\"Attributes\":{\"signal\":\"15\","
					     "\"n\":5,\"o\":null}},\"timeNano\":1600000000500000000}",
					     &ev, &err), 0);
	assert_int_equal(ev.attributes.len, 1);
	assert_string_equal(vd_event_attr(&ev, "signal"), "15");
	assert_int_equal(ev.time, 1600000000);
	vd_event_release(&ev);
}

static void events__parse_errors(void **state)
{
	vd_event ev;
	vd_error err = VD_ERROR_INIT;

	assert_int_equal(vd_event_parse_line("not json at all", &ev, &err), VD_EPROTO);
	assert_non_null(strstr(vd_error_msg(&err), "event: invalid JSON"));
	assert_int_equal(vd_event_parse_line("{\"Type\":\"container\",\"Actio", &ev, &err), VD_EPROTO);
	assert_int_equal(vd_event_parse_line("[1,2,3]", &ev, &err), VD_EPROTO);
	assert_int_equal(vd_event_parse_line("42", &ev, &err), VD_EPROTO);
	assert_int_equal(vd_event_parse_line("{\"Type\":\"container\"}", &ev, &err), VD_EPROTO);
	assert_int_equal(vd_event_parse_line("{\"Action\":5}", &ev, &err), VD_EPROTO);
	assert_int_equal(vd_event_parse_line("", &ev, &err), VD_EPROTO);
	/* an error the engine writes into the stream */
	assert_int_equal(vd_event_parse_line("{\"message\":\"context canceled\"}", &ev, &err), VD_EAPI);
	assert_non_null(strstr(vd_error_msg(&err), "context canceled"));
	assert_int_equal(vd_event_parse_line("{\"error\":\"boom\",\"errorDetail\":{\"message\":\"boom!\"}}",
					     &ev, &err), VD_EAPI);
	assert_non_null(strstr(vd_error_msg(&err), "boom!"));
	assert_int_equal(vd_event_parse(NULL, &ev, &err), VD_EPROTO);
	vd_error_release(&err);
}

/* What the parser delivered. */
struct got {
	vd_buf actions;      /* "a|b|c" */
	size_t n;
	size_t stop_at;      /* return VD_EVENTS_STOP at this event (1-based); 0 never */
	int fail_with;
	char exit_code[8];
};

static void got_init(struct got *g)
{
	memset(g, 0, sizeof(*g));
	vd_buf_init(&g->actions, 0);
}

static int collect(const vd_event *ev, void *ctx, vd_error *err)
{
	struct got *g = ctx;

	g->n++;
	if (g->actions.len)
		vd_buf_putc(&g->actions, '|');
	vd_buf_puts(&g->actions, ev->action);
	if (!strcmp(ev->action, "die"))
		snprintf(g->exit_code, sizeof(g->exit_code), "%s",
			 vd_event_attr(ev, "exitCode") ? vd_event_attr(ev, "exitCode") : "?");
	if (g->fail_with)
		return vd_error_set(err, g->fail_with, "callback says no");
	if (g->stop_at && g->n == g->stop_at)
		return VD_EVENTS_STOP;
	return 0;
}

static void recorded_stream(vd_buf *b)
{
	size_t i;

	for (i = 0; i < N_RECORDED; i++) {
		vd_buf_puts(b, recorded[i]);
		vd_buf_puts(b, i == 3 ? "\r\n\n" : "\n");  /* a CRLF and a blank line too */
	}
}

static void expected_actions(vd_buf *b)
{
	size_t i;

	for (i = 0; i < N_RECORDED; i++)
		vd_buf_printf(b, "%s%s", i ? "|" : "", recorded_actions[i]);
}

static void events__stream_split_everywhere(void **state)
{
	vd_buf stream = VD_BUF_INIT, want = VD_BUF_INIT;
	vd_error err = VD_ERROR_INIT;
	size_t cut, i;

	recorded_stream(&stream);
	expected_actions(&want);
	/* one cut at every offset */
	for (cut = 0; cut <= stream.len; cut++) {
		vd_events_parser p;
		struct got g;

		got_init(&g);
		vd_events_parser_init(&p, 0, collect, &g);
		assert_int_equal(vd_events_parser_feed(&p, stream.ptr, cut, &err), 0);
		assert_int_equal(vd_events_parser_feed(&p, stream.ptr + cut, stream.len - cut, &err), 0);
		assert_int_equal(vd_events_parser_finish(&p, &err), 0);
		assert_string_equal(vd_buf_cstr(&g.actions), vd_buf_cstr(&want));
		assert_string_equal(g.exit_code, "3");
		assert_int_equal(p.events, N_RECORDED);
		vd_events_parser_release(&p);
		vd_buf_release(&g.actions);
	}
	/* a byte at a time */
	{
		vd_events_parser p;
		struct got g;

		got_init(&g);
		vd_events_parser_init(&p, 0, collect, &g);
		for (i = 0; i < stream.len; i++) {
			assert_int_equal(vd_events_parser_feed(&p, stream.ptr + i, 1, &err), 0);
			/* each event is delivered as soon as its newline arrives */
			if (i + 1 == strlen(ev_create) + 1)
				assert_int_equal(g.n, 1);
		}
		assert_int_equal(vd_events_parser_finish(&p, &err), 0);
		assert_string_equal(vd_buf_cstr(&g.actions), vd_buf_cstr(&want));
		vd_events_parser_release(&p);
		vd_buf_release(&g.actions);
	}
	vd_buf_release(&stream);
	vd_buf_release(&want);
}

static void events__stream_last_line_without_newline(void **state)
{
	vd_events_parser p;
	struct got g;
	vd_error err = VD_ERROR_INIT;

	got_init(&g);
	vd_events_parser_init(&p, 0, collect, &g);
	assert_int_equal(vd_events_parser_feed(&p, ev_start, strlen(ev_start), &err), 0);
	assert_int_equal(g.n, 0);
	assert_int_equal(vd_events_parser_finish(&p, &err), 0);
	assert_int_equal(g.n, 1);
	assert_string_equal(vd_buf_cstr(&g.actions), "start");
	vd_events_parser_release(&p);
	vd_buf_release(&g.actions);
}

static void events__stream_garbage_line(void **state)
{
	vd_events_parser p;
	struct got g;
	vd_error err = VD_ERROR_INIT;
	vd_buf stream = VD_BUF_INIT;

	vd_buf_printf(&stream, "%s\n<html>502 Bad Gateway</html>\n%s\n", ev_start, ev_die);
	got_init(&g);
	vd_events_parser_init(&p, 0, collect, &g);
	assert_int_equal(vd_events_parser_feed(&p, stream.ptr, stream.len, &err), VD_EPROTO);
	assert_int_equal(g.n, 1);
	assert_non_null(strstr(vd_error_msg(&err), "stream line 2"));
	vd_events_parser_release(&p);
	vd_buf_release(&g.actions);

	/* valid JSON but no event */
	got_init(&g);
	vd_events_parser_init(&p, 0, collect, &g);
	assert_int_equal(vd_events_parser_feed(&p, "{\"hello\":1}\n", 12, &err), VD_EPROTO);
	assert_non_null(strstr(vd_error_msg(&err), "event 1: event without an Action"));
	assert_int_equal(g.n, 0);
	vd_events_parser_release(&p);
	vd_buf_release(&g.actions);

	/* a truncated last line */
	got_init(&g);
	vd_events_parser_init(&p, 0, collect, &g);
	assert_int_equal(vd_events_parser_feed(&p, ev_start, 40, &err), 0);
	assert_int_equal(vd_events_parser_finish(&p, &err), VD_EPROTO);
	vd_events_parser_release(&p);
	vd_buf_release(&g.actions);

	vd_buf_release(&stream);
	vd_error_release(&err);
}

static void events__stream_overlong_line(void **state)
{
	vd_events_parser p;
	struct got g;
	vd_error err = VD_ERROR_INIT;

	got_init(&g);
	vd_events_parser_init(&p, 64, collect, &g);
	assert_int_equal(vd_events_parser_feed(&p, ev_start, strlen(ev_start), &err), VD_ETOOBIG);
	assert_int_equal(g.n, 0);
	vd_events_parser_release(&p);
	vd_error_release(&err);
}

static void events__callback_stop(void **state)
{
	vd_buf stream = VD_BUF_INIT;
	vd_events_parser p;
	struct got g;
	vd_error err = VD_ERROR_INIT;

	recorded_stream(&stream);
	got_init(&g);
	g.stop_at = 3;
	vd_events_parser_init(&p, 0, collect, &g);
	assert_int_equal(vd_events_parser_feed(&p, stream.ptr, stream.len, &err), VD_EVENTS_STOP);
	assert_string_equal(vd_buf_cstr(&g.actions), "create|connect|start");
	assert_true(p.stopped);
	assert_null(err.msg);  /* a stop is no error */
	/* nothing after the stop */
	assert_int_equal(vd_events_parser_feed(&p, stream.ptr, stream.len, &err), VD_EVENTS_STOP);
	assert_int_equal(vd_events_parser_finish(&p, &err), VD_EVENTS_STOP);
	assert_int_equal(g.n, 3);
	vd_events_parser_release(&p);
	vd_buf_release(&g.actions);

	/* a callback error is an error */
	got_init(&g);
	g.fail_with = VD_EUNHEALTHY;
	vd_events_parser_init(&p, 0, collect, &g);
	assert_int_equal(vd_events_parser_feed(&p, stream.ptr, stream.len, &err), VD_EUNHEALTHY);
	assert_string_equal(vd_error_msg(&err), "callback says no");
	assert_false(p.stopped);
	vd_events_parser_release(&p);
	vd_buf_release(&g.actions);

	vd_buf_release(&stream);
	vd_error_release(&err);
}

static void events__timestamp(void **state)
{
	char t[32];

	assert_string_equal(vd_events_timestamp(1700000000.25, t), "1700000000.250000000");
	assert_string_equal(t, "1700000000.250000000");
	assert_string_equal(vd_events_timestamp(1700000000.0, t), "1700000000.000000000");
	assert_string_equal(vd_events_timestamp(0, t), "0.000000000");
	assert_string_equal(vd_events_timestamp(-5, t), "0.000000000");
	assert_string_equal(vd_events_timestamp(NAN, t), "0.000000000");
	assert_string_equal(vd_events_timestamp(1.9999999999, t), "2.000000000");
	assert_string_equal(vd_events_timestamp(12.5, t), "12.500000000");
	/* since = now - 1 s: ~1 s before now, and readable by the engine */
	{
		double now = vd_events_now();
		char *end;
		double back;

		assert_true(now > 1.6e9);
		vd_events_timestamp(now - 1.0, t);
		back = strtod(t, &end);
		assert_int_equal(*end, '\0');
		assert_true(now - 1.0 - back < 1e-5 && back - (now - 1.0) < 1e-5);
		assert_non_null(strchr(t, '.'));
		assert_int_equal(strlen(strchr(t, '.') + 1), 9);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(events__parse_start),
		cmocka_unit_test(events__parse_huge_times),
		cmocka_unit_test(events__parse_die_exit_code),
		cmocka_unit_test(events__parse_health),
		cmocka_unit_test(events__parse_oom_destroy),
		cmocka_unit_test(events__parse_legacy_and_sparse),
		cmocka_unit_test(events__parse_errors),
		cmocka_unit_test(events__stream_split_everywhere),
		cmocka_unit_test(events__stream_last_line_without_newline),
		cmocka_unit_test(events__stream_garbage_line),
		cmocka_unit_test(events__stream_overlong_line),
		cmocka_unit_test(events__callback_stop),
		cmocka_unit_test(events__timestamp),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
