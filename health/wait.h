/* voxdeploy — waiting until a stack is healthy, or certain that it is not.
 *
 * vd_health_wait() runs every probe concurrently in one poll loop: HTTP
 * checks in a curl multi, PostgreSQL checks on their libpq sockets, and the
 * Docker event stream of the watched containers.  Each probe runs again
 * after its own interval (never sooner); an event (die, oom, destroy,
 * start, health_status) re-inspects its container at once — except
 * health_status: healthy for a container already inspected with nothing
 * fatal seen since, which passes it by itself (the engine's own verdict).
 * While the stream is up, a container that passed is inspected only every
 * fourth interval (a change would be told).  Nothing sleeps
 * a fixed time: the loop sleeps until a socket, the next due probe, the end
 * of the stability window or the deadline.
 *
 * The verdict:
 *   healthy    every probe has passed continuously for stable_for (a
 *              polled probe from its first to its latest pass in a row; a
 *              container whose events are watched from its first pass to
 *              now, since any change would have been told);
 *   unhealthy  as soon as failure is certain (a container exited, died,
 *              was OOM-killed or removed, its restart count rose, its
 *              HEALTHCHECK said unhealthy), or when the deadline passed.
 * Either way the report says why and holds every probe's latest result.
 *
 * While the engine says a watched container's HEALTHCHECK is `starting`,
 * the wait runs that check itself (health/owncheck.h) every fast_check_ms,
 * one run at a time per container and at most four at once in one wait
 * (each is an exec the engine must serve): a passing run makes the container probe
 * pass (until a later run fails or the engine says otherwise); a failing
 * one is no verdict.  Once a run has passed, the next come at the probe's
 * interval.  A check that cannot be run here leaves the container to the
 * engine's status, with a note.
 */
#ifndef VD_HEALTH_WAIT_H
#define VD_HEALTH_WAIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "docker_api/docker.h"
#include "health/probe.h"
#include "health/report.h"

#define VD_HEALTH_DEFAULT_DEADLINE_MS 60000

typedef struct vd_health_wait_opts {
	uint64_t deadline_ms;    /* the whole wait; 0 → 60 s */
	uint64_t stable_for_ms;  /* 0 → one pass of every probe is enough */
	/* run every probe once, concurrently, and judge (no stability window,
	 * no event stream): what `voxdeploy health` does; a starting container
	 * then gets one own run of its check */
	bool once;
	/* the cadence of own checks while a HEALTHCHECK is starting; 0 → none */
	uint64_t fast_check_ms;
	/* told what the own checks did worth keeping: state "done" for a
	 * container's first pass (detail: its latency), "skipped" when its
	 * check cannot be run here (detail: why); may be NULL */
	void (*on_note)(void *ctx, const vd_probe *p, const char *state, const char *detail);
	void *note_ctx;
	/* set (by another thread) to give up: the wait ends within ~100 ms with
	 * VD_ETIMEOUT "cancelled"; may be NULL */
	const volatile int *cancel;
} vd_health_wait_opts;

#define VD_HEALTH_WAIT_OPTS_INIT { 0, 0, false, 0, NULL, NULL, NULL }

/* Wait for the probes' verdict.  d may be NULL when no probe is a container
 * or resources probe.  The report (initialised here; release it) is filled
 * whenever the return is 0 or VD_EUNHEALTHY.
 * Returns 0 when healthy; VD_EUNHEALTHY with the reason in err when not;
 * VD_EINVAL for a probe that is misconfigured (nothing was run); VD_ENOMEM.
 * An engine that cannot be reached makes container probes VD_HEALTH_ERROR
 * results, not a failure of the wait. */
int vd_health_wait(vd_docker *d, const vd_probe *probes, size_t n,
		   const vd_health_wait_opts *opts, vd_health_report *out, vd_error *err);

/* Run every probe once, concurrently, under deadline_ms (0 → 60 s): the
 * same as vd_health_wait() with once set (and fast_check_ms: 0 runs no own
 * check). */
int vd_health_check(vd_docker *d, const vd_probe *probes, size_t n, uint64_t deadline_ms,
		    uint64_t fast_check_ms, vd_health_report *out, vd_error *err);

/* --- the pure part of the verdict (exported for tests) ------------------ */

/* One probe's history during a wait. */
typedef struct vd_health_track {
	vd_health_status status;   /* latest result */
	bool certain;              /* latest failure cannot heal */
	bool continuous;           /* its passing holds until told otherwise
	                            * (a container whose events are watched) */
	bool passing;              /* in a streak of passes */
	uint64_t ok_since_ms;      /* first pass of the streak */
	uint64_t ok_last_ms;       /* latest pass of the streak */
	unsigned runs;             /* results so far */
} vd_health_track;

#define VD_HEALTH_TRACK_INIT { VD_HEALTH_PENDING, false, false, false, 0, 0, 0 }

/* Record a result obtained at now_ms: a pass extends the streak (or starts
 * one), anything else ends it. */
void vd_health_track_update(vd_health_track *t, const vd_health_result *r, uint64_t now_ms);
/* How long it has passed without a break at now_ms (0 when not passing). */
uint64_t vd_health_track_stable_ms(const vd_health_track *t, uint64_t now_ms);

/* The verdict over n tracks at now_ms:
 *   UNHEALTHY when a track's failure is certain (*culprit: the first), or
 *             when deadline_at_ms has come (*culprit: the first track not
 *             passing, else the least stable);
 *   HEALTHY   when every track passes and has been stable for
 *             stable_for_ms (checked before the deadline: stable at the
 *             deadline is healthy);
 *   PENDING   otherwise; *wake_in_ms then says when the verdict could
 *             change without a new result (a continuous track reaching
 *             stable_for, or the deadline); UINT64_MAX for never.
 * With once, every track must have a result (runs > 0) and pass: stability
 * is not asked, and a certain failure does not end the run before every
 * track has its result (a one-shot report says something about each probe;
 * *culprit: the first certain failure, else the first failing track).  culprit and wake_in_ms may be NULL.  n == 0 is healthy. */
vd_health_verdict vd_health_judge(const vd_health_track *t, size_t n, uint64_t now_ms,
				  uint64_t stable_for_ms, uint64_t deadline_at_ms, bool once,
				  size_t *culprit, uint64_t *wake_in_ms);

#endif
