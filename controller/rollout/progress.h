/* voxdeploy — what a deploy, a rollback and a recover tell as they go, and
 * how they end.
 *
 * Every step is told through one vd_progress: written to the journal first
 * (a step the journal does not know is a step not taken), then handed to
 * the caller's progress callback (the command line prints it).  swap,
 * recover and deploy all speak through it; the command layer reads only
 * this header to print progress and outcomes.
 */
#ifndef VD_CONTROLLER_PROGRESS_H
#define VD_CONTROLLER_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"
#include "controller/state/journal.h"

typedef enum vd_deploy_outcome {
	VD_DEPLOY_DONE = 0,             /* the target runs and is healthy (or nothing to do) */
	VD_DEPLOY_FAILED = 1,           /* failed; the previous version runs and is healthy */
	VD_DEPLOY_RESTORE_FAILED = 3,   /* failed and the restore failed too */
} vd_deploy_outcome;

/* "done", "failed", "restore_failed": the journal's and the JSON's word. */
const char *vd_deploy_outcome_name(vd_deploy_outcome o);

/* One step as it starts or ends, for the progress output. */
typedef struct vd_deploy_event {
	const char *deploy_id;
	const char *step;       /* lock, sync, plan, build, tag, swap, health, cleanup, ... */
	const char *state;      /* begin, done, failed, skipped, would (dry run) */
	const char *service;    /* or NULL */
	const char *detail;     /* or NULL */
	uint64_t elapsed_ms;    /* since the deploy began */
	uint64_t step_ms;       /* how long the step took (end events) */
} vd_deploy_event;

typedef void (*vd_deploy_progress_fn)(void *ctx, const vd_deploy_event *ev);

typedef struct vd_progress {
	const char *deploy_id;
	vd_journal *journal;          /* NULL or not open (a dry run): told, not journalled */
	uint64_t t0;                  /* monotonic ms the run began */
	vd_deploy_progress_fn fn;     /* or NULL */
	void *ctx;
	bool fault_points;            /* a build with -DVD_FAULT_INJECTION: VOXDEPLOY_FAULT=
				       * step:state[:service] kills the process right after
				       * that step's journal record (the deploy's steps only) */
} vd_progress;

/* Journal, then tell.  state is begin, done, failed, skipped or would;
 * service and detail may be NULL; started is the step's start (monotonic
 * ms) on end events, 0 otherwise.  Fails only when the journal cannot be
 * written. */
int vd_progress_step(vd_progress *p, const char *step, const char *state, const char *service,
		     const char *detail, uint64_t started, vd_error *err);

/* The same with more fields for the journal record (extra may be NULL):
 * the build's step list, say. */
int vd_progress_step_with(vd_progress *p, const char *step, const char *state, const char *service,
			  const char *detail, uint64_t started, const vd_kvs *extra, vd_error *err);

/* Tell only, not journalled: news inside a step (a build's steps as they
 * end, state "step"); step_ms is how long that part took, 0 unknown. */
void vd_progress_tell(vd_progress *p, const char *step, const char *state, const char *service,
		      const char *detail, uint64_t step_ms);

/* The same with a printf-style detail (fmt NULL: no detail). */
int vd_progress_stepf(vd_progress *p, const char *step, const char *state, const char *service,
		      uint64_t started, vd_error *err, const char *fmt, ...)
	__attribute__((format(printf, 7, 8)));

/* What a run was, for the record it ends with; NULL fields are left out,
 * but type ("NONE" when NULL), from and to ("" when NULL) are always there. */
typedef struct vd_progress_summary {
	const char *type;
	const char *from;
	const char *to;
	const char *actor;
	const char *note;
	const char *detail;
} vd_progress_summary;

/* The record every deploy, rollback and recover ends with (history and
 * /metrics read it): step "deploy", state done, failed or restore_failed,
 * the summary and the run's duration.  Journalled only, not told; nothing
 * when the journal is not open (a dry run). */
int vd_progress_finish(vd_progress *p, const char *state, const vd_progress_summary *s,
		       vd_error *err);

#endif
