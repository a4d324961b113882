/* Database dumps end to end with a real PostgreSQL holding rows: `backup`,
 * `backups`, `restore`, the dump a FULL_RESTART takes after the writers
 * stopped, restore_on_rollback, a state directory too small, a wrong
 * password.  The stack: PostgreSQL (the fixture image, a named volume), a
 * one-shot `migrate` service running SQL from the repository with psql
 * (depends_on PostgreSQL healthy) and an app built from a Dockerfile that
 * depends_on migrate completing successfully.  A "destructive migration"
 * is a migrate.sql that deletes the rows. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/json.h"
#include "docker_api/container.h"
#include "integration/itest.h"
#include "integration/itest_pg.h"
#include "gitrepo.h"
#include "testutil.h"

static struct repo repo;
static char project[64], state_dir[300], commit[VD_SHA_HEX], out[1 << 17];
static int pg_port, app_port;
static const char password[] = "dump-pw-Secret-77";

#define put(...) repo_putf(&repo, __VA_ARGS__)

static int vd_in(const char *sdir, const char *args)
{
	char a[600];
	int rc;

	snprintf(a, sizeof(a), "--state-dir %s %s", sdir, args);
	rc = itest_run(repo.dir, a, out, sizeof(out));
	if (getenv("VD_TEST_VERBOSE"))
		fprintf(stderr, "--- %s: %d\n%s", args, rc, out);
	if (strstr(out, password))
		fail_msg("the password is in the output of %s:\n%s", args, out);
	return rc;
}

static int vd(const char *args)
{
	return vd_in(state_dir, args);
}

static PGconn *pg(void)
{
	return itest_pg_connect(pg_port, password);
}

static void sql(const char *q)
{
	PGconn *c = pg();
	PGresult *r = PQexec(c, q);

	if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
		fail_msg("%s: %s", q, PQerrorMessage(c));
	PQclear(r);
	PQfinish(c);
}

static long rows(void)
{
	PGconn *c = pg();
	PGresult *r = PQexec(c, "SELECT count(*) FROM notes");
	long n = PQresultStatus(r) == PGRES_TUPLES_OK ? atol(PQgetvalue(r, 0, 0)) : -1;

	PQclear(r);
	PQfinish(c);
	return n;
}

static char *container_of(const char *service)
{
	vd_container_info info;
	vd_error err = VD_ERROR_INIT;
	char name[160], *id;

	snprintf(name, sizeof(name), "%s-%s-1", project, service);
	itest_ok(vd_container_inspect(itest_docker(), name, &info, &err), &err);
	assert_true(info.running);
	id = strdup(info.id);
	vd_container_info_release(&info);
	return id;
}

static void write_stack(const char *migrate_sql, bool app_healthy)
{
	put("Dockerfile", "FROM %s\nCOPY src/ /www/\n"
	    "HEALTHCHECK --interval=1s --timeout=2s --retries=2 CMD wget -q -O- http://127.0.0.1:8080/health || exit 1\n"
	    "CMD [\"httpd\", \"-f\", \"-p\", \"8080\", \"-h\", \"/www\"]\n", itest_busybox_image());
	if (app_healthy)
		put("src/health", "ok\n");
	else
		repo_put(&repo, "src/health", NULL, 0);
	put("migrate.sql", "%s\n", migrate_sql);
	put("docker-compose.yml",
	    "name: %s\n"
	    "services:\n"
	    "  postgres:\n"
	    "    image: %s\n"
	    "    environment: {POSTGRES_USER: vd, POSTGRES_PASSWORD: \"${DB_PASSWORD}\", POSTGRES_DB: vd}\n"
	    "    ports: [\"127.0.0.1:%d:5432\"]\n"
	    "    volumes: [pgdata:/var/lib/postgresql/data]\n"
	    "    stop_grace_period: 5s\n"
	    "    healthcheck:\n"
	    "      test: [\"CMD\", \"pg_isready\", \"-U\", \"vd\", \"-h\", \"127.0.0.1\"]\n"
	    "      interval: 1s\n"
	    "      retries: 30\n"
	    "    labels: [io.voxdeploy.test=1]\n"
	    "  migrate:\n"
	    "    image: %s\n"
	    "    entrypoint: [\"psql\", \"-v\", \"ON_ERROR_STOP=1\", \"-h\", \"postgres\", \"-U\", \"vd\", \"-d\", \"vd\", \"-f\", \"/sql/migrate.sql\"]\n"
	    "    environment: {PGPASSWORD: \"${DB_PASSWORD}\"}\n"
	    "    volumes: [\"./migrate.sql:/sql/migrate.sql:ro\"]\n"
	    "    depends_on: {postgres: {condition: service_healthy}}\n"
	    "    restart: \"no\"\n"
	    "    labels: [io.voxdeploy.test=1]\n"
	    "  app:\n"
	    "    build: .\n"
	    "    stop_grace_period: 1s\n"
	    "    ports: [\"127.0.0.1:%d:8080\"]\n"
	    "    depends_on: {migrate: {condition: service_completed_successfully}}\n"
	    "    labels: [io.voxdeploy.test=1]\n"
	    "networks:\n  default:\n    labels: {io.voxdeploy.test: \"1\"}\n"
	    "volumes:\n  pgdata:\n    labels: {io.voxdeploy.test: \"1\"}\n",
	    project, itest_postgres_image(), pg_port, itest_postgres_image(), app_port);
}

static void config(bool restore_on_rollback)
{
	put("voxdeploy.yml", "health:\n  deadline: 40s\n  stable_for: 1s\n"
	    "backup:\n  keep: 3\n  restore_on_rollback: %s\n", restore_on_rollback ? "true" : "false");
}

static int setup(void **state)
{
	snprintf(project, sizeof(project), "%sb", itest_project());
	repo_init(&repo);
	snprintf(state_dir, sizeof(state_dir), "%s/.state", repo.dir);
	pg_port = tu_free_port();
	app_port = tu_free_port();
	put(".gitignore", ".env\n.state/\n");
	config(false);
	write_stack("CREATE TABLE IF NOT EXISTS notes (id serial PRIMARY KEY, body text);", true);
	repo_commit(&repo, commit);
	tu_write_fmt(repo.dir, ".env", "DB_PASSWORD=%s\n", password);
	return 0;
}

static int teardown(void **state)
{
	itest_remove_project(project);
	repo_free(&repo);
	return itest_group_teardown(state);
}

/* The newest dump's id from `backups --json` (caller frees), and how many. */
static char *newest_backup(size_t *n)
{
	vd_error err = VD_ERROR_INIT;
	yajl_val v;
	char *id;

	assert_int_equal(vd("backups --json"), 0);
	v = vd_json_parse(out, &err);
	assert_non_null(v);
	assert_true(YAJL_IS_ARRAY(v));
	*n = v->u.array.len;
	id = *n ? strdup(vd_json_str(v->u.array.values[0], "id")) : NULL;
	if (*n) {
		yajl_val b = v->u.array.values[0];

		assert_true(vd_json_int(b, "bytes", 0) > 0);
		assert_string_equal(vd_json_str(b, "service"), "postgres");
		assert_string_equal(vd_json_str(b, "database"), "vd");
	}
	yajl_tree_free(v);
	return id;
}

static void assert_dump_file(const char *id)
{
	char path[600], head[6] = "";
	FILE *f;

	snprintf(path, sizeof(path), "%s/backups/%s.dump", state_dir, id);
	f = fopen(path, "rb");
	assert_non_null(f);
	assert_int_equal(fread(head, 1, 5, f), 5);
	fclose(f);
	assert_string_equal(head, "PGDMP");
}

static void first_deploy_then_rows(void **state)
{
	int i;

	assert_int_equal(vd("deploy"), 0);
	for (i = 0; i < 50; i++)
		sql("INSERT INTO notes (body) VALUES ('a note')");
	assert_int_equal(rows(), 50);
}

static void backup_on_demand_and_restore_by_id(void **state)
{
	char args[256], *id, *app_before, *app_after;
	size_t n;

	assert_int_equal(vd("backup"), 0);
	assert_non_null(strstr(out, "postgres (database vd)"));
	id = newest_backup(&n);
	assert_int_equal(n, 1);
	assert_dump_file(id);
	/* status -l and /metrics tell the newest dump */
	assert_int_equal(vd("status -l"), 0);
	assert_non_null(strstr(out, "last backup of postgres: "));
	assert_non_null(strstr(out, id));

	sql("DELETE FROM notes");
	assert_int_equal(rows(), 0);
	/* without --yes and without a terminal: refused, nothing changed */
	snprintf(args, sizeof(args), "restore %s < /dev/null", id);
	assert_int_equal(vd(args), 2);
	assert_non_null(strstr(out, "--yes"));
	assert_int_equal(rows(), 0);
	/* an unknown id */
	assert_int_equal(vd("restore no-such-backup --yes"), 2);
	assert_non_null(strstr(out, "no backup no-such-backup"));

	app_before = container_of("app");
	snprintf(args, sizeof(args), "restore %s --yes", id);
	assert_int_equal(vd(args), 0);
	assert_int_equal(rows(), 50);
	/* the app (a writer) was stopped and started again, same container */
	app_after = container_of("app");
	assert_string_equal(app_before, app_after);
	free(app_before);
	free(app_after);
	free(id);
}

static void full_restart_dumps_after_the_writers_stop(void **state)
{
	char *j, path[400], *id;
	const char *app_stop, *dump, *pg_stop;
	size_t n;

	put("migrate.sql", "CREATE TABLE IF NOT EXISTS notes (id serial PRIMARY KEY, body text);\n"
	    "-- version 2\n");
	repo_commit(&repo, commit);
	assert_int_equal(vd("deploy --type full"), 0);
	assert_int_equal(rows(), 50);
	id = newest_backup(&n);
	assert_int_equal(n, 2);
	assert_dump_file(id);
	snprintf(path, sizeof(path), "%s/journal.jsonl", state_dir);
	j = tu_read_file(path);
	/* the order: the app (a writer) stopped, then the dump, then PostgreSQL stopped */
	app_stop = strstr(j, "\"step\":\"stop\",\"state\":\"done\",\"service\":\"app\"");
	dump = strstr(j, "\"step\":\"backup\",\"state\":\"done\",\"service\":\"postgres\"");
	pg_stop = strstr(j, "\"step\":\"stop\",\"state\":\"begin\",\"service\":\"postgres\"");
	if (!app_stop || !dump || !pg_stop)
		fail_msg("journal lacks a step:\n%s", j);
	if (!(app_stop < dump && dump < pg_stop))
		fail_msg("steps out of order (journal on stderr)%s", fprintf(stderr, "%s", j) < 0 ? "" : "");
	assert_non_null(strstr(dump, id));
	free(j);
	free(id);
}

/* A destructive migration and a broken app: rolled back; without
 * restore_on_rollback the rows are gone and the message names the dump. */
static void broken_release_without_restore_names_the_dump(void **state)
{
	write_stack("DELETE FROM notes;", false);
	repo_commit(&repo, commit);
	assert_int_equal(vd("deploy"), 1);
	assert_non_null(strstr(out, "voxdeploy restore "));
	assert_int_equal(rows(), 0);
	/* put the rows back by hand for the next case */
	{
		char *id, args[256];
		size_t n;

		id = newest_backup(&n);
		snprintf(args, sizeof(args), "restore %s --yes", id);
		assert_int_equal(vd(args), 0);
		assert_int_equal(rows(), 50);
		free(id);
	}
}

static void broken_release_with_restore_on_rollback(void **state)
{
	config(true);
	put("migrate.sql", "DELETE FROM notes; -- once more\n");
	repo_commit(&repo, commit);
	assert_int_equal(vd("deploy"), 1);
	assert_non_null(strstr(out, "was put back from"));
	assert_non_null(strstr(out, "previous version runs and is healthy"));
	assert_int_equal(rows(), 50);
}

/* The healthy version again (a FULL_RESTART: compose file and SQL). */
static void good_version_again(void **state)
{
	config(false);
	write_stack("CREATE TABLE IF NOT EXISTS notes (id serial PRIMARY KEY, body text);", true);
	repo_commit(&repo, commit);
	assert_int_equal(vd("deploy --type full"), 0);
	assert_int_equal(rows(), 50);
}

/* before: [app_only]: an APP_ONLY deploy dumps while the app is stopped;
 * PostgreSQL is not restarted. */
static void app_only_dump_when_asked(void **state)
{
	char *pg_before = container_of("postgres"), *pg_after, *id;
	size_t n_before, n_after;

	free(newest_backup(&n_before));
	put("voxdeploy.yml", "health:\n  deadline: 40s\n  stable_for: 1s\n"
	    "backup:\n  before: [app_only]\n  keep: 5\n");
	put("src/version", "4\n");
	repo_commit(&repo, commit);
	assert_int_equal(vd("deploy"), 0);
	assert_non_null(strstr(out, "APP_ONLY"));
	assert_non_null(strstr(out, "backup     done"));
	id = newest_backup(&n_after);
	assert_int_equal(n_after, n_before + 1 > 5 ? 5 : n_before + 1);
	assert_dump_file(id);
	pg_after = container_of("postgres");
	assert_string_equal(pg_before, pg_after);
	assert_int_equal(rows(), 50);
	free(id);
	free(pg_before);
	free(pg_after);
	config(false);  /* the default again, for what follows */
	repo_commit(&repo, commit);
}

static bool leftover_release(void)
{
	char cmd[400], buf[256] = "";
	FILE *f;

	snprintf(cmd, sizeof(cmd), "${DOCKER:-docker} ps -aq --filter name=voxdeploy-release "
		 "--filter label=com.docker.compose.project=%s", project);
	f = popen(cmd, "r");
	assert_non_null(f);
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	pclose(f);
	return buf[0] != '\0';
}

/* The release step: its output told, a failure and a hang roll back and
 * leave no one-off behind. */
static void release_step_runs_fails_and_hangs(void **state)
{
	char *app_before = container_of("app"), *app_after;

	put("voxdeploy.yml", "health:\n  deadline: 40s\n  stable_for: 1s\n"
	    "deploy:\n  release: {service: app, command: \"echo migrating notes; echo migrated\", "
	    "on: [app_only]}\n");
	put("src/version", "5\n");
	repo_commit(&repo, commit);
	assert_int_equal(vd("deploy"), 0);
	assert_non_null(strstr(out, "release    output  app: migrating notes"));
	assert_non_null(strstr(out, "release    done"));
	assert_false(leftover_release());
	free(app_before);
	app_before = container_of("app");

	put("voxdeploy.yml", "health:\n  deadline: 40s\n  stable_for: 1s\n"
	    "deploy:\n  release: {service: app, command: [sh, -c, \"echo boom >&2; exit 3\"]}\n");
	put("src/version", "6\n");
	repo_commit(&repo, commit);
	assert_int_equal(vd("deploy"), 1);
	assert_non_null(strstr(out, "the release step exited with 3: boom"));
	assert_non_null(strstr(out, "previous version runs and is healthy"));
	app_after = container_of("app");
	assert_string_equal(app_before, app_after);
	free(app_after);
	assert_false(leftover_release());

	put("voxdeploy.yml", "health:\n  deadline: 40s\n  stable_for: 1s\n"
	    "deploy:\n  release: {service: app, command: [sleep, \"600\"], timeout: 2s}\n");
	put("src/version", "7\n");
	repo_commit(&repo, commit);
	assert_int_equal(vd("deploy"), 1);
	assert_non_null(strstr(out, "ran past its timeout"));
	app_after = container_of("app");
	assert_string_equal(app_before, app_after);
	free(app_after);
	assert_false(leftover_release());
	free(app_before);
}

/* A destructive release step in a FULL_RESTART and a broken app, with
 * restore_on_rollback: every row back. */
static void destructive_release_is_undone(void **state)
{
	put("voxdeploy.yml", "health:\n  deadline: 40s\n  stable_for: 1s\n"
	    "backup: {restore_on_rollback: true}\n"
	    "deploy:\n  release: {service: migrate, command: [-c, \"DELETE FROM notes\"]}\n");
	repo_put(&repo, "src/health", NULL, 0);
	put("migrate.sql", "SELECT 1; -- release\n");
	repo_commit(&repo, commit);
	assert_int_equal(vd("deploy"), 1);
	assert_non_null(strstr(out, "release    done    migrate"));
	assert_non_null(strstr(out, "was put back from"));
	assert_int_equal(rows(), 50);
	assert_false(leftover_release());
	/* the good version again, no release */
	config(false);
	put("src/health", "ok\n");
	put("migrate.sql", "CREATE TABLE IF NOT EXISTS notes (id serial PRIMARY KEY, body text);\n");
	repo_commit(&repo, commit);
	assert_int_equal(vd("deploy"), 0);
	assert_int_equal(rows(), 50);
}

static void state_dir_too_small_refuses(void **state)
{
	char small[400], args[600], *pg_before, *pg_after;
	int rc;

	snprintf(small, sizeof(small), "%s/small-state", repo.dir);
	mkdir(small, 0700);
	if (mount("tmpfs", small, "tmpfs", 0, "size=256k")) {
		perror("mount tmpfs (skipped: needs root)");
		return;
	}
	pg_before = container_of("postgres");
	snprintf(args, sizeof(args), "deploy --type full");
	rc = vd_in(small, args);
	umount(small);
	rmdir(small);
	assert_int_equal(rc, 1);
	assert_non_null(strstr(out, "not enough space for the dump"));
	pg_after = container_of("postgres");
	assert_string_equal(pg_before, pg_after);
	assert_int_equal(rows(), 50);
	free(pg_before);
	free(pg_after);
}

/* deploy.min_free: a build needs room in the engine's data root. */
static void short_engine_disk_refuses(void **state)
{
	char *app_before = container_of("app"), *app_after;

	put("voxdeploy.yml", "deploy: {min_free: 100000g}\n");
	put("src/version", "8\n");
	repo_commit(&repo, commit);
	assert_int_equal(vd("deploy"), 1);
	assert_non_null(strstr(out, "a build needs deploy.min_free"));
	app_after = container_of("app");
	assert_string_equal(app_before, app_after);
	config(false);
	repo_commit(&repo, commit);
	free(app_before);
	free(app_after);
}

static void wrong_password_refuses(void **state)
{
	char *pg_before, *pg_after;

	tu_write_fmt(repo.dir, ".env", "DB_PASSWORD=not-the-password\n");
	pg_before = container_of("postgres");
	assert_int_equal(vd("deploy --type full"), 1);
	assert_non_null(strstr(out, "password authentication failed"));
	pg_after = container_of("postgres");
	assert_string_equal(pg_before, pg_after);
	tu_write_fmt(repo.dir, ".env", "DB_PASSWORD=%s\n", password);
	assert_int_equal(rows(), 50);
	free(pg_before);
	free(pg_after);
}

/* The first *.partial file in the backups directory, into out; false when none. */
static bool partial_file(char *found_path, size_t size)
{
	char dir[400];
	struct dirent *e;
	DIR *d;
	bool found = false;

	snprintf(dir, sizeof(dir), "%s/backups", state_dir);
	d = opendir(dir);
	while (d && !found && (e = readdir(d)) != NULL)
		if (strstr(e->d_name, ".partial")) {
			snprintf(found_path, size, "%.399s/%.190s", dir, e->d_name);
			found = true;
		}
	if (d)
		closedir(d);
	return found;
}

static bool partial_now(void)
{
	char path[600];

	return partial_file(path, sizeof(path));
}

/* Run the real binary with args; kill -9 it as soon as ready() holds
 * (polled every 10 ms, 60 s at most); then it has been waited for. */
static void kill_when(const char *const *argv, bool (*ready)(void), const char *what)
{
	char logp[400];
	struct tu_proc p = { argv, NULL, logp, logp, NULL, true };
	pid_t pid;
	int i;
	bool seen = false;

	snprintf(logp, sizeof(logp), "%s.kill.log", repo.dir);
	pid = tu_spawn(&p);
	for (i = 0; i < 6000 && !seen; i++) {
		seen = ready();
		if (!seen)
			usleep(10000);
	}
	kill(pid, SIGKILL);
	tu_wait(pid, 30, "the killed deploy");
	unlink(logp);
	if (!seen)
		fail_msg("%s never appeared", what);
}

/* kill -9 while pg_dump streams: recover removes the partial file and the
 * old version runs (the app had been stopped for the dump). */
static void killed_during_the_dump_then_recover(void **state)
{
	const char *argv[] = { VD_BINARY, "-C", repo.dir, "--state-dir", state_dir, "deploy", "--type",
			       "full", NULL };

	/* enough rows that the dump takes a while */
	sql("CREATE TABLE IF NOT EXISTS bulk AS SELECT g AS id, md5(g::text) || repeat('x', 400) AS body "
	    "FROM generate_series(1, 400000) g");
	kill_when(argv, partial_now, "a partial dump");
	assert_int_equal(vd("recover"), 0);
	assert_false(partial_now());
	free(container_of("app"));   /* runs */
	free(container_of("postgres"));
	assert_int_equal(rows(), 50);
	sql("DROP TABLE bulk");
}

/* kill -9 while the release step runs: recover removes the one-off and the
 * previous version serves. */
static void killed_during_the_release_then_recover(void **state)
{
	const char *argv[] = { VD_BINARY, "-C", repo.dir, "--state-dir", state_dir, "deploy", NULL };
	char *app_before = container_of("app"), *app_after;

	put("voxdeploy.yml", "health:\n  deadline: 40s\n  stable_for: 1s\n"
	    "deploy:\n  release: {service: app, command: [sleep, \"300\"], timeout: 5m}\n");
	put("src/version", "9\n");
	repo_commit(&repo, commit);
	kill_when(argv, leftover_release, "the release step's container");
	assert_int_equal(vd("recover"), 0);
	assert_false(leftover_release());
	app_after = container_of("app");
	assert_string_equal(app_before, app_after);
	config(false);
	repo_commit(&repo, commit);
	free(app_before);
	free(app_after);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(first_deploy_then_rows),
		cmocka_unit_test(backup_on_demand_and_restore_by_id),
		cmocka_unit_test(full_restart_dumps_after_the_writers_stop),
		cmocka_unit_test(broken_release_without_restore_names_the_dump),
		cmocka_unit_test(broken_release_with_restore_on_rollback),
		cmocka_unit_test(good_version_again),
		cmocka_unit_test(app_only_dump_when_asked),
		cmocka_unit_test(release_step_runs_fails_and_hangs),
		cmocka_unit_test(destructive_release_is_undone),
		cmocka_unit_test(state_dir_too_small_refuses),
		cmocka_unit_test(short_engine_disk_refuses),
		cmocka_unit_test(wrong_password_refuses),
		cmocka_unit_test(killed_during_the_dump_then_recover),
		cmocka_unit_test(killed_during_the_release_then_recover),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
