#include "health/owncheck.h"
#include "common/buf.h"
#include "common/clock.h"
#include "common/log.h"
#include "docker_api/exec.h"

#include <stdlib.h>
#include <string.h>

/* After the output ends the exit code can lag: inspect again after 10 ms,
 * doubling to 200 ms, until the run's deadline. */
#define EXIT_POLL_FIRST_MS 10
#define EXIT_POLL_MAX_MS 200

/* --- the command ---------------------------------------------------------- */

void vd_owncheck_cmd_release(vd_owncheck_cmd *c)
{
	size_t i;

	if (!c)
		return;
	for (i = 0; c->argv && c->argv[i]; i++)
		free(c->argv[i]);
	free(c->argv);
	free(c->user);
	free(c->working_dir);
	memset(c, 0, sizeof(*c));
}

static char *dup_nonempty(const char *s)
{
	return s && *s ? strdup(s) : NULL;
}

/* Append the strings of array v (from index `from`) to argv at *n. */
static int push_strings(char **argv, size_t *n, yajl_val v, size_t from)
{
	size_t i;

	for (i = from; i < v->u.array.len; i++) {
		const char *s = YAJL_GET_STRING(v->u.array.values[i]);

		if (!s)
			return VD_EPROTO;
		if (!(argv[(*n)++] = strdup(s)))
			return VD_ENOMEM;
	}
	return 0;
}

int vd_owncheck_cmd_from_inspect(yajl_val inspect, vd_owncheck_cmd *out, vd_error *err)
{
	static const char *const sh_path[] = { "Config", "Shell", NULL };
	static const char *const test_path[] = { "Config", "Healthcheck", "Test", NULL };
	static const char *const timeout_path[] = { "Config", "Healthcheck", "Timeout", NULL };
	static const char *const default_shell[] = { "/bin/sh", "-c" };
	yajl_val test = yajl_tree_get(inspect, (const char **)test_path, yajl_t_array);
	yajl_val shell = yajl_tree_get(inspect, (const char **)sh_path, yajl_t_array);
	yajl_val timeout = yajl_tree_get(inspect, (const char **)timeout_path, yajl_t_number);
	yajl_val config = vd_json_get(inspect, "Config");
	const char *type;
	size_t n = 0, cap;
	int r = 0;

	memset(out, 0, sizeof(*out));
	if (!test || !test->u.array.len)
		return vd_error_set(err, VD_ENOTFOUND, "no HEALTHCHECK");
	type = YAJL_GET_STRING(test->u.array.values[0]);
	if (!type)
		return vd_error_set(err, VD_EPROTO, "HEALTHCHECK test: not a list of strings");
	if (!strcmp(type, "NONE"))
		return vd_error_set(err, VD_ENOTFOUND, "HEALTHCHECK NONE");
	if (strcmp(type, "CMD") && strcmp(type, "CMD-SHELL"))
		return vd_error_set(err, VD_EUNSUPPORTED, "HEALTHCHECK test type '%s' (the engine "
				    "runs only CMD and CMD-SHELL)", type);
	out->shell = !strcmp(type, "CMD-SHELL");
	if (test->u.array.len < 2)
		return vd_error_set(err, VD_EPROTO, "HEALTHCHECK %s without a command", type);
	if (shell && !shell->u.array.len)
		shell = NULL;
	cap = test->u.array.len + (shell ? shell->u.array.len : 2) + 1;
	out->argv = calloc(cap, sizeof(*out->argv));
	if (!out->argv)
		return vd_error_set(err, VD_ENOMEM, "out of memory");
	if (out->shell && shell) {
		r = push_strings(out->argv, &n, shell, 0);
	} else if (out->shell) {
		for (size_t i = 0; i < 2 && !r; i++)
			if (!(out->argv[n++] = strdup(default_shell[i])))
				r = VD_ENOMEM;
	}
	if (!r)
		r = push_strings(out->argv, &n, test, 1);
	if (!r && config) {
		out->user = dup_nonempty(vd_json_str(config, "User"));
		out->working_dir = dup_nonempty(vd_json_str(config, "WorkingDir"));
	}
	out->timeout_ms = VD_OWNCHECK_DEFAULT_TIMEOUT_MS;
	if (timeout && YAJL_IS_INTEGER(timeout) && timeout->u.number.i > 0)
		out->timeout_ms = (uint64_t)timeout->u.number.i / 1000000u;
	if (!out->timeout_ms)
		out->timeout_ms = 1;
	if (r) {
		vd_owncheck_cmd_release(out);
		if (r == VD_ENOMEM)
			return vd_error_set(err, VD_ENOMEM, "out of memory");
		return vd_error_set(err, VD_EPROTO, "HEALTHCHECK test: not a list of strings");
	}
	return 0;
}

/* --- judging -------------------------------------------------------------- */

const char *vd_owncheck_outcome_name(vd_owncheck_outcome o)
{
	switch (o) {
	case VD_OWNCHECK_PASSED: return "passed";
	case VD_OWNCHECK_FAILED: return "failed";
	case VD_OWNCHECK_TIMEOUT: return "timeout";
	case VD_OWNCHECK_UNAVAILABLE: return "unavailable";
	}
	return "unknown";
}

/* The last line with anything but blanks, as [*start, *start + *len). */
static void last_line(const char *s, size_t len, const char **start, size_t *line_len)
{
	size_t end = len, b;

	while (end > 0 && (s[end - 1] == '\n' || s[end - 1] == '\r' || s[end - 1] == ' ' ||
			   s[end - 1] == '\t'))
		end--;
	b = end;
	while (b > 0 && s[b - 1] != '\n')
		b--;
	*start = s + b;
	*line_len = end - b;
}

/* The detail "<what><sep><line>", flattened, redacted and cut as a
 * vd_health_result's. */
static void set_detail(vd_owncheck_result *out, const char *what, const char *sep,
		       const char *line, size_t line_len)
{
	vd_health_result tmp;

	memset(&tmp, 0, sizeof(tmp));
	vd_health_result_set(&tmp, VD_HEALTH_PENDING, "%s%s%.*s", what, sep, (int)line_len, line);
	memcpy(out->detail, tmp.detail, sizeof(out->detail));
}

void vd_owncheck_judge(int64_t exit_code, const char *output, size_t len,
		       vd_owncheck_result *out)
{
	const char *line;
	size_t line_len;
	char code[32];

	last_line(output ? output : "", output ? len : 0, &line, &line_len);
	out->exit_code = exit_code;
	out->left_running = false;
	snprintf(code, sizeof(code), "exit code %lld", (long long)exit_code);
	if (exit_code == 0) {
		out->outcome = VD_OWNCHECK_PASSED;
		set_detail(out, "", "", line, line_len);
	} else if ((exit_code == 126 || exit_code == 127) && output &&
		   memmem(output, len, "exec failed", 11)) {
		out->outcome = VD_OWNCHECK_UNAVAILABLE;
		set_detail(out, "the engine could not start it", ": ", line, line_len);
	} else {
		out->outcome = VD_OWNCHECK_FAILED;
		set_detail(out, code, line_len ? ": " : "", line, line_len);
	}
}

/* --- one run -------------------------------------------------------------- */

enum phase { RUNNING, EXIT_CODE };

struct vd_owncheck {
	vd_docker *d;
	char *container;
	char *exec_id;
	vd_exec_stream *s;
	vd_buf output;          /* stdout and stderr together, capped */
	vd_logs_sink sink;
	enum phase phase;
	bool done;              /* step said it is over: nothing to stop */
	uint64_t t0;            /* create */
	uint64_t deadline;      /* t0 + timeout */
	uint64_t timeout_ms;
	uint64_t next_poll;     /* EXIT_CODE: next inspect */
	uint64_t poll_gap;
};

static void unavailable(vd_owncheck_result *res, uint64_t t0, const char *why)
{
	memset(res, 0, sizeof(*res));
	res->outcome = VD_OWNCHECK_UNAVAILABLE;
	res->exit_code = -1;
	res->latency_ms = vd_now_ms() - t0;
	set_detail(res, "the engine could not run it", ": ", why, strlen(why));
}

int vd_owncheck_start(vd_docker *d, const char *id, const vd_owncheck_cmd *cmd,
		      uint64_t timeout_ms, vd_owncheck **out, vd_owncheck_result *res,
		      vd_error *err)
{
	vd_exec_opts eo = VD_EXEC_OPTS_INIT;
	vd_owncheck *o;
	vd_error xerr = VD_ERROR_INIT;
	int r;

	*out = NULL;
	o = calloc(1, sizeof(*o));
	if (!o || !(o->container = strdup(id))) {
		free(o);
		return vd_error_set(err, VD_ENOMEM, "out of memory");
	}
	o->d = d;
	o->t0 = vd_now_ms();
	o->timeout_ms = timeout_ms ? timeout_ms : cmd->timeout_ms;
	o->deadline = o->t0 + o->timeout_ms;
	vd_buf_init(&o->output, VD_OWNCHECK_MAX_OUTPUT);
	o->sink.out = &o->output;
	o->sink.err = &o->output;
	eo.user = cmd->user;
	eo.working_dir = cmd->working_dir;
	eo.timeout_ms = (long)o->timeout_ms;
	r = vd_exec_create(d, id, (const char *const *)cmd->argv, &eo, &o->exec_id, &xerr);
	if (!r)
		r = vd_exec_stream_open(d, o->exec_id, (long)o->timeout_ms, vd_logs_sink_cb,
					&o->sink, &o->s, &xerr);
	if (r)
		o->done = true;  /* never started: nothing to stop */
	if (r == VD_ENOMEM) {
		vd_error_set(err, VD_ENOMEM, "out of memory");
	} else if (r) {
		unavailable(res, o->t0, vd_error_msg(&xerr));
		r = 0;
	} else {
		*out = o;
		o = NULL;
	}
	vd_error_release(&xerr);
	vd_owncheck_free(o);
	return r;
}

size_t vd_owncheck_pollfds(const vd_owncheck *o, struct pollfd *fds, size_t max)
{
	return o->phase == RUNNING && o->s ? vd_exec_stream_pollfds(o->s, fds, max) : 0;
}

long vd_owncheck_timeout(const vd_owncheck *o)
{
	uint64_t now = vd_now_ms();

	if (o->phase == RUNNING && o->s)
		return vd_exec_stream_timeout(o->s);
	return o->next_poll > now ? (long)(o->next_poll - now) : 0;
}

/* Stop the command if it still runs; true when it is not running now. */
static bool stop(vd_owncheck *o, char *why, size_t size)
{
	vd_error err = VD_ERROR_INIT;
	int r = vd_exec_kill(o->d, o->exec_id, o->container, &err);

	if (r)
		snprintf(why, size, "%s", vd_error_msg(&err));
	vd_error_release(&err);
	return r == 0;
}

static void timed_out(vd_owncheck *o, vd_owncheck_result *res)
{
	char why[VD_HEALTH_DETAIL_MAX] = "";
	const char *line;
	size_t line_len;

	memset(res, 0, sizeof(*res));
	res->outcome = VD_OWNCHECK_TIMEOUT;
	res->exit_code = -1;
	res->latency_ms = vd_now_ms() - o->t0;
	res->left_running = !stop(o, why, sizeof(why));
	last_line(vd_buf_cstr(&o->output), o->output.len, &line, &line_len);
	if (res->left_running) {
		set_detail(res, "ran past its timeout and could not be stopped", ": ", why,
			   strlen(why));
	} else {
		char what[64];

		snprintf(what, sizeof(what), "ran past its timeout of %llu ms and was stopped",
			 (unsigned long long)o->timeout_ms);
		set_detail(res, what, line_len ? ": " : "", line, line_len);
	}
}

static bool step(vd_owncheck *o, const struct pollfd *fds, size_t n, vd_owncheck_result *res)
{
	vd_error err = VD_ERROR_INIT;
	vd_exec_state st;
	uint64_t now;
	int r;

	if (o->phase == RUNNING) {
		r = vd_exec_stream_perform(o->s, fds, n, &err);
		if (!r) {
			vd_error_release(&err);
			return false;
		}
		vd_exec_stream_free(o->s);
		o->s = NULL;
		if (r != VD_DOCKER_STREAM_END) {
			if (vd_now_ms() >= o->deadline || r == VD_ETIMEOUT)
				timed_out(o, res);
			else
				unavailable(res, o->t0, vd_error_msg(&err));
			vd_error_release(&err);
			return true;
		}
		o->phase = EXIT_CODE;
		o->next_poll = 0;
		o->poll_gap = EXIT_POLL_FIRST_MS;
	}
	now = vd_now_ms();
	if (now < o->next_poll)
		return false;
	r = vd_exec_inspect(o->d, o->exec_id, &st, &err);
	if (r) {
		unavailable(res, o->t0, vd_error_msg(&err));
		vd_error_release(&err);
		return true;
	}
	vd_error_release(&err);
	if (!st.exited) {
		if (now >= o->deadline) {
			timed_out(o, res);
			return true;
		}
		o->next_poll = now + o->poll_gap;
		o->poll_gap = o->poll_gap * 2 > EXIT_POLL_MAX_MS ? EXIT_POLL_MAX_MS : o->poll_gap * 2;
		return false;
	}
	memset(res, 0, sizeof(*res));
	vd_owncheck_judge(st.exit_code, vd_buf_cstr(&o->output), o->output.len, res);
	res->latency_ms = vd_now_ms() - o->t0;
	return true;
}

bool vd_owncheck_step(vd_owncheck *o, const struct pollfd *fds, size_t n,
		      vd_owncheck_result *res)
{
	if (o->done)
		return true;
	o->done = step(o, fds, n, res);
	return o->done;
}

void vd_owncheck_free(vd_owncheck *o)
{
	char why[VD_HEALTH_DETAIL_MAX];

	if (!o)
		return;
	if (o->exec_id && !o->done && !stop(o, why, sizeof(why)))
		vd_log_debug("health: own check %.12s in %.12s left running: %s", o->exec_id,
			     o->container, why);
	vd_exec_stream_free(o->s);
	vd_buf_release(&o->output);
	free(o->exec_id);
	free(o->container);
	free(o);
}
