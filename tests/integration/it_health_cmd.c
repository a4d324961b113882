/* Integration tests: `voxdeploy health` and `voxdeploy config` end to end,
 * through the built binary, against a compose project whose containers this
 * file creates from the compose model (vd_spec_create) on the real engine:
 * a busybox service and a real PostgreSQL 15 (itest_postgres_image()) that
 * publishes 5432 on 127.0.0.1.
 *
 * The PostgreSQL password reaches the binary only through a variable whose
 * name does not look like a secret, so that it is voxdeploy.yml's and the
 * derived probe's own registration that keeps it out of every output.
 * Everything carries io.voxdeploy.test=1 and this run's project label;
 * itest_group_teardown removes it, pass or fail. */
#include "itest.h"
#include "common/json.h"
#include "controller/model/compose.h"
#include "controller/model/spec.h"
#include "docker_api/container.h"
#include "gitrepo.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PW_VAR "VD_IT_PGPW"

static char dir[] = "/tmp/vd-it-health-XXXXXX";
static char password[64];
static char *pg_container;

static const char *it_lookup(const char *name, void *ctx)
{
	return getenv(name);
}

static void remove_file(const char *name)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	unlink(path);
}

static void assert_no_password(const char *out)
{
	if (strstr(out, password))
		fail_msg("the password is in the output:\n%s", out);
}

/* Create and start the project's containers from its compose file. */
static int group_setup(void **state)
{
	vd_docker *d = itest_docker();
	vd_error err = VD_ERROR_INIT;
	vd_compose *c = NULL;
	vd_spec_options opts = VD_SPEC_OPTIONS_INIT;
	vd_kvs extra = { NULL, 0 };
	char *text = NULL;
	size_t i;

	assert_non_null(mkdtemp(dir));
	snprintf(password, sizeof(password), "PgIt-%d-%ld-marker", (int)getpid(), (long)time(NULL));
	setenv(PW_VAR, password, 1);
	assert_true(asprintf(&text,
		"name: %s\n"
		"services:\n"
		"  app:\n"
		"    image: %s\n"
		"    command: [\"sh\", \"-c\", \"sleep 600\"]\n"
		"    environment: {API_TOKEN: \"${" PW_VAR "}\"}\n"
		"  postgres:\n"
		"    image: %s\n"
		"    environment:\n"
		"      POSTGRES_USER: vd\n"
		"      POSTGRES_PASSWORD: \"${" PW_VAR "}\"\n"
		"      POSTGRES_DB: app\n"
		"    ports: [\"127.0.0.1:%d:5432\"]\n",
		itest_project(), itest_busybox_image(), itest_postgres_image(), tu_free_port()) > 0);
	tu_write_str(dir, "docker-compose.yml", text);
	{
		vd_compose_source src = { "docker-compose.yml", text, strlen(text) };
		vd_compose_options co = { dir, NULL, it_lookup, NULL };

		itest_ok(vd_compose_load(&src, 1, &co, &c, &err), &err);
	}
	vd_kvs_add(&extra, "io.voxdeploy.test", "1");
	opts.extra_labels = &extra;
	opts.lookup = it_lookup;
	itest_ok(vd_spec_ensure_networks(d, c, &opts, &err), &err);
	itest_ok(vd_spec_ensure_volumes(d, c, &opts, &err), &err);
	for (i = 0; i < c->n_services; i++) {
		const vd_compose_service *s = vd_compose_ordered(c, i);
		char *id = NULL;

		itest_ok(vd_spec_create(d, c, s, NULL, &opts, &id, &err), &err);
		itest_ok(vd_container_start(d, id, &err), &err);
		if (!strcmp(s->name, "postgres"))
			pg_container = id;
		else
			free(id);
	}
	vd_kvs_release(&extra);
	vd_compose_free(c);
	vd_error_release(&err);
	free(text);
	return 0;
}

static int group_teardown(void **state)
{
	remove_file("docker-compose.yml");
	remove_file("voxdeploy.yml");
	rmdir(dir);
	free(pg_container);
	return itest_group_teardown(state);
}

/* PostgreSQL takes a few seconds to initialise its volume: ask until it is
 * healthy, at most two minutes. */
static void health__healthy_stack(void **state)
{
	char out[16384];
	time_t until = time(NULL) + 120;
	int rc;

	while ((rc = itest_run(dir, "health", out, sizeof(out))) != 0 && time(NULL) < until)
		usleep(500 * 1000);
	if (rc)
		fail_msg("not healthy after 2 minutes (exit %d):\n%s", rc, out);
	assert_non_null(strstr(out, "verdict: healthy"));
	assert_non_null(strstr(out, "app"));
	assert_non_null(strstr(out, "postgres"));
	assert_no_password(out);

	assert_int_equal(itest_run(dir, "health --json", out, sizeof(out)), 0);
	assert_non_null(strstr(out, "\"healthy\":true"));
	/* the derived probe, through the published port */
	assert_non_null(strstr(out, "\"kind\":\"postgres\""));
	assert_no_password(out);

	assert_int_equal(itest_run(dir, "health --service app --json", out, sizeof(out)), 0);
	assert_null(strstr(out, "\"kind\":\"postgres\""));
}

static void health__unknown_service(void **state)
{
	char out[4096];

	assert_int_equal(itest_run(dir, "health --service nope", out, sizeof(out)), 2);
	assert_non_null(strstr(out, "no service 'nope'"));
	assert_non_null(strstr(out, "app, postgres"));
}

static void health__bad_config(void **state)
{
	char out[4096];

	tu_write_str(dir, "voxdeploy.yml", "health:\n  deadlin: 5s\n");
	assert_int_equal(itest_run(dir, "health", out, sizeof(out)), 2);
	assert_non_null(strstr(out, "voxdeploy.yml:2:3: health: unknown key 'deadlin'"));
	tu_write_str(dir, "voxdeploy.yml", "health:\n  postgres: [{conninfo: \"host=x password=literal99\"}]\n");
	assert_int_equal(itest_run(dir, "config", out, sizeof(out)), 2);
	assert_non_null(strstr(out, "secrets only through ${VAR}"));
	remove_file("voxdeploy.yml");
}

static void health__wrong_password(void **state)
{
	char out[16384], yml[512];
	const char *wrong = "Wrong-pw-for-the-it";

	/* a configured probe with a name of its own */
	snprintf(yml, sizeof(yml),
		 "health:\n"
		 "  deadline: 20s\n"
		 "  postgres:\n"
		 "    - name: maindb\n"
		 "      service: postgres\n"
		 "      conninfo: \"host=127.0.0.1 port=${PGPORT_IT} user=vd password=${" PW_VAR "} dbname=app\"\n"
		 "      timeout: 5s\n");
	{
		/* the published port, from the compose file we wrote */
		vd_container_info info;
		vd_error err = VD_ERROR_INIT;
		yajl_val b;

		itest_ok(vd_container_inspect(itest_docker(), pg_container, &info, &err), &err);
		b = vd_json_idx(vd_json_at(info.raw, "NetworkSettings", "Ports", "5432/tcp", NULL), 0);
		assert_non_null(vd_json_str(b, "HostPort"));
		setenv("PGPORT_IT", vd_json_str(b, "HostPort"), 1);
		vd_container_info_release(&info);
		vd_error_release(&err);
	}
	tu_write_str(dir, "voxdeploy.yml", yml);
	assert_int_equal(itest_run(dir, "health", out, sizeof(out)), 0);
	assert_no_password(out);

	setenv(PW_VAR, wrong, 1);
	assert_int_equal(itest_run(dir, "health", out, sizeof(out)), 4);
	assert_non_null(strstr(out, "maindb"));
	assert_non_null(strstr(out, "unhealthy"));
	if (strstr(out, wrong))
		fail_msg("the wrong password is in the output:\n%s", out);
	assert_int_equal(itest_run(dir, "health --json", out, sizeof(out)), 4);
	assert_non_null(strstr(out, "\"probe\":\"maindb\""));
	assert_null(strstr(out, wrong));

	/* the derived probe (no health section) says the same */
	remove_file("voxdeploy.yml");
	assert_int_equal(itest_run(dir, "health --service postgres", out, sizeof(out)), 4);
	assert_non_null(strstr(out, "postgres"));
	assert_null(strstr(out, wrong));
	setenv(PW_VAR, password, 1);
}

static void config__no_secrets(void **state)
{
	char out[65536], yml[1024];

	snprintf(yml, sizeof(yml),
		 "health:\n"
		 "  postgres: [{name: maindb, service: postgres,"
		 " conninfo: \"postgresql://vd:${" PW_VAR "}@127.0.0.1/app\"}]\n"
		 "  http: [{service: app, url: \"http://mon:${" PW_VAR "}@127.0.0.1:1/\"}]\n"
		 "notify:\n"
		 "  webhook: [{url: \"https://h.example/x\", headers: {Authorization: \"Bearer ${" PW_VAR "}\"}}]\n"
		 "  telegram: [{chat_id: \"-1001\", token: \"${" PW_VAR "}\"}]\n");
	tu_write_str(dir, "voxdeploy.yml", yml);
	assert_int_equal(itest_run(dir, "config", out, sizeof(out)), 0);
	assert_no_password(out);
	assert_non_null(strstr(out, "POSTGRES_PASSWORD=***"));
	assert_non_null(strstr(out, "API_TOKEN=***"));
	assert_non_null(strstr(out, "Authorization: ***"));
	assert_int_equal(itest_run(dir, "config --json", out, sizeof(out)), 0);
	assert_no_password(out);
	assert_non_null(strstr(out, "postgresql://vd:***@127.0.0.1/app"));
	assert_non_null(strstr(out, "\"POSTGRES_PASSWORD=***\""));
	remove_file("voxdeploy.yml");
}

/* plan reads voxdeploy.yml at the target commit: its lists replace the
 * defaults, unmatched and image_aware apply. */
static void plan__rules_from_voxdeploy_yml(void **state)
{
	struct repo rp;
	char one[VD_SHA_HEX], two[VD_SHA_HEX], three[VD_SHA_HEX], args[512], out[16384];

	repo_init(&rp);
	repo_put(&rp, "bot/main.py", "print(1)\n", 0100644);
	repo_put(&rp, "notes.xyz", "a\n", 0100644);
	repo_commit(&rp, one);
	repo_put(&rp, "bot/main.py", "print(2)\n", 0100644);
	repo_put(&rp, "notes.xyz", "b\n", 0100644);
	repo_put(&rp, "voxdeploy.yml",
		 "rules:\n  app_only: [bot/]\n  no_restart: [voxdeploy.yml]\n  unmatched: no_restart\n"
		 "  image_aware: false\n", 0100644);
	repo_commit(&rp, two);
	repo_put(&rp, "voxdeploy.yml", "rules:\n  full_restart: [\"*.xyz\"]\n", 0100644);
	repo_commit(&rp, three);

	snprintf(args, sizeof(args), "plan --from %s --to %s --json", one, two);
	assert_int_equal(itest_run(rp.dir, args, out, sizeof(out)), 0);
	assert_non_null(strstr(out, "\"type\":\"APP_ONLY\""));
	assert_non_null(strstr(out, "\"path\":\"bot/main.py\",\"status\":\"modified\",\"tier\":\"APP_ONLY\",\"rule\":\"bot/\""));
	assert_non_null(strstr(out, "\"path\":\"notes.xyz\",\"status\":\"modified\",\"tier\":\"NO_RESTART\""));

	/* the target's own file decides: here *.xyz needs a full restart */
	snprintf(args, sizeof(args), "plan --from %s --to %s --json --rules-only", one, three);
	assert_int_equal(itest_run(rp.dir, args, out, sizeof(out)), 0);
	assert_non_null(strstr(out, "\"type\":\"FULL_RESTART\""));

	/* a broken file at the target is a configuration error */
	repo_put(&rp, "voxdeploy.yml", "rules:\n  full_restart: yes\n", 0100644);
	repo_commit(&rp, three);
	snprintf(args, sizeof(args), "plan --from %s --to %s", one, three);
	assert_int_equal(itest_run(rp.dir, args, out, sizeof(out)), 2);
	assert_non_null(strstr(out, "voxdeploy.yml:2:17: rules: 'full_restart' must be a list of patterns"));
	repo_free(&rp);
}

/* Last: it stops the database. */
static void health__postgres_stopped(void **state)
{
	vd_error err = VD_ERROR_INIT;
	char out[16384];

	itest_ok(vd_container_stop(itest_docker(), pg_container, 10, &err), &err);
	vd_error_release(&err);
	assert_int_equal(itest_run(dir, "health", out, sizeof(out)), 4);
	assert_non_null(strstr(out, "postgres"));
	assert_non_null(strstr(out, "unhealthy"));
	assert_no_password(out);
	assert_int_equal(itest_run(dir, "health --service app", out, sizeof(out)), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(health__healthy_stack),
		cmocka_unit_test(health__unknown_service),
		cmocka_unit_test(health__bad_config),
		cmocka_unit_test(health__wrong_password),
		cmocka_unit_test(config__no_secrets),
		cmocka_unit_test(plan__rules_from_voxdeploy_yml),
		cmocka_unit_test(health__postgres_stopped),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
