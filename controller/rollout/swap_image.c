/* The images of a swap: build, tag, and keep only the voxdeploy tags a
 * rollback may still need. */
#include "controller/rollout/swap_private.h"
#include "common/clock.h"
#include "common/log.h"
#include "controller/config/config.h"
#include "docker_api/build.h"
#include "docker_api/image.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TAG_PREFIX "voxdeploy-"
/* when voxdeploy built the image: an image's Created is its last layer's,
 * which BuildKit takes from its cache — an old time for content built
 * before — so the retained tags are ordered by this label */
#define BUILT_LABEL "io.voxdeploy.built"
#define PREVIOUS_TAG TAG_PREFIX "previous"
#define DEFAULT_RETAIN 5

static int local_image(vd_swap *w, struct vd_swap_svc *v, vd_error *err)
{
	vd_image_info info;
	int rc;

	if (v->s->build)
		return 0;
	rc = vd_image_inspect(w->d, v->ref, &info, err);
	if (rc == VD_ENOTFOUND)
		return vd_error_set(err, VD_ENOTFOUND,
				    "service '%s': image %s is not on this engine (voxdeploy builds "
				    "images and never pulls them)", v->s->name, v->ref);
	if (rc)
		return vd_error_prefix(err, "service '%s': image %s", v->s->name, v->ref);
	v->new_image = strdup(info.id);
	vd_image_info_release(&info);
	if (!v->new_image)
		return vd_error_set(err, VD_ENOMEM, "out of memory");
	return 0;
}

int vd_swap_local_images(vd_swap *w, vd_error *err)
{
	return vd_swap_each(w, local_image, err);
}

/* "voxdeploy-previous, voxdeploy-1a2b3c4d5e6f, ..." of repo; "none" */
static char *retained_tags(vd_swap *w, const char *repo)
{
	vd_image_array list = { NULL, 0 };
	vd_error e = VD_ERROR_INIT;
	vd_buf b = VD_BUF_INIT;
	size_t i, j, len = strlen(repo);

	if (!vd_image_list(w->d, repo, &list, &e))
		for (i = 0; i < list.len; i++)
			for (j = 0; j < list.items[i].n_repo_tags; j++) {
				const char *rt = list.items[i].repo_tags[j];

				if (strncmp(rt, repo, len) || rt[len] != ':' ||
				    strncmp(rt + len + 1, TAG_PREFIX, strlen(TAG_PREFIX)))
					continue;
				vd_buf_printf(&b, "%s%s", b.len ? ", " : "", rt + len + 1);
			}
	vd_error_release(&e);
	vd_image_array_release(&list);
	if (!b.len)
		vd_buf_puts(&b, "none");
	return vd_buf_detach(&b);
}

int vd_swap_retained_image(vd_swap *w, char **commit, vd_error *err)
{
	struct vd_swap_svc *v = &w->v[0];
	vd_image_info info;
	char *ref = NULL, *list;
	int rc;

	*commit = NULL;
	if (w->n != 1 || !v->s->build)
		return vd_error_set(err, VD_EINVAL, "a rollback recreates the built app service only");
	if (asprintf(&ref, "%s:%s", v->repo, w->o->rollback_tag) < 0)
		return vd_error_set(err, VD_ENOMEM, "out of memory");
	rc = vd_image_inspect(w->d, ref, &info, err);
	if (rc == VD_ENOTFOUND) {
		list = retained_tags(w, v->repo);
		vd_error_release(err);
		rc = vd_error_set(err, VD_EINVAL, "no retained image %s; retained for %s: %s", ref, v->repo,
				  list ? list : "?");
		free(list);
	} else if (!rc) {
		const char *c = vd_kvs_get(&info.labels, "io.voxdeploy.commit");

		v->new_image = strdup(info.id);
		*commit = c ? strdup(c) : NULL;
		v->retained = true;
		vd_image_info_release(&info);
		if (!v->new_image)
			rc = vd_error_set(err, VD_ENOMEM, "out of memory");
	}
	free(ref);
	return rc;
}

/* UTC now, "2026-12-04T06:31:21.254Z": sorts as text. */
static void stamp(char out[48])
{
	uint64_t ms = (uint64_t)time(NULL) * 1000;
	struct timespec ts;
	struct tm tm;
	time_t sec;

	if (!clock_gettime(CLOCK_REALTIME, &ts))
		ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	sec = (time_t)(ms / 1000);
	gmtime_r(&sec, &tm);
	snprintf(out, 48, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
		 tm.tm_hour, tm.tm_min, tm.tm_sec, (unsigned)(ms % 1000));
}

struct build_run {
	vd_swap *w;
	struct vd_swap_svc *v;
};

static void build_line(const char *line, void *ctx)
{
	const struct build_run *b = ctx;

	vd_log(VD_LOG_DEBUG, "build %s: %s", b->v->s->name, line);
}

/* A BuildKit step as it ends: one line of progress ("#5 [2/3] RUN make"
 * with its time, CACHED or ERROR), told, not journalled: the build's
 * record carries the whole list. */
static void build_step(const vd_bk_step *st, void *ctx)
{
	const struct build_run *b = ctx;
	char detail[320];

	if (st->error)
		snprintf(detail, sizeof(detail), "#%u %.200s ERROR: %.100s", st->num, st->name, st->error);
	else if (st->cached)
		snprintf(detail, sizeof(detail), "#%u %.200s CACHED", st->num, st->name);
	else
		snprintf(detail, sizeof(detail), "#%u %.200s DONE %.2fs", st->num, st->name,
			 st->ms > 0 ? st->ms / 1000.0 : 0.0);
	vd_progress_tell(b->w->o->progress, "build", "step", b->v->s->name, detail, 0);
}

/* deploy.builder: auto asks the engine (its ping said); the reason for a
 * classic pick goes into the build's begin line. */
static vd_builder pick_builder(vd_swap *w, const char **why)
{
	*why = NULL;
	if (w->o->builder == VD_CONFIG_BUILDER_CLASSIC) {
		*why = "deploy.builder: classic";
		return VD_BUILDER_CLASSIC;
	}
	if (w->o->builder == VD_CONFIG_BUILDER_BUILDKIT)
		return VD_BUILDER_BUILDKIT;
	return vd_build_engine_builder(vd_docker_builder_version(w->d), vd_docker_os_type(w->d),
				       vd_docker_api_version(w->d), why);
}

/* NULL-terminated views of the model's lists, for the build options. */
static const char **strs_of(const vd_compose_strs *l)
{
	const char **a = calloc(l->len + 1, sizeof(*a));
	size_t i;

	for (i = 0; a && i < l->len; i++)
		a[i] = l->items[i];
	return a;
}

static void free_strv(char **a)
{
	size_t i;

	for (i = 0; a && a[i]; i++)
		free(a[i]);
	free(a);
}

static char **hosts_of(const vd_kvs *h)
{
	char **a = calloc(h->len + 1, sizeof(*a));
	size_t i;

	for (i = 0; a && i < h->len; i++)
		if (asprintf(&a[i], "%s:%s", h->items[i].key, h->items[i].value) < 0) {
			a[i] = NULL;
			free_strv(a);
			return NULL;
		}
	return a;
}

static int build_one(vd_swap *w, struct vd_swap_svc *v, vd_error *err)
{
	const vd_compose_build *b = v->s->build;
	vd_build_options bo = VD_BUILD_OPTIONS_INIT;
	struct build_run run = { w, v };
	vd_kvs extra = { NULL, 0 };
	char *tag = NULL, *steps = NULL, **hosts = NULL;
	const char **cache_from = NULL, *why;
	const char *tags[2] = { NULL, NULL };
	char built_at[48];
	uint64_t t = vd_now_ms();
	size_t i;
	int rc, built = 0;

	if (asprintf(&tag, "%s:" TAG_PREFIX "%s", v->repo, w->sha12) < 0)
		return vd_error_set(err, VD_ENOMEM, "out of memory");
	stamp(built_at);
	bo.builder = pick_builder(w, &why);
	if (w->o->dry_run) {
		rc = vd_swap_step(w, "build", "would", v, 0, err, "%s from %s (%s%s%s, %s)", tag, b->context,
				  b->dockerfile ? b->dockerfile : "Dockerfile", b->target ? ", target " : "",
				  b->target ? b->target : "",
				  bo.builder == VD_BUILDER_BUILDKIT ? "BuildKit" : "classic builder");
		free(tag);
		return rc;
	}
	tags[0] = tag;
	bo.context_dir = b->context;
	if (b->dockerfile)
		bo.dockerfile = b->dockerfile;
	bo.target = b->target;
	bo.tags = tags;
	bo.network = b->network;
	bo.platform = b->platform;
	bo.progress = build_line;
	bo.on_step = build_step;
	bo.progress_ctx = &run;
	bo.steps = &steps;
	rc = 0;
	if ((b->cache_from.len && !(bo.cache_from = cache_from = strs_of(&b->cache_from))) ||
	    (b->extra_hosts.len && !(hosts = hosts_of(&b->extra_hosts))))
		rc = VD_ENOMEM;
	bo.extra_hosts = (const char *const *)hosts;
	for (i = 0; i < b->args.len && !rc; i++)
		rc = vd_kvs_add(&bo.buildargs, b->args.items[i].key, b->args.items[i].value);
	for (i = 0; i < b->labels.len && !rc; i++)
		rc = vd_kvs_add(&bo.labels, b->labels.items[i].key, b->labels.items[i].value);
	if (!rc && (vd_kvs_add(&bo.labels, "io.voxdeploy.commit", w->o->commit) ||
		    vd_kvs_add(&bo.labels, BUILT_LABEL, built_at)))
		rc = VD_ENOMEM;
	if (rc)
		rc = vd_error_set(err, VD_ENOMEM, "out of memory");
	if (!rc)
		rc = vd_swap_step(w, "build", "begin", v, 0, err, "%s from %s (%s%s%s)", tag, b->context,
				  bo.builder == VD_BUILDER_BUILDKIT ? "BuildKit" : "classic builder",
				  why ? ": " : "", why ? why : "");
	if (!rc) {
		built = vd_build_run(w->d, &bo, &v->new_image, err);
		if (steps && vd_kvs_add(&extra, "steps", steps) && !built)
			built = vd_error_set(err, VD_ENOMEM, "out of memory");
		rc = built;
	}
	if (built) {
		vd_error jerr = VD_ERROR_INIT;
		char *first = strndup(vd_error_msg(err), strcspn(vd_error_msg(err), "\n"));

		vd_error_prefix(err, "service '%s'", v->s->name);
		vd_progress_step_with(w->o->progress, "build", "failed", v->s->name,
				      first ? first : vd_error_msg(err), t, &extra, &jerr);
		free(first);
		vd_error_release(&jerr);
	} else if (!rc) {
		char detail[256];

		snprintf(detail, sizeof(detail), "%s %.19s", tag, v->new_image);
		rc = vd_progress_step_with(w->o->progress, "build", "done", v->s->name, detail, t, &extra, err);
	}
	vd_kvs_release(&extra);
	vd_build_options_release(&bo);
	free(cache_from);
	free_strv(hosts);
	free(steps);
	free(tag);
	return rc;
}

int vd_swap_build(vd_swap *w, vd_error *err)
{
	size_t i;
	int rc;

	for (i = 0; i < w->n; i++) {
		struct vd_swap_svc *v = &w->v[i];

		if (v->retained)
			rc = vd_swap_step(w, "build", "skipped", v, 0, err, "the retained image %s:%s (%.19s)",
					  v->repo, w->o->rollback_tag, v->new_image);
		else
			rc = v->s->build ? build_one(w, v, err) : 0;
		if (rc)
			return rc;
	}
	return 0;
}

/* Whether an earlier service of the swap runs the same image of the same
 * repository (twenty services of one image): its <repo>:voxdeploy-previous
 * is set already. */
static bool tagged_before(const vd_swap *w, size_t i)
{
	size_t j;

	for (j = 0; j < i; j++)
		if (w->v[j].old_image && !strcmp(w->v[j].old_image, w->v[i].old_image) &&
		    !strcmp(w->v[j].repo, w->v[i].repo))
			return true;
	return false;
}

int vd_swap_tag(vd_swap *w, vd_error *err)
{
	uint64_t t;
	size_t i;
	int rc;

	for (i = 0; i < w->n; i++) {
		struct vd_swap_svc *v = &w->v[i];

		t = vd_now_ms();
		if ((rc = vd_swap_step(w, "tag", "begin", v, 0, err, "%s:" PREVIOUS_TAG " = %.19s, %s = %.19s",
				       v->repo, v->old_image ? v->old_image : "(none)", v->ref,
				       v->new_image)))
			return rc;
		if (v->old_image && !tagged_before(w, i) &&
		    (rc = vd_image_tag(w->d, v->old_image, v->repo, PREVIOUS_TAG, err)))
			return vd_error_prefix(err, "tag %s:" PREVIOUS_TAG, v->repo);
		if (v->s->build) {
			v->retagged = true;  /* restore moves it back, even half done */
			if ((rc = vd_image_tag(w->d, v->new_image, v->repo, v->tag, err)))
				return vd_error_prefix(err, "tag %s", v->ref);
		}
		if ((rc = vd_swap_step(w, "tag", "done", v, t, err, NULL)))
			return rc;
	}
	return 0;
}

struct tagged {
	char *ref;
	char *created;
};

static int by_created_desc(const void *a, const void *b)
{
	const struct tagged *x = a, *y = b;

	return strcmp(y->created ? y->created : "", x->created ? x->created : "");
}

static bool is_sha_tag(const char *tag)
{
	size_t i;

	if (strncmp(tag, TAG_PREFIX, strlen(TAG_PREFIX)))
		return false;
	tag += strlen(TAG_PREFIX);
	for (i = 0; tag[i]; i++)
		if (!strchr("0123456789abcdef", tag[i]))
			return false;
	return i == 12;
}

static void prune_repo(vd_swap *w, const char *repo, int keep)
{
	vd_image_array list = { NULL, 0 };
	vd_error e = VD_ERROR_INIT;
	struct tagged *t = NULL;
	size_t i, j, n = 0, len = strlen(repo);

	if (vd_image_list(w->d, repo, &list, &e))
		goto done;
	for (i = 0; i < list.len; i++)
		n += list.items[i].n_repo_tags;
	if (!(t = calloc(n + 1, sizeof(*t))))
		goto done;
	n = 0;
	for (i = 0; i < list.len; i++)
		for (j = 0; j < list.items[i].n_repo_tags; j++) {
			const char *rt = list.items[i].repo_tags[j];
			vd_image_info info;

			if (strncmp(rt, repo, len) || rt[len] != ':' || !is_sha_tag(rt + len + 1))
				continue;
			t[n].ref = strdup(rt);
			if (!vd_image_inspect(w->d, rt, &info, &e)) {
				const char *when = vd_kvs_get(&info.labels, BUILT_LABEL);

				when = when ? when : info.created;
				t[n].created = when ? strdup(when) : NULL;
				vd_image_info_release(&info);
			}
			vd_error_release(&e);
			n++;
		}
	qsort(t, n, sizeof(*t), by_created_desc);
	for (i = (size_t)keep; i < n; i++) {
		if (!t[i].ref || strstr(t[i].ref, w->sha12))
			continue;
		if (vd_image_remove(w->d, t[i].ref, false, false, &e))
			vd_log(VD_LOG_INFO, "keeping %s: %s", t[i].ref, vd_error_msg(&e));
		else
			vd_log(VD_LOG_INFO, "removed the old tag %s", t[i].ref);
		vd_error_release(&e);
	}
done:
	if (e.code)
		vd_log(VD_LOG_WARN, "cannot prune the tags of %s: %s", repo, vd_error_msg(&e));
	vd_error_release(&e);
	for (i = 0; t && i < n; i++) {
		free(t[i].ref);
		free(t[i].created);
	}
	free(t);
	vd_image_array_release(&list);
}

void vd_swap_prune_images(vd_swap *w)
{
	int keep = w->o->retain_images > 0 ? w->o->retain_images : DEFAULT_RETAIN;
	size_t i;

	uint64_t reclaimed = 0;
	vd_error e = VD_ERROR_INIT;
	bool built = false;

	for (i = 0; i < w->n; i++)
		if (w->v[i].s->build) {
			prune_repo(w, w->v[i].repo, keep);
			built = true;
		}
	/* the layers of voxdeploy's own builds that no tag holds any more */
	if (built && vd_image_prune_dangling(w->d, "io.voxdeploy.commit", &reclaimed, &e))
		vd_log(VD_LOG_WARN, "%s", vd_error_msg(&e));
	else if (reclaimed)
		vd_log(VD_LOG_INFO, "removed dangling build layers: %llu MB",
		       (unsigned long long)(reclaimed >> 20));
	vd_error_release(&e);
}
