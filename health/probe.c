#include "health/probe.h"
#include "common/buf.h"
#include "common/clock.h"
#include "common/log.h"
#include "health/http.h"
#include "health/postgres.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *vd_probe_kind_name(vd_probe_kind kind)
{
	switch (kind) {
	case VD_PROBE_CONTAINER: return "container";
	case VD_PROBE_POSTGRES: return "postgres";
	case VD_PROBE_HTTP: return "http";
	case VD_PROBE_RESOURCES: return "resources";
	case VD_PROBE_SERVICE: return "service";
	}
	return "unknown";
}

void vd_probe_service_init(vd_probe *p, const char *service, const char *ref)
{
	memset(p, 0, sizeof(*p));
	p->kind = VD_PROBE_SERVICE;
	p->name = "service";
	p->service = service;
	p->interval_ms = 250;
	p->swarm.ref = ref;
}

const char *vd_probe_name(const vd_probe *p)
{
	return p->name && *p->name ? p->name : vd_probe_kind_name(p->kind);
}

const char *vd_health_status_name(vd_health_status s)
{
	switch (s) {
	case VD_HEALTH_PENDING: return "pending";
	case VD_HEALTH_OK: return "ok";
	case VD_HEALTH_FAILING: return "failing";
	case VD_HEALTH_ERROR: return "error";
	}
	return "unknown";
}

void vd_probe_target(const vd_probe *p, char *out, size_t size)
{
	const char *s = NULL;

	if (!size)
		return;
	switch (p->kind) {
	case VD_PROBE_CONTAINER:
		s = p->container.ref;
		break;
	case VD_PROBE_RESOURCES:
		s = p->resources.ref;
		break;
	case VD_PROBE_SERVICE:
		s = p->swarm.ref;
		break;
	case VD_PROBE_POSTGRES:
		vd_postgres_target(p->postgres.conninfo, out, size);
		return;
	case VD_PROBE_HTTP:
		vd_http_target(p->http.url, out, size);
		return;
	}
	snprintf(out, size, "%s", s ? s : "");
}

int vd_probe_validate(const vd_probe *p, vd_error *err)
{
	const char *name = vd_probe_name(p);
	int r = 0;

	switch (p->kind) {
	case VD_PROBE_CONTAINER:
		if (!p->container.ref || !*p->container.ref)
			return vd_error_set(err, VD_EINVAL, "probe %s: no container given", name);
		break;
	case VD_PROBE_RESOURCES:
		if (!p->resources.ref || !*p->resources.ref)
			return vd_error_set(err, VD_EINVAL, "probe %s: no container given", name);
		if (p->resources.max_memory_percent < 0 || p->resources.max_memory_percent > 100)
			return vd_error_set(err, VD_EINVAL,
					    "probe %s: max memory percent %g is not between 0 and 100",
					    name, p->resources.max_memory_percent);
		if (p->resources.max_cpu_percent < 0)
			return vd_error_set(err, VD_EINVAL, "probe %s: max cpu percent %g is negative",
					    name, p->resources.max_cpu_percent);
		break;
	case VD_PROBE_SERVICE:
		if (!p->swarm.ref || !*p->swarm.ref)
			return vd_error_set(err, VD_EINVAL, "probe %s: no service given", name);
		break;
	case VD_PROBE_POSTGRES:
		if (!p->postgres.conninfo)
			return vd_error_set(err, VD_EINVAL, "probe %s: no conninfo given", name);
		r = vd_postgres_validate(p->postgres.conninfo, err);
		break;
	case VD_PROBE_HTTP:
		r = vd_http_validate(p, err);
		break;
	default:
		return vd_error_set(err, VD_EINVAL, "probe %s: unknown kind %d", name, (int)p->kind);
	}
	if (r)
		return vd_error_prefix(err, "probe %s", name);
	return 0;
}

/* Cut at `max` bytes without splitting a UTF-8 sequence (the report is
 * JSON, and yajl passes bytes through as they are). */
static size_t utf8_cut(const char *s, size_t len, size_t max)
{
	if (len <= max)
		return len;
	while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
		max--;
	return max;
}

void vd_health_result_set(vd_health_result *r, vd_health_status status, const char *fmt, ...)
{
	vd_buf raw = VD_BUF_INIT, clean = VD_BUF_INIT;
	const char *s;
	size_t o = 0, n;
	bool blank = true;  /* drops leading blanks */
	va_list ap;

	r->status = status;
	va_start(ap, fmt);
	vd_buf_vprintf(&raw, fmt, ap);
	va_end(ap);
	if (vd_secret_redact(vd_buf_cstr(&raw), &clean)) {
		/* never fall back to the unredacted text */
		snprintf(r->detail, sizeof(r->detail), "(detail withheld: out of memory)");
		goto done;
	}
	s = vd_buf_cstr(&clean);
	n = utf8_cut(s, strlen(s), 4 * VD_HEALTH_DETAIL_MAX);
	for (size_t i = 0; i < n && o < sizeof(r->detail) - 1; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\n' || c == '\r' || c == '\t' || c == ' ' || c < 0x20 || c == 0x7f) {
			if (!blank)
				r->detail[o++] = ' ';
			blank = true;
			continue;
		}
		r->detail[o++] = (char)c;
		blank = false;
	}
	while (o > 0 && r->detail[o - 1] == ' ')
		o--;
	r->detail[o] = '\0';
	if (o == sizeof(r->detail) - 1 && n > o) {
		/* cut: end with "..." on a character boundary */
		size_t keep = utf8_cut(r->detail, o, sizeof(r->detail) - 4);

		memcpy(r->detail + keep, "...", 4);
	}
done:
	vd_buf_release(&raw);
	vd_buf_release(&clean);
}

void vd_probe_container_eval(const vd_container_info *info, bool has_baseline, int64_t baseline,
			     vd_health_result *out)
{
	char extra[160] = "";
	const char *health = info->health;
	const char *output = info->health_output && *info->health_output ? info->health_output : NULL;

	out->certain = false;
	out->own_check_exit = -1;
	if (health)
		snprintf(out->engine_health, sizeof(out->engine_health), "%s", health);
	if (has_baseline && info->restart_count > baseline) {
		out->certain = true;
		vd_health_result_set(out, VD_HEALTH_FAILING,
				     "crash loop: restarted %lld time%s during the watch (now %s, last exit code %lld)%s",
				     (long long)(info->restart_count - baseline),
				     info->restart_count - baseline == 1 ? "" : "s", info->status,
				     (long long)info->exit_code, info->oom_killed ? ", OOM-killed" : "");
		return;
	}
	if (info->oom_killed) {
		out->certain = true;
		vd_health_result_set(out, VD_HEALTH_FAILING, "%s, OOM-killed (exit code %lld)",
				     info->status, (long long)info->exit_code);
		return;
	}
	if (info->restarting) {
		out->certain = true;
		vd_health_result_set(out, VD_HEALTH_FAILING,
				     "restarting after exit code %lld (restarts %lld)",
				     (long long)info->exit_code, (long long)info->restart_count);
		return;
	}
	if (!info->running || info->dead || info->paused) {
		bool started = info->started_at && strncmp(info->started_at, "0001-", 5);

		/* created and never started can still be started; anything
		 * that ran and stopped will not come back by itself */
		out->certain = started || info->dead || !strcmp(info->status, "removing");
		if (info->error)
			snprintf(extra, sizeof(extra), ": %s", info->error);
		if (info->paused)
			vd_health_result_set(out, VD_HEALTH_FAILING, "paused");
		else if (started)
			vd_health_result_set(out, VD_HEALTH_FAILING, "%s (exit code %lld)%s",
					     info->status, (long long)info->exit_code, extra);
		else
			vd_health_result_set(out, VD_HEALTH_FAILING, "%s, not started%s", info->status,
					     extra);
		return;
	}
	if (!health) {
		vd_health_result_set(out, VD_HEALTH_OK, "running (no HEALTHCHECK), restarts %lld",
				     (long long)info->restart_count);
		return;
	}
	if (!strcmp(health, "healthy")) {
		vd_health_result_set(out, VD_HEALTH_OK, "running, healthy, restarts %lld%s%s",
				     (long long)info->restart_count, output ? "; last check: " : "",
				     output ? output : "");
		return;
	}
	if (!strcmp(health, "unhealthy")) {
		out->certain = true;
		vd_health_result_set(out, VD_HEALTH_FAILING,
				     "HEALTHCHECK unhealthy (failing streak %lld)%s%s",
				     (long long)info->failing_streak, output ? ": " : "",
				     output ? output : "");
		return;
	}
	vd_health_result_set(out, VD_HEALTH_FAILING, "running, HEALTHCHECK %s%s%s", health,
			     output ? "; last check: " : "", output ? output : "");
}

void vd_probe_container_run(vd_docker *d, const vd_probe *p, vd_health_result *out,
			    vd_container_info *info)
{
	vd_container_info mine;
	vd_error err = VD_ERROR_INIT;
	uint64_t t0 = vd_now_ms();
	int r;

	memset(out, 0, sizeof(*out));
	if (!info)
		info = &mine;
	memset(info, 0, sizeof(*info));
	r = vd_container_inspect(d, p->container.ref, info, &err);
	out->latency_ms = vd_now_ms() - t0;
	if (r == VD_ENOTFOUND) {
		out->certain = true;
		vd_health_result_set(out, VD_HEALTH_FAILING, "no such container: %s", p->container.ref);
	} else if (r) {
		vd_health_result_set(out, VD_HEALTH_ERROR, "%s", vd_error_msg(&err));
	} else {
		vd_probe_container_eval(info, p->container.has_restart_baseline,
					p->container.restart_baseline, out);
		if (p->container.one_shot && !info->running && !info->restarting && !info->oom_killed &&
		    info->exit_code == 0 && info->started_at && strncmp(info->started_at, "0001-", 5)) {
			out->certain = false;
			vd_health_result_set(out, VD_HEALTH_OK, "completed: exited with code 0");
		}
		if (info == &mine)
			vd_container_info_release(&mine);
	}
	if (r)
		memset(info, 0, sizeof(*info));
	vd_error_release(&err);
}

static void human_bytes(uint64_t n, char *out, size_t size)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)n;
	size_t u = 0;

	while (v >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(out, size, "%llu B", (unsigned long long)n);
	else
		snprintf(out, size, "%.1f %s", v, units[u]);
}

void vd_probe_resources_eval(const vd_probe *p, const vd_container_sample *first,
			     const vd_container_sample *second, vd_health_result *out)
{
	char used_s[32], limit_s[32], why[96] = "";
	uint64_t used;
	double mem_pct = 0, cpu_pct;
	bool bad = false;

	out->certain = false;
	if (!second->has_memory || !second->mem_limit) {
		vd_health_result_set(out, VD_HEALTH_FAILING,
				     "no memory figures (is the container running?)");
		return;
	}
	used = vd_container_stats_mem_used(second);
	mem_pct = (double)used * 100.0 / (double)second->mem_limit;
	cpu_pct = vd_container_stats_cpu_percent(first, second);
	human_bytes(used, used_s, sizeof(used_s));
	human_bytes(second->mem_limit, limit_s, sizeof(limit_s));
	if (p->resources.max_memory_percent > 0 && mem_pct > p->resources.max_memory_percent) {
		snprintf(why, sizeof(why), "memory above %g%%", p->resources.max_memory_percent);
		bad = true;
	} else if (p->resources.max_cpu_percent > 0 && cpu_pct > p->resources.max_cpu_percent) {
		snprintf(why, sizeof(why), "cpu above %g%%", p->resources.max_cpu_percent);
		bad = true;
	}
	vd_health_result_set(out, bad ? VD_HEALTH_FAILING : VD_HEALTH_OK,
			     "%s%smemory %s of %s (%.1f%%), cpu %.1f%%", why, bad ? ": " : "",
			     used_s, limit_s, mem_pct, cpu_pct);
}
