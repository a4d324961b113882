#include "controller/state/journal.h"
#include "common/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define JOURNAL_FILE "journal.jsonl"
#define MAX_RECORD ((size_t)64 << 10)

void vd_journal_new_id(char out[VD_DEPLOY_ID_MAX])
{
	unsigned char rnd[3] = { 0, 0, 0 };
	time_t t = time(NULL);
	struct tm tm;

	if (getrandom(rnd, sizeof(rnd), GRND_NONBLOCK) != (ssize_t)sizeof(rnd)) {
		unsigned v = (unsigned)getpid() ^ (unsigned)clock();

		memcpy(rnd, &v, sizeof(rnd));
	}
	gmtime_r(&t, &tm);
	snprintf(out, VD_DEPLOY_ID_MAX, "%04d%02d%02dT%02d%02d%02dZ-%02x%02x%02x", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, rnd[0], rnd[1], rnd[2]);
}

bool vd_journal_id_ok(const char *id)
{
	/* "20261127T003000Z-1a2b3c" */
	static const char shape[] = "ddddddddTddddddZ-xxxxxx";
	size_t i;

	if (!id || strlen(id) != sizeof(shape) - 1)
		return false;
	for (i = 0; shape[i]; i++) {
		char c = id[i];

		if (shape[i] == 'd' ? !(c >= '0' && c <= '9')
		    : shape[i] == 'x' ? !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))
		    : c != shape[i])
			return false;
	}
	return true;
}

int vd_journal_open(const char *state_dir, const char *deploy_id, vd_journal *out, vd_error *err)
{
	vd_buf path = VD_BUF_INIT;
	int fd;

	if (mkdir(state_dir, 0700) && errno != EEXIST)
		return vd_error_set(err, VD_EIO, "cannot create state directory %s: %s", state_dir,
				    strerror(errno));
	if (vd_buf_printf(&path, "%s/%s", state_dir, JOURNAL_FILE))
		return vd_error_set(err, VD_ENOMEM, "out of memory");
	fd = open(vd_buf_cstr(&path), O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		vd_error_set(err, VD_EIO, "cannot open %s: %s", vd_buf_cstr(&path), strerror(errno));
		vd_buf_release(&path);
		return VD_EIO;
	}
	vd_buf_release(&path);
	/* a record torn by a crash has no newline: end it, or the next record
	 * would be glued to it */
	{
		off_t end = lseek(fd, 0, SEEK_END);
		char last = '\n';

		if (end > 0 && pread(fd, &last, 1, end - 1) == 1 && last != '\n' &&
		    write(fd, "\n", 1) != 1) {
			close(fd);
			return vd_error_set(err, VD_EIO, "cannot write the journal: %s", strerror(errno));
		}
	}
	out->fd = fd;
	out->seq = 0;
	snprintf(out->deploy_id, sizeof(out->deploy_id), "%s", deploy_id);
	return 0;
}

int vd_journal_write(vd_journal *j, const char *step, const char *state, const vd_kvs *fields,
		     vd_error *err)
{
	vd_buf raw = VD_BUF_INIT, line = VD_BUF_INIT;
	yajl_gen g = vd_jgen_new();
	struct timeval tv;
	struct tm tm;
	char ts[64];
	size_t i, off = 0;
	int r = 0;

	if (j->fd < 0)
		return vd_error_set(err, VD_EINVAL, "the journal is not open");
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	snprintf(ts, sizeof(ts), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(tv.tv_usec / 1000));
	yajl_gen_map_open(g);
	vd_jgen_kstr(g, "ts", ts);
	vd_jgen_kstr(g, "deploy_id", j->deploy_id);
	vd_jgen_kint(g, "seq", (long long)++j->seq);
	vd_jgen_kstr(g, "step", step);
	vd_jgen_kstr(g, "state", state);
	for (i = 0; fields && i < fields->len; i++)
		vd_jgen_kstr(g, fields->items[i].key, fields->items[i].value);
	yajl_gen_map_close(g);
	/* no secret reaches the disk */
	if (vd_jgen_finish(g, &raw) || vd_secret_redact(vd_buf_cstr(&raw), &line) ||
	    vd_buf_putc(&line, '\n')) {
		r = vd_error_set(err, VD_ENOMEM, "out of memory");
		goto done;
	}
	while (off < line.len) {
		ssize_t w = write(j->fd, line.ptr + off, line.len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			r = vd_error_set(err, VD_EIO, "cannot write the journal: %s", strerror(errno));
			goto done;
		}
		off += (size_t)w;
	}
	if (fsync(j->fd))
		r = vd_error_set(err, VD_EIO, "cannot sync the journal: %s", strerror(errno));
done:
	vd_buf_release(&raw);
	vd_buf_release(&line);
	return r;
}

void vd_journal_close(vd_journal *j)
{
	if (j && j->fd >= 0) {
		close(j->fd);
		j->fd = -1;
	}
}

int vd_journal_read(const char *state_dir, size_t last_n, vd_journal_cb cb, void *ctx,
		    vd_error *err)
{
	vd_buf path = VD_BUF_INIT;
	char **ring = NULL, *line = NULL;
	size_t cap = 0, n = 0, i, start, count, skip, size = last_n ? last_n + 1 : 1024;
	ssize_t len;
	FILE *f;
	int r = 0;

	if (vd_buf_printf(&path, "%s/%s", state_dir, JOURNAL_FILE))
		return vd_error_set(err, VD_ENOMEM, "out of memory");
	f = fopen(vd_buf_cstr(&path), "r");
	if (!f) {
		r = errno == ENOENT ? VD_ENOTFOUND : VD_EIO;
		vd_error_set(err, r, "cannot read %s: %s", vd_buf_cstr(&path), strerror(errno));
		vd_buf_release(&path);
		return r;
	}
	ring = calloc(size, sizeof(char *));
	if (!ring) {
		r = vd_error_set(err, VD_ENOMEM, "out of memory");
		goto done;
	}
	/* keep the last `size` lines (all of them when last_n is 0: the ring grows) */
	while ((len = getline(&line, &cap, f)) >= 0) {
		if ((size_t)len > MAX_RECORD || len <= 1)
			continue;
		if (!last_n && n == size) {
			char **bigger = realloc(ring, size * 2 * sizeof(char *));

			if (!bigger) {
				r = vd_error_set(err, VD_ENOMEM, "out of memory");
				goto done;
			}
			memset(bigger + size, 0, size * sizeof(char *));
			ring = bigger;
			size *= 2;
		}
		free(ring[n % size]);
		ring[n % size] = line;
		line = NULL;
		cap = 0;
		n++;
	}
	/* one line more than asked is kept: a torn last record does not count */
	count = n < size ? n : size;
	start = n - count;
	skip = 0;
	if (last_n && count > last_n) {
		vd_error perr = VD_ERROR_INIT;
		yajl_val v = vd_json_parse(ring[(n - 1) % size], &perr);

		vd_error_release(&perr);
		skip = v ? 1 : 0;  /* the last line is whole: drop the oldest instead */
		yajl_tree_free(v);
	}
	for (i = start + skip; !r && i < n; i++) {
		vd_error perr = VD_ERROR_INIT;
		yajl_val v = vd_json_parse(ring[i % size], &perr);

		vd_error_release(&perr);
		if (!v)
			continue;  /* a torn record: the crash this journal exists for */
		r = cb(v, ctx, err);
		yajl_tree_free(v);
	}
done:
	if (ring)
		for (i = 0; i < size; i++)
			free(ring[i]);
	free(ring);
	free(line);
	fclose(f);
	vd_buf_release(&path);
	return r;
}
