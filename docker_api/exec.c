#include "docker_api/exec.h"
#include "common/clock.h"
#include "common/json.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
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
	vd_jgen_kbool(g, "AttachStdin", opts && opts->attach_stdin);
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
		      int stdin_fd, vd_logs_cb cb, void *ctx, vd_error *err)
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
	if (stdin_fd >= 0)
		r = vd_docker_hijack(d, &req, stdin_fd, err);
	else
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
			   opts && opts->attach_stdin ? opts->stdin_fd : -1, cb, ctx, err);

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
		       opts && opts->attach_stdin ? opts->stdin_fd : -1,
		       opts && opts->on_output ? opts->on_output : vd_logs_sink_cb,
		       opts && opts->on_output ? opts->output_ctx : &sink, err);
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

/* --- the non-blocking start ---------------------------------------------- */

static const char start_body[] = "{\"Detach\":false,\"Tty\":false}";

struct vd_exec_stream {
	vd_docker_req req;
	vd_buf path;
	vd_logs_demux m;
	vd_docker_stream *s;
};

int vd_exec_stream_open(vd_docker *d, const char *exec_id, long timeout_ms, vd_logs_cb cb,
			void *ctx, vd_exec_stream **out, vd_error *err)
{
	vd_exec_stream *x = calloc(1, sizeof(*x));
	int r;

	*out = NULL;
	if (!x)
		return vd_error_set(err, VD_ENOMEM, "out of memory");
	vd_buf_init(&x->path, 1 << 12);
	vd_logs_demux_init(&x->m, false, 0, cb, ctx);
	if (vd_docker_path(&x->path, "/exec/", exec_id, "/start")) {
		vd_exec_stream_free(x);
		return vd_error_set(err, VD_ENOMEM, "out of memory");
	}
	x->req.method = "POST";
	x->req.path = vd_buf_cstr(&x->path);
	x->req.body = start_body;
	x->req.body_len = sizeof(start_body) - 1;
	x->req.on_data = on_data;
	x->req.ctx = &x->m;
	x->req.deadline_ms = timeout_ms > 0 ? timeout_ms : DEFAULT_TIMEOUT_MS;
	x->req.idle_timeout_ms = x->req.deadline_ms;
	r = vd_docker_stream_open(d, &x->req, &x->s, err);
	if (r) {
		vd_exec_stream_free(x);
		return vd_error_prefix(err, "exec %.12s: start", exec_id);
	}
	*out = x;
	return 0;
}

size_t vd_exec_stream_pollfds(const vd_exec_stream *s, struct pollfd *fds, size_t max)
{
	return vd_docker_stream_pollfds(s->s, fds, max);
}

long vd_exec_stream_timeout(const vd_exec_stream *s)
{
	return vd_docker_stream_timeout(s->s);
}

int vd_exec_stream_perform(vd_exec_stream *s, const struct pollfd *fds, size_t n, vd_error *err)
{
	int r = vd_docker_stream_perform(s->s, fds, n, err);

	if (r == VD_DOCKER_STREAM_END && s->m.status != VD_LOGS_STOP) {
		int f = vd_logs_demux_finish(&s->m, err);

		if (f)
			return f;
	}
	return r;
}

void vd_exec_stream_free(vd_exec_stream *s)
{
	if (!s)
		return;
	vd_docker_stream_free(s->s);
	vd_logs_demux_release(&s->m);
	vd_buf_release(&s->path);
	free(s);
}

/* --- stopping one from this side ----------------------------------------- */

/* The process's cgroup names the container (cgroupfs "/docker/<id>", systemd
 * "docker-<id>.scope"): it is that container's, not a pid reused since. */
static bool in_container(pid_t pid, const char *container_id)
{
	char path[64], line[1024];
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, container_id) != NULL;
	fclose(f);
	return found;
}

/* The parent pid from /proc/<pid>/stat (after the command's closing paren,
 * which may itself hold parens and spaces); -1 when it cannot be read. */
static pid_t parent_of(pid_t pid)
{
	char path[64], buf[512], *p;
	size_t n;
	FILE *f;
	long ppid;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 1, " %*c %ld", &ppid) != 1)
		return -1;
	return (pid_t)ppid;
}

/* The process and its descendants, in the container's cgroup; n (≤ max)
 * written to out, the root first. */
static size_t process_tree(pid_t root, const char *container_id, pid_t *out, size_t max)
{
	struct dirent *e;
	size_t n = 0, grew;
	DIR *dir;

	out[n++] = root;
	/* a few passes over /proc pick up grandchildren listed before their
	 * parents; a check's process tree is small */
	do {
		grew = n;
		dir = opendir("/proc");
		if (!dir)
			break;
		while ((e = readdir(dir)) != NULL && n < max) {
			pid_t pid, ppid;
			size_t i;
			bool known = false, parent = false;

			if (!isdigit((unsigned char)e->d_name[0]))
				continue;
			pid = (pid_t)strtol(e->d_name, NULL, 10);
			for (i = 0; i < n; i++)
				known |= out[i] == pid;
			if (known || (ppid = parent_of(pid)) <= 0)
				continue;
			for (i = 0; i < n; i++)
				parent |= out[i] == ppid;
			if (parent && in_container(pid, container_id))
				out[n++] = pid;
		}
		closedir(dir);
	} while (n > grew && n < max);
	return n;
}

#define MAX_TREE 64

/* How long an exec whose start was asked may take to begin (or end). */
#define KILL_WAIT_POLLS 100
#define KILL_WAIT_MS 20

int vd_exec_kill(vd_docker *d, const char *exec_id, const char *container_id, vd_error *err)
{
	pid_t tree[MAX_TREE];
	vd_exec_state st;
	size_t n, i;
	int r, polls;

	/* a start just asked for may not have begun the process yet: wait for
	 * it to run (then stop it) or to have ended */
	for (polls = 0;; polls++) {
		if ((r = vd_exec_inspect(d, exec_id, &st, err)))
			return r;
		if (st.exited || (st.running && st.pid > 0))
			break;
		if (polls == KILL_WAIT_POLLS)
			return vd_error_set(err, VD_ETIMEOUT, "exec %.12s: its process neither began "
					    "nor ended within %d ms", exec_id,
					    KILL_WAIT_POLLS * KILL_WAIT_MS);
		sleep_ms(KILL_WAIT_MS);
	}
	if (!st.running)
		return 0;
	if (!in_container((pid_t)st.pid, container_id))
		return vd_error_set(err, VD_EUNSUPPORTED,
				    "exec %.12s: its process (pid %lld on the engine's host) is not "
				    "visible here", exec_id, (long long)st.pid);
	n = process_tree((pid_t)st.pid, container_id, tree, MAX_TREE);
	for (i = 0; i < n; i++)
		if (kill(tree[i], SIGKILL) && errno != ESRCH && i == 0)
			return vd_error_set(err, VD_EIO, "exec %.12s: kill pid %d: %s", exec_id,
					    (int)tree[0], strerror(errno));
	return 0;
}
