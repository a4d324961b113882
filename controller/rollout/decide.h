/* voxdeploy — the decision pipeline: the one road from a checkout to a
 * deployment type, which `plan` and `deploy` (dry run or not) both take, so
 * that the preview CI shows is the deploy that runs.
 *
 *   the target commit (a revision; HEAD when none)
 *   → the project's .env under the process environment
 *   → voxdeploy.yml as it is at the target (a broken one is VD_EINVAL)
 *   → its rules
 *   → the deployed commit (--from, else current.json, else the containers'
 *     io.voxdeploy.commit label — the engine asked only then)
 *   → in image-aware mode, what each file reaches at the target (Dockerfile
 *     COPY/ADD sources, .dockerignore, bind mounts, compose files)
 *   → the plan: the type, the reason, every file with the rule that decided.
 */
#ifndef VD_CONTROLLER_DECIDE_H
#define VD_CONTROLLER_DECIDE_H

#include <stdbool.h>

#include "common/error.h"
#include "common/json.h"
#include "controller/config/config.h"
#include "controller/model/project.h"
#include "controller/plan/gitsync.h"
#include "controller/plan/plan.h"
#include "controller/plan/reach.h"
#include "controller/plan/rules.h"
#include "docker_api/docker.h"

/* An engine client, asked for only when the state file does not tell the
 * deployed commit; *out stays the callee's. */
typedef int (*vd_decide_engine_fn)(void *ctx, vd_docker **out, vd_error *err);

typedef struct vd_decide_options {
	const vd_project *project;
	const char *state_dir;
	const char *to;                /* a revision; NULL: HEAD */
	const char *from;              /* a revision; NULL: the deployed commit */
	bool forced;                   /* a manual type overrides the files' verdict */
	vd_tier forced_type;
	bool rules_only;               /* the patterns alone, even when image_aware */
	vd_decide_engine_fn engine;    /* NULL: the state file alone tells */
	void *engine_ctx;
} vd_decide_options;

typedef struct vd_decision {
	vd_plan plan;
	vd_kvs dotenv;                 /* the project's .env, for what reads the compose file next */
	vd_config *config;             /* voxdeploy.yml at the target */
	vd_rules *rules;
	vd_reach *reach;               /* NULL: decided by the rules alone */
	char *deployed;                /* the deployed commit, or NULL (given --from, first deploy) */
	const char *deployed_source;   /* "state", "label", or NULL */
} vd_decision;

/* Decide; git is the project's repository.  Errors: VD_EINVAL for an
 * unknown revision or a broken voxdeploy.yml, the engine's when the
 * deployed commit cannot be read — changing nothing either way.  *out is
 * always safe to release. */
int vd_decide(vd_git *git, const vd_decide_options *opts, vd_decision *out, vd_error *err);
void vd_decision_release(vd_decision *d);

#endif
