/* Unit tests of docker_api/build: the build context (made from a temporary
 * directory and read back with libarchive) and the progress-stream parser
 * (recorded classic-builder output). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "docker_api/build.h"
#include "testutil.h"

/* --- fixtures --- */

static char *path_in(const char *dir, const char *rel)
{
	char *p = NULL;

	assert_true(asprintf(&p, "%s/%s", dir, rel) > 0);
	return p;
}

static void put_file(const char *dir, const char *rel, const char *content, mode_t mode)
{
	char *p = path_in(dir, rel);

	tu_write_str(dir, rel, content);
	assert_int_equal(chmod(p, mode), 0);
	free(p);
}

static void put_link(const char *dir, const char *rel, const char *target)
{
	char *p = path_in(dir, rel);

	assert_int_equal(symlink(target, p), 0);
	free(p);
}

/* One member of a tar read back. */
struct member {
	char name[512];
	unsigned type;      /* AE_IFREG, AE_IFDIR, AE_IFLNK */
	unsigned perm;
	int64_t uid, gid;
	int64_t size;
	char link[256];
	char data[64];
	char uname[64];   /* user and group names, "" when absent */
	char gname[64];
};

static size_t read_tar(FILE *f, struct member *out, size_t max)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	size_t n = 0;

	assert_non_null(a);
	archive_read_support_format_tar(a);
	assert_int_equal(archive_read_open_FILE(a, f), ARCHIVE_OK);
	while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
		struct member *m = &out[n];
		const char *name = archive_entry_pathname(e);
		ssize_t got;

		assert_true(n < max);
		memset(m, 0, sizeof(*m));
		assert_non_null(name);
		snprintf(m->name, sizeof(m->name), "%s", name);
		m->type = archive_entry_filetype(e);
		m->perm = archive_entry_perm(e);
		m->uid = archive_entry_uid(e);
		m->gid = archive_entry_gid(e);
		m->size = archive_entry_size(e);
		if (archive_entry_uname(e))
			snprintf(m->uname, sizeof(m->uname), "%s", archive_entry_uname(e));
		if (archive_entry_gname(e))
			snprintf(m->gname, sizeof(m->gname), "%s", archive_entry_gname(e));
		if (archive_entry_symlink(e))
			snprintf(m->link, sizeof(m->link), "%s", archive_entry_symlink(e));
		got = archive_read_data(a, m->data, sizeof(m->data) - 1);
		assert_true(got >= 0);
		m->data[got] = '\0';
		n++;
	}
	archive_read_free(a);
	return n;
}

/* A context with everything the walk must handle. */
static char *make_context(void)
{
	char *d = tu_mkdtemp("test-build");
	char longname[200];

	put_file(d, "Dockerfile", "FROM scratch\nCOPY . /ctx/\n", 0644);
	/* excludes the Dockerfile and itself too: both must still be sent */
	put_file(d, ".dockerignore",
		 "# build junk\n*.log\n**/tmp\nsecret.env\n!keep.log\nDockerfile\n.dockerignore\n", 0600);
	put_file(d, "app.py", "print('hi')\n", 0644);
	put_file(d, "run.sh", "#!/bin/sh\n", 0755);
	put_file(d, "keep.log", "kept\n", 0640);
	put_file(d, "debug.log", "dropped\n", 0644);
	put_file(d, "secret.env", "TOKEN=x\n", 0600);
	put_file(d, "caf\xc3\xa9.txt", "\n", 0644);
	put_link(d, "link", "app.py");
	tu_mkdir(d, "src", 0750);
	put_file(d, "src/main.c", "int main;\n", 0644);
	tu_mkdir(d, "src/tmp", 0755);
	put_file(d, "src/tmp/x", "x", 0644);
	tu_mkdir(d, "src/lib", 0755);
	memset(longname, 'n', 120);
	strcpy(longname + 120, ".txt");
	{
		char rel[256];

		snprintf(rel, sizeof(rel), "src/lib/%s", longname);
		put_file(d, rel, "long\n", 0644);
	}
	return d;
}

/* --- the build context --- */

static void build__context_members(void **state)
{
	vd_build_context ctx = VD_BUILD_CONTEXT_INIT;
	vd_error err = VD_ERROR_INIT;
	struct member m[32];
	char *d = make_context();
	char longpath[256];
	size_t n, i;
	static const struct { const char *name; unsigned type; unsigned perm; } want[] = {
		{ ".dockerignore", AE_IFREG, 0600 },
		{ "Dockerfile", AE_IFREG, 0644 },
		{ "app.py", AE_IFREG, 0644 },
		{ "caf\xc3\xa9.txt", AE_IFREG, 0644 },
		{ "keep.log", AE_IFREG, 0640 },
		{ "link", AE_IFLNK, 0777 },
		{ "run.sh", AE_IFREG, 0755 },
		{ "src/", AE_IFDIR, 0750 },
		{ "src/lib/", AE_IFDIR, 0755 },
		{ NULL, AE_IFREG, 0644 },   /* the long name */
		{ "src/main.c", AE_IFREG, 0644 },
	};

	memset(longpath, 0, sizeof(longpath));
	strcpy(longpath, "src/lib/");
	memset(longpath + 8, 'n', 120);
	strcpy(longpath + 128, ".txt");

	assert_int_equal(vd_build_context_make(d, NULL, VD_BUILDER_CLASSIC, &ctx, &err), 0);
	assert_non_null(ctx.tar);
	assert_true(ctx.size > 0);
	assert_string_equal(ctx.dockerfile, "Dockerfile");
	n = read_tar(ctx.tar, m, 32);
	assert_int_equal(n, sizeof(want) / sizeof(want[0]));
	assert_int_equal(ctx.entries, n);
	for (i = 0; i < n; i++) {
		assert_string_equal(m[i].name, want[i].name ? want[i].name : longpath);
		assert_int_equal(m[i].type, want[i].type);
		if (want[i].type != AE_IFLNK)
			assert_int_equal(m[i].perm, want[i].perm);
		assert_int_equal(m[i].uid, 0);
		assert_int_equal(m[i].gid, 0);
		assert_string_equal(m[i].uname, "");
		assert_string_equal(m[i].gname, "");
	}
	/* content and sizes */
	assert_string_equal(m[2].data, "print('hi')\n");
	assert_int_equal(m[2].size, 12);
	assert_string_equal(m[4].data, "kept\n");
	/* the symlink stays a symlink, not its target's content */
	assert_string_equal(m[5].link, "app.py");
	assert_int_equal(m[5].size, 0);

	vd_build_context_release(&ctx);
	vd_build_context_release(&ctx);  /* idempotent */
	tu_rm_rf(d);
	free(d);
}

struct names {
	char items[32][256];
	size_t n;
};

static int collect(const char *rel, const struct stat *st, const char *abs, void *ctx,
		   vd_error *err)
{
	struct names *nm = ctx;

	assert_true(nm->n < 32);
	snprintf(nm->items[nm->n++], 256, "%s%s", rel, S_ISDIR(st->st_mode) ? "/" : "");
	assert_non_null(strstr(abs, rel));
	return 0;
}

static int stop_at_src(const char *rel, const struct stat *st, const char *abs, void *ctx,
		       vd_error *err)
{
	if (!strcmp(rel, "src"))
		return vd_error_set(err, VD_ECONFLICT, "stop");
	return 0;
}

/* A .dockerignore that excludes the Dockerfile and itself: the classic
 * builder gets both (and drops them itself), BuildKit only the Dockerfile
 * it must read (it drops nothing). */
static void build__context_dockerignore_per_builder(void **state)
{
	vd_error err = VD_ERROR_INIT;
	char *d = tu_mkdtemp("vd-ctx-di");
	int b;

	tu_write_str(d, "Dockerfile", "FROM scratch\n");
	tu_write_str(d, ".dockerignore", "Dockerfile\n.dockerignore\n*.log\n");
	tu_write_str(d, "app.py", "x\n");
	tu_write_str(d, "debug.log", "x\n");
	for (b = VD_BUILDER_CLASSIC; b <= VD_BUILDER_BUILDKIT; b++) {
		vd_build_context ctx = VD_BUILD_CONTEXT_INIT;
		struct member m[8];
		size_t n, i;
		bool di = false, df = false, log = false;

		assert_int_equal(vd_build_context_make(d, NULL, (vd_builder)b, &ctx, &err), 0);
		n = read_tar(ctx.tar, m, 8);
		for (i = 0; i < n; i++) {
			di |= !strcmp(m[i].name, ".dockerignore");
			df |= !strcmp(m[i].name, "Dockerfile");
			log |= !strcmp(m[i].name, "debug.log");
		}
		assert_true(df);
		assert_false(log);
		assert_int_equal(di, b == VD_BUILDER_CLASSIC);
		vd_build_context_release(&ctx);
	}
	tu_rm_rf(d);
	free(d);
}

/* The walk lists exactly what the tar holds, in the same order. */
static void build__context_walk(void **state)
{
	vd_build_context ctx = VD_BUILD_CONTEXT_INIT;
	vd_error err = VD_ERROR_INIT;
	struct names nm = { .n = 0 };
	struct member m[32];
	char *d = make_context();
	size_t n, i;

	assert_int_equal(vd_build_context_walk(d, "Dockerfile", collect, &nm, &err), 0);
	assert_int_equal(vd_build_context_make(d, "Dockerfile", VD_BUILDER_CLASSIC, &ctx, &err), 0);
	n = read_tar(ctx.tar, m, 32);
	assert_int_equal(nm.n, n);
	for (i = 0; i < n; i++)
		assert_string_equal(nm.items[i], m[i].name);
	vd_build_context_release(&ctx);

	/* the callback's error stops the walk and comes back */
	assert_int_equal(vd_build_context_walk(d, NULL, stop_at_src, NULL, &err), VD_ECONFLICT);
	assert_string_equal(vd_error_msg(&err), "stop");
	vd_error_release(&err);
	tu_rm_rf(d);
	free(d);
}

/* A Dockerfile inside an excluded directory is sent alone (docker CLI's
 * "!docker/Dockerfile"); its directory entry and siblings are not. */
static void build__dockerfile_in_excluded_dir(void **state)
{
	vd_build_context ctx = VD_BUILD_CONTEXT_INIT;
	vd_error err = VD_ERROR_INIT;
	struct member m[8];
	char *d = tu_mkdtemp("test-build");
	char *abs;
	size_t n;

	put_file(d, ".dockerignore", "docker\n", 0644);
	tu_mkdir(d, "docker", 0755);
	put_file(d, "docker/Dockerfile.prod", "FROM scratch\n", 0644);
	put_file(d, "docker/notes.txt", "x\n", 0644);
	put_file(d, "main.go", "package main\n", 0644);
	assert_int_equal(vd_build_context_make(d, "./docker/Dockerfile.prod", VD_BUILDER_CLASSIC, &ctx, &err), 0);
	assert_string_equal(ctx.dockerfile, "docker/Dockerfile.prod");
	n = read_tar(ctx.tar, m, 8);
	assert_int_equal(n, 3);
	assert_string_equal(m[0].name, ".dockerignore");
	assert_string_equal(m[1].name, "docker/Dockerfile.prod");
	assert_string_equal(m[2].name, "main.go");
	vd_build_context_release(&ctx);

	/* an absolute path inside the context is made relative */
	abs = path_in(d, "docker/Dockerfile.prod");
	assert_int_equal(vd_build_context_make(d, abs, VD_BUILDER_CLASSIC, &ctx, &err), 0);
	assert_string_equal(ctx.dockerfile, "docker/Dockerfile.prod");
	vd_build_context_release(&ctx);
	free(abs);
	tu_rm_rf(d);
	free(d);
}

static void build__dockerfile_errors(void **state)
{
	vd_build_context ctx = VD_BUILD_CONTEXT_INIT;
	vd_error err = VD_ERROR_INIT;
	char *d = tu_mkdtemp("test-build");

	put_file(d, "app.py", "x\n", 0644);
	tu_mkdir(d, "docker", 0755);

	/* missing: the message names the Dockerfile and the context */
	assert_int_equal(vd_build_context_make(d, NULL, VD_BUILDER_CLASSIC, &ctx, &err), VD_EINVAL);
	assert_non_null(strstr(vd_error_msg(&err), "Dockerfile"));
	assert_non_null(strstr(vd_error_msg(&err), d));
	assert_null(ctx.tar);
	assert_null(ctx.dockerfile);

	assert_int_equal(vd_build_context_make(d, "docker/Dockerfile", VD_BUILDER_CLASSIC, &ctx, &err), VD_EINVAL);
	assert_non_null(strstr(vd_error_msg(&err), "docker/Dockerfile"));

	/* a directory is no Dockerfile */
	assert_int_equal(vd_build_context_make(d, "docker", VD_BUILDER_CLASSIC, &ctx, &err), VD_EINVAL);

	/* outside the context */
	assert_int_equal(vd_build_context_make(d, "../Dockerfile", VD_BUILDER_CLASSIC, &ctx, &err), VD_EINVAL);
	assert_non_null(strstr(vd_error_msg(&err), "outside the build context"));
	assert_int_equal(vd_build_context_make(d, "/etc/passwd", VD_BUILDER_CLASSIC, &ctx, &err), VD_EINVAL);
	assert_non_null(strstr(vd_error_msg(&err), "outside the build context"));

	/* no context at all */
	assert_int_equal(vd_build_context_make("/nonexistent-voxdeploy", NULL, VD_BUILDER_CLASSIC, &ctx, &err),
			 VD_EINVAL);
	assert_int_equal(vd_build_context_make(NULL, NULL, VD_BUILDER_CLASSIC, &ctx, &err), VD_EINVAL);

	/* a malformed .dockerignore fails the build, as with docker */
	put_file(d, "Dockerfile", "FROM scratch\n", 0644);
	put_file(d, ".dockerignore", "ok\n[\n", 0644);
	assert_int_equal(vd_build_context_make(d, NULL, VD_BUILDER_CLASSIC, &ctx, &err), VD_EINVAL);
	assert_non_null(strstr(vd_error_msg(&err), "line 2"));

	vd_error_release(&err);
	tu_rm_rf(d);
	free(d);
}

/* --- the progress stream --- */

struct progress {
	char lines[32][256];
	size_t n;
};

static void on_progress(const char *line, void *ctx)
{
	struct progress *p = ctx;

	if (p->n < 32)
		snprintf(p->lines[p->n++], 256, "%s", line);
}

/* Recorded from a 20.10 engine's classic builder. */
static const char success_output[] =
	"{\"stream\":\"Step 1/3 : FROM voxdeploy-test/busybox:1\"}\r\n"
	"{\"stream\":\"\\n\"}\r\n"
	"{\"stream\":\" ---\\u003e 3f57d9401f8d\\n\"}\r\n"
	"{\"stream\":\"Step 2/3 : COPY . /ctx/\\n\"}\r\n"
	"{\"stream\":\" ---\\u003e 1b2c3d4e5f60\\n\"}\r\n"
	"{\"stream\":\"Step 3/3 : LABEL io.voxdeploy.test=1\\n\"}\r\n"
	"{\"stream\":\" ---\\u003e Running in 0a1b2c3d4e5f\\n\"}\r\n"
	"{\"stream\":\"Removing intermediate container 0a1b2c3d4e5f\\n\"}\r\n"
	"{\"stream\":\" ---\\u003e 9f8e7d6c5b4a\\n\"}\r\n"
	"{\"aux\":{\"ID\":\"sha256:9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c"
	"3b2a1f0e9d8c7b6a5f4e3d2c1b0a9f8e\"}}\r\n"
	"{\"stream\":\"Successfully built 9f8e7d6c5b4a\\n\"}\r\n"
	"{\"stream\":\"Successfully tagged app:1\\n\"}\r\n";

static int feed_in_chunks(vd_build_stream *s, const char *text, size_t chunk, vd_error *err)
{
	size_t len = strlen(text), off;
	int r = 0;

	for (off = 0; off < len && !r; off += chunk)
		r = vd_build_stream_feed(s, text + off, len - off < chunk ? len - off : chunk, err);
	return r;
}

static void build__stream_success(void **state)
{
	static const size_t chunks[] = { 1, 7, 64, 100000 };
	size_t c;

	for (c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++) {
		vd_build_stream s;
		vd_error err = VD_ERROR_INIT;
		struct progress p = { .n = 0 };
		char *id = NULL;

		vd_build_stream_init(&s, on_progress, NULL, &p);
		assert_int_equal(feed_in_chunks(&s, success_output, chunks[c], &err), 0);
		assert_int_equal(vd_build_stream_finish(&s, &id, &err), 0);
		assert_string_equal(id,
			"sha256:9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b0a9f8e");
		/* one callback per non-empty line, newline stripped */
		assert_int_equal(p.n, 10);
		assert_string_equal(p.lines[0], "Step 1/3 : FROM voxdeploy-test/busybox:1");
		assert_string_equal(p.lines[1], " ---> 3f57d9401f8d");
		assert_string_equal(p.lines[8], "Successfully built 9f8e7d6c5b4a");
		assert_string_equal(p.lines[9], "Successfully tagged app:1");
		free(id);
		vd_build_stream_release(&s);
	}
}

static void build__stream_successfully_built_fallback(void **state)
{
	static const char out[] =
		"{\"stream\":\"Step 1/1 : FROM busybox\\n\"}\n"
		"{\"stream\":\" ---\\u003e 3f57d9401f8d\\nSuccessfully built 3f57d9401f8d\\n\"}\n";
	vd_build_stream s;
	vd_error err = VD_ERROR_INIT;
	char *id = NULL;

	vd_build_stream_init(&s, NULL, NULL, NULL);
	assert_int_equal(vd_build_stream_feed(&s, out, strlen(out), &err), 0);
	assert_int_equal(vd_build_stream_finish(&s, &id, &err), 0);
	assert_string_equal(id, "3f57d9401f8d");
	free(id);
	vd_build_stream_release(&s);
}

static void expect_stream_error(const char *out, int code, const char *msg_part)
{
	vd_build_stream s;
	vd_error err = VD_ERROR_INIT;
	char *id = NULL;
	int r;

	vd_build_stream_init(&s, NULL, NULL, NULL);
	r = vd_build_stream_feed(&s, out, strlen(out), &err);
	if (!r)
		r = vd_build_stream_finish(&s, &id, &err);
	assert_int_equal(r, code);
	assert_null(id);
	if (!strstr(vd_error_msg(&err), msg_part))
		fail_msg("error \"%s\" lacks \"%s\"", vd_error_msg(&err), msg_part);
	vd_error_release(&err);
	vd_build_stream_release(&s);
}

static void build__stream_errors(void **state)
{
	vd_build_stream s;
	vd_error err = VD_ERROR_INIT;
	char *id = NULL;
	static const char step_failed[] =
		"{\"stream\":\"Step 2/2 : RUN echo boom; exit 3\\n\"}\n"
		"{\"stream\":\" ---\\u003e Running in 5d6e7f8a9b0c\\n\"}\n"
		"{\"stream\":\"boom\\n\"}\n"
		"{\"errorDetail\":{\"code\":3,\"message\":\"The command '/bin/sh -c echo boom; exit 3' "
		"returned a non-zero code: 3\"},\"error\":\"The command '/bin/sh -c echo boom; exit 3' "
		"returned a non-zero code: 3\"}\n";

	/* a failed step: the step, then Docker's message, exactly */
	vd_build_stream_init(&s, NULL, NULL, NULL);
	assert_int_equal(vd_build_stream_feed(&s, step_failed, strlen(step_failed), &err), VD_EAPI);
	assert_string_equal(vd_error_msg(&err),
			    "step 2/2 (RUN echo boom; exit 3): "
			    "The command '/bin/sh -c echo boom; exit 3' returned a non-zero code: 3");
	assert_string_equal(s.error,
			    "The command '/bin/sh -c echo boom; exit 3' returned a non-zero code: 3");
	/* and it stays failed */
	assert_int_equal(vd_build_stream_feed(&s, "{}\n", 3, &err), VD_EAPI);
	assert_non_null(strstr(vd_error_msg(&err), "step 2/2 (RUN echo boom; exit 3): The command"));
	assert_int_equal(vd_build_stream_finish(&s, &id, &err), VD_EAPI);
	assert_null(id);
	vd_error_release(&err);
	vd_build_stream_release(&s);

	/* a base image that cannot be pulled */
	expect_stream_error(
		"{\"stream\":\"Step 1/2 : FROM nonexistent-image-voxdeploy\\n\"}\n"
		"{\"errorDetail\":{\"message\":\"pull access denied for nonexistent-image-voxdeploy, "
		"repository does not exist or may require 'docker login'\"},\"error\":\"pull access "
		"denied for nonexistent-image-voxdeploy, repository does not exist or may require "
		"'docker login'\"}\n",
		VD_EAPI, "pull access denied for nonexistent-image-voxdeploy");
	/* what a registry-less machine answers: the step names the image */
	expect_stream_error(
		"{\"stream\":\"Step 1/2 : FROM nonexistent-image-voxdeploy\"}\r\n"
		"{\"stream\":\"\\n\"}\r\n"
		"{\"errorDetail\":{\"message\":\"Get \\\"https://registry-1.docker.io/v2/\\\": dial tcp: "
		"lookup registry-1.docker.io: no such host\"},\"error\":\"Get ...\"}\r\n",
		VD_EAPI, "step 1/2 (FROM nonexistent-image-voxdeploy): Get \"https://registry-1");
	/* a long instruction is cut short, not inside a UTF-8 character */
	expect_stream_error(
		"{\"stream\":\"Step 3/4 : RUN apt-get update \\u0026\\u0026 apt-get install -y "
		"build-essential libpq-dev python3-dev \\u00e9\\u00e9 \\u0026\\u0026 rm -rf "
		"/var/lib/apt/lists/*\\n\"}\n{\"error\":\"boom\"}\n",
		VD_EAPI, "step 3/4 (RUN apt-get update && apt-get install -y build-essential "
		"libpq-dev python3-dev ...): boom");
	/* "error" without errorDetail, and an empty error */
	expect_stream_error("{\"error\":\"boom\"}\n", VD_EAPI, "boom");
	expect_stream_error("{\"error\":\"\"}\n", VD_EAPI, "without a message");
	/* the stream ends without any image id */
	expect_stream_error("{\"stream\":\"Step 1/1 : FROM x\\n\"}\n", VD_EPROTO, "without an image id");
	expect_stream_error("", VD_EPROTO, "without an image id");
	/* garbage, truncation, JSON that is no message: errors, never a crash */
	expect_stream_error("not json at all\n", VD_EPROTO, "invalid JSON");
	expect_stream_error("{\"stream\":\"Step 1/1 : FROM x\\n\"}\n{\"stream\":\"Ste", VD_EPROTO,
			    "invalid JSON");
	expect_stream_error("{\"aux\":{\"ID\":\"sha256:0123\"}}\n{\"stream\":", VD_EPROTO,
			    "invalid JSON");
	expect_stream_error("[1,2]\n", VD_EPROTO, "not a JSON object");
	expect_stream_error("\"just a string\"\n", VD_EPROTO, "not a JSON object");
	expect_stream_error("{\"stream\":\"\\u00\"}\n", VD_EPROTO, "invalid JSON");
	expect_stream_error("\x01\xff\xfe\n", VD_EPROTO, "invalid JSON");
}

static void build__stream_line_too_long(void **state)
{
	vd_build_stream s;
	vd_error err = VD_ERROR_INIT;
	size_t len = VD_BUILD_MAX_LINE + 16, i;
	char *big = malloc(len);
	int r = 0;

	assert_non_null(big);
	memcpy(big, "{\"stream\":\"", 11);
	for (i = 11; i < len; i++)
		big[i] = 'x';
	vd_build_stream_init(&s, NULL, NULL, NULL);
	for (i = 0; i < len && !r; i += 4096)
		r = vd_build_stream_feed(&s, big + i, len - i < 4096 ? len - i : 4096, &err);
	assert_int_equal(r, VD_ETOOBIG);
	vd_error_release(&err);
	vd_build_stream_release(&s);
	free(big);
}

/* --- the query --- */

static void build__query(void **state)
{
	static const char *const tags[] = { "app:1", "app:latest", NULL };
	vd_build_options opts = VD_BUILD_OPTIONS_INIT;
	vd_buf q = VD_BUF_INIT;

	assert_string_equal(opts.dockerfile, "Dockerfile");
	assert_int_equal(opts.idle_timeout_ms, VD_BUILD_IDLE_TIMEOUT_MS);
	assert_int_equal(vd_build_query(&opts, "Dockerfile", &q), 0);
	assert_string_equal(vd_buf_cstr(&q), "dockerfile=Dockerfile&rm=1&forcerm=1&version=1");
	vd_buf_clear(&q);

	opts.tags = tags;
	opts.target = "prod";
	opts.nocache = true;
	assert_int_equal(vd_kvs_add(&opts.buildargs, "PY", "3.12"), 0);
	assert_int_equal(vd_kvs_add(&opts.labels, "io.voxdeploy.test", "1"), 0);
	assert_int_equal(vd_kvs_add(&opts.labels, "a b", "x+y"), 0);
	assert_int_equal(vd_build_query(&opts, "docker/Dockerfile.prod", &q), 0);
	assert_string_equal(vd_buf_cstr(&q),
		"t=app%3A1&t=app%3Alatest&dockerfile=docker%2FDockerfile.prod&target=prod"
		"&buildargs=%7B%22PY%22%3A%223.12%22%7D"
		"&labels=%7B%22io.voxdeploy.test%22%3A%221%22%2C%22a%20b%22%3A%22x%2By%22%7D"
		"&nocache=1&rm=1&forcerm=1&version=1");
	vd_buf_release(&q);
	vd_build_options_release(&opts);
	vd_build_options_release(&opts);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(build__context_members),
		cmocka_unit_test(build__context_walk),
		cmocka_unit_test(build__context_dockerignore_per_builder),
		cmocka_unit_test(build__dockerfile_in_excluded_dir),
		cmocka_unit_test(build__dockerfile_errors),
		cmocka_unit_test(build__stream_success),
		cmocka_unit_test(build__stream_successfully_built_fallback),
		cmocka_unit_test(build__stream_errors),
		cmocka_unit_test(build__stream_line_too_long),
		cmocka_unit_test(build__query),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
