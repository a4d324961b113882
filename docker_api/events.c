#include "docker_api/events.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void event_init(vd_event *ev)
{
	memset(ev, 0, sizeof(*ev));
}

void vd_event_release(vd_event *ev)
{
	if (!ev)
		return;
	free(ev->type);
	free(ev->action);
	free(ev->actor_id);
	free(ev->scope);
	vd_kvs_release(&ev->attributes);
	event_init(ev);
}

const char *vd_event_attr(const vd_event *ev, const char *key)
{
	return vd_kvs_get(&ev->attributes, key);
}

static char *dup_or_empty(const char *s)
{
	return strdup(s ? s : "");
}

int vd_event_parse(yajl_val v, vd_event *out, vd_error *err)
{
	vd_event ev;
	yajl_val actor;
	const char *action, *id, *msg;
	int r;

	if (!v || !YAJL_IS_OBJECT(v))
		return vd_error_set(err, VD_EPROTO, "event is no JSON object");
	action = vd_json_str(v, "Action");
	if (!action)
		action = vd_json_str(v, "status");  /* engines before API 1.22 */
	if (!action) {
		/* an error the engine reports inside the stream */
		msg = vd_json_str(v, "message");
		if (!msg)
			msg = vd_json_str(vd_json_get(v, "errorDetail"), "message");
		if (!msg)
			msg = vd_json_str(v, "error");
		if (msg)
			return vd_error_set(err, VD_EAPI, "the engine reported an error in the event "
					    "stream: %s", msg);
		return vd_error_set(err, VD_EPROTO, "event without an Action");
	}
	actor = vd_json_get(v, "Actor");
	id = vd_json_str(actor, "ID");
	if (!id)
		id = vd_json_str(v, "id");

	event_init(&ev);
	ev.type = dup_or_empty(vd_json_str(v, "Type"));
	ev.action = strdup(action);
	ev.actor_id = dup_or_empty(id);
	if (vd_json_str(v, "scope"))
		ev.scope = strdup(vd_json_str(v, "scope"));
	if (!ev.type || !ev.action || !ev.actor_id || (vd_json_str(v, "scope") && !ev.scope))
		goto oom;
	r = vd_kvs_from_json(vd_json_get(actor, "Attributes"), &ev.attributes);
	if (r)
		goto oom;
	ev.time = vd_json_int(v, "time", 0);
	ev.time_nano = vd_json_int(v, "timeNano", 0);
	if (!ev.time_nano && ev.time > 0 && ev.time < INT64_MAX / 1000000000)
		ev.time_nano = ev.time * 1000000000;
	if (!ev.time && ev.time_nano)
		ev.time = ev.time_nano / 1000000000;
	*out = ev;
	return 0;
oom:
	vd_event_release(&ev);
	return vd_error_set(err, VD_ENOMEM, "out of memory");
}

int vd_event_parse_line(const char *line, vd_event *out, vd_error *err)
{
	yajl_val v = vd_json_parse(line, err);
	int r;

	if (!v)
		return vd_error_prefix(err, "event");
	r = vd_event_parse(v, out, err);
	yajl_tree_free(v);
	return r;
}

static int on_line(yajl_val v, void *ctx, vd_error *err)
{
	vd_events_parser *p = ctx;
	vd_event ev;
	int r;

	r = vd_event_parse(v, &ev, err);
	if (r)
		return vd_error_prefix(err, "event %zu", p->events + 1);
	p->events++;
	r = p->cb(&ev, p->ctx, err);
	vd_event_release(&ev);
	if (r == VD_EVENTS_STOP)
		p->stopped = true;
	return r;
}

void vd_events_parser_init(vd_events_parser *p, size_t max_line, vd_events_cb cb, void *ctx)
{
	vd_jsonl_init(&p->lines, max_line ? max_line : VD_EVENTS_MAX_LINE, on_line, p);
	p->cb = cb;
	p->ctx = ctx;
	p->events = 0;
	p->stopped = false;
}

int vd_events_parser_feed(vd_events_parser *p, const char *data, size_t len, vd_error *err)
{
	if (p->stopped)
		return VD_EVENTS_STOP;
	return vd_jsonl_feed(&p->lines, data, len, err);
}

int vd_events_parser_finish(vd_events_parser *p, vd_error *err)
{
	if (p->stopped)
		return VD_EVENTS_STOP;
	return vd_jsonl_finish(&p->lines, err);
}

void vd_events_parser_release(vd_events_parser *p)
{
	if (!p)
		return;
	vd_jsonl_release(&p->lines);
}

static int on_data(const char *data, size_t len, void *ctx, vd_error *err)
{
	return vd_events_parser_feed(ctx, data, len, err);
}

int vd_events_read(vd_docker *d, const vd_events_opts *opts, vd_events_cb cb, void *ctx,
		   vd_error *err)
{
	static const vd_events_opts defaults = VD_EVENTS_OPTS_INIT;
	vd_docker_req req = { .method = "GET", .path = "/events" };
	vd_buf query = VD_BUF_INIT, filters = VD_BUF_INIT;
	vd_events_parser p;
	int r = 0;

	if (!opts)
		opts = &defaults;
	vd_events_parser_init(&p, 0, cb, ctx);
	if (opts->since)
		r = vd_docker_query_add(&query, "since", opts->since);
	if (!r && opts->until)
		r = vd_docker_query_add(&query, "until", opts->until);
	if (!r && opts->filters && opts->filters[0]) {
		r = vd_docker_filters_json(&filters, opts->filters);
		if (!r)
			r = vd_docker_query_add(&query, "filters", vd_buf_cstr(&filters));
	}
	if (r) {
		r = vd_error_set(err, r, "events: cannot build the query");
		goto done;
	}
	req.query = vd_buf_cstr(&query);
	req.on_data = on_data;
	req.ctx = &p;
	req.idle_timeout_ms = opts->idle_timeout_ms;
	req.deadline_ms = opts->deadline_ms;
	r = vd_docker_request(d, &req, NULL, err);
	if (!r)
		r = vd_events_parser_finish(&p, err);
	if (r > 0)
		r = 0;  /* the callback stopped the stream */
	else if (r)
		vd_error_prefix(err, "events");
done:
	vd_events_parser_release(&p);
	vd_buf_release(&query);
	vd_buf_release(&filters);
	return r;
}

double vd_events_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

const char *vd_events_timestamp(double unix_seconds, char out[32])
{
	double s = unix_seconds;
	long long sec;
	long ns;

	if (!(s > 0))
		s = 0;  /* negative, zero or NaN */
	if (s > 1e15)
		s = 1e15;
	sec = (long long)s;
	ns = (long)((s - (double)sec) * 1e9 + 0.5);
	if (ns >= 1000000000L) {
		sec++;
		ns -= 1000000000L;
	}
	snprintf(out, 32, "%lld.%09ld", sec, ns);
	return out;
}
