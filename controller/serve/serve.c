#include "controller/serve/serve.h"
#include "controller/serve/page.h"
#include "controller/serve/serve_private.h"
#include "controller/state/backups.h"
#include "common/clock.h"
#include "common/json.h"
#include "common/log.h"
#include "controller/state/journal.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define METRICS_TTL_MS 1000
#define MAX_LIMIT 1000
#define DEFAULT_REQUEST_TIMEOUT_MS 10000
/* Worker threads: a report being made (its probes take a while) or a
 * wrong login's pause holds one, not every connection. */
#define THREADS 4

/* A connection, for the slow-client reaper: `since` is when its current
 * request began (the connection was accepted or the previous request
 * ended), 0 while the handler has the request (its headers are complete). */
struct conn {
	struct conn *prev, *next;
	int fd;
	uint64_t since;
	bool reaped;
};

int vd_serve_parse_listen(const char *listen, char *addr, size_t addr_size, uint16_t *port,
			  bool *loopback, vd_error *err)
{
	const char *colon = strrchr(listen ? listen : "", ':');
	const char *host = listen;
	size_t hl;
	char *end;
	long p;
	struct in6_addr a6;
	struct in_addr a4;

	if (!listen || !colon)
		return vd_error_set(err, VD_EINVAL, "listen address '%s' must be ADDR:PORT",
				    listen ? listen : "");
	hl = (size_t)(colon - listen);
	if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
		host++;
		hl -= 2;
	}
	if (!hl || hl >= addr_size)
		return vd_error_set(err, VD_EINVAL, "listen address '%s' has no usable host", listen);
	memcpy(addr, host, hl);
	addr[hl] = '\0';
	p = strtol(colon + 1, &end, 10);
	if (end == colon + 1 || *end || p < 0 || p > 65535)
		return vd_error_set(err, VD_EINVAL, "listen address '%s': bad port", listen);
	*port = (uint16_t)p;
	if (inet_pton(AF_INET, addr, &a4) == 1)
		*loopback = (ntohl(a4.s_addr) >> 24) == 127;
	else if (inet_pton(AF_INET6, addr, &a6) == 1)
		*loopback = IN6_IS_ADDR_LOOPBACK(&a6);
	else
		return vd_error_set(err, VD_EINVAL,
				    "listen address '%s': '%s' is not an IP address", listen, addr);
	return 0;
}

/* --- metrics --------------------------------------------------------------- */

static const double buckets[] = { 5, 10, 30, 60, 120, 300, 600 };
#define N_BUCKETS (sizeof(buckets) / sizeof(buckets[0]))

struct tally {
	struct { char type[24]; char result[24]; unsigned long n; } by[32];
	size_t n_by;
	unsigned long rollbacks;
	double last_ts;
	unsigned long hist[N_BUCKETS];
	unsigned long count;
	double sum;
};

static double ts_seconds(const char *ts)
{
	int64_t s;
	const char *frac;

	if (!ts || vd_time_parse(ts, &s))
		return 0;
	frac = strchr(ts, '.');
	return (double)s + (frac ? strtod(frac, NULL) : 0);
}

static int tally_record(yajl_val rec, void *ctx, vd_error *err)
{
	struct tally *t = ctx;
	const char *step = vd_json_str(rec, "step"), *state = vd_json_str(rec, "state");
	const char *type = vd_json_str(rec, "type"), *dur = vd_json_str(rec, "duration_ms");
	size_t i;

	if (!step || !state)
		return 0;
	if (!strcmp(step, "rollback") && !strcmp(state, "done"))
		t->rollbacks++;
	if (strcmp(step, "deploy") || !strcmp(state, "begin"))
		return 0;
	for (i = 0; i < t->n_by; i++)
		if (!strcmp(t->by[i].type, type ? type : "") && !strcmp(t->by[i].result, state))
			break;
	if (i == t->n_by && t->n_by < sizeof(t->by) / sizeof(t->by[0])) {
		snprintf(t->by[i].type, sizeof(t->by[i].type), "%s", type ? type : "");
		snprintf(t->by[i].result, sizeof(t->by[i].result), "%s", state);
		t->n_by++;
	}
	if (i < t->n_by)
		t->by[i].n++;
	t->last_ts = ts_seconds(vd_json_str(rec, "ts"));
	if (dur) {
		double s = strtod(dur, NULL) / 1000.0;

		for (i = 0; i < N_BUCKETS; i++)
			if (s <= buckets[i])
				t->hist[i]++;
		t->count++;
		t->sum += s;
	}
	return 0;
}

/* Label values in the exposition format: \ " and newline escaped. */
static void label_value(vd_buf *out, const char *v)
{
	for (; v && *v; v++) {
		if (*v == '\\' || *v == '"')
			vd_buf_printf(out, "\\%c", *v);
		else if (*v == '\n')
			vd_buf_puts(out, "\\n");
		else
			vd_buf_putc(out, *v);
	}
}

/* The start of a sample with two labels, `name{k1="v1",k2="v2"} `, or one
 * when k2 is NULL. */
static void series(vd_buf *out, const char *name, const char *k1, const char *v1, const char *k2,
		   const char *v2)
{
	vd_buf_printf(out, "%s{%s=\"", name, k1);
	label_value(out, v1);
	if (k2) {
		vd_buf_printf(out, "\",%s=\"", k2);
		label_value(out, v2);
	}
	vd_buf_puts(out, "\"} ");
}

/* The probes of a report: its services' probes (health/report.h), or a
 * flat "probes" list of {service, name, status, latency_ms}. */
struct probe_row {
	const char *service, *name, *status;
	long long latency_ms;
};

static size_t probe_rows(yajl_val v, struct probe_row *rows, size_t cap)
{
	yajl_val flat = vd_json_get(v, "probes"), services = vd_json_get(v, "services");
	size_t i, j, n = 0;

	for (i = 0; i < vd_json_len(flat) && n < cap; i++, n++) {
		yajl_val p = vd_json_idx(flat, i);

		rows[n] = (struct probe_row){ vd_json_str(p, "service"), vd_json_str(p, "name"),
					      vd_json_str(p, "status"), vd_json_int(p, "latency_ms", 0) };
	}
	for (i = 0; i < vd_json_len(services); i++) {
		yajl_val svc = vd_json_idx(services, i), probes = vd_json_get(svc, "probes");

		for (j = 0; j < vd_json_len(probes) && n < cap; j++, n++) {
			yajl_val p = vd_json_idx(probes, j);

			rows[n] = (struct probe_row){ vd_json_str(svc, "service"), vd_json_str(p, "probe"),
						      vd_json_str(p, "status"),
						      vd_json_int(p, "latency_ms", 0) };
		}
	}
	return n;
}

static void probe_metrics(const char *report_json, vd_buf *out)
{
	vd_error err = VD_ERROR_INIT;
	yajl_val v = report_json ? vd_json_parse(report_json, &err) : NULL;
	struct probe_row rows[256];
	size_t i, n = probe_rows(v, rows, sizeof(rows) / sizeof(rows[0]));

	vd_error_release(&err);
	if (!n) {
		yajl_tree_free(v);
		return;
	}
	vd_buf_puts(out, "# HELP voxdeploy_probe_up Whether the probe passed at the last report.\n"
			 "# TYPE voxdeploy_probe_up gauge\n");
	for (i = 0; i < n; i++) {
		series(out, "voxdeploy_probe_up", "service", rows[i].service, "probe", rows[i].name);
		vd_buf_printf(out, "%d\n", rows[i].status && !strcmp(rows[i].status, "ok"));
	}
	vd_buf_puts(out, "# HELP voxdeploy_probe_latency_seconds The probe's latency at the last report.\n"
			 "# TYPE voxdeploy_probe_latency_seconds gauge\n");
	for (i = 0; i < n; i++) {
		series(out, "voxdeploy_probe_latency_seconds", "service", rows[i].service, "probe",
		       rows[i].name);
		vd_buf_printf(out, "%.6f\n", (double)rows[i].latency_ms / 1000.0);
	}
	yajl_tree_free(v);
}

/* On a swarm, the report's "nodes" (cmd_serve's): each node's readiness and
 * the stack's tasks running on it per service. */
static void node_metrics(const char *report_json, vd_buf *out)
{
	vd_error err = VD_ERROR_INIT;
	yajl_val v = report_json ? vd_json_parse(report_json, &err) : NULL, nodes = vd_json_get(v, "nodes");
	size_t i, j;

	vd_error_release(&err);
	if (!vd_json_len(nodes)) {
		yajl_tree_free(v);
		return;
	}
	vd_buf_puts(out, "# HELP voxdeploy_node_ready Whether the swarm node is ready, at the last report.\n"
			 "# TYPE voxdeploy_node_ready gauge\n");
	for (i = 0; i < vd_json_len(nodes); i++) {
		yajl_val n = vd_json_idx(nodes, i);
		const char *state = vd_json_str(n, "state");

		series(out, "voxdeploy_node_ready", "node", vd_json_str(n, "node"), "role", vd_json_str(n, "role"));
		vd_buf_printf(out, "%d\n", state && !strcmp(state, "ready"));
	}
	vd_buf_puts(out, "# HELP voxdeploy_tasks_running The stack's tasks running on each swarm node, per "
			 "service, at the last report.\n"
			 "# TYPE voxdeploy_tasks_running gauge\n");
	for (i = 0; i < vd_json_len(nodes); i++) {
		yajl_val n = vd_json_idx(nodes, i), running = vd_json_get(n, "running");

		for (j = 0; YAJL_IS_OBJECT(running) && j < running->u.object.len; j++) {
			series(out, "voxdeploy_tasks_running", "node", vd_json_str(n, "node"), "service",
			       running->u.object.keys[j]);
			vd_buf_printf(out, "%lld\n", YAJL_IS_INTEGER(running->u.object.values[j])
							  ? YAJL_GET_INTEGER(running->u.object.values[j]) : 0LL);
		}
	}
	yajl_tree_free(v);
}

/* One gauge per service of its newest dump (the list holds only those). */
static void backup_gauge(vd_buf *out, const vd_backup_info *all, size_t n, const char *name,
			 const char *help, bool age)
{
	double now = (double)time(NULL);
	size_t i;

	vd_buf_printf(out, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
	for (i = 0; i < n; i++) {
		series(out, name, "service", all[i].service, NULL, NULL);
		if (age)
			vd_buf_printf(out, "%.3f\n", now - ts_seconds(all[i].created));
		else
			vd_buf_printf(out, "%llu\n", (unsigned long long)all[i].bytes);
	}
}

static void backup_metrics(const char *state_dir, vd_buf *out)
{
	vd_backup_info *all = NULL;
	vd_error err = VD_ERROR_INIT;
	size_t n = 0;

	if (!vd_backup_list(state_dir, &all, &n, &err) && (n = vd_backup_newest_per_service(all, n))) {
		backup_gauge(out, all, n, "voxdeploy_backup_last_age_seconds",
			     "How old the newest database dump is.", true);
		backup_gauge(out, all, n, "voxdeploy_backup_last_bytes",
			     "The size of the newest database dump.", false);
	}
	vd_error_release(&err);
	free(all);
}

int vd_serve_metrics(const char *state_dir, const char *report_json, vd_buf *out, vd_error *err)
{
	struct tally t;
	size_t i;
	int r;

	memset(&t, 0, sizeof(t));
	r = vd_journal_read(state_dir, 0, tally_record, &t, err);
	if (r && r != VD_ENOTFOUND)
		return r;
	vd_error_release(err);
	vd_buf_puts(out, "# HELP voxdeploy_build_info voxdeploy's version.\n"
			 "# TYPE voxdeploy_build_info gauge\n");
	vd_buf_printf(out, "voxdeploy_build_info{version=\"%s\"} 1\n", VD_VERSION);
	vd_buf_puts(out, "# HELP voxdeploy_deploys_total Deploys by type and result.\n"
			 "# TYPE voxdeploy_deploys_total counter\n");
	for (i = 0; i < t.n_by; i++) {
		series(out, "voxdeploy_deploys_total", "type", t.by[i].type, "result", t.by[i].result);
		vd_buf_printf(out, "%lu\n", t.by[i].n);
	}
	vd_buf_printf(out, "# HELP voxdeploy_rollbacks_total Rollbacks that restored the previous version.\n"
			   "# TYPE voxdeploy_rollbacks_total counter\n"
			   "voxdeploy_rollbacks_total %lu\n", t.rollbacks);
	vd_buf_printf(out, "# HELP voxdeploy_last_deploy_timestamp_seconds When the last deploy ended.\n"
			   "# TYPE voxdeploy_last_deploy_timestamp_seconds gauge\n"
			   "voxdeploy_last_deploy_timestamp_seconds %.3f\n", t.last_ts);
	vd_buf_puts(out, "# HELP voxdeploy_deploy_duration_seconds How long deploys took.\n"
			 "# TYPE voxdeploy_deploy_duration_seconds histogram\n");
	for (i = 0; i < N_BUCKETS; i++)
		vd_buf_printf(out, "voxdeploy_deploy_duration_seconds_bucket{le=\"%g\"} %lu\n", buckets[i],
			      t.hist[i]);
	vd_buf_printf(out, "voxdeploy_deploy_duration_seconds_bucket{le=\"+Inf\"} %lu\n"
			   "voxdeploy_deploy_duration_seconds_sum %.3f\n"
			   "voxdeploy_deploy_duration_seconds_count %lu\n", t.count, t.sum, t.count);
	probe_metrics(report_json, out);
	node_metrics(report_json, out);
	backup_metrics(state_dir, out);
	return 0;
}

/* --- requests -------------------------------------------------------------- */

void serve_answer(vd_serve_answer *a, unsigned status, const char *type, const char *body)
{
	a->status = status;
	a->type = type;
	vd_buf_clear(&a->body);
	/* nothing served may carry a secret */
	if (vd_secret_redact(body, &a->body)) {
		/* no memory for the body: an empty 500 still answers */
		a->status = 500;
		vd_buf_clear(&a->body);
	}
}

void serve_answer_error(vd_serve_answer *a, unsigned status, const char *msg)
{
	vd_buf body = VD_BUF_INIT;
	yajl_gen g = vd_jgen_new();

	yajl_gen_map_open(g);
	vd_jgen_kstr(g, "error", msg);
	vd_jgen_kint(g, "status", status);
	yajl_gen_map_close(g);
	vd_jgen_finish(g, &body);
	vd_buf_putc(&body, '\n');
	serve_answer(a, status, "application/json", vd_buf_cstr(&body));
	vd_buf_release(&body);
}

const char *serve_header(const vd_serve_request *rq, const char *name)
{
	return rq->header ? rq->header(rq->ctx, name) : NULL;
}

static const char *arg(const vd_serve_request *rq, const char *name)
{
	return rq->arg ? rq->arg(rq->ctx, name) : NULL;
}

static void serve_healthz(vd_serve *s, vd_serve_answer *a)
{
	vd_error err = VD_ERROR_INIT;
	vd_buf body = VD_BUF_INIT;
	int rc = 0;

	if (s->opts.ping) {
		pthread_mutex_lock(&s->lock);
		rc = s->opts.ping(s->opts.ctx, &err);
		pthread_mutex_unlock(&s->lock);
	}
	if (rc) {
		yajl_gen g = vd_jgen_new();

		yajl_gen_map_open(g);
		vd_jgen_kstr(g, "status", "unhealthy");
		vd_jgen_kstr(g, "engine", vd_error_msg(&err));
		yajl_gen_map_close(g);
		vd_jgen_finish(g, &body);
		vd_buf_putc(&body, '\n');
		serve_answer(a, 503, "application/json", vd_buf_cstr(&body));
	} else {
		serve_answer(a, 200, "application/json",
		       s->opts.ping ? "{\"status\":\"ok\",\"engine\":\"ok\"}\n" : "{\"status\":\"ok\"}\n");
	}
	vd_buf_release(&body);
	vd_error_release(&err);
}

void serve_report_locked(vd_serve *s, bool fresh)
{
	vd_error err = VD_ERROR_INIT;
	long ttl = s->opts.report_ttl_ms > 0 ? s->opts.report_ttl_ms : 10000;

	if (!s->opts.report) {
		s->report_code = VD_EINVAL;
		snprintf(s->report_error, sizeof(s->report_error), "no health report is configured");
		return;
	}
	if (s->report_at && !fresh && vd_now_ms() - s->report_at < (uint64_t)ttl)
		return;
	vd_buf_clear(&s->report);
	s->report_code = s->opts.report(s->opts.ctx, &s->report, &err);
	s->report_at = vd_now_ms();
	if (s->report_code && s->report_code != VD_EUNHEALTHY) {
		vd_buf_clear(&s->report);
		s->report_at = 0;  /* no report is not cached */
		snprintf(s->report_error, sizeof(s->report_error), "%s", vd_error_msg(&err));
	}
	vd_error_release(&err);
}

static void serve_report(vd_serve *s, const vd_serve_request *rq, vd_serve_answer *a)
{
	const char *fresh = arg(rq, "fresh");

	if (fresh && strcmp(fresh, "0") && strcmp(fresh, "1"))
		return serve_answer_error(a, 400, "fresh must be 0 or 1");
	if (!s->opts.report)
		return serve_answer_error(a, 503, "no health report is configured");
	pthread_mutex_lock(&s->lock);
	serve_report_locked(s, fresh && !strcmp(fresh, "1"));
	if (s->report_code && s->report_code != VD_EUNHEALTHY)
		serve_answer_error(a, 503, s->report_error);
	else
		serve_answer(a, s->report_code ? 503 : 200, "application/json", vd_buf_cstr(&s->report));
	pthread_mutex_unlock(&s->lock);
}

struct collect {
	yajl_gen g;
};

static int collect_record(yajl_val rec, void *ctx, vd_error *err)
{
	vd_jgen_value(((struct collect *)ctx)->g, rec);
	return 0;
}

static void serve_deployments(vd_serve *s, const vd_serve_request *rq, vd_serve_answer *a)
{
	const char *lim = arg(rq, "limit");
	struct collect col;
	vd_error err = VD_ERROR_INIT;
	vd_buf body = VD_BUF_INIT;
	long limit = 50;
	char *end;
	int rc;

	if (lim) {
		limit = strtol(lim, &end, 10);
		/* digits only: strtol would also take " 10" and "+10" */
		if (*lim < '0' || *lim > '9' || *end || limit < 1 || limit > MAX_LIMIT)
			return serve_answer_error(a, 400, "limit must be a number from 1 to 1000");
	}
	col.g = vd_jgen_new();
	yajl_gen_map_open(col.g);
	vd_jgen_str(col.g, "records");
	yajl_gen_array_open(col.g);
	rc = vd_journal_read(s->opts.state_dir, (size_t)limit, collect_record, &col, &err);
	yajl_gen_array_close(col.g);
	yajl_gen_map_close(col.g);
	vd_jgen_finish(col.g, &body);
	vd_buf_putc(&body, '\n');
	if (rc && rc != VD_ENOTFOUND)
		serve_answer_error(a, 500, "cannot read the journal");
	else
		serve_answer(a, 200, "application/json", vd_buf_cstr(&body));
	vd_buf_release(&body);
	vd_error_release(&err);
}

static void serve_metrics(vd_serve *s, vd_serve_answer *a)
{
	vd_error err = VD_ERROR_INIT;

	pthread_mutex_lock(&s->lock);
	if (!s->metrics_at || vd_now_ms() - s->metrics_at >= METRICS_TTL_MS) {
		vd_buf_clear(&s->metrics);
		if (vd_serve_metrics(s->opts.state_dir, s->report.len ? vd_buf_cstr(&s->report) : NULL,
				     &s->metrics, &err))
			vd_buf_clear(&s->metrics);
		s->metrics_at = vd_now_ms();
	}
	if (s->metrics.len)
		serve_answer(a, 200, "text/plain; version=0.0.4", vd_buf_cstr(&s->metrics));
	else
		serve_answer_error(a, 500, "cannot read the journal");
	pthread_mutex_unlock(&s->lock);
	vd_error_release(&err);
}

/* POST only where a form posts: the login and the logout. */
static bool post_path(const char *path)
{
	return !strcmp(path, "/login") || !strcmp(path, "/logout");
}

bool vd_serve_handle(vd_serve *s, const vd_serve_request *rq, vd_serve_answer *a)
{
	const char *path = rq->path ? rq->path : "";
	bool post = !strcmp(rq->method, "POST");

	if (rq->headers_only) {
		const char *length = serve_header(rq, "Content-Length");

		if (post ? !post_path(path) : strcmp(rq->method, "GET") && strcmp(rq->method, "HEAD")) {
			serve_answer_error(a, 405, "only GET and HEAD (and POST to /login and /logout)");
			return true;
		}
		/* HTTP/1.1 requires Host (RFC 9112 3.2) */
		if (!strcmp(rq->version, "HTTP/1.1") && !serve_header(rq, "Host")) {
			serve_answer_error(a, 400, "an HTTP/1.1 request needs a Host header");
			return true;
		}
		if (post && length && strtoull(length, NULL, 10) > VD_SERVE_MAX_FORM) {
			serve_answer_error(a, 413, "a form of at most 4096 bytes");
			return true;
		}
		return false;
	}
	if (post && !strcmp(path, "/login"))
		serve_login(s, rq, a);
	else if (post)
		serve_logout(s, rq, a);
	else if (rq->has_body)
		serve_answer_error(a, 400, "a GET takes no body");
	else if (!serve_authorized(s, rq) && (!strcmp(path, "/") || !strcmp(path, "/login")))
		serve_login_form(s, a, 401, NULL);
	else if (!serve_authorized(s, rq))
		serve_answer_error(a, 401, "a valid bearer token is required");
	else if (!strcmp(path, "/"))
		serve_page(s, rq, a);
	else if (!strcmp(path, "/login"))
		serve_redirect(a, "/");
	else if (!strcmp(path, "/healthz"))
		serve_healthz(s, a);
	else if (!strcmp(path, "/v1/report"))
		serve_report(s, rq, a);
	else if (!strcmp(path, "/v1/deployments"))
		serve_deployments(s, rq, a);
	else if (!strcmp(path, "/metrics"))
		serve_metrics(s, a);
	else
		serve_answer_error(a, 404, "no such endpoint (try /, /healthz, /v1/report, /v1/deployments, /metrics)");
	return true;
}

/* --- the HTTP layer (libmicrohttpd) ------------------------------------------ */

static const char *mhd_header(void *ctx, const char *name)
{
	return MHD_lookup_connection_value(ctx, MHD_HEADER_KIND, name);
}

static const char *mhd_arg(void *ctx, const char *name)
{
	return MHD_lookup_connection_value(ctx, MHD_GET_ARGUMENT_KIND, name);
}

/* Queues the answer; MHD takes its body over (it is freed with the
 * response). */
static enum MHD_Result respond(struct MHD_Connection *c, vd_serve_answer *a)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	if (a->body.ptr) {
		resp = MHD_create_response_from_buffer(a->body.len, a->body.ptr, MHD_RESPMEM_MUST_FREE);
		if (resp)
			vd_buf_init(&a->body, a->body.max);
	} else {
		resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	}
	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, "Content-Type", a->type ? a->type : "application/json");
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	if (a->nonce[0]) {
		char csp[400];

		vd_page_csp(a->nonce, csp, sizeof(csp));
		MHD_add_response_header(resp, "Content-Security-Policy", csp);
	} else {
		MHD_add_response_header(resp, "Content-Security-Policy",
					"default-src 'none'; frame-ancestors 'none'");
	}
	if (a->location)
		MHD_add_response_header(resp, "Location", a->location);
	if (a->cookie[0])
		MHD_add_response_header(resp, "Set-Cookie", a->cookie);
	ret = MHD_queue_response(c, a->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* A POST's body as it arrives (its request's req_cls; a GET's is the
 * server). */
struct upload {
	vd_buf body;
};

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **req_cls)
{
	vd_serve *s = cls;
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	vd_serve_request rq = { method, version, url, mhd_header, mhd_arg, c, false, false, NULL, 0 };
	vd_serve_answer a = VD_SERVE_ANSWER_INIT;
	struct upload *up = *req_cls && *req_cls != s ? *req_cls : NULL;
	enum MHD_Result r = MHD_YES;

	if (up && *upload_data_size) {
		/* the form is read whole before it is answered; a larger one is
		 * refused at once (and the connection closed) */
		if (vd_buf_put(&up->body, upload_data, *upload_data_size)) {
			serve_answer_error(&a, 413, "a form of at most 4096 bytes");
			r = respond(c, &a);
			vd_serve_answer_release(&a);
			return r;
		}
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (up) {
		rq.body = vd_buf_cstr(&up->body);
		rq.body_len = up->body.len;
	}
	if (!*req_cls) {
		/* The first call: the headers are in, so the request is no longer
		 * the reaper's.  A response queued now, before MHD knows there is
		 * no body, would make it close the connection ("Connection:
		 * close" on every answer, no keep-alive), so it waits for the
		 * second call -- except a refusal, which may close it. */
		*req_cls = s;
		if (ci && ci->socket_context) {
			pthread_mutex_lock(&s->conn_lock);
			((struct conn *)ci->socket_context)->since = 0;
			pthread_mutex_unlock(&s->conn_lock);
		}
		rq.headers_only = true;
	}
	rq.has_body = *upload_data_size != 0;
	if (vd_serve_handle(s, &rq, &a)) {
		r = respond(c, &a);
	} else if (rq.headers_only && !strcmp(method, "POST")) {
		if (!(up = calloc(1, sizeof(*up))))
			return MHD_NO;
		vd_buf_init(&up->body, VD_SERVE_MAX_FORM);
		*req_cls = up;
	}
	vd_serve_answer_release(&a);
	return r;
}

/* --- slow clients ----------------------------------------------------------- */

/* MHD's CONNECTION_TIMEOUT is an idle timeout: a client that trickles a byte
 * of its headers every few seconds never trips it and holds a connection slot
 * for as long as it likes.  So every connection is tracked, and a request
 * whose line and headers have not all arrived within request_timeout_ms of
 * its start is cut off (shutdown() of its socket: MHD sees the end of the
 * stream and closes it).  A keep-alive connection idle between requests
 * counts as waiting for its next request. */
static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
			  enum MHD_ConnectionNotificationCode code)
{
	vd_serve *s = cls;
	struct conn *k = *socket_context;

	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);

		k = calloc(1, sizeof(*k));
		if (!k || !ci) {
			free(k);
			*socket_context = NULL;
			return;
		}
		k->fd = ci->connect_fd;
		pthread_mutex_lock(&s->conn_lock);
		k->since = vd_now_ms();
		k->next = s->conns;
		if (s->conns)
			s->conns->prev = k;
		s->conns = k;
		pthread_mutex_unlock(&s->conn_lock);
		*socket_context = k;
	} else if (k) {  /* closed: called before MHD closes the socket */
		pthread_mutex_lock(&s->conn_lock);
		if (k->prev)
			k->prev->next = k->next;
		else
			s->conns = k->next;
		if (k->next)
			k->next->prev = k->prev;
		pthread_mutex_unlock(&s->conn_lock);
		free(k);
		*socket_context = NULL;
	}
}

static void on_completed(void *cls, struct MHD_Connection *c, void **req_cls,
			 enum MHD_RequestTerminationCode toe)
{
	vd_serve *s = cls;
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	if (*req_cls && *req_cls != s) {
		struct upload *up = *req_cls;

		vd_buf_release(&up->body);
		free(up);
		*req_cls = NULL;
	}
	if (ci && ci->socket_context) {  /* the next request's clock starts */
		pthread_mutex_lock(&s->conn_lock);
		((struct conn *)ci->socket_context)->since = vd_now_ms();
		pthread_mutex_unlock(&s->conn_lock);
	}
}

static void *reaper(void *arg)
{
	vd_serve *s = arg;
	struct timespec ts;
	struct conn *k;
	uint64_t now;

	pthread_mutex_lock(&s->conn_lock);
	while (!s->stopping) {
		now = vd_now_ms();
		for (k = s->conns; k; k = k->next) {
			if (k->since && !k->reaped && now - k->since >= s->request_timeout_ms) {
				vd_log_debug("serve: closing a connection whose request took over %llu ms",
					     (unsigned long long)s->request_timeout_ms);
				shutdown(k->fd, SHUT_RDWR);
				k->reaped = true;
			}
		}
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 250 * 1000 * 1000;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&s->conn_cond, &s->conn_lock, &ts);
	}
	pthread_mutex_unlock(&s->conn_lock);
	return NULL;
}

/* URL and query unescaping: as MHD's own, except that a string with an
 * encoded NUL (%00) stays as it came.  Unescaped, "/v1/report%00x" would
 * end at the NUL and reach /v1/report; kept, it is an unknown path (404) or
 * an invalid value (400). */
size_t vd_serve_unescape(char *s)
{
	const char *p;

	for (p = s; (p = strchr(p, '%')); p++)
		if (p[1] == '0' && p[2] == '0')
			return strlen(s);
	return MHD_http_unescape(s);
}

static size_t unescape(void *cls, struct MHD_Connection *c, char *s)
{
	(void)cls;
	(void)c;
	return vd_serve_unescape(s);
}

/* libmicrohttpd hands its own printf-style messages on. */
static __attribute__((format(printf, 2, 0))) void mhd_log(void *cls, const char *fmt, va_list ap)
{
	vd_logv(VD_LOG_DEBUG, fmt, ap);
}

int vd_serve_start(const vd_serve_options *opts, vd_serve **out, vd_error *err)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	char addr[128];
	uint16_t port;
	bool loopback;
	vd_serve *s;
	const union MHD_DaemonInfo *info;
	int r;

	r = vd_serve_parse_listen(opts->listen, addr, sizeof(addr), &port, &loopback, err);
	if (r)
		return r;
	if (!loopback && (!opts->token || !*opts->token))
		return vd_error_set(err, VD_EINVAL,
				    "listening on %s (not loopback) needs a bearer token (--token-file)",
				    opts->listen);
	memset(&ss, 0, sizeof(ss));
	if (strchr(addr, ':')) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons(port);
		inet_pton(AF_INET6, addr, &a->sin6_addr);
		sl = sizeof(*a);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;

		a->sin_family = AF_INET;
		a->sin_port = htons(port);
		inet_pton(AF_INET, addr, &a->sin_addr);
		sl = sizeof(*a);
	}
	(void)sl;
	s = calloc(1, sizeof(*s));
	if (!s)
		return vd_error_set(err, VD_ENOMEM, "out of memory");
	s->opts = *opts;
	if (opts->token && !(s->token = strdup(opts->token))) {
		free(s);
		return vd_error_set(err, VD_ENOMEM, "out of memory");
	}
	pthread_mutex_init(&s->lock, NULL);
	pthread_mutex_init(&s->conn_lock, NULL);
	pthread_cond_init(&s->conn_cond, NULL);
	s->request_timeout_ms = opts->request_timeout_ms > 0 ? (uint64_t)opts->request_timeout_ms
							     : DEFAULT_REQUEST_TIMEOUT_MS;
	vd_buf_init(&s->report, 4 << 20);
	vd_buf_init(&s->metrics, 4 << 20);
	serve_page_init(s);
	s->mhd = MHD_start_daemon(MHD_USE_AUTO | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG |
				  (strchr(addr, ':') ? MHD_USE_IPv6 : 0),
				  port, NULL, NULL, on_request, s,
				  MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
				  MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)THREADS,
				  MHD_OPTION_CONNECTION_LIMIT, (unsigned int)512,
				  MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned int)256,
				  MHD_OPTION_CONNECTION_TIMEOUT,
				  (unsigned int)((s->request_timeout_ms + 999) / 1000),
				  MHD_OPTION_NOTIFY_CONNECTION, on_connection, s,
				  MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
				  MHD_OPTION_UNESCAPE_CALLBACK, unescape, NULL,
				  /* over 32 KB, MHD maps each connection's pool
				   * with mmap and unmaps it at close, so memory a
				   * burst of connections took goes back to the
				   * system; smaller pools come from malloc and the
				   * heap keeps its high-water mark (about 3 MB more
				   * after 100 connections) */
				  MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 << 10),
				  MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
				  MHD_OPTION_END);
	if (!s->mhd) {
		vd_serve_stop(s);
		return vd_error_set(err, VD_EIO, "cannot listen on %s (address in use?)", opts->listen);
	}
	if (pthread_create(&s->reaper, NULL, reaper, s)) {
		vd_serve_stop(s);
		return vd_error_set(err, VD_EIO, "cannot start a thread");
	}
	s->reaper_started = true;
	info = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_BIND_PORT);
	s->port = info ? info->port : port;
	*out = s;
	return 0;
}

uint16_t vd_serve_port(const vd_serve *s)
{
	return s->port;
}

void vd_serve_stop(vd_serve *s)
{
	if (!s)
		return;
	if (s->reaper_started) {
		pthread_mutex_lock(&s->conn_lock);
		s->stopping = true;
		pthread_cond_signal(&s->conn_cond);
		pthread_mutex_unlock(&s->conn_lock);
		pthread_join(s->reaper, NULL);
	}
	if (s->mhd)
		MHD_stop_daemon(s->mhd);  /* waits for the requests in flight */
	pthread_mutex_destroy(&s->lock);
	pthread_mutex_destroy(&s->conn_lock);
	pthread_cond_destroy(&s->conn_cond);
	vd_buf_release(&s->report);
	vd_buf_release(&s->metrics);
	serve_page_release(s);
	free(s->token);
	free(s);
}
