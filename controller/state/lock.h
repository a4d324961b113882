/* voxdeploy — one deploy at a time ($STATE_DIR/lock), and a deploy freeze
 * ($STATE_DIR/freeze).
 *
 * The lock is an flock on the file (released by the kernel if the holder
 * dies, so a crash never leaves a stale lock) plus a record inside it saying
 * who holds it:
 * {"pid":123,"since":"2026-11-27T00:30:00Z","target":"<sha>","actor":"ci"}.
 *
 * The freeze is a person's decision that no deploy or rollback may start
 * until it is lifted (`voxdeploy lock` / `unlock`): a small record
 * {"since":"…","by":"…","message":"…"} whose message every refused deploy
 * prints.  A deploy already running when the freeze is set finishes.
 */
#ifndef VD_CONTROLLER_LOCK_H
#define VD_CONTROLLER_LOCK_H

#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"

typedef struct vd_lock {
	int fd;        /* -1 when not held */
} vd_lock;

#define VD_LOCK_INIT { -1 }

/* Take the lock without waiting.  VD_ELOCKED when another process holds it,
 * with a message naming its pid, since when, its target and actor. */
int vd_lock_acquire(const char *state_dir, const char *target, const char *actor, vd_lock *out,
		    vd_error *err);
/* The same, waiting up to wait_ms (0: not at all) for the holder to let go;
 * `waiting` (may be NULL) is called once, with the holder's description,
 * when the lock is busy and the wait begins.  VD_ELOCKED when the wait ends
 * with the lock still held. */
typedef void (*vd_lock_waiting_fn)(void *ctx, const char *holder, uint64_t wait_ms);
int vd_lock_acquire_wait(const char *state_dir, const char *target, const char *actor,
			 uint64_t wait_ms, vd_lock_waiting_fn waiting, void *ctx, vd_lock *out,
			 vd_error *err);
/* Release (a no-op when not held). */
void vd_lock_release(vd_lock *lock);

typedef struct vd_freeze {
	bool held;
	char *since;    /* RFC 3339 UTC */
	char *by;       /* who set it (may be NULL) */
	char *message;  /* why (may be NULL) */
} vd_freeze;

#define VD_FREEZE_INIT { false, NULL, NULL, NULL }

/* Read the freeze; held false when there is none.  VD_EIO for an
 * unreadable state directory or record. */
int vd_freeze_read(const char *state_dir, vd_freeze *out, vd_error *err);
void vd_freeze_release(vd_freeze *f);
/* Hold deploys (replacing an earlier freeze); since NULL: now. */
int vd_freeze_hold(const char *state_dir, const char *since, const char *message, const char *by,
		   vd_error *err);
/* Lift the freeze; *was_held (may be NULL) says whether there was one. */
int vd_freeze_lift(const char *state_dir, bool *was_held, vd_error *err);
/* 0 when deploys may start; VD_ELOCKED, with the freeze's message and how to
 * lift it, when they are held. */
int vd_freeze_check(const char *state_dir, vd_error *err);

#endif
