/* voxdeploy — the journal: $STATE_DIR/journal.jsonl.
 *
 * One JSON object per line, appended and fsync'd before the step it names is
 * taken, so that `recover` knows where an interrupted deploy stood and
 * `history` can tell what happened:
 *   {"ts":"2026-11-27T00:30:00Z","deploy_id":"20261127T003000Z-1a2b3c",
 *    "seq":3,"step":"build","state":"begin","service":"voxpersona",...}
 * Every record passes through the secret redactor before it is written.
 */
#ifndef VD_CONTROLLER_JOURNAL_H
#define VD_CONTROLLER_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"
#include "common/json.h"

#define VD_DEPLOY_ID_MAX 40

typedef struct vd_journal {
	int fd;
	char deploy_id[VD_DEPLOY_ID_MAX];
	unsigned seq;
} vd_journal;

#define VD_JOURNAL_INIT { -1, "", 0 }

/* A fresh deploy id: UTC time and random hex, "20261127T003000Z-1a2b3c". */
void vd_journal_new_id(char out[VD_DEPLOY_ID_MAX]);

/* True for a deploy id of that shape (and nothing else: ids name
 * directories under the state directory). */
bool vd_journal_id_ok(const char *id);

/* Open the journal for appending the records of one deploy (creates the
 * state directory and the file). */
int vd_journal_open(const char *state_dir, const char *deploy_id, vd_journal *out, vd_error *err);
/* Append one record and fsync: step and state ("begin", "done", "failed",
 * "skipped"), plus string fields (may be NULL). */
int vd_journal_write(vd_journal *j, const char *step, const char *state, const vd_kvs *fields,
		     vd_error *err);
void vd_journal_close(vd_journal *j);

typedef int (*vd_journal_cb)(yajl_val record, void *ctx, vd_error *err);

/* Deliver the last `last_n` records (0: all), oldest first.  A torn last line
 * (a crash while writing) is skipped; VD_ENOTFOUND when there is no journal. */
int vd_journal_read(const char *state_dir, size_t last_n, vd_journal_cb cb, void *ctx,
		    vd_error *err);

/* What a callback of vd_journal_read_back returns to stop reading. */
#define VD_JOURNAL_STOP 1

/* Deliver the records newest first, reading the file from its end, until
 * the callback returns VD_JOURNAL_STOP (then 0) or an error; torn, blank
 * and overlong lines are skipped.  VD_ENOTFOUND when there is no journal.
 * (journal_tail.c) */
int vd_journal_read_back(const char *state_dir, vd_journal_cb cb, void *ctx, vd_error *err);

#endif
