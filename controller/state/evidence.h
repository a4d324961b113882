/* voxdeploy — the evidence of a failed deploy: $STATE_DIR/evidence/<deploy-id>/.
 *
 * When a new container fails its proof, before it is removed, the deploy
 * keeps what a person needs to see why:
 *   <service>.log   its last VD_EVIDENCE_LINES log lines, stdout and stderr
 *                   as the engine interleaved them, redacted;
 *   <service>.json  its inspect: {"service", "container", "id", "image",
 *                   "state": the engine's State (status, exit code, OOM,
 *                   error, times, Health with its log)}, redacted.
 * `logs --deploy ID` and `history` show them; the notification carries the
 * last lines.  The evidence of the newest VD_EVIDENCE_KEEP deploys is kept.
 */
#ifndef VD_CONTROLLER_EVIDENCE_H
#define VD_CONTROLLER_EVIDENCE_H

#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"
#include "common/error.h"

#define VD_EVIDENCE_LINES 200
#define VD_EVIDENCE_KEEP 20

typedef struct vd_evidence_item {
	char *service;
	char *log;       /* the lines, each ending in '\n' ("" when it logged nothing) */
	char *inspect;   /* the JSON text, or NULL when it could not be read */
} vd_evidence_item;

typedef struct vd_evidence {
	vd_evidence_item *items;  /* by service name */
	size_t len;
} vd_evidence;

#define VD_EVIDENCE_INIT { NULL, 0 }

/* $STATE_DIR/evidence/<deploy_id> into out.  VD_EINVAL for a malformed id. */
int vd_evidence_dir(const char *state_dir, const char *deploy_id, vd_buf *out, vd_error *err);

/* Keep one container's evidence (both texts are redacted here). */
int vd_evidence_save(const char *state_dir, const char *deploy_id, const char *service,
		     const char *log, size_t log_len, const char *inspect_json, vd_error *err);

/* What was kept for a deploy.  VD_EINVAL for a malformed id; VD_ENOTFOUND
 * when nothing was kept for it. */
int vd_evidence_load(const char *state_dir, const char *deploy_id, vd_evidence *out,
		     vd_error *err);
void vd_evidence_release(vd_evidence *e);

/* The deploys that have evidence, newest first (caller frees the array and
 * each id); 0 with *n 0 when there are none. */
int vd_evidence_list(const char *state_dir, char ***ids, size_t *n, vd_error *err);

/* Where the last n lines of text begin. */
const char *vd_evidence_tail(const char *text, size_t n);

/* Remove the evidence of all but the newest `keep` deploys (failures are
 * ignored: it is tidying). */
void vd_evidence_prune(const char *state_dir, size_t keep);

#endif
