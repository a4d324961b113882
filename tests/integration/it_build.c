/* Integration tests of docker_api/build against a real engine.
 *
 * The image is built FROM the local busybox fixture (no registry needed),
 * and what reached it is read back with GET /containers/{id}/archive from a
 * container that is created but never started.  Every image built here is
 * removed in the group teardown, pass or fail.
 */
#include "itest.h"

#include <archive.h>
#include <archive_entry.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/json.h"
#include "docker_api/build.h"
#include "testutil.h"

#define MAX_TRACKED 48

static char *images[MAX_TRACKED];   /* built here: removed at the end */
static size_t n_images;
static char *tmpdirs[MAX_TRACKED];
static size_t n_tmpdirs;

static void track_image(const char *id)
{
	if (n_images < MAX_TRACKED)
		images[n_images++] = strdup(id);
}

static char *make_context(void)
{
	char *d = tu_mkdtemp("it-build");

	if (n_tmpdirs < MAX_TRACKED)
		tmpdirs[n_tmpdirs++] = d;
	return d;
}

struct progress {
	char text[16384];
	size_t lines;
};

static void on_progress(const char *line, void *ctx)
{
	struct progress *p = ctx;
	size_t used = strlen(p->text);

	p->lines++;
	snprintf(p->text + used, sizeof(p->text) - used, "%s\n", line);
}

static char *image_label(const char *image_id, const char *key)
{
	vd_error err = VD_ERROR_INIT;
	vd_buf path = VD_BUF_INIT, body = VD_BUF_INIT;
	yajl_val v;
	const char *val;
	char *out = NULL;

	vd_buf_printf(&path, "/images/%s/json", image_id);
	itest_ok(vd_docker_get(itest_docker(), vd_buf_cstr(&path), NULL, &body, &err), &err);
	v = vd_json_parse(vd_buf_cstr(&body), &err);
	assert_non_null(v);
	val = vd_json_str(vd_json_at(v, "Config", "Labels", NULL), key);
	if (val)
		out = strdup(val);
	yajl_tree_free(v);
	vd_buf_release(&path);
	vd_buf_release(&body);
	return out;
}

/* Create (not start) a container of the image; returns its id. */
static char *create_container(const char *image_id)
{
	vd_error err = VD_ERROR_INIT;
	vd_buf body = VD_BUF_INIT, out = VD_BUF_INIT, q = VD_BUF_INIT;
	yajl_gen g = vd_jgen_new();
	char name[160];
	yajl_val v;
	char *id;

	yajl_gen_map_open(g);
	vd_jgen_kstr(g, "Image", image_id);
	vd_jgen_str(g, "Cmd");
	yajl_gen_array_open(g);
	vd_jgen_str(g, "true");
	yajl_gen_array_close(g);
	vd_jgen_str(g, "Labels");
	yajl_gen_map_open(g);
	vd_jgen_kstr(g, "io.voxdeploy.test", "1");
	vd_jgen_kstr(g, "com.docker.compose.project", itest_project());
	yajl_gen_map_close(g);
	yajl_gen_map_close(g);
	assert_int_equal(vd_jgen_finish(g, &body), 0);
	snprintf(name, sizeof(name), "%s_build", itest_project());
	vd_docker_query_add(&q, "name", name);
	itest_ok(vd_docker_post(itest_docker(), "/containers/create", vd_buf_cstr(&q),
				vd_buf_cstr(&body), &out, NULL, &err), &err);
	v = vd_json_parse(vd_buf_cstr(&out), &err);
	assert_non_null(v);
	assert_non_null(vd_json_str(v, "Id"));
	id = strdup(vd_json_str(v, "Id"));
	yajl_tree_free(v);
	vd_buf_release(&body);
	vd_buf_release(&out);
	vd_buf_release(&q);
	return id;
}

#define MAX_LISTED 128

struct listing {
	char names[MAX_LISTED][256];
	char links[MAX_LISTED][256];
	size_t n;
};

static int name_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* GET /containers/{id}/archive?path=... : every member name (without a
 * trailing '/'), sorted; symlink targets by name. */
static void list_archive(const char *cid, const char *path, struct listing *out)
{
	vd_error err = VD_ERROR_INIT;
	vd_buf url = VD_BUF_INIT, q = VD_BUF_INIT, tar = VD_BUF_INIT;
	struct archive *a = archive_read_new();
	struct archive_entry *e;

	vd_buf_init(&tar, 16 << 20);
	vd_buf_printf(&url, "/containers/%s/archive", cid);
	vd_docker_query_add(&q, "path", path);
	itest_ok(vd_docker_get(itest_docker(), vd_buf_cstr(&url), vd_buf_cstr(&q), &tar, &err), &err);
	archive_read_support_format_tar(a);
	assert_int_equal(archive_read_open_memory(a, tar.ptr, tar.len), ARCHIVE_OK);
	memset(out, 0, sizeof(*out));
	while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
		char *n;

		assert_true(out->n < MAX_LISTED);
		n = out->names[out->n];
		snprintf(n, 256, "%s", archive_entry_pathname(e));
		if (strlen(n) > 1 && n[strlen(n) - 1] == '/')
			n[strlen(n) - 1] = '\0';
		if (archive_entry_filetype(e) == AE_IFLNK)
			snprintf(out->links[out->n], 256, "%s", archive_entry_symlink(e));
		out->n++;
	}
	archive_read_free(a);
	vd_buf_release(&url);
	vd_buf_release(&q);
	vd_buf_release(&tar);
}

static const char *link_of(const struct listing *l, const char *name)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (!strcmp(l->names[i], name))
			return l->links[i];
	return NULL;
}

/* .dockerignore with "**", "!" and a directory reaches the image exactly as
 * docker would send it; the label option lands on the image; the Dockerfile
 * and .dockerignore are sent although excluded (or the build could not run)
 * and the engine then drops them from the context itself. */
static void it_build__context_and_labels(void **state)
{
	vd_build_options opts = VD_BUILD_OPTIONS_INIT;
	vd_error err = VD_ERROR_INIT;
	struct progress p = { .lines = 0 };
	struct listing l, sorted;
	char *d = make_context(), *id = NULL, *cid, *label, df[256], tag[160], linkp[512];
	const char *tags[] = { tag, NULL };
	static const char *const want[] = {
		"ctx", "ctx/app.txt", "ctx/keep.log", "ctx/link", "ctx/sub", "ctx/sub/deep",
		"ctx/sub/deep/code.py", "ctx/vendor", "ctx/vendor/keep.txt",
	};
	size_t i;

	snprintf(df, sizeof(df), "FROM %s\nCOPY . /ctx/\n", itest_busybox_image());
	tu_write_str(d, "Dockerfile", df);
	tu_write_str(d, ".dockerignore",
	    "# what the image must not get\n"
	    "*.env\n"
	    "**/*.log\n"
	    "!keep.log\n"
	    "node_modules\n"
	    "vendor\n"
	    "!vendor/keep.txt\n"
	    "Dockerfile\n"
	    ".dockerignore\n");
	tu_write_str(d, "app.txt", "app\n");
	tu_write_str(d, "prod.env", "TOKEN=secret\n");
	tu_write_str(d, "keep.log", "kept\n");
	tu_write_str(d, "debug.log", "dropped\n");
	tu_mkdir(d, "sub", 0755);
	tu_mkdir(d, "sub/deep", 0755);
	tu_write_str(d, "sub/deep/trace.log", "dropped\n");
	tu_write_str(d, "sub/deep/code.py", "print(1)\n");
	tu_mkdir(d, "node_modules", 0755);
	tu_write_str(d, "node_modules/index.js", "dropped\n");
	tu_mkdir(d, "vendor", 0755);
	tu_write_str(d, "vendor/keep.txt", "kept\n");
	tu_write_str(d, "vendor/other.txt", "dropped\n");
	snprintf(linkp, sizeof(linkp), "%s/link", d);
	assert_int_equal(symlink("app.txt", linkp), 0);

	snprintf(tag, sizeof(tag), "voxdeploy-test/it-build:%s", itest_project());
	opts.context_dir = d;
	opts.tags = tags;
	opts.progress = on_progress;
	opts.progress_ctx = &p;
	opts.deadline_ms = 5 * 60 * 1000;
	assert_int_equal(vd_kvs_add(&opts.labels, "io.voxdeploy.test", "1"), 0);
	itest_ok(vd_build_run(itest_docker(), &opts, &id, &err), &err);
	track_image(id);
	vd_build_options_release(&opts);

	assert_int_equal(strncmp(id, "sha256:", 7), 0);
	assert_true(p.lines >= 2);
	assert_non_null(strstr(p.text, "Step 1/"));
	assert_non_null(strstr(p.text, "COPY . /ctx/"));

	label = image_label(id, "io.voxdeploy.test");
	assert_non_null(label);
	assert_string_equal(label, "1");
	free(label);
	/* the tag names the same image */
	label = image_label(tag, "io.voxdeploy.test");
	assert_non_null(label);
	free(label);

	cid = create_container(id);
	list_archive(cid, "/ctx", &l);
	sorted = l;
	qsort(sorted.names, sorted.n, sizeof(sorted.names[0]), name_cmp);
	for (i = 0; i < sorted.n; i++)
		fprintf(stderr, "  image has %s\n", sorted.names[i]);
	assert_int_equal(sorted.n, sizeof(want) / sizeof(want[0]));
	for (i = 0; i < sorted.n; i++)
		assert_string_equal(sorted.names[i], want[i]);
	assert_string_equal(link_of(&l, "ctx/link"), "app.txt");

	{
		char path[256];

		snprintf(path, sizeof(path), "/containers/%s", cid);
		itest_ok(vd_docker_delete(itest_docker(), path, "force=1", &err), &err);
	}
	free(cid);
	free(id);
}

/* The docker CLI is the oracle for .dockerignore: build one context with
 * the CLI (classic, or BuildKit: DOCKER_BUILDKIT=1, which sends the context
 * through its own session and applies .dockerignore itself) and with
 * voxdeploy's same builder, and require the same files in both images. */
static void build_with_cli(const char *dir, const char *tag, vd_builder builder)
{
	char cmd[1024];
	const char *docker = access("/usr/bin/docker", X_OK) ? "docker" : "/usr/bin/docker";

	snprintf(cmd, sizeof(cmd), "DOCKER_BUILDKIT=%d %s build -q --label io.voxdeploy.test=1 -t %s %s "
		 ">/dev/null 2>&1", builder == VD_BUILDER_BUILDKIT, docker, tag, dir);
	if (system(cmd))
		fail_msg("the docker CLI could not build %s (%s)", dir,
			 builder == VD_BUILDER_BUILDKIT ? "DOCKER_BUILDKIT=1" : "DOCKER_BUILDKIT=0");
}

static void image_files(const char *image, struct listing *out)
{
	vd_error err = VD_ERROR_INIT;
	char *cid = create_container(image), path[256];

	list_archive(cid, "/ctx", out);
	qsort(out->names, out->n, sizeof(out->names[0]), name_cmp);
	snprintf(path, sizeof(path), "/containers/%s", cid);
	itest_ok(vd_docker_delete(itest_docker(), path, "force=1", &err), &err);
	free(cid);
}

static void dockerignore_same_as_docker_cli(vd_builder builder)
{
	static const char *const files[] = {
		"a.py", "b.pyc", "README.md", "docs/guide.md", "docs/img/logo.png",
		"src/app.py", "src/app.pyc", "src/cache/x.tmp", "src/keep/x.tmp", "deep/a/b/c/trace.log",
		"deep/a/b/c/code.c", "x1.txt", "x2.txt", "xa.txt", "dir with space/f.txt",
		"Dockerfile.dev", "secrets/.env", "secrets/public.pem", "build/out.bin",
		"build/keep/out.bin", "top.log", "nested/top.log",
	};
	vd_build_options opts = VD_BUILD_OPTIONS_INIT;
	vd_error err = VD_ERROR_INIT;
	struct listing *ours = calloc(1, sizeof(*ours)), *theirs = calloc(1, sizeof(*theirs));
	char *d = make_context(), *id = NULL, df[256], tag[160], cli_tag[160];
	const char *tags[] = { tag, NULL };
	size_t i;

	snprintf(df, sizeof(df), "FROM %s\nCOPY . /ctx/\n", itest_busybox_image());
	tu_write_str(d, "Dockerfile", df);
	tu_write_str(d, ".dockerignore",
	    "\xef\xbb\xbf# a BOM, comments, blank lines\n"
	    "\n"
	    "  *.pyc  \n"
	    "docs/**/*.png\n"
	    "src/cache\n"
	    "**/*.tmp\n"
	    "!src/keep/*.tmp\n"
	    "/top.log\n"
	    "deep/**/*.log\n"
	    "x[0-9].txt\n"
	    "!x2.txt\n"
	    "secrets/\n"
	    "!secrets/public.pem\n"
	    "./build\n"
	    "!build/keep\n"
	    "dir?with?space\n"
	    "Dockerfile*\n"
	    ".dockerignore\n");
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char rel[256], *slash;

		snprintf(rel, sizeof(rel), "%s", files[i]);
		for (slash = strchr(rel, '/'); slash; slash = strchr(slash + 1, '/')) {
			char full[512];

			*slash = '\0';
			snprintf(full, sizeof(full), "%s/%s", d, rel);
			mkdir(full, 0755);  /* exists already after the first file */
			*slash = '/';
		}
		tu_write_str(d, files[i], "x\n");
	}

	snprintf(tag, sizeof(tag), "voxdeploy-test/it-build-ours:%s-%d", itest_project(), builder);
	snprintf(cli_tag, sizeof(cli_tag), "voxdeploy-test/it-build-cli:%s-%d", itest_project(), builder);
	opts.builder = builder;
	opts.context_dir = d;
	opts.tags = tags;
	opts.deadline_ms = 5 * 60 * 1000;
	assert_int_equal(vd_kvs_add(&opts.labels, "io.voxdeploy.test", "1"), 0);
	itest_ok(vd_build_run(itest_docker(), &opts, &id, &err), &err);
	track_image(id);
	vd_build_options_release(&opts);
	build_with_cli(d, cli_tag, builder);
	track_image(cli_tag);

	image_files(id, ours);
	image_files(cli_tag, theirs);
	if (builder == VD_BUILDER_BUILDKIT) {
		/* BuildKit does not apply .dockerignore to an uploaded context (the
		 * CLI's own session does, and sends the Dockerfile apart): the
		 * Dockerfile, which the context must carry, reaches a COPY of the
		 * whole context although .dockerignore excludes it; everything
		 * else must be the same */
		size_t k = 0, extra = 0;

		for (i = 0; i < ours->n; i++)
			if (!strcmp(ours->names[i], "ctx/Dockerfile"))
				extra++;
			else
				memmove(ours->names[k++], ours->names[i], sizeof(ours->names[i]));
		ours->n = k;
		assert_int_equal(extra, 1);
	}
	for (i = 0; i < ours->n || i < theirs->n; i++)
		if (i >= ours->n || i >= theirs->n || strcmp(ours->names[i], theirs->names[i]))
			fail_msg("entry %zu: voxdeploy sent '%s', the docker CLI '%s'", i,
				 i < ours->n ? ours->names[i] : "(nothing)",
				 i < theirs->n ? theirs->names[i] : "(nothing)");
	/* and the comparison compared something */
	assert_true(ours->n >= 10);
	free(ours);
	free(theirs);
	free(id);
	vd_error_release(&err);
}

static void it_build__dockerignore_same_as_docker_cli(void **state)
{
	dockerignore_same_as_docker_cli(VD_BUILDER_CLASSIC);
}

static void it_build__buildkit_dockerignore_same_as_docker_cli(void **state)
{
	dockerignore_same_as_docker_cli(VD_BUILDER_BUILDKIT);
}

static int expect_failure_with(vd_builder builder, const char *dockerfile, const char *needle,
			       struct progress *p)
{
	vd_build_options opts = VD_BUILD_OPTIONS_INIT;
	vd_error err = VD_ERROR_INIT;
	char *d = make_context(), *id = NULL;
	int r;

	tu_write_str(d, "Dockerfile", dockerfile);
	opts.builder = builder;
	opts.context_dir = d;
	opts.progress = on_progress;
	opts.progress_ctx = p;
	opts.deadline_ms = 5 * 60 * 1000;
	assert_int_equal(vd_kvs_add(&opts.labels, "io.voxdeploy.test", "1"), 0);
	r = vd_build_run(itest_docker(), &opts, &id, &err);
	vd_build_options_release(&opts);
	if (id)
		track_image(id);
	fprintf(stderr, "  build failed as expected: %d %s\n", r, vd_error_msg(&err));
	assert_int_not_equal(r, 0);
	assert_null(id);
	assert_int_equal(strncmp(vd_error_msg(&err), "build: ", 7), 0);
	if (!strstr(vd_error_msg(&err), needle))
		fail_msg("error \"%s\" lacks \"%s\"", vd_error_msg(&err), needle);
	vd_error_release(&err);
	return r;
}

static void expect_build_failure(const char *dockerfile, const char *needle, struct progress *p)
{
	expect_failure_with(VD_BUILDER_CLASSIC, dockerfile, needle, p);
}

/* The base image cannot be pulled (no such image, and no registry here):
 * the error line's message comes back, although the HTTP status was 200. */
static void it_build__missing_base_image(void **state)
{
	struct progress p = { .lines = 0 };

	expect_build_failure("FROM nonexistent-image-voxdeploy\nRUN true\n",
			     "nonexistent-image-voxdeploy", &p);
}

/* A failing RUN: the step's error, and the step's output went to progress. */
static void it_build__failing_run(void **state)
{
	struct progress p = { .lines = 0 };
	char df[256];

	snprintf(df, sizeof(df), "FROM %s\nRUN echo boom-output && exit 3\n",
		 itest_busybox_image());
	expect_build_failure(df, "returned a non-zero code: 3", &p);
	assert_non_null(strstr(p.text, "boom-output"));
}

/* A Dockerfile the engine cannot parse: refused before any step runs (an
 * HTTP error status rather than an error line), with Docker's message. */
static void it_build__bad_instruction(void **state)
{
	struct progress p = { .lines = 0 };
	char df[256];

	snprintf(df, sizeof(df), "FROM %s\nFROBNICATE now\n", itest_busybox_image());
	expect_build_failure(df, "FROBNICATE", &p);
}

/* A Dockerfile that is not there never reaches the engine. */
static void it_build__missing_dockerfile(void **state)
{
	vd_build_options opts = VD_BUILD_OPTIONS_INIT;
	vd_error err = VD_ERROR_INIT;
	char *d = make_context(), *id = NULL;

	opts.context_dir = d;
	opts.dockerfile = "docker/Dockerfile.prod";
	assert_int_equal(vd_build_run(itest_docker(), &opts, &id, &err), VD_EINVAL);
	assert_non_null(strstr(vd_error_msg(&err), "docker/Dockerfile.prod"));
	assert_null(id);
	vd_error_release(&err);
}

/* ------------------------------------------------------------ BuildKit */

struct bk_run {
	struct progress p;
	char steps[8192];
	size_t cached;
};

static void bk_on_step(const vd_bk_step *st, void *ctx)
{
	struct bk_run *r = ctx;
	size_t used = strlen(r->steps);

	r->cached += st->cached;
	snprintf(r->steps + used, sizeof(r->steps) - used, "#%u %s %s\n", st->num, st->name,
		 st->error ? "ERROR" : st->cached ? "CACHED" : "DONE");
}

static void bk_on_line(const char *line, void *ctx)
{
	on_progress(line, &((struct bk_run *)ctx)->p);
}

/* Build dir's Dockerfile with BuildKit (ARG N=n when n); the image id. */
static char *bk_build_opt(const char *dir, const char *n, bool nocache, struct bk_run *run)
{
	vd_build_options opts = VD_BUILD_OPTIONS_INIT;
	vd_error err = VD_ERROR_INIT;
	char *id = NULL;

	memset(run, 0, sizeof(*run));
	opts.builder = VD_BUILDER_BUILDKIT;
	opts.nocache = nocache;
	opts.context_dir = dir;
	opts.progress = bk_on_line;
	opts.on_step = bk_on_step;
	opts.progress_ctx = run;
	opts.deadline_ms = 5 * 60 * 1000;
	assert_int_equal(vd_kvs_add(&opts.labels, "io.voxdeploy.test", "1"), 0);
	if (n)
		assert_int_equal(vd_kvs_add(&opts.buildargs, "N", n), 0);
	itest_ok(vd_build_run(itest_docker(), &opts, &id, &err), &err);
	track_image(id);
	vd_build_options_release(&opts);
	fprintf(stderr, "%s", run->steps);
	return id;
}

static char *bk_build(const char *dir, const char *n, struct bk_run *run)
{
	return bk_build_opt(dir, n, false, run);
}

static bool image_has(const char *image, const char *name)
{
	struct listing *l = calloc(1, sizeof(*l));
	bool found = false;
	size_t i;

	image_files(image, l);
	for (i = 0; i < l->n; i++)
		found |= !strcmp(l->names[i], name);
	free(l);
	return found;
}

/* RUN --mount=type=cache: the second build (a new ARG value re-runs the
 * step) finds what the first left in the cache; the steps are told, with
 * CACHED for those that did not run again, and the step's output. */
static void it_build__buildkit_cache_mount(void **state)
{
	struct bk_run run;
	char *d = make_context(), *one, *two, df[768];

	snprintf(df, sizeof(df),
		 "FROM %s\n"
		 "RUN mkdir /ctx\n"
		 "ARG N\n"
		 "RUN --mount=type=cache,target=/cache,id=vd-it-%s "
		 "sh -c 'touch /ctx/seen-$(cat /cache/stamp 2>/dev/null || echo none); echo $N > /cache/stamp; "
		 "echo cache-step-$N'\n",
		 itest_busybox_image(), itest_project());
	tu_write_str(d, "Dockerfile", df);
	one = bk_build_opt(d, "first", true, &run);
	assert_true(image_has(one, "ctx/seen-none"));
	assert_non_null(strstr(run.steps, "RUN mkdir /ctx DONE"));
	assert_non_null(strstr(run.p.text, "cache-step-first"));
	assert_non_null(strstr(run.p.text, "#"));
	two = bk_build(d, "second", &run);
	assert_true(image_has(two, "ctx/seen-first"));
	assert_non_null(strstr(run.steps, "RUN mkdir /ctx CACHED"));
	assert_true(run.cached >= 1);
	free(one);
	free(two);
}

/* RUN --mount=type=bind,from=stage reads another stage; two independent
 * stages build side by side: each notes the machine's uptime as its RUN
 * begins and ends, two seconds apart, and the two spans overlap. */
static void it_build__buildkit_bind_from_stage_and_parallel_stages(void **state)
{
	struct bk_run run;
	char *d = make_context(), *id, df[1536];
	struct listing *l = calloc(1, sizeof(*l));
	double span[2][2] = { { 0, 0 }, { 0, 0 } };
	bool gen = false;
	size_t i;

	snprintf(df, sizeof(df),
		 "FROM %s AS gen\n"
		 "RUN mkdir /out && touch /out/gen.txt\n"
		 "FROM %s AS left\n"
		 "RUN mkdir /l && touch /l/a-$(cut -d' ' -f1 /proc/uptime) && sleep 2 && "
		 "touch /l/z-$(cut -d' ' -f1 /proc/uptime)\n"
		 "FROM %s AS right\n"
		 "RUN mkdir /r && touch /r/a-$(cut -d' ' -f1 /proc/uptime) && sleep 2 && "
		 "touch /r/z-$(cut -d' ' -f1 /proc/uptime)\n"
		 "FROM %s\n"
		 "RUN --mount=type=bind,from=gen,source=/out,target=/m mkdir /ctx && cp /m/gen.txt /ctx/\n"
		 "COPY --from=left /l /ctx/l\n"
		 "COPY --from=right /r /ctx/r\n",
		 itest_busybox_image(), itest_busybox_image(), itest_busybox_image(), itest_busybox_image());
	tu_write_str(d, "Dockerfile", df);
	id = bk_build_opt(d, NULL, true, &run);
	image_files(id, l);
	for (i = 0; i < l->n; i++) {
		const char *n = l->names[i];

		gen |= !strcmp(n, "ctx/gen.txt");
		if (!strncmp(n, "ctx/l/", 6) || !strncmp(n, "ctx/r/", 6))
			span[n[4] == 'r'][n[6] == 'z'] = strtod(n + 8, NULL);
	}
	fprintf(stderr, "  left %.2f-%.2f, right %.2f-%.2f\n", span[0][0], span[0][1], span[1][0], span[1][1]);
	assert_true(gen);
	assert_true(span[0][0] > 0 && span[0][1] > 0 && span[1][0] > 0 && span[1][1] > 0);
	assert_true(span[0][0] < span[1][1] && span[1][0] < span[0][1]);
	assert_non_null(strstr(run.steps, "[left 2/2] RUN"));
	assert_non_null(strstr(run.steps, "[right 2/2] RUN"));
	free(l);
	free(id);
}

/* Heredocs and COPY --link: built where the engine's own Dockerfile
 * frontend knows them (Docker 23 and later); an older one refuses them as
 * the Dockerfile's fault (VD_EINVAL: deploy exits 2), naming the line. */
static void it_build__buildkit_heredoc_and_copy_link(void **state)
{
	char df[512];
	struct progress p = { .lines = 0 };
	bool modern = vd_docker_api_at_least(itest_docker(), "1.42");

	snprintf(df, sizeof(df), "FROM %s\nRUN <<EOF\nmkdir /ctx\necho made > /ctx/heredoc\nEOF\n"
		 "COPY --link Dockerfile /ctx/linked\n", itest_busybox_image());
	if (modern) {
		char *d = make_context(), *id;
		struct bk_run run;

		tu_write_str(d, "Dockerfile", df);
		id = bk_build(d, NULL, &run);
		assert_true(image_has(id, "ctx/heredoc"));
		assert_true(image_has(id, "ctx/linked"));
		free(id);
	} else {
		assert_int_equal(expect_failure_with(VD_BUILDER_BUILDKIT, df, "dockerfile parse error line 3", &p),
				 VD_EINVAL);
	}
}

/* What BuildKit refuses, each with its own message and kind. */
static void it_build__buildkit_failures(void **state)
{
	struct progress p = { .lines = 0 };
	char df[512];

	/* a failing RUN: the step, the engine's message, the step's last lines */
	snprintf(df, sizeof(df), "FROM %s\nRUN echo boom-output; echo boom-err >&2; exit 3\n",
		 itest_busybox_image());
	assert_int_equal(expect_failure_with(VD_BUILDER_BUILDKIT, df, "step [2/2] RUN echo boom-output", &p),
			 VD_EAPI);
	expect_failure_with(VD_BUILDER_BUILDKIT, df, "\n  | boom-output", &p);
	expect_failure_with(VD_BUILDER_BUILDKIT, df, "\n  | boom-err", &p);
	assert_non_null(strstr(p.text, "boom-output"));
	/* a base image no registry gives */
	assert_int_equal(expect_failure_with(VD_BUILDER_BUILDKIT, "FROM nonexistent-image-voxdeploy\nRUN true\n",
					     "nonexistent-image-voxdeploy", &p), VD_EAPI);
	/* a Dockerfile that does not parse */
	snprintf(df, sizeof(df), "FROM %s\nFROBNICATE now\n", itest_busybox_image());
	assert_int_equal(expect_failure_with(VD_BUILDER_BUILDKIT, df, "FROBNICATE", &p), VD_EINVAL);
	/* what needs a client session */
	snprintf(df, sizeof(df), "FROM %s\nRUN --mount=type=secret,id=token cat /run/secrets/token\n",
		 itest_busybox_image());
	assert_int_equal(expect_failure_with(VD_BUILDER_BUILDKIT, df, "needs a client session", &p),
			 VD_EUNSUPPORTED);
	snprintf(df, sizeof(df), "FROM %s\nRUN --mount=type=ssh true\n", itest_busybox_image());
	assert_int_equal(expect_failure_with(VD_BUILDER_BUILDKIT, df, "needs a client session", &p),
			 VD_EUNSUPPORTED);
	/* a frontend image that must be fetched */
	snprintf(df, sizeof(df), "# syntax=voxdeploy-test/no-such-frontend:1\nFROM %s\nRUN true\n",
		 itest_busybox_image());
	assert_int_equal(expect_failure_with(VD_BUILDER_BUILDKIT, df, "'# syntax=' line", &p),
			 VD_EUNSUPPORTED);
	/* the classic builder refuses BuildKit's mounts */
	snprintf(df, sizeof(df), "FROM %s\nRUN --mount=type=cache,target=/c true\n", itest_busybox_image());
	expect_failure_with(VD_BUILDER_CLASSIC, df, "BuildKit", &p);
}

/* The engine says which builder it offers. */
static void it_build__engine_offers_buildkit(void **state)
{
	vd_error err = VD_ERROR_INIT;
	const char *why = NULL;

	itest_ok(vd_docker_connect(itest_docker(), &err), &err);
	fprintf(stderr, "  Builder-Version '%s', OSType '%s', API %s\n",
		vd_docker_builder_version(itest_docker()), vd_docker_os_type(itest_docker()),
		vd_docker_api_version(itest_docker()));
	assert_string_equal(vd_docker_os_type(itest_docker()), "linux");
	assert_int_equal(vd_build_engine_builder(vd_docker_builder_version(itest_docker()),
						 vd_docker_os_type(itest_docker()),
						 vd_docker_api_version(itest_docker()), &why),
			 VD_BUILDER_BUILDKIT);
}

static int group_teardown(void **state)
{
	vd_error err = VD_ERROR_INIT;
	size_t i;

	/* containers first: an image in use cannot go */
	itest_cleanup();
	for (i = 0; i < n_images; i++) {
		char path[256];

		snprintf(path, sizeof(path), "/images/%s", images[i]);
		if (vd_docker_delete(itest_docker(), path, "force=1", &err))
			fprintf(stderr, "cleanup: %s\n", vd_error_msg(&err));
		free(images[i]);
	}
	n_images = 0;
	for (i = 0; i < n_tmpdirs; i++) {
		tu_rm_rf(tmpdirs[i]);
		free(tmpdirs[i]);
	}
	n_tmpdirs = 0;
	vd_error_release(&err);
	return itest_group_teardown(state);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(it_build__context_and_labels),
		cmocka_unit_test(it_build__dockerignore_same_as_docker_cli),
		cmocka_unit_test(it_build__missing_base_image),
		cmocka_unit_test(it_build__failing_run),
		cmocka_unit_test(it_build__bad_instruction),
		cmocka_unit_test(it_build__missing_dockerfile),
		cmocka_unit_test(it_build__buildkit_dockerignore_same_as_docker_cli),
		cmocka_unit_test(it_build__buildkit_cache_mount),
		cmocka_unit_test(it_build__buildkit_bind_from_stage_and_parallel_stages),
		cmocka_unit_test(it_build__buildkit_heredoc_and_copy_link),
		cmocka_unit_test(it_build__buildkit_failures),
		cmocka_unit_test(it_build__engine_offers_buildkit),
	};

	return cmocka_run_group_tests(tests, NULL, group_teardown);
}
