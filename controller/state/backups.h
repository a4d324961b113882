/* voxdeploy — the catalogue of database dumps: $STATE_DIR/backups/<id>.dump
 * and its record <id>.json
 *   {"id","deploy_id","service","database","created","bytes","seconds"};
 * listed newest first, found by id, pruned per service, and what a killed
 * dump left (<id>.dump.partial) removed.  Making and restoring dumps is
 * rollout/backup.h. */
#ifndef VD_CONTROLLER_STATE_BACKUPS_H
#define VD_CONTROLLER_STATE_BACKUPS_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "common/json.h"
#include "controller/state/journal.h"

#define VD_BACKUP_ID_MAX 128

typedef struct vd_backup_info {
	char id[VD_BACKUP_ID_MAX];
	char deploy_id[VD_DEPLOY_ID_MAX];   /* "" for an on-demand dump */
	char service[128];
	char database[128];
	char created[32];      /* 2026-12-03T17:20:01.123Z */
	uint64_t bytes;
	uint64_t ms;           /* how long the dump took */
} vd_backup_info;

/* $STATE_DIR/backups/<id><ext> (caller frees). */
char *vd_backup_path(const char *state_dir, const char *id, const char *ext);

/* $STATE_DIR/backups (caller frees). */
char *vd_backup_dir(const char *state_dir);
/* b as the JSON object of its record and of `backups --json`. */
void vd_backup_info_json(yajl_gen g, const vd_backup_info *b);
/* Write b's record (<id>.json) whole or not at all. */
int vd_backup_write_info(const char *state_dir, const vd_backup_info *b, vd_error *err);
/* Every dump kept, newest first (*items calloc'd, caller frees). */
int vd_backup_list(const char *state_dir, vd_backup_info **items, size_t *n, vd_error *err);
/* Keep in items (a list newest first, as vd_backup_list gives it) only
 * each service's newest dump, in the same order; the new count. */
size_t vd_backup_newest_per_service(vd_backup_info *items, size_t n);
/* One by id: VD_ENOTFOUND (listing what there is) when there is none. */
int vd_backup_find(const char *state_dir, const char *id, vd_backup_info *out, vd_error *err);
/* Keep the newest `keep` dumps of service; remove the rest. */
int vd_backup_prune(const char *state_dir, const char *service, int64_t keep, vd_error *err);
/* Remove what a killed dump left (*.partial); how many were removed. */
size_t vd_backup_clean_partial(const char *state_dir);

#endif
