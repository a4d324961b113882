#include "docker_api/exec.h"
#include "common/clock.h"
#include "common/json.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DEFAULT_TIMEOUT_MS 60000L
#define PLAIN_TIMEOUT_MS 30000L
#define DEFAULT_MAX_OUTPUT ((size_t)1 << 20)
#define MAX_ANSWER ((size_t)1 << 20)
/* After the output ends the exit code can lag a little: this many quick
 * inspections (10 ms doubling to 250 ms, about 10 s in all) at most. */
#define EXIT_POLLS 50
#define EXIT_POLL_MAX_MS 250

static long effective_timeout(const vd_exec_opts *opts)
{
	return opts && opts->timeout_ms > 0 ? opts->timeout_ms : DEFAULT_TIMEOUT_MS;
}

static long plain_timeout(long timeout_ms)
{
	return timeout_ms < PLAIN_TIMEOUT_MS ? timeout_ms : PLAIN_TIMEOUT_MS;
}

int vd_exec_create_body(const char *const *argv, const vd_exec_opts *opts, vd_buf *out,
			vd_error *err)
{
	yajl_gen g;
	size_t i;
	int r;

	if (!argv || !argv[0])
		return vd_error_set(err, VD_EINVAL, "no command given");
	g = vd_jgen_new();
	if (!g)
		return vd_error_set(err, VD_ENOMEM, "out of memory");
	yajl_gen_map_open(g);
	vd_jgen_kbool(g, "AttachStdin", false);
	vd_jgen_kbool(g, "AttachStdout", true);
	vd_jgen_kbool(g, "AttachStderr", true);
	vd_jgen_kbool(g, "Tty", false);
	vd_jgen_str(g, "Cmd");
	yajl_gen_array_open(g);
	for (i = 0; argv[i]; i++)
		vd_jgen_str(g, argv[i]);
	yajl_gen_array_close(g);
	if (opts && opts->env) {
		vd_jgen_str(g, "Env");
		yajl_gen_array_open(g);
		for (i = 0; opts->env[i]; i++)
			vd_jgen_str(g, opts->env[i]);
		yajl_gen_array_close(g);
	}
	if (opts && opts->user)
		vd_jgen_kstr(g, "User", opts->user);
	if (opts && opts->working_dir)
		vd_jgen_kstr(g, "WorkingDir", opts->working_dir);
	yajl_gen_map_close(g);
	r = vd_jgen_finish(g, out);
	if (r)
		return vd_error_set(err, r, "exec: cannot build the request body");
	return 0;
}

static int exec_create(vd_docker *d, const char *container, const char *const *argv,
		       const vd_exec_opts *opts, long timeout_ms, char **out_id, vd_error *err)
{
	vd_docker_req req = { .method = "POST", .timeout_ms = plain_timeout(timeout_ms) };
	vd_buf path = VD_BUF_INIT, body = VD_BUF_INIT, answer = VD_BUF_INIT;
	yajl_val v = NULL;
	const char *id;
	char *dup;
	int r;

	vd_buf_init(&answer, MAX_ANSWER);
	r = vd_exec_create_body(argv, opts, &body, err);
	if (r)
		goto done;
	if (vd_docker_path(&path, "/containers/", container, "/exec")) {
		r = vd_error_set(err, VD_ENOMEM, "out of memory");
		goto done;
	}
	req.path = vd_buf_cstr(&path);
	req.body = vd_buf_cstr(&body);
	req.body_len = body.len;
	r = vd_docker_request(d, &req, &answer, err);
	if (r)
		goto done;
	v = vd_json_parse(vd_buf_cstr(&answer), err);
	if (!v) {
		r = VD_EPROTO;
		goto done;
	}
	id = vd_json_str(v, "Id");
	if (!id || !*id) {
		r = vd_error_set(err, VD_EPROTO, "the engine's answer has no exec Id");
		goto done;
	}
	dup = strdup(id);
	if (!dup) {
		r = vd_error_set(err, VD_ENOMEM, "out of memory");
		goto done;
	}
	*out_id = dup;
done:
	yajl_tree_free(v);
	vd_buf_release(&path);
	vd_buf_release(&body);
	vd_buf_release(&answer);
	return r;
}

int vd_exec_create(vd_docker *d, const char *container, const char *const *argv,
		   const vd_exec_opts *opts, char **out_id, vd_error *err)
{
	int r = exec_create(d, container, argv, opts, effective_timeout(opts), out_id, err);

	if (r)
		return vd_error_prefix(err, "exec in %s: create", container);
	return 0;
}

static int on_data(const char *data, size_t len, void *ctx, vd_error *err)
{
	return vd_logs_demux_feed(ctx, data, len, err);
}

static int exec_start(vd_docker *d, const char *exec_id, long timeout_ms, long idle_ms,
		      vd_logs_cb cb, void *ctx, vd_error *err)
{
	static const char body[] = "{\"Detach\":false,\"Tty\":false}";
	vd_docker_req req = { .method = "POST", .body = body, .body_len = sizeof(body) - 1 };
	vd_buf path = VD_BUF_INIT;
	vd_logs_demux m;
	int r;

	/* the engine hijacks the connection and sends frames until the command
	 * ends; silence is normal (a command that prints nothing), hence the
	 * idle limit defaults to the whole timeout */
	vd_logs_demux_init(&m, false, 0, cb, ctx);
	if (vd_docker_path(&path, "/exec/", exec_id, "/start")) {
		r = vd_error_set(err, VD_ENOMEM, "out of memory");
		goto done;
	}
	req.path = vd_buf_cstr(&path);
	req.on_data = on_data;
	req.ctx = &m;
	req.deadline_ms = timeout_ms;
	req.idle_timeout_ms = idle_ms > 0 && idle_ms < timeout_ms ? idle_ms : timeout_ms;
	r = vd_docker_request(d, &req, NULL, err);
	if (r > 0)
		r = 0;  /* the callback stopped reading */
	else if (!r)
		r = vd_logs_demux_finish(&m, err);
done:
	vd_logs_demux_release(&m);
	vd_buf_release(&path);
	return r;
}

int vd_exec_start(vd_docker *d, const char *exec_id, const vd_exec_opts *opts,
		  vd_logs_cb cb, void *ctx, vd_error *err)
{
	int r = exec_start(d, exec_id, effective_timeout(opts), opts ? opts->idle_timeout_ms : 0,
			   cb, ctx, err);

	if (r)
		return vd_error_prefix(err, "exec %.12s: start", exec_id);
	return 0;
}

int vd_exec_state_parse(const char *json, vd_exec_state *out, vd_error *err)
{
	yajl_val v = vd_json_parse(json, err);
	yajl_val code;
	vd_exec_state s = { .exit_code = -1 };

	if (!v)
		return vd_error_prefix(err, "exec inspect");
	if (!YAJL_IS_OBJECT(v)) {
		yajl_tree_free(v);
		return vd_error_set(err, VD_EPROTO, "exec inspect: the answer is no object");
	}
	s.running = vd_json_bool(v, "Running", false);
	s.pid = vd_json_int(v, "Pid", 0);
	code = vd_json_get(v, "ExitCode");
	if (!s.running && code && YAJL_IS_INTEGER(code)) {
		s.exited = true;
		s.exit_code = code->u.number.i;
	}
	yajl_tree_free(v);
	*out = s;
	return 0;
}

static int exec_inspect(vd_docker *d, const char *exec_id, long timeout_ms, vd_exec_state *out,
			vd_error *err)
{
	vd_docker_req req = { .method = "GET", .timeout_ms = plain_timeout(timeout_ms) };
	vd_buf path = VD_BUF_INIT, answer = VD_BUF_INIT;
	int r;

	vd_buf_init(&answer, MAX_ANSWER);
	if (vd_docker_path(&path, "/exec/", exec_id, "/json")) {
		r = vd_error_set(err, VD_ENOMEM, "out of memory");
		goto done;
	}
	req.path = vd_buf_cstr(&path);
	r = vd_docker_request(d, &req, &answer, err);
	if (!r)
		r = vd_exec_state_parse(vd_buf_cstr(&answer), out, err);
done:
	vd_buf_release(&path);
	vd_buf_release(&answer);
	return r;
}

int vd_exec_inspect(vd_docker *d, const char *exec_id, vd_exec_state *out, vd_error *err)
{
	int r = exec_inspect(d, exec_id, PLAIN_TIMEOUT_MS, out, err);

	if (r)
		return vd_error_prefix(err, "exec %.12s: inspect", exec_id);
	return 0;
}

void vd_exec_result_init(vd_exec_result *res, size_t max_output)
{
	res->exit_code = -1;
	res->truncated = false;
	vd_buf_init(&res->out, max_output ? max_output : DEFAULT_MAX_OUTPUT);
	vd_buf_init(&res->err, max_output ? max_output : DEFAULT_MAX_OUTPUT);
}

void vd_exec_result_release(vd_exec_result *res)
{
	if (!res)
		return;
	vd_buf_release(&res->out);
	vd_buf_release(&res->err);
	res->exit_code = -1;
	res->truncated = false;
}

static void sleep_ms(uint64_t ms)
{
	struct timespec ts = { .tv_sec = (time_t)(ms / 1000), .tv_nsec = (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* Milliseconds left as a timeout for the next step; 0 when none is. */
static long left_ms(vd_deadline dl)
{
	uint64_t left = vd_deadline_left_ms(dl);

	return left > (uint64_t)LONG_MAX ? LONG_MAX : (long)left;
}

static int timed_out(vd_error *err, long timeout_ms, const char *what)
{
	return vd_error_set(err, VD_ETIMEOUT, "no %s within %ld ms (the command may still be running)",
			    what, timeout_ms);
}

int vd_exec_run(vd_docker *d, const char *container, const char *const *argv,
		const vd_exec_opts *opts, vd_exec_result *res, vd_error *err)
{
	long timeout_ms = effective_timeout(opts);
	vd_deadline dl = vd_deadline_in((uint64_t)timeout_ms);
	vd_logs_sink sink = { .out = &res->out, .err = &res->err };
	vd_exec_state st = { .exit_code = -1 };
	uint64_t delay = 10;
	char *id = NULL;
	int r, i;

	res->exit_code = -1;
	r = exec_create(d, container, argv, opts, timeout_ms, &id, err);
	if (r) {
		vd_error_prefix(err, "create");
		goto done;
	}
	if (!left_ms(dl)) {
		r = timed_out(err, timeout_ms, "start");
		goto done;
	}
	r = exec_start(d, id, left_ms(dl), opts ? opts->idle_timeout_ms : 0,
		       vd_logs_sink_cb, &sink, err);
	res->truncated = sink.truncated;
	if (r) {
		vd_error_prefix(err, "start");
		goto done;
	}
	for (i = 0; i < EXIT_POLLS; i++) {
		if (!left_ms(dl)) {
			r = timed_out(err, timeout_ms, "exit code");
			goto done;
		}
		r = exec_inspect(d, id, left_ms(dl), &st, err);
		if (r) {
			vd_error_prefix(err, "inspect");
			goto done;
		}
		if (st.exited)
			break;
		sleep_ms(delay < vd_deadline_left_ms(dl) ? delay : vd_deadline_left_ms(dl));
		delay = delay * 2 > EXIT_POLL_MAX_MS ? EXIT_POLL_MAX_MS : delay * 2;
	}
	if (!st.exited) {
		r = vd_error_set(err, VD_ETIMEOUT,
				 "the output ended but the engine reported no exit code after %d "
				 "inspections (%s)", EXIT_POLLS,
				 st.running ? "still running: a child may have closed its output"
					    : "exit code null");
		goto done;
	}
	res->exit_code = st.exit_code;
done:
	if (r)
		vd_error_prefix(err, "exec in %s", container);
	free(id);
	return r;
}
