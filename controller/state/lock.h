/* voxdeploy — one deploy at a time: $STATE_DIR/lock.
 *
 * An flock on the file (released by the kernel if the holder dies, so a crash
 * never leaves a stale lock) plus a record inside it saying who holds it:
 * {"pid":123,"since":"2026-11-27T00:30:00Z","target":"<sha>","actor":"ci"}.
 */
#ifndef VD_CONTROLLER_LOCK_H
#define VD_CONTROLLER_LOCK_H

#include "common/error.h"

typedef struct vd_lock {
	int fd;        /* -1 when not held */
} vd_lock;

#define VD_LOCK_INIT { -1 }

/* Take the lock without waiting.  VD_ELOCKED when another process holds it,
 * with a message naming its pid, since when, its target and actor. */
int vd_lock_acquire(const char *state_dir, const char *target, const char *actor, vd_lock *out,
		    vd_error *err);
/* Release (a no-op when not held). */
void vd_lock_release(vd_lock *lock);

#endif
