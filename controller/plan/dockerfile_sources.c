/* What reaches the image a Dockerfile builds: the stages the target is
 * built FROM or copies from, transitively, and the build-context sources of
 * their instructions (vd_dockerfile_final_sources()). */
#include "controller/plan/dockerfile.h"
#include "controller/plan/dockerfile_private.h"
#include "docker_api/path.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void vd_dockerfile_sources_release(vd_dockerfile_sources *s)
{
	size_t i;

	if (!s)
		return;
	for (i = 0; i < s->n_refs; i++)
		free(s->refs[i].pattern);
	free(s->refs);
	free(s->reached);
	free(s->reason);
	memset(s, 0, sizeof(*s));
}

static int unresolved(vd_dockerfile_sources *out, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int unresolved(vd_dockerfile_sources *out, unsigned line, const char *fmt, ...)
{
	va_list ap;
	char *msg = NULL;
	int n;

	if (!out->resolved && out->line <= line)
		return 0;   /* keep the first one */
	va_start(ap, fmt);
	n = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (n < 0)
		return VD_ENOMEM;
	free(out->reason);
	out->reason = msg;
	out->line = line;
	out->resolved = false;
	return 0;
}

static const char *kind_name(vd_dockerfile_kind k)
{
	return k == VD_DOCKERFILE_ADD ? "ADD" : k == VD_DOCKERFILE_COPY ? "COPY" : "RUN --mount";
}

/* The instructions that run in stage i: its own, and the ONBUILD triggers
 * of the stage it is built FROM.  Calls fn on each. */
typedef int (*copy_fn)(const vd_dockerfile *df, int stage, const vd_dockerfile_copy *c, void *ctx);

static int each_copy(const vd_dockerfile *df, int stage, const int *parents, copy_fn fn, void *ctx)
{
	const vd_dockerfile_stage *st = &df->stages[stage];
	size_t j;
	int r = 0;

	if (parents[stage] >= 0) {
		const vd_dockerfile_stage *base = &df->stages[parents[stage]];

		for (j = 0; j < base->n_copies && !r; j++)
			if (base->copies[j].onbuild)
				r = fn(df, stage, &base->copies[j], ctx);
	}
	for (j = 0; j < st->n_copies && !r; j++)
		if (!st->copies[j].onbuild)
			r = fn(df, stage, &st->copies[j], ctx);
	return r;
}

struct reach {
	bool *reached;
	int *queue;
	size_t n_queue;
};

static int reach_copy(const vd_dockerfile *df, int stage, const vd_dockerfile_copy *c, void *ctx)
{
	struct reach *rc = ctx;

	if (c->origin == VD_DOCKERFILE_FROM_STAGE && c->from_stage >= 0 &&
	    !rc->reached[c->from_stage]) {
		rc->reached[c->from_stage] = true;
		rc->queue[rc->n_queue++] = c->from_stage;
	}
	return 0;
}

static int collect_copy(const vd_dockerfile *df, int stage, const vd_dockerfile_copy *c, void *ctx)
{
	vd_dockerfile_sources *out = ctx;
	size_t k;
	int r = 0;

	if (c->origin == VD_DOCKERFILE_FROM_UNKNOWN)
		return unresolved(out, c->line, "line %u: %s --from=%s uses a variable, known only at build time",
				  c->line, kind_name(c->kind), c->from);
	if (c->origin != VD_DOCKERFILE_FROM_CONTEXT)
		return 0;
	for (k = 0; k < c->n_sources && !r; k++) {
		const vd_dockerfile_source *s = &c->sources[k];
		vd_dockerfile_ref *ref;

		if (s->heredoc || s->remote)
			continue;
		if (s->variable) {
			r = unresolved(out, c->line,
				       "line %u: %s source \"%s\" uses a variable, known only at build time",
				       c->line, kind_name(c->kind), s->raw);
			continue;
		}
		if (df_reserve(&out->refs, out->n_refs, sizeof(*out->refs)))
			return VD_ENOMEM;
		ref = &out->refs[out->n_refs];
		if (!(ref->pattern = vd_path_clean_in_root(s->path)))
			return VD_ENOMEM;
		if (!*ref->pattern) {
			free(ref->pattern);
			if (!(ref->pattern = strdup(".")))
				return VD_ENOMEM;
		}
		ref->copy = c;
		ref->stage = stage;
		out->n_refs++;
	}
	return r;
}

int vd_dockerfile_final_sources(const vd_dockerfile *df, const char *target,
				const char *const *build_args, vd_dockerfile_sources *out,
				vd_error *err)
{
	struct df_env e = { NULL, 0 };
	struct reach rc = { NULL, NULL, 0 };
	int *parents = NULL, t;
	bool *unres = NULL;
	size_t i, n = df->n_stages;
	int r = 0;

	memset(out, 0, sizeof(*out));
	out->resolved = true;
	if (target && *target) {
		if ((t = vd_dockerfile_stage_find(df, target)) < 0)
			return vd_error_set(err, VD_ENOTFOUND, "target stage \"%s\" could not be found",
					    target);
	} else {
		t = (int)n - 1;
	}
	out->target = t;
	out->n_stages = n;
	parents = calloc(n, sizeof(*parents));
	unres = calloc(n, sizeof(*unres));
	rc.queue = calloc(n, sizeof(*rc.queue));
	rc.reached = out->reached = calloc(n, sizeof(*out->reached));
	if (!parents || !unres || !rc.queue || !rc.reached)
		goto nomem;
	if ((r = df_meta_env(df, build_args, &e)))
		goto nomem;
	for (i = 0; i < n; i++)
		if (df_resolve_base(df, i, &e, &parents[i], &unres[i]))
			goto nomem;

	rc.reached[t] = true;
	rc.queue[rc.n_queue++] = t;
	for (i = 0; i < rc.n_queue; i++) {
		int s = rc.queue[i];

		if (parents[s] >= 0 && !rc.reached[parents[s]]) {
			rc.reached[parents[s]] = true;
			rc.queue[rc.n_queue++] = parents[s];
		}
		each_copy(df, s, parents, reach_copy, &rc);
	}
	for (i = 0; i < n; i++) {
		if (!rc.reached[i])
			continue;
		if (unres[i] && (r = unresolved(out, df->stages[i].line,
						"line %u: FROM %s may name a stage, depending on a "
						"variable known only at build time",
						df->stages[i].line, df->stages[i].base)))
			goto nomem;
		if ((r = each_copy(df, (int)i, parents, collect_copy, out)))
			goto nomem;
	}
	goto done;
nomem:
	r = vd_error_set(err, VD_ENOMEM, "out of memory");
done:
	df_env_release(&e);
	free(parents);
	free(unres);
	free(rc.queue);
	return r;
}
