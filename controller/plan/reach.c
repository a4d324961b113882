#include "controller/plan/reach.h"
#include "controller/model/compose.h"
#include "controller/plan/dockerfile.h"
#include "docker_api/dockerignore.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_READ ((size_t)16 << 20)

struct mount {
	char *rel;        /* repository-relative source ("" for the repository root) */
	char *desc;       /* "./logs -> /app/logs" */
};

struct service {
	char *name;
	bool built;
	bool resolved;            /* the Dockerfile was read and resolved */
	char *context;            /* repository-relative ("" for the root), NULL outside */
	vd_dockerignore *ignore;
	vd_dockerfile *df;
	vd_dockerfile_sources sources;
	char *dockerfile;         /* repository-relative Dockerfile path */
	struct mount *mounts;
	size_t n_mounts;
};

struct vd_reach {
	bool active;
	vd_buf notes;
	char *app;
	struct service *services;
	size_t n_services;
	char **infra;             /* repository-relative infrastructure files */
	size_t n_infra;
};

/* "dir/sub" relative to the repository's work tree ("/repo/"), or NULL when
 * outside it. */
static char *repo_rel(const char *workdir, const char *abs)
{
	size_t wl = strlen(workdir);

	if (!strncmp(abs, workdir, wl))
		return strdup(abs + wl);
	/* the work tree itself, without its trailing slash */
	if (wl && !strncmp(abs, workdir, wl - 1) && abs[wl - 1] == '\0')
		return strdup("");
	return NULL;
}

static char *join(const char *dir, const char *name)
{
	char *out = NULL;

	if (!*dir)
		return strdup(name);
	if (asprintf(&out, "%s/%s", dir, name) < 0)
		return NULL;
	return out;
}

/* path under prefix ("" contains everything)?  Then *rest is the part below. */
static bool under(const char *prefix, const char *path, const char **rest)
{
	size_t n = strlen(prefix);

	if (!n) {
		*rest = path;
		return true;
	}
	if (strncmp(path, prefix, n) || (path[n] != '/' && path[n] != '\0'))
		return false;
	*rest = path[n] == '/' ? path + n + 1 : path + n;
	return true;
}

static void note(vd_reach *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void note(vd_reach *r, const char *fmt, ...)
{
	va_list ap;

	if (r->notes.len)
		vd_buf_puts(&r->notes, "; ");
	va_start(ap, fmt);
	vd_buf_vprintf(&r->notes, fmt, ap);
	va_end(ap);
}

static int add_infra(vd_reach *r, const char *rel)
{
	char **n = realloc(r->infra, (r->n_infra + 1) * sizeof(*n));

	if (!n)
		return VD_ENOMEM;
	r->infra = n;
	if (!(r->infra[r->n_infra] = strdup(rel)))
		return VD_ENOMEM;
	r->n_infra++;
	return 0;
}

void vd_reach_free(vd_reach *r)
{
	size_t i, j;

	if (!r)
		return;
	for (i = 0; i < r->n_services; i++) {
		struct service *s = &r->services[i];

		free(s->name);
		free(s->context);
		free(s->dockerfile);
		vd_dockerignore_free(s->ignore);
		vd_dockerfile_sources_release(&s->sources);
		vd_dockerfile_free(s->df);
		for (j = 0; j < s->n_mounts; j++) {
			free(s->mounts[j].rel);
			free(s->mounts[j].desc);
		}
		free(s->mounts);
	}
	free(r->services);
	for (i = 0; i < r->n_infra; i++)
		free(r->infra[i]);
	free(r->infra);
	free(r->app);
	vd_buf_release(&r->notes);
	free(r);
}

bool vd_reach_active(const vd_reach *r)
{
	return r && r->active;
}

const char *vd_reach_notes(const vd_reach *r)
{
	return vd_buf_cstr(&r->notes);
}

/* A service's Dockerfile and .dockerignore at the commit. */
static int load_build(vd_reach *r, vd_git *g, const char *commit, const char *workdir,
		      const vd_compose_service *cs, struct service *s, vd_error *err)
{
	vd_buf text = VD_BUF_INIT;
	vd_error soft = VD_ERROR_INIT;
	char **args = NULL, *ign = NULL;
	size_t i;
	int rr, rc = 0;

	vd_buf_init(&text, MAX_READ);
	s->context = repo_rel(workdir, cs->build->context);
	if (!s->context) {
		note(r, "service %s builds from outside the repository: its files follow the rules",
		     cs->name);
		goto done;
	}
	s->dockerfile = join(s->context, cs->build->dockerfile ? cs->build->dockerfile : "Dockerfile");
	ign = join(s->context, ".dockerignore");
	if (!s->dockerfile || !ign || add_infra(r, s->dockerfile) || add_infra(r, ign)) {
		rc = vd_error_set(err, VD_ENOMEM, "out of memory");
		goto done;
	}
	rr = vd_git_read(g, commit, s->dockerfile, &text, &soft);
	if (!rr)
		rr = vd_dockerfile_parse(vd_buf_cstr(&text), text.len, &s->df, &soft);
	if (rr) {
		note(r, "service %s: %s: %s", cs->name, s->dockerfile, vd_error_msg(&soft));
		goto done;
	}
	args = calloc(cs->build->args.len + 1, sizeof(char *));
	if (!args) {
		rc = vd_error_set(err, VD_ENOMEM, "out of memory");
		goto done;
	}
	for (i = 0; i < cs->build->args.len; i++)
		if (asprintf(&args[i], "%s=%s", cs->build->args.items[i].key,
			     cs->build->args.items[i].value) < 0) {
			args[i] = NULL;
			rc = vd_error_set(err, VD_ENOMEM, "out of memory");
			goto done;
		}
	rr = vd_dockerfile_final_sources(s->df, cs->build->target, (const char *const *)args,
					 &s->sources, &soft);
	if (rr || !s->sources.resolved) {
		note(r, "service %s: %s: %s", cs->name, s->dockerfile,
		     rr ? vd_error_msg(&soft) : s->sources.reason);
		goto done;
	}
	vd_buf_clear(&text);
	rr = vd_git_read(g, commit, ign, &text, &soft);
	if (!rr)
		rr = vd_dockerignore_parse(vd_buf_cstr(&text), text.len, &s->ignore, &soft);
	if (rr && rr != VD_ENOTFOUND) {
		note(r, "service %s: %s: %s", cs->name, ign, vd_error_msg(&soft));
		goto done;
	}
	s->resolved = true;
done:
	for (i = 0; args && args[i]; i++)
		free(args[i]);
	free(args);
	free(ign);
	vd_buf_release(&text);
	vd_error_release(&soft);
	return rc;
}

static int load_mounts(const char *workdir, const vd_compose_service *cs, struct service *s)
{
	size_t i;

	s->mounts = calloc(cs->n_volumes + 1, sizeof(*s->mounts));
	if (!s->mounts)
		return VD_ENOMEM;
	for (i = 0; i < cs->n_volumes; i++) {
		const vd_compose_mount *m = &cs->volumes[i];
		struct mount *mt = &s->mounts[s->n_mounts];

		if (m->type != VD_COMPOSE_MOUNT_BIND || !m->source)
			continue;
		mt->rel = repo_rel(workdir, m->source);
		if (!mt->rel)
			continue;  /* outside the repository: no changed file lies there */
		if (asprintf(&mt->desc, "bind mount %s -> %s", *mt->rel ? mt->rel : ".", m->target) < 0) {
			free(mt->rel);
			return VD_ENOMEM;
		}
		s->n_mounts++;
	}
	return 0;
}

/* The compose files at the commit, loaded with the project's environment. */
static int load_compose(vd_reach *r, vd_git *g, const char *commit, const vd_project *proj,
			const char *workdir, vd_env_lookup lookup, void *lookup_ctx,
			vd_compose **out, vd_error *err)
{
	vd_compose_source *src = calloc(proj->n_files + 1, sizeof(*src));
	vd_buf *texts = calloc(proj->n_files + 1, sizeof(*texts));
	char **rels = calloc(proj->n_files + 1, sizeof(char *));
	vd_compose_options opts = { proj->dir, proj->name, lookup, lookup_ctx };
	vd_error soft = VD_ERROR_INIT;
	size_t i, n = 0;
	int rc = 0;

	*out = NULL;
	if (!src || !texts || !rels) {
		rc = vd_error_set(err, VD_ENOMEM, "out of memory");
		goto done;
	}
	if (!proj->n_files) {
		/* none in the working tree (not checked out yet): the target
		 * commit's own, by compose's names */
		static const char *const names[] = {
			"compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml",
		};
		char *dir = repo_rel(workdir, proj->dir);

		for (i = 0; dir && i < sizeof(names) / sizeof(names[0]) && !n; i++) {
			char *rel = join(dir, names[i]);
			vd_buf probe = VD_BUF_INIT;

			vd_buf_init(&probe, MAX_READ);
			if (rel && !vd_git_read(g, commit, rel, &probe, &soft)) {
				rels[0] = rel;
				texts[0] = probe;
				n = 1;
				continue;
			}
			vd_error_release(&soft);
			vd_buf_release(&probe);
			free(rel);
		}
		free(dir);
		if (!n) {
			note(r, "no compose file");
			goto done;
		}
		if (add_infra(r, rels[0])) {
			rc = vd_error_set(err, VD_ENOMEM, "out of memory");
			goto done;
		}
		src[0].filename = rels[0];
		src[0].text = vd_buf_cstr(&texts[0]);
		src[0].len = texts[0].len;
	}
	for (i = 0; i < proj->n_files; i++) {
		rels[i] = repo_rel(workdir, proj->files[i]);
		if (!rels[i]) {
			note(r, "compose file %s is outside the repository", proj->files[i]);
			goto done;
		}
		if (add_infra(r, rels[i])) {
			rc = vd_error_set(err, VD_ENOMEM, "out of memory");
			goto done;
		}
		vd_buf_init(&texts[i], MAX_READ);
		if (vd_git_read(g, commit, rels[i], &texts[i], &soft)) {
			note(r, "%s", vd_error_msg(&soft));
			goto done;
		}
		src[i].filename = rels[i];
		src[i].text = vd_buf_cstr(&texts[i]);
		src[i].len = texts[i].len;
		n++;
	}
	if (vd_compose_load(src, n, &opts, out, &soft)) {
		note(r, "the compose file at the target does not load: %s", vd_error_msg(&soft));
		*out = NULL;
	}
done:
	for (i = 0; i <= proj->n_files && texts; i++)
		vd_buf_release(&texts[i]);
	for (i = 0; i <= proj->n_files && rels; i++)
		free(rels[i]);
	free(src);
	free(texts);
	free(rels);
	vd_error_release(&soft);
	return rc;
}

static char *pick_app(const vd_compose *c, const char *wanted)
{
	const char *app;

	if (wanted)
		return vd_compose_service_find(c, wanted) ? strdup(wanted) : NULL;
	app = vd_compose_default_app(c);
	return app ? strdup(app) : NULL;
}

int vd_reach_new(vd_git *g, const char *commit, const vd_project *proj, vd_env_lookup lookup,
		 void *lookup_ctx, const char *app_service, vd_reach **out, vd_error *err)
{
	vd_reach *r = calloc(1, sizeof(*r));
	vd_compose *c = NULL;
	const char *workdir = vd_git_workdir(g);
	size_t i, j, built = 0;
	int rc;

	if (!r)
		return vd_error_set(err, VD_ENOMEM, "out of memory");
	vd_buf_init(&r->notes, 64 << 10);
	rc = load_compose(r, g, commit, proj, workdir, lookup, lookup_ctx, &c, err);
	if (rc || !c)
		goto done;
	r->services = calloc(c->n_services + 1, sizeof(*r->services));
	if (!r->services) {
		rc = vd_error_set(err, VD_ENOMEM, "out of memory");
		goto done;
	}
	for (i = 0; i < c->n_services; i++) {
		const vd_compose_service *cs = &c->services[i];
		struct service *s = &r->services[r->n_services++];

		if (!(s->name = strdup(cs->name)) || load_mounts(workdir, cs, s)) {
			rc = vd_error_set(err, VD_ENOMEM, "out of memory");
			goto done;
		}
		for (j = 0; j < cs->env_file.len; j++) {
			char *rel = repo_rel(workdir, cs->env_file.items[j]);

			if (rel && add_infra(r, rel)) {
				free(rel);
				rc = vd_error_set(err, VD_ENOMEM, "out of memory");
				goto done;
			}
			free(rel);
		}
		if (!cs->build)
			continue;
		s->built = true;
		built++;
		rc = load_build(r, g, commit, workdir, cs, s, err);
		if (rc)
			goto done;
	}
	r->app = pick_app(c, app_service);
	if (!r->app && app_service)
		note(r, "app service '%s' is not in the compose file", app_service);
	else if (!r->app)
		note(r, "no app service could be told (none has container_name %s and several are built): "
		     "every built service counts as another service", "voxpersona_app");
	r->active = built > 0;
	if (!built)
		note(r, "no service is built from the repository");
done:
	vd_compose_free(c);
	if (rc) {
		vd_reach_free(r);
		return rc;
	}
	*out = r;
	return 0;
}

static void reached(const vd_reach *r, const struct service *s, vd_reach_verdict *out,
		    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void reached(const vd_reach *r, const struct service *s, vd_reach_verdict *out,
		    const char *fmt, ...)
{
	bool is_app = r->app && !strcmp(r->app, s->name);
	va_list ap;

	/* another service outranks the app: keep the stronger reason */
	if (is_app && (out->app || out->other))
		return;
	if (!is_app && out->other)
		return;
	if (is_app)
		out->app = true;
	else
		out->other = true;
	va_start(ap, fmt);
	vsnprintf(out->why, sizeof(out->why), fmt, ap);
	va_end(ap);
}

void vd_reach_file(const vd_reach *r, const char *path, vd_reach_verdict *out)
{
	size_t i, j;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < r->n_infra; i++)
		if (!strcmp(r->infra[i], path))
			out->infrastructure = true;
	for (i = 0; i < r->n_services; i++) {
		const struct service *s = &r->services[i];
		const char *rest;

		for (j = 0; j < s->n_mounts; j++)
			if (under(s->mounts[j].rel, path, &rest))
				reached(r, s, out, "%s (%s)", s->mounts[j].desc, s->name);
		if (!s->built || !s->context || !under(s->context, path, &rest))
			continue;
		if (!s->resolved) {
			out->unknown = true;
			continue;
		}
		if (vd_dockerignore_excluded(s->ignore, rest))
			continue;
		{
			const vd_dockerfile_ref *ref = vd_dockerfile_sources_match(&s->sources, rest);

			if (ref)
				reached(r, s, out, "%s:%u %s %s (%s)", s->dockerfile, ref->copy->line,
					ref->copy->kind == VD_DOCKERFILE_ADD ? "ADD" :
					ref->copy->kind == VD_DOCKERFILE_COPY ? "COPY" : "RUN --mount",
					ref->pattern, s->name);
		}
	}
}
