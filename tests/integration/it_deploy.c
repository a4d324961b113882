/* `voxdeploy deploy` end to end on a real stack: an app built from a
 * Dockerfile (busybox httpd with a HEALTHCHECK), PostgreSQL with a named
 * volume and rows in it, and a third service; a real git repository; the
 * real binary.  Upstream's test plan, each with its type and its effect. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/json.h"
#include "controller/state/evidence.h"
#include "docker_api/container.h"
#include "docker_api/image.h"
#include "docker_api/network.h"
#include "docker_api/volume.h"
#include "integration/itest.h"
#include "integration/itest_pg.h"
#include "gitrepo.h"
#include "testutil.h"

static struct repo repo;
static char project[64], state_dir[300], out_path[300], err_path[300];
/* a second deploy running beside the first writes its output here */
static char out2_path[300], err2_path[300];
static bool second;
static char commit[VD_SHA_HEX];
static int pg_port, app_port;

/* every request a deploy's notification sends */
static tu_hook hook = TU_HOOK_INIT;

static char *out_text, *err_text;
static const char *fault;   /* VOXDEPLOY_FAULT for the next run */
static const char *docker_host;  /* DOCKER_HOST for the next run, NULL: as inherited */

/* ------------------------------------------------------------------ helpers */

/* Run the real binary in the project with the given arguments; its exit
 * code, stdout in out_text, stderr in err_text. */
static pid_t vd_spawn(const char *first, va_list ap);
static int vd_wait(pid_t pid, const char *what);

static int vd(const char *first, ...)
{
	va_list ap;
	pid_t pid;

	va_start(ap, first);
	pid = vd_spawn(first, ap);
	va_end(ap);
	return vd_wait(pid, first);
}

static pid_t vd_start(const char *first, ...)
{
	va_list ap;
	pid_t pid;

	va_start(ap, first);
	pid = vd_spawn(first, ap);
	va_end(ap);
	return pid;
}

static pid_t vd_spawn(const char *first, va_list ap)
{
	const char *argv[32], *env[3];
	char fault_env[128], host_env[512];
	struct tu_proc p = { argv, NULL, second ? out2_path : out_path, second ? err2_path : err_path, env,
			     false };
	int n = 0, m = 0;

	argv[n++] = VD_BINARY;
	argv[n++] = "-C";
	argv[n++] = repo.dir;
	argv[n++] = "--state-dir";
	argv[n++] = state_dir;
	argv[n++] = first;
	while (n < 31 && (argv[n] = va_arg(ap, const char *)))
		n++;
	argv[n] = NULL;
	if (fault) {
		snprintf(fault_env, sizeof(fault_env), "VOXDEPLOY_FAULT=%s", fault);
		env[m++] = fault_env;
	}
	if (docker_host) {
		snprintf(host_env, sizeof(host_env), "DOCKER_HOST=%s", docker_host);
		env[m++] = host_env;
	}
	env[m] = NULL;
	return tu_spawn(&p);
}

static int vd_wait(pid_t pid, const char *first)
{
	int status = tu_wait(pid, 0, first);

	free(out_text);
	free(err_text);
	out_text = tu_slurp(second ? out2_path : out_path);
	err_text = tu_slurp(second ? err2_path : err_path);
	if (getenv("VD_TEST_VERBOSE") && strcmp(first, "history"))
		fprintf(stderr, "--- %s\n%s%s", first, err_text, out_text);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

#define put(...) repo_putf(&repo, __VA_ARGS__)

static void commit_now(void)
{
	repo_commit(&repo, commit);
}

static char *cname(const char *service)
{
	char *s = NULL;

	assert_true(asprintf(&s, "%s-%s-1", project, service) > 0);
	return s;
}

/* The running container of a service: id and StartedAt (caller frees). */
static void container_of(const char *service, char **id, char **started, bool *running)
{
	vd_container_info info;
	vd_error err = VD_ERROR_INIT;
	char *name = cname(service);

	assert_int_equal(vd_container_inspect(itest_docker(), name, &info, &err), 0);
	*id = strdup(info.id);
	if (started)
		*started = strdup(info.started_at);
	if (running)
		*running = info.running;
	vd_container_info_release(&info);
	free(name);
}

static char *label_of(const char *service, const char *label)
{
	vd_container_info info;
	vd_error err = VD_ERROR_INIT;
	char *name = cname(service), *v;

	assert_int_equal(vd_container_inspect(itest_docker(), name, &info, &err), 0);
	v = vd_kvs_get(&info.labels, label) ? strdup(vd_kvs_get(&info.labels, label)) : NULL;
	vd_container_info_release(&info);
	free(name);
	return v;
}

static char *image_id(const char *ref)
{
	vd_image_info info;
	vd_error err = VD_ERROR_INIT;
	char *id;

	if (vd_image_inspect(itest_docker(), ref, &info, &err)) {
		vd_error_release(&err);
		return NULL;
	}
	id = strdup(info.id);
	vd_image_info_release(&info);
	return id;
}

struct snap {
	char *id[3], *started[3];
};

static const char *const services[3] = { "app", "postgres", "worker" };

static void snap_take(struct snap *s)
{
	int i;

	for (i = 0; i < 3; i++)
		container_of(services[i], &s->id[i], &s->started[i], NULL);
}

static void snap_free(struct snap *s)
{
	int i;

	for (i = 0; i < 3; i++) {
		free(s->id[i]);
		free(s->started[i]);
	}
}

/* Which services got a new container since the snapshot: a bit each. */
static int recreated_since(const struct snap *before)
{
	struct snap now;
	int i, mask = 0;

	snap_take(&now);
	for (i = 0; i < 3; i++)
		if (strcmp(now.id[i], before->id[i]) || strcmp(now.started[i], before->started[i]))
			mask |= 1 << i;
	snap_free(&now);
	return mask;
}

#define APP 1
#define PG 2
#define WORKER 4

static PGconn *pg(void)
{
	return itest_pg_connect(pg_port, "s3cret-pg");
}

static long pg_rows(void)
{
	return itest_pg_count(pg_port, "s3cret-pg", "SELECT count(*) FROM notes");
}

static bool has(const char *text, const char *needle)
{
	if (!strstr(text, needle))
		fprintf(stderr, "expected '%s' in:\n%s\n", needle, text);
	return strstr(text, needle) != NULL;
}

/* The app's image reference names the image the app container runs (a
 * restore tags it back). */
static void assert_app_runs_its_reference(void)
{
	vd_container_info info;
	vd_error err = VD_ERROR_INIT;
	char *name = cname("app"), ref[200], *img;

	snprintf(ref, sizeof(ref), "%s-app:latest", project);
	assert_int_equal(vd_container_inspect(itest_docker(), name, &info, &err), 0);
	img = image_id(ref);
	assert_non_null(img);
	assert_string_equal(img, info.image_id);
	free(img);
	vd_container_info_release(&info);
	free(name);
}

/* ------------------------------------------------------------------ the stack */

static const char *const dockerfile =
	"FROM %s\n"
	"COPY requirements.txt /app/requirements.txt\n"
	"COPY prompts/ /www/prompts/\n"
	"COPY src/ /www/\n"
	"COPY start.sh /start.sh\n"
	"HEALTHCHECK --interval=1s --timeout=2s --retries=2 CMD wget -q -O- http://127.0.0.1:8080/health || exit 1\n"
	"CMD [\"sh\", \"/start.sh\"]\n";

static const char *app_build = "build: .";

static void write_stack(const char *worker_env)
{
	put("Dockerfile", dockerfile, itest_busybox_image());
	put("start.sh", "exec httpd -f -p 8080 -h /www\n");
	put("src/health", "ok\n");
	put("src/version", "1\n");
	put("prompts/greeting.txt", "hello\n");
	put("requirements.txt", "aiogram==3.4\n");
	put("README.md", "# the stack\n");
	put("docker-compose.yml",
	    "name: %s\n"
	    "services:\n"
	    "  app:\n"
	    "    %s\n"
	    "    stop_grace_period: 1s\n"
	    "    environment:\n"
	    "      DB_HOST: postgres\n"
	    "    depends_on:\n"
	    "      postgres:\n"
	    "        condition: service_healthy\n"
	    "    ports: [\"127.0.0.1:${APP_PORT}:8080\"]\n"
	    "    labels: [io.voxdeploy.test=1]\n"
	    "  postgres:\n"
	    "    image: %s\n"
	    "    environment:\n"
	    "      POSTGRES_USER: vd\n"
	    "      POSTGRES_PASSWORD: ${DB_PASSWORD}\n"
	    "      POSTGRES_DB: vd\n"
	    "    ports: [\"127.0.0.1:${PG_PORT}:5432\"]\n"
	    "    volumes: [pgdata:/var/lib/postgresql/data]\n"
	    "    healthcheck:\n"
	    "      test: [\"CMD\", \"pg_isready\", \"-U\", \"vd\", \"-h\", \"127.0.0.1\"]\n"
	    "      interval: 1s\n"
	    "      timeout: 3s\n"
	    "      retries: 30\n"
	    "    labels: [io.voxdeploy.test=1]\n"
	    "  worker:\n"
	    "    image: %s\n"
	    "    command: [\"sleep\", \"100000\"]\n"
	    "    stop_grace_period: 1s\n"
	    "    environment:\n"
	    "      MODE: \"%s\"\n"
	    "    labels: [io.voxdeploy.test=1]\n"
	    "networks:\n"
	    "  default:\n"
	    "    labels: {io.voxdeploy.test: \"1\"}\n"
	    "volumes:\n"
	    "  pgdata:\n"
	    "    labels: {io.voxdeploy.test: \"1\"}\n",
	    project, app_build, itest_postgres_image(), itest_busybox_image(), worker_env);
}

/* The probes a deploy must pass besides the containers' own: the real
 * database and the app's HTTP endpoint; secrets only through ${VAR}. */
static void write_config_builder(const char *builder)
{
	put("voxdeploy.yml",
	    "health:\n"
	    "  deadline: 60s\n"
	    "  stable_for: 1s\n"
	    "  postgres:\n"
	    "    - name: db\n"
	    "      service: postgres\n"
	    "      conninfo: \"host=127.0.0.1 port=${PG_PORT} user=vd password=${DB_PASSWORD} dbname=vd\"\n"
	    "  http:\n"
	    "    - name: web\n"
	    "      service: app\n"
	    "      url: \"http://127.0.0.1:${APP_PORT}/health\"\n"
	    "      expect_status: [200]\n"
	    "notify:\n"
	    "  timeout: 10s\n"
	    "  webhook:\n"
	    "    - url: \"http://127.0.0.1:${HOOK_PORT}/hook\"\n"
	    "      headers: {Authorization: \"Bearer ${HOOK_TOKEN}\"}\n"
	    "deploy:\n"
	    "  builder: %s\n"
	    "  retain_images: 3\n"
	    "  services:\n"
	    "    worker: {order: start-first}\n", builder);
}

static void write_config(void)
{
	write_config_builder("auto");
}

static int setup(void **state)
{
	snprintf(project, sizeof(project), "%s", itest_project());
	repo_init(&repo);
	snprintf(state_dir, sizeof(state_dir), "%s/.state", repo.dir);
	snprintf(out_path, sizeof(out_path), "%s.out", repo.dir);
	snprintf(err_path, sizeof(err_path), "%s.err", repo.dir);
	snprintf(out2_path, sizeof(out2_path), "%s.out2", repo.dir);
	snprintf(err2_path, sizeof(err2_path), "%s.err2", repo.dir);
	pg_port = tu_free_port();
	app_port = tu_free_port();
	tu_hook_start(&hook);
	put(".gitignore", ".env\n.state/\n");
	write_config();
	write_stack("one");
	commit_now();
	/* the secrets stay out of the repository, as on the server */
	tu_write_fmt(repo.dir, ".env", "DB_PASSWORD=s3cret-pg\nPG_PORT=%d\nAPP_PORT=%d\nHOOK_PORT=%d\n"
		     "HOOK_TOKEN=hook-t0ken-marker\n", pg_port, app_port, hook.port);
	return 0;
}

static int teardown(void **state)
{
	const char *const made[] = { out_path, err_path, out2_path, err2_path };
	size_t i;

	itest_remove_project(project);
	for (i = 0; i < sizeof(made) / sizeof(made[0]); i++)
		if (tu_rm_rf(made[i]))
			fprintf(stderr, "rm failed: %s\n", made[i]);
	repo_free(&repo);
	tu_hook_stop(&hook);
	free(out_text);
	free(err_text);
	return itest_group_teardown(state);
}

/* ------------------------------------------------------------------ the cases */

static void first_deploy_creates_everything(void **state)
{
	char *id, *c;
	bool running;
	PGconn *conn;
	PGresult *r;
	int i;

	assert_int_equal(vd("deploy", "--actor", "tester", "--note", "first", NULL), 0);
	assert_true(has(err_text, "FULL_RESTART"));
	for (i = 0; i < 3; i++) {
		container_of(services[i], &id, NULL, &running);
		assert_true(running);
		free(id);
	}
	c = label_of("app", "io.voxdeploy.commit");
	assert_string_equal(c, commit);
	free(c);
	c = label_of("worker", "com.docker.compose.project");
	assert_string_equal(c, project);
	free(c);
	conn = pg();
	r = PQexec(conn, "CREATE TABLE notes (id serial primary key, body text); "
			 "INSERT INTO notes (body) VALUES ('a'), ('b'), ('c')");
	assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
	PQclear(r);
	PQfinish(conn);
	assert_int_equal(pg_rows(), 3);
	/* the containers are compose's own: docker-compose ps lists them */
	{
		char cmd[1200], line[256];
		FILE *p;
		int n = 0;

		/* compose 1.29 knows no top-level name: a file with the same
		 * services is enough for it to find the project's containers */
		snprintf(cmd, sizeof(cmd),
			 "printf 'services:\\n  app: {image: x}\\n  postgres: {image: x}\\n"
			 "  worker: {image: x}\\n' > '%s.ps.yml' && "
			 "docker-compose -f '%s.ps.yml' -p %s ps -q 2>/dev/null; rm -f '%s.ps.yml'",
			 repo.dir, repo.dir, project, repo.dir);
		p = popen(cmd, "r");
		assert_non_null(p);
		while (fgets(line, sizeof(line), p))
			n++;
		pclose(p);
		assert_int_equal(n, 3);
	}
}

static void readme_edit_restarts_nothing(void **state)
{
	struct snap s;

	snap_take(&s);
	put("README.md", "# the stack\n\nmore words\n");
	commit_now();
	assert_int_equal(vd("deploy", NULL), 0);
	assert_true(has(err_text, "NO_RESTART"));
	assert_int_equal(recreated_since(&s), 0);
	snap_free(&s);
}

static void code_change_recreates_only_the_app(void **state)
{
	struct snap s;
	char *old_image, *new_image, *prev, *tagged, ref[200];

	snap_take(&s);
	snprintf(ref, sizeof(ref), "%s-app:latest", project);
	old_image = image_id(ref);
	/* this run's own content: BuildKit's cache outlives a run */
	put("src/version", "2 %s\n", project);
	commit_now();
	assert_int_equal(vd("deploy", NULL), 0);
	assert_true(has(err_text, "APP_ONLY"));
	/* built with BuildKit, its steps told: the unchanged COPYs cached */
	assert_true(has(err_text, "(BuildKit)"));
	assert_true(has(err_text, "COPY requirements.txt /app/requirements.txt CACHED"));
	assert_true(has(err_text, "COPY src/ /www/ DONE"));
	assert_int_equal(recreated_since(&s), APP);
	new_image = image_id(ref);
	assert_non_null(new_image);
	assert_string_not_equal(new_image, old_image);
	snprintf(ref, sizeof(ref), "%s-app:voxdeploy-previous", project);
	prev = image_id(ref);
	assert_string_equal(prev, old_image);
	snprintf(ref, sizeof(ref), "%s-app:voxdeploy-%.12s", project, commit);
	tagged = image_id(ref);
	assert_string_equal(tagged, new_image);
	free(old_image);
	free(new_image);
	free(prev);
	free(tagged);
	snap_free(&s);
}

static void prompts_change_recreates_only_the_app(void **state)
{
	struct snap s;
	char path[1024], *journal;

	snap_take(&s);
	put("prompts/greeting.txt", "hello again\n");
	commit_now();
	assert_int_equal(vd("deploy", NULL), 0);
	assert_true(has(err_text, "APP_ONLY"));
	assert_int_equal(recreated_since(&s), APP);
	/* the journal's build record keeps the step list */
	snprintf(path, sizeof(path), "%s/journal.jsonl", state_dir);
	journal = tu_read_file(path);
	assert_non_null(journal);
	assert_true(has(journal, "\"steps\":\"#1 "));
	assert_true(has(journal, "COPY prompts/ /www/prompts/: "));
	free(journal);
	snap_free(&s);
}

/* deploy.builder: classic builds with the classic builder (an engine's
 * BuildKit refused by its owner), and says so. */
static void classic_builder_when_configured(void **state)
{
	struct snap s;

	snap_take(&s);
	write_config_builder("classic");
	put("src/version", "classic %s\n", project);
	commit_now();
	assert_int_equal(vd("deploy", NULL), 0);
	assert_true(has(err_text, "(classic builder: deploy.builder: classic)"));
	assert_false(has(err_text, " CACHED"));
	assert_int_equal(recreated_since(&s), APP);
	write_config();
	commit_now();
	snap_free(&s);
}

static void requirements_change_recreates_all_and_keeps_rows(void **state)
{
	struct snap s;

	snap_take(&s);
	put("requirements.txt", "aiogram==3.5\n");
	commit_now();
	assert_int_equal(vd("deploy", NULL), 0);
	assert_true(has(err_text, "FULL_RESTART"));
	assert_int_equal(recreated_since(&s), APP | PG | WORKER);
	assert_int_equal(pg_rows(), 3);
	snap_free(&s);
}

static void compose_change_recreates_all_and_keeps_rows(void **state)
{
	struct snap s;

	snap_take(&s);
	write_stack("two");
	commit_now();
	assert_int_equal(vd("deploy", NULL), 0);
	assert_true(has(err_text, "FULL_RESTART"));
	assert_int_equal(recreated_since(&s), APP | PG | WORKER);
	assert_int_equal(pg_rows(), 3);
	/* the worker may run twice: its new container started (and proved
	 * healthy) before the old one stopped; the others stop first */
	{
		const char *start = strstr(err_text, "start      done    worker");
		const char *stop = strstr(err_text, "stop       begin   worker");
		const char *app_stop = strstr(err_text, "stop       begin   app");
		const char *app_start = strstr(err_text, "start      done    app");

		assert_non_null(start);
		assert_non_null(stop);
		assert_true(start < stop);
		assert_non_null(app_stop);
		assert_non_null(app_start);
		assert_true(app_stop < app_start);
	}
	snap_free(&s);
}

static void manual_types_override(void **state)
{
	struct snap s;

	snap_take(&s);
	put("src/version", "3\n");
	commit_now();
	assert_int_equal(vd("deploy", "--type", "no-restart", NULL), 0);
	assert_int_equal(recreated_since(&s), 0);
	snap_free(&s);

	snap_take(&s);
	put("README.md", "# docs only\n");
	commit_now();
	assert_int_equal(vd("deploy", "-v", "--type", "full", NULL), 0);
	assert_int_equal(recreated_since(&s), APP | PG | WORKER);
	assert_int_equal(pg_rows(), 3);
	/* recreated all the same, and the journal says which needed it */
	assert_true(has(err_text, "worker: " ));
	assert_true(has(err_text, "not needed: same image and configuration"));
	snap_free(&s);
}

static void dry_run_changes_nothing(void **state)
{
	struct snap s;

	snap_take(&s);
	put("src/version", "4\n");
	commit_now();
	assert_int_equal(vd("deploy", "--dry-run", NULL), 0);
	assert_true(has(err_text, "would"));
	assert_true(has(out_text, "would deploy"));
	assert_int_equal(recreated_since(&s), 0);
	snap_free(&s);
}

static void build_failure_touches_nothing(void **state)
{
	struct snap s;

	snap_take(&s);
	put("Dockerfile", "FROM nonexistent-image\nCOPY src/ /www/\n");
	commit_now();
	char *req = NULL;
	int before = tu_hook_last(&hook, &req);

	free(req);
	assert_int_equal(vd("deploy", NULL), 1);
	assert_true(has(err_text, "build"));
	assert_true(has(out_text, "FAILED"));
	assert_int_equal(recreated_since(&s), 0);
	/* the maintainers were told, with the webhook's own header */
	assert_int_equal(tu_hook_last(&hook, &req), before + 1);
	assert_true(has(req, "POST /hook"));
	assert_true(has(req, "Bearer hook-t0ken-marker"));
	assert_true(has(req, "\"result\":\"failed\""));
	assert_true(has(req, "nonexistent-image"));
	free(req);
	put("Dockerfile", dockerfile, itest_busybox_image());
	commit_now();
	snap_free(&s);
}

static void unhealthy_version_rolls_back(void **state)
{
	struct snap s;
	char ref[200], *before, *after;
	bool running;
	char *id;

	/* bring the good Dockerfile back first */
	assert_int_equal(vd("deploy", NULL), 0);
	snap_take(&s);
	snprintf(ref, sizeof(ref), "%s-app:latest", project);
	before = image_id(ref);
	repo_put(&repo, "src/health", NULL, 0);
	put("src/version", "broken\n");
	commit_now();
	assert_int_equal(vd("deploy", NULL), 1);
	assert_true(has(err_text, "rollback"));
	assert_true(has(out_text, "previous version runs and is healthy"));
	{
		char *req = NULL;

		assert_true(tu_hook_last(&hook, &req) > 0);
		assert_true(has(req, "\"result\":\"rolled_back\""));
		assert_true(has(req, "failing_probes"));
		assert_true(has(req, "HEALTHCHECK"));
		assert_null(strstr(req, "s3cret-pg"));
		free(req);
	}
	/* the same container as before runs again, from the same image */
	assert_int_equal(recreated_since(&s) & (PG | WORKER), 0);
	container_of("app", &id, NULL, &running);
	assert_string_equal(id, s.id[0]);
	assert_true(running);
	after = image_id(ref);
	assert_string_equal(after, before);
	assert_app_runs_its_reference();
	free(id);
	free(before);
	free(after);
	snap_free(&s);
}

static void crashing_version_rolls_back(void **state)
{
	struct snap s;
	char *id;
	bool running;

	put("src/health", "ok\n");
	put("start.sh", "echo crashing; echo 'DB_PASSWORD=s3cret-pg' >&2; echo on stderr >&2; exit 3\n");
	commit_now();
	snap_take(&s);
	assert_int_equal(vd("deploy", NULL), 1);
	container_of("app", &id, NULL, &running);
	assert_string_equal(id, s.id[0]);
	assert_true(running);
	free(id);
	/* the failed container is gone; what it said and how it ended are kept */
	{
		char **ids = NULL, *req = NULL;
		size_t n = 0, i;
		vd_evidence ev = VD_EVIDENCE_INIT;
		vd_error err = VD_ERROR_INIT;

		assert_int_equal(vd_evidence_list(state_dir, &ids, &n, &err), 0);
		assert_true(n >= 1);
		assert_int_equal(vd_evidence_load(state_dir, ids[0], &ev, &err), 0);
		assert_int_equal(ev.len, 1);
		assert_string_equal(ev.items[0].service, "app");
		assert_true(has(ev.items[0].log, "crashing\n"));
		assert_true(has(ev.items[0].log, "on stderr\n"));
		assert_null(strstr(ev.items[0].log, "s3cret-pg"));
		assert_non_null(ev.items[0].inspect);
		assert_true(has(ev.items[0].inspect, "\"ExitCode\":3"));
		assert_int_equal(vd("history", "-n", "0", NULL), 0);
		assert_true(has(out_text, "evidence"));
		assert_true(has(out_text, "exited 3"));
		assert_true(has(out_text, ids[0]));
		/* the maintainers got the last lines, redacted */
		assert_true(tu_hook_last(&hook, &req) > 0);
		assert_true(has(req, "\"logs\":[{\"service\":\"app\""));
		assert_true(has(req, "crashing"));
		assert_null(strstr(req, "s3cret-pg"));
		free(req);
		vd_evidence_release(&ev);
		for (i = 0; i < n; i++)
			free(ids[i]);
		free(ids);
	}
	put("start.sh", "exec httpd -f -p 8080 -h /www\n");
	commit_now();
	assert_int_equal(vd("deploy", NULL), 0);
	snap_free(&s);
}

/* How often needle is in the file (0 when it is not there yet). */
static int times_in(const char *path, const char *needle)
{
	char *text = tu_slurp(path), *p = text;
	int n = 0;

	while (p && (p = strstr(p, needle))) {
		n++;
		p += strlen(needle);
	}
	free(text);
	return n;
}

static bool wait_for(const char *path, const char *needle, int seconds)
{
	int i;

	for (i = 0; i < seconds * 20 && !times_in(path, needle); i++)
		usleep(50000);
	return times_in(path, needle) > 0;
}

/* `logs -f` started before a deploy follows the new container when it
 * takes the service's place, so a person watches the deploy: the old
 * version's lines once, then the new version's. */
static void logs_follow_across_a_deploy(void **state)
{
	char follow[320];
	const char *argv[] = { VD_BINARY, "-C", repo.dir, "--state-dir", state_dir, "logs", "-f", "app", NULL };
	struct tu_proc p = { argv, NULL, follow, follow, NULL, true };
	pid_t pid;

	snprintf(follow, sizeof(follow), "%s.follow", repo.dir);
	put("start.sh", "echo serving version $(cat /www/version); exec httpd -f -p 8080 -h /www\n");
	put("src/version", "follow-1\n");
	commit_now();
	assert_int_equal(vd("deploy", NULL), 0);
	pid = tu_spawn(&p);
	if (!wait_for(follow, "serving version follow-1", 20))
		fail_msg("logs -f did not show the running version: %s", tu_slurp(follow));
	put("src/version", "follow-2\n");
	commit_now();
	assert_int_equal(vd("deploy", NULL), 0);
	if (!wait_for(follow, "serving version follow-2", 30))
		fail_msg("logs -f did not follow the deploy: %s", tu_slurp(follow));
	kill(pid, SIGINT);
	tu_wait(pid, 10, "logs -f");
	/* compose's prefix, and no line twice */
	assert_int_equal(times_in(follow, "app | serving version follow-1"), 1);
	assert_int_equal(times_in(follow, "app | serving version follow-2"), 1);
	unlink(follow);
}

static void second_deploy_meets_the_lock(void **state)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/lock", state_dir);
	fd = open(path, O_RDWR | O_CREAT, 0644);
	assert_true(fd >= 0);
	assert_int_equal(flock(fd, LOCK_EX), 0);
	assert_int_equal(vd("deploy", NULL), 75);
	close(fd);
}

/* A freeze refuses every deploy and rollback with its message, changes
 * nothing, is not waited out, and unlock lifts it. */
static void freeze_holds_deploys_until_unlock(void **state)
{
	struct snap s;

	assert_int_equal(vd("lock", "--message", "release freeze: QA signs off Monday", "--actor", "ann",
			    NULL), 0);
	assert_true(has(out_text, "held"));
	put("src/version", "frozen\n");
	commit_now();
	snap_take(&s);
	assert_int_equal(vd("deploy", NULL), 75);
	assert_true(has(err_text, "QA signs off Monday"));
	assert_true(has(err_text, "by ann"));
	assert_true(has(err_text, "voxdeploy unlock"));
	assert_int_equal(vd("deploy", "--lock-wait", "10m", NULL), 75);
	assert_true(has(err_text, "QA signs off Monday"));
	assert_int_equal(vd("rollback", NULL), 75);
	assert_int_equal(recreated_since(&s), 0);
	assert_int_equal(vd("status", NULL), 0);
	assert_true(has(out_text, "deploys held since"));
	assert_true(has(out_text, "QA signs off Monday"));
	assert_int_equal(vd("unlock", NULL), 0);
	assert_true(has(out_text, "QA signs off Monday"));
	assert_int_equal(vd("unlock", NULL), 0);
	assert_true(has(out_text, "not held"));
	assert_int_equal(vd("deploy", NULL), 0);
	assert_true(recreated_since(&s) & APP);
	snap_free(&s);
}

/* Some process holds the lock and has written its record. */
static bool lock_held(void)
{
	char path[512], *text;
	bool held;

	snprintf(path, sizeof(path), "%s/lock", state_dir);
	text = tu_slurp(path);
	held = text && strstr(text, "\"pid\"");
	free(text);
	return held;
}

/* While a real deploy runs, a second one exits 75 at once; with
 * --lock-wait it waits, says for whom, and runs when the first ends. */
static void lock_wait_runs_after_the_running_deploy(void **state)
{
	pid_t first, waiter;
	int tries;

	put("src/version", "waited-for\n");
	commit_now();
	first = vd_start("deploy", NULL);
	for (tries = 0; tries < 12000 && !lock_held(); tries++)
		usleep(5000);
	assert_true(lock_held());
	second = true;
	assert_int_equal(vd("deploy", NULL), 75);
	assert_true(has(err_text, "another deploy holds the lock"));
	waiter = vd_start("deploy", "--lock-wait", "5m", NULL);
	second = false;
	assert_int_equal(vd_wait(first, "deploy"), 0);
	second = true;
	assert_int_equal(vd_wait(waiter, "deploy"), 0);
	second = false;
	assert_true(has(err_text, "waiting up to 5m0s for the lock"));
	assert_true(has(err_text, "the lock is ours"));
	assert_false(lock_held());
}

static void bad_input_changes_nothing(void **state)
{
	struct snap s;

	snap_take(&s);
	assert_int_equal(vd("deploy", "--type", "sideways", NULL), 2);
	assert_int_equal(vd("deploy", "--to", "no-such-revision", NULL), 2);
	assert_int_equal(vd("deploy", "--bogus", NULL), 2);
	put("docker-compose.yml", "services:\n  app:\n    build: .\n    bogus_key: 1\n");
	commit_now();
	assert_int_equal(vd("deploy", NULL), 2);
	assert_true(has(err_text, "bogus_key"));
	assert_int_equal(recreated_since(&s), 0);
	/* a Dockerfile the target does not have */
	app_build = "build: {context: ., dockerfile: Dockerfile.gone}";
	write_stack("two");
	app_build = "build: .";
	commit_now();
	assert_int_equal(vd("deploy", "--type", "app-only", NULL), 2);
	assert_true(has(err_text, "Dockerfile.gone does not exist"));
	assert_int_equal(recreated_since(&s), 0);
	/* replicas are a Swarm's: one engine runs one container per service */
	app_build = "build: .\n    deploy: {replicas: 2, update_config: {order: start-first}}";
	write_stack("two");
	app_build = "build: .";
	commit_now();
	assert_int_equal(vd("deploy", "--type", "app-only", NULL), 2);
	assert_true(has(err_text, "service 'app': deploy.replicas: 2: on one engine voxdeploy runs one "
			"container per service"));
	assert_int_equal(recreated_since(&s), 0);
	/* a variable the service needs and the environment lacks */
	put("docker-compose.yml", "name: %s\nservices:\n  app:\n    build: .\n    environment:\n"
	    "      TOKEN: ${VD_TEST_UNSET_TOKEN:?the bot needs its token}\n", project);
	commit_now();
	assert_int_equal(vd("deploy", "--type", "app-only", NULL), 2);
	assert_true(has(err_text, "the bot needs its token"));
	assert_int_equal(recreated_since(&s), 0);
	/* deploy.backend swarm on an engine in no swarm */
	write_stack("two");
	put("voxdeploy.yml", "deploy:\n  backend: swarm\n");
	commit_now();
	assert_int_equal(vd("deploy", "--type", "app-only", NULL), 2);
	assert_true(has(err_text, "deploy.backend is swarm, but this engine is in no swarm"));
	assert_int_equal(recreated_since(&s), 0);
	/* a broken voxdeploy.yml at the target */
	write_stack("two");
	put("voxdeploy.yml", "health:\n  deadlin: 5s\n");
	commit_now();
	assert_int_equal(vd("deploy", "--type", "app-only", NULL), 2);
	assert_true(has(err_text, "deadlin"));
	assert_int_equal(recreated_since(&s), 0);
	write_config();
	write_stack("two");
	commit_now();
	snap_free(&s);
}

static void history_tells_every_deploy(void **state)
{
	assert_int_equal(vd("history", "-n", "1000", "--json", NULL), 0);
	assert_true(has(out_text, "\"actor\":\"tester\""));
	assert_true(has(out_text, "\"rollback\""));
	/* no secret in the journal */
	assert_null(strstr(out_text, "s3cret-pg"));
	assert_null(strstr(err_text, "s3cret-pg"));
	assert_null(strstr(out_text, "hook-t0ken-marker"));
	assert_true(has(out_text, "\"step\":\"notify\""));
}

static char *app_image(void)
{
	vd_container_info info;
	vd_error err = VD_ERROR_INIT;
	char *name = cname("app"), *id;

	assert_int_equal(vd_container_inspect(itest_docker(), name, &info, &err), 0);
	id = strdup(info.image_id);
	vd_container_info_release(&info);
	free(name);
	return id;
}

/* The value of "key":"..." in the last JSON line of out_text. */
static char *json_field(const char *key)
{
	char pat[64], *p, *end;

	snprintf(pat, sizeof(pat), "\"%s\":\"", key);
	p = strstr(out_text, pat);
	assert_non_null(p);
	p += strlen(pat);
	end = strchr(p, '"');
	assert_non_null(end);
	return strndup(p, (size_t)(end - p));
}

static void rollback_to_retained_versions(void **state)
{
	char va[VD_SHA_HEX], *va_id, *img_a, *img_b, *img, ref[200];
	struct snap s;

	put("src/version", "A\n");
	commit_now();
	memcpy(va, commit, sizeof(va));
	assert_int_equal(vd("deploy", "--json", NULL), 0);
	va_id = json_field("deploy_id");
	img_a = app_image();
	put("src/version", "B\n");
	commit_now();
	assert_int_equal(vd("deploy", NULL), 0);
	img_b = app_image();
	assert_string_not_equal(img_a, img_b);

	/* an unknown version: exit 2, the retained ones listed, nothing changed */
	snap_take(&s);
	assert_int_equal(vd("rollback", "--to", "0123456789abcdef0123", NULL), 2);
	assert_true(has(err_text, "retained"));
	assert_true(has(err_text, "voxdeploy-previous"));
	assert_int_equal(vd("rollback", "--to", "29991231T000000Z-abcdef", NULL), 2);
	assert_int_equal(recreated_since(&s), 0);
	snap_free(&s);

	/* by commit */
	snap_take(&s);
	assert_int_equal(vd("rollback", "--to", va, "--actor", "tester", NULL), 0);
	img = app_image();
	assert_string_equal(img, img_a);
	free(img);
	assert_int_equal(recreated_since(&s), APP);
	assert_app_runs_its_reference();
	snap_free(&s);
	/* the previous one is B again */
	snprintf(ref, sizeof(ref), "%s-app:voxdeploy-previous", project);
	img = image_id(ref);
	assert_string_equal(img, img_b);
	free(img);
	assert_int_equal(vd("rollback", NULL), 0);
	img = app_image();
	assert_string_equal(img, img_b);
	free(img);
	/* by deploy id */
	assert_int_equal(vd("rollback", "--to", va_id, NULL), 0);
	img = app_image();
	assert_string_equal(img, img_a);
	free(img);
	/* the journal tells it */
	assert_int_equal(vd("history", "-n", "50", "--json", NULL), 0);
	assert_true(has(out_text, "\"step\":\"rollback\",\"state\":\"done\""));
	free(va_id);
	free(img_a);
	free(img_b);
}

/* No container a swap names while it works is left. */
static void assert_no_leftovers(void)
{
	vd_container_array list = { NULL, 0 };
	vd_error err = VD_ERROR_INIT;
	char label[200];
	const char *pairs[3] = { "label", label, NULL };
	size_t i;

	snprintf(label, sizeof(label), "com.docker.compose.project=%s", project);
	assert_int_equal(vd_container_list(itest_docker(), true, pairs, &list, &err), 0);
	for (i = 0; i < list.len; i++) {
		if (strstr(list.items[i].name, "-voxdeploy-"))
			fail_msg("left over: %s", list.items[i].name);
		if (strcmp(list.items[i].state, "running"))
			fail_msg("not running: %s (%s)", list.items[i].name, list.items[i].state);
	}
	vd_container_array_release(&list);
}

/* kill -9 at a step boundary, then recover: a healthy old or new version,
 * every service running, no rows lost; recover again finds nothing. */
static void kill_and_recover(const char *point, bool full)
{
	static int round;
	char *id;
	bool running;

	fprintf(stderr, "# kill -9 at %s (%s)\n", point, full ? "FULL_RESTART" : "APP_ONLY");
	put("src/version", "kill-%d\n", ++round);
	commit_now();
	fault = point;
	assert_int_equal(vd("deploy", "--type", full ? "full" : "auto", NULL), 128 + SIGKILL);
	fault = NULL;
	assert_int_equal(vd("recover", NULL), 0);
	if (!strstr(out_text, "completed") && !strstr(out_text, "restored"))
		fail_msg("recover did nothing after a kill at %s: %s", point, out_text);
	assert_no_leftovers();
	container_of("app", &id, NULL, &running);
	assert_true(running);
	free(id);
	assert_app_runs_its_reference();
	assert_int_equal(pg_rows(), 3);
	assert_int_equal(vd("recover", NULL), 0);
	assert_true(has(out_text, "nothing"));
}

static void killed_app_only_deploys_recover(void **state)
{
	static const char *const points[] = {
		"build:done:app", "tag:done:app", "create:done:app", "rename:done:app",
		"stop:begin:app", "stop:done:app", "start:done:app", "health:begin",
		"health:done", "cleanup:begin",
	};
	size_t i;

#ifndef VD_FAULT_INJECTION
	skip();
#endif
	for (i = 0; i < sizeof(points) / sizeof(points[0]); i++)
		kill_and_recover(points[i], false);
	/* and the next deploy goes through */
	assert_int_equal(vd("deploy", NULL), 0);
	assert_no_leftovers();
}

static void killed_full_restarts_recover(void **state)
{
	static const char *const points[] = {
		"rename:done:worker", "stop:done:postgres", "start:done:postgres",
		"depends_on:begin:app", "start:done:worker", "health:begin",
	};
	size_t i;

#ifndef VD_FAULT_INJECTION
	skip();
#endif
	for (i = 0; i < sizeof(points) / sizeof(points[0]); i++)
		kill_and_recover(points[i], true);
	assert_int_equal(vd("deploy", NULL), 0);
	assert_no_leftovers();
}

/* ------------------------------------------------------------------ an engine that goes away */

/* Relay one client to the engine's socket until either side closes. */
static void relay(int client, const char *engine)
{
	struct sockaddr_un a;
	struct pollfd p[2];
	char buf[65536];
	int up = socket(AF_UNIX, SOCK_STREAM, 0);

	memset(&a, 0, sizeof(a));
	a.sun_family = AF_UNIX;
	if (strlen(engine) >= sizeof(a.sun_path))
		_exit(1);
	memcpy(a.sun_path, engine, strlen(engine) + 1);
	if (connect(up, (struct sockaddr *)&a, sizeof(a)))
		_exit(1);
	p[0].fd = client;
	p[1].fd = up;
	p[0].events = p[1].events = POLLIN;
	for (;;) {
		int i;

		if (poll(p, 2, -1) < 0)
			_exit(1);
		for (i = 0; i < 2; i++)
			if (p[i].revents) {
				ssize_t n = read(p[i].fd, buf, sizeof(buf));

				if (n <= 0 || write(p[1 - i].fd, buf, (size_t)n) != n)
					_exit(0);
			}
	}
}

/* A unix-socket proxy to the engine in its own process group: killing the
 * group is the engine going away for whoever talks through it. */
static pid_t proxy_start(const char *path)
{
	struct sockaddr_un a;
	const char *host = getenv("DOCKER_HOST");
	const char *engine = host && !strncmp(host, "unix://", 7) ? host + 7 : "/var/run/docker.sock";
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	pid_t pid;

	unlink(path);
	memset(&a, 0, sizeof(a));
	a.sun_family = AF_UNIX;
	assert_true(strlen(path) < sizeof(a.sun_path));
	memcpy(a.sun_path, path, strlen(path) + 1);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(fd, 64), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		setpgid(0, 0);
		signal(SIGCHLD, SIG_IGN);
		for (;;) {
			int c = accept(fd, NULL, NULL);

			if (c < 0)
				continue;
			if (fork() == 0) {
				close(fd);
				relay(c, engine);
			}
			close(c);
		}
	}
	setpgid(pid, pid);
	close(fd);
	return pid;
}

static size_t count_in_journal(const char *needle)
{
	char path[400], *text, *p;
	size_t n = 0;

	snprintf(path, sizeof(path), "%s/journal.jsonl", state_dir);
	text = tu_slurp(path);
	for (p = text; (p = strstr(p, needle)); p++)
		n++;
	free(text);
	return n;
}

static void engine_gone_mid_deploy_then_recover(void **state)
{
	static const char needle[] = "\"step\":\"stop\",\"state\":\"done\",\"service\":\"app\"";
	char sock[400], host[420], *id;
	size_t before = count_in_journal(needle);
	int tries, rc;
	bool running, stopped;
	pid_t proxy, pid;

	snprintf(sock, sizeof(sock), "%s.engine", repo.dir);
	snprintf(host, sizeof(host), "unix://%s", sock);
	proxy = proxy_start(sock);
	put("src/version", "engine-gone\n");
	commit_now();
	docker_host = host;
	pid = vd_start("deploy", NULL);
	docker_host = NULL;
	/* the moment the old container has stopped, the engine goes away */
	for (tries = 0; tries < 6000 && count_in_journal(needle) == before; tries++)
		usleep(5000);
	stopped = count_in_journal(needle) > before;
	/* gone before anything is asserted: a proxy left behind would hold the
	 * test's output open */
	kill(-proxy, SIGKILL);
	waitpid(proxy, NULL, 0);
	assert_true(stopped);
	rc = vd_wait(pid, "deploy");
	/* a clear failure: the restore could not reach the engine either */
	assert_true(rc == 3 || rc == 1);
	assert_true(has(err_text, "engine") || has(out_text, "engine"));
	unlink(sock);
	/* the engine answers again: recover puts it right */
	assert_int_equal(vd("recover", NULL), 0);
	assert_no_leftovers();
	container_of("app", &id, NULL, &running);
	assert_true(running);
	free(id);
	assert_app_runs_its_reference();
	assert_int_equal(pg_rows(), 3);
	assert_int_equal(vd("deploy", NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(first_deploy_creates_everything),
		cmocka_unit_test(readme_edit_restarts_nothing),
		cmocka_unit_test(code_change_recreates_only_the_app),
		cmocka_unit_test(prompts_change_recreates_only_the_app),
		cmocka_unit_test(classic_builder_when_configured),
		cmocka_unit_test(requirements_change_recreates_all_and_keeps_rows),
		cmocka_unit_test(compose_change_recreates_all_and_keeps_rows),
		cmocka_unit_test(manual_types_override),
		cmocka_unit_test(dry_run_changes_nothing),
		cmocka_unit_test(build_failure_touches_nothing),
		cmocka_unit_test(unhealthy_version_rolls_back),
		cmocka_unit_test(crashing_version_rolls_back),
		cmocka_unit_test(logs_follow_across_a_deploy),
		cmocka_unit_test(second_deploy_meets_the_lock),
		cmocka_unit_test(freeze_holds_deploys_until_unlock),
		cmocka_unit_test(lock_wait_runs_after_the_running_deploy),
		cmocka_unit_test(bad_input_changes_nothing),
		cmocka_unit_test(history_tells_every_deploy),
		cmocka_unit_test(rollback_to_retained_versions),
		cmocka_unit_test(killed_app_only_deploys_recover),
		cmocka_unit_test(killed_full_restarts_recover),
		cmocka_unit_test(engine_gone_mid_deploy_then_recover),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
