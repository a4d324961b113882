/* voxdeploy — which compose project this is: its directory, compose files
 * and name, found the way compose finds them. */
#ifndef VD_CONTROLLER_PROJECT_H
#define VD_CONTROLLER_PROJECT_H

#include <stddef.h>

#include "common/error.h"

typedef struct vd_project {
	char *dir;        /* absolute */
	char **files;     /* absolute compose file paths (may be empty) */
	size_t n_files;
	char *name;       /* normalised project name */
} vd_project;

/* dir NULL → "."; files from -f (relative to the current directory, as
 * compose takes them) or, when none, the first of compose.yaml, compose.yml,
 * docker-compose.yml, docker-compose.yaml in dir (none found is not an error
 * here: `status` works without one).  Name: explicit, else
 * COMPOSE_PROJECT_NAME, else the top-level `name:` of the compose file, else
 * dir's base name, normalised as compose does. */
int vd_project_resolve(const char *dir, const char *const *files, size_t n_files,
		       const char *explicit_name, vd_project *out, vd_error *err);
void vd_project_release(vd_project *p);

/* Compose's normalisation: lower case, only [a-z0-9_-], no leading '_' or '-'.
 * Caller frees; "" when nothing is left. */
char *vd_project_normalize(const char *name);

#endif
