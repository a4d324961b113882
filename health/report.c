#include "health/report.h"
#include "common/clock.h"
#include "common/json.h"
#include "common/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *vd_health_verdict_name(vd_health_verdict v)
{
	switch (v) {
	case VD_VERDICT_PENDING: return "pending";
	case VD_VERDICT_HEALTHY: return "healthy";
	case VD_VERDICT_UNHEALTHY: return "unhealthy";
	}
	return "unknown";
}

void vd_health_report_init(vd_health_report *r)
{
	memset(r, 0, sizeof(*r));
}

void vd_health_report_release(vd_health_report *r)
{
	size_t i;

	if (!r)
		return;
	for (i = 0; i < r->len; i++) {
		free(r->entries[i].service);
		free(r->entries[i].probe);
		free(r->entries[i].target);
	}
	free(r->entries);
	free(r->reason);
	vd_health_report_init(r);
}

int vd_health_report_add(vd_health_report *r, const vd_probe *p, const vd_health_result *res,
			 uint64_t stable_ms, unsigned runs)
{
	vd_health_entry *n, *e;
	char target[256];

	n = realloc(r->entries, (r->len + 1) * sizeof(*n));
	if (!n)
		return VD_ENOMEM;
	r->entries = n;
	e = &r->entries[r->len];
	memset(e, 0, sizeof(*e));
	vd_probe_target(p, target, sizeof(target));
	e->service = strdup(p->service ? p->service : "");
	e->probe = strdup(vd_probe_name(p));
	e->target = strdup(target);
	if (!e->service || !e->probe || !e->target) {
		free(e->service);
		free(e->probe);
		free(e->target);
		return VD_ENOMEM;
	}
	e->kind = p->kind;
	e->result = *res;
	e->stable_ms = stable_ms;
	e->runs = runs;
	r->len++;
	return 0;
}

int vd_health_report_set_reason(vd_health_report *r, const char *fmt, ...)
{
	vd_buf raw = VD_BUF_INIT, clean = VD_BUF_INIT;
	va_list ap;
	char *s = NULL;
	size_t i, o = 0;
	int rc;

	va_start(ap, fmt);
	rc = vd_buf_vprintf(&raw, fmt, ap);
	va_end(ap);
	if (!rc)
		rc = vd_secret_redact(vd_buf_cstr(&raw), &clean);
	if (!rc && !(s = strdup(vd_buf_cstr(&clean))))
		rc = VD_ENOMEM;
	if (!rc) {
		/* one line: control characters become single spaces */
		for (i = 0; s[i]; i++) {
			unsigned char c = (unsigned char)s[i];

			if (c < 0x20 || c == 0x7f)
				c = ' ';
			if (c == ' ' && (o == 0 || s[o - 1] == ' '))
				continue;
			s[o++] = (char)c;
		}
		while (o && s[o - 1] == ' ')
			o--;
		s[o] = '\0';
		free(r->reason);
		r->reason = s;
	}
	vd_buf_release(&raw);
	vd_buf_release(&clean);
	return rc;
}

/* Worse first: error > failing > pending > ok. */
static int severity(vd_health_status s)
{
	switch (s) {
	case VD_HEALTH_OK: return 0;
	case VD_HEALTH_PENDING: return 1;
	case VD_HEALTH_FAILING: return 2;
	case VD_HEALTH_ERROR: return 3;
	}
	return 3;
}

/* Is entry i the first of its service? */
static bool first_of_service(const vd_health_report *r, size_t i)
{
	size_t j;

	for (j = 0; j < i; j++)
		if (!strcmp(r->entries[j].service, r->entries[i].service))
			return false;
	return true;
}

static vd_health_status service_status(const vd_health_report *r, const char *service)
{
	vd_health_status worst = VD_HEALTH_OK;
	size_t i;

	for (i = 0; i < r->len; i++)
		if (!strcmp(r->entries[i].service, service) &&
		    severity(r->entries[i].result.status) > severity(worst))
			worst = r->entries[i].result.status;
	return worst;
}

/* Through the redactor once more: a report must never carry a secret,
 * even one registered after its results were made. */
static int redact_into(const char *text, vd_buf *out)
{
	return vd_secret_redact(text, out);
}

int vd_health_report_json(const vd_health_report *r, vd_buf *out)
{
	yajl_gen g = vd_jgen_new();
	vd_buf raw = VD_BUF_INIT;
	size_t i, j;
	int rc;

	if (!g)
		return VD_ENOMEM;
	yajl_gen_map_open(g);
	vd_jgen_kstr(g, "verdict", vd_health_verdict_name(r->verdict));
	vd_jgen_kbool(g, "healthy", r->verdict == VD_VERDICT_HEALTHY);
	vd_jgen_kstr(g, "reason", r->reason ? r->reason : "");
	vd_jgen_kint(g, "elapsed_ms", (long long)r->elapsed_ms);
	vd_jgen_kint(g, "stable_for_ms", (long long)r->stable_for_ms);
	vd_jgen_kbool(g, "events", r->events);
	vd_jgen_str(g, "services");
	yajl_gen_array_open(g);
	for (i = 0; i < r->len; i++) {
		const char *svc = r->entries[i].service;

		if (!first_of_service(r, i))
			continue;
		yajl_gen_map_open(g);
		vd_jgen_kstr(g, "service", svc);
		vd_jgen_kstr(g, "status", vd_health_status_name(service_status(r, svc)));
		vd_jgen_str(g, "probes");
		yajl_gen_array_open(g);
		for (j = i; j < r->len; j++) {
			const vd_health_entry *e = &r->entries[j];

			if (strcmp(e->service, svc))
				continue;
			yajl_gen_map_open(g);
			vd_jgen_kstr(g, "probe", e->probe);
			vd_jgen_kstr(g, "kind", vd_probe_kind_name(e->kind));
			vd_jgen_kstr(g, "target", e->target);
			vd_jgen_kstr(g, "status", vd_health_status_name(e->result.status));
			vd_jgen_kbool(g, "certain", e->result.certain);
			vd_jgen_kint(g, "latency_ms", (long long)e->result.latency_ms);
			vd_jgen_kint(g, "stable_ms", (long long)e->stable_ms);
			vd_jgen_kint(g, "runs", (long long)e->runs);
			vd_jgen_kstr(g, "detail", e->result.detail);
			if (e->result.engine_health[0])
				vd_jgen_kstr(g, "engine_health", e->result.engine_health);
			if (e->result.own_check[0]) {
				vd_jgen_str(g, "own_check");
				yajl_gen_map_open(g);
				vd_jgen_kstr(g, "result", e->result.own_check);
				if (e->result.own_check_exit >= 0)
					vd_jgen_kint(g, "exit_code", (long long)e->result.own_check_exit);
				vd_jgen_kint(g, "latency_ms", (long long)e->result.own_check_ms);
				yajl_gen_map_close(g);
			}
			yajl_gen_map_close(g);
		}
		yajl_gen_array_close(g);
		yajl_gen_map_close(g);
	}
	yajl_gen_array_close(g);
	yajl_gen_map_close(g);
	rc = vd_jgen_finish(g, &raw);
	if (!rc)
		rc = redact_into(vd_buf_cstr(&raw), out);
	vd_buf_release(&raw);
	return rc;
}

static int pad(vd_buf *b, const char *s, size_t width)
{
	size_t l = strlen(s);

	return vd_buf_printf(b, "%s%*s", s, (int)(width > l ? width - l : 0) + 2, "");
}

int vd_health_report_table(const vd_health_report *r, vd_buf *out)
{
	static const char *const head[] = { "SERVICE", "PROBE", "KIND", "STATUS", "LATENCY" };
	size_t w[5], i;
	vd_buf raw = VD_BUF_INIT;
	char lat[32];
	int rc = 0;

	for (i = 0; i < 5; i++)
		w[i] = strlen(head[i]);
	for (i = 0; i < r->len; i++) {
		const vd_health_entry *e = &r->entries[i];
		size_t l[5];

		snprintf(lat, sizeof(lat), "%llu ms", (unsigned long long)e->result.latency_ms);
		l[0] = strlen(e->service[0] ? e->service : "-");
		l[1] = strlen(e->probe);
		l[2] = strlen(vd_probe_kind_name(e->kind));
		l[3] = strlen(vd_health_status_name(e->result.status));
		l[4] = strlen(lat);
		for (size_t k = 0; k < 5; k++)
			if (l[k] > w[k])
				w[k] = l[k];
	}
	for (i = 0; i < 5 && !rc; i++)
		rc = pad(&raw, head[i], w[i]);
	if (!rc)
		rc = vd_buf_puts(&raw, "DETAIL\n");
	for (i = 0; i < r->len && !rc; i++) {
		const vd_health_entry *e = &r->entries[i];

		snprintf(lat, sizeof(lat), "%llu ms", (unsigned long long)e->result.latency_ms);
		if ((rc = pad(&raw, e->service[0] ? e->service : "-", w[0])) ||
		    (rc = pad(&raw, e->probe, w[1])) ||
		    (rc = pad(&raw, vd_probe_kind_name(e->kind), w[2])) ||
		    (rc = pad(&raw, vd_health_status_name(e->result.status), w[3])) ||
		    (rc = vd_buf_printf(&raw, "%*s  ", (int)w[4], lat)) ||
		    (rc = vd_buf_printf(&raw, "%s\n", e->result.detail)))
			break;
	}
	if (!rc)
		rc = vd_buf_printf(&raw, "verdict: %s%s%s%s after %llu ms\n",
				   vd_health_verdict_name(r->verdict),
				   r->reason && *r->reason ? " (" : "",
				   r->reason && *r->reason ? r->reason : "",
				   r->reason && *r->reason ? ")" : "",
				   (unsigned long long)r->elapsed_ms);
	if (!rc)
		rc = redact_into(vd_buf_cstr(&raw), out);
	vd_buf_release(&raw);
	return rc;
}
