/* Putting the new containers to work, several at once: the creates and
 * renames of a swap spread over deploy.parallel threads, and the starts of
 * a group scheduled along depends_on — every service whose conditions hold
 * (service_started, service_healthy, service_completed_successfully) is
 * started at once, bounded by deploy.parallel; a condition releases its
 * dependents the moment it holds (a health wait on the engine's events, a
 * wait for the exit); the first failure stops the scheduling, cancels the
 * waits, and the swap restores.
 *
 * A vd_docker is one libcurl handle: each thread has its own connection and
 * works on a copy of the vd_swap that carries it.  A thread changes only
 * its own service's fields; the scheduler's state is under its mutex; the
 * journal and the progress output have their own (progress.c). */
#include "controller/rollout/swap_private.h"
#include "common/clock.h"
#include "common/log.h"
#include "controller/rollout/release.h"
#include "docker_api/container.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_PARALLEL 8
/* the side work of vd_swap_each_beside (renames of running containers) on
 * this many threads of its own */
#define BESIDE_PARALLEL 4
/* a wait for a one-shot dependency's exit looks at the cancel flag this often */
#define EXIT_POLL_MS 500

size_t vd_swap_parallel(const vd_swap *w)
{
	return w->o->parallel > 0 ? (size_t)w->o->parallel : DEFAULT_PARALLEL;
}

/* A thread's copy of the swap, with its own engine connection. */
static int thread_swap(const vd_swap *w, vd_swap *tw, vd_error *err)
{
	*tw = *w;
	tw->d = NULL;
	return vd_docker_clone(w->d, &tw->d, err);
}

/* Keep the first failure of several threads. */
static void first_failure(int *rc, vd_error *into, int code, const vd_error *err)
{
	if (*rc)
		return;
	*rc = code;
	vd_error_set(into, code, "%s", vd_error_msg(err));
}

/* ------------------------------------------------------------------ each */

struct each {
	vd_swap *w;
	vd_swap_each_fn fn;
	pthread_mutex_t mu;
	size_t next;
	int rc;
	vd_error err;
};

static void *each_worker(void *arg)
{
	struct each *e = arg;
	vd_error err = VD_ERROR_INIT;
	vd_swap tw;
	int rc = thread_swap(e->w, &tw, &err);

	for (;;) {
		size_t i;

		pthread_mutex_lock(&e->mu);
		if (rc)
			first_failure(&e->rc, &e->err, rc, &err);
		if (e->rc || e->next >= e->w->n) {
			pthread_mutex_unlock(&e->mu);
			break;
		}
		i = e->next++;
		pthread_mutex_unlock(&e->mu);
		rc = e->fn(&tw, &e->w->v[i], &err);
	}
	vd_docker_free(tw.d);
	vd_error_release(&err);
	return NULL;
}

int vd_swap_each(vd_swap *w, vd_swap_each_fn fn, vd_error *err)
{
	return vd_swap_each_bounded(w, fn, vd_swap_parallel(w), err);
}

int vd_swap_each_bounded(vd_swap *w, vd_swap_each_fn fn, size_t bound, vd_error *err)
{
	size_t n = bound, i, started = 0;
	pthread_t *t;
	struct each e;
	int rc = 0;

	if (n > w->n)
		n = w->n;
	if (n <= 1) {
		for (i = 0; i < w->n && !rc; i++)
			rc = fn(w, &w->v[i], err);
		return rc;
	}
	if (!(t = calloc(n, sizeof(*t))))
		return vd_error_set(err, VD_ENOMEM, "out of memory");
	memset(&e, 0, sizeof(e));
	e.w = w;
	e.fn = fn;
	pthread_mutex_init(&e.mu, NULL);
	for (i = 0; i < n; i++)
		if (!pthread_create(&t[started], NULL, each_worker, &e))
			started++;
	if (!started)
		each_worker(&e);  /* no thread to be had: this one does it all */
	for (i = 0; i < started; i++)
		pthread_join(t[i], NULL);
	pthread_mutex_destroy(&e.mu);
	free(t);
	if (e.rc)
		rc = vd_error_set(err, e.rc, "%s", vd_error_msg(&e.err));
	vd_error_release(&e.err);
	return rc;
}

/* ------------------------------------------------------------------ beside */

struct beside {
	vd_swap *w;
	vd_swap_each_fn side;
	int rc;
	vd_error err;
};

static void *beside_main(void *arg)
{
	struct beside *b = arg;
	vd_swap tw;

	/* a connection of its own: with one service (or one thread) the
	 * side work runs on it, never on the caller's */
	if ((b->rc = thread_swap(b->w, &tw, &b->err)))
		return NULL;
	b->rc = vd_swap_each_bounded(&tw, b->side, BESIDE_PARALLEL, &b->err);
	vd_docker_free(tw.d);
	return NULL;
}

int vd_swap_each_beside(vd_swap *w, vd_swap_each_fn fn, vd_swap_each_fn side, vd_error *err)
{
	struct beside b = { w, side, 0, VD_ERROR_INIT };
	pthread_t t;
	size_t i;
	int rc;

	if (pthread_create(&t, NULL, beside_main, &b)) {
		/* no thread to be had: one after the other */
		if ((rc = vd_swap_each(w, fn, err)))
			return rc;
		for (i = 0; i < w->n && !rc; i++)
			rc = side(w, &w->v[i], err);
		return rc;
	}
	rc = vd_swap_each(w, fn, err);
	pthread_join(t, NULL);
	if (!rc && b.rc)
		rc = vd_error_set(err, b.rc, "%s", vd_error_msg(&b.err));
	vd_error_release(&b.err);
	return rc;
}

/* ------------------------------------------------------------------ starts */

enum node_state { PENDING, WAITING, STARTING, STARTED, FAILED };
enum job_kind { JOB_START, JOB_HEALTHY, JOB_EXIT };

struct node {
	enum node_state state;
	int healthy;        /* 1 proven, -1 not, 0 not known (yet) */
	int exited;         /* 1 exited 0, -1 otherwise, 0 not yet */
	bool want_healthy;  /* a dependent waits for service_healthy */
	bool want_exit;     /* a dependent waits for service_completed_successfully */
	bool watching;      /* a watch job runs (or ran) for it */
	uint64_t wait_t;    /* when it began to wait for its conditions */
};

struct sched {
	vd_swap *w;
	size_t g;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct node *nodes;
	pthread_t *threads;
	size_t n_threads, cap;
	size_t starting;    /* start jobs under way: bounded by deploy.parallel */
	size_t jobs;        /* every job under way */
	volatile int own_cancel;
	volatile int *cancel; /* own_cancel, or the flag all groups share */
	int rc;
	vd_error err;
};

struct job {
	struct sched *s;
	size_t i;
	enum job_kind kind;
};

static const char *const cond_word[] = { "started", "healthy", "completed successfully" };

static int find_svc(const vd_swap *w, const char *service)
{
	size_t i;

	for (i = 0; i < w->n; i++)
		if (!strcmp(w->v[i].s->name, service))
			return (int)i;
	return -1;
}

static const char *word(vd_compose_condition c)
{
	return c == VD_COMPOSE_SERVICE_HEALTHY ? cond_word[1]
	       : c == VD_COMPOSE_SERVICE_COMPLETED_SUCCESSFULLY ? cond_word[2] : cond_word[0];
}

/* Whether service i may start: 1 every condition holds, 0 not yet, -1 one
 * never will.  Marks what its dependencies must be watched for. */
static int conditions(struct sched *s, size_t i)
{
	const vd_compose_service *svc = s->w->v[i].s;
	int verdict = 1;
	size_t k;

	for (k = 0; k < svc->n_depends_on; k++) {
		const vd_compose_dep *dep = &svc->depends_on[k];
		int j = find_svc(s->w, dep->service);
		struct node *d;

		if (j < 0 || !s->w->v[j].new_id)
			continue;  /* not recreated: it runs as it did */
		d = &s->nodes[j];
		if (d->state == FAILED)
			return -1;
		if (dep->condition == VD_COMPOSE_SERVICE_HEALTHY) {
			d->want_healthy = true;
			if (d->healthy < 0)
				return -1;
			if (d->state != STARTED || d->healthy == 0)
				verdict = 0;
		} else if (dep->condition == VD_COMPOSE_SERVICE_COMPLETED_SUCCESSFULLY) {
			d->want_exit = true;
			if (d->exited < 0)
				return -1;
			if (d->state != STARTED || d->exited == 0)
				verdict = 0;
		} else if (d->state != STARTED) {
			verdict = 0;
		}
	}
	return verdict;
}

/* "postgres healthy, seed completed successfully": what service i waits
 * for (its conditions on recreated services). */
static void waits_for(const struct sched *s, size_t i, char *out, size_t size)
{
	const vd_compose_service *svc = s->w->v[i].s;
	size_t k, used = 0;

	out[0] = '\0';
	for (k = 0; k < svc->n_depends_on && used < size; k++) {
		const vd_compose_dep *dep = &svc->depends_on[k];
		int j = find_svc(s->w, dep->service);

		if (j < 0 || !s->w->v[j].new_id)
			continue;
		used += (size_t)snprintf(out + used, size - used, "%s%s %s", used ? ", " : "", dep->service,
					 word(dep->condition));
	}
}

static void fail(struct sched *s, int code, const vd_error *err)
{
	first_failure(&s->rc, &s->err, code, err);
	*s->cancel = 1;
}

static void job_done(struct sched *s, struct job *j)
{
	if (j->kind == JOB_START)
		s->starting--;
	s->jobs--;
	pthread_cond_broadcast(&s->cv);
	free(j);
}

/* The release step, when this deploy has one for v's service: its
 * dependencies are up (the database), its new container not yet. */
static int release_step(vd_swap *w, struct vd_swap_svc *v, vd_error *err)
{
	vd_spec_options so = VD_SPEC_OPTIONS_INIT;

	if (!w->o->release || strcmp(w->o->release->service, v->s->name))
		return 0;
	so.image = v->new_image;
	so.image_id = v->new_image;
	so.commit = w->commit;
	so.deploy_id = w->o->deploy_id;
	so.lookup = w->o->lookup;
	so.lookup_ctx = w->o->lookup_ctx;
	w->released = true;
	return vd_release_run(w->d, w->c, v->s, &so, w->o->release, w->o->progress, err);
}

static int stop_old(vd_swap *w, const struct vd_swap_svc *v, vd_error *err)
{
	uint64_t t = vd_now_ms();
	int rc;

	if (!v->old_id || !v->old_running)
		return 0;
	if ((rc = vd_swap_step(w, "stop", "begin", v, 0, err, "%.12s (grace %d s)", v->old_id, v->stop_s)) ||
	    (rc = vd_container_stop(w->d, v->old_id, v->stop_s, err)))
		return rc;
	return vd_swap_step(w, "stop", "done", v, t, err, "%.12s", v->old_id);
}

static int start_one(vd_swap *w, struct vd_swap_svc *v, vd_error *err)
{
	uint64_t t;
	int rc;

	if ((rc = release_step(w, v, err)))
		return rc;
	t = vd_now_ms();
	if ((rc = vd_swap_step(w, "start", "begin", v, 0, err, "%.12s%s", v->new_id,
			       v->start_first ? " (start-first: the old one still runs)" : "")) ||
	    (rc = vd_container_start(w->d, v->new_id, err)))
		return rc;
	v->started = true;
	if ((rc = vd_swap_step(w, "start", "done", v, t, err, "%.12s", v->new_id)))
		return rc;
	if (v->start_first &&
	    ((rc = vd_swap_container_healthy(w, v->s->name, v->new_id, err)) || (rc = stop_old(w, v, err))))
		return rc;
	return 0;
}

/* service_completed_successfully: its container exits 0 before the
 * deadline. */
static int await_exit(vd_swap *w, const struct vd_swap_svc *v, vd_error *err)
{
	uint64_t until = vd_now_ms() + w->deadline_ms;
	int64_t code = -1;
	int rc;

	for (;;) {
		if (w->cancel && *w->cancel)
			return vd_error_set(err, VD_ETIMEOUT, "cancelled");
		rc = vd_container_wait(w->d, v->new_id, "not-running", EXIT_POLL_MS, &code, err);
		if (rc != VD_ETIMEOUT)
			break;
		if (vd_now_ms() >= until)
			return vd_error_prefix(err, "waiting for %s to complete", v->s->name);
		vd_error_release(err);
	}
	if (rc)
		return vd_error_prefix(err, "waiting for %s to complete", v->s->name);
	if (code != 0)
		return vd_error_set(err, VD_EUNHEALTHY, "%s exited with %lld", v->s->name, (long long)code);
	return 0;
}

static void *job_main(void *arg)
{
	struct job *j = arg;
	struct sched *s = j->s;
	struct vd_swap_svc *v = &s->w->v[j->i];
	vd_error err = VD_ERROR_INIT;
	vd_swap tw;
	int rc = thread_swap(s->w, &tw, &err);

	tw.cancel = s->cancel;
	if (!rc) {
		if (j->kind == JOB_START)
			rc = start_one(&tw, v, &err);
		else if (j->kind == JOB_HEALTHY) {
			if ((rc = vd_swap_container_healthy(&tw, v->s->name, v->new_id, &err)))
				vd_error_prefix(&err, "%s is not healthy", v->s->name);
		} else {
			rc = await_exit(&tw, v, &err);
		}
	}
	vd_docker_free(tw.d);
	pthread_mutex_lock(&s->mu);
	if (j->kind == JOB_START)
		s->nodes[j->i].state = rc ? FAILED : STARTED;
	else if (j->kind == JOB_HEALTHY)
		s->nodes[j->i].healthy = rc ? -1 : 1;
	else
		s->nodes[j->i].exited = rc ? -1 : 1;
	if (tw.released)
		s->w->released = true;
	/* after the first failure, what the cancelled waits say is no news */
	if (rc && !*s->cancel)
		fail(s, rc, &err);
	job_done(s, j);
	pthread_mutex_unlock(&s->mu);
	vd_error_release(&err);
	return NULL;
}

/* Under s->mu: a job on its own thread. */
static int spawn(struct sched *s, size_t i, enum job_kind kind)
{
	struct job *j = calloc(1, sizeof(*j));

	if (!j || (s->n_threads == s->cap &&
		   !(s->threads = realloc(s->threads, (s->cap = s->cap ? s->cap * 2 : 16) *
							sizeof(*s->threads))))) {
		free(j);
		return VD_ENOMEM;
	}
	j->s = s;
	j->i = i;
	j->kind = kind;
	if (pthread_create(&s->threads[s->n_threads], NULL, job_main, j)) {
		free(j);
		return VD_ENOMEM;
	}
	s->n_threads++;
	s->jobs++;
	if (kind == JOB_START)
		s->starting++;
	return 0;
}

/* Under s->mu: start what may start, watch what a dependent waits for.
 * Services are looked at in dependency order, so ties start in the order
 * compose would. */
static void schedule(struct sched *s)
{
	vd_swap *w = s->w;
	size_t limit = vd_swap_parallel(w), i;
	vd_error e = VD_ERROR_INIT;
	char what[512];

	for (i = 0; i < w->n && !*s->cancel; i++) {
		struct node *n = &s->nodes[i];
		int c;

		if (w->v[i].group != s->g || (n->state != PENDING && n->state != WAITING))
			continue;
		c = conditions(s, i);
		if (c < 0) {
			waits_for(s, i, what, sizeof(what));
			vd_error_set(&e, VD_EUNHEALTHY, "%s cannot start: %s did not hold", w->v[i].s->name, what);
			fail(s, VD_EUNHEALTHY, &e);
			break;
		}
		if (c == 0 && n->state == PENDING) {
			waits_for(s, i, what, sizeof(what));
			n->state = WAITING;
			n->wait_t = vd_now_ms();
			if (vd_swap_step(w, "depends_on", "begin", &w->v[i], 0, &e, "%s", what))
				fail(s, e.code, &e);
		} else if (c > 0 && s->starting < limit) {
			if (n->state == WAITING) {
				waits_for(s, i, what, sizeof(what));
				if (vd_swap_step(w, "depends_on", "done", &w->v[i], n->wait_t, &e, "%s", what)) {
					fail(s, e.code, &e);
					break;
				}
			}
			n->state = STARTING;
			if (spawn(s, i, JOB_START)) {
				n->state = FAILED;
				vd_error_set(&e, VD_ENOMEM, "cannot start a thread");
				fail(s, VD_ENOMEM, &e);
			}
		}
	}
	for (i = 0; i < w->n && !*s->cancel; i++) {
		struct node *n = &s->nodes[i];

		if (w->v[i].group != s->g || n->state != STARTED || n->watching ||
		    (!n->want_healthy && !n->want_exit))
			continue;
		n->watching = true;
		if ((n->want_healthy && spawn(s, i, JOB_HEALTHY)) || (n->want_exit && spawn(s, i, JOB_EXIT))) {
			vd_error_set(&e, VD_ENOMEM, "cannot start a thread");
			fail(s, VD_ENOMEM, &e);
		}
	}
	vd_error_release(&e);
}

static bool all_started(const struct sched *s)
{
	size_t i;

	for (i = 0; i < s->w->n; i++)
		if (s->w->v[i].group == s->g && s->nodes[i].state != STARTED)
			return false;
	return true;
}

int vd_swap_start_group(vd_swap *w, size_t g, vd_error *err)
{
	struct sched s;
	size_t i;
	int rc;

	memset(&s, 0, sizeof(s));
	s.w = w;
	s.g = g;
	s.cancel = w->abort ? w->abort : &s.own_cancel;
	if (!(s.nodes = calloc(w->n ? w->n : 1, sizeof(*s.nodes))))
		return vd_error_set(err, VD_ENOMEM, "out of memory");
	pthread_mutex_init(&s.mu, NULL);
	pthread_cond_init(&s.cv, NULL);
	pthread_mutex_lock(&s.mu);
	for (;;) {
		schedule(&s);
		if (!s.jobs) {
			if (!*s.cancel && !all_started(&s)) {
				vd_error e = VD_ERROR_INIT;

				vd_error_set(&e, VD_EINVAL, "the services left cannot start: their depends_on "
					     "conditions can never hold");
				fail(&s, VD_EINVAL, &e);
				vd_error_release(&e);
			}
			break;
		}
		pthread_cond_wait(&s.cv, &s.mu);
	}
	pthread_mutex_unlock(&s.mu);
	for (i = 0; i < s.n_threads; i++)
		pthread_join(s.threads[i], NULL);
	rc = s.rc ? vd_error_set(err, s.rc, "%s", vd_error_msg(&s.err)) : 0;
	vd_error_release(&s.err);
	pthread_cond_destroy(&s.cv);
	pthread_mutex_destroy(&s.mu);
	free(s.threads);
	free(s.nodes);
	return rc;
}

/* ------------------------------------------------------------------ groups */

struct groups {
	vd_swap *w;
	int (*fn)(vd_swap *w, size_t g, vd_error *err);
	pthread_mutex_t mu;
	volatile int abort;
	int rc;
	vd_error err;
};

struct group_job {
	struct groups *gs;
	size_t g;
};

static void *group_main(void *arg)
{
	struct group_job *j = arg;
	struct groups *gs = j->gs;
	vd_error err = VD_ERROR_INIT;
	vd_swap tw;
	int rc = thread_swap(gs->w, &tw, &err);

	tw.abort = &gs->abort;
	tw.cancel = &gs->abort;
	if (!rc)
		rc = gs->fn(&tw, j->g, &err);
	vd_docker_free(tw.d);
	pthread_mutex_lock(&gs->mu);
	if (tw.released)
		gs->w->released = true;
	if (rc) {
		first_failure(&gs->rc, &gs->err, rc, &err);
		gs->abort = 1;
	}
	pthread_mutex_unlock(&gs->mu);
	vd_error_release(&err);
	return NULL;
}

int vd_swap_groups(vd_swap *w, size_t n_groups, int (*fn)(vd_swap *w, size_t g, vd_error *err),
		   vd_error *err)
{
	struct group_job *jobs = calloc(n_groups, sizeof(*jobs));
	pthread_t *t = calloc(n_groups, sizeof(*t));
	bool *made = calloc(n_groups, sizeof(*made));
	struct groups gs;
	size_t g;
	int rc = 0;

	if (!jobs || !t || !made) {
		free(jobs);
		free(t);
		free(made);
		return vd_error_set(err, VD_ENOMEM, "out of memory");
	}
	memset(&gs, 0, sizeof(gs));
	gs.w = w;
	gs.fn = fn;
	pthread_mutex_init(&gs.mu, NULL);
	for (g = 0; g < n_groups; g++) {
		jobs[g].gs = &gs;
		jobs[g].g = g;
		made[g] = !pthread_create(&t[g], NULL, group_main, &jobs[g]);
		if (!made[g])
			group_main(&jobs[g]);  /* no thread to be had: this one does it */
	}
	for (g = 0; g < n_groups; g++)
		if (made[g])
			pthread_join(t[g], NULL);
	pthread_mutex_destroy(&gs.mu);
	if (gs.rc)
		rc = vd_error_set(err, gs.rc, "%s", vd_error_msg(&gs.err));
	vd_error_release(&gs.err);
	free(jobs);
	free(t);
	free(made);
	return rc;
}
