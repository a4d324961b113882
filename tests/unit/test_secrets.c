/* The secrets audit: a project whose .env and voxdeploy.yml carry unique
 * marker strings (the database password, a webhook header token, a Telegram
 * bot token, one more in the process environment) goes through every command
 * that reads them — config, plan, health, status, history, deploy --dry-run,
 * and serve's endpoints — against the fake engine; no marker may appear in
 * anything printed, written to the state directory or served over HTTP. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fakeengine.h"
#include "gitrepo.h"
#include "testutil.h"

/* Each marker's core; a leak of part of a secret counts too, so the cores
 * are what is searched, not the whole values. */
static const char *const markers[] = {
	"Mk1DbPass7f3a9c",        /* DB_PASSWORD */
	"Mk2WebhookTok51be",      /* WEBHOOK_TOKEN */
	"Mk3TelegramA8d2",        /* TELEGRAM_BOT_TOKEN */
	"Mk4EnvOnly0c77",         /* APP_SECRET, from the process environment */
};

static const char compose[] =
	"services:\n"
	"  app:\n"
	"    image: busybox\n"
	"    container_name: voxpersona_app\n"
	"    environment:\n"
	"      DB_PASSWORD: ${DB_PASSWORD}\n"
	"      APP_SECRET: ${APP_SECRET}\n"
	"      DATABASE_URL: postgresql://app:${DB_PASSWORD}@postgres:5432/app\n"
	"    depends_on: [postgres]\n"
	"  postgres:\n"
	"    image: postgres\n"
	"    container_name: voxpersona_postgres\n"
	"    environment:\n"
	"      POSTGRES_PASSWORD: ${DB_PASSWORD}\n";

static const char config[] =
	"health:\n"
	"  deadline: 2s\n"
	"  stable_for: 0s\n"
	"  postgres:\n"
	"    - {service: postgres, conninfo: \"host=127.0.0.1 port=1 user=app password=${DB_PASSWORD} dbname=app connect_timeout=1\"}\n"
	"  http:\n"
	"    - {service: app, url: \"http://app:${DB_PASSWORD}@127.0.0.1:1/health\", timeout: 1s}\n"
	"notify:\n"
	"  timeout: 2s\n"
	"  webhook:\n"
	"    - url: http://127.0.0.1:1/hook\n"
	"      headers: {Authorization: \"Bearer ${WEBHOOK_TOKEN}\"}\n"
	"  telegram:\n"
	"    - {chat_id: 42, token: \"${TELEGRAM_BOT_TOKEN}\", api_base: \"http://127.0.0.1:1\"}\n";

static const char dotenv[] =
	"DB_PASSWORD=Mk1DbPass7f3a9c-secret\n"
	"WEBHOOK_TOKEN=Mk2WebhookTok51be-secret\n"
	"TELEGRAM_BOT_TOKEN=123456:Mk3TelegramA8d2-secret\n";

static size_t leaks;

static void check_text(const char *what, const char *text)
{
	for (size_t i = 0; i < sizeof(markers) / sizeof(markers[0]); i++)
		if (strstr(text, markers[i])) {
			print_error("secret %s found in %s:\n%.600s\n", markers[i], what, text);
			leaks++;
		}
}

static void check_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d))) {
		char path[1024], *buf;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		buf = tu_read_file(path);
		if (!buf)
			continue;
		check_text(path, buf);
		free(buf);
	}
	closedir(d);
}

static void secrets__audit(void **state)
{
	static const char *const env[] = { "APP_SECRET=Mk4EnvOnly0c77-secret", NULL };
	/* with the exit each must give, so that a command that stopped early
	 * cannot pass the audit by printing nothing */
	static const struct {
		const char *argv[8];
		int want_exit;
	} cmds[] = {
		{ { "config" }, 0 },
		{ { "config", "--json" }, 0 },
		{ { "-v", "config" }, 0 },
		{ { "-H", "@HOST", "plan" }, 0 },
		{ { "-H", "@HOST", "plan", "--json" }, 0 },
		{ { "-H", "@HOST", "-vv", "plan", "--rules-only" }, 0 },
		{ { "-H", "@HOST", "health" }, 4 },
		{ { "-H", "@HOST", "health", "--json" }, 4 },
		{ { "-H", "@HOST", "-vv", "health" }, 4 },
		{ { "-H", "@HOST", "status" }, 0 },
		{ { "-H", "@HOST", "status", "--json" }, 0 },
		/* a deploy that cannot start: postgres's image is not there */
		{ { "-H", "@HOST", "-vv", "deploy", "--dry-run" }, 2 },
		{ { "-H", "@HOST", "deploy", "--dry-run", "--json" }, 2 },
		{ { "-H", "@HOST", "-vv", "deploy" }, 2 },
		{ { "-H", "@HOST", "-vv", "rollback" }, 2 },
		{ { "-H", "@HOST", "-vv", "recover" }, 0 },
		{ { "history" }, 0 },
		{ { "history", "--json" }, 0 },
		{ { "-H", "@HOST", "version" }, 0 },
	};
	char dir[] = "/tmp/vd-secrets-XXXXXX", proj[64], state_dir[64], listen[64];
	const char *serve_argv[] = { "-H", "@HOST", "-vv", "serve", "--listen", listen, NULL };
	char *answer = NULL;
	struct repo rp;
	struct engine e;
	char sha[VD_SHA_HEX];
	uint16_t port = tu_free_port();
	pid_t pid;
	int status, code;

	assert_non_null(mkdtemp(dir));
	snprintf(proj, sizeof(proj), "%s/proj", dir);
	snprintf(state_dir, sizeof(state_dir), "%s/state", dir);
	repo_init_at(&rp, proj);
	repo_put(&rp, "docker-compose.yml", compose, 0100644);
	repo_put(&rp, "voxdeploy.yml", config, 0100644);
	repo_put(&rp, "app.py", "print('hi')\n", 0100644);
	repo_commit(&rp, sha);
	repo_close(&rp);
	tu_write_str(proj, ".env", dotenv);
	engine_start(&e, E_OK, dir);

	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		struct run r = { 0 };
		char what[256];

		const char *const *argv = cmds[i].argv;

		run_vd(dir, &e, argv, env, 60, &r);
		snprintf(what, sizeof(what), "the output of voxdeploy %s %s %s %s %s", argv[0],
			 argv[1] ? argv[1] : "", argv[2] ? argv[2] : "", argv[3] ? argv[3] : "",
			 argv[3] && argv[4] ? argv[4] : "");
		if (!WIFEXITED(r.status) || WEXITSTATUS(r.status) != cmds[i].want_exit) {
			print_error("%s: %s %d, want exit %d\n%.600s\n", what,
				    WIFEXITED(r.status) ? "exit" : "signal",
				    WIFEXITED(r.status) ? WEXITSTATUS(r.status) : WTERMSIG(r.status),
				    cmds[i].want_exit, r.err);
			leaks++;
		}
		if (getenv("VD_TEST_SHOW"))
			print_message("== %s: exit %d\n%.1500s%.1500s\n", what, WEXITSTATUS(r.status), r.out, r.err);
		check_text(what, r.out);
		check_text(what, r.err);
		run_release(&r);
	}

	/* serve: every endpoint, the report fetched fresh */
	snprintf(listen, sizeof(listen), "127.0.0.1:%u", port);
	pid = start_vd(dir, &e, serve_argv, env, "serve.log", "serve.log");
	assert_true(tu_http_wait(port, 5000) > 0);
	{
		static const char *const paths[] = { "/healthz", "/v1/report?fresh=1", "/v1/report",
						     "/v1/deployments", "/v1/deployments?limit=1000",
						     "/metrics", "/", "/nope" };

		for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
			char req[256], what[128];

			snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", paths[i]);
			code = tu_http_raw(port, req, strlen(req), &answer);
			assert_true(code > 0);
			snprintf(what, sizeof(what), "serve's answer to GET %s", paths[i]);
			check_text(what, answer);
		}
	}
	kill(pid, SIGTERM);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	engine_stop(&e);
	{
		char log[128], *buf;

		snprintf(log, sizeof(log), "%s/serve.log", dir);
		buf = tu_read_file(log);
		assert_non_null(buf);
		check_text("serve's log", buf);
		free(buf);
	}
	/* whatever the commands wrote: journal, state, lock */
	check_dir(state_dir);
	assert_int_equal(tu_rm_rf(dir), 0);
	free(answer);
	print_message("%zu commands and 8 serve endpoints audited, %zu failures\n",
		      sizeof(cmds) / sizeof(cmds[0]), leaks);
	assert_int_equal(leaks, 0);
}

/* A project named like its password, and the password a common word: the
 * deploy's build record names the image whole ("voxpersona:voxdeploy-<sha>",
 * not "***:voxdeploy-<sha>"), the value is hidden where it stands, and the
 * owner is told once that the password is a name of the stack. */
static void secrets__weak_password_garbles_no_name(void **state)
{
	static const char stack[] =
		"services:\n"
		"  voxpersona:\n"
		"    build: .\n"
		"    image: voxpersona\n"
		"    environment:\n"
		"      DB_PASSWORD: ${DB_PASSWORD}\n";
	static const char settings[] =
		"health:\n"
		"  postgres:\n"
		"    - {service: voxpersona, conninfo: \"host=127.0.0.1 port=1 user=vd password=${DB_PASSWORD}\"}\n";
	const char *const argv[] = { "-H", "@HOST", "-p", "voxpersona", "deploy", "--dry-run", NULL };
	char dir[] = "/tmp/vd-secrets-XXXXXX", proj[64], want[64];
	const char *warning = "DB_PASSWORD is the name of the project \"voxpersona\"";
	struct repo rp;
	struct engine e;
	struct run r = { 0 };
	char sha[VD_SHA_HEX];

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(proj, sizeof(proj), "%s/proj", dir);
	repo_init_at(&rp, proj);
	repo_put(&rp, "docker-compose.yml", stack, 0100644);
	repo_put(&rp, "voxdeploy.yml", settings, 0100644);
	repo_put(&rp, "Dockerfile", "FROM scratch\n", 0100644);
	repo_commit(&rp, sha);
	repo_close(&rp);
	tu_write_str(proj, ".env", "DB_PASSWORD=voxpersona\n");
	engine_start(&e, E_OK, dir);
	run_vd(dir, &e, argv, NULL, 60, &r);
	engine_stop(&e);
	if (getenv("VD_TEST_SHOW"))
		print_message("== deploy --dry-run: exit %d\n%.3000s%.3000s\n", WEXITSTATUS(r.status), r.out, r.err);
	assert_true(WIFEXITED(r.status));
	assert_int_equal(WEXITSTATUS(r.status), 0);
	snprintf(want, sizeof(want), "voxpersona:voxdeploy-%.12s", sha);
	/* the steps are told on stderr */
	assert_true(strstr(r.out, want) || strstr(r.err, want));
	assert_null(strstr(r.out, "***:"));
	assert_null(strstr(r.err, "***:"));
	assert_non_null(strstr(r.err, warning));
	assert_null(strstr(strstr(r.err, warning) + 1, warning));
	run_release(&r);
	assert_int_equal(tu_rm_rf(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(secrets__weak_password_garbles_no_name),
		cmocka_unit_test(secrets__audit),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
