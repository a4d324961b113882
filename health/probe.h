/* voxdeploy — health probes: what to check, and what a check found.
 *
 * A probe is a plain struct the controller fills from voxdeploy.yml and the
 * compose model; nothing in it is owned (strings point into the caller's
 * data and must outlive every call that takes the probe).  Four kinds:
 *
 *   container  inspect: state, restarts, OOM, exit code, HEALTHCHECK status
 *   postgres   libpq, non-blocking connect + a query (health/postgres.h)
 *   http       libcurl: method, URL, accepted statuses, body substring
 *              (health/http.h)
 *   resources  two one-shot stats samples: memory in use against the limit,
 *              CPU % over the interval, each against an optional threshold
 *   service    a Swarm service: its update converged, every task it wants
 *              running is of its current spec and running on a live node
 *              (health/service.c)
 *
 * Every run produces a vd_health_result: a status, a latency and a one-line
 * detail that has passed through the secret redactor (common/log.h), so a
 * result can be printed, journalled or served as it is.
 *
 * Running probes concurrently, with deadlines and a stability window, is
 * health/wait.h; the report is health/report.h.
 */
#ifndef VD_HEALTH_PROBE_H
#define VD_HEALTH_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "docker_api/container.h"
#include "docker_api/docker.h"
#include "docker_api/swarm.h"

typedef enum vd_probe_kind {
	VD_PROBE_CONTAINER = 0,
	VD_PROBE_POSTGRES,
	VD_PROBE_HTTP,
	VD_PROBE_RESOURCES,
	VD_PROBE_SERVICE,
} vd_probe_kind;

#define VD_PROBE_DEFAULT_INTERVAL_MS 1000
#define VD_PROBE_DEFAULT_TIMEOUT_MS 5000
#define VD_PROBE_DEFAULT_MAX_BODY ((size_t)64 << 10)
#define VD_PROBE_DEFAULT_QUERY "SELECT 1"

typedef struct vd_probe {
	vd_probe_kind kind;
	const char *name;       /* in the report; NULL → the kind ("postgres") */
	const char *service;    /* the service it speaks for; NULL → none */
	uint64_t interval_ms;   /* between runs while waiting; 0 → 1 s */
	uint64_t timeout_ms;    /* one run; 0 → 5 s (never past a wait's deadline) */

	struct {
		const char *ref;            /* container id or name */
		/* the restart count the watch starts from; unset → the
		 * first inspect's.  Any rise is a crash loop. */
		bool has_restart_baseline;
		int64_t restart_baseline;
		/* a one-shot (a service others wait for with condition
		 * service_completed_successfully): having exited with code 0
		 * passes */
		bool one_shot;
	} container;

	struct {
		/* "host=db user=u password=p dbname=d sslmode=require" or a
		 * postgresql:// URI, ${VAR} already interpolated.  The password
		 * is registered as a secret and never appears in a result. */
		const char *conninfo;
		const char *query;          /* NULL → SELECT 1 */
	} postgres;

	struct {
		const char *method;         /* NULL → GET */
		const char *url;            /* http:// or https:// */
		const long *expect_status;  /* accepted statuses; none → any 2xx */
		size_t n_expect_status;
		const char *body_contains;  /* NULL → the body is not read */
		size_t max_body;            /* bytes searched; 0 → 64 KiB */
		bool follow_redirects;      /* default: a 3xx is the answer */
		/* extra request headers, "Name: value" each (n_headers of
		 * them); values are secrets to the caller: never in a result */
		const char *const *headers;
		size_t n_headers;
	} http;

	struct {
		const char *ref;            /* container id or name */
		double max_memory_percent;  /* of the limit; 0 → not checked */
		double max_cpu_percent;     /* 100 = one CPU; 0 → not checked */
		uint64_t sample_ms;         /* between the two samples; 0 → 1 s */
	} resources;

	struct {
		const char *ref;            /* the service's id or name */
		/* a rollback voxdeploy asked for: its end (rollback_completed)
		 * is the goal, not a failure */
		bool after_rollback;
		/* a look at the running stack (health, serve), not a deploy's
		 * wait: a rollback under way or done is the service's state, not
		 * a failure — its tasks say whether it is healthy */
		bool steady;
	} swarm;
} vd_probe;

/* A service probe for a Swarm service (ref: its id or name; service: the
 * compose service it speaks for), looked at every 250 ms; the rest zero.
 * The caller sets swarm.after_rollback or swarm.steady where they apply. */
void vd_probe_service_init(vd_probe *p, const char *service, const char *ref);

/* The probe's name as shown: p->name, else the kind's name. */
const char *vd_probe_name(const vd_probe *p);
const char *vd_probe_kind_name(vd_probe_kind kind);
/* What it looks at, without secrets: the container, "host:port/db", the URL
 * without user:password.  Into out (size bytes, always terminated). */
void vd_probe_target(const vd_probe *p, char *out, size_t size);

/* Check a probe's configuration (required fields, a URL libcurl can parse,
 * a conninfo libpq can parse, sane thresholds): 0 or VD_EINVAL with a
 * message that names the probe.  A conninfo's password is registered as a
 * secret here. */
int vd_probe_validate(const vd_probe *p, vd_error *err);

typedef enum vd_health_status {
	VD_HEALTH_PENDING = 0,  /* not run yet / no answer yet */
	VD_HEALTH_OK,           /* passed */
	VD_HEALTH_FAILING,      /* ran, and the thing is not healthy */
	VD_HEALTH_ERROR,        /* could not run (engine error, bad config) */
} vd_health_status;

#define VD_HEALTH_DETAIL_MAX 256

typedef struct vd_health_result {
	vd_health_status status;
	/* the failure cannot heal by waiting (the container exited, its
	 * restart count rose, it ran out of memory, its HEALTHCHECK says
	 * unhealthy, it is gone): a wait ends at once */
	bool certain;
	uint64_t latency_ms;
	char detail[VD_HEALTH_DETAIL_MAX];  /* one line, redacted */
	/* container probes: what the engine's HEALTHCHECK says ("starting",
	 * "healthy", "unhealthy"; "" without one), and voxdeploy's own run of
	 * that check while it says starting (health/owncheck.h): "passed",
	 * "failed", "timeout", "unavailable", or "" when none ran */
	char engine_health[12];
	char own_check[12];
	int64_t own_check_exit;     /* -1 when not known */
	uint64_t own_check_ms;
} vd_health_result;

/* The service probe (health/service.c): one run, and its verdict on what
 * the engine told — the service, its tasks and the swarm's nodes (NULL:
 * nodes not known).  A paused update or rollback, or a rollback the swarm
 * started by itself, is certain; tasks still being replaced are pending. */
void vd_probe_service_run(vd_docker *d, const vd_probe *p, vd_health_result *out);
void vd_probe_service_eval(const vd_probe *p, const vd_service_info *svc, const vd_task_array *tasks,
			   const vd_node_array *nodes, vd_health_result *out);

/* "pending", "ok", "failing", "error". */
const char *vd_health_status_name(vd_health_status s);

/* Set status and detail: the text is flattened to one line (newlines and
 * tabs become spaces, runs of blanks collapse), secrets are replaced by
 * "***", and it is cut to fit with "...". */
void vd_health_result_set(vd_health_result *r, vd_health_status status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Judge an inspect (pure): running, not restarting, not OOM-killed, and a
 * HEALTHCHECK (if any) that says healthy → ok.  "starting" is failing (not
 * certain); exited, dead, restarting, OOM-killed, unhealthy, or a restart
 * count above `baseline` (when has_baseline) is a certain failure.  The
 * detail names the state, restarts, exit code and the HEALTHCHECK's last
 * output line.  latency is left alone. */
void vd_probe_container_eval(const vd_container_info *info, bool has_baseline, int64_t baseline,
			     vd_health_result *out);

/* Inspect and judge (a blocking call to the engine).  A container that does
 * not exist is a certain failure; an engine error is VD_HEALTH_ERROR.
 * info (may be NULL) receives the inspect when it succeeded (the caller
 * releases it) and is zeroed otherwise (info->id NULL). */
void vd_probe_container_run(vd_docker *d, const vd_probe *p, vd_health_result *out,
			    vd_container_info *info);

/* Judge two stats samples taken sample_ms apart (pure): memory in use (as
 * docker stats computes it) against the limit, CPU % between them, each
 * against the probe's threshold.  A sample without memory figures (the
 * container is not running) is failing. */
void vd_probe_resources_eval(const vd_probe *p, const vd_container_sample *first,
			     const vd_container_sample *second, vd_health_result *out);

#endif
