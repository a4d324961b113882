/* voxdeploy — the swap on a Swarm manager: the project's stack (services
 * <project>_<service>, model/stack.h) created or updated in dependency
 * order, each waited for until it converged; then the proof; on a failure
 * every service this deploy updated is rolled back to its previous spec
 * (POST /services/{id}/update?rollback=previous) and the services it
 * created are removed, and the rollback is proven in turn.
 *
 * Before anything is touched: the engine must be a manager, the compose
 * file a stack's (vd_stack_check), the built images must be able to reach
 * every node (deploy.registry, or a swarm of one node), the images built
 * and pushed, the stack's databases dumped (backup_swarm.c).  A build, a
 * push or a dump that fails ends the deploy with nothing changed.  Every update forces new tasks (TaskTemplate.ForceUpdate + 1):
 * a deploy restarts what it names, as on one engine.  The order is the
 * swarm's own stop-first unless the file (update_config.order) or
 * voxdeploy.yml (deploy.services.NAME.order) says start-first.
 * deploy.release runs as a job service of the new spec before its service
 * changes (rollout/release.h).  The waits, the proof and the rollback are
 * swap_swarm_end.c's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "controller/model/spec.h"
#include "controller/model/stack.h"
#include "controller/rollout/release.h"
#include "controller/rollout/swap_private.h"
#include "docker_api/image.h"
#include "docker_api/network.h"
#include "docker_api/swarm.h"

#define DEFAULT_STABLE_MS 5000
#define TAG_PREFIX "voxdeploy-"

static void swarm_release(struct vd_swarm_swap *x)
{
	size_t i;

	for (i = 0; x->s && i < x->w->n; i++) {
		free(x->s[i].name);
		free(x->s[i].id);
		free(x->s[i].image);
		free(x->s[i].image_label);
	}
	free(x->s);
}

/* ------------------------------------------------------------------ checks */

static bool any_built(const vd_swap *w)
{
	size_t i;

	for (i = 0; i < w->n; i++)
		if (w->v[i].s->build)
			return true;
	return false;
}

/* The engine manages a swarm; built images can reach its nodes. */
static int check_swarm(struct vd_swarm_swap *x, vd_error *err)
{
	const vd_swap_options *o = x->w->o;
	vd_swarm_state st;
	int rc;

	if ((rc = vd_swarm_state_get(x->w->d, &st, err)))
		return vd_error_prefix(err, "deploy.backend swarm");
	if (strcmp(st.node_state, "active"))
		return vd_error_set(err, VD_EINVAL,
				    "deploy.backend is swarm, but this engine is in no swarm (its node state "
				    "is '%s'): deploy through a manager of the swarm (docker swarm init makes one)",
				    *st.node_state ? st.node_state : "inactive");
	if (!st.manager)
		return vd_error_set(err, VD_EINVAL,
				    "deploy.backend is swarm, but this engine is a worker of its swarm: deploy "
				    "through a manager (docker node ls there lists them)");
	x->nodes = st.nodes;
	/* (rollback to the previous spec pulls what that spec names) */
	if (!o->registry && st.nodes > 1 && any_built(x->w) &&
	    !(o->rollback_tag && !strcmp(o->rollback_tag, "voxdeploy-previous")))
		return vd_error_set(err, VD_EINVAL,
				    "the swarm has %lld nodes, and a built image stays on the manager: set "
				    "deploy.registry in voxdeploy.yml for the nodes to pull it from",
				    (long long)st.nodes);
	return 0;
}

const char *vd_swarm_auth(const struct vd_swarm_swap *x)
{
	const char *auth = x->w->o->registry_auth;

	return auth && *auth ? auth : NULL;
}

const char *vd_swarm_auth_for(const struct vd_swarm_swap *x, size_t i)
{
	const char *image = x->s[i].image ? x->s[i].image : x->w->v[i].s->image;

	/* a built service's images (this one, the one a rollback goes back
	 * to) are the registry's */
	return x->w->v[i].s->build || vd_image_from_registry(image, x->w->o->registry) ? vd_swarm_auth(x)
										     : NULL;
}

/* ------------------------------------------------------------------ images */

static void push_progress(void *ctx, const char *layer, const char *status)
{
	vd_log_debug("push %s: %s", layer ? layer : "", status ? status : "");
}

/* A built image: to the registry as <registry>/<repo>:voxdeploy-<sha12>,
 * pinned by the digest the push gives; without a registry the local tag
 * (one node). */
static int place_image(struct vd_swarm_swap *x, size_t i, vd_error *err)
{
	vd_swap *w = x->w;
	struct vd_swap_svc *v = &w->v[i];
	struct vd_swarm_svc *s = &x->s[i];
	vd_push_opts po = { vd_swarm_auth(x), push_progress, NULL, 0, 0 };
	char tag[64], *repo = NULL, *digest = NULL;
	uint64_t t = vd_now_ms();
	int rc;

	snprintf(tag, sizeof(tag), TAG_PREFIX "%s", w->sha12);
	if (!w->o->registry)
		return asprintf(&s->image, "%s:%s", v->repo, tag) < 0 ? vd_error_set(err, VD_ENOMEM, "out of memory")
									: 0;
	if (asprintf(&repo, "%s/%s", w->o->registry, v->repo) < 0)
		return vd_error_set(err, VD_ENOMEM, "out of memory");
	if (!(rc = vd_swap_step(w, "push", "begin", v, 0, err, "%s:%s", repo, tag))) {
		rc = vd_image_tag(w->d, v->new_image, repo, tag, err);
		if (!rc)
			rc = vd_image_push(w->d, repo, tag, &po, &digest, err);
		if (!rc && !digest)
			rc = vd_error_set(err, VD_EPROTO, "the engine told no digest for the push");
		if (rc) {
			vd_error e = VD_ERROR_INIT;

			vd_swap_step(w, "push", "failed", v, t, &e, "%s", vd_error_msg(err));
			vd_error_release(&e);
		} else if (asprintf(&s->image, "%s:%s@%s", repo, tag, digest) < 0 ||
			   asprintf(&s->image_label, "%s:%s", repo, tag) < 0) {
			rc = vd_error_set(err, VD_ENOMEM, "out of memory");
		} else {
			rc = vd_swap_step(w, "push", "done", v, t, err, "%s", digest);
		}
	}
	free(repo);
	free(digest);
	return rc;
}

/* rollback --to: the built app's image of that version as its deploy left
 * it — <registry>/<repo>:<tag> pinned by the digest the registry holds for
 * it, or without a registry the manager's own <repo>:<tag>.  VD_EINVAL
 * when there is none (nothing changed). */
static int pushed_image(struct vd_swarm_swap *x, vd_error *err)
{
	vd_swap *w = x->w;
	struct vd_swap_svc *v = &w->v[0];
	struct vd_swarm_svc *s = &x->s[0];
	const char *tag = w->o->rollback_tag;
	char *ref = NULL, *digest = NULL;
	vd_image_info info;
	int rc;

	if (w->n != 1 || !v->s->build)
		return vd_error_set(err, VD_EINVAL, "a rollback recreates the built app service only");
	/* the service's labels and the state name the whole commit */
	if (strlen(w->commit) != VD_SHA_HEX - 1)
		return vd_error_set(err, VD_EINVAL, "rollback --to %s: the checkout does not know that commit; "
				    "give the deploy id (voxdeploy history) or a commit it has", w->commit);
	if (w->o->registry ? asprintf(&ref, "%s/%s:%s", w->o->registry, v->repo, tag) < 0
			   : asprintf(&ref, "%s:%s", v->repo, tag) < 0)
		return vd_error_set(err, VD_ENOMEM, "out of memory");
	if (w->o->registry)
		rc = vd_image_registry_digest(w->d, ref, vd_swarm_auth(x), &digest, err);
	else if (!(rc = vd_image_inspect(w->d, ref, &info, err)))
		vd_image_info_release(&info);
	if (rc) {
		char *why = strdup(vd_error_msg(err));

		vd_error_release(err);
		rc = vd_error_set(err, VD_EINVAL, "no image %s for that version %s (a version deployed on "
				  "this swarm has one; voxdeploy history lists them): %s", ref,
				  w->o->registry ? "in the registry" : "on the manager", why ? why : "?");
		free(why);
	} else if (digest ? asprintf(&s->image, "%s@%s", ref, digest) < 0
			  : !(s->image = strdup(ref))) {
		s->image = NULL;
		rc = vd_error_set(err, VD_ENOMEM, "out of memory");
	} else if (!(s->image_label = strdup(ref))) {
		rc = vd_error_set(err, VD_ENOMEM, "out of memory");
	} else {
		rc = vd_swap_step(w, "build", "skipped", v, 0, err, "the pushed image %s", s->image);
	}
	free(ref);
	free(digest);
	return rc;
}

/* ------------------------------------------------------------------ networks */

/* Every network the stack's services use: an external one must exist, the
 * others are created (overlay, attachable default) when missing, never
 * changed. */
static int ensure_networks(vd_swap *w, vd_error *err)
{
	const vd_compose *c = w->c;
	vd_buf body = VD_BUF_INIT;
	char *id = NULL;
	size_t i;
	int rc = 0;

	for (i = 0; i < c->n_networks && !rc; i++) {
		const vd_compose_network *n = &c->networks[i];

		if (!vd_spec_network_used(c, n->key))
			continue;
		rc = vd_network_find(w->d, n->name, &id, err);
		if (rc == VD_ENOTFOUND && n->external)
			rc = vd_error_set(err, VD_ENOTFOUND, "network %s is declared external, but the swarm "
					  "has none of that name", n->name);
		else if (rc == VD_ENOTFOUND && !(rc = vd_stack_network(c, n, &body, err)))
			rc = vd_network_create(w->d, vd_buf_cstr(&body), &id, err);
		free(id);
		id = NULL;
		vd_buf_clear(&body);
		if (rc)
			vd_error_prefix(err, "network '%s'", n->key);
	}
	vd_buf_release(&body);
	return rc;
}

/* ------------------------------------------------------------------ one service */

static bool listed(const char *const *names, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(names[i], name))
			return true;
	return false;
}

static int service_spec(struct vd_swarm_swap *x, size_t i, int64_t force_update, vd_buf *out,
			vd_error *err)
{
	const vd_swap_options *o = x->w->o;
	vd_stack_options so = { 0 };

	so.image = x->s[i].image;
	so.image_label = x->s[i].image_label;
	so.commit = x->w->commit;
	so.deploy_id = o->deploy_id;
	so.start_first = listed(o->start_first, o->n_start_first, x->w->v[i].s->name);
	so.force_update = force_update;
	so.lookup = o->lookup;
	so.lookup_ctx = o->lookup_ctx;
	return vd_stack_service_spec(x->w->c, x->w->v[i].s, &so, out, err);
}

/* deploy.release for service i: a job of its new spec, before the service
 * changes (its dependencies have converged). */
static int release_step(struct vd_swarm_swap *x, size_t i, vd_error *err)
{
	const vd_config_release *rel = x->w->o->release;
	vd_buf spec = VD_BUF_INIT;
	int rc;

	if (!rel || strcmp(rel->service, x->w->v[i].s->name))
		return 0;
	if (!(rc = service_spec(x, i, 0, &spec, err)))
		rc = vd_release_swarm_run(x->w->d, vd_buf_cstr(&spec), rel->service, rel, vd_swarm_auth_for(x, i),
					  x->w->o->progress, err);
	vd_buf_release(&spec);
	return rc;
}

/* Create or update service i (the spec it ran before kept by the swarm as
 * its PreviousSpec), then wait for it to converge. */
static int put_service(struct vd_swarm_swap *x, size_t i, vd_error *err)
{
	vd_swap *w = x->w;
	struct vd_swarm_svc *s = &x->s[i];
	vd_service_update_opts uo = { vd_swarm_auth_for(x, i), false };
	vd_service_info info;
	vd_buf spec = VD_BUF_INIT;
	uint64_t t = vd_now_ms();
	int rc, tries;

	memset(&info, 0, sizeof(info));
	if ((rc = release_step(x, i, err)))
		return rc;
	t = vd_now_ms();
	for (tries = 0; tries < 3; tries++) {
		vd_service_info_release(&info);
		rc = vd_service_inspect(w->d, s->name, &info, err);
		if (rc == VD_ENOTFOUND) {
			vd_error_release(err);
			if ((rc = service_spec(x, i, 0, &spec, err)) ||
			    (rc = vd_swap_step(w, "create", "begin", &w->v[i], 0, err, "%s %s", s->name,
					       s->image ? s->image : w->v[i].s->image)))
				break;
			rc = vd_service_create(w->d, vd_buf_cstr(&spec), vd_swarm_auth_for(x, i), &s->id, err);
			s->created = !rc;
			if (!rc)
				rc = vd_swap_step(w, "create", "done", &w->v[i], t, err, "%s", s->id);
			break;
		}
		if (rc)
			break;
		vd_buf_clear(&spec);
		if ((rc = service_spec(x, i, info.force_update + 1, &spec, err)))
			break;
		if (!s->id && !(s->id = strdup(info.id))) {
			rc = vd_error_set(err, VD_ENOMEM, "out of memory");
			break;
		}
		s->before = info.version;
		if ((rc = vd_swap_step(w, "update", "begin", &w->v[i], 0, err, "%s version %lld, %s -> %s", s->name,
				       (long long)info.version, info.image ? info.image : "?",
				       s->image ? s->image : w->v[i].s->image)))
			break;
		rc = vd_service_update(w->d, info.id, info.version, vd_buf_cstr(&spec), &uo, err);
		if (rc != VD_ECONFLICT) {
			s->updated = !rc;
			if (!rc)
				rc = vd_swap_step(w, "update", "done", &w->v[i], t, err, "%s", s->name);
			break;
		}
		vd_error_release(err);  /* changed under us: read it again */
		vd_buf_clear(&spec);
	}
	vd_service_info_release(&info);
	vd_buf_release(&spec);
	if (rc)
		return vd_error_prefix(err, "service %s", s->name);
	t = vd_now_ms();
	if ((rc = vd_swap_step(w, "converge", "begin", &w->v[i], 0, err, NULL)))
		return rc;
	if ((rc = vd_swarm_converge(x, i, false, err))) {
		vd_error e = VD_ERROR_INIT;

		vd_swap_step(w, "converge", "failed", &w->v[i], t, &e, "%s", vd_error_msg(err));
		vd_error_release(&e);
		return vd_error_prefix(err, "service %s", s->name);
	}
	return vd_swap_step(w, "converge", "done", &w->v[i], t, err, NULL);
}

static int dry_run(struct vd_swarm_swap *x, vd_error *err)
{
	vd_swap *w = x->w;
	size_t i;
	int rc = 0;

	for (i = 0; i < w->n && !rc; i++) {
		if (w->v[i].s->build && w->o->registry)
			rc = vd_swap_step(w, "push", "would", &w->v[i], 0, err, "%s/%s:" TAG_PREFIX "%s",
					  w->o->registry, w->v[i].repo, w->sha12);
		if (!rc)
			rc = vd_swap_step(w, "update", "would", &w->v[i], 0, err, "%s, then wait for it to converge",
					  x->s[i].name);
	}
	return rc;
}

int vd_swap_swarm_detect(vd_docker *d, const char *project, bool *swarm, vd_error *err)
{
	vd_swarm_state st;
	vd_service_array list = { NULL, 0 };
	char label[512];
	const char *filters[] = { "label", label, NULL };
	int rc;

	*swarm = false;
	if ((rc = vd_swarm_state_get(d, &st, err)))
		return vd_error_prefix(err, "deploy.backend auto");
	if (strcmp(st.node_state, "active") || !st.manager)
		return 0;
	snprintf(label, sizeof(label), VD_STACK_NAMESPACE_LABEL "=%s", project);
	if ((rc = vd_service_list(d, filters, &list, err)))
		return vd_error_prefix(err, "deploy.backend auto");
	*swarm = list.len > 0;
	vd_service_array_release(&list);
	return 0;
}

int vd_swap_on_swarm(vd_docker *d, const vd_config *c, const char *project, bool *swarm, vd_error *err)
{
	*swarm = c->deploy.backend == VD_CONFIG_BACKEND_SWARM;
	if (c->deploy.backend == VD_CONFIG_BACKEND_AUTO)
		return vd_swap_swarm_detect(d, project, swarm, err);
	return 0;
}

int vd_swap_swarm_run(vd_docker *d, const vd_swap_options *o, vd_swap_result *out, vd_error *err)
{
	struct vd_swarm_swap x;
	vd_error why = VD_ERROR_INIT;
	vd_swap w;
	size_t i;
	int rc;

	memset(&w, 0, sizeof(w));
	memset(&x, 0, sizeof(x));
	w.d = d;
	w.o = o;
	w.deadline_ms = o->health_deadline_ms ? o->health_deadline_ms : VD_SWARM_DEFAULT_DEADLINE_MS;
	w.stable_ms = o->stable_ms ? o->stable_ms : DEFAULT_STABLE_MS;
	w.commit = o->commit;
	snprintf(w.sha12, sizeof(w.sha12), "%.12s", o->commit);
	x.w = &w;
	out->outcome = VD_DEPLOY_DONE;

	/* nothing is touched until every check has passed */
	/* the engine first: a file's faults matter once there is a swarm */
	if ((rc = vd_compose_load_project(o->project, o->lookup, o->lookup_ctx, &w.c, err)) ||
	    (rc = vd_swap_choose_services(&w, err)) || (rc = check_swarm(&x, err)) ||
	    (rc = vd_stack_check(w.c, err)))
		goto done;
	if (!(x.s = calloc(w.n + 1, sizeof(*x.s)))) {
		rc = vd_error_set(err, VD_ENOMEM, "out of memory");
		goto done;
	}
	for (i = 0; i < w.n; i++)
		if (!(x.s[i].name = vd_stack_service_name(w.c, w.v[i].s->name))) {
			rc = vd_error_set(err, VD_ENOMEM, "out of memory");
			goto done;
		}
	/* told and journalled: recover reads the steps after it as a stack's */
	if ((rc = vd_swap_step(&w, "swarm", "done", NULL, 0, err, "the stack %s on a swarm of %lld node%s",
			       w.c->name, (long long)x.nodes, x.nodes == 1 ? "" : "s")))
		goto done;
	if (o->rollback_tag && !strcmp(o->rollback_tag, "voxdeploy-previous")) {
		if (!(rc = vd_swarm_roll_back_app(&x, out, err)))
			vd_swarm_where_they_run(&x, out);
		goto done;
	}
	/* --to: the app on the image that version pushed, then as a deploy */
	if (o->rollback_tag) {
		if ((rc = pushed_image(&x, err)) || (rc = ensure_networks(&w, err)))
			goto done;
		goto update;
	}
	if (o->dry_run) {
		if (!(rc = vd_swap_build(&w, err)))
			rc = dry_run(&x, err);
		goto done;
	}
	/* a build or push that fails ends the deploy with the stack untouched */
	vd_swap_build(&w, &why);
	for (i = 0; i < w.n && !why.code; i++)
		if (w.v[i].s->build)
			place_image(&x, i, &why);
	if (why.code) {
		vd_swarm_fail_with(out, &why);
		out->outcome = VD_DEPLOY_FAILED;
		goto done;
	}
	if ((rc = ensure_networks(&w, err)))
		goto done;
	/* the databases dumped: a dump that fails ends the deploy, nothing changed */
	if (vd_swap_dump_swarm(&w, vd_swarm_auth(&x), &why)) {
		vd_swarm_fail_with(out, &why);
		out->outcome = VD_DEPLOY_FAILED;
		vd_swap_tell_dumps(&w, out);  /* those of the databases before it */
		goto done;
	}
update:
	/* from here on, a failure rolls the stack back */
	for (i = 0; i < w.n; i++)
		if (put_service(&x, i, &why))
			break;
	if (why.code || vd_swarm_prove(&x, false, out, &why)) {
		rc = vd_swarm_roll_back(&x, out, &why);
		vd_swap_tell_dumps(&w, out);
	} else
		rc = vd_swarm_finish(&x, out, err);
	vd_swarm_where_they_run(&x, out);
done:
	vd_error_release(&why);
	swarm_release(&x);
	vd_swap_release(&w);
	return rc;
}
