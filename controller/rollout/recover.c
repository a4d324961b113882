#include "controller/rollout/recover.h"
#include "controller/rollout/backup.h"
#include "common/clock.h"
#include "common/log.h"
#include "controller/plan/gitsync.h"
#include "controller/state/lock.h"
#include "controller/state/state.h"
#include "controller/rollout/prove.h"
#include "controller/rollout/swap.h"
#include "docker_api/container.h"
#include "docker_api/image.h"
#include "docker_api/swarm.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LABEL_PROJECT "com.docker.compose.project"
#define LABEL_SERVICE "com.docker.compose.service"
#define LABEL_DEPENDS "com.docker.compose.depends_on"
#define LABEL_DEPLOY "io.voxdeploy.deploy-id"
#define LABEL_COMMIT "io.voxdeploy.commit"
#define JOURNAL_WINDOW 20000
/* containers a restore starts at once (those whose dependencies started) */
#define RECOVER_PARALLEL 8

/* services of a stack a swarm deploy began to create or update */
#define MAX_STACK 64
/* a service's rollback from the middle of an update: the swarm replaces its
 * tasks one at a time, each waiting for its node's port (stop-first) */
#define STACK_UNDO_MS 300000

/* What the journal says about the last deploy. */
struct last {
	char id[VD_DEPLOY_ID_MAX];
	bool finished;
	bool checked_out;
	unsigned seq;
	char type[32];
	uint64_t began_ms;
	bool swarm;   /* the deploy worked on a stack (its "swarm" step) */
	/* a swarm deploy: the services it began to create or update, in order,
	 * and which of them its own restore already put back */
	struct {
		char service[64];
		bool created;
		bool undone;
	} stack[MAX_STACK];
	size_t n_stack;
	char release[64];   /* a swarm deploy's release job began for this service */
};

/* The service's entry in the last deploy's stack steps (added when new). */
static size_t stack_entry(struct last *l, const char *service)
{
	size_t i;

	for (i = 0; i < l->n_stack; i++)
		if (!strcmp(l->stack[i].service, service))
			return i;
	if (l->n_stack < MAX_STACK)
		snprintf(l->stack[l->n_stack++].service, sizeof(l->stack[0].service), "%s", service);
	return i;
}

/* One service's containers, by the names a swap uses. */
struct slot {
	char *base;                         /* the service's container name */
	const vd_container_summary *placed; /* holds base */
	const vd_container_summary *aside;  /* base-voxdeploy-old */
	const vd_container_summary *tmp;    /* base-voxdeploy-new */
	bool started;
};

struct rec {
	vd_docker *d;
	const vd_recover_options *o;
	vd_recover_result *res;
	struct last last;
	vd_journal journal;
	vd_container_array list;
	struct slot *slots;
	size_t n;
	vd_progress progress;
};

const char *vd_recover_outcome_name(vd_recover_outcome o)
{
	static const char *const names[] = { "nothing", "completed", "restored", "failed" };

	return (unsigned)o < 4 ? names[o] : "?";
}

static int on_record(yajl_val v, void *ctx, vd_error *err)
{
	struct last *l = ctx;
	const char *id = vd_json_str(v, "deploy_id"), *step = vd_json_str(v, "step");
	const char *state = vd_json_str(v, "state"), *detail = vd_json_str(v, "detail");
	const char *service = vd_json_str(v, "service");
	size_t i;

	if (!id || !step || !state)
		return 0;
	if (strcmp(id, l->id)) {
		memset(l, 0, sizeof(*l));
		snprintf(l->id, sizeof(l->id), "%s", id);
	}
	l->seq = (unsigned)vd_json_int(v, "seq", l->seq);
	if (!strcmp(step, "deploy") && strcmp(state, "begin"))
		l->finished = true;
	if (!strcmp(step, "checkout") && !strcmp(state, "begin"))
		l->checked_out = true;
	if (!strcmp(step, "checkout") && !strcmp(state, "done") && detail && !strncmp(detail, "back to", 7))
		l->checked_out = false;
	if (!strcmp(step, "plan") && !strcmp(state, "done") && detail)
		snprintf(l->type, sizeof(l->type), "%.*s", (int)strcspn(detail, ":"), detail);
	/* swap_swarm.c's steps (after its "swarm" step): create/update begin
	 * before the call, restore done after its undo */
	if (!strcmp(step, "swarm"))
		l->swarm = true;
	if (!l->swarm)
		return 0;
	if (service && (!strcmp(step, "create") || !strcmp(step, "update")) && !strcmp(state, "begin")) {
		i = stack_entry(l, service);
		if (i < l->n_stack)
			l->stack[i].created = !strcmp(step, "create");
	}
	if (service && !strcmp(step, "release") && !strcmp(state, "begin"))
		snprintf(l->release, sizeof(l->release), "%s", service);
	if (service && !strcmp(step, "restore") && !strcmp(state, "done") && l->n_stack &&
	    (i = stack_entry(l, service)) < l->n_stack)
		l->stack[i].undone = true;
	return 0;
}

static void tell(struct rec *r, const char *step, const char *state, const char *service,
		 uint64_t started, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* Journal (under the interrupted deploy's id) and progress; a journal that
 * cannot be written is logged, not fatal: putting the server right comes
 * first. */
static void tell(struct rec *r, const char *step, const char *state, const char *service,
		 uint64_t started, const char *fmt, ...)
{
	vd_error e = VD_ERROR_INIT;
	char detail[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	if (vd_progress_step(&r->progress, step, state, service, detail, started, &e))
		vd_log(VD_LOG_WARN, "journal: %s", vd_error_msg(&e));
	vd_error_release(&e);
}

static bool ends_with(const char *s, const char *suffix, size_t *base_len)
{
	size_t n = strlen(s), m = strlen(suffix);

	if (n <= m || strcmp(s + n - m, suffix))
		return false;
	*base_len = n - m;
	return true;
}

static struct slot *slot_for(struct rec *r, const char *base, size_t len)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		if (strlen(r->slots[i].base) == len && !strncmp(r->slots[i].base, base, len))
			return &r->slots[i];
	r->slots[r->n].base = strndup(base, len);
	return r->slots[r->n].base ? &r->slots[r->n++] : NULL;
}

/* Group the project's containers by the service name they stand for. */
static int gather(struct rec *r, vd_error *err)
{
	const char *pairs[3] = { "label", NULL, NULL };
	char label[300];
	size_t i, len;
	int rc;

	snprintf(label, sizeof(label), LABEL_PROJECT "=%s", r->o->project->name);
	pairs[1] = label;
	if ((rc = vd_container_list(r->d, true, pairs, &r->list, err)))
		return vd_error_prefix(err, "list the project's containers");
	if (!(r->slots = calloc(r->list.len + 1, sizeof(*r->slots))))
		return vd_error_set(err, VD_ENOMEM, "out of memory");
	for (i = 0; i < r->list.len; i++) {
		const vd_container_summary *c = &r->list.items[i];
		struct slot *s;

		if (ends_with(c->name, VD_SWAP_OLD_SUFFIX, &len)) {
			if (!(s = slot_for(r, c->name, len)))
				return vd_error_set(err, VD_ENOMEM, "out of memory");
			s->aside = c;
		} else if (ends_with(c->name, VD_SWAP_NEW_SUFFIX, &len)) {
			if (!(s = slot_for(r, c->name, len)))
				return vd_error_set(err, VD_ENOMEM, "out of memory");
			s->tmp = c;
		} else if (ends_with(c->name, VD_SWAP_RELEASE_SUFFIX, &len)) {
			/* a release step killed with its deploy: never left running */
			vd_error e = VD_ERROR_INIT;

			if (vd_container_remove(r->d, c->id, true, true, &e))
				vd_log(VD_LOG_WARN, "cannot remove %s: %s", c->name, vd_error_msg(&e));
			else
				vd_log(VD_LOG_WARN, "removed %s, left by a deploy that did not finish", c->name);
			vd_error_release(&e);
		}
	}
	for (i = 0; i < r->list.len; i++) {
		const vd_container_summary *c = &r->list.items[i];
		size_t j;

		for (j = 0; j < r->n; j++)
			if (!strcmp(c->name, r->slots[j].base))
				r->slots[j].placed = c;
	}
	return 0;
}

static bool from_this_deploy(const struct rec *r, const vd_container_summary *c)
{
	const char *id = vd_kvs_get(&c->labels, LABEL_DEPLOY);

	return id && !strcmp(id, r->res->deploy_id);
}

/* The containers the interrupted deploy created that hold a service name. */
static size_t placed_by_deploy(const struct rec *r, bool *all_running)
{
	size_t i, n = 0;

	*all_running = true;
	for (i = 0; i < r->list.len; i++) {
		const vd_container_summary *c = &r->list.items[i];
		size_t len;

		if (!from_this_deploy(r, c) || ends_with(c->name, VD_SWAP_NEW_SUFFIX, &len))
			continue;
		n++;
		if (strcmp(c->state, "running"))
			*all_running = false;
	}
	return n;
}

static bool can_complete(const struct rec *r)
{
	bool running;
	size_t i;

	if (!placed_by_deploy(r, &running) || !running)
		return false;
	for (i = 0; i < r->n; i++) {
		if (r->slots[i].tmp)
			return false;
		if (r->slots[i].aside && (!r->slots[i].placed || !from_this_deploy(r, r->slots[i].placed)))
			return false;
	}
	return true;
}

/* Some container of the project waits for `service` with condition
 * service_completed_successfully (compose's depends_on label,
 * "svc:condition:restart,..."): a one-shot, done once it exited 0. */
static bool one_shot(const struct rec *r, const char *service)
{
	size_t i, len = service ? strlen(service) : 0;

	for (i = 0; service && i < r->list.len; i++) {
		const char *d = vd_kvs_get(&r->list.items[i].labels, LABEL_DEPENDS);

		while (d && *d) {
			if (!strncmp(d, service, len) && d[len] == ':' &&
			    !strncmp(d + len + 1, "service_completed_successfully", 30))
				return true;
			d = strchr(d, ',');
			d = d ? d + 1 : NULL;
		}
	}
	return false;
}

/* The given containers (by id) and the configured probes; 0 when healthy. */
static int prove(struct rec *r, const vd_container_summary *const *cs, size_t n, vd_error *err)
{
	vd_prove_target *t = calloc(n + 1, sizeof(*t));
	vd_prove_options po;
	vd_health_report rep;
	size_t i;
	int rc;

	if (!t)
		return vd_error_set(err, VD_ENOMEM, "out of memory");
	for (i = 0; i < n; i++) {
		t[i].service = vd_kvs_get(&cs[i]->labels, LABEL_SERVICE);
		t[i].id = cs[i]->id;
		t[i].one_shot = one_shot(r, t[i].service);
	}
	memset(&po, 0, sizeof(po));
	po.targets = t;
	po.n_targets = n;
	po.probes = r->o->probes;
	po.n_probes = r->o->n_probes;
	po.deadline_ms = r->o->health_deadline_ms;
	po.stable_ms = r->o->stable_ms;
	po.fast_check_ms = r->o->fast_check_ms;
	rc = vd_prove(r->d, &r->progress, &po, &rep, err);
	vd_health_report_release(&rep);
	free(t);
	return rc;
}

static int complete(struct rec *r, vd_error *err)
{
	const vd_container_summary **cs = calloc(r->list.len + 1, sizeof(*cs));
	vd_kvs images = { NULL, 0 }, containers = { NULL, 0 };
	const char *commit = NULL;
	size_t i, n = 0;
	int rc = 0;

	if (!cs)
		return vd_error_set(err, VD_ENOMEM, "out of memory");
	for (i = 0; i < r->list.len; i++) {
		const vd_container_summary *c = &r->list.items[i];
		const char *svc = vd_kvs_get(&c->labels, LABEL_SERVICE);

		if (!from_this_deploy(r, c))
			continue;
		cs[n++] = c;
		commit = vd_kvs_get(&c->labels, LABEL_COMMIT);
		if (svc && (vd_kvs_add(&images, svc, c->image_id) || vd_kvs_add(&containers, svc, c->id)))
			rc = vd_error_set(err, VD_ENOMEM, "out of memory");
	}
	if (!rc)
		rc = prove(r, cs, n, err);
	for (i = 0; !rc && i < r->n; i++) {
		vd_error e = VD_ERROR_INIT;

		if (!r->slots[i].aside)
			continue;
		if (vd_container_remove(r->d, r->slots[i].aside->id, true, false, &e))
			vd_log(VD_LOG_WARN, "cannot remove %s: %s", r->slots[i].aside->name, vd_error_msg(&e));
		vd_error_release(&e);
	}
	if (!rc && commit)
		rc = vd_state_update(r->o->state_dir, r->o->project->name, commit, r->res->deploy_id,
				     &images, &containers, err);
	vd_kvs_release(&images);
	vd_kvs_release(&containers);
	free(cs);
	return rc;
}

/* Whether every service the container depends on has been started. */
static bool deps_started(const struct rec *r, const vd_container_summary *c)
{
	const char *deps = vd_kvs_get(&c->labels, LABEL_DEPENDS);
	size_t i;

	while (deps && *deps) {
		size_t len = strcspn(deps, ":,");
		bool started = true;

		for (i = 0; i < r->n; i++) {
			const vd_container_summary *o = r->slots[i].aside;
			const char *svc = o ? vd_kvs_get(&o->labels, LABEL_SERVICE) : NULL;

			if (svc && strlen(svc) == len && !strncmp(svc, deps, len) && !r->slots[i].started)
				started = false;
		}
		if (!started)
			return false;
		deps = strchr(deps, ',');
		deps = deps ? deps + 1 : NULL;
	}
	return true;
}

/* Point the container's image reference back at the image it runs.  With
 * only_built, only when the reference now names an image voxdeploy built
 * (a deploy moved it; anything else is the operator's). */
static void retag(struct rec *r, const vd_container_summary *old, bool only_built)
{
	vd_error e = VD_ERROR_INIT;
	vd_container_info ci;
	vd_image_info info;
	char *repo = NULL, *colon, *slash;
	bool same = false;

	/* the list shows an image id once the reference has moved: inspect
	 * for the reference the container was created from */
	if (vd_container_inspect(r->d, old->id, &ci, &e)) {
		vd_log(VD_LOG_WARN, "cannot inspect %s: %s", old->name, vd_error_msg(&e));
		vd_error_release(&e);
		return;
	}
	if (!ci.config_image || !strncmp(ci.config_image, "sha256:", 7) || !ci.image_id)
		goto done;
	if (!vd_image_inspect(r->d, ci.config_image, &info, &e)) {
		same = !strcmp(info.id, ci.image_id) ||
		       (only_built && !vd_kvs_get(&info.labels, LABEL_COMMIT));
		vd_image_info_release(&info);
	}
	vd_error_release(&e);
	if (same || !(repo = strdup(ci.config_image)))
		goto done;
	slash = strrchr(repo, '/');
	colon = strrchr(slash ? slash : repo, ':');
	if (colon)
		*colon = '\0';
	if (vd_image_tag(r->d, ci.image_id, repo, colon ? colon + 1 : "latest", &e))
		vd_log(VD_LOG_ERROR, "cannot tag %s back to %.19s: %s", ci.config_image, ci.image_id,
		       vd_error_msg(&e));
	else
		tell(r, "tag", "done", vd_kvs_get(&old->labels, LABEL_SERVICE), 0, "%s is %.19s again",
		     ci.config_image, ci.image_id);
	vd_error_release(&e);
done:
	free(repo);
	vd_container_info_release(&ci);
}

static int restore(struct rec *r, vd_error *err)
{
	const vd_container_summary **cs = calloc(r->n + 1, sizeof(*cs));
	const char **ids = calloc(r->n + 1, sizeof(*ids)), **names = calloc(r->n + 1, sizeof(*names));
	size_t *batch = calloc(r->n + 1, sizeof(*batch));
	vd_error e = VD_ERROR_INIT;
	size_t i, n = 0, pass;
	int rc = 0;

	if (!cs || !ids || !names || !batch) {
		free(cs);
		free(ids);
		free(names);
		free(batch);
		return vd_error_set(err, VD_ENOMEM, "out of memory");
	}
	for (i = 0; i < r->n; i++) {
		struct slot *s = &r->slots[i];

		if (s->tmp && vd_container_remove(r->d, s->tmp->id, true, false, &e) && !rc)
			rc = vd_error_set(err, e.code, "remove %s: %s", s->tmp->name, vd_error_msg(&e));
		vd_error_release(&e);
		if (!s->aside)
			continue;
		if (s->placed && vd_container_remove(r->d, s->placed->id, true, false, &e) && !rc)
			rc = vd_error_set(err, e.code, "remove %s: %s", s->placed->name, vd_error_msg(&e));
		vd_error_release(&e);
		if (vd_container_rename(r->d, s->aside->id, s->base, &e) && !rc)
			rc = vd_error_set(err, e.code, "rename %s back: %s", s->aside->name, vd_error_msg(&e));
		vd_error_release(&e);
		retag(r, s->aside, false);
		tell(r, "restore", "done", vd_kvs_get(&s->aside->labels, LABEL_SERVICE), 0,
		     "%s is %.12s again", s->base, s->aside->id);
	}
	/* a deploy killed after moving the image reference, before any swap */
	for (i = 0; i < r->list.len; i++) {
		const vd_container_summary *c = &r->list.items[i];
		size_t len;

		if (!from_this_deploy(r, c) && !strcmp(c->state, "running") &&
		    !ends_with(c->name, VD_SWAP_OLD_SUFFIX, &len) &&
		    !ends_with(c->name, VD_SWAP_NEW_SUFFIX, &len))
			retag(r, c, true);
	}
	/* start in dependency order: a pass starts, at once, what has its
	 * dependencies started */
	for (pass = 0; pass <= r->n; pass++) {
		size_t k = 0, m = 0;

		for (i = 0; i < r->n; i++) {
			struct slot *s = &r->slots[i];

			if (!s->aside || s->started || !deps_started(r, s->aside))
				continue;
			batch[m++] = i;
			/* a one-shot completed before the deploy: it stays as it
			 * was (starting it would run its migration again) */
			if (one_shot(r, vd_kvs_get(&s->aside->labels, LABEL_SERVICE)) &&
			    strcmp(s->aside->state, "running"))
				continue;
			ids[k] = s->aside->id;
			names[k++] = s->base;
			cs[n++] = s->aside;
		}
		/* this pass's dependents wait for the next one */
		for (i = 0; i < m; i++)
			r->slots[batch[i]].started = true;
		if (k && vd_container_start_all(r->d, ids, names, k, RECOVER_PARALLEL, &e) && !rc)
			rc = vd_error_set(err, e.code, "%s", vd_error_msg(&e));
		vd_error_release(&e);
	}
	if (!rc)
		rc = prove(r, cs, n, err);
	free(cs);
	free(ids);
	free(names);
	free(batch);
	return rc;
}

static void checkout_back(struct rec *r)
{
	vd_state st;
	vd_git *g = NULL;
	vd_error e = VD_ERROR_INIT;

	memset(&st, 0, sizeof(st));
	if (!r->last.checked_out || vd_state_load(r->o->state_dir, &st, &e) || !st.commit) {
		vd_error_release(&e);
		vd_state_release(&st);
		return;
	}
	if (vd_git_open(r->o->project->dir, &g, &e) || vd_git_checkout(g, st.commit, true, &e))
		vd_log(VD_LOG_ERROR, "cannot check the deployed commit %.12s out again: %s", st.commit,
		       vd_error_msg(&e));
	else
		tell(r, "checkout", "done", NULL, 0, "back to %.12s", st.commit);
	vd_error_release(&e);
	vd_git_free(g);
	vd_state_release(&st);
}

/* How it ended: the result, told, and the interrupted deploy's final
 * record (state: what became of that deploy). */
static void finish(struct rec *r, vd_recover_outcome outcome, const char *state, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void finish(struct rec *r, vd_recover_outcome outcome, const char *state, const char *fmt, ...)
{
	vd_progress_summary s = { r->last.type[0] ? r->last.type : NULL, NULL, NULL, NULL, NULL,
				  r->res->detail };
	vd_error e = VD_ERROR_INIT;
	va_list ap;

	r->res->outcome = outcome;
	va_start(ap, fmt);
	vsnprintf(r->res->detail, sizeof(r->res->detail), fmt, ap);
	va_end(ap);
	tell(r, "recover", outcome == VD_RECOVER_FAILED ? "failed" : "done", NULL, r->progress.t0, "%s",
	     r->res->detail);
	if (vd_progress_finish(&r->progress, state, &s, &e))
		vd_log(VD_LOG_WARN, "journal: %s", vd_error_msg(&e));
	vd_error_release(&e);
}

/* An interrupted swarm deploy is undone: a dump's helper and its release
 * job removed (when it began them), then every service whose update (or creation) carries its
 * deploy id goes back to its previous spec (or is removed), last first,
 * each waited for. */
static int undo_stack(struct rec *r, vd_error *err)
{
	vd_error e = VD_ERROR_INIT;
	size_t i;
	int rc = 0;

	/* a dump's helper container, when the deploy was killed during one */
	vd_backup_swarm_clean(r->d, r->o->project->name, &e);
	vd_error_release(&e);
	if (r->last.release[0]) {
		char job[320];

		snprintf(job, sizeof(job), "%s_%s%s", r->o->project->name, r->last.release,
			 VD_SWAP_RELEASE_SUFFIX);
		if (!vd_service_remove(r->d, job, &e))
			tell(r, "restore", "done", r->last.release, vd_now_ms(), "the release job %s removed", job);
		vd_error_release(&e);
	}
	for (i = r->last.n_stack; i-- > 0 && !rc;) {
		vd_service_info info;
		char name[256];
		const char *svc = r->last.stack[i].service, *by;
		uint64_t t = vd_now_ms();

		if (r->last.stack[i].undone)
			continue;
		snprintf(name, sizeof(name), "%s_%s", r->o->project->name, svc);
		memset(&info, 0, sizeof(info));
		rc = vd_service_inspect(r->d, name, &info, err);
		if (rc == VD_ENOTFOUND) {
			vd_error_release(err);
			rc = 0;
			continue;
		}
		by = rc ? NULL : vd_kvs_get(&info.labels, LABEL_DEPLOY);
		if (!rc && by && !strcmp(by, r->last.id)) {
			tell(r, "restore", "begin", svc, 0, "%s: %s", name,
			     r->last.stack[i].created ? "remove" : "rollback=previous");
			rc = vd_swap_swarm_undo(r->d, info.id, svc, r->last.stack[i].created, NULL,
						r->o->health_deadline_ms ? r->o->health_deadline_ms
									 : STACK_UNDO_MS, err);
			if (rc)
				tell(r, "restore", "failed", svc, t, "%s", vd_error_msg(err));
			else
				tell(r, "restore", "done", svc, t, "%s", name);
		}
		vd_service_info_release(&info);
	}
	return rc;
}

static int act(struct rec *r, vd_error *err)
{
	size_t i, leftovers = 0, unscaled = 0;
	int rc;

	/* a swarm's stack: writers a killed restore left at 0 come back first */
	if (r->last.swarm && r->last.finished &&
	    (rc = vd_backup_swarm_leftovers(r->d, r->o->project->name,
					    r->o->health_deadline_ms ? r->o->health_deadline_ms : STACK_UNDO_MS,
					    &r->progress, &unscaled, err))) {
		r->res->outcome = VD_RECOVER_FAILED;
		snprintf(r->res->detail, sizeof(r->res->detail), "%s", vd_error_msg(err));
		vd_error_release(err);
		return 0;
	}
	if (unscaled) {
		r->res->outcome = VD_RECOVER_RESTORED;
		snprintf(r->res->detail, sizeof(r->res->detail), "%zu service%s a restore left at 0 replicas "
			 "run on their spec again", unscaled, unscaled == 1 ? "" : "s");
		return 0;
	}

	for (i = 0; i < r->n; i++)
		leftovers += r->slots[i].aside || r->slots[i].tmp;
	if (!r->last.id[0] || (r->last.finished && !leftovers)) {
		snprintf(r->res->detail, sizeof(r->res->detail), "the last deploy finished; nothing to do");
		return 0;
	}
	snprintf(r->res->deploy_id, sizeof(r->res->deploy_id), "%s", r->last.id);
	if ((rc = vd_journal_open(r->o->state_dir, r->last.id, &r->journal, err)))
		return rc;
	r->journal.seq = r->last.seq;
	if (r->last.swarm && !r->last.finished) {
		tell(r, "recover", "begin", NULL, 0, "a deploy of the stack, %zu service%s touched",
		     r->last.n_stack, r->last.n_stack == 1 ? "" : "s");
		checkout_back(r);
		if ((rc = undo_stack(r, err))) {
			finish(r, VD_RECOVER_FAILED, "restore_failed", "the rollback failed: %s",
			       vd_error_msg(err));
			vd_error_release(err);
			return 0;
		}
		finish(r, VD_RECOVER_RESTORED, "failed",
		       "deploy %s was undone: its services are back on their previous spec", r->last.id);
		return 0;
	}
	tell(r, "recover", "begin", NULL, 0, "%zu service%s left mid-swap", leftovers,
	     leftovers == 1 ? "" : "s");
	if (can_complete(r)) {
		vd_error why = VD_ERROR_INIT;

		if (!complete(r, &why)) {
			finish(r, VD_RECOVER_COMPLETED, "done",
			       "the new version of deploy %s runs and is healthy", r->last.id);
			return 0;
		}
		vd_log(VD_LOG_WARN, "cannot complete deploy %s: %s; restoring", r->last.id,
		       vd_error_msg(&why));
		vd_error_release(&why);
		/* the complete path removed nothing when the proof failed */
	}
	checkout_back(r);
	if ((rc = restore(r, err))) {
		finish(r, VD_RECOVER_FAILED, "restore_failed", "the restore failed: %s", vd_error_msg(err));
		vd_error_release(err);
		return 0;
	}
	finish(r, VD_RECOVER_RESTORED, "failed",
	       "deploy %s was undone: the previous version runs and is healthy", r->last.id);
	return 0;
}

int vd_recover_run(vd_docker *d, const vd_recover_options *o, vd_recover_result *out,
		   vd_error *err)
{
	struct rec r;
	vd_lock lock = VD_LOCK_INIT;
	size_t i;
	int rc;

	memset(&r, 0, sizeof(r));
	memset(out, 0, sizeof(*out));
	r.d = d;
	r.o = o;
	r.res = out;
	r.journal.fd = -1;
	r.progress.deploy_id = out->deploy_id;
	r.progress.journal = &r.journal;
	r.progress.t0 = vd_now_ms();
	r.progress.fn = o->progress;
	r.progress.ctx = o->progress_ctx;
	if (!o->locked && (rc = vd_lock_acquire(o->state_dir, "recover", NULL, &lock, err)))
		return rc;
	/* a dump killed with its deploy left a partial file: never a backup */
	vd_backup_clean_partial(o->state_dir);
	rc = vd_journal_read(o->state_dir, JOURNAL_WINDOW, on_record, &r.last, err);
	if (rc == VD_ENOTFOUND) {
		vd_error_release(err);
		rc = 0;
	}
	if (!rc && !(rc = gather(&r, err)))
		rc = act(&r, err);
	vd_journal_close(&r.journal);
	for (i = 0; i < r.n; i++)
		free(r.slots[i].base);
	free(r.slots);
	vd_container_array_release(&r.list);
	vd_lock_release(&lock);
	return rc;
}
