#include "docker_api/build.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "docker_api/dockerignore.h"
#include "docker_api/path.h"

/* --- the build context --- */

static int no_memory(vd_error *err)
{
	return vd_error_set(err, VD_ENOMEM, "out of memory");
}

/* The Dockerfile as a clean path relative to the context. */
static int resolve_dockerfile(const char *context_dir, const char *dockerfile, char **out,
			      vd_error *err)
{
	const char *df = dockerfile && *dockerfile ? dockerfile : "Dockerfile";
	char *rel = NULL, *ctx_clean = NULL, *ctx_real = NULL, *abs = NULL;
	vd_buf path = VD_BUF_INIT;
	const char *why = NULL;
	struct stat st;
	size_t l;
	int r = 0;

	if (df[0] == '/') {
		/* docker accepts an absolute path when it lies in the context */
		const char *prefixes[2];
		size_t i;

		abs = vd_path_clean(df);
		ctx_clean = vd_path_clean(context_dir);
		ctx_real = realpath(context_dir, NULL);
		if (!abs || !ctx_clean) {
			r = no_memory(err);
			goto done;
		}
		prefixes[0] = ctx_clean;
		prefixes[1] = ctx_real;
		for (i = 0; i < 2 && !rel; i++) {
			if (!prefixes[i])
				continue;
			l = strlen(prefixes[i]);
			if (!strncmp(abs, prefixes[i], l) && abs[l] == '/' && abs[l + 1])
				rel = strdup(abs + l + 1);
			else if (!strcmp(prefixes[i], "/"))
				rel = strdup(abs + 1);
			else
				continue;
			if (!rel) {
				r = no_memory(err);
				goto done;
			}
		}
		if (!rel) {
			r = vd_error_set(err, VD_EINVAL, "the Dockerfile %s is outside the build context %s",
					 df, context_dir);
			goto done;
		}
	} else if (!(rel = vd_path_clean(df))) {
		r = no_memory(err);
		goto done;
	}
	if (!strcmp(rel, "..") || !strncmp(rel, "../", 3)) {
		r = vd_error_set(err, VD_EINVAL,
				 "the Dockerfile %s is outside the build context %s", df, context_dir);
		goto done;
	}
	if (vd_buf_printf(&path, "%s/%s", context_dir, rel)) {
		r = no_memory(err);
		goto done;
	}
	if (!strcmp(rel, "."))
		why = "it is the context directory";
	else if (stat(vd_buf_cstr(&path), &st))
		why = strerror(errno);
	else if (!S_ISREG(st.st_mode))
		why = "not a regular file";
	if (why) {
		r = vd_error_set(err, VD_EINVAL, "Dockerfile not found: %s (%s)", vd_buf_cstr(&path),
				 why);
		goto done;
	}
	*out = rel;
	rel = NULL;
done:
	free(rel);
	free(abs);
	free(ctx_clean);
	free(ctx_real);
	vd_buf_release(&path);
	return r;
}

struct walk {
	const vd_dockerignore *di;
	vd_buf abs;
	vd_buf rel;
	vd_build_walk_cb cb;
	void *ctx;
	vd_error *err;
};

static int name_cmp(const void *a, const void *b)
{
	/* filepath.Walk visits names in byte order */
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int read_names(const char *dir, char ***out, size_t *n_out, vd_error *err)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **names = NULL, **nn;
	size_t n = 0, i;
	int r = 0;

	if (!d)
		return vd_error_set(err, VD_EIO, "cannot read directory %s: %s", dir, strerror(errno));
	for (;;) {
		errno = 0;
		if (!(de = readdir(d))) {
			if (errno)
				r = vd_error_set(err, VD_EIO, "cannot read directory %s: %s", dir,
						 strerror(errno));
			break;
		}
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (!(nn = realloc(names, (n + 1) * sizeof(*nn))) || !(nn[n] = strdup(de->d_name))) {
			if (nn)
				names = nn;
			r = no_memory(err);
			break;
		}
		names = nn;
		n++;
	}
	closedir(d);
	if (r) {
		for (i = 0; i < n; i++)
			free(names[i]);
		free(names);
		return r;
	}
	if (n)
		qsort(names, n, sizeof(*names), name_cmp);
	*out = names;
	*n_out = n;
	return 0;
}

/* Walk the directory now in w->abs / w->rel (rel "" for the context). */
static int walk_dir(struct walk *w)
{
	size_t abs_len = w->abs.len, rel_len = w->rel.len, n = 0, i;
	char **names = NULL;
	int r;

	if ((r = read_names(vd_buf_cstr(&w->abs), &names, &n, w->err)))
		return r;
	for (i = 0; i < n && !r; i++) {
		struct stat st;
		bool excluded;

		w->abs.len = abs_len;
		w->rel.len = rel_len;
		if ((r = vd_buf_printf(&w->abs, "/%s", names[i])) ||
		    (r = vd_buf_printf(&w->rel, "%s%s", rel_len ? "/" : "", names[i]))) {
			r = r == VD_ETOOBIG ? vd_error_set(w->err, r, "build context: path too long: "
							   "%.200s/%s...", w->rel.ptr ? w->rel.ptr : "",
							   names[i])
					    : no_memory(w->err);
			break;
		}
		if (lstat(vd_buf_cstr(&w->abs), &st)) {
			if (errno == ENOENT)
				continue;  /* gone since readdir */
			r = vd_error_set(w->err, VD_EIO, "lstat %s: %s", vd_buf_cstr(&w->abs),
					 strerror(errno));
			break;
		}
		excluded = vd_dockerignore_excluded(w->di, vd_buf_cstr(&w->rel));
		if (excluded) {
			/* the directory entry is left out, but an exception such as
			 * "!dir/keep" makes docker look inside */
			if (S_ISDIR(st.st_mode) && vd_dockerignore_reopens(w->di, vd_buf_cstr(&w->rel)))
				r = walk_dir(w);
			continue;
		}
		if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode)) {
			vd_log_debug("build context: skipping %s (not a file, directory or symlink)",
				     vd_buf_cstr(&w->rel));
			continue;
		}
		r = w->cb(vd_buf_cstr(&w->rel), &st, vd_buf_cstr(&w->abs), w->ctx, w->err);
		if (!r && S_ISDIR(st.st_mode))
			r = walk_dir(w);
	}
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	w->abs.len = abs_len;
	w->rel.len = rel_len;
	if (w->abs.ptr)
		w->abs.ptr[abs_len] = '\0';
	if (w->rel.ptr)
		w->rel.ptr[rel_len] = '\0';
	return r;
}

static int walk_context(const char *context_dir, const char *rel_dockerfile, bool keep_dockerignore,
			vd_build_walk_cb cb, void *ctx, vd_error *err)
{
	struct walk w = { .cb = cb, .ctx = ctx, .err = err };
	vd_dockerignore *di = NULL;
	int r;

	vd_buf_init(&w.abs, PATH_MAX * 4);
	vd_buf_init(&w.rel, PATH_MAX * 4);
	if ((r = vd_dockerignore_load(context_dir, &di, err)))
		goto done;
	/* the docker CLI always sends these two, whatever .dockerignore says
	 * (the classic builder drops them again when it excludes them); BuildKit
	 * needs only the Dockerfile: it does not read .dockerignore from an
	 * uploaded context, nor drop what it excludes */
	if ((keep_dockerignore && (r = vd_dockerignore_keep(di, ".dockerignore", err))) ||
	    (r = vd_dockerignore_keep(di, rel_dockerfile, err)))
		goto done;
	w.di = di;
	if (vd_buf_puts(&w.abs, context_dir)) {
		r = no_memory(err);
		goto done;
	}
	/* "ctx/" and "ctx" walk the same */
	while (w.abs.len > 1 && w.abs.ptr[w.abs.len - 1] == '/')
		w.abs.ptr[--w.abs.len] = '\0';
	r = walk_dir(&w);
done:
	vd_dockerignore_free(di);
	vd_buf_release(&w.abs);
	vd_buf_release(&w.rel);
	return r;
}

static int check_context_dir(const char *context_dir, vd_error *err)
{
	struct stat st;

	if (!context_dir || !*context_dir)
		return vd_error_set(err, VD_EINVAL, "no build context directory given");
	if (stat(context_dir, &st))
		return vd_error_set(err, VD_EINVAL, "build context %s: %s", context_dir,
				    strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return vd_error_set(err, VD_EINVAL, "build context %s is not a directory", context_dir);
	return 0;
}

int vd_build_context_walk(const char *context_dir, const char *dockerfile,
			  vd_build_walk_cb cb, void *ctx, vd_error *err)
{
	char *rel = NULL;
	int r;

	if ((r = check_context_dir(context_dir, err)) ||
	    (r = resolve_dockerfile(context_dir, dockerfile, &rel, err)))
		return r;
	r = walk_context(context_dir, rel, true, cb, ctx, err);
	free(rel);
	return r;
}

struct tar_writer {
	struct archive *a;
	size_t entries;
	char buf[64 * 1024];
};

static int archive_failed(struct archive *a, const char *what, const char *name, vd_error *err)
{
	const char *msg = archive_error_string(a);

	return vd_error_set(err, VD_EIO, "build context: %s %s: %s", what, name,
			    msg ? msg : "libarchive error");
}

/* Copy exactly size bytes of the file (a file that shrank meanwhile is padded
 * with zeros by libarchive; one that grew is cut). */
static int tar_copy(struct tar_writer *t, const char *rel, const char *abs, int64_t size,
		    vd_error *err)
{
	int fd = open(abs, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	int r = 0;

	if (fd < 0)
		return vd_error_set(err, VD_EIO, "build context: cannot read %s: %s", abs,
				    strerror(errno));
	while (size > 0) {
		size_t want = size < (int64_t)sizeof(t->buf) ? (size_t)size : sizeof(t->buf);
		ssize_t got = read(fd, t->buf, want);

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			r = vd_error_set(err, VD_EIO, "build context: cannot read %s: %s", abs,
					 strerror(errno));
			break;
		}
		if (got == 0)
			break;
		if (archive_write_data(t->a, t->buf, (size_t)got) < 0) {
			r = archive_failed(t->a, "write", rel, err);
			break;
		}
		size -= got;
	}
	close(fd);
	return r;
}

static int tar_add(const char *rel, const struct stat *st, const char *abs, void *ctx,
		   vd_error *err)
{
	struct tar_writer *t = ctx;
	struct archive_entry *e = archive_entry_new();
	vd_buf name = VD_BUF_INIT;
	char target[PATH_MAX + 1];
	ssize_t tl;
	int r = 0, ar;

	if (!e)
		return no_memory(err);
	if (vd_buf_puts(&name, rel) || (S_ISDIR(st->st_mode) && vd_buf_putc(&name, '/'))) {
		r = no_memory(err);
		goto done;
	}
	/* names are bytes, as Go's tar writes them; a name that is not ASCII
	 * gets a pax path record (hdrcharset=BINARY when the locale cannot
	 * convert it, which only warns) with the bytes unchanged */
	archive_entry_copy_pathname(e, vd_buf_cstr(&name));
	archive_entry_set_perm(e, st->st_mode & 07777);
	archive_entry_set_uid(e, 0);
	archive_entry_set_gid(e, 0);
	archive_entry_set_mtime(e, st->st_mtim.tv_sec, 0);
	if (S_ISDIR(st->st_mode)) {
		archive_entry_set_filetype(e, AE_IFDIR);
		archive_entry_set_size(e, 0);
	} else if (S_ISLNK(st->st_mode)) {
		tl = readlink(abs, target, sizeof(target) - 1);
		if (tl < 0) {
			r = vd_error_set(err, VD_EIO, "build context: readlink %s: %s", abs,
					 strerror(errno));
			goto done;
		}
		target[tl] = '\0';
		archive_entry_set_filetype(e, AE_IFLNK);
		archive_entry_copy_symlink(e, target);
		archive_entry_set_size(e, 0);
	} else {
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_size(e, st->st_size);
	}
	ar = archive_write_header(t->a, e);
	if (ar < ARCHIVE_WARN) {
		r = archive_failed(t->a, "add", rel, err);
		goto done;
	}
	if (S_ISREG(st->st_mode) && (r = tar_copy(t, rel, abs, st->st_size, err)))
		goto done;
	if (archive_write_finish_entry(t->a) < ARCHIVE_WARN) {
		r = archive_failed(t->a, "finish", rel, err);
		goto done;
	}
	t->entries++;
done:
	archive_entry_free(e);
	vd_buf_release(&name);
	return r;
}

void vd_build_context_release(vd_build_context *c)
{
	if (!c)
		return;
	if (c->tar)
		fclose(c->tar);
	free(c->dockerfile);
	c->tar = NULL;
	c->dockerfile = NULL;
	c->size = 0;
	c->entries = 0;
}

int vd_build_context_make(const char *context_dir, const char *dockerfile, vd_builder builder,
			  vd_build_context *out, vd_error *err)
{
	struct tar_writer *t = NULL;
	char *rel = NULL;
	FILE *f = NULL;
	off_t size;
	int r;

	if ((r = check_context_dir(context_dir, err)) ||
	    (r = resolve_dockerfile(context_dir, dockerfile, &rel, err)))
		return r;
	if (!(t = calloc(1, sizeof(*t))) || !(t->a = archive_write_new())) {
		r = no_memory(err);
		goto done;
	}
	/* a file, not memory: a context can be gigabytes */
	if (!(f = tmpfile())) {
		r = vd_error_set(err, VD_EIO, "build context: cannot create a temporary file: %s",
				 strerror(errno));
		goto done;
	}
	if (archive_write_set_format_pax_restricted(t->a) != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(t->a, 1) != ARCHIVE_OK ||
	    archive_write_open_FILE(t->a, f) != ARCHIVE_OK) {
		r = archive_failed(t->a, "open", "tar", err);
		goto done;
	}
	if ((r = walk_context(context_dir, rel, builder != VD_BUILDER_BUILDKIT, tar_add, t, err)))
		goto done;
	if (archive_write_close(t->a) != ARCHIVE_OK) {
		r = archive_failed(t->a, "close", "tar", err);
		goto done;
	}
	if (fflush(f) || (size = ftello(f)) < 0 || fseeko(f, 0, SEEK_SET)) {
		r = vd_error_set(err, VD_EIO, "build context: temporary file: %s", strerror(errno));
		goto done;
	}
	out->tar = f;
	out->size = size;
	out->entries = t->entries;
	out->dockerfile = rel;
	f = NULL;
	rel = NULL;
done:
	if (t && t->a)
		archive_write_free(t->a);
	free(t);
	if (f)
		fclose(f);
	free(rel);
	return r;
}

/* --- the progress stream --- */

#define STEP_MAX_INSTR 80

/* "Step 2/5 : RUN make" → "step 2/5 (RUN make)", the instruction cut short
 * (a RUN can span many lines). */
static int note_step(vd_build_stream *s, const char *line, size_t len)
{
	const char *colon = memchr(line, ':', len);
	size_t nlen, ilen;
	const char *instr;
	vd_buf out = VD_BUF_INIT;
	int r;

	if (!colon || colon - line < 6)
		return 0;
	nlen = (size_t)(colon - line) - 5;     /* "2/5 " */
	while (nlen && line[5 + nlen - 1] == ' ')
		nlen--;
	instr = colon + 1;
	ilen = len - (size_t)(instr - line);
	while (ilen && *instr == ' ') {
		instr++;
		ilen--;
	}
	if (ilen > STEP_MAX_INSTR) {
		ilen = STEP_MAX_INSTR;
		while (ilen && ((unsigned char)instr[ilen] & 0xC0) == 0x80)
			ilen--;   /* not inside a UTF-8 sequence */
	}
	r = vd_buf_printf(&out, "step %.*s (%.*s%s)", (int)nlen, line + 5, (int)ilen, instr,
			  ilen < len - (size_t)(instr - line) ? "..." : "");
	if (r) {
		vd_buf_release(&out);
		return r;
	}
	free(s->step);
	s->step = vd_buf_detach(&out);
	return s->step ? 0 : VD_ENOMEM;
}

/* Look at each line of a stream text: the step announcements and
 * "Successfully built 3f1b2c4d5e6f". */
static int scan_text(vd_build_stream *s, const char *text)
{
	static const char built[] = "Successfully built ";
	const char *line = text;
	int r = 0;

	while (*line && !r) {
		size_t len = strcspn(line, "\n");

		if (len > 5 && !strncmp(line, "Step ", 5)) {
			r = note_step(s, line, len);
		} else if (len > sizeof(built) - 1 && !strncmp(line, built, sizeof(built) - 1)) {
			const char *id = line + sizeof(built) - 1;
			size_t n = strspn(id, "0123456789abcdef");

			if (n >= 12) {
				char *dup = strndup(id, n);

				if (!dup)
					return VD_ENOMEM;
				free(s->built_id);
				s->built_id = dup;
			}
		}
		line += len;
		if (*line)
			line++;
	}
	return r;
}

/* What kind of failure a BuildKit error is: the Dockerfile's own fault
 * (exit 2), a build that needs a client session, or anything else. */
static int buildkit_code(const char *msg)
{
	if (strstr(msg, "dockerfile parse error") || strstr(msg, "Dockerfile parse error"))
		return VD_EINVAL;
	if (strstr(msg, "no active session"))
		return VD_EUNSUPPORTED;
	return VD_EAPI;
}

/* Whether the error is about the "# syntax=" frontend image: 20.10 says
 * "frontend gateway", later engines name the image (its name without the
 * tag is enough: "docker/dockerfile"). */
static bool frontend_failed(const vd_build_stream *s)
{
	size_t n;

	if (strstr(s->error, "frontend gateway"))
		return true;
	if (!s->syntax || !*s->syntax)
		return false;
	n = strcspn(s->syntax, ":@");
	return memmem(s->error, strlen(s->error), s->syntax, n) != NULL;
}

/* "  | line" for each of the failed step's last lines. */
static int tail_lines(vd_buf *out, const char *tail)
{
	int r = 0;

	while (*tail && !r) {
		size_t n = strcspn(tail, "\n");

		r = vd_buf_printf(out, "\n  | %.*s", (int)n, tail);
		tail += n + (tail[n] == '\n');
	}
	return r;
}

static int stream_failed(vd_build_stream *s, vd_error *err)
{
	const vd_bk_trace *t = &s->trace;
	vd_buf m = VD_BUF_INIT;
	int code, r;

	if (!t->n) {
		if (s->step)
			return vd_error_set(err, VD_EAPI, "%s: %s", s->step, s->error);
		return vd_error_set(err, VD_EAPI, "%s", s->error);
	}
	code = buildkit_code(s->error);
	if (code == VD_EAPI && frontend_failed(s)) {
		code = VD_EUNSUPPORTED;
		r = vd_buf_printf(&m, "%s: the Dockerfile's '# syntax=' line names a frontend image the engine "
				  "must fetch, and it could not; delete the line to build with the engine's "
				  "own Dockerfile frontend, or load that image into the engine",
				  s->error);
	}
	else if (code == VD_EUNSUPPORTED)
		r = vd_buf_printf(&m, "%s: the Dockerfile needs a client session (RUN --mount=type=secret or "
				  "type=ssh), which builds through the Engine API do not have; pass the value "
				  "as a build arg or a file in the context, or set deploy.builder: classic",
				  s->error);
	else if (t->failed)
		r = vd_buf_printf(&m, "step %s: %s", t->failed, s->error);
	else
		r = vd_buf_puts(&m, s->error);
	if (!r && t->failed_tail && *t->failed_tail)
		r = tail_lines(&m, t->failed_tail);
	r = r && r != VD_ETOOBIG ? r : vd_error_set(err, code, "%s", vd_buf_cstr(&m));
	vd_buf_release(&m);
	return r == VD_ENOMEM ? no_memory(err) : r;
}

/* {"id":"moby.buildkit.trace","aux":"<base64>"}: a step's news. */
static void trace_line(vd_build_stream *s, const char *b64)
{
	vd_error e = VD_ERROR_INIT;

	if (!s->trace_broken && vd_bk_trace_feed(&s->trace, b64, strlen(b64), &e)) {
		s->trace_broken = true;
		vd_log_warn("build: BuildKit's progress could not be read (%s); building on without it",
			    vd_error_msg(&e));
	}
	vd_error_release(&e);
}

static int stream_line(yajl_val v, void *ctx, vd_error *err)
{
	vd_build_stream *s = ctx;
	const char *msg, *text, *id;

	if (!v || !YAJL_IS_OBJECT(v))
		return vd_error_set(err, VD_EPROTO, "unexpected build output (not a JSON object)");
	msg = vd_json_str(vd_json_get(v, "errorDetail"), "message");
	if (!msg || !*msg)
		msg = vd_json_str(v, "error");
	if (msg || vd_json_get(v, "error")) {
		if (!msg || !*msg)
			msg = "the engine reported an error without a message";
		if (!(s->error = strdup(msg)))
			return no_memory(err);
		return stream_failed(s, err);
	}
	id = vd_json_str(v, "id");
	if (id && !strcmp(id, "moby.buildkit.trace")) {
		const char *b64 = vd_json_str(v, "aux");

		if (b64)
			trace_line(s, b64);
		return 0;
	}
	id = vd_json_str(vd_json_get(v, "aux"), "ID");
	if (id && *id) {
		char *dup = strdup(id);

		if (!dup)
			return no_memory(err);
		free(s->image_id);
		s->image_id = dup;
	}
	text = vd_json_str(v, "stream");
	if (text && *text) {
		char *line = strdup(text);
		size_t n;

		if (!line || scan_text(s, text)) {
			free(line);
			return no_memory(err);
		}
		n = strlen(line);
		while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		if (n && s->progress)
			s->progress(line, s->progress_ctx);
		free(line);
	}
	return 0;
}

void vd_build_stream_init(vd_build_stream *s, vd_build_progress_cb progress, vd_bk_step_cb on_step,
			  void *ctx)
{
	memset(s, 0, sizeof(*s));
	vd_jsonl_init(&s->lines, VD_BUILD_MAX_LINE, stream_line, s);
	s->progress = progress;
	s->progress_ctx = ctx;
	vd_bk_trace_init(&s->trace, on_step, progress, ctx);
}

int vd_build_stream_feed(vd_build_stream *s, const char *data, size_t len, vd_error *err)
{
	if (s->error)
		return stream_failed(s, err);
	return vd_jsonl_feed(&s->lines, data, len, err);
}

int vd_build_stream_finish(vd_build_stream *s, char **out_id, vd_error *err)
{
	char *id;
	int r;

	if (s->error)
		return stream_failed(s, err);
	if ((r = vd_jsonl_finish(&s->lines, err)))
		return r;
	if (!s->image_id && !s->built_id)
		return vd_error_set(err, VD_EPROTO,
				    "the engine ended the build without an image id (%zu lines of output)",
				    s->lines.lines);
	if (!(id = strdup(s->image_id ? s->image_id : s->built_id)))
		return no_memory(err);
	*out_id = id;
	return 0;
}

void vd_build_stream_release(vd_build_stream *s)
{
	if (!s)
		return;
	vd_jsonl_release(&s->lines);
	vd_bk_trace_release(&s->trace);
	free(s->image_id);
	free(s->built_id);
	free(s->step);
	free(s->error);
	free(s->syntax);
	s->image_id = s->built_id = s->step = s->error = s->syntax = NULL;
}

/* --- POST /build --- */

void vd_build_options_release(vd_build_options *opts)
{
	if (!opts)
		return;
	vd_kvs_release(&opts->buildargs);
	vd_kvs_release(&opts->labels);
}

static int kvs_json(const vd_kvs *kvs, vd_buf *out)
{
	yajl_gen g = vd_jgen_new();
	size_t i;

	if (!g)
		return VD_ENOMEM;
	yajl_gen_map_open(g);
	for (i = 0; i < kvs->len; i++)
		vd_jgen_kstr(g, kvs->items[i].key, kvs->items[i].value);
	yajl_gen_map_close(g);
	return vd_jgen_finish(g, out);
}

int vd_build_query(const vd_build_options *opts, const char *dockerfile, vd_buf *out)
{
	vd_buf js = VD_BUF_INIT;
	size_t i;
	int r = 0;

	for (i = 0; opts->tags && opts->tags[i] && !r; i++)
		r = vd_docker_query_add(out, "t", opts->tags[i]);
	if (!r)
		r = vd_docker_query_add(out, "dockerfile", dockerfile ? dockerfile : "Dockerfile");
	if (!r && opts->target && *opts->target)
		r = vd_docker_query_add(out, "target", opts->target);
	if (!r && opts->buildargs.len && !(r = kvs_json(&opts->buildargs, &js)))
		r = vd_docker_query_add(out, "buildargs", vd_buf_cstr(&js));
	vd_buf_clear(&js);
	if (!r && opts->labels.len && !(r = kvs_json(&opts->labels, &js)))
		r = vd_docker_query_add(out, "labels", vd_buf_cstr(&js));
	if (!r && opts->cache_from && opts->cache_from[0]) {
		yajl_gen g = vd_jgen_new();

		if (!g)
			r = VD_ENOMEM;
		else
			yajl_gen_array_open(g);
		for (i = 0; g && opts->cache_from[i]; i++)
			yajl_gen_string(g, (const unsigned char *)opts->cache_from[i], strlen(opts->cache_from[i]));
		if (g) {
			yajl_gen_array_close(g);
			vd_buf_clear(&js);
			if (!(r = vd_jgen_finish(g, &js)))
				r = vd_docker_query_add(out, "cachefrom", vd_buf_cstr(&js));
		}
	}
	for (i = 0; !r && opts->extra_hosts && opts->extra_hosts[i]; i++)
		r = vd_docker_query_add(out, "extrahosts", opts->extra_hosts[i]);
	if (!r && opts->network && *opts->network)
		r = vd_docker_query_add(out, "networkmode", opts->network);
	if (!r && opts->platform && *opts->platform)
		r = vd_docker_query_add(out, "platform", opts->platform);
	if (!r && opts->nocache)
		r = vd_docker_query_add(out, "nocache", "1");
	/* no intermediate container survives, not even a failed step's */
	if (!r)
		r = vd_docker_query_add(out, "rm", "1");
	if (!r)
		r = vd_docker_query_add(out, "forcerm", "1");
	if (!r)
		r = vd_docker_query_add(out, "version", opts->builder == VD_BUILDER_BUILDKIT ? "2" : "1");
	vd_buf_release(&js);
	return r;
}

vd_builder vd_build_engine_builder(const char *builder_version, const char *os_type,
				   const char *api_version, const char **why)
{
	const char *w = NULL;
	vd_builder b = VD_BUILDER_BUILDKIT;

	if (builder_version && *builder_version) {
		if (strcmp(builder_version, "2")) {
			b = VD_BUILDER_CLASSIC;
			w = "the engine's Builder-Version is not 2";
		}
	} else if (os_type && *os_type && strcmp(os_type, "linux")) {
		b = VD_BUILDER_CLASSIC;
		w = "BuildKit runs on Linux engines only";
	} else if (!api_version || vd_docker_version_parse(api_version) < 1039) {
		b = VD_BUILDER_CLASSIC;
		w = "the engine's API is older than 1.39 (Docker 18.09, the first with BuildKit)";
	}
	if (why)
		*why = w;
	return b;
}

/* The "# syntax=IMAGE" parser directive at the Dockerfile's top, or NULL:
 * directives come first, one per comment line, before anything else. */
static char *syntax_directive(const char *context_dir, const char *dockerfile)
{
	char path[4096], line[1024], *out = NULL;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", context_dir, dockerfile);
	if (!(f = fopen(path, "r")))
		return NULL;
	while (!out && fgets(line, sizeof(line), f)) {
		char *p = line + strspn(line, " \t\xef\xbb\xbf"), *eq, *k;

		if (*p != '#')
			break;
		p += 1 + strspn(p + 1, " \t");
		if (!(eq = strchr(p, '=')))
			break;
		for (k = eq; k > p && (k[-1] == ' ' || k[-1] == '\t'); k--)
			;
		if ((size_t)(k - p) == 6 && !strncasecmp(p, "syntax", 6)) {
			char *v = eq + 1 + strspn(eq + 1, " \t");

			v[strcspn(v, " \t\r\n")] = '\0';
			if (*v)
				out = strdup(v);
		}
	}
	fclose(f);
	return out;
}

static int on_build_data(const char *data, size_t len, void *ctx, vd_error *err)
{
	return vd_build_stream_feed(ctx, data, len, err);
}

/* "Successfully built 3f1b2c4d5e6f" gives a short id: ask for the full one. */
static char *full_image_id(vd_docker *d, const char *short_id)
{
	vd_buf path = VD_BUF_INIT, body = VD_BUF_INIT;
	vd_error err = VD_ERROR_INIT;
	yajl_val v = NULL;
	const char *id;
	char *out = NULL;

	vd_buf_init(&body, 4 << 20);
	if (vd_docker_path(&path, "/images/", short_id, "/json"))
		goto done;
	if (vd_docker_get(d, vd_buf_cstr(&path), NULL, &body, &err))
		goto done;
	v = vd_json_parse(vd_buf_cstr(&body), &err);
	if ((id = vd_json_str(v, "Id")) && !strncmp(id, "sha256:", 7))
		out = strdup(id);
done:
	if (!out)
		vd_log_debug("build: cannot resolve image %s: %s", short_id, vd_error_msg(&err));
	yajl_tree_free(v);
	vd_buf_release(&path);
	vd_buf_release(&body);
	vd_error_release(&err);
	return out;
}

int vd_build_run(vd_docker *d, const vd_build_options *opts, char **out_id, vd_error *err)
{
	vd_build_context ctx = VD_BUILD_CONTEXT_INIT;
	vd_build_stream stream;
	vd_docker_req req;
	vd_buf query = VD_BUF_INIT;
	char *id = NULL;
	int r;

	vd_build_stream_init(&stream, opts->progress, opts->on_step, opts->progress_ctx);
	if ((r = vd_build_context_make(opts->context_dir, opts->dockerfile, opts->builder, &ctx, err)))
		goto done;
	vd_log_debug("build: context %s: %zu entries, %lld bytes", opts->context_dir, ctx.entries,
		     (long long)ctx.size);
	if (opts->builder == VD_BUILDER_BUILDKIT)
		stream.syntax = syntax_directive(opts->context_dir, ctx.dockerfile);
	if (vd_build_query(opts, ctx.dockerfile, &query)) {
		r = no_memory(err);
		goto done;
	}
	memset(&req, 0, sizeof(req));
	req.method = "POST";
	req.path = "/build";
	req.query = vd_buf_cstr(&query);
	req.body_file = ctx.tar;
	req.body_file_size = ctx.size;
	req.content_type = "application/x-tar";
	req.on_data = on_build_data;
	req.ctx = &stream;
	req.idle_timeout_ms = opts->idle_timeout_ms > 0 ? opts->idle_timeout_ms
							: VD_BUILD_IDLE_TIMEOUT_MS;
	req.deadline_ms = opts->deadline_ms;
	r = vd_docker_request(d, &req, NULL, err);
	if (opts->steps && stream.trace.n && !(*opts->steps = strdup(vd_bk_trace_steps(&stream.trace))))
		r = r ? r : no_memory(err);
	if (r || (r = vd_build_stream_finish(&stream, &id, err)))
		goto done;
	if (strncmp(id, "sha256:", 7)) {
		char *full = full_image_id(d, id);

		if (full) {
			free(id);
			id = full;
		}
	}
	*out_id = id;
	id = NULL;
done:
	if (r)
		vd_error_prefix(err, "build");
	free(id);
	vd_buf_release(&query);
	vd_build_stream_release(&stream);
	vd_build_context_release(&ctx);
	return r;
}
