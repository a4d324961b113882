/* The single-engine swap: build while the old containers serve, tag, create
 * the new containers under temporary names, put them in place of the old
 * ones (kept aside, stopped), start, prove health; restore when anything
 * fails.  Images: swap_image.c. */
#include "controller/rollout/swap.h"
#include "controller/rollout/swap_private.h"
#include "common/clock.h"
#include "common/log.h"
#include "controller/model/spec.h"
#include "controller/rollout/release.h"
#include "controller/rollout/prove.h"
#include "docker_api/container.h"
#include "docker_api/image.h"
#include "health/wait.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define DEFAULT_STOP_S 10
#define DEFAULT_DEADLINE_MS 60000
#define DEFAULT_STABLE_MS 5000

/* ------------------------------------------------------------------ reporting */

int vd_swap_step(vd_swap *w, const char *step, const char *state, const struct vd_swap_svc *v,
		 uint64_t started, vd_error *err, const char *fmt, ...)
{
	char detail[1024] = "";
	va_list ap;

	if (fmt) {
		va_start(ap, fmt);
		vsnprintf(detail, sizeof(detail), fmt, ap);
		va_end(ap);
	}
	return vd_progress_step(w->o->progress, step, state, v ? v->s->name : NULL, fmt ? detail : NULL,
				started, err);
}

/* ------------------------------------------------------------------ preparing */

static void svc_release(struct vd_swap_svc *v)
{
	free(v->cname);
	free(v->tmpname);
	free(v->asidename);
	free(v->ref);
	free(v->repo);
	free(v->tag);
	free(v->old_id);
	free(v->old_image);
	free(v->old_hash);
	free(v->old_signal);
	free(v->new_image);
	free(v->new_id);
	vd_kvs_release(&v->inherit);
}

/* The old container's volumes the new one keeps: every volume mount whose
 * target the service does not give a named volume or a bind (anonymous
 * volumes and the image's VOLUMEs), as compose carries them. */
static int collect_inherit(struct vd_swap_svc *v, const vd_container_info *info)
{
	yajl_val mounts = vd_json_get(info->raw, "Mounts");
	size_t i, j;

	for (i = 0; i < vd_json_len(mounts); i++) {
		yajl_val m = vd_json_idx(mounts, i);
		const char *type = vd_json_str(m, "Type"), *name = vd_json_str(m, "Name");
		const char *dst = vd_json_str(m, "Destination");
		bool fixed = false;

		if (!type || strcmp(type, "volume") || !name || !dst)
			continue;
		for (j = 0; j < v->s->n_volumes; j++) {
			const vd_compose_mount *cm = &v->s->volumes[j];

			if (!strcmp(cm->target, dst) &&
			    (cm->type != VD_COMPOSE_MOUNT_VOLUME || cm->source))
				fixed = true;
		}
		if (!fixed && vd_kvs_add(&v->inherit, dst, name))
			return VD_ENOMEM;
	}
	return 0;
}

/* What runs now under the service's name; a container kept aside by an
 * interrupted deploy stops this one: recover first. */
static int look_at_old(vd_swap *w, struct vd_swap_svc *v, vd_error *err)
{
	vd_container_info info;
	int rc;

	rc = vd_container_inspect(w->d, v->asidename, &info, err);
	if (!rc) {
		vd_container_info_release(&info);
		return vd_error_set(err, VD_ECONFLICT,
				    "container %s is left from an interrupted deploy: run "
				    "`voxdeploy recover` first", v->asidename);
	}
	if (rc != VD_ENOTFOUND)
		return vd_error_prefix(err, "inspect %s", v->asidename);
	vd_error_release(err);
	rc = vd_container_inspect(w->d, v->tmpname, &info, err);
	if (!rc) {
		vd_container_info_release(&info);
		return vd_error_set(err, VD_ECONFLICT,
				    "container %s is left from an interrupted deploy: run "
				    "`voxdeploy recover` first", v->tmpname);
	}
	if (rc != VD_ENOTFOUND)
		return vd_error_prefix(err, "inspect %s", v->tmpname);
	vd_error_release(err);

	rc = vd_container_inspect(w->d, v->cname, &info, err);
	if (rc == VD_ENOTFOUND) {
		vd_error_release(err);
		return 0;  /* a first deploy of this service */
	}
	if (rc)
		return vd_error_prefix(err, "inspect %s", v->cname);
	if (vd_kvs_get(&info.labels, "com.docker.compose.config-hash") &&
	    !(v->old_hash = strdup(vd_kvs_get(&info.labels, "com.docker.compose.config-hash"))))
		rc = VD_ENOMEM;
	if (rc || !(v->old_id = strdup(info.id)) || !(v->old_image = strdup(info.image_id)) ||
	    collect_inherit(v, &info))
		rc = vd_error_set(err, VD_ENOMEM, "out of memory");
	v->old_running = info.running || info.restarting;
	if (!rc && vd_json_str(vd_json_get(info.raw, "Config"), "StopSignal") &&
	    !(v->old_signal = strdup(vd_json_str(vd_json_get(info.raw, "Config"), "StopSignal"))))
		rc = vd_error_set(err, VD_ENOMEM, "out of memory");
	vd_container_info_release(&info);
	return rc;
}

/* voxdeploy.yml's deploy.services.NAME.order says start-first (the compose
 * file's deploy.update_config.order is a Swarm's, as for compose itself: on
 * one engine two containers of a database must not share its volume). */
static bool wants_start_first(const vd_swap *w, const vd_compose_service *s)
{
	size_t i;

	for (i = 0; i < w->o->n_start_first; i++)
		if (!strcmp(w->o->start_first[i], s->name)) {
			for (i = 0; i < s->n_ports; i++)
				if (s->ports[i].published) {
					vd_log(VD_LOG_WARN, "service '%s' publishes host port %u: it is replaced "
					       "stop-first, not start-first", s->name,
					       (unsigned)s->ports[i].published);
					return false;
				}
			return true;
		}
	return false;
}

static int add_service(vd_swap *w, const vd_compose_service *s, vd_error *err)
{
	struct vd_swap_svc *v = &w->v[w->n++];
	char *colon, *slash;

	v->s = s;
	v->start_first = wants_start_first(w, s);
	v->stop_s = w->o->stop_grace_s > 0 ? w->o->stop_grace_s
		    : s->stop_grace_period_ns ? (int)(s->stop_grace_period_ns / 1000000000)
		    : DEFAULT_STOP_S;
	if (!(v->cname = vd_spec_container_name(w->c, s)) || !(v->ref = vd_spec_image_ref(w->c, s)) ||
	    asprintf(&v->tmpname, "%s" VD_SWAP_NEW_SUFFIX, v->cname) < 0 ||
	    asprintf(&v->asidename, "%s" VD_SWAP_OLD_SUFFIX, v->cname) < 0)
		return vd_error_set(err, VD_ENOMEM, "out of memory");
	/* repo and tag: the tag follows the last ':' after the last '/' */
	slash = strrchr(v->ref, '/');
	colon = strrchr(slash ? slash : v->ref, ':');
	v->repo = colon ? strndup(v->ref, (size_t)(colon - v->ref)) : strdup(v->ref);
	v->tag = strdup(colon ? colon + 1 : "latest");
	if (!v->repo || !v->tag)
		return vd_error_set(err, VD_ENOMEM, "out of memory");
	return 0;
}

int vd_swap_choose_services(vd_swap *w, vd_error *err)
{
	const vd_compose_service *s;
	const char *app = w->o->app_service;
	size_t i;
	int rc;

	if (!(w->v = calloc(w->c->n_services + 1, sizeof(*w->v))))
		return vd_error_set(err, VD_ENOMEM, "out of memory");
	if (!w->o->full) {
		if (!app)
			app = vd_compose_default_app(w->c);
		if (!app)
			return vd_error_set(err, VD_EINVAL,
					    "no app service: name it in voxdeploy.yml (app_service:) — none "
					    "has container_name voxpersona_app and several are built");
		if (!(s = vd_compose_service_find(w->c, app)))
			return vd_error_set(err, VD_EINVAL, "app service '%s' is not in the compose file",
					    app);
		return add_service(w, s, err);
	}
	for (i = 0; (s = vd_compose_ordered(w->c, i)); i++) {
		if (s->profiles.len)
			continue;  /* compose starts those only when their profile is asked */
		if ((rc = add_service(w, s, err)))
			return rc;
	}
	return 0;
}

/* The services and what runs now (several services at once). */
static int choose_services(vd_swap *w, vd_error *err)
{
	int rc = vd_swap_choose_services(w, err);

	return rc ? rc : vd_swap_each(w, look_at_old, err);
}

/* A built service's context and Dockerfile must be there before anything
 * is built or touched. */
static int check_dockerfile(const char *service, const vd_compose_build *b, vd_error *err)
{
	const char *df = b->dockerfile ? b->dockerfile : "Dockerfile";
	struct stat st;
	char *path = NULL;
	int rc = 0;

	if (stat(b->context, &st) || !S_ISDIR(st.st_mode))
		return vd_error_set(err, VD_EINVAL, "service '%s': the build context %s is not a directory",
				    service, b->context);
	if (asprintf(&path, "%s/%s", b->context, df) < 0)
		return vd_error_set(err, VD_ENOMEM, "out of memory");
	if (stat(path, &st) || !S_ISREG(st.st_mode))
		rc = vd_error_set(err, VD_EINVAL, "service '%s': the Dockerfile %s does not exist", service,
				  path);
	free(path);
	return rc;
}

/* The create body of every service, checked before anything is touched: a
 * variable the environment lacks or a bad mount fails here. */
static int check_specs(vd_swap *w, vd_error *err)
{
	vd_buf body = VD_BUF_INIT;
	size_t i;
	int rc = 0;

	for (i = 0; i < w->n && !rc; i++) {
		vd_spec_options so = VD_SPEC_OPTIONS_INIT;
		const vd_compose_build *b = w->v[i].s->build;

		if (b && (rc = check_dockerfile(w->v[i].s->name, b, err)))
			break;
		if (w->v[i].s->deploy.has_replicas && w->v[i].s->deploy.replicas != 1) {
			rc = vd_error_set(err, VD_EINVAL,
					  "service '%s': deploy.replicas: %lld: on one engine voxdeploy runs one "
					  "container per service (replicas: 1, or leave it out)",
					  w->v[i].s->name, (long long)w->v[i].s->deploy.replicas);
			break;
		}
		so.lookup = w->o->lookup;
		so.lookup_ctx = w->o->lookup_ctx;
		vd_buf_clear(&body);
		rc = vd_spec_container(w->c, w->v[i].s, &so, &body, err);
	}
	vd_buf_release(&body);
	return rc;
}

/* ------------------------------------------------------------------ containers */

static int create_new(vd_swap *w, struct vd_swap_svc *v, vd_error *err)
{
	vd_spec_options so = VD_SPEC_OPTIONS_INIT;
	const char *why;
	char hash[65];
	uint64_t t = vd_now_ms();
	int rc;

	so.image_id = v->new_image;
	so.commit = w->commit;
	so.deploy_id = w->o->deploy_id;
	so.lookup = w->o->lookup;
	so.lookup_ctx = w->o->lookup_ctx;
	so.inherit_volumes = v->inherit.len ? &v->inherit : NULL;
	if ((rc = vd_spec_config_hash(w->c, v->s, &so, hash, err)))
		return rc;
	/* a FULL_RESTART recreates every service; the journal says which needed it */
	if (!v->old_id)
		why = "new service";
	else if (strcmp(v->old_image, v->new_image) && (!v->old_hash || strcmp(v->old_hash, hash)))
		why = "needed: new image and configuration";
	else if (strcmp(v->old_image, v->new_image))
		why = "needed: new image";
	else if (!v->old_hash || strcmp(v->old_hash, hash))
		why = "needed: configuration changed";
	else
		why = "not needed: same image and configuration";
	if ((rc = vd_swap_step(w, "create", "begin", v, 0, err, "%s from %s (%s)", v->tmpname, v->ref,
			       why)))
		return rc;
	if ((rc = vd_spec_create(w->d, w->c, v->s, v->tmpname, &so, &v->new_id, err)))
		return rc;
	return vd_swap_step(w, "create", "done", v, t, err, "%.12s", v->new_id);
}

static int rename_to(vd_swap *w, const char *id, const char *name, vd_error *err)
{
	int rc = vd_container_rename(w->d, id, name, err);

	return rc ? vd_error_prefix(err, "rename %.12s", id) : 0;
}

/* Container id of service alone, healthy (its HEALTHCHECK, if any). */
int vd_swap_container_healthy(vd_swap *w, const char *service, const char *id, vd_error *err)
{
	vd_probe p;
	vd_health_wait_opts wo = VD_HEALTH_WAIT_OPTS_INIT;
	vd_health_report rep;
	int rc;

	memset(&p, 0, sizeof(p));
	p.kind = VD_PROBE_CONTAINER;
	p.service = service;
	p.container.ref = id;
	p.container.has_restart_baseline = true;
	wo.deadline_ms = w->deadline_ms;
	wo.fast_check_ms = w->o->fast_check_ms;
	wo.on_note = vd_prove_note;
	wo.note_ctx = w->o->progress;
	wo.cancel = w->cancel;
	rc = vd_health_wait(w->d, &p, 1, &wo, &rep, err);
	if (rc == 0 || rc == VD_EUNHEALTHY)
		vd_health_report_release(&rep);
	return rc;
}

static bool depends_on(const struct vd_swap_svc *v, const char *service)
{
	size_t j;

	for (j = 0; j < v->s->n_depends_on; j++)
		if (!strcmp(v->s->depends_on[j].service, service))
			return true;
	return false;
}

/* How many swapped services stand above v (depend on it, directly or not):
 * those stop first. */
static size_t stop_level(const vd_swap *w, size_t i, size_t depth)
{
	size_t j, level = 0;

	if (depth > w->n)
		return 0;  /* a cycle: compose refuses those; stay safe */
	for (j = 0; j < w->n; j++)
		if (j != i && depends_on(&w->v[j], w->v[i].s->name)) {
			size_t l = stop_level(w, j, depth + 1) + 1;

			if (l > level)
				level = l;
		}
	return level;
}

/* One old container of the level being stopped: its stop signal, what is
 * left of its grace period, then SIGKILL (stop with 0). */
static int stop_one(vd_swap *w, struct vd_swap_svc *v, vd_error *err)
{
	uint64_t t = vd_now_ms(), grace = (uint64_t)v->stop_s * 1000, spent;
	vd_error e = VD_ERROR_INIT;
	int rc;

	if (!v->stopping || v->group != w->group_now)
		return 0;
	if ((rc = vd_swap_step(w, "stop", "begin", v, 0, err, "%.12s (grace %d s)", v->old_id, v->stop_s)))
		return rc;
	/* not running any more, or gone: the stop below says */
	vd_container_kill(w->d, v->old_id, v->old_signal ? v->old_signal : "SIGTERM", &e);
	vd_error_release(&e);
	spent = vd_now_ms() - t;
	if (grace > spent)
		vd_container_wait(w->d, v->old_id, "not-running", (long)(grace - spent), NULL, &e);
	vd_error_release(&e);
	if ((rc = vd_container_stop(w->d, v->old_id, 0, err)))
		return rc;
	return vd_swap_step(w, "stop", "done", v, t, err, "%.12s", v->old_id);
}

/* Stop the old containers in reverse dependency order, every service of a
 * level at once (each on its own thread: their grace periods overlap).
 * Independent services (the app and a worker) thus cost the longest grace,
 * not the sum.  A database to dump is dumped at its level, before its
 * stop. */
static int stop_olds(vd_swap *w, size_t group, vd_error *err)
{
	size_t level, i, max = 0, n;
	int rc;

	for (i = 0; i < w->n; i++)
		if (w->v[i].group == group && (w->v[i].level = stop_level(w, i, 0)) > max)
			max = w->v[i].level;
	for (level = 0; level <= max; level++) {
		for (i = 0; i < w->n; i++)
			if (w->v[i].group == group && w->v[i].level == level &&
			    (rc = vd_swap_dump_before_stop(w, &w->v[i], err)))
				return rc;
		for (i = n = 0; i < w->n; i++) {
			struct vd_swap_svc *v = &w->v[i];

			if (v->group != group)
				continue;  /* another group's, maybe being stopped now */
			v->stopping = v->level == level && !v->start_first && v->old_id && v->old_running;
			n += v->stopping;
		}
		/* every stop of the level at once, whatever deploy.parallel says */
		w->group_now = group;
		rc = n ? vd_swap_each_bounded(w, stop_one, n, err) : 0;
		for (i = 0; i < w->n; i++)
			if (w->v[i].group == group)
				w->v[i].stopping = false;
		if (rc)
			return rc;
	}
	return 0;
}

/* Put the new containers in place: names first (the old ones keep serving
 * under their aside names), then stop the old ones in reverse dependency
 * order and start the new ones in dependency order.  The window without a
 * service is one stop and one start. */
static int swap_group(vd_swap *w, size_t g, vd_error *err);

/* The groups of services linked by depends_on (connected, either way),
 * numbered by their first service in dependency order. */
static void group_services(vd_swap *w)
{
	size_t i, j, k, next = 0;
	bool changed = true;

	for (i = 0; i < w->n; i++)
		w->v[i].group = i;
	while (changed) {
		changed = false;
		for (i = 0; i < w->n; i++)
			for (j = 0; j < w->n; j++)
				if (depends_on(&w->v[i], w->v[j].s->name) &&
				    w->v[i].group != w->v[j].group) {
					size_t lo = w->v[i].group < w->v[j].group ? w->v[i].group : w->v[j].group;
					size_t hi = w->v[i].group + w->v[j].group - lo;

					for (k = 0; k < w->n; k++)
						if (w->v[k].group == hi)
							w->v[k].group = lo;
					changed = true;
				}
	}
	/* merging keeps the smaller number, so a group is numbered by its first
	 * member's index: renumber 0, 1, ... in the order of first appearance
	 * (v[i] is renumbered at step i; an earlier member already was) */
	for (i = 0; i < w->n; i++)
		w->v[i].group = w->v[i].group == i ? next++ : w->v[w->v[i].group].group;
}

static int rename_new(vd_swap *w, struct vd_swap_svc *v, vd_error *err)
{
	uint64_t t = vd_now_ms();
	int rc;

	if ((rc = rename_to(w, v->new_id, v->cname, err)))
		return rc;
	v->placed = true;
	return vd_swap_step(w, "rename", "done", v, t, err, NULL);
}

/* An old container (running) goes aside while the new containers are
 * created, a few at once on threads of their own (the engine renames a
 * running container's endpoints too: each rename costs more than a
 * create's, and 25 of them one after the other came before every stop). */
static int put_aside(vd_swap *w, struct vd_swap_svc *v, vd_error *err)
{
	int rc;

	if ((rc = vd_swap_step(w, "rename", "begin", v, 0, err, "%s aside, %s in place",
			       v->old_id ? v->cname : "(none)", v->tmpname)))
		return rc;
	if (v->old_id) {
		if ((rc = rename_to(w, v->old_id, v->asidename, err)))
			return rc;
		v->aside = true;
	}
	return 0;
}

/* Names first: the new containers (not started) take the names the old
 * ones left, several at once. */
static int swap_in(vd_swap *w, vd_error *err)
{
	size_t g, n_groups = 0;
	int rc;

	if ((rc = vd_swap_each(w, rename_new, err)))
		return rc;
	/* services that do not depend on each other, directly or not, are
	 * replaced side by side, each group on its own: a worker's grace
	 * period is not spent while the app and its database wait, nor the
	 * other way round */
	group_services(w);
	for (g = 0; g < w->n; g++)
		if (w->v[g].group + 1 > n_groups)
			n_groups = w->v[g].group + 1;
	if (n_groups <= 1)
		return swap_group(w, 0, err);
	return vd_swap_groups(w, n_groups, swap_group, err);
}

/* A group: its old containers stopped (reverse dependency order), the
 * databases to dump while the app is stopped dumped, its new containers
 * started along depends_on (swap_start.c). */
static int swap_group(vd_swap *w, size_t g, vd_error *err)
{
	int rc;

	if ((rc = stop_olds(w, g, err)) || (rc = vd_swap_dump_side(w, err)))
		return rc;
	return vd_swap_start_group(w, g, err);
}

/* ------------------------------------------------------------------ health */

/* The swapped services' containers (the new ones, or after a restore the
 * old ones that ran) and the configured probes; the verdict into
 * out->health. */
static int prove(vd_swap *w, bool restored, vd_swap_result *out, vd_error *err)
{
	vd_prove_target *t = calloc(w->n + 1, sizeof(*t));
	size_t i, n = 0;
	int rc;

	if (!t)
		return vd_error_set(err, VD_ENOMEM, "out of memory");
	for (i = 0; i < w->n; i++) {
		const char *id = restored ? w->v[i].old_id : w->v[i].new_id;

		if (!id || (restored && !w->v[i].old_running))
			continue;
		t[n].service = w->v[i].s->name;
		t[n].id = id;
		t[n].one_shot = vd_compose_is_one_shot(w->c, w->v[i].s->name);
		t[n++].fresh = !restored;
	}
	rc = vd_swap_prove(w, t, n, out, err);
	free(t);
	return rc;
}

int vd_swap_prove(vd_swap *w, const vd_prove_target *t, size_t n, vd_swap_result *out, vd_error *err)
{
	vd_prove_options po;

	memset(&po, 0, sizeof(po));
	po.targets = t;
	po.n_targets = n;
	po.probes = w->o->probes;
	po.n_probes = w->o->n_probes;
	po.deadline_ms = w->deadline_ms;
	po.stable_ms = w->stable_ms;
	po.fast_check_ms = w->o->fast_check_ms;
	vd_health_report_release(&out->health);
	return vd_prove(w->d, w->o->progress, &po, &out->health, err);
}

/* ------------------------------------------------------------------ restore */

/* Undo whatever the swap did, in reverse: the new containers stopped and
 * removed (never their volumes), the old ones renamed back and started, the
 * image references back on the old images.  Best effort: every step is
 * tried; the first failure is reported. */
static int restore(vd_swap *w, vd_error *err)
{
	vd_error e = VD_ERROR_INIT;
	bool put_back = w->o->restore_on_rollback && (vd_swap_any_started(w) || w->released);
	int first = 0;
	size_t i;

#define TRY(call, what)                                                              \
	do {                                                                         \
		int rc_ = (call);                                                    \
		if (rc_) {                                                           \
			vd_log(VD_LOG_ERROR, "restore: %s: %s", what, vd_error_msg(&e)); \
			if (!first) {                                                \
				first = rc_;                                         \
				vd_error_set(err, rc_, "%s: %s", what, vd_error_msg(&e)); \
			}                                                            \
		}                                                                    \
		vd_error_release(&e);                                                \
	} while (0)

	/* what the failed containers said and how they ended, before anything
	 * of them changes */
	vd_swap_keep_evidence(w);
	/* the old containers serve again as soon as possible: the new ones
	 * stopped at once, the images tagged back, the old ones started under
	 * their aside names; the names are put right after that */
	for (i = w->n; i-- > 0;) {
		struct vd_swap_svc *v = &w->v[i];

		if (!v->new_id)
			continue;
		vd_swap_step(w, "remove", "begin", v, 0, &e, "new container %.12s", v->new_id);
		vd_error_release(&e);
		TRY(vd_container_stop(w->d, v->new_id, 0, &e), "stop the new container");
	}
	for (i = 0; i < w->n; i++) {
		struct vd_swap_svc *v = &w->v[i];

		if (v->retagged && v->old_image) {
			TRY(vd_image_tag(w->d, v->old_image, v->repo, v->tag, &e),
			    "tag the previous image back");
			v->retagged = false;
		}
	}
	if (put_back && w->n_side_dumps)
		TRY(vd_swap_put_side_back(w, &e), "put the database back");
	for (i = 0; i < w->n; i++) {
		struct vd_swap_svc *v = &w->v[i];

		if (v->old_id && v->old_running) {
			TRY(vd_container_start(w->d, v->old_id, &e), "start the old container");
			if (put_back && v->dumped)
				TRY(vd_swap_put_database_back(w, v, &e), "put the database back");
		}
	}
	for (i = w->n; i-- > 0;) {
		struct vd_swap_svc *v = &w->v[i];
		int rc;

		if (!v->new_id)
			continue;
		rc = vd_container_remove(w->d, v->new_id, true, false, &e);
		TRY(rc, "remove the new container");
		if (!rc) {
			free(v->new_id);
			v->new_id = NULL;
			v->placed = false;
		}
	}
	for (i = 0; i < w->n; i++) {
		struct vd_swap_svc *v = &w->v[i];

		if (v->aside && !v->placed) {
			TRY(rename_to(w, v->old_id, v->cname, &e), "rename the old container back");
			v->aside = false;
		}
	}
#undef TRY
	return first;
}

static void fail_with(vd_swap_result *out, const vd_error *err)
{
	free(out->failure);
	out->failure = strdup(vd_error_msg(err));
}

static int roll_back(vd_swap *w, vd_swap_result *out, vd_error *why)
{
	vd_error err = VD_ERROR_INIT;
	uint64_t t = vd_now_ms();
	int rc;

	fail_with(out, why);
	out->outcome = VD_DEPLOY_FAILED;
	if (w->o->dry_run)
		return 0;
	out->restored = true;
	vd_swap_step(w, "rollback", "begin", NULL, 0, &err, "%s", vd_error_msg(why));
	vd_error_release(&err);
	rc = restore(w, &err);
	if (!rc)
		rc = prove(w, true, out, &err);
	if (rc) {
		vd_error jerr = VD_ERROR_INIT;

		out->outcome = VD_DEPLOY_RESTORE_FAILED;
		vd_swap_step(w, "rollback", "failed", NULL, t, &jerr, "%s", vd_error_msg(&err));
		vd_error_release(&jerr);
		free(out->failure);
		if (asprintf(&out->failure, "%s; the restore failed too: %s", vd_error_msg(why),
			     vd_error_msg(&err)) < 0)
			out->failure = NULL;
	} else {
		vd_swap_step(w, "rollback", "done", NULL, t, &err, "the previous version runs and is healthy");
	}
	vd_error_release(&err);
	vd_swap_tell_dumps(w, out);
	return 0;
}

/* ------------------------------------------------------------------ the run */

static int remove_old(vd_swap *w, struct vd_swap_svc *v, vd_error *err)
{
	vd_error e = VD_ERROR_INIT;

	if (v->old_id && vd_container_remove(w->d, v->old_id, true, false, &e))
		vd_log(VD_LOG_WARN, "cannot remove the old container %s (%.12s): %s", v->asidename,
		       v->old_id, vd_error_msg(&e));
	vd_error_release(&e);
	v->aside = false;
	return 0;
}

static int finish(vd_swap *w, vd_swap_result *out, vd_error *err)
{
	uint64_t t = vd_now_ms();
	size_t i;
	int rc = 0;

	for (i = 0; i < w->n && !rc; i++) {
		struct vd_swap_svc *v = &w->v[i];

		if (vd_kvs_add(&out->images, v->s->name, v->new_image) ||
		    vd_kvs_add(&out->containers, v->s->name, v->new_id))
			return vd_error_set(err, VD_ENOMEM, "out of memory");
	}
	if ((rc = vd_swap_step(w, "cleanup", "begin", NULL, 0, err, "remove the old containers")))
		return rc;
	/* several at once (never fails: a leftover is only warned about) */
	vd_swap_each_bounded(w, remove_old, 4 * vd_swap_parallel(w), err);
	vd_swap_prune_images(w);
	return vd_swap_step(w, "cleanup", "done", NULL, t, err, NULL);
}

static void dry_run_steps(vd_swap *w, vd_error *err)
{
	size_t i;

	for (i = 0; i < w->n && !err->code; i++) {
		const struct vd_swap_svc *v = &w->v[i];

		vd_swap_step(w, "create", "would", v, 0, err, "%s from %s", v->tmpname, v->ref);
	}
	for (i = 0; i < w->n && !err->code; i++) {
		const struct vd_swap_svc *v = &w->v[i];

		if (v->old_id)
			vd_swap_step(w, "stop", "would", v, 0, err, "%.12s (grace %d s), kept as %s",
				     v->old_id, v->stop_s, v->asidename);
		vd_swap_step(w, "start", "would", v, 0, err, "as %s", v->cname);
	}
	vd_swap_step(w, "health", "would", NULL, 0, err, "%zu containers and %zu probes", w->n,
		     w->o->n_probes);
}

void vd_swap_release(vd_swap *w)
{
	size_t i;

	for (i = 0; i < w->n; i++)
		svc_release(&w->v[i]);
	free(w->v);
	free(w->side_dumps);
	vd_compose_free(w->c);
}

int vd_swap_run(vd_docker *d, const vd_swap_options *o, vd_swap_result *out, vd_error *err)
{
	vd_spec_options so = VD_SPEC_OPTIONS_INIT;
	vd_error why = VD_ERROR_INIT;
	vd_swap w;
	int rc;

	memset(&w, 0, sizeof(w));
	w.d = d;
	w.o = o;
	w.deadline_ms = o->health_deadline_ms ? o->health_deadline_ms : DEFAULT_DEADLINE_MS;
	w.stable_ms = o->stable_ms ? o->stable_ms : DEFAULT_STABLE_MS;
	snprintf(w.sha12, sizeof(w.sha12), "%.12s", o->commit);
	out->outcome = VD_DEPLOY_DONE;
	so.lookup = o->lookup;
	so.lookup_ctx = o->lookup_ctx;

	if (o->swarm)
		return vd_swap_swarm_run(d, o, out, err);
	/* nothing is touched until every check has passed */
	if ((rc = vd_compose_load_project(o->project, o->lookup, o->lookup_ctx, &w.c, err)))
		goto done;
	w.c->hash_compose = o->compose_hash;
	if ((rc = choose_services(&w, err)) || (rc = check_specs(&w, err)) ||
	    (rc = vd_swap_local_images(&w, err)) ||
	    (o->rollback_tag && (rc = vd_swap_retained_image(&w, &out->image_commit, err))))
		goto done;
	w.commit = out->image_commit ? out->image_commit : o->commit;
	if (o->dry_run) {
		vd_swap_build(&w, err);
		if (!err->code)
			dry_run_steps(&w, err);
		rc = err->code;
		goto done;
	}
	/* a build failure ends the deploy with the running version untouched */
	if (vd_swap_build(&w, &why)) {
		fail_with(out, &why);
		out->outcome = VD_DEPLOY_FAILED;
		goto done;
	}
	if ((rc = vd_spec_ensure_networks(d, w.c, &so, err)) ||
	    (rc = vd_spec_ensure_volumes(d, w.c, &so, err)))
		goto done;
	/* from here on, a failure restores the previous version */
	if (vd_swap_tag(&w, &why))
		goto restore;
	if (vd_swap_each_beside(&w, create_new, put_aside, &why) || swap_in(&w, &why) ||
	    prove(&w, false, out, &why))
		goto restore;
	rc = finish(&w, out, err);
	goto done;
restore:
	vd_log(VD_LOG_ERROR, "deploy failed: %s; restoring the previous version", vd_error_msg(&why));
	rc = roll_back(&w, out, &why);
done:
	vd_error_release(&why);
	vd_swap_release(&w);
	return rc;
}

void vd_swap_result_init(vd_swap_result *r)
{
	memset(r, 0, sizeof(*r));
	vd_health_report_init(&r->health);
}

void vd_swap_result_release(vd_swap_result *r)
{
	if (!r)
		return;
	free(r->failure);
	r->failure = NULL;
	free(r->image_commit);
	r->image_commit = NULL;
	vd_kvs_release(&r->images);
	vd_kvs_release(&r->containers);
	vd_kvs_release(&r->nodes);
	vd_health_report_release(&r->health);
}
