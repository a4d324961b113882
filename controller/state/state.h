/* voxdeploy — what is deployed: $STATE_DIR/current.json.
 *
 * Written atomically (temporary file, fsync, rename) after a deploy proved
 * healthy; read by plan (the deployed commit), status and rollback.
 */
#ifndef VD_CONTROLLER_STATE_H
#define VD_CONTROLLER_STATE_H

#include "common/error.h"
#include "common/json.h"

#define VD_STATE_DIR_DEFAULT "/var/lib/voxdeploy"

typedef struct vd_state {
	char *project;
	char *commit;        /* the deployed commit (40 hex) */
	char *deploy_id;
	char *deployed_at;   /* RFC 3339 UTC */
	vd_kvs images;       /* service → image id */
	vd_kvs containers;   /* service → container id */
} vd_state;

/* The state directory: explicit (--state-dir), else $VOXDEPLOY_STATE_DIR,
 * else /var/lib/voxdeploy.  Caller frees. */
char *vd_state_dir(const char *explicit_dir);

/* Load current.json.  VD_ENOTFOUND when there is none (nothing deployed yet);
 * VD_EINVAL when it cannot be read as a state file. */
int vd_state_load(const char *dir, vd_state *out, vd_error *err);
/* Write current.json atomically; creates the directory (0700) if needed. */
int vd_state_save(const char *dir, const vd_state *st, vd_error *err);
/* Write dir/name whole or not at all (dir made 0700 when missing): a
 * temporary name beside it, fsync, rename, fsync of the directory.  The
 * file is 0600. */
int vd_state_write_file(const char *dir, const char *name, const char *data, size_t len,
			vd_error *err);
/* Read dir/name into out (its cap: max bytes).  VD_ENOTFOUND when there is
 * no such file; VD_EINVAL when it is larger than max; VD_EIO otherwise. */
int vd_state_read_file(const char *dir, const char *name, size_t max, vd_buf *out, vd_error *err);
/* Record a deploy: commit and deploy id now, deployed_at the current time;
 * per service the images and containers given (may be NULL) over what the
 * file held for the services not given. */
int vd_state_update(const char *dir, const char *project, const char *commit,
		    const char *deploy_id, const vd_kvs *images, const vd_kvs *containers,
		    vd_error *err);
void vd_state_release(vd_state *st);

#endif
