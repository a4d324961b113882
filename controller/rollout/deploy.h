/* voxdeploy — the deploy: lock, sync, plan, build while the old version
 * serves, swap, prove health, roll back by itself.
 *
 * The decision is decide.h's, the same `plan` makes.  Every step is written
 * to the journal before it is taken (so `recover` knows where an
 * interrupted deploy stood) and reported to a progress callback as it
 * starts and ends (progress.h).  A failure ends with the previous version
 * running and proven healthy, or says loudly that it is not.
 */
#ifndef VD_CONTROLLER_DEPLOY_H
#define VD_CONTROLLER_DEPLOY_H

#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"
#include "controller/plan/plan.h"
#include "controller/model/project.h"
#include "controller/rollout/progress.h"
#include "docker_api/docker.h"

typedef struct vd_deploy_options {
	const vd_project *project;
	const char *state_dir;
	const char *to;               /* a revision; NULL: HEAD, or the fetched tip */
	bool fetch;                   /* fetch `remote` first and deploy its tip */
	const char *remote;           /* NULL: origin */
	bool force_checkout;          /* discard local edits of tracked files */
	bool forced;                  /* a manual type */
	vd_tier forced_type;
	bool rules_only;
	bool dry_run;                 /* plan and report every step; change nothing */
	const char *actor;
	const char *note;
	uint64_t lock_wait_ms;        /* wait this long for a running deploy (0: not) */
	vd_deploy_progress_fn progress;
	void *progress_ctx;
} vd_deploy_options;

typedef struct vd_deploy_result {
	char deploy_id[VD_DEPLOY_ID_MAX];
	vd_deploy_outcome outcome;
	vd_plan plan;
	char *failure;          /* what went wrong (outcome != DONE), redacted */
} vd_deploy_result;

/* Deploy.  Returns 0 when the deploy ran to an outcome (see out->outcome;
 * a failed deploy that restored the previous version is such an outcome);
 * an error code when it could not start (bad input: VD_EINVAL; the lock,
 * still held after lock_wait_ms, or a freeze: VD_ELOCKED) — then nothing
 * changed. */
int vd_deploy_run(vd_docker *d, const vd_deploy_options *opts, vd_deploy_result *out,
		  vd_error *err);
void vd_deploy_result_release(vd_deploy_result *r);

/* Recreate the app service from a retained image (no build), prove health,
 * restore by itself when the retained version is not healthy either; the
 * journal and current.json as for a deploy (the commit is the image's).
 * Of the options it reads project, state_dir, actor, note, progress and
 * `to`: NULL, the image that ran before the last deploy
 * (voxdeploy-previous); a deploy id, the version that deploy brought; else
 * a commit (any revision, or 12+ hex digits), its voxdeploy-<sha12> image.
 * VD_EINVAL, nothing changed, for an unknown or deleted version — the
 * message lists the retained ones. */
int vd_deploy_rollback(vd_docker *d, const vd_deploy_options *opts, vd_deploy_result *out,
		       vd_error *err);

#endif
