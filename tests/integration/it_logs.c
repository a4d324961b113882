/* Integration tests: container logs (framed and TTY) and exec, against the
 * real engine; the `logs` command on a compose project's containers, and
 * `logs -f` through a deploy's swap, a rollback and a restart. */
#include "itest.h"
#include "testutil.h"
#include "common/clock.h"
#include "common/json.h"
#include "docker_api/exec.h"
#include "docker_api/logs.h"

#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Create, start and wait for a container running `script`; returns its id. */
static char *run_to_exit(const char *suffix, const char *script, const char *extra,
			 int64_t *exit_code)
{
	vd_docker *d = itest_docker();
	vd_error err = VD_ERROR_INIT;
	char *id = itest_create(suffix, script, extra);
	int64_t code = -1;

	itest_ok(vd_container_start(d, id, &err), &err);
	itest_ok(vd_container_wait(d, id, "not-running", 30000, &code, &err), &err);
	if (exit_code)
		*exit_code = code;
	vd_error_release(&err);
	return id;
}

/* A container that stays up for exec. */
static char *run_idle(const char *suffix)
{
	vd_error err = VD_ERROR_INIT;
	char *id = itest_create(suffix, "sleep 300", NULL);

	itest_ok(vd_container_start(itest_docker(), id, &err), &err);
	vd_error_release(&err);
	return id;
}

static const char script[] =
	"echo out1; echo err1 >&2; echo out2; echo err2 >&2; "
	"i=0; while [ $i -lt 200 ]; do echo line$i; i=$((i+1)); done; printf 'no newline'";

static void logs__framed_in_order(void **state)
{
	vd_docker *d = itest_docker();
	vd_error err = VD_ERROR_INIT;
	vd_buf out = VD_BUF_INIT, errb = VD_BUF_INIT, want = VD_BUF_INIT;
	bool truncated = true;
	int64_t code;
	char *id = run_to_exit("logs", script, NULL, &code);
	int i;

	assert_int_equal(code, 0);
	vd_buf_puts(&want, "out1\nout2\n");
	for (i = 0; i < 200; i++)
		vd_buf_printf(&want, "line%d\n", i);
	vd_buf_puts(&want, "no newline");

	itest_ok(vd_logs_collect(d, id, NULL, &out, &errb, &truncated, &err), &err);
	assert_string_equal(vd_buf_cstr(&out), vd_buf_cstr(&want));
	assert_string_equal(vd_buf_cstr(&errb), "err1\nerr2\n");
	assert_false(truncated);

	/* by name as well, with a cap */
	{
		char name[160];
		vd_buf small;

		snprintf(name, sizeof(name), "%s_logs", itest_project());
		vd_buf_init(&small, 10);
		itest_ok(vd_logs_collect(d, name, NULL, &small, NULL, &truncated, &err), &err);
		assert_string_equal(vd_buf_cstr(&small), "out1\nout2\n");
		assert_true(truncated);
		vd_buf_release(&small);
	}

	/* timestamps: each entry starts with an RFC 3339 time */
	{
		vd_logs_opts opts = VD_LOGS_OPTS_INIT;

		opts.timestamps = true;
		vd_buf_clear(&errb);
		itest_ok(vd_logs_collect(d, id, &opts, NULL, &errb, NULL, &err), &err);
		assert_true(!strncmp(vd_buf_cstr(&errb), "20", 2));
		assert_non_null(strstr(vd_buf_cstr(&errb), "Z err1\n"));
		assert_non_null(strstr(vd_buf_cstr(&errb), "Z err2\n"));
	}

	/* tail: the last entries only (of one stream: the engine's log file
	 * orders the two streams as their copiers got to them, not as written) */
	{
		vd_logs_opts opts = VD_LOGS_OPTS_INIT;
		char *tid = run_to_exit("logtail", "echo a; echo b; echo c; printf d", NULL, NULL);

		opts.tail = "3";
		vd_buf_clear(&out);
		vd_buf_clear(&errb);
		itest_ok(vd_logs_collect(d, tid, &opts, &out, &errb, NULL, &err), &err);
		assert_string_equal(vd_buf_cstr(&out), "b\nc\nd");
		assert_int_equal(errb.len, 0);
		free(tid);
	}

	vd_buf_release(&out);
	vd_buf_release(&errb);
	vd_buf_release(&want);
	vd_error_release(&err);
	free(id);
}

static int stop_after_first(int stream, const char *data, size_t len, void *ctx, vd_error *err)
{
	size_t *calls = ctx;

	(*calls)++;
	return VD_LOGS_STOP;
}

static void logs__stop_from_callback(void **state)
{
	vd_error err = VD_ERROR_INIT;
	char *id = run_to_exit("logstop", script, NULL, NULL);
	size_t calls = 0;

	itest_ok(vd_logs_read(itest_docker(), id, NULL, stop_after_first, &calls, &err), &err);
	assert_int_equal(calls, 1);
	assert_null(err.msg);
	free(id);
}

static void logs__tty_is_raw(void **state)
{
	vd_error err = VD_ERROR_INIT;
	vd_buf out = VD_BUF_INIT, errb = VD_BUF_INIT;
	char *id = run_to_exit("logtty", "echo tty-out; echo tty-err >&2", "\"Tty\":true", NULL);

	itest_ok(vd_logs_collect(itest_docker(), id, NULL, &out, &errb, NULL, &err), &err);
	/* no frame headers, the terminal's line endings, stderr merged */
	assert_string_equal(vd_buf_cstr(&out), "tty-out\r\ntty-err\r\n");
	assert_int_equal(errb.len, 0);
	vd_buf_release(&out);
	vd_buf_release(&errb);
	free(id);
}

static void logs__follow(void **state)
{
	vd_docker *d = itest_docker();
	vd_error err = VD_ERROR_INIT;
	vd_buf out = VD_BUF_INIT;
	vd_logs_opts opts = VD_LOGS_OPTS_INIT;
	char *id = itest_create("logfollow", "echo a; sleep 2; echo b", NULL);
	uint64_t t0;

	itest_ok(vd_container_start(d, id, &err), &err);
	opts.follow = true;
	opts.idle_timeout_ms = 10000;
	opts.deadline_ms = 30000;
	t0 = vd_now_ms();
	/* ends when the container does */
	itest_ok(vd_logs_collect(d, id, &opts, &out, NULL, NULL, &err), &err);
	assert_string_equal(vd_buf_cstr(&out), "a\nb\n");
	assert_true(vd_now_ms() - t0 >= 1000);

	/* a quiet follow runs into the idle timeout */
	vd_buf_release(&out);
	free(id);
	id = itest_create("logquiet", "echo a; sleep 30", NULL);
	itest_ok(vd_container_start(d, id, &err), &err);
	opts.idle_timeout_ms = 1000;
	t0 = vd_now_ms();
	assert_int_equal(vd_logs_collect(d, id, &opts, &out, NULL, NULL, &err), VD_ETIMEOUT);
	assert_true(vd_now_ms() - t0 < 10000);
	assert_non_null(strstr(vd_error_msg(&err), "logs of "));
	assert_string_equal(vd_buf_cstr(&out), "a\n");
	vd_buf_release(&out);
	vd_error_release(&err);
	free(id);
}

static void logs__not_found(void **state)
{
	vd_error err = VD_ERROR_INIT;
	vd_buf out = VD_BUF_INIT;

	assert_int_equal(vd_logs_collect(itest_docker(), "vd-it-no-such-container", NULL, &out, NULL,
					 NULL, &err), VD_ENOTFOUND);
	assert_non_null(strstr(vd_error_msg(&err), "logs of vd-it-no-such-container: "));
	vd_buf_release(&out);
	vd_error_release(&err);
}

static void exec__output_and_exit_code(void **state)
{
	static const char *const argv[] = { "sh", "-c", "echo hi; exit 3", NULL };
	vd_docker *d = itest_docker();
	vd_error err = VD_ERROR_INIT;
	vd_exec_result res;
	char *id = run_idle("exec");

	vd_exec_result_init(&res, 0);
	itest_ok(vd_exec_run(d, id, argv, NULL, &res, &err), &err);
	assert_string_equal(vd_buf_cstr(&res.out), "hi\n");
	assert_int_equal(res.err.len, 0);
	assert_int_equal(res.exit_code, 3);
	assert_false(res.truncated);
	vd_exec_result_release(&res);

	/* environment, working directory, stderr, user */
	{
		static const char *const argv2[] = { "sh", "-c", "echo $FOO; pwd; id -u; echo e >&2", NULL };
		static const char *const env[] = { "FOO=bar baz", NULL };
		vd_exec_opts opts = VD_EXEC_OPTS_INIT;

		opts.env = env;
		opts.working_dir = "/tmp";
		opts.user = "1234";
		opts.timeout_ms = 20000;
		vd_exec_result_init(&res, 0);
		itest_ok(vd_exec_run(d, id, argv2, &opts, &res, &err), &err);
		assert_string_equal(vd_buf_cstr(&res.out), "bar baz\n/tmp\n1234\n");
		assert_string_equal(vd_buf_cstr(&res.err), "e\n");
		assert_int_equal(res.exit_code, 0);
		vd_exec_result_release(&res);
	}

	/* lots of output, capped */
	{
		static const char *const argv3[] = { "sh", "-c",
			"i=0; while [ $i -lt 2000 ]; do echo 0123456789012345678901234567890123456789; "
			"i=$((i+1)); done; echo done >&2", NULL };

		vd_exec_result_init(&res, 1000);
		itest_ok(vd_exec_run(d, id, argv3, NULL, &res, &err), &err);
		assert_int_equal(res.out.len, 1000);
		assert_true(res.truncated);
		assert_string_equal(vd_buf_cstr(&res.err), "done\n");
		assert_int_equal(res.exit_code, 0);
		vd_exec_result_release(&res);
	}

	/* the three steps one by one */
	{
		static const char *const argv4[] = { "sh", "-c", "echo step; exit 0", NULL };
		vd_buf out = VD_BUF_INIT;
		vd_logs_sink sink = { .out = &out };
		vd_exec_state st;
		char *eid = NULL;
		int i;

		itest_ok(vd_exec_create(d, id, argv4, NULL, &eid, &err), &err);
		itest_ok(vd_exec_inspect(d, eid, &st, &err), &err);
		assert_false(st.running);
		assert_false(st.exited);
		itest_ok(vd_exec_start(d, eid, NULL, vd_logs_sink_cb, &sink, &err), &err);
		assert_string_equal(vd_buf_cstr(&out), "step\n");
		for (i = 0; i < 50; i++) {
			itest_ok(vd_exec_inspect(d, eid, &st, &err), &err);
			if (st.exited)
				break;
		}
		assert_true(st.exited);
		assert_int_equal(st.exit_code, 0);
		vd_buf_release(&out);
		free(eid);
	}

	/* stdin from a file (a hijacked call, several MiB through it), the
	 * output to a callback instead of the buffers */
	{
		static const char *const argv5[] = { "sh", "-c", "md5sum; echo done >&2", NULL };
		char path[] = "/tmp/vd-it-stdin-XXXXXX", want[64];
		vd_exec_opts opts = VD_EXEC_OPTS_INIT;
		vd_buf out = VD_BUF_INIT;
		vd_logs_sink sink = { .out = &out, .err = &out };
		int fd = mkstemp(path), i;
		FILE *md;
		char line[4096];

		assert_true(fd >= 0);
		for (i = 0; i < 3000; i++) {
			snprintf(line, sizeof(line), "%04d %01000d\n", i, i);
			assert_true(write(fd, line, strlen(line)) == (ssize_t)strlen(line));
		}
		snprintf(line, sizeof(line), "md5sum < %s", path);
		md = popen(line, "r");
		assert_non_null(md);
		assert_non_null(fgets(want, sizeof(want), md));
		pclose(md);
		assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
		opts.attach_stdin = true;
		opts.stdin_fd = fd;
		opts.on_output = vd_logs_sink_cb;
		opts.output_ctx = &sink;
		opts.timeout_ms = 60000;
		vd_exec_result_init(&res, 0);
		itest_ok(vd_exec_run(d, id, argv5, &opts, &res, &err), &err);
		assert_int_equal(res.exit_code, 0);
		assert_int_equal(res.out.len, 0);  /* all went to the callback */
		assert_non_null(strstr(vd_buf_cstr(&out), "done\n"));
		/* stdout's and stderr's frames come in either order: the engine
		 * copies the two pipes on their own */
		want[32] = '\0';
		if (!strstr(vd_buf_cstr(&out), want))
			fail_msg("md5sum read other bytes than the file's: want %s, got %.200s", want,
				 vd_buf_cstr(&out));
		vd_exec_result_release(&res);
		vd_buf_release(&out);
		close(fd);
		unlink(path);
	}
	vd_error_release(&err);
	free(id);
}

static void exec__timeout_and_errors(void **state)
{
	static const char *const argv[] = { "sh", "-c", "echo started; sleep 5", NULL };
	vd_docker *d = itest_docker();
	vd_error err = VD_ERROR_INIT;
	vd_exec_opts opts = VD_EXEC_OPTS_INIT;
	vd_exec_result res;
	uint64_t t0;
	char *id = run_idle("exectimeout");
	char *stopped;

	opts.timeout_ms = 1000;
	vd_exec_result_init(&res, 0);
	t0 = vd_now_ms();
	assert_int_equal(vd_exec_run(d, id, argv, &opts, &res, &err), VD_ETIMEOUT);
	assert_true(vd_now_ms() - t0 < 4000);
	assert_non_null(strstr(vd_error_msg(&err), "exec in "));
	/* what came before the timeout is kept */
	assert_string_equal(vd_buf_cstr(&res.out), "started\n");
	vd_exec_result_release(&res);

	/* a container that is not running: conflict */
	stopped = run_to_exit("execstopped", "true", NULL, NULL);
	vd_exec_result_init(&res, 0);
	assert_int_equal(vd_exec_run(d, stopped, argv, NULL, &res, &err), VD_ECONFLICT);
	vd_exec_result_release(&res);

	/* no such container */
	vd_exec_result_init(&res, 0);
	assert_int_equal(vd_exec_run(d, "vd-it-no-such-container", argv, NULL, &res, &err),
			 VD_ENOTFOUND);
	vd_exec_result_release(&res);

	/* a command that does not exist: the engine answers 126/127 or an error */
	{
		static const char *const nope[] = { "/no/such/binary", NULL };
		int r;

		vd_exec_result_init(&res, 0);
		r = vd_exec_run(d, id, nope, NULL, &res, &err);
		if (r == 0)
			assert_true(res.exit_code == 126 || res.exit_code == 127);
		else
			assert_non_null(strstr(vd_error_msg(&err), "no such file"));
		vd_exec_result_release(&res);
	}
	vd_error_release(&err);
	free(stopped);
	free(id);
}


/* --- the logs command ------------------------------------------------------- */

/* A container of service `service` of this run's project, named `name`,
 * running `script`, labelled as compose labels it; started.  Returns its id. */
static char *svc_start(const char *service, const char *name, const char *sh, bool start)
{
	vd_error err = VD_ERROR_INIT;
	char *body = itest_service_body(service, sh, NULL), *id = NULL;

	itest_ok(vd_container_create(itest_docker(), name, body, &id, &err), &err);
	if (start)
		itest_ok(vd_container_start(itest_docker(), id, &err), &err);
	free(body);
	return id;
}

/* The project directory: a compose file naming the services, one of them
 * with a token in its environment (registered with the redactor). */
static char *project_dir(void)
{
	char *dir = tu_mkdtemp("it-logs");

	tu_write_fmt(dir, "compose.yml",
		     "name: %s\n"
		     "services:\n"
		     "  app:\n"
		     "    image: %s\n"
		     "    environment:\n"
		     "      APP_TOKEN: Tq7-vR2x9-Lm4pZ8w\n"
		     "  worker:\n"
		     "    image: %s\n",
		     itest_project(), itest_busybox_image(), itest_busybox_image());
	return dir;
}

static size_t count(const char *text, const char *needle)
{
	size_t n = 0;
	const char *p = text;

	while ((p = strstr(p, needle))) {
		n++;
		p += strlen(needle);
	}
	return n;
}

static void wait_exited(const char *id)
{
	vd_error err = VD_ERROR_INIT;

	itest_ok(vd_container_wait(itest_docker(), id, "not-running", 30000, NULL, &err), &err);
}

static void cmd__logs_prefixed_and_redacted(void **state)
{
	vd_error err = VD_ERROR_INIT;
	char *dir = project_dir(), name[200], args[600], out[8192];
	char *app, *worker;

	snprintf(name, sizeof(name), "%s-app-1", itest_project());
	app = svc_start("app", name,
			"echo app out1; echo app err1 >&2; echo 'using token Tq7-vR2x9-Lm4pZ8w now'; "
			"echo DB_PASSWORD=hunter22 >&2; printf 'no newline'", true);
	snprintf(name, sizeof(name), "%s-worker-1", itest_project());
	worker = svc_start("worker", name, "i=0; while [ $i -lt 5 ]; do echo tick $i; i=$((i+1)); done", true);
	wait_exited(app);
	wait_exited(worker);

	assert_int_equal(itest_run(dir, "logs 2>&1", out, sizeof(out)), 0);
	/* every line, prefixed as compose does (padded to "worker"), stdout
	 * and stderr, the secrets hidden */
	assert_non_null(strstr(out, "app    | app out1\n"));
	assert_non_null(strstr(out, "app    | app err1\n"));
	assert_non_null(strstr(out, "app    | using token *** now\n"));
	assert_non_null(strstr(out, "app    | DB_PASSWORD=***\n"));
	assert_non_null(strstr(out, "app    | no newline\n"));
	assert_non_null(strstr(out, "worker | tick 0\nworker | tick 1\nworker | tick 2\n"
				    "worker | tick 3\nworker | tick 4\n"));
	assert_null(strstr(out, "Tq7-vR2x9"));
	assert_null(strstr(out, "hunter22"));
	assert_int_equal(count(out, "\n"), 10);

	/* one service, the last line; -t puts the engine's time first */
	assert_int_equal(itest_run(dir, "logs worker --tail 1 -t 2>&1", out, sizeof(out)), 0);
	assert_int_equal(count(out, "\n"), 1);
	assert_true(!strncmp(out, "worker | 20", 11));
	assert_non_null(strstr(out, "Z tick 4\n"));
	/* --since in the future: nothing */
	assert_int_equal(itest_run(dir, "logs app --since -1h 2>&1", out, sizeof(out)), 0);
	assert_string_equal(out, "");

	/* bad input: exit 2 and a clear message */
	assert_int_equal(itest_run(dir, "logs nosuch 2>&1", out, sizeof(out)), 2);
	assert_non_null(strstr(out, "no service 'nosuch'"));
	assert_non_null(strstr(out, "services: app, worker"));
	assert_int_equal(itest_run(dir, "logs --tail ten 2>&1", out, sizeof(out)), 2);
	assert_non_null(strstr(out, "--tail 'ten'"));
	assert_int_equal(itest_run(dir, "logs --since 5 minutes 2>&1", out, sizeof(out)), 2);
	assert_int_equal(itest_run(dir, "logs --since 5x 2>&1", out, sizeof(out)), 2);
	assert_non_null(strstr(out, "'5x' is no time"));
	assert_int_equal(itest_run(dir, "--json logs 2>&1", out, sizeof(out)), 2);
	/* a well-formed deploy id with no evidence: said, exit 0; a malformed one: 2 */
	assert_int_equal(itest_run(dir, "--state-dir /nonexistent-vd logs --deploy "
				   "20261127T003000Z-1a2b3c 2>&1", out, sizeof(out)), 0);
	assert_non_null(strstr(out, "no evidence kept for deploy 20261127T003000Z-1a2b3c"));
	assert_int_equal(itest_run(dir, "logs --deploy ../x 2>&1", out, sizeof(out)), 2);
	/* a failed deploy's evidence, as the deploy keeps it */
	{
		char *sdir = tu_mkdtemp("it-logs-state"), ev[400];

		snprintf(ev, sizeof(ev), "%s/evidence/20261127T003000Z-1a2b3c", sdir);
		tu_mkdir(sdir, "evidence", 0755);
		tu_mkdir(sdir, "evidence/20261127T003000Z-1a2b3c", 0755);
		tu_write_str(ev, "app.log", "starting\nconnecting to db\nFATAL: no db\n");
		tu_write_str(ev, "app.json", "{\"service\":\"app\"}");
		tu_write_str(ev, "worker.log", "w1\n");
		tu_write_str(ev, "worker.json", "{\"service\":\"worker\"}");
		snprintf(args, sizeof(args), "--state-dir %s logs --deploy 20261127T003000Z-1a2b3c 2>&1", sdir);
		assert_int_equal(itest_run(dir, args, out, sizeof(out)), 0);
		assert_string_equal(out, "app    | starting\napp    | connecting to db\napp    | FATAL: no db\n"
					 "worker | w1\n");
		snprintf(args, sizeof(args), "--state-dir %s logs --deploy 20261127T003000Z-1a2b3c app "
			 "--tail 1 2>&1", sdir);
		assert_int_equal(itest_run(dir, args, out, sizeof(out)), 0);
		assert_string_equal(out, "app | FATAL: no db\n");
		snprintf(args, sizeof(args), "--state-dir %s logs --deploy 20261127T003000Z-1a2b3c db 2>&1",
			 sdir);
		assert_int_equal(itest_run(dir, args, out, sizeof(out)), 2);
		assert_non_null(strstr(out, "kept no evidence of service 'db'"));
		tu_rm_rf(sdir);
		free(sdir);
	}
	itest_ok(vd_container_remove(itest_docker(), app, true, true, &err), &err);
	itest_ok(vd_container_remove(itest_docker(), worker, true, true, &err), &err);
	tu_rm_rf(dir);
	free(dir);
	free(app);
	free(worker);
}

/* What the followed output holds at most timeout_ms from now. */
static char *wait_out(const char *path, const char *needle)
{
	char *text = tu_wait_for_text(path, needle, 20000);

	if (!text || !strstr(text, needle))
		fail_msg("logs -f never printed '%s'; it printed:\n%s", needle, text ? text : "");
	return text;
}

/* The way a deploy swaps a container (stop-first, the old one renamed aside
 * and kept), then the way a failed deploy restores it, then a restart:
 * `logs -f` follows each container that takes the service's place, and
 * prints no line twice. */
static void cmd__logs_follow_through_a_deploy(void **state)
{
	vd_docker *d = itest_docker();
	vd_error err = VD_ERROR_INIT;
	char *dir = project_dir(), name[200], aside[220], fresh[220], log[300], *text;
	char *old, *new;
	const char *argv[] = { VD_BINARY, "-C", dir, "logs", "-f", "app", NULL };
	struct tu_proc p = { argv, NULL, log, log, NULL, true };
	pid_t pid;
	int st;

	snprintf(name, sizeof(name), "%s-app-1", itest_project());
	snprintf(aside, sizeof(aside), "%s-voxdeploy-old", name);
	snprintf(fresh, sizeof(fresh), "%s-voxdeploy-new", name);
	snprintf(log, sizeof(log), "%s/follow.out", dir);
	old = svc_start("app", name,
			"echo v1 up; echo v1 warn >&2; echo token Tq7-vR2x9-Lm4pZ8w; "
			"trap 'echo v1 down; exit 0' TERM; while :; do sleep 0.1; done", true);
	pid = tu_spawn(&p);
	free(wait_out(log, "app | v1 warn\n"));

	/* the deploy: the new container made under a temporary name, the old
	 * one stopped and set aside, the new one renamed and started */
	new = svc_start("app", fresh,
			"echo v2 up; echo v2 warn >&2; "
			"trap 'echo v2 down; exit 0' TERM; while :; do sleep 0.1; done", false);
	itest_ok(vd_container_stop(d, old, 5, &err), &err);
	itest_ok(vd_container_rename(d, old, aside, &err), &err);
	itest_ok(vd_container_rename(d, new, name, &err), &err);
	itest_ok(vd_container_start(d, new, &err), &err);
	free(wait_out(log, "app | v2 warn\n"));

	/* it failed its proof: the new one goes, the old one comes back */
	itest_ok(vd_container_stop(d, new, 5, &err), &err);
	itest_ok(vd_container_remove(d, new, true, false, &err), &err);
	itest_ok(vd_container_rename(d, old, name, &err), &err);
	itest_ok(vd_container_start(d, old, &err), &err);
	text = wait_out(log, "app | v2 down\n");
	free(text);
	for (;;) {
		text = wait_out(log, "app | v1 up\n");
		if (count(text, "app | v1 warn\n") == 2)
			break;
		free(text);
		usleep(100 * 1000);
	}
	free(text);

	/* a restart: only its new run */
	itest_ok(vd_container_restart(d, old, 5, &err), &err);
	for (;;) {
		text = wait_out(log, "app | v1 down\n");
		if (count(text, "app | v1 warn\n") == 3)
			break;
		free(text);
		usleep(100 * 1000);
	}
	free(text);
	kill(pid, SIGTERM);
	st = tu_wait(pid, 10, "logs -f");
	assert_true(WIFSIGNALED(st) || WIFEXITED(st));
	text = tu_read_file(log);
	/* three runs of v1 (before, after the restore, after the restart), one
	 * of v2, each line once; the token never */
	assert_int_equal(count(text, "app | v1 up\n"), 3);
	assert_int_equal(count(text, "app | v1 warn\n"), 3);
	assert_int_equal(count(text, "app | token ***\n"), 3);
	assert_int_equal(count(text, "app | v1 down\n"), 2);
	assert_int_equal(count(text, "app | v2 up\n"), 1);
	assert_int_equal(count(text, "app | v2 warn\n"), 1);
	assert_int_equal(count(text, "app | v2 down\n"), 1);
	assert_null(strstr(text, "Tq7-vR2x9"));
	/* v2 came between the first v1 run and the restored one */
	assert_true(strstr(text, "app | v2 up\n") > strstr(text, "app | v1 down\n"));
	free(text);
	tu_rm_rf(dir);
	free(dir);
	free(old);
	free(new);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(logs__framed_in_order),
		cmocka_unit_test(logs__stop_from_callback),
		cmocka_unit_test(logs__tty_is_raw),
		cmocka_unit_test(logs__follow),
		cmocka_unit_test(logs__not_found),
		cmocka_unit_test(cmd__logs_prefixed_and_redacted),
		cmocka_unit_test(cmd__logs_follow_through_a_deploy),
		cmocka_unit_test(exec__output_and_exit_code),
		cmocka_unit_test(exec__timeout_and_errors),
	};

	return cmocka_run_group_tests(tests, NULL, itest_group_teardown);
}
