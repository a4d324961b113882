/* voxdeploy — the decision: which deployment type the changes between the
 * deployed commit and the target commit need, and why, file by file. */
#ifndef VD_CONTROLLER_PLAN_H
#define VD_CONTROLLER_PLAN_H

#include <stdbool.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/json.h"
#include "controller/plan/gitsync.h"
#include "controller/plan/reach.h"
#include "controller/plan/rules.h"
#include "docker_api/docker.h"

typedef struct vd_plan_file {
	char *path;
	char *old_path;       /* renames and copies: the old path, else NULL */
	const char *status;   /* added, modified, deleted, renamed, copied, typechange */
	vd_tier tier;
	char *rule;           /* the pattern that decided, "(default)", or in
			       * image-aware mode the Dockerfile line or mount that
			       * raised it, or why it was lowered */
} vd_plan_file;

typedef struct vd_plan {
	vd_tier type;
	char from[VD_SHA_HEX];  /* "" on a first deploy */
	char to[VD_SHA_HEX];
	bool forced;            /* a manual --type decided */
	char *reason;
	vd_plan_file *files;
	size_t n_files;
} vd_plan;

typedef struct vd_plan_options {
	const char *from;        /* a revision; NULL: a first deploy */
	const char *from_source; /* NULL: `from` was given (an unknown one is an error);
				  * else where the deployed commit came from ("state",
				  * "label"), and one not in the repository means
				  * FULL_RESTART */
	const char *to;          /* a revision; NULL: HEAD */
	bool forced;             /* a manual type overrides the files' verdict */
	vd_tier forced_type;
	const vd_rules *rules;
	const vd_reach *reach;   /* image-aware mode; NULL or inactive: the rules alone */
} vd_plan_options;

/* Decide.  An unknown `to` or given `from` is VD_EINVAL; a deployed commit
 * that is not in the repository (shallow clone, rewritten history) is no
 * error: FULL_RESTART with that reason. */
int vd_plan_make(vd_git *g, const vd_plan_options *opts, vd_plan *out, vd_error *err);
void vd_plan_release(vd_plan *plan);

/* The plan as DESIGN.md's JSON object. */
int vd_plan_json(const vd_plan *plan, vd_buf *out);
/* Its "files" key and array, into an open map (the deploy's result). */
void vd_plan_gen_files(const vd_plan *plan, yajl_gen g);

/* The deployed commit: $STATE_DIR/current.json, else the io.voxdeploy.commit
 * label of the project's containers (docker may be NULL: state only).
 * *out NULL (and 0 returned) when nothing tells: a first deploy.  *source
 * says which one answered ("state", "label"). */
int vd_plan_deployed_commit(const char *state_dir, vd_docker *docker, const char *project,
			    char **out, const char **source, vd_error *err);

#endif
