#include "controller/plan/plan.h"
#include "common/json.h"
#include "common/log.h"
#include "controller/state/state.h"
#include "docker_api/container.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_RULE "(default)"

void vd_plan_release(vd_plan *plan)
{
	size_t i;

	if (!plan)
		return;
	for (i = 0; i < plan->n_files; i++) {
		free(plan->files[i].path);
		free(plan->files[i].old_path);
		free(plan->files[i].rule);
	}
	free(plan->files);
	free(plan->reason);
	memset(plan, 0, sizeof(*plan));
}

#define LOWERED_RULE "reaches no image, mount or compose file"

/* One path's tier: the rules, then image-aware mode raises a file that
 * reaches an image or mount and lowers one that reaches nothing — never a
 * full_restart pattern's verdict, never infrastructure, never a file of a
 * service it could not resolve. */
static vd_tier path_tier(const vd_plan_options *o, const char *path, const char **rule,
			 char why[512])
{
	vd_tier t = vd_rules_classify(o->rules, path, rule);
	bool by_pattern = *rule != NULL;
	vd_reach_verdict v;

	if (!vd_reach_active(o->reach))
		return t;
	vd_reach_file(o->reach, path, &v);
	if (v.other || v.app) {
		vd_tier need = v.other ? VD_TIER_FULL_RESTART : VD_TIER_APP_ONLY;

		if (need > t) {
			snprintf(why, 512, "%s", v.why);
			*rule = why;
			return need;
		}
		return t;
	}
	if (v.infrastructure || v.unknown || (t == VD_TIER_FULL_RESTART && by_pattern))
		return t;
	*rule = LOWERED_RULE;
	return VD_TIER_NO_RESTART;
}

/* A rename or copy counts its old path too: the higher of the two decides. */
static int classify(const vd_plan_options *o, const vd_change *ch, vd_plan_file *f)
{
	const char *rule = NULL, *old_rule = NULL;
	char why[512], old_why[512];
	vd_tier t = path_tier(o, ch->path, &rule, why);

	if (ch->old_path) {
		vd_tier ot = path_tier(o, ch->old_path, &old_rule, old_why);

		if (ot > t) {
			t = ot;
			rule = old_rule;
		}
	}
	f->path = strdup(ch->path);
	f->old_path = ch->old_path ? strdup(ch->old_path) : NULL;
	f->status = vd_change_status_name(ch->status);
	f->tier = t;
	f->rule = strdup(rule ? rule : DEFAULT_RULE);
	if (!f->path || !f->rule || (ch->old_path && !f->old_path))
		return VD_ENOMEM;
	return 0;
}

/* What the reason says about image-aware mode, or NULL. */
static const char *mode_note(const vd_plan_options *o, char *buf, size_t size)
{
	if (!o->reach)
		return NULL;
	if (!vd_reach_active(o->reach))
		snprintf(buf, size, "rules only: %s", vd_reach_notes(o->reach));
	else if (*vd_reach_notes(o->reach))
		snprintf(buf, size, "image-aware, with fallbacks: %s", vd_reach_notes(o->reach));
	else
		return NULL;
	return buf;
}

static int set_reason(vd_plan *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int set_reason(vd_plan *p, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		return VD_ENOMEM;
	free(p->reason);
	p->reason = s;
	return 0;
}

int vd_plan_make(vd_git *g, const vd_plan_options *opts, vd_plan *out, vd_error *err)
{
	vd_plan p;
	vd_changes changes = { NULL, 0 };
	const vd_plan_file *top = NULL;
	char note_buf[1024];
	const char *note = mode_note(opts, note_buf, sizeof(note_buf));
	size_t i;
	int r;

	memset(&p, 0, sizeof(p));
	r = vd_git_resolve(g, opts->to ? opts->to : "HEAD", p.to, err);
	if (r)
		goto done;
	if (!opts->from) {
		p.type = VD_TIER_FULL_RESTART;
		r = set_reason(&p, "first deploy: no deployed commit is known, every service starts");
	} else if (opts->from_source && !vd_git_has_commit(g, opts->from)) {
		/* a deployed commit we cannot find (shallow clone, rewritten
		 * history) is a reason to restart everything, not an error */
		p.type = VD_TIER_FULL_RESTART;
		r = set_reason(&p, "the deployed commit %.40s (from the %s) is not in the repository "
			       "(shallow clone or rewritten history): every service restarts",
			       opts->from, opts->from_source);
	} else {
		if ((r = vd_git_resolve(g, opts->from, p.from, err)))
			goto done;
		r = vd_git_diff(g, p.from, p.to, &changes, err);
		if (r)
			goto done;
		p.files = calloc(changes.len ? changes.len : 1, sizeof(*p.files));
		if (!p.files) {
			r = vd_error_set(err, VD_ENOMEM, "out of memory");
			goto done;
		}
		p.type = VD_TIER_NO_RESTART;
		for (i = 0; i < changes.len; i++) {
			vd_plan_file *f = &p.files[p.n_files++];

			if (classify(opts, &changes.items[i], f)) {
				r = vd_error_set(err, VD_ENOMEM, "out of memory");
				goto done;
			}
			if (!top || f->tier > top->tier) {
				top = f;
				p.type = f->tier;
			}
		}
		if (!changes.len)
			r = set_reason(&p, "no changes between %.12s and %.12s", p.from, p.to);
		else
			r = set_reason(&p, "%zu changed file%s; the highest tier, %s, from %s (%s)%s%s",
				       changes.len, changes.len == 1 ? "" : "s", vd_tier_name(top->tier),
				       top->path, top->rule, note ? "; " : "", note ? note : "");
	}
	if (!r && opts->forced) {
		char *was = p.reason;

		p.reason = NULL;
		r = set_reason(&p, "forced by --type %s (the changes alone: %s; %s)",
			       vd_tier_cli_name(opts->forced_type), vd_tier_name(p.type), was);
		free(was);
		p.type = opts->forced_type;
		p.forced = true;
	}
	if (r) {
		r = vd_error_set(err, VD_ENOMEM, "out of memory");
		goto done;
	}
	*out = p;
	memset(&p, 0, sizeof(p));
done:
	vd_changes_release(&changes);
	vd_plan_release(&p);
	return r;
}

int vd_plan_json(const vd_plan *plan, vd_buf *out)
{
	yajl_gen g = vd_jgen_new();

	if (!g)
		return VD_ENOMEM;
	yajl_gen_map_open(g);
	vd_jgen_kstr(g, "type", vd_tier_name(plan->type));
	vd_jgen_kstr(g, "from", plan->from[0] ? plan->from : NULL);
	vd_jgen_kstr(g, "to", plan->to);
	vd_jgen_kbool(g, "forced", plan->forced);
	vd_jgen_kstr(g, "reason", plan->reason);
	vd_plan_gen_files(plan, g);
	yajl_gen_map_close(g);
	return vd_jgen_finish(g, out);
}

void vd_plan_gen_files(const vd_plan *plan, yajl_gen g)
{
	size_t i;

	vd_jgen_str(g, "files");
	yajl_gen_array_open(g);
	for (i = 0; i < plan->n_files; i++) {
		const vd_plan_file *f = &plan->files[i];

		yajl_gen_map_open(g);
		vd_jgen_kstr(g, "path", f->path);
		if (f->old_path)
			vd_jgen_kstr(g, "old_path", f->old_path);
		vd_jgen_kstr(g, "status", f->status);
		vd_jgen_kstr(g, "tier", vd_tier_name(f->tier));
		vd_jgen_kstr(g, "rule", f->rule);
		yajl_gen_map_close(g);
	}
	yajl_gen_array_close(g);
}

int vd_plan_deployed_commit(const char *state_dir, vd_docker *docker, const char *project,
			    char **out, const char **source, vd_error *err)
{
	vd_state st;
	vd_container_array list = { NULL, 0 };
	char label[512];
	const char *pairs[] = { "label", label, "label", "io.voxdeploy.commit", NULL };
	size_t i;
	int r;

	*out = NULL;
	*source = NULL;
	memset(&st, 0, sizeof(st));  /* untouched by a failed load */
	r = vd_state_load(state_dir, &st, err);
	if (!r && st.commit) {
		*out = strdup(st.commit);
		*source = "state";
		vd_state_release(&st);
		return *out ? 0 : vd_error_set(err, VD_ENOMEM, "out of memory");
	}
	vd_state_release(&st);
	if (r && r != VD_ENOTFOUND)
		return r;  /* a state file we cannot read must not pass for a first deploy */
	vd_error_release(err);
	if (!docker)
		return 0;
	snprintf(label, sizeof(label), "com.docker.compose.project=%s", project);
	r = vd_container_list(docker, true, pairs, &list, err);
	if (r)
		return vd_error_prefix(err, "read the deployed commit from the containers' labels");
	/* the engine lists the newest first: the newest deployed container tells */
	for (i = 0; i < list.len && !*out; i++) {
		const char *c = vd_kvs_get(&list.items[i].labels, "io.voxdeploy.commit");

		if (c && *c) {
			if (!(*out = strdup(c))) {
				vd_container_array_release(&list);
				return vd_error_set(err, VD_ENOMEM, "out of memory");
			}
			*source = "label";
		}
	}
	vd_container_array_release(&list);
	return 0;
}
