/* Compose takes voxdeploy's containers as its own: right after a voxdeploy
 * deploy, a plain `docker compose up -d` in the checkout — what a person
 * types on the server after editing the compose file or .env — recreates
 * nothing, and after a change to one service it recreates exactly that one.
 * Against the installed compose: v2 (`docker compose`, or `docker-compose`
 * where that is v2), else 1.29 (`docker-compose` on bookworm, with
 * deploy.compose_hash "1.29"), or VD_TEST_COMPOSE: the config-hash label,
 * the image, the networks and volumes must all be what compose expects. */
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
static char compose[256];   /* the compose command; empty: none */
static int major;           /* its major version: 1 or 2 */

#define put(...) repo_putf(&repo, __VA_ARGS__)

/* v2 first: it is what people run today */
static void find_compose(void)
{
	static const char *const tries[] = { "docker compose", "docker-compose", NULL };
	const char *env = getenv("VD_TEST_COMPOSE");
	size_t i;

	if (env && *env) {
		if ((major = itest_compose_major(env)) >= 1)
			snprintf(compose, sizeof(compose), "%s", env);
		return;
	}
	for (i = 0; tries[i]; i++)
		if (itest_compose_major(tries[i]) >= 2) {
			snprintf(compose, sizeof(compose), "%s", tries[i]);
			major = 2;
			return;
		}
	if (itest_compose_major("docker-compose") == 1) {
		snprintf(compose, sizeof(compose), "docker-compose");
		major = 1;
	}
}

static int vd(const char *args)
{
	char a[512];
	int rc;

	/* -p: 1.29 knows no top-level name: */
	snprintf(a, sizeof(a), "--state-dir %s -p %s %s", state_dir, project, args);
	rc = itest_run(repo.dir, a, out, sizeof(out));
	if (getenv("VD_TEST_VERBOSE"))
		fprintf(stderr, "--- %s: %d\n%s", args, rc, out);
	return rc;
}

/* `compose -p PROJECT ARGS` in the checkout; its output in out. */
static int compose_run(const char *args)
{
	char cmd[1024];
	vd_buf o = VD_BUF_INIT;
	char line[512];
	FILE *p;
	int rc;

	snprintf(cmd, sizeof(cmd), "cd '%s' && %s -p %s %s 2>&1", repo.dir, compose, project, args);
	p = popen(cmd, "r");
	assert_non_null(p);
	while (fgets(line, sizeof(line), p))
		vd_buf_puts(&o, line);
	rc = pclose(p);
	snprintf(out, sizeof(out), "%s", vd_buf_cstr(&o));
	vd_buf_release(&o);
	if (getenv("VD_TEST_VERBOSE"))
		fprintf(stderr, "--- compose %s: %d\n%s", args, rc, out);
	return rc;
}

/* The service's one running container, by compose's labels (1.29 names
 * the containers it makes <project>_<service>_1). */
static char *container_id(const char *service)
{
	vd_error err = VD_ERROR_INIT;
	char lp[160], ls[160], *id = NULL;
	const char *pairs[] = { "label", lp, "label", ls, NULL };
	vd_container_array cl = { NULL, 0 };

	snprintf(lp, sizeof(lp), "com.docker.compose.project=%s", project);
	snprintf(ls, sizeof(ls), "com.docker.compose.service=%s", service);
	itest_ok(vd_container_list(itest_docker(), false, pairs, &cl, &err), &err);
	if (cl.len != 1)
		fail_msg("%zu running containers of %s, want 1:\n%s", cl.len, service, out);
	id = strdup(cl.items[0].id);
	vd_container_array_release(&cl);
	return id;
}

static void write_compose(const char *worker_env)
{
	put("docker-compose.yml",
	    "services:\n"
	    "  app:\n"
	    "    build: .\n"
	    "    stop_grace_period: 1s\n"
	    "    environment:\n"
	    "      DATABASE_URL: postgres://vd:up-pw@postgres/vd\n"
	    "    depends_on:\n"
	    "      postgres: {condition: service_healthy}\n"
	    "    labels: [io.voxdeploy.test=1]\n"
	    "  postgres:\n"
	    "    image: %s\n"
	    "    environment: {POSTGRES_USER: vd, POSTGRES_PASSWORD: up-pw, POSTGRES_DB: vd}\n"
	    "    volumes: [pgdata:/var/lib/postgresql/data]\n"
	    "    healthcheck:\n"
	    "      test: [\"CMD-SHELL\", \"pg_isready -U vd -h 127.0.0.1\"]\n"
	    "      interval: 1s\n"
	    "      retries: 30\n"
	    "    labels: [io.voxdeploy.test=1]\n"
	    "  worker:\n"
	    "    image: %s\n"
	    "    command: [\"sleep\", \"3600\"]\n"
	    "    stop_grace_period: 1s\n"
	    "    environment: {MODE: %s}\n"
	    "    labels: [io.voxdeploy.test=1]\n"
	    "volumes:\n"
	    "  pgdata:\n"
	    "    labels: {io.voxdeploy.test: \"1\"}\n"
	    "networks:\n"
	    "  default:\n"
	    "    labels: {io.voxdeploy.test: \"1\"}\n",
	    itest_postgres_image(), itest_busybox_image(), worker_env);
}

static int setup(void **state)
{
	find_compose();
	snprintf(project, sizeof(project), "%su", itest_project());
	repo_init(&repo);
	snprintf(state_dir, sizeof(state_dir), "%s/.state", repo.dir);
	put(".gitignore", ".state/\n");
	put("Dockerfile",
	    "FROM %s\n"
	    "COPY src/ /www/\n"
	    "HEALTHCHECK --interval=1s --timeout=2s --retries=3 CMD wget -q -O- http://127.0.0.1:8080/ || exit 1\n"
	    "CMD [\"httpd\", \"-f\", \"-p\", \"8080\", \"-h\", \"/www\"]\n",
	    itest_busybox_image());
	put("src/index.html", "v1\n");
	write_compose("batch");
	put("voxdeploy.yml", "health:\n  deadline: 60s\n  stable_for: 1s\n%s",
	    major == 1 ? "deploy:\n  compose_hash: \"1.29\"\n" : "");
	repo_commit(&repo, commit);
	return 0;
}

static int teardown(void **state)
{
	itest_remove_project(project);
	repo_free(&repo);
	return itest_group_teardown(state);
}

static void up_after_deploy_recreates_nothing(void **state)
{
	char *before[3], *after[3];
	static const char *const svcs[3] = { "app", "postgres", "worker" };
	int i;

	if (!compose[0]) {
		fprintf(stderr, "it_compose_up: skipped: no compose answers (docker compose, "
				"docker-compose, VD_TEST_COMPOSE)\n");
		skip();
	}
	fprintf(stderr, "it_compose_up: against %s (compose %d)\n", compose, major);
	if (vd("deploy"))
		fail_msg("deploy failed:\n%s", out);
	for (i = 0; i < 3; i++)
		before[i] = container_id(svcs[i]);

	/* nothing changed: compose finds every container up to date */
	if (compose_run("up -d"))
		fail_msg("compose up -d failed:\n%s", out);
	for (i = 0; i < 3; i++) {
		after[i] = container_id(svcs[i]);
		if (strcmp(before[i], after[i]))
			fail_msg("compose recreated %s after a voxdeploy deploy:\n%s", svcs[i], out);
		free(after[i]);
	}
	assert_null(strstr(out, "Recreat"));   /* v2: Recreate, 1.29: Recreating */

	/* one service changed in the checkout: compose recreates exactly it */
	write_compose("stream");
	if (compose_run("up -d"))
		fail_msg("compose up -d failed:\n%s", out);
	for (i = 0; i < 3; i++) {
		after[i] = container_id(svcs[i]);
		if (!strcmp(svcs[i], "worker") == !strcmp(before[i], after[i]))
			fail_msg("after a change to worker, compose %s %s:\n%s",
				 strcmp(before[i], after[i]) ? "recreated" : "kept", svcs[i], out);
		free(after[i]);
	}

	/* and voxdeploy takes compose's container as its own in the next deploy */
	repo_commit(&repo, commit);
	if (vd("deploy"))
		fail_msg("deploy after compose's up failed:\n%s", out);
	for (i = 0; i < 3; i++)
		free(before[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(up_after_deploy_recreates_nothing),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
