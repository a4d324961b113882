/* `voxdeploy deploy` on upstream VoxPersona's HEALTHCHECK cadence: the app
 * (interval 30 s, start_period 60 s) depends on PostgreSQL (interval 30 s,
 * start_period 30 s) with condition service_healthy.  The engine runs its
 * first check 30 s after a container starts; every deploy here has a 25 s
 * health deadline, so each one that succeeds was proven by voxdeploy's own
 * runs of the containers' checks (health/owncheck.h) — the first deploy, the
 * depends_on wait, an APP_ONLY deploy — and a version whose check never
 * passes still ends in the rollback with the previous version serving.
 * After each deploy no exec is left in any container. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "docker_api/container.h"
#include "integration/itest.h"
#include "gitrepo.h"
#include "testutil.h"

static struct repo repo;
static char project[64], state_dir[300], commit[VD_SHA_HEX], out[1 << 16];
static int app_port;

#define put(...) repo_putf(&repo, __VA_ARGS__)

static int vd(const char *args)
{
	char a[512];
	int rc;

	snprintf(a, sizeof(a), "--state-dir %s %s", state_dir, args);
	rc = itest_run(repo.dir, a, out, sizeof(out));
	if (getenv("VD_TEST_VERBOSE"))
		fprintf(stderr, "--- %s: %d\n%s", args, rc, out);
	return rc;
}

static char *journal(void)
{
	char path[400];

	snprintf(path, sizeof(path), "%s/journal.jsonl", state_dir);
	return tu_read_file(path);
}

/* The container of a service (caller frees) and whether it runs. */
static char *container_of(const char *service, bool *running)
{
	vd_container_info info;
	vd_error err = VD_ERROR_INIT;
	char name[160], *id;

	snprintf(name, sizeof(name), "%s-%s-1", project, service);
	itest_ok(vd_container_inspect(itest_docker(), name, &info, &err), &err);
	id = strdup(info.id);
	if (running)
		*running = info.running;
	vd_container_info_release(&info);
	return id;
}

/* Only the service's own processes run in its container: no check, no
 * exec of ours. */
static void assert_no_exec_left(const char *service, const char *check_word)
{
	vd_error err = VD_ERROR_INIT;
	vd_buf path = VD_BUF_INIT, top = VD_BUF_INIT;
	char *id = container_of(service, NULL);

	assert_int_equal(vd_docker_path(&path, "/containers/", id, "/top"), 0);
	itest_ok(vd_docker_get(itest_docker(), vd_buf_cstr(&path), NULL, &top, &err), &err);
	if (strstr(vd_buf_cstr(&top), check_word))
		fail_msg("%s: a check is still running: %s", service, vd_buf_cstr(&top));
	vd_buf_release(&path);
	vd_buf_release(&top);
	free(id);
}

static void write_stack(void)
{
	put("Dockerfile",
	    "FROM %s\n"
	    "COPY src/ /www/\n"
	    "HEALTHCHECK --interval=30s --start-period=60s --timeout=5s --retries=3 "
	    "CMD wget -q -O- http://127.0.0.1:8080/health || exit 1\n"
	    "CMD [\"httpd\", \"-f\", \"-p\", \"8080\", \"-h\", \"/www\"]\n", itest_busybox_image());
	put("src/health", "ok\n");
	put("src/version", "1\n");
	put("docker-compose.yml",
	    "name: %s\n"
	    "services:\n"
	    "  app:\n"
	    "    build: .\n"
	    "    stop_grace_period: 1s\n"
	    "    depends_on:\n"
	    "      postgres:\n"
	    "        condition: service_healthy\n"
	    "    ports: [\"127.0.0.1:%d:8080\"]\n"
	    "    labels: [io.voxdeploy.test=1]\n"
	    "  postgres:\n"
	    "    image: %s\n"
	    "    environment:\n"
	    "      POSTGRES_USER: vd\n"
	    "      POSTGRES_PASSWORD: cadence-pw\n"
	    "      POSTGRES_DB: vd\n"
	    "    healthcheck:\n"
	    "      test: [\"CMD-SHELL\", \"pg_isready -U vd -h 127.0.0.1\"]\n"
	    "      interval: 30s\n"
	    "      timeout: 5s\n"
	    "      start_period: 30s\n"
	    "      retries: 3\n"
	    "    labels: [io.voxdeploy.test=1]\n"
	    "networks:\n"
	    "  default:\n"
	    "    labels: {io.voxdeploy.test: \"1\"}\n",
	    project, app_port, itest_postgres_image());
	/* the deadline is shorter than the engine's first check */
	put("voxdeploy.yml", "health:\n  deadline: 25s\n  stable_for: 1s\n");
}

static int setup(void **state)
{
	snprintf(project, sizeof(project), "%sc", itest_project());
	repo_init(&repo);
	snprintf(state_dir, sizeof(state_dir), "%s/.state", repo.dir);
	app_port = tu_free_port();
	put(".gitignore", ".state/\n");
	write_stack();
	repo_commit(&repo, commit);
	return 0;
}

static int teardown(void **state)
{
	itest_remove_project(project);
	repo_free(&repo);
	return itest_group_teardown(state);
}

/* The index of a journal record with all the needles, from `from`; -1. */
static long record_at(const char *j, long from, const char *a, const char *b, const char *c)
{
	const char *line = j + from;

	while (*line) {
		const char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line) : strlen(line);

		if (memmem(line, len, a, strlen(a)) && (!b || memmem(line, len, b, strlen(b))) &&
		    (!c || memmem(line, len, c, strlen(c))))
			return line - j;
		if (!end)
			break;
		line = end + 1;
	}
	return -1;
}

static void first_deploy_is_proven_by_own_checks(void **state)
{
	char *j;
	long pg_pass, app_start, app_pass;
	bool running;
	char *id;

	assert_int_equal(vd("deploy"), 0);
	j = journal();
	/* PostgreSQL's own check released the app (depends_on: service_healthy) */
	pg_pass = record_at(j, 0, "\"step\":\"fast_check\"", "\"service\":\"postgres\"", "\"done\"");
	assert_true(pg_pass >= 0);
	app_start = record_at(j, pg_pass, "\"step\":\"start\"", "\"service\":\"app\"", NULL);
	assert_true(app_start > pg_pass);
	app_pass = record_at(j, app_start, "\"step\":\"fast_check\"", "\"service\":\"app\"", "\"done\"");
	assert_true(app_pass > app_start);
	assert_true(record_at(j, app_pass, "\"step\":\"health\"", "\"state\":\"done\"", NULL) > 0);
	free(j);
	id = container_of("app", &running);
	assert_true(running);
	free(id);
	assert_no_exec_left("app", "wget");
	assert_no_exec_left("postgres", "pg_isready");
}

static void app_only_deploy_is_proven_by_own_checks(void **state)
{
	char *before = container_of("app", NULL), *after, *j;
	long from;

	put("src/version", "2\n");
	repo_commit(&repo, commit);
	j = journal();
	from = (long)strlen(j);
	free(j);
	assert_int_equal(vd("deploy"), 0);
	assert_true(strstr(out, "APP_ONLY") != NULL);
	after = container_of("app", NULL);
	assert_string_not_equal(before, after);
	j = journal();
	assert_true(record_at(j, from, "\"step\":\"fast_check\"", "\"service\":\"app\"", "\"done\"") > 0);
	free(j);
	assert_no_exec_left("app", "wget");
	free(before);
	free(after);
}

/* Own checks that fail are no verdict: the deadline ends the proof, the
 * rollback restores the previous container, proven by its own check. */
static void failing_check_still_rolls_back(void **state)
{
	char *before = container_of("app", NULL), *after;
	bool running;

	repo_put(&repo, "src/health", NULL, 0);
	put("src/version", "broken\n");
	repo_commit(&repo, commit);
	assert_int_equal(vd("deploy"), 1);
	assert_non_null(strstr(out, "own check failed"));
	assert_non_null(strstr(out, "previous version runs and is healthy"));
	after = container_of("app", &running);
	assert_string_equal(before, after);
	assert_true(running);
	assert_no_exec_left("app", "wget");
	free(before);
	free(after);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(first_deploy_is_proven_by_own_checks),
		cmocka_unit_test(app_only_deploy_is_proven_by_own_checks),
		cmocka_unit_test(failing_check_still_rolls_back),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
