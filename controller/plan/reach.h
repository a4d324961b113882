/* voxdeploy — image-aware planning: which services a changed file reaches.
 *
 * Built from the compose files, each built service's Dockerfile and
 * .dockerignore as they are at the TARGET commit (read from the git tree,
 * not the working tree).  A file reaches a service when it is a build-context
 * file that .dockerignore keeps and a COPY/ADD of a stage feeding the final
 * image takes, or when it lies under one of the service's bind mounts.
 * Compose files, Dockerfiles, .dockerignore files and env_files are the
 * infrastructure: never lowered.  A service whose Dockerfile cannot be
 * resolved (a variable in a COPY source, a parse error) counts as reaching
 * every file of its context, and a note says why.
 */
#ifndef VD_CONTROLLER_REACH_H
#define VD_CONTROLLER_REACH_H

#include <stdbool.h>

#include "common/buf.h"
#include "common/error.h"
#include "controller/plan/gitsync.h"
#include "controller/model/interpolate.h"
#include "controller/model/project.h"

typedef struct vd_reach vd_reach;

/* Analyse the project at `commit`.  app_service NULL: the service whose
 * container_name is voxpersona_app, else the only service with build:.
 * Failures that only make the analysis impossible (no compose file in the
 * repository at that commit, one that does not load) are not errors: the
 * result is inactive and vd_reach_notes() says why.  Errors are for out of
 * memory and repository failures. */
int vd_reach_new(vd_git *g, const char *commit, const vd_project *proj, vd_env_lookup lookup,
		 void *lookup_ctx, const char *app_service, vd_reach **out, vd_error *err);
void vd_reach_free(vd_reach *r);

/* Image-aware mode applies: the compose model loaded and has built services. */
bool vd_reach_active(const vd_reach *r);
/* Why parts fell back to the rules ("" when nothing did). */
const char *vd_reach_notes(const vd_reach *r);

typedef struct vd_reach_verdict {
	bool app;             /* reaches the app service (image or mount) */
	bool other;           /* reaches another service */
	bool infrastructure;  /* a compose file, Dockerfile, .dockerignore or env_file */
	bool unknown;         /* in the context of a service that could not be resolved */
	char why[512];        /* "Dockerfile:12 COPY src (voxpersona)", ... */
} vd_reach_verdict;

/* Where a changed file (repository-relative) lands. */
void vd_reach_file(const vd_reach *r, const char *path, vd_reach_verdict *out);

#endif
