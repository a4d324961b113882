#include "controller/rollout/release.h"
#include "controller/rollout/swap.h"
#include "common/clock.h"
#include "common/json.h"
#include "common/log.h"
#include "docker_api/container.h"
#include "docker_api/logs.h"
#include "docker_api/swarm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_TOLD_LINES 1000

/* --- the body --------------------------------------------------------------- */

/* Copy v into g, leaving out or replacing what a one-off does not take.
 * where: the key's parent ("", "HostConfig", "Labels", "endpoint"). */
static void copy(yajl_gen g, yajl_val v, const char *where, char *const *argv, size_t argc)
{
	size_t i;

	if (!YAJL_IS_OBJECT(v)) {
		vd_jgen_value(g, v);
		return;
	}
	yajl_gen_map_open(g);
	for (i = 0; i < v->u.object.len; i++) {
		const char *k = v->u.object.keys[i];
		yajl_val val = v->u.object.values[i];

		if (!*where && (!strcmp(k, "Cmd") || !strcmp(k, "ExposedPorts") ||
				!strcmp(k, "Healthcheck")))
			continue;
		if (!strcmp(where, "HostConfig") && (!strcmp(k, "PortBindings") ||
						     !strcmp(k, "RestartPolicy")))
			continue;
		if (!strcmp(where, "endpoint") && !strcmp(k, "Aliases"))
			continue;
		if (!strcmp(where, "Labels") && !strcmp(k, VD_SPEC_LABEL_PREFIX "oneoff"))
			continue;
		vd_jgen_str(g, k);
		if (!*where && (!strcmp(k, "HostConfig") || !strcmp(k, "Labels") ||
				!strcmp(k, "NetworkingConfig")))
			copy(g, val, k, argv, argc);
		else if (!strcmp(where, "NetworkingConfig") && !strcmp(k, "EndpointsConfig") &&
			 YAJL_IS_OBJECT(val)) {
			size_t j;

			yajl_gen_map_open(g);
			for (j = 0; j < val->u.object.len; j++) {
				vd_jgen_str(g, val->u.object.keys[j]);
				copy(g, val->u.object.values[j], "endpoint", argv, argc);
			}
			yajl_gen_map_close(g);
		} else {
			vd_jgen_value(g, val);
		}
	}
	if (!*where) {
		vd_jgen_str(g, "Cmd");
		yajl_gen_array_open(g);
		for (i = 0; i < argc; i++)
			vd_jgen_str(g, argv[i]);
		yajl_gen_array_close(g);
		vd_jgen_str(g, "Healthcheck");
		yajl_gen_map_open(g);
		vd_jgen_str(g, "Test");
		yajl_gen_array_open(g);
		vd_jgen_str(g, "NONE");
		yajl_gen_array_close(g);
		yajl_gen_map_close(g);
	}
	if (!strcmp(where, "HostConfig")) {
		vd_jgen_str(g, "RestartPolicy");
		yajl_gen_map_open(g);
		vd_jgen_kstr(g, "Name", "no");
		yajl_gen_map_close(g);
	}
	if (!strcmp(where, "Labels"))
		vd_jgen_kstr(g, VD_SPEC_LABEL_PREFIX "oneoff", "True");
	yajl_gen_map_close(g);
}

int vd_release_body(const char *service_body, char *const *argv, size_t argc, vd_buf *out,
		    vd_error *err)
{
	yajl_val v = vd_json_parse(service_body, err);
	yajl_gen g;
	int r;

	if (!v)
		return err->code;
	if (!argc) {
		yajl_tree_free(v);
		return vd_error_set(err, VD_EINVAL, "the release step has no command");
	}
	g = vd_jgen_new();
	if (!g) {
		yajl_tree_free(v);
		return vd_error_set(err, VD_ENOMEM, "out of memory");
	}
	copy(g, v, "", argv, argc);
	yajl_tree_free(v);
	r = vd_jgen_finish(g, out);
	return r ? vd_error_set(err, VD_ENOMEM, "out of memory") : 0;
}

/* --- the run ---------------------------------------------------------------- */

struct tell {
	vd_progress *progress;
	const char *service;
	vd_buf line;         /* a line being collected */
	char last[256];      /* the last line, for the failure's message */
	unsigned told;
};

static void tell_line(struct tell *t)
{
	vd_error err = VD_ERROR_INIT;

	if (!t->line.len)
		return;
	snprintf(t->last, sizeof(t->last), "%s", vd_buf_cstr(&t->line));
	if (t->told++ < MAX_TOLD_LINES)
		vd_progress_step(t->progress, "release", "output", t->service, vd_buf_cstr(&t->line), 0,
				 &err);
	else if (t->told == MAX_TOLD_LINES + 1)
		vd_log_warn("release: more than %d lines of output; the rest is not journalled",
			    MAX_TOLD_LINES);
	vd_error_release(&err);
	vd_buf_clear(&t->line);
}

static int on_output(int stream, const char *data, size_t len, void *ctx, vd_error *err)
{
	struct tell *t = ctx;
	size_t i;

	for (i = 0; i < len; i++) {
		if (data[i] == '\n')
			tell_line(t);
		else if (data[i] != '\r' && t->line.len < 4000)
			vd_buf_putc(&t->line, data[i]);
	}
	return 0;
}

int vd_release_run(vd_docker *d, const vd_compose *c, const vd_compose_service *s,
		   const vd_spec_options *spec, const vd_config_release *rel, vd_progress *progress,
		   vd_error *err)
{
	vd_buf body = VD_BUF_INIT, one = VD_BUF_INIT;
	vd_logs_opts lo = VD_LOGS_OPTS_INIT;
	struct tell t = { progress, s->name, VD_BUF_INIT, "", 0 };
	char *cname = vd_spec_container_name(c, s), *name = NULL, *id = NULL;
	uint64_t t0 = vd_now_ms(), left;
	int64_t code = -1;
	vd_error e = VD_ERROR_INIT;
	int r;

	vd_buf_init(&t.line, 8192);
	if (!cname || asprintf(&name, "%s%s", cname, VD_SWAP_RELEASE_SUFFIX) < 0) {
		name = NULL;
		r = vd_error_set(err, VD_ENOMEM, "out of memory");
		goto done;
	}
	if ((r = vd_progress_stepf(progress, "release", "begin", s->name, 0, err, "%s from %s",
				   rel->command[rel->n_command - 1], spec->image ? spec->image : "?")))
		goto done;
	/* one left by a run that was killed goes first */
	vd_container_remove(d, name, true, false, &e);
	vd_error_release(&e);
	if ((r = vd_spec_container(c, s, spec, &body, err)) ||
	    (r = vd_release_body(vd_buf_cstr(&body), rel->command, rel->n_command, &one, err)) ||
	    (r = vd_container_create(d, name, vd_buf_cstr(&one), &id, err)) ||
	    (r = vd_container_start(d, id, err)))
		goto failed;
	/* its output as it comes, until it exits or the timeout */
	lo.follow = true;
	lo.deadline_ms = (long)rel->timeout_ms;
	lo.idle_timeout_ms = (long)rel->timeout_ms;
	r = vd_logs_read(d, id, &lo, on_output, &t, err);
	tell_line(&t);
	left = rel->timeout_ms > vd_now_ms() - t0 ? rel->timeout_ms - (vd_now_ms() - t0) : 1;
	if (!r)
		r = vd_container_wait(d, id, "not-running", (long)left, &code, err);
	if (r == VD_ETIMEOUT) {
		vd_error_release(err);
		r = vd_error_set(err, VD_ETIMEOUT, "the release step ran past its timeout of %llu s "
				 "and was killed", (unsigned long long)(rel->timeout_ms / 1000));
		goto failed;
	}
	if (!r && code != 0)
		r = vd_error_set(err, VD_EAPI, "the release step exited with %lld%s%s", (long long)code,
				 t.last[0] ? ": " : "", t.last);
failed:
	if (r) {
		vd_error jerr = VD_ERROR_INIT;

		vd_progress_stepf(progress, "release", "failed", s->name, t0, &jerr, "%s",
				  vd_error_msg(err));
		vd_error_release(&jerr);
	} else {
		r = vd_progress_stepf(progress, "release", "done", s->name, t0, err, "exit code 0");
	}
	if (id || name) {
		/* its anonymous volumes with it, as `compose run --rm` does */
		vd_container_remove(d, id ? id : name, true, true, &e);
		vd_error_release(&e);
	}
done:
	vd_buf_release(&t.line);
	vd_buf_release(&body);
	vd_buf_release(&one);
	free(cname);
	free(name);
	free(id);
	return r;
}

/* --- on a swarm: a job service ---------------------------------------------- */

#define JOB_POLL_MS 250
#define ONEOFF_LABEL "io.voxdeploy.oneoff"

static void gen_argv(yajl_gen g, const char *key, char *const *argv, size_t argc)
{
	size_t i;

	vd_jgen_str(g, key);
	yajl_gen_array_open(g);
	for (i = 0; i < argc; i++)
		vd_jgen_str(g, argv[i]);
	yajl_gen_array_close(g);
}

/* What a level of the job's spec gets besides what it copies. */
static void job_add(yajl_gen g, const char *where, bool had_labels, char *const *argv, size_t argc)
{
	if (!*where) {
		vd_jgen_str(g, "Mode");
		yajl_gen_map_open(g);
		vd_jgen_str(g, "ReplicatedJob");
		yajl_gen_map_open(g);
		vd_jgen_kint(g, "MaxConcurrent", 1);
		vd_jgen_kint(g, "TotalCompletions", 1);
		yajl_gen_map_close(g);
		yajl_gen_map_close(g);
		if (!had_labels) {
			vd_jgen_str(g, "Labels");
			yajl_gen_map_open(g);
			vd_jgen_kstr(g, ONEOFF_LABEL, "True");
			yajl_gen_map_close(g);
		}
	} else if (!strcmp(where, "Labels")) {
		vd_jgen_kstr(g, ONEOFF_LABEL, "True");
	} else if (!strcmp(where, "TaskTemplate")) {
		vd_jgen_str(g, "RestartPolicy");
		yajl_gen_map_open(g);
		vd_jgen_kstr(g, "Condition", "none");
		yajl_gen_map_close(g);
	} else if (!strcmp(where, "ContainerSpec")) {
		gen_argv(g, "Args", argv, argc);
		vd_jgen_str(g, "Healthcheck");
		yajl_gen_map_open(g);
		gen_argv(g, "Test", (char *const[]){ "NONE" }, 1);
		yajl_gen_map_close(g);
	}
}

/* Whether key k at level `where` is left out of the job. */
static bool job_drops(const char *where, const char *k)
{
	if (!*where)
		return !strcmp(k, "Mode") || !strcmp(k, "UpdateConfig") || !strcmp(k, "RollbackConfig") ||
		       !strcmp(k, "EndpointSpec");
	if (!strcmp(where, "TaskTemplate"))
		return !strcmp(k, "RestartPolicy");
	if (!strcmp(where, "ContainerSpec"))
		return !strcmp(k, "Args") || !strcmp(k, "Healthcheck");
	if (!strcmp(where, "Labels"))
		return !strcmp(k, VD_SPEC_STACK_NAMESPACE_LABEL) || !strcmp(k, ONEOFF_LABEL);
	return false;
}

/* Copy a ServiceSpec (one of its objects: where) into g as the job's. */
static void job_copy(yajl_gen g, yajl_val v, const char *where, char *const *argv, size_t argc)
{
	bool had_labels = false;
	size_t i, j;

	yajl_gen_map_open(g);
	for (i = 0; i < v->u.object.len; i++) {
		const char *k = v->u.object.keys[i];
		yajl_val val = v->u.object.values[i];

		if (job_drops(where, k))
			continue;
		vd_jgen_str(g, k);
		if (!*where && !strcmp(k, "Name") && YAJL_IS_STRING(val)) {
			vd_buf name = VD_BUF_INIT;

			vd_buf_printf(&name, "%s%s", YAJL_GET_STRING(val), VD_SWAP_RELEASE_SUFFIX);
			vd_jgen_str(g, vd_buf_cstr(&name));
			vd_buf_release(&name);
		} else if (YAJL_IS_OBJECT(val) &&
			   ((!*where && (!strcmp(k, "Labels") || !strcmp(k, "TaskTemplate"))) ||
			    (!strcmp(where, "TaskTemplate") && !strcmp(k, "ContainerSpec")))) {
			had_labels |= !strcmp(k, "Labels");
			job_copy(g, val, k, argv, argc);
		} else if (!strcmp(where, "TaskTemplate") && !strcmp(k, "Networks") && YAJL_IS_ARRAY(val)) {
			/* a one-off answers to no service name */
			yajl_gen_array_open(g);
			for (j = 0; j < val->u.array.len; j++) {
				yajl_gen_map_open(g);
				vd_jgen_kstr(g, "Target", vd_json_str(val->u.array.values[j], "Target"));
				yajl_gen_map_close(g);
			}
			yajl_gen_array_close(g);
		} else {
			vd_jgen_value(g, val);
		}
	}
	job_add(g, where, had_labels, argv, argc);
	yajl_gen_map_close(g);
}

int vd_release_job_spec(const char *service_spec, char *const *argv, size_t argc, vd_buf *out,
			vd_error *err)
{
	yajl_val v = vd_json_parse(service_spec, err);
	yajl_gen g;
	int r;

	if (!v)
		return err->code;
	if (!argc || !YAJL_IS_OBJECT(v) || !YAJL_IS_OBJECT(vd_json_get(v, "TaskTemplate"))) {
		yajl_tree_free(v);
		return vd_error_set(err, VD_EINVAL, argc ? "not a service spec" : "the release step has no command");
	}
	if (!(g = vd_jgen_new())) {
		yajl_tree_free(v);
		return vd_error_set(err, VD_ENOMEM, "out of memory");
	}
	job_copy(g, v, "", argv, argc);
	yajl_tree_free(v);
	r = vd_jgen_finish(g, out);
	return r ? vd_error_set(err, VD_ENOMEM, "out of memory") : 0;
}

/* Wait for the job's task to end, at most timeout_ms: *code its exit code
 * (0: complete; -1: it never ran), *why the task's state and error when it
 * did not complete. */
static int job_wait(vd_docker *d, const char *id, uint64_t timeout_ms, int64_t *code, char *why,
		    size_t why_size, vd_error *err)
{
	uint64_t t0 = vd_now_ms();
	char last[160] = "";
	int r;

	for (;;) {
		vd_task_array tasks = { NULL, 0 };
		size_t i;
		bool ended = false;

		if ((r = vd_task_list(d, id, &tasks, err)))
			return r;
		for (i = 0; i < tasks.len && !ended; i++) {
			const vd_task_info *t = &tasks.items[i];

			if (t->state && !strcmp(t->state, "complete")) {
				*code = 0;
				ended = true;
			} else if (t->state && (!strcmp(t->state, "failed") || !strcmp(t->state, "rejected") ||
						!strcmp(t->state, "orphaned"))) {
				*code = t->exit_code ? t->exit_code : -1;
				snprintf(why, why_size, "%s%s%s", t->state, t->error ? ": " : "",
					 t->error ? t->error : "");
				ended = true;
			} else if (t->state) {
				snprintf(last, sizeof(last), "%s%s%s", t->state, t->error ? ": " : "",
					 t->message && !t->error ? t->message : t->error ? t->error : "");
			}
		}
		vd_task_array_release(&tasks);
		if (ended)
			return 0;
		if (vd_now_ms() - t0 >= timeout_ms)
			return vd_error_set(err, VD_ETIMEOUT, "the release step ran past its timeout of %llu s "
					    "(its task: %s) and was removed",
					    (unsigned long long)(timeout_ms / 1000), last[0] ? last : "not placed");
		usleep(JOB_POLL_MS * 1000);
	}
}

int vd_release_swarm_run(vd_docker *d, const char *service_spec, const char *service,
			 const vd_config_release *rel, const char *registry_auth, vd_progress *progress,
			 vd_error *err)
{
	vd_buf job = VD_BUF_INIT;
	vd_logs_opts lo = VD_LOGS_OPTS_INIT;
	struct tell t = { progress, service, VD_BUF_INIT, "", 0 };
	char *id = NULL, why[256] = "";
	const char *image;
	yajl_val v = NULL;
	uint64_t t0 = vd_now_ms();
	int64_t code = -1;
	vd_error e = VD_ERROR_INIT;
	int r;

	vd_buf_init(&t.line, 8192);
	if ((r = vd_release_job_spec(service_spec, rel->command, rel->n_command, &job, err)) ||
	    !(v = vd_json_parse(vd_buf_cstr(&job), err)))
		goto done;
	image = vd_json_str(vd_json_get(vd_json_get(v, "TaskTemplate"), "ContainerSpec"), "Image");
	if ((r = vd_progress_stepf(progress, "release", "begin", service, 0, err, "%s from %s (a job on the swarm)",
				   rel->command[rel->n_command - 1], image ? image : "?")))
		goto done;
	/* one left by a run that was killed goes first */
	if (vd_json_str(v, "Name"))
		vd_service_remove(d, vd_json_str(v, "Name"), &e);
	vd_error_release(&e);
	if ((r = vd_service_create(d, vd_buf_cstr(&job), registry_auth, &id, err)) ||
	    (r = job_wait(d, id, rel->timeout_ms, &code, why, sizeof(why), err)))
		goto failed;
	/* its output, now that it ended */
	lo.tty_known = true;
	lo.tty = vd_json_bool(vd_json_get(vd_json_get(v, "TaskTemplate"), "ContainerSpec"), "TTY", false);
	lo.service = true;
	lo.deadline_ms = 30000;
	lo.idle_timeout_ms = 30000;
	if (vd_logs_read(d, id, &lo, on_output, &t, &e))
		vd_log_warn("release: its output could not be read: %s", vd_error_msg(&e));
	vd_error_release(&e);
	tell_line(&t);
	if (code == -1)  /* it never ran: its image could not be pulled, no node took it */
		r = vd_error_set(err, VD_EAPI, "the release step did not run: its task %s", why);
	else if (code != 0)
		r = vd_error_set(err, VD_EAPI, "the release step exited with %lld%s%s", (long long)code,
				 t.last[0] ? ": " : "", t.last);
failed:
	if (r) {
		vd_error jerr = VD_ERROR_INIT;

		vd_progress_stepf(progress, "release", "failed", service, t0, &jerr, "%s", vd_error_msg(err));
		vd_error_release(&jerr);
	} else {
		r = vd_progress_stepf(progress, "release", "done", service, t0, err, "exit code 0");
	}
	if (id) {
		vd_service_remove(d, id, &e);
		vd_error_release(&e);
	}
done:
	if (!r && !v)
		r = err->code;
	yajl_tree_free(v);
	vd_buf_release(&t.line);
	vd_buf_release(&job);
	free(id);
	return r;
}
