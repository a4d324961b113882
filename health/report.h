/* voxdeploy — the health report: per service and probe, status, latency
 * and detail, with the verdict and its reason; as JSON (what the sidecar
 * serves and `voxdeploy health --json` prints) and as a table for people.
 *
 * Details are redacted when a result is made (health/probe.h); rendering
 * redacts again, so a report can never carry a registered secret.
 */
#ifndef VD_HEALTH_REPORT_H
#define VD_HEALTH_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/error.h"
#include "health/probe.h"

typedef enum vd_health_verdict {
	VD_VERDICT_PENDING = 0,   /* not decided (only inside a wait) */
	VD_VERDICT_HEALTHY,
	VD_VERDICT_UNHEALTHY,
} vd_health_verdict;

/* "pending", "healthy", "unhealthy". */
const char *vd_health_verdict_name(vd_health_verdict v);

typedef struct vd_health_entry {
	char *service;            /* "" when the probe names none */
	char *probe;              /* the probe's name */
	vd_probe_kind kind;
	char *target;             /* what it looked at, no secrets */
	vd_health_result result;  /* the latest */
	uint64_t stable_ms;       /* how long it had passed without a break */
	unsigned runs;
} vd_health_entry;

typedef struct vd_health_report {
	vd_health_verdict verdict;
	char *reason;             /* one line; "" when healthy without remark */
	uint64_t elapsed_ms;      /* from the start of the wait to the verdict */
	uint64_t stable_for_ms;   /* what was asked */
	bool events;              /* the Docker event stream was watched */
	vd_health_entry *entries;
	size_t len;
} vd_health_report;

void vd_health_report_init(vd_health_report *r);
void vd_health_report_release(vd_health_report *r);

/* Add an entry for probe p with its result (copied). */
int vd_health_report_add(vd_health_report *r, const vd_probe *p, const vd_health_result *res,
			 uint64_t stable_ms, unsigned runs);
/* Set the reason (printf-style; flattened to one line, redacted). */
int vd_health_report_set_reason(vd_health_report *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* One JSON object, appended to out:
 * {"verdict":"unhealthy","healthy":false,"reason":"...","elapsed_ms":812,
 *  "stable_for_ms":5000,"services":[{"service":"app","status":"failing",
 *  "probes":[{"probe":"container","kind":"container","target":"vox_app",
 *  "status":"failing","certain":true,"latency_ms":2,"stable_ms":0,"runs":1,
 *  "detail":"exited (code 3)"}]}]}
 * A container probe adds "engine_health" (its HEALTHCHECK's status) and,
 * when voxdeploy ran the check itself while it was starting,
 * "own_check":{"result":"passed","exit_code":0,"latency_ms":31}.
 * Services appear in the order of their first probe; a service's status is
 * its worst probe's.  Probes without a service are grouped under "". */
int vd_health_report_json(const vd_health_report *r, vd_buf *out);

/* A table for a terminal, appended to out:
 *   SERVICE  PROBE      KIND       STATUS   LATENCY  DETAIL
 *   app      container  container  ok         2 ms   running, healthy
 *   verdict: healthy (every probe passed for 5s)
 */
int vd_health_report_table(const vd_health_report *r, vd_buf *out);

#endif
