#include "controller/rollout/deploy.h"
#include "common/clock.h"
#include "common/log.h"
#include "controller/config/config.h"
#include "controller/model/interpolate.h"
#include "controller/plan/gitsync.h"
#include "controller/plan/rules.h"
#include "controller/rollout/decide.h"
#include "controller/rollout/notify.h"
#include "controller/rollout/probe_list.h"
#include "controller/rollout/recover.h"
#include "controller/rollout/swap.h"
#include "controller/state/evidence.h"
#include "controller/state/lock.h"
#include "controller/state/state.h"

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>

#define VD_MAX_START_FIRST 64

struct run {
	vd_docker *d;
	const vd_deploy_options *o;
	vd_deploy_result *res;
	vd_journal journal;
	vd_progress progress;         /* every step: journal, then the caller's callback */
	vd_git *git;
	vd_decision dec;              /* the plan and voxdeploy.yml at the target commit */
	const char *start_first[VD_MAX_START_FIRST];
	size_t n_start_first;
	char head[VD_SHA_HEX];
	char target[VD_SHA_HEX];
	bool checked_out;             /* the checkout was moved to the target */
	vd_buf registry_auth;         /* deploy.registry's X-Registry-Auth: never logged */
	vd_backup_targets backup;     /* the databases a FULL_RESTART dumps */
};

/* The final record every deploy ends with: what metrics and history read. */
static int finish_record(struct run *r, const char *state, vd_error *err)
{
	/* a deploy that ended before it had a plan has no type */
	vd_progress_summary s = { r->res->plan.to[0] ? vd_tier_name(r->res->plan.type) : NULL,
				  r->res->plan.from, r->res->plan.to, r->o->actor, r->o->note,
				  r->res->failure };

	return vd_progress_finish(&r->progress, state, &s, err);
}

/* Bring the checkout to the target: fetch when asked, check out when the
 * target is not what is checked out.  Untracked files (.env) stay. */
static int sync_checkout(struct run *r, vd_error *err)
{
	uint64_t t = vd_now_ms();
	int rc;

	rc = vd_git_resolve(r->git, "HEAD", r->head, err);
	if (rc)
		return rc;
	if (r->o->fetch) {
		char tip[VD_SHA_HEX];

		if ((rc = vd_progress_step(&r->progress, "fetch", "begin", NULL, r->o->remote ? r->o->remote : "origin", 0, err)))
			return rc;
		rc = vd_git_fetch(r->git, r->o->remote, tip, err);
		if (rc)
			return rc;
		if (!r->o->to)
			memcpy(r->target, tip, VD_SHA_HEX);
		if ((rc = vd_progress_stepf(&r->progress, "fetch", "done", NULL, t, err, "tip %.12s", tip)))
			return rc;
	}
	if (r->o->to && (rc = vd_git_resolve(r->git, r->o->to, r->target, err)))
		return rc;
	if (!r->target[0])
		memcpy(r->target, r->head, VD_SHA_HEX);
	if (!strcmp(r->target, r->head))
		return vd_progress_stepf(&r->progress, "checkout", "skipped", NULL, 0, err, "%.12s is checked out", r->head);
	t = vd_now_ms();
	if ((rc = vd_progress_stepf(&r->progress, "checkout", r->o->dry_run ? "would" : "begin", NULL, 0, err,
			 "%.12s -> %.12s", r->head, r->target)))
		return rc;
	if (r->o->dry_run)
		return 0;
	rc = vd_git_checkout(r->git, r->target, r->o->force_checkout, err);
	if (rc)
		return rc;
	r->checked_out = true;
	return vd_progress_stepf(&r->progress, "checkout", "done", NULL, t, err, "%.12s", r->target);
}

static int engine_of(void *ctx, vd_docker **out, vd_error *err)
{
	*out = ctx;
	return 0;
}

/* The decision, as `plan` makes it (decide.h), for the target. */
static int plan(struct run *r, vd_error *err)
{
	vd_decide_options o;
	uint64_t t = vd_now_ms();
	int rc;

	memset(&o, 0, sizeof(o));
	o.project = r->o->project;
	o.state_dir = r->o->state_dir;
	o.to = r->target;
	o.forced = r->o->forced;
	o.forced_type = r->o->forced_type;
	o.rules_only = r->o->rules_only;
	o.engine = engine_of;
	o.engine_ctx = r->d;
	rc = vd_decide(r->git, &o, &r->dec, err);
	if (rc)
		return rc;
	r->res->plan = r->dec.plan;
	memset(&r->dec.plan, 0, sizeof(r->dec.plan));
	return vd_progress_stepf(&r->progress, "plan", "done", NULL, t, err, "%s: %s",
				 vd_tier_name(r->res->plan.type), r->res->plan.reason);
}

/* What is deployed now: the commit, and per service the image and
 * container the swap left running. */
static int save_state(struct run *r, const vd_swap_result *sw, vd_error *err)
{
	return vd_state_update(r->o->state_dir, r->o->project->name, r->target, r->res->deploy_id,
			       sw ? &sw->images : NULL, sw ? &sw->containers : NULL, err);
}

static void run_init(struct run *r, vd_docker *d, const vd_deploy_options *o, vd_deploy_result *out)
{
	memset(r, 0, sizeof(*r));
	memset(out, 0, sizeof(*out));
	r->d = d;
	r->o = o;
	r->res = out;
	r->journal.fd = -1;
	vd_buf_init(&r->registry_auth, 0);
	vd_journal_new_id(out->deploy_id);
	r->progress.deploy_id = out->deploy_id;
	r->progress.journal = &r->journal;
	r->progress.t0 = vd_now_ms();
	r->progress.fn = o->progress;
	r->progress.ctx = o->progress_ctx;
	r->progress.fault_points = true;
}

static void run_release(struct run *r)
{
	vd_journal_close(&r->journal);
	vd_decision_release(&r->dec);
	vd_backup_targets_release(&r->backup);
	vd_buf_release(&r->registry_auth);
	vd_git_free(r->git);
}

/* A deploy that did not end on the target puts the checkout back where it
 * was, so bind mounts and the next plan see the version that runs. */
static void checkout_back(struct run *r)
{
	vd_error e = VD_ERROR_INIT;
	uint64_t t = vd_now_ms();

	if (!r->checked_out)
		return;
	if (vd_git_checkout(r->git, r->head, true, &e)) {
		vd_log(VD_LOG_ERROR, "cannot check %.12s out again: %s", r->head, vd_error_msg(&e));
	} else {
		r->checked_out = false;
		vd_error_release(&e);
		vd_progress_stepf(&r->progress, "checkout", "done", NULL, t, &e, "back to %.12s", r->head);
	}
	vd_error_release(&e);
}

/* Tell the maintainers (voxdeploy.yml notify:) how it ended: always on a
 * failure, on success when asked.  A notification that cannot be delivered
 * is journalled and logged; it never changes the outcome, and the send is
 * bounded by notify.timeout. */
static void notify_outcome(struct run *r, const char *result, const vd_swap_result *sw)
{
	const vd_health_report *health = sw ? &sw->health : NULL;
	const vd_config *c = r->dec.config;
	vd_notify_channel *ch = NULL;
	vd_notify_probe *failing = NULL;
	vd_notify_config nc;
	vd_notify_event ev;
	vd_notify_results res = { NULL, 0, 0 };
	vd_evidence evidence = VD_EVIDENCE_INIT;
	vd_notify_log *logs = NULL;
	vd_error e = VD_ERROR_INIT;
	size_t i, n = 0, nf = 0;
	uint64_t t = vd_now_ms();

	if (!c || r->o->dry_run || (!strcmp(result, "done") && !c->notify.on_success) ||
	    !(c->notify.n_webhook + c->notify.n_telegram))
		return;
	ch = calloc(c->notify.n_webhook + c->notify.n_telegram, sizeof(*ch));
	failing = calloc(health ? health->len + 1 : 1, sizeof(*failing));
	if (!ch || !failing)
		goto done;
	for (i = 0; i < c->notify.n_webhook; i++, n++) {
		ch[n].kind = VD_NOTIFY_WEBHOOK;
		ch[n].url = c->notify.webhook[i].url;
		ch[n].headers = c->notify.webhook[i].headers;
		ch[n].n_headers = c->notify.webhook[i].n_headers;
	}
	for (i = 0; i < c->notify.n_telegram; i++, n++) {
		ch[n].kind = VD_NOTIFY_TELEGRAM;
		ch[n].api_base = c->notify.telegram[i].api_base;
		ch[n].token = c->notify.telegram[i].token;
		ch[n].chat_id = c->notify.telegram[i].chat_id;
	}
	for (i = 0; health && i < health->len; i++)
		if (health->entries[i].result.status != VD_HEALTH_OK) {
			failing[nf].name = health->entries[i].probe;
			failing[nf++].detail = health->entries[i].result.detail;
		}
	memset(&nc, 0, sizeof(nc));
	nc.channels = ch;
	nc.n_channels = n;
	nc.total_ms = c->notify.timeout_ms;
	memset(&ev, 0, sizeof(ev));
	ev.project = r->o->project->name;
	ev.deploy_id = r->res->deploy_id;
	ev.type = r->res->plan.type;
	ev.from = r->res->plan.from[0] ? r->res->plan.from : NULL;
	ev.to = r->res->plan.to[0] ? r->res->plan.to : r->target;
	ev.result = result;
	ev.duration_ms = vd_now_ms() - r->progress.t0;
	ev.actor = r->o->actor;
	ev.detail = r->res->failure;
	ev.failing_probes = failing;
	ev.n_failing_probes = nf;
	if (sw) {
		ev.nodes = sw->nodes.items;
		ev.n_nodes = sw->nodes.len;
	}
	/* what the failed containers said last (kept by the swap before their removal) */
	if (vd_evidence_load(r->o->state_dir, r->res->deploy_id, &evidence, &e))
		vd_error_release(&e);
	else if ((logs = calloc(evidence.len, sizeof(*logs)))) {
		for (i = 0; i < evidence.len; i++) {
			logs[i].service = evidence.items[i].service;
			logs[i].lines = vd_evidence_tail(evidence.items[i].log, VD_NOTIFY_LOG_LINES);
		}
		ev.logs = logs;
		ev.n_logs = evidence.len;
	}
	if (vd_progress_step(&r->progress, "notify", "begin", NULL, result, 0, &e))
		vd_error_release(&e);
	vd_notify_send(&nc, &ev, &res);
	if (res.failed)
		vd_progress_stepf(&r->progress, "notify", "failed", NULL, t, &e, "%zu of %zu channels not delivered: %s",
		       res.failed, res.len, res.items && res.items[0].error ? res.items[0].error : "");
	else
		vd_progress_stepf(&r->progress, "notify", "done", NULL, t, &e, "%zu channel%s", res.len, res.len == 1 ? "" : "s");
	vd_error_release(&e);
	vd_notify_results_release(&res);
done:
	free(ch);
	free(failing);
	free(logs);
	vd_evidence_release(&evidence);
}

/* The swap's settings from voxdeploy.yml, and its probes (built on the
 * compose model of the checked-out target). */
static int swap_settings(struct run *r, vd_swap_options *so, vd_compose **model, vd_probe_list *probes,
			 vd_error *err)
{
	const vd_config *c = r->dec.config;
	size_t i;
	int rc;

	so->health_deadline_ms = c->health.deadline_ms;
	so->stable_ms = c->health.stable_for_ms;
	so->fast_check_ms = c->health.fast_check_ms;
	so->retain_images = (int)c->deploy.retain_images;
	so->compose_hash = c->deploy.compose_hash;
	so->builder = (int)c->deploy.builder;
	so->parallel = (int)c->deploy.parallel;
	so->stop_grace_s = c->deploy.stop_grace_set ? (int)((c->deploy.stop_grace_ms + 999) / 1000) : 0;
	so->registry = c->deploy.registry.address;
	if ((rc = vd_config_registry_auth(c, &r->registry_auth, err)) ||
	    (rc = vd_swap_on_swarm(r->d, c, r->o->project->name, &so->swarm, err)))
		return rc;
	so->registry_auth = r->registry_auth.len ? vd_buf_cstr(&r->registry_auth) : NULL;
	if ((rc = vd_compose_load_project(r->o->project, vd_env_lookup_process_then, &r->dec.dotenv, model,
					  err)))
		return rc;
	(*model)->hash_compose = c->deploy.compose_hash;
	if ((rc = vd_config_check_model(c, *model, err)) ||
	    (rc = vd_probe_list_build_on(c, *model, so->swarm, vd_env_lookup_process_then, &r->dec.dotenv, probes,
					  err)))
		return rc;
	so->app_service = vd_config_app_service(c, *model);
	for (i = 0; i < c->deploy.n_services && r->n_start_first < VD_MAX_START_FIRST; i++)
		if (c->deploy.services[i].order == VD_ORDER_START_FIRST)
			r->start_first[r->n_start_first++] = c->deploy.services[i].name;
	so->start_first = r->start_first;
	so->n_start_first = r->n_start_first;
	so->probes = probes->items;
	so->n_probes = probes->len;
	/* the databases dumped before a FULL_RESTART stops them */
	if (((so->full && c->backup.full_restart) || (!so->full && c->backup.app_only)) &&
	    (rc = vd_backup_targets_find(c, *model, vd_env_lookup_process_then, &r->dec.dotenv,
					 &r->backup, err)))
		return rc;
	so->backup = &r->backup;
	so->state_dir = r->o->state_dir;
	so->backup_keep = c->backup.keep;
	so->backup_timeout_ms = c->backup.timeout_ms;
	so->restore_on_rollback = c->backup.restore_on_rollback;
	if (c->deploy.release.service &&
	    (so->full ? c->deploy.release.full_restart : c->deploy.release.app_only))
		so->release = &c->deploy.release;
	return 0;
}

/* deploy.min_free: the engine's data root must have room for a build.  It
 * is checked where voxdeploy sees that directory (on the engine's host); the
 * sidecar does not, and says so. */
static int check_free_space(struct run *r, vd_error *err)
{
	uint64_t need = r->dec.config->deploy.min_free_bytes, avail;
	char root[512];
	struct statvfs sv;
	vd_error e = VD_ERROR_INIT;

	if (!need || r->o->dry_run)
		return 0;
	if (vd_docker_root_dir(r->d, root, sizeof(root), &e) || statvfs(root, &sv)) {
		vd_log_info("deploy.min_free not checked: the engine's data root is not visible here (%s)",
			    e.code ? vd_error_msg(&e) : root);
		vd_error_release(&e);
		return 0;
	}
	avail = (uint64_t)sv.f_bavail * (uint64_t)sv.f_frsize;
	if (avail < need)
		return vd_error_set(err, VD_ETOOBIG, "the engine's data root %s has %llu MB free; a "
				    "build needs deploy.min_free (%llu MB): free some space (docker "
				    "image prune, docker builder prune) and deploy again; nothing was "
				    "changed", root, (unsigned long long)(avail >> 20),
				    (unsigned long long)(need >> 20));
	return 0;
}

static int restart(struct run *r, vd_error *err)
{
	vd_swap_options so;
	vd_swap_result sw;
	vd_compose *model = NULL;
	vd_probe_list probes = VD_PROBES_INIT;
	int rc;

	memset(&so, 0, sizeof(so));
	so.project = r->o->project;
	so.commit = r->target;
	so.deploy_id = r->res->deploy_id;
	so.full = r->res->plan.type == VD_TIER_FULL_RESTART;
	so.lookup = vd_env_lookup_process_then;
	so.lookup_ctx = &r->dec.dotenv;
	so.dry_run = r->o->dry_run;
	so.progress = &r->progress;
	vd_swap_result_init(&sw);
	rc = check_free_space(r, err);
	if (!rc)
		rc = swap_settings(r, &so, &model, &probes, err);
	if (!rc)
		rc = vd_swap_run(r->d, &so, &sw, err);
	if (rc)
		goto done;
	r->res->outcome = sw.outcome;
	if (sw.failure && !(r->res->failure = strdup(sw.failure)))
		rc = vd_error_set(err, VD_ENOMEM, "out of memory");
	if (!rc)
		notify_outcome(r, sw.outcome == VD_DEPLOY_DONE ? "done"
				  : sw.outcome == VD_DEPLOY_RESTORE_FAILED ? "restore_failed"
				  : sw.restored ? "rolled_back" : "failed", &sw);
	if (!rc && sw.outcome == VD_DEPLOY_DONE && !r->o->dry_run)
		rc = save_state(r, &sw, err);
done:
	vd_swap_result_release(&sw);
	vd_probe_list_release(&probes);
	vd_compose_free(model);
	return rc;
}

/* A deploy that was interrupted is finished or undone before this one
 * starts; one that cannot be put right stops this one. */
static int recover_first(struct run *r, vd_error *err)
{
	vd_recover_options ro;
	vd_recover_result rr;
	int rc;

	memset(&ro, 0, sizeof(ro));
	ro.project = r->o->project;
	ro.state_dir = r->o->state_dir;
	ro.locked = true;
	/* before the target's voxdeploy.yml is read: the default cadence */
	ro.fast_check_ms = VD_CONFIG_DEFAULT_FAST_CHECK_MS;
	ro.progress = r->o->progress;
	ro.progress_ctx = r->o->progress_ctx;
	if ((rc = vd_recover_run(r->d, &ro, &rr, err)))
		return vd_error_prefix(err, "recover the interrupted deploy");
	if (rr.outcome == VD_RECOVER_FAILED)
		return vd_error_set(err, VD_ERESTORE, "the interrupted deploy %s could not be undone: %s",
				    rr.deploy_id, rr.detail);
	if (rr.outcome != VD_RECOVER_NOTHING)
		vd_log(VD_LOG_WARN, "recovered the interrupted deploy %s: %s", rr.deploy_id, rr.detail);
	return 0;
}

struct lock_wait {
	vd_progress *progress;
	bool waited;
};

/* Told (not journalled: the deploy has not begun) when the lock is busy. */
static void lock_waiting(void *ctx, const char *holder, uint64_t wait_ms)
{
	struct lock_wait *lw = ctx;
	vd_error err = VD_ERROR_INIT;
	char d[32];

	lw->waited = true;
	vd_duration_format((int64_t)((wait_ms + 999) / 1000), d);
	vd_progress_stepf(lw->progress, "lock", "begin", NULL, 0, &err, "waiting up to %s for the lock: %s", d,
			  holder);
	vd_error_release(&err);
}

/* No deploy starts while deploys are held; the freeze is read again once
 * the lock is ours, so one set while this deploy waited is obeyed too. */
static int take_lock(struct run *r, const char *target, vd_lock *lock, vd_error *err)
{
	const vd_deploy_options *o = r->o;
	struct lock_wait lw = { &r->progress, false };
	uint64_t t = vd_now_ms();
	int rc;

	if ((rc = vd_freeze_check(o->state_dir, err)) ||
	    (rc = vd_lock_acquire_wait(o->state_dir, target, o->actor, o->lock_wait_ms, lock_waiting,
				       &lw, lock, err)))
		return rc;
	if ((rc = vd_freeze_check(o->state_dir, err)))
		vd_lock_release(lock);
	else if (lw.waited && (rc = vd_progress_stepf(&r->progress, "lock", "done", NULL, t, err, "the lock is ours")))
		vd_lock_release(lock);
	return rc;
}

int vd_deploy_run(vd_docker *d, const vd_deploy_options *o, vd_deploy_result *out,
		  vd_error *err)
{
	struct run r;
	vd_lock lock = VD_LOCK_INIT;
	int rc;

	run_init(&r, d, o, out);
	if (!o->dry_run) {
		rc = take_lock(&r, o->to ? o->to : "HEAD", &lock, err);
		if (rc)
			return rc;
		if ((rc = recover_first(&r, err)))
			goto done;
		rc = vd_journal_open(o->state_dir, out->deploy_id, &r.journal, err);
		if (rc)
			goto done;
	}
	if ((rc = vd_progress_stepf(&r.progress, "deploy", "begin", NULL, 0, err, "project %s%s%s", o->project->name,
			 o->actor ? " by " : "", o->actor ? o->actor : "")) ||
	    (rc = vd_git_open(o->project->dir, &r.git, err)) ||
	    (rc = sync_checkout(&r, err)) ||
	    (rc = plan(&r, err)))
		goto fail_early;
	if (out->plan.type == VD_TIER_NO_RESTART) {
		/* files synced, no container touched */
		rc = vd_progress_stepf(&r.progress, "restart", "skipped", NULL, 0, err, "NO_RESTART: no container is touched");
		if (!rc && !o->dry_run)
			rc = save_state(&r, NULL, err);
	} else {
		rc = restart(&r, err);
	}
	if (rc)
		goto fail_early;
	if (out->outcome != VD_DEPLOY_DONE)
		checkout_back(&r);
	rc = finish_record(&r, out->outcome == VD_DEPLOY_DONE ? "done" :
			   out->outcome == VD_DEPLOY_FAILED ? "failed" : "restore_failed", err);
	goto done;
fail_early:
	/* nothing was swapped: the running version is untouched; say so */
	checkout_back(&r);
	if (!o->dry_run && r.journal.fd >= 0) {
		vd_error jerr = VD_ERROR_INIT;

		free(out->failure);
		out->failure = strdup(vd_error_msg(err));
		out->outcome = VD_DEPLOY_FAILED;
		notify_outcome(&r, "failed", NULL);
		finish_record(&r, "failed", &jerr);
		vd_error_release(&jerr);
	}
done:
	run_release(&r);
	vd_lock_release(&lock);
	return rc;
}

void vd_deploy_result_release(vd_deploy_result *r)
{
	if (!r)
		return;
	vd_plan_release(&r->plan);
	free(r->failure);
	r->failure = NULL;
}

/* ------------------------------------------------------------------ rollback */

struct find_deploy {
	const char *id;
	char to[VD_SHA_HEX];
};

static int find_deploy(yajl_val rec, void *ctx, vd_error *err)
{
	struct find_deploy *f = ctx;
	const char *id = vd_json_str(rec, "deploy_id"), *step = vd_json_str(rec, "step");
	const char *state = vd_json_str(rec, "state"), *to = vd_json_str(rec, "to");

	if (id && step && state && to && !strcmp(id, f->id) && !strcmp(step, "deploy") &&
	    !strcmp(state, "done"))
		snprintf(f->to, sizeof(f->to), "%s", to);
	return 0;
}

/* The retained tag --to names: voxdeploy-previous, or voxdeploy-<sha12>;
 * the whole commit into full when it is known (else ""). */
static int rollback_tag(struct run *r, const char *to, char tag[64], char full[VD_SHA_HEX],
			vd_error *err)
{
	char sha[VD_SHA_HEX];
	int rc;

	full[0] = '\0';
	if (!to) {
		snprintf(tag, 64, "voxdeploy-previous");
		return 0;
	}
	if (vd_journal_id_ok(to)) {
		struct find_deploy f = { to, "" };

		rc = vd_journal_read(r->o->state_dir, 0, find_deploy, &f, err);
		if (rc && rc != VD_ENOTFOUND)
			return rc;
		vd_error_release(err);
		if (!f.to[0])
			return vd_error_set(err, VD_EINVAL,
					    "deploy %s is not in the journal as a finished deploy (see voxdeploy "
					    "history)", to);
		snprintf(tag, 64, "voxdeploy-%.12s", f.to);
		snprintf(full, VD_SHA_HEX, "%s", f.to);
		return 0;
	}
	if ((rc = vd_git_open(r->o->project->dir, &r->git, err)))
		return rc;
	if (vd_git_resolve(r->git, to, sha, err)) {
		if (strlen(to) < 12 || strspn(to, "0123456789abcdef") != strlen(to))
			return rc = err->code;
		vd_error_release(err);
		snprintf(sha, sizeof(sha), "%s", to);  /* a commit the checkout no longer has */
	} else {
		snprintf(full, VD_SHA_HEX, "%s", sha);
	}
	snprintf(tag, 64, "voxdeploy-%.12s", sha);
	return 0;
}

int vd_deploy_rollback(vd_docker *d, const vd_deploy_options *o, vd_deploy_result *out,
		       vd_error *err)
{
	struct run r;
	vd_lock lock = VD_LOCK_INIT;
	vd_swap_options so;
	vd_swap_result sw;
	vd_state st;
	char tag[64], full[VD_SHA_HEX];
	uint64_t t;
	int rc;

	memset(&so, 0, sizeof(so));
	memset(&st, 0, sizeof(st));
	vd_swap_result_init(&sw);
	run_init(&r, d, o, out);
	out->plan.type = VD_TIER_APP_ONLY;
	out->plan.forced = true;
	if ((rc = take_lock(&r, o->to ? o->to : "previous", &lock, err)) ||
	    (rc = recover_first(&r, err)) || (rc = rollback_tag(&r, o->to, tag, full, err)))
		goto done;
	if (!vd_state_load(o->state_dir, &st, err) && st.commit)
		snprintf(out->plan.from, sizeof(out->plan.from), "%s", st.commit);
	vd_error_release(err);
	if (!(out->plan.reason = strdup("rollback: the app from its retained image"))) {
		rc = vd_error_set(err, VD_ENOMEM, "out of memory");
		goto done;
	}
	if ((rc = vd_journal_open(o->state_dir, out->deploy_id, &r.journal, err)) ||
	    (rc = vd_progress_stepf(&r.progress, "deploy", "begin", NULL, 0, err, "rollback of project %s to %s%s%s",
			 o->project->name, tag, o->actor ? " by " : "", o->actor ? o->actor : "")))
		goto done;
	t = vd_now_ms();
	so.project = o->project;
	so.deploy_id = out->deploy_id;
	/* the image's own commit label replaces this when it has one */
	so.commit = full[0] ? full : strcmp(tag, "voxdeploy-previous") ? tag + strlen("voxdeploy-") : "unknown";
	so.lookup = vd_env_lookup_process_then;
	so.lookup_ctx = &r.dec.dotenv;
	so.rollback_tag = tag;
	so.progress = &r.progress;
	so.state_dir = o->state_dir;
	if (!(rc = vd_dotenv_load_project(o->project->dir, &r.dec.dotenv, err))) {
		/* the labels stay the ones deploy.compose_hash chose */
		vd_config *cfg = NULL;

		if (!vd_config_load(o->project, vd_env_lookup_process_then, &r.dec.dotenv, &cfg, err)) {
			so.compose_hash = cfg->deploy.compose_hash;
			so.parallel = (int)cfg->deploy.parallel;
			so.app_service = cfg->app_service;
			so.health_deadline_ms = cfg->health.deadline_ms;
			so.stable_ms = cfg->health.stable_for_ms;
			so.registry = cfg->deploy.registry.address;
			if (!(rc = vd_config_registry_auth(cfg, &r.registry_auth, err)))
				rc = vd_swap_on_swarm(d, cfg, o->project->name, &so.swarm, err);
			so.registry_auth = r.registry_auth.len ? vd_buf_cstr(&r.registry_auth) : NULL;
		} else {
			/* one that does not load: the app's rollback on one engine */
			vd_error_release(err);
		}
		if (!rc)
			rc = vd_swap_run(d, &so, &sw, err);
		vd_config_free(cfg);
	}
	if (rc) {
		vd_error jerr = VD_ERROR_INIT;

		out->failure = strdup(vd_error_msg(err));
		finish_record(&r, "failed", &jerr);
		vd_error_release(&jerr);
		goto done;
	}
	out->outcome = sw.outcome;
	snprintf(out->plan.to, sizeof(out->plan.to), "%s", sw.image_commit ? sw.image_commit : so.commit);
	if (sw.failure)
		out->failure = strdup(sw.failure);
	if (sw.outcome == VD_DEPLOY_DONE) {
		rc = vd_state_update(o->state_dir, o->project->name, out->plan.to, out->deploy_id, &sw.images,
				     &sw.containers, err);
		if (!rc)
			rc = vd_progress_stepf(&r.progress, "rollback", "done", NULL, t, err, "the app runs %s", tag);
	}
	if (!rc)
		rc = finish_record(&r, sw.outcome == VD_DEPLOY_DONE ? "done" :
				   sw.outcome == VD_DEPLOY_FAILED ? "failed" : "restore_failed", err);
done:
	vd_swap_result_release(&sw);
	vd_state_release(&st);
	run_release(&r);
	vd_lock_release(&lock);
	return rc;
}
