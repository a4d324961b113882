/* voxdeploy — images through the Engine API (builds are in build.h). */
#ifndef VD_DOCKER_API_IMAGE_H
#define VD_DOCKER_API_IMAGE_H

#include <stdint.h>

#include "common/json.h"
#include "docker_api/docker.h"

typedef struct vd_image_info {
	char *id;            /* "sha256:..." */
	char **repo_tags;    /* "app:latest", ... */
	size_t n_repo_tags;
	int64_t size;
	char *created;       /* RFC 3339 (inspect) */
	vd_kvs labels;       /* Config.Labels */
	yajl_val raw;        /* inspect only: the whole answer */
} vd_image_info;

typedef struct vd_image_array {
	vd_image_info *items;
	size_t len;
} vd_image_array;

/* Inspect by name, id or id prefix; VD_ENOTFOUND when absent. */
int vd_image_inspect(vd_docker *d, const char *ref, vd_image_info *out, vd_error *err);
int vd_image_info_parse(const char *json, vd_image_info *out, vd_error *err);
void vd_image_info_release(vd_image_info *info);

/* Give image `source` the name repo:tag. */
int vd_image_tag(vd_docker *d, const char *source, const char *repo, const char *tag,
		 vd_error *err);
/* Remove an image or one of its tags.  VD_ECONFLICT when a container uses it. */
int vd_image_remove(vd_docker *d, const char *ref, bool force, bool noprune, vd_error *err);
/* List images; reference is a filter like "app:*" or NULL for all. */
int vd_image_list(vd_docker *d, const char *reference, vd_image_array *out, vd_error *err);
/* Remove the dangling images (no tag, no container) that carry label (a
 * key, or key=value): the layers of builds whose tags moved on.  The bytes
 * the engine says it reclaimed into *reclaimed. */
int vd_image_prune_dangling(vd_docker *d, const char *label, uint64_t *reclaimed, vd_error *err);
int vd_image_list_parse(const char *json, vd_image_array *out, vd_error *err);

/* What a push tells as it goes: a layer's status ("Pushing", "Pushed",
 * "Layer already exists"), and at the end the pushed digest. */
typedef void (*vd_push_progress_fn)(void *ctx, const char *layer, const char *status);

typedef struct vd_push_opts {
	const char *registry_auth;  /* encoded X-Registry-Auth (swarm.h), or NULL */
	vd_push_progress_fn on_progress;
	void *ctx;
	long idle_timeout_ms;       /* 0 → 60 s */
	long deadline_ms;           /* 0 → 10 min */
} vd_push_opts;

/* POST /images/{name}/push?tag=: name is "registry:5000/app" and tag the
 * tag to push.  An error the engine tells inside the stream (the registry
 * refused the credentials, cannot be reached) is the return: VD_EAPI with
 * its message.  The pushed manifest's digest ("sha256:...") into *digest
 * when the engine says it (may be NULL; caller frees). */
int vd_image_push(vd_docker *d, const char *name, const char *tag, const vd_push_opts *opts,
		  char **digest, vd_error *err);

/* POST /images/create?fromImage=&tag=: pull ref ("postgres:16",
 * "registry:5000/db@sha256:...", "db:16@sha256:..." — the digest wins) with
 * the options of a push (the credentials, the timeouts; on_progress is told
 * each layer's status).  An error the stream tells is VD_EAPI with it. */
int vd_image_pull(vd_docker *d, const char *ref, const vd_push_opts *opts, vd_error *err);
/* The pure part: ref as the call's fromImage and tag (a digest, or
 * "latest"); both allocated. */
int vd_image_pull_split(const char *ref, char **name, char **tag);
/* Whether ref names an image of registry ("host:port"): it begins with
 * "registry/".  Credentials go only with those: the engine hands what it is
 * given to whichever registry holds the image. */
bool vd_image_from_registry(const char *ref, const char *registry);

/* The digest a registry holds for ref (GET /distribution/{ref}/json, asked
 * through the engine), "sha256:..."; caller frees. */
int vd_image_registry_digest(vd_docker *d, const char *ref, const char *registry_auth,
			     char **digest, vd_error *err);
void vd_image_array_release(vd_image_array *list);

#endif
