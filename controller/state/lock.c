#include "controller/state/lock.h"
#include "common/json.h"

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

int vd_lock_acquire(const char *state_dir, const char *target, const char *actor, vd_lock *out,
		    vd_error *err)
{
	vd_buf path = VD_BUF_INIT, rec = VD_BUF_INIT;
	yajl_gen g = NULL;
	char since[32];
	int fd = -1, r = 0;

	if (mkdir(state_dir, 0700) && errno != EEXIST) {
		r = vd_error_set(err, VD_EIO, "cannot create state directory %s: %s", state_dir,
				 strerror(errno));
		goto done;
	}
	if (vd_buf_printf(&path, "%s/lock", state_dir)) {
		r = vd_error_set(err, VD_ENOMEM, "out of memory");
		goto done;
	}
	fd = open(vd_buf_cstr(&path), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		r = vd_error_set(err, VD_EIO, "cannot open %s: %s", vd_buf_cstr(&path), strerror(errno));
		goto done;
	}
	if (flock(fd, LOCK_EX | LOCK_NB)) {
		vd_buf who = VD_BUF_INIT;

		if (errno != EWOULDBLOCK) {
			r = vd_error_set(err, VD_EIO, "cannot lock %s: %s", vd_buf_cstr(&path),
					 strerror(errno));
			goto done;
		}
		describe_holder(fd, &who);
		r = vd_error_set(err, VD_ELOCKED, "another deploy holds the lock (%s): %s",
				 vd_buf_cstr(&path), vd_buf_cstr(&who));
		vd_buf_release(&who);
		goto done;
	}
	now_rfc3339(since);
	g = vd_jgen_new();
	yajl_gen_map_open(g);
	vd_jgen_kint(g, "pid", (long long)getpid());
	vd_jgen_kstr(g, "since", since);
	vd_jgen_kstr(g, "target", target);
	vd_jgen_kstr(g, "actor", actor);
	yajl_gen_map_close(g);
	vd_jgen_finish(g, &rec);
	if (ftruncate(fd, 0) || pwrite(fd, rec.ptr, rec.len, 0) != (ssize_t)rec.len) {
		r = vd_error_set(err, VD_EIO, "cannot write %s: %s", vd_buf_cstr(&path), strerror(errno));
		goto done;
	}
	fsync(fd);
	out->fd = fd;
	fd = -1;
done:
	if (fd >= 0)
		close(fd);
	vd_buf_release(&path);
	vd_buf_release(&rec);
	return r;
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
