/* Integration tests: the event stream against the real engine — waiting for a
 * container's health and exit without polling (DOCKER_API.md §5). */
#include "itest.h"
#include "common/clock.h"
#include "docker_api/events.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct watch {
	vd_buf actions;        /* "start|health_status: healthy|die" */
	char name[160];        /* the container's name, from the attributes */
	char exit_code[16];
	int64_t first_nano;
	size_t n;
	bool bad_time;
};

static int on_event(const vd_event *ev, void *ctx, vd_error *err)
{
	struct watch *w = ctx;

	w->n++;
	if (w->actions.len)
		vd_buf_putc(&w->actions, '|');
	vd_buf_puts(&w->actions, ev->action);
	if (!w->first_nano)
		w->first_nano = ev->time_nano;
	if (ev->time_nano < w->first_nano || ev->time <= 0)
		w->bad_time = true;
	if (vd_event_attr(ev, "name"))
		snprintf(w->name, sizeof(w->name), "%s", vd_event_attr(ev, "name"));
	if (!strcmp(ev->action, "die")) {
		snprintf(w->exit_code, sizeof(w->exit_code), "%s",
			 vd_event_attr(ev, "exitCode") ? vd_event_attr(ev, "exitCode") : "?");
		return VD_EVENTS_STOP;
	}
	return 0;
}

static void events__health_and_die(void **state)
{
	static const char health[] =
		"\"Healthcheck\":{\"Test\":[\"CMD-SHELL\",\"true\"],\"Interval\":1000000000,"
		"\"Timeout\":1000000000,\"Retries\":1}";
	vd_docker *d = itest_docker();
	vd_error err = VD_ERROR_INIT;
	double t0 = vd_events_now() - 1.0;
	char since[32], until[32], want_name[160];
	const char *filters[] = { "type", "container", "container", NULL,
				  "event", "start", "event", "health_status", "event", "die", NULL };
	vd_events_opts opts = VD_EVENTS_OPTS_INIT;
	struct watch w;
	uint64_t started;
	char *id = itest_create("events", "sleep 4; exit 7", health);
	const char *acts;
	const char *p_start, *p_healthy, *p_die;

	memset(&w, 0, sizeof(w));
	vd_buf_init(&w.actions, 0);
	filters[3] = id;
	opts.since = vd_events_timestamp(t0, since);
	opts.until = vd_events_timestamp(t0 + 30, until);
	opts.filters = filters;
	opts.idle_timeout_ms = 30000;
	opts.deadline_ms = 40000;

	itest_ok(vd_container_start(d, id, &err), &err);
	started = vd_now_ms();
	/* the start already happened: it comes from the engine's buffer (since) */
	itest_ok(vd_events_read(d, &opts, on_event, &w, &err), &err);
	assert_null(err.msg);
	/* stopped by the callback at die, long before until */
	assert_true(vd_now_ms() - started < 20000);

	acts = vd_buf_cstr(&w.actions);
	p_start = strstr(acts, "start");
	p_healthy = strstr(acts, "health_status: healthy");
	p_die = strstr(acts, "die");
	if (!p_start || !p_healthy || !p_die)
		fail_msg("events seen: %s", acts);
	assert_true(p_start < p_healthy);
	assert_true(p_healthy < p_die);
	/* die is the last one: the stream stopped there */
	assert_string_equal(p_die, "die");
	assert_string_equal(w.exit_code, "7");
	snprintf(want_name, sizeof(want_name), "%s_events", itest_project());
	assert_string_equal(w.name, want_name);
	assert_false(w.bad_time);
	/* the filter let nothing else through */
	assert_null(strstr(acts, "create"));

	/* read again over the same window: the buffer replays it all */
	vd_buf_clear(&w.actions);
	w.n = 0;
	itest_ok(vd_events_read(d, &opts, on_event, &w, &err), &err);
	assert_non_null(strstr(vd_buf_cstr(&w.actions), "health_status: healthy"));
	assert_string_equal(w.exit_code, "7");

	vd_buf_release(&w.actions);
	vd_error_release(&err);
	free(id);
}

static int count_event(const vd_event *ev, void *ctx, vd_error *err)
{
	(*(size_t *)ctx)++;
	return 0;
}

static void events__until_ends_stream(void **state)
{
	vd_error err = VD_ERROR_INIT;
	double now = vd_events_now();
	char since[32], until[32];
	const char *filters[] = { "type", "container", "label", "io.voxdeploy.test.none=1", NULL };
	vd_events_opts opts = VD_EVENTS_OPTS_INIT;
	size_t n = 0;
	uint64_t t0 = vd_now_ms(), took;

	opts.since = vd_events_timestamp(now - 1, since);
	opts.until = vd_events_timestamp(now + 2, until);
	opts.filters = filters;
	opts.idle_timeout_ms = 20000;
	itest_ok(vd_events_read(itest_docker(), &opts, count_event, &n, &err), &err);
	took = vd_now_ms() - t0;
	assert_int_equal(n, 0);
	assert_true(took >= 1000 && took < 10000);
	vd_error_release(&err);
}

static void events__idle_and_deadline(void **state)
{
	vd_error err = VD_ERROR_INIT;
	const char *filters[] = { "label", "io.voxdeploy.test.none=1", NULL };
	vd_events_opts opts = VD_EVENTS_OPTS_INIT;
	size_t n = 0;
	uint64_t t0;

	opts.filters = filters;
	opts.idle_timeout_ms = 1000;
	t0 = vd_now_ms();
	assert_int_equal(vd_events_read(itest_docker(), &opts, count_event, &n, &err), VD_ETIMEOUT);
	assert_true(vd_now_ms() - t0 < 5000);
	assert_non_null(strstr(vd_error_msg(&err), "events: "));

	opts.idle_timeout_ms = 60000;
	opts.deadline_ms = 1500;
	t0 = vd_now_ms();
	assert_int_equal(vd_events_read(itest_docker(), &opts, count_event, &n, &err), VD_ETIMEOUT);
	assert_true(vd_now_ms() - t0 < 6000);
	assert_int_equal(n, 0);
	vd_error_release(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(events__health_and_die),
		cmocka_unit_test(events__until_ends_stream),
		cmocka_unit_test(events__idle_and_deadline),
	};

	return cmocka_run_group_tests(tests, NULL, itest_group_teardown);
}
