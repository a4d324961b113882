/* The journal read from its end (journal.h, vd_journal_read_back): the
 * status page wants the last deploys, and a journal of years should not be
 * read whole for them.  Blocks are read backwards; a line whose beginning
 * lies before the block read so far waits for the next block. */
#include "controller/state/journal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define JOURNAL_FILE "journal.jsonl"
#define MAX_RECORD ((size_t)64 << 10)   /* as journal.c: longer lines are skipped */
#define BLOCK ((size_t)64 << 10)

/* One line (no newline): parsed and handed on; blank, overlong and torn
 * lines are skipped.  1 when the callback asked to stop. */
static int deliver(const char *line, size_t len, vd_journal_cb cb, void *ctx, vd_error *err)
{
	vd_error perr = VD_ERROR_INIT;
	char *text;
	yajl_val v;
	int r;

	if (len == 0 || len > MAX_RECORD)
		return 0;
	if (!(text = strndup(line, len)))
		return vd_error_set(err, VD_ENOMEM, "out of memory");
	v = vd_json_parse(text, &perr);
	free(text);
	vd_error_release(&perr);
	if (!v)
		return 0;  /* a torn record: a crash while writing */
	r = cb(v, ctx, err);
	yajl_tree_free(v);
	return r;
}

int vd_journal_read_back(const char *state_dir, vd_journal_cb cb, void *ctx, vd_error *err)
{
	vd_buf path = VD_BUF_INIT;
	char *block = NULL, *part = NULL;
	size_t plen = 0, len, e, i, n;
	bool skipping = false;  /* the partial line was overlong: drop the rest of it */
	struct stat st;
	off_t pos;
	int fd, r = 0;

	if (vd_buf_printf(&path, "%s/%s", state_dir, JOURNAL_FILE))
		return vd_error_set(err, VD_ENOMEM, "out of memory");
	fd = open(vd_buf_cstr(&path), O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st)) {
		r = errno == ENOENT ? VD_ENOTFOUND : VD_EIO;
		vd_error_set(err, r, "cannot read %s: %s", vd_buf_cstr(&path), strerror(errno));
		goto done;
	}
	pos = st.st_size;
	while (pos > 0 && !r) {
		n = (size_t)pos < BLOCK ? (size_t)pos : BLOCK;
		pos -= (off_t)n;
		if (!(block = malloc(n + plen))) {
			r = vd_error_set(err, VD_ENOMEM, "out of memory");
			break;
		}
		if (pread(fd, block, n, pos) != (ssize_t)n) {
			r = vd_error_set(err, VD_EIO, "cannot read %s: %s", vd_buf_cstr(&path),
					 strerror(errno));
			break;
		}
		if (plen)
			memcpy(block + n, part, plen);
		free(part);
		part = NULL;
		len = n + plen;
		/* every line with its beginning in this block, the newest first */
		for (e = len; !r;) {
			for (i = e; i > 0 && block[i - 1] != '\n'; i--)
				;
			if (i == 0 && pos > 0)
				break;  /* begins in an earlier block */
			if (skipping)
				skipping = false;
			else
				r = deliver(block + i, e - i, cb, ctx, err);
			if (i == 0)
				break;
			e = i - 1;
		}
		if (r || pos == 0)
			break;
		/* block[0, e) is the end of a line that began earlier */
		if (e > MAX_RECORD) {
			skipping = true;
			plen = 0;
		} else {
			plen = e;
			part = block;  /* its first e bytes */
			block = NULL;
			continue;
		}
		free(block);
		block = NULL;
	}
	if (r == VD_JOURNAL_STOP)
		r = 0;
done:
	free(block);
	free(part);
	if (fd >= 0)
		close(fd);
	vd_buf_release(&path);
	return r;
}
