#include "docker_api/image.h"

#include <stdlib.h>
#include <string.h>

static int image_path(vd_buf *path, const char *ref, const char *suffix)
{
	int r = vd_buf_puts(path, "/images/");

	/* names keep their '/' and ':' (library/app:1); everything else escaped */
	for (; !r && *ref; ref++) {
		if (strchr("/:@.-_", *ref) || (*ref >= '0' && *ref <= '9') ||
		    (*ref >= 'a' && *ref <= 'z') || (*ref >= 'A' && *ref <= 'Z'))
			r = vd_buf_putc(path, *ref);
		else
			r = vd_buf_printf(path, "%%%02X", (unsigned char)*ref);
	}
	if (!r && suffix)
		r = vd_buf_puts(path, suffix);
	return r;
}

/* Fields shared by inspect and list answers. */
static int info_fill(yajl_val v, vd_image_info *info)
{
	yajl_val tags = vd_json_get(v, "RepoTags");
	size_t i;

	info->id = strdup(vd_json_str(v, "Id") ? vd_json_str(v, "Id") : "");
	info->size = vd_json_int(v, "Size", 0);
	info->repo_tags = calloc(vd_json_len(tags) + 1, sizeof(char *));
	if (!info->id || !info->repo_tags)
		return VD_ENOMEM;
	for (i = 0; i < vd_json_len(tags); i++) {
		yajl_val t = vd_json_idx(tags, i);

		/* untagged images list "<none>:<none>" */
		if (!YAJL_IS_STRING(t) || !strcmp(t->u.string, "<none>:<none>"))
			continue;
		if (!(info->repo_tags[info->n_repo_tags] = strdup(t->u.string)))
			return VD_ENOMEM;
		info->n_repo_tags++;
	}
	return 0;
}

static void info_release_fields(vd_image_info *info)
{
	size_t i;

	free(info->id);
	for (i = 0; i < info->n_repo_tags; i++)
		free(info->repo_tags[i]);
	free(info->repo_tags);
	free(info->created);
	vd_kvs_release(&info->labels);
}

int vd_image_info_parse(const char *json, vd_image_info *out, vd_error *err)
{
	vd_image_info info;
	yajl_val v = vd_json_parse(json, err);
	int r;

	if (!v)
		return vd_error_prefix(err, "image inspect");
	memset(&info, 0, sizeof(info));
	info.raw = v;
	if (!vd_json_str(v, "Id")) {
		vd_image_info_release(&info);
		return vd_error_set(err, VD_EPROTO, "image inspect: no Id in the answer");
	}
	r = info_fill(v, &info);
	if (!r && vd_json_str(v, "Created") && !(info.created = strdup(vd_json_str(v, "Created"))))
		r = VD_ENOMEM;
	if (!r)
		r = vd_kvs_from_json(vd_json_at(v, "Config", "Labels", NULL), &info.labels);
	if (r) {
		vd_image_info_release(&info);
		return vd_error_set(err, r, "out of memory");
	}
	*out = info;
	return 0;
}

void vd_image_info_release(vd_image_info *info)
{
	if (!info)
		return;
	info_release_fields(info);
	yajl_tree_free(info->raw);
	memset(info, 0, sizeof(*info));
}

int vd_image_inspect(vd_docker *d, const char *ref, vd_image_info *out, vd_error *err)
{
	vd_buf path = VD_BUF_INIT, body = VD_BUF_INIT;
	int r;

	if (image_path(&path, ref, "/json"))
		return vd_error_set(err, VD_ENOMEM, "out of memory");
	r = vd_docker_get(d, vd_buf_cstr(&path), NULL, &body, err);
	if (!r)
		r = vd_image_info_parse(vd_buf_cstr(&body), out, err);
	if (r)
		vd_error_prefix(err, "inspect image %s", ref);
	vd_buf_release(&path);
	vd_buf_release(&body);
	return r;
}

int vd_image_tag(vd_docker *d, const char *source, const char *repo, const char *tag,
		 vd_error *err)
{
	vd_buf path = VD_BUF_INIT, q = VD_BUF_INIT;
	int r;

	if (image_path(&path, source, "/tag") || vd_docker_query_add(&q, "repo", repo) ||
	    (tag && vd_docker_query_add(&q, "tag", tag))) {
		r = vd_error_set(err, VD_ENOMEM, "out of memory");
		goto done;
	}
	r = vd_docker_post(d, vd_buf_cstr(&path), vd_buf_cstr(&q), NULL, NULL, NULL, err);
	if (r)
		vd_error_prefix(err, "tag image %s as %s:%s", source, repo, tag ? tag : "latest");
done:
	vd_buf_release(&path);
	vd_buf_release(&q);
	return r;
}

int vd_image_remove(vd_docker *d, const char *ref, bool force, bool noprune, vd_error *err)
{
	vd_buf path = VD_BUF_INIT;
	char q[32];
	int r;

	snprintf(q, sizeof(q), "force=%d&noprune=%d", force ? 1 : 0, noprune ? 1 : 0);
	if (image_path(&path, ref, NULL))
		return vd_error_set(err, VD_ENOMEM, "out of memory");
	r = vd_docker_delete(d, vd_buf_cstr(&path), q, err);
	if (r)
		vd_error_prefix(err, "remove image %s", ref);
	vd_buf_release(&path);
	return r;
}

int vd_image_prune_dangling(vd_docker *d, const char *label, uint64_t *reclaimed, vd_error *err)
{
	const char *pairs[] = { "dangling", "true", "label", label, NULL };
	vd_buf filters = VD_BUF_INIT, query = VD_BUF_INIT, out = VD_BUF_INIT;
	yajl_val v = NULL;
	int r;

	*reclaimed = 0;
	vd_buf_init(&out, 1 << 20);
	if (vd_docker_filters_json(&filters, pairs) ||
	    vd_docker_query_add(&query, "filters", vd_buf_cstr(&filters))) {
		r = vd_error_set(err, VD_ENOMEM, "out of memory");
		goto done;
	}
	r = vd_docker_post(d, "/images/prune", vd_buf_cstr(&query), NULL, &out, NULL, err);
	if (!r && (v = vd_json_parse(vd_buf_cstr(&out), err)) != NULL)
		*reclaimed = (uint64_t)vd_json_int(v, "SpaceReclaimed", 0);
	else if (!r)
		r = VD_EPROTO;
done:
	if (r)
		vd_error_prefix(err, "prune dangling images labelled %s", label);
	yajl_tree_free(v);
	vd_buf_release(&filters);
	vd_buf_release(&query);
	vd_buf_release(&out);
	return r;
}

static int list_fill(yajl_val v, void *item)
{
	vd_image_info *info = item;
	int r = info_fill(v, info);

	if (!r)
		r = vd_kvs_from_json(vd_json_get(v, "Labels"), &info->labels);
	return r;
}

static void list_release(void *item)
{
	info_release_fields(item);
}

int vd_image_list_parse(const char *json, vd_image_array *out, vd_error *err)
{
	void *items = NULL;
	int r = vd_docker_parse_list(json, NULL, "image list", sizeof(vd_image_info), list_fill,
				     list_release, &items, &out->len, err);

	if (!r)
		out->items = items;
	return r;
}

void vd_image_array_release(vd_image_array *list)
{
	if (!list)
		return;
	vd_docker_free_list(list->items, list->len, sizeof(*list->items), list_release);
	list->items = NULL;
	list->len = 0;
}

int vd_image_list(vd_docker *d, const char *reference, vd_image_array *out, vd_error *err)
{
	const char *pairs[] = { "reference", reference, NULL };
	void *items = NULL;
	int r = vd_docker_get_list(d, "/images/json", NULL, reference ? pairs : NULL, NULL,
				   "image list", sizeof(vd_image_info), list_fill, list_release, &items,
				   &out->len, err);

	if (r)
		return vd_error_prefix(err, "list images");
	out->items = items;
	return 0;
}

/* --- push ------------------------------------------------------------------ */

#define PUSH_MAX_LINE (64 * 1024)

struct push {
	const vd_push_opts *o;
	vd_jsonl lines;
	char *digest;
	char *error;       /* the first error the stream told */
	bool oom;
};

static int push_line(yajl_val v, void *ctx, vd_error *err)
{
	struct push *p = ctx;
	const char *msg = vd_json_str(vd_json_get(v, "errorDetail"), "message");
	const char *status = vd_json_str(v, "status");
	yajl_val dg = vd_json_at(v, "aux", "Digest", NULL);

	(void)err;
	if (!msg)
		msg = vd_json_str(v, "error");
	if ((msg || vd_json_get(v, "error")) && !p->error &&
	    !(p->error = strdup(msg ? msg : "the engine told an error without a message")))
		p->oom = true;
	if (dg && YAJL_IS_STRING(dg) && !p->digest && !(p->digest = strdup(dg->u.string)))
		p->oom = true;
	if (status && p->o && p->o->on_progress)
		p->o->on_progress(p->o->ctx, vd_json_str(v, "id"), status);
	return 0;
}

static int on_push_data(const char *data, size_t len, void *ctx, vd_error *err)
{
	struct push *p = ctx;

	return vd_jsonl_feed(&p->lines, data, len, err);
}

/* A call whose answer is a stream of JSON progress lines (a push, a pull):
 * an error told inside the stream is the return, VD_EAPI with its message. */
static int progress_call(vd_docker *d, const char *path, const char *query, const vd_push_opts *opts,
			 char **digest, vd_error *err)
{
	struct push p;
	vd_docker_req req = { .method = "POST" };
	int r;

	memset(&p, 0, sizeof(p));
	p.o = opts;
	vd_jsonl_init(&p.lines, PUSH_MAX_LINE, push_line, &p);
	req.path = path;
	req.query = query;
	/* the engine wants the header even for a registry without auth */
	req.registry_auth = opts && opts->registry_auth ? opts->registry_auth : "e30=";
	req.on_data = on_push_data;
	req.ctx = &p;
	req.idle_timeout_ms = opts && opts->idle_timeout_ms > 0 ? opts->idle_timeout_ms : 60000;
	req.deadline_ms = opts && opts->deadline_ms > 0 ? opts->deadline_ms : 600000;
	r = vd_docker_request(d, &req, NULL, err);
	if (!r)
		r = vd_jsonl_finish(&p.lines, err);
	if (!r && p.oom)
		r = vd_error_set(err, VD_ENOMEM, "out of memory");
	if (!r && p.error)
		r = vd_error_set(err, VD_EAPI, "%s", p.error);
	if (!r && digest) {
		*digest = p.digest;
		p.digest = NULL;
	}
	vd_jsonl_release(&p.lines);
	free(p.digest);
	free(p.error);
	return r;
}

int vd_image_push(vd_docker *d, const char *name, const char *tag, const vd_push_opts *opts,
		  char **digest, vd_error *err)
{
	vd_buf path = VD_BUF_INIT, q = VD_BUF_INIT;
	int r;

	if (digest)
		*digest = NULL;
	if (image_path(&path, name, "/push") || (tag && vd_docker_query_add(&q, "tag", tag)))
		r = vd_error_set(err, VD_ENOMEM, "out of memory");
	else if ((r = progress_call(d, vd_buf_cstr(&path), tag ? vd_buf_cstr(&q) : NULL, opts, digest, err)))
		vd_error_prefix(err, "push %s%s%s", name, tag ? ":" : "", tag ? tag : "");
	vd_buf_release(&path);
	vd_buf_release(&q);
	return r;
}

int vd_image_pull_split(const char *ref, char **name, char **tag)
{
	const char *at = strchr(ref, '@'), *end = at ? at : ref + strlen(ref);
	const char *p = strrchr(ref, '/'), *colon = NULL;
	int r;

	/* a tag's ':' is after the last '/' (a registry's port is before it)
	 * and before a digest */
	for (p = p ? p : ref; p < end; p++)
		if (*p == ':')
			colon = p;
	*name = strndup(ref, (size_t)((colon ? colon : end) - ref));
	*tag = at ? strdup(at + 1) : colon ? strndup(colon + 1, (size_t)(end - colon - 1)) : strdup("latest");
	if (*name && *tag && **name && **tag)
		return 0;
	r = *name && *tag ? VD_EINVAL : VD_ENOMEM;
	free(*name);
	free(*tag);
	*name = *tag = NULL;
	return r;
}

bool vd_image_from_registry(const char *ref, const char *registry)
{
	size_t n = registry ? strlen(registry) : 0;

	return ref && n && !strncmp(ref, registry, n) && ref[n] == '/';
}

int vd_image_pull(vd_docker *d, const char *ref, const vd_push_opts *opts, vd_error *err)
{
	vd_buf q = VD_BUF_INIT;
	char *name = NULL, *tag = NULL;
	int r;

	if ((r = vd_image_pull_split(ref, &name, &tag)))
		r = r == VD_EINVAL ? vd_error_set(err, r, "pull %s: not an image reference", ref)
				   : vd_error_set(err, r, "out of memory");
	else if (vd_docker_query_add(&q, "fromImage", name) || vd_docker_query_add(&q, "tag", tag))
		r = vd_error_set(err, VD_ENOMEM, "out of memory");
	else if ((r = progress_call(d, "/images/create", vd_buf_cstr(&q), opts, NULL, err)))
		vd_error_prefix(err, "pull %s", ref);
	free(name);
	free(tag);
	vd_buf_release(&q);
	return r;
}

int vd_image_registry_digest(vd_docker *d, const char *ref, const char *registry_auth,
			     char **digest, vd_error *err)
{
	vd_buf path = VD_BUF_INIT, body = VD_BUF_INIT;
	vd_docker_req req = { .method = "GET", .registry_auth = registry_auth };
	yajl_val v = NULL, dg;
	int r;

	*digest = NULL;
	if (vd_buf_puts(&path, "/distribution/") || image_path(&body, ref, "/json") ||
	    vd_buf_puts(&path, vd_buf_cstr(&body) + strlen("/images/"))) {
		r = vd_error_set(err, VD_ENOMEM, "out of memory");
		goto out;
	}
	vd_buf_release(&body);
	req.path = vd_buf_cstr(&path);
	r = vd_docker_request(d, &req, &body, err);
	if (!r && !(v = vd_json_parse(vd_buf_cstr(&body), err)))
		r = err->code;
	if (!r) {
		dg = vd_json_at(v, "Descriptor", "digest", NULL);
		if (!dg || !YAJL_IS_STRING(dg))
			r = vd_error_set(err, VD_EPROTO, "no digest in the answer");
		else if (!(*digest = strdup(dg->u.string)))
			r = vd_error_set(err, VD_ENOMEM, "out of memory");
	}
	if (r)
		vd_error_prefix(err, "the registry's digest of %s", ref);
out:
	yajl_tree_free(v);
	vd_buf_release(&path);
	vd_buf_release(&body);
	return r;
}
