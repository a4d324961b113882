#include "controller/state/lock.h"
#include "common/clock.h"
#include "common/json.h"
#include "controller/state/state.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void now_rfc3339(char out[32])
{
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* What the holder wrote, as a sentence. */
static void describe_holder(int fd, vd_buf *out)
{
	char text[4096];
	ssize_t n = pread(fd, text, sizeof(text) - 1, 0);
	vd_error err = VD_ERROR_INIT;
	yajl_val v;

	if (n <= 0) {
		vd_buf_puts(out, "a process that has not written its name yet");
		return;
	}
	text[n] = '\0';
	v = vd_json_parse(text, &err);
	vd_error_release(&err);
	if (!v) {
		vd_buf_puts(out, "a process (unreadable lock record)");
		return;
	}
	vd_buf_printf(out, "pid %lld since %s", (long long)vd_json_int(v, "pid", 0),
		      vd_json_str(v, "since") ? vd_json_str(v, "since") : "?");
	if (vd_json_str(v, "target"))
		vd_buf_printf(out, ", deploying %.12s", vd_json_str(v, "target"));
	if (vd_json_str(v, "actor"))
		vd_buf_printf(out, " for %s", vd_json_str(v, "actor"));
	yajl_tree_free(v);
}

/* Open $STATE_DIR/lock (created when missing). */
static int open_lock(const char *state_dir, vd_buf *path, int *fd, vd_error *err)
{
	if (mkdir(state_dir, 0700) && errno != EEXIST)
		return vd_error_set(err, VD_EIO, "cannot create state directory %s: %s", state_dir,
				    strerror(errno));
	if (vd_buf_printf(path, "%s/lock", state_dir))
		return vd_error_set(err, VD_ENOMEM, "out of memory");
	*fd = open(vd_buf_cstr(path), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (*fd < 0)
		return vd_error_set(err, VD_EIO, "cannot open %s: %s", vd_buf_cstr(path), strerror(errno));
	return 0;
}

static int write_holder(int fd, const char *path, const char *target, const char *actor, vd_error *err)
{
	vd_buf rec = VD_BUF_INIT;
	yajl_gen g = vd_jgen_new();
	char since[32];
	int r = 0;

	now_rfc3339(since);
	yajl_gen_map_open(g);
	vd_jgen_kint(g, "pid", (long long)getpid());
	vd_jgen_kstr(g, "since", since);
	vd_jgen_kstr(g, "target", target);
	vd_jgen_kstr(g, "actor", actor);
	yajl_gen_map_close(g);
	vd_jgen_finish(g, &rec);
	if (ftruncate(fd, 0) || pwrite(fd, rec.ptr, rec.len, 0) != (ssize_t)rec.len)
		r = vd_error_set(err, VD_EIO, "cannot write %s: %s", path, strerror(errno));
	else
		fsync(fd);
	vd_buf_release(&rec);
	return r;
}

int vd_lock_acquire_wait(const char *state_dir, const char *target, const char *actor,
			 uint64_t wait_ms, vd_lock_waiting_fn waiting, void *ctx, vd_lock *out,
			 vd_error *err)
{
	vd_buf path = VD_BUF_INIT, who = VD_BUF_INIT;
	vd_deadline until = vd_deadline_in(wait_ms);
	bool told = false;
	int fd = -1, r;

	if ((r = open_lock(state_dir, &path, &fd, err)))
		goto done;
	while (flock(fd, LOCK_EX | LOCK_NB)) {
		if (errno == EINTR)
			continue;
		if (errno != EWOULDBLOCK) {
			r = vd_error_set(err, VD_EIO, "cannot lock %s: %s", vd_buf_cstr(&path),
					 strerror(errno));
			goto done;
		}
		vd_buf_clear(&who);
		describe_holder(fd, &who);
		if (!wait_ms || vd_deadline_expired(until)) {
			r = vd_error_set(err, VD_ELOCKED, "another deploy holds the lock (%s)%s: %s",
					 vd_buf_cstr(&path), told ? " after the wait" : "", vd_buf_cstr(&who));
			goto done;
		}
		if (!told && waiting)
			waiting(ctx, vd_buf_cstr(&who), wait_ms);
		told = true;
		/* a finished holder lets go at once; 100 ms is all that is lost */
		usleep(100 * 1000);
	}
	if ((r = write_holder(fd, vd_buf_cstr(&path), target, actor, err)))
		goto done;
	out->fd = fd;
	fd = -1;
done:
	if (fd >= 0)
		close(fd);
	vd_buf_release(&path);
	vd_buf_release(&who);
	return r;
}

int vd_lock_acquire(const char *state_dir, const char *target, const char *actor, vd_lock *out,
		    vd_error *err)
{
	return vd_lock_acquire_wait(state_dir, target, actor, 0, NULL, NULL, out, err);
}

void vd_lock_release(vd_lock *lock)
{
	if (!lock || lock->fd < 0)
		return;
	/* empty the record first: a reader then never names a finished deploy */
	if (ftruncate(lock->fd, 0) == 0)
		fsync(lock->fd);
	flock(lock->fd, LOCK_UN);
	close(lock->fd);
	lock->fd = -1;
}

/* ------------------------------------------------------------------ freeze */

#define FREEZE_FILE "freeze"

void vd_freeze_release(vd_freeze *f)
{
	if (!f)
		return;
	free(f->since);
	free(f->by);
	free(f->message);
	*f = (vd_freeze)VD_FREEZE_INIT;
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

int vd_freeze_read(const char *state_dir, vd_freeze *out, vd_error *err)
{
	vd_buf text = VD_BUF_INIT;
	yajl_val v = NULL;
	int r;

	*out = (vd_freeze)VD_FREEZE_INIT;
	r = vd_state_read_file(state_dir, FREEZE_FILE, 64 * 1024, &text, err);
	if (r == VD_ENOTFOUND) {
		vd_error_release(err);
		r = 0;
		goto done;
	}
	if (r)
		goto done;
	if (!(v = vd_json_parse(vd_buf_cstr(&text), err))) {
		r = vd_error_prefix(err, "%s/" FREEZE_FILE, state_dir);
		goto done;
	}
	out->held = true;
	out->since = dup_or_null(vd_json_str(v, "since"));
	out->by = dup_or_null(vd_json_str(v, "by"));
	out->message = dup_or_null(vd_json_str(v, "message"));
done:
	yajl_tree_free(v);
	vd_buf_release(&text);
	return r;
}

int vd_freeze_hold(const char *state_dir, const char *since, const char *message, const char *by,
		   vd_error *err)
{
	vd_buf rec = VD_BUF_INIT;
	yajl_gen g = vd_jgen_new();
	char now[32];
	int r;

	now_rfc3339(now);
	yajl_gen_map_open(g);
	vd_jgen_kstr(g, "since", since ? since : now);
	vd_jgen_kstr(g, "by", by);
	vd_jgen_kstr(g, "message", message);
	yajl_gen_map_close(g);
	vd_jgen_finish(g, &rec);
	vd_buf_putc(&rec, '\n');
	r = vd_state_write_file(state_dir, FREEZE_FILE, rec.ptr, rec.len, err);
	vd_buf_release(&rec);
	return r;
}

int vd_freeze_lift(const char *state_dir, bool *was_held, vd_error *err)
{
	vd_buf path = VD_BUF_INIT;
	int r = 0;

	if (was_held)
		*was_held = false;
	if (vd_buf_printf(&path, "%s/" FREEZE_FILE, state_dir))
		return vd_error_set(err, VD_ENOMEM, "out of memory");
	if (!unlink(vd_buf_cstr(&path))) {
		if (was_held)
			*was_held = true;
	} else if (errno != ENOENT) {
		r = vd_error_set(err, VD_EIO, "cannot remove %s: %s", vd_buf_cstr(&path), strerror(errno));
	}
	vd_buf_release(&path);
	return r;
}

int vd_freeze_check(const char *state_dir, vd_error *err)
{
	vd_freeze f;
	int r = vd_freeze_read(state_dir, &f, err);

	if (r)
		return r;
	if (f.held)
		r = vd_error_set(err, VD_ELOCKED, "deploys are held since %s%s%s: %s (`voxdeploy unlock` lifts it)",
				 f.since ? f.since : "?", f.by ? " by " : "", f.by ? f.by : "",
				 f.message && *f.message ? f.message : "no reason given");
	vd_freeze_release(&f);
	return r;
}
