/* Integration tests of the Swarm backend end to end: the real binary
 * deploys a real git repository's stack to a real swarm of three engines
 * (tests/swarm/cluster: a manager, two workers, a registry with htpasswd
 * auth).  The app is built on the manager, pushed, and runs as two replicas,
 * one per worker, each publishing its port in host mode; PostgreSQL is
 * pinned to the first worker by a placement constraint.
 *
 *   - the first deploy creates the stack: services <project>_app and
 *     <project>_postgres with the stack's labels, the app pinned by digest,
 *     its tasks running on both workers, answering HTTP there;
 *   - a code change is an APP_ONLY update of both replicas (PostgreSQL keeps
 *     its task), the new version answers on both workers;
 *   - a version whose HEALTHCHECK fails is rolled back on every node: the
 *     service's spec and tasks are the previous version's again;
 *   - with the registry down the push fails: exit 1, nothing changed;
 *   - a swarm of several nodes without deploy.registry is refused (exit 2);
 *   - a FULL_RESTART (a compose change) updates PostgreSQL too and its rows
 *     are kept (its named volume on the worker it is pinned to).
 * The cluster is removed at the end, pass or fail. */
#include "itest.h"
#include "itest_swarm.h"
#include "common/buf.h"
#include "common/json.h"
#include "controller/model/spec.h"
#include "controller/model/stack.h"
#include "docker_api/container.h"
#include "docker_api/logs.h"
#include "docker_api/network.h"
#include "docker_api/swarm.h"
#include "gitrepo.h"
#include "testutil.h"

#include <curl/curl.h>
#include <signal.h>
#include <sys/wait.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct {
	struct itest_swarm s;
	char w1_ip[64], w2_ip[64];
	vd_docker *m;
} c;

static struct repo repo;
static char project[64], state_dir[300];
/* every request a deploy's notification sends */
static tu_hook hook = TU_HOOK_INIT;
/* what a case leaves in /tmp when it fails half-way: removed at the end */
static char model_dir[256];
static char out[65536];

/* ------------------------------------------------------------------ the cluster */

/* ------------------------------------------------------------------ the project */

#define put(...) repo_putf(&repo, __VA_ARGS__)

static char commit[VD_SHA_HEX];
/* the dump the status case takes, which the killed-restore case uses */
static char dump_id[128];
/* the commits of the deploys that brought versions 2 and 3 */
static char commit_v2[VD_SHA_HEX], commit_v3[VD_SHA_HEX];

static void commit_now(void)
{
	repo_commit(&repo, commit);
}

/* The app reached only over the stack's overlay network (no published
 * port, so a new task can start beside the old one), updated start-first:
 * the start-first case's stack. */
static bool start_first;

static void write_stack(const char *extra_app_env)
{
	put("Dockerfile", "FROM %s\nCOPY src /www\nCMD [\"httpd\", \"-f\", \"-p\", \"8080\", \"-h\", \"/www\"]\n",
	    itest_busybox_image());
	put("src/health", "ok\n");
	put("README.md", "# the stack\n");
	put("docker-compose.yml",
	    "name: %s\n"
	    "services:\n"
	    "  app:\n"
	    "    build: .\n"
	    "    environment: {MODE: \"%s\"}\n"
	    "    stop_grace_period: 1s\n"
	    "    healthcheck:\n"
	    "      test: [\"CMD\", \"wget\", \"-q\", \"-O\", \"/dev/null\", \"http://127.0.0.1:8080/health\"]\n"
	    "      interval: 1s\n"
	    "      timeout: 3s\n"
	    "      retries: 3\n"
	    "%s"
	    "    depends_on: {postgres: {condition: service_healthy}}\n"
	    "    deploy:\n"
	    "      replicas: 2\n"
	    "      endpoint_mode: dnsrr\n"
	    "      placement: {constraints: [node.role==worker]%s}\n"
	    "      update_config: {monitor: 1s, failure_action: pause%s}\n"
	    "  postgres:\n"
	    "    image: %s\n"
	    "    environment:\n"
	    "      POSTGRES_USER: vd\n"
	    "      POSTGRES_PASSWORD: ${DB_PASSWORD}\n"
	    "      POSTGRES_DB: vd\n"
	    "    volumes: [pgdata:/var/lib/postgresql/data]\n"
	    "    ports: [{target: 5432, published: 15432, mode: host}]\n"
	    "    healthcheck:\n"
	    "      test: [\"CMD\", \"pg_isready\", \"-U\", \"vd\", \"-h\", \"127.0.0.1\"]\n"
	    "      interval: 1s\n"
	    "      timeout: 3s\n"
	    "      retries: 30\n"
	    "    deploy:\n"
	    "      endpoint_mode: dnsrr\n"
	    "      placement: {constraints: [node.hostname==%s-w1]}\n"
	    "volumes:\n"
	    "  pgdata: {}\n",
	    project, extra_app_env,
	    start_first ? "" : "    ports: [{target: 8080, published: 18080, mode: host}]\n",
	    start_first ? "" : ", max_replicas_per_node: 1", start_first ? ", order: start-first" : "",
	    itest_postgres_image(), c.s.prefix);
}

static const char *deadline = "120s";

/* deploy.release's command (YAML flow list) for the release case, or NULL */
static const char *release_cmd;

static void write_config(bool with_registry)
{
	char http[320] = "", registry[256] = "", release[256] = "";

	/* the app's port on each worker (none on the start-first stack) */
	if (!start_first)
		snprintf(http, sizeof(http),
			 "  http:\n"
			 "    - {name: web1, service: app, url: \"http://%s:18080/health\", expect_status: [200]}\n"
			 "    - {name: web2, service: app, url: \"http://%s:18080/health\", expect_status: [200]}\n",
			 c.w1_ip, c.w2_ip);
	if (release_cmd)
		snprintf(release, sizeof(release),
			 "  release: {service: app, command: %s, timeout: 60s, on: [app_only, full_restart]}\n",
			 release_cmd);
	if (with_registry)
		snprintf(registry, sizeof(registry),
			 "  registry: {address: \"%s\", username: vdtest, password: \"${REGISTRY_PASSWORD}\"}\n",
			 c.s.registry);
	put("voxdeploy.yml",
	    "health:\n"
	    "  deadline: %s\n"
	    "  stable_for: 2s\n"
	    "  postgres:\n"
	    "    - name: db\n"
	    "      service: postgres\n"
	    "      conninfo: \"host=%s port=15432 user=vd password=${DB_PASSWORD} dbname=vd\"\n"
	    "%s"
	    "notify:\n"
	    "  on_success: true\n"
	    "  timeout: 10s\n"
	    "  webhook: [{url: \"http://127.0.0.1:%u/hook\"}]\n"
	    "deploy:\n"
	    "  backend: swarm\n"
	    "%s%s",
	    deadline, c.w1_ip, http, (unsigned)hook.port, registry, release);
}

/* The binary against the manager: its exit code, its output in out. */
static int vd(const char *args)
{
	char line[1024];
	int rc;

	snprintf(line, sizeof(line), "-H %s --state-dir %s %s", c.s.manager, state_dir, args);
	rc = itest_run(repo.dir, line, out, sizeof(out));
	if (getenv("VD_TEST_VERBOSE"))
		fprintf(stderr, "--- %s (exit %d)\n%s", args, rc, out);
	return rc;
}

static bool has(const char *needle)
{
	if (strstr(out, needle))
		return true;
	fprintf(stderr, "no '%s' in the output:\n%s\n", needle, out);
	return false;
}

/* ------------------------------------------------------------------ what runs */

static size_t write_body(char *data, size_t size, size_t n, void *ctx)
{
	vd_buf_put(ctx, data, size * n);
	return size * n;
}

/* GET url: the body ("" when no answer within 5 s); caller frees. */
static char *http_get(const char *url)
{
	CURL *h = curl_easy_init();
	vd_buf b = VD_BUF_INIT;
	char *s;

	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 5000L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
	curl_easy_perform(h);
	curl_easy_cleanup(h);
	s = strdup(vd_buf_cstr(&b));
	vd_buf_release(&b);
	return s;
}

static void assert_version_on_both(const char *want)
{
	const char *ips[2] = { c.w1_ip, c.w2_ip };
	char url[128], *body;
	int i;

	for (i = 0; i < 2; i++) {
		snprintf(url, sizeof(url), "http://%s:18080/version", ips[i]);
		body = http_get(url);
		if (strcmp(body, want))
			fail_msg("%s answers '%s', not '%s'", url, body, want);
		free(body);
	}
}

static void service_of(const char *svc, vd_service_info *info)
{
	vd_error err = VD_ERROR_INIT;
	char *name = NULL;

	assert_true(asprintf(&name, "%s_%s", project, svc) > 0);
	memset(info, 0, sizeof(*info));
	itest_ok(vd_service_inspect(c.m, name, info, &err), &err);
	free(name);
}

/* The nodes (ids) of the service's running tasks, "" separated by spaces. */
static int running_tasks(const vd_service_info *svc, vd_buf *nodes)
{
	vd_task_array tasks = { NULL, 0 };
	vd_error err = VD_ERROR_INIT;
	size_t i;
	int n = 0;

	itest_ok(vd_task_list(c.m, svc->id, &tasks, &err), &err);
	for (i = 0; i < tasks.len; i++)
		if (!strcmp(tasks.items[i].desired_state, "running") && !strcmp(tasks.items[i].state, "running") &&
		    tasks.items[i].image && !strcmp(tasks.items[i].image, svc->image)) {
			n++;
			if (nodes)
				vd_buf_printf(nodes, "%s ", tasks.items[i].node_id);
		}
	vd_task_array_release(&tasks);
	return n;
}

static void pg_exec(const char *sql)
{
	char conninfo[256];
	PGconn *conn;
	PGresult *r;

	snprintf(conninfo, sizeof(conninfo), "host=%s port=15432 user=vd password=s3cret-pg dbname=vd "
		 "connect_timeout=5", c.w1_ip);
	conn = PQconnectdb(conninfo);
	r = PQexec(conn, sql);
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		fail_msg("%s: %s", sql, PQerrorMessage(conn));
	PQclear(r);
	PQfinish(conn);
}

static long pg_rows(void)
{
	char conninfo[256];
	PGconn *conn;
	PGresult *r;
	long n = -1;

	snprintf(conninfo, sizeof(conninfo), "host=%s port=15432 user=vd password=s3cret-pg dbname=vd "
		 "connect_timeout=5", c.w1_ip);
	conn = PQconnectdb(conninfo);
	r = PQexec(conn, "SELECT count(*) FROM notes");
	if (PQresultStatus(r) == PGRES_TUPLES_OK)
		n = atol(PQgetvalue(r, 0, 0));
	PQclear(r);
	PQfinish(conn);
	return n;
}

/* ------------------------------------------------------------------ set-up */

static int group_setup(void **state)
{
	vd_error err = VD_ERROR_INIT;

	(void)state;
	if (itest_swarm_up(&c.s, "vdst"))
		return -1;
	itest_swarm_node_ip(&c.s, "w1", c.w1_ip, sizeof(c.w1_ip));
	itest_swarm_node_ip(&c.s, "w2", c.w2_ip, sizeof(c.w2_ip));
	if (!c.w1_ip[0] || !c.w2_ip[0] || vd_docker_new(&c.m, c.s.manager, &err)) {
		fprintf(stderr, "it_stack: the nodes' addresses or the manager: %s\n", vd_error_msg(&err));
		return -1;
	}
	snprintf(project, sizeof(project), "%s", itest_project());
	tu_hook_start(&hook);
	repo_init(&repo);
	snprintf(state_dir, sizeof(state_dir), "%s/.state", repo.dir);
	put(".gitignore", ".env\n.state/\n");
	write_config(true);
	write_stack("one");
	put("src/version", "1");
	commit_now();
	tu_write_fmt(repo.dir, ".env", "DB_PASSWORD=s3cret-pg\nREGISTRY_PASSWORD=%s\n", c.s.password);
	return 0;
}

static int group_teardown(void **state)
{
	static const char *const left[] = { ".killed", ".stopped", ".serve" };
	char path[320];
	size_t i;

	if (model_dir[0])
		tu_rm_rf(model_dir);
	for (i = 0; repo.r && i < sizeof(left) / sizeof(left[0]); i++) {
		snprintf(path, sizeof(path), "%s%s", repo.dir, left[i]);
		unlink(path);
	}
	if (repo.r)
		repo_free(&repo);
	vd_docker_free(c.m);
	itest_swarm_down(&c.s);
	tu_hook_stop(&hook);
	return itest_group_teardown(state);
}


/* ------------------------------------------------------------------ the model against docker stack deploy */

/* A compose file with much of what a stack carries; the images are the
 * fixtures every node has. */
static const char MODEL[] =
	"version: \"3.8\"\n"
	"services:\n"
	"  web:\n"
	"    image: @BUSYBOX@\n"
	"    command: [\"sh\", \"-c\", \"sleep 100000\"]\n"
	"    entrypoint: [\"/bin/env\"]\n"
	"    environment: {ZED: last, ALPHA: first}\n"
	"    labels: {team: bots}\n"
	"    user: \"0\"\n"
	"    working_dir: /tmp\n"
	"    hostname: web1\n"
	"    extra_hosts: [\"db.local:10.0.0.5\"]\n"
	"    dns: [10.0.0.53]\n"
	"    init: true\n"
	"    stop_grace_period: 3s\n"
	"    stop_signal: SIGINT\n"
	"    cap_add: [NET_ADMIN]\n"
	"    ulimits: {nproc: 1000, nofile: {soft: 1000, hard: 2000}}\n"
	"    restart: on-failure:3\n"
	"    healthcheck: {test: \"true\", interval: 2s, timeout: 1s, retries: 3, start_period: 1s}\n"
	"    logging: {driver: json-file, options: {max-size: 10m}}\n"
	"    ports: [\"18081:80\", {target: 443, published: 18443, mode: host}]\n"
	"    volumes: [\"data:/data\", \"/tmp:/hosttmp:ro\", {type: tmpfs, target: /scratch, tmpfs: {size: 1024}}]\n"
	"    networks: {front: {aliases: [www]}, back: {}}\n"
	"    deploy:\n"
	"      replicas: 0\n"
	"      labels: {tier: edge}\n"
	"      placement: {constraints: [\"node.role==worker\"], preferences: [{spread: node.id}], "
	"max_replicas_per_node: 1}\n"
	"      resources: {limits: {cpus: \"0.5\", memory: 64M}, reservations: {memory: 32M}}\n"
	"      update_config: {parallelism: 2, delay: 1s, monitor: 3s, failure_action: pause, order: "
	"start-first, max_failure_ratio: 0.5}\n"
	"      rollback_config: {parallelism: 1}\n"
	"  db:\n"
	"    image: @POSTGRES@\n"
	"    environment: [POSTGRES_PASSWORD=x]\n"
	"    deploy:\n"
	"      mode: global\n"
	"      endpoint_mode: dnsrr\n"
	"      restart_policy: {condition: on-failure, delay: 2s, max_attempts: 2, window: 1m}\n"
	"volumes:\n"
	"  data: {labels: {keep: \"yes\"}}\n"
	"networks:\n"
	"  front: {labels: {side: front}}\n"
	"  back: {driver_opts: {encrypted: \"\"}}\n";

/* text with @BUSYBOX@ and @POSTGRES@ replaced by the fixture images
 * (caller frees). */
static char *with_images(const char *text)
{
	vd_buf b = VD_BUF_INIT;
	const char *p = text, *at;
	char *s;

	while ((at = strchr(p, '@'))) {
		vd_buf_put(&b, p, (size_t)(at - p));
		if (!strncmp(at, "@BUSYBOX@", 9)) {
			vd_buf_puts(&b, itest_busybox_image());
			p = at + 9;
		} else if (!strncmp(at, "@POSTGRES@", 10)) {
			vd_buf_puts(&b, itest_postgres_image());
			p = at + 10;
		} else {
			vd_buf_putc(&b, '@');
			p = at + 1;
		}
	}
	vd_buf_puts(&b, p);
	s = strdup(vd_buf_cstr(&b));
	vd_buf_release(&b);
	return s;
}

/* The Spec the swarm stores for a service, as JSON (caller frees). */
static char *stored_spec(const char *name)
{
	vd_service_info info;
	vd_error err = VD_ERROR_INIT;
	vd_buf b = VD_BUF_INIT;
	yajl_gen g = vd_jgen_new();
	char *s;

	memset(&info, 0, sizeof(info));
	itest_ok(vd_service_inspect(c.m, name, &info, &err), &err);
	vd_jgen_value(g, vd_json_get(info.raw, "Spec"));
	assert_int_equal(vd_jgen_finish(g, &b), 0);
	s = strdup(vd_buf_cstr(&b));
	vd_buf_release(&b);
	vd_service_info_release(&info);
	return s;
}

static void stack__model_as_docker_stack_deploy_makes_it(void **state)
{
	static const char *const svcs[] = { "web", "db" };
	char *dir = tu_mkdtemp("vd-stack-model"), *text = NULL, *mine[2], *theirs[2], cmd[1024], name[96];
	vd_compose_source src;
	vd_compose_options co = { dir, "vdmodel", NULL, NULL };
	vd_compose *m = NULL;
	vd_error err = VD_ERROR_INIT;
	vd_buf body = VD_BUF_INIT;
	char *id = NULL;
	size_t i;

	(void)state;
	snprintf(model_dir, sizeof(model_dir), "%s", dir);
	text = with_images(MODEL);
	src.filename = "docker-compose.yml";
	src.text = text;
	src.len = strlen(text);
	itest_ok(vd_compose_load(&src, 1, &co, &m, &err), &err);
	itest_ok(vd_stack_check(m, &err), &err);
	/* voxdeploy's: the networks, then each service */
	for (i = 0; i < m->n_networks; i++) {
		if (!vd_spec_network_used(m, m->networks[i].key))
			continue;
		vd_buf_clear(&body);
		itest_ok(vd_stack_network(m, &m->networks[i], &body, &err), &err);
		itest_ok(vd_network_create(c.m, vd_buf_cstr(&body), &id, &err), &err);
		free(id);
	}
	for (i = 0; i < 2; i++) {
		vd_buf_clear(&body);
		itest_ok(vd_stack_service_spec(m, vd_compose_service_find(m, svcs[i]), NULL, &body, &err), &err);
		itest_ok(vd_service_create(c.m, vd_buf_cstr(&body), NULL, &id, &err), &err);
		free(id);
		snprintf(name, sizeof(name), "vdmodel_%s", svcs[i]);
		mine[i] = stored_spec(name);
		itest_ok(vd_service_remove(c.m, name, &err), &err);
	}
	/* docker stack deploy's, by the manager's own CLI, of the same file */
	tu_write_str(dir, "docker-compose.yml", text);
	snprintf(cmd, sizeof(cmd), "docker exec -i %s-m1 sh -c 'cat > /tmp/model.yml' < %s/docker-compose.yml && "
		 "docker exec %s-m1 docker stack deploy -c /tmp/model.yml vdmodel >/dev/null 2>&1",
		 c.s.prefix, dir, c.s.prefix);
	assert_int_equal(system(cmd), 0);
	for (i = 0; i < 2; i++) {
		snprintf(name, sizeof(name), "vdmodel_%s", svcs[i]);
		theirs[i] = stored_spec(name);
		if (strcmp(mine[i], theirs[i])) {
			fprintf(stderr, "%s differs from docker stack deploy's\n mine:   %s\n theirs: %s\n", name,
				mine[i], theirs[i]);
			fail_msg("%s differs from docker stack deploy's", name);
		}
		free(mine[i]);
		free(theirs[i]);
	}
	snprintf(cmd, sizeof(cmd), "docker exec %s-m1 docker stack rm vdmodel >/dev/null 2>&1", c.s.prefix);
	assert_int_equal(system(cmd), 0);
	vd_buf_release(&body);
	vd_compose_free(m);
	free(text);
	tu_rm_rf(dir);
	free(dir);
}

/* ------------------------------------------------------------------ the cases */

static void stack__first_deploy_creates_the_stack(void **state)
{
	vd_service_info app, pg;
	vd_buf nodes = VD_BUF_INIT;
	PGconn *conn;
	PGresult *r;
	char conninfo[256];

	(void)state;
	assert_int_equal(vd("deploy --actor tester"), 0);
	assert_true(has("FULL_RESTART"));
	assert_true(has("push"));
	assert_true(has("converge"));
	assert_null(strstr(out, c.s.password));
	service_of("app", &app);
	service_of("postgres", &pg);
	/* a stack's services, as docker stack services sees them */
	assert_string_equal(vd_kvs_get(&app.labels, VD_STACK_NAMESPACE_LABEL), project);
	assert_string_equal(vd_kvs_get(&app.labels, "io.voxdeploy.commit"), commit);
	/* the built image from the registry, pinned by digest */
	assert_non_null(strstr(app.image, c.s.registry));
	assert_non_null(strstr(app.image, "@sha256:"));
	/* one replica on each worker */
	assert_int_equal(running_tasks(&app, &nodes), 2);
	assert_int_equal(running_tasks(&pg, NULL), 1);
	assert_version_on_both("1");
	/* status lists the stack's services, their replicas and tasks' nodes */
	assert_int_equal(vd("status"), 0);
	assert_true(has("2/2 running"));
	assert_true(has("1/1 running"));
	assert_true(has("-w1"));
	assert_true(has("-w2"));
	assert_int_equal(vd("status --json"), 0);
	assert_true(has("\"backend\":\"swarm\""));
	assert_true(has("\"service\":\"app\""));
	/* health reports per service across the nodes */
	assert_int_equal(vd("health"), 0);
	assert_true(has("2/2 tasks running on"));
	assert_true(has("web2"));
	snprintf(conninfo, sizeof(conninfo), "host=%s port=15432 user=vd password=s3cret-pg dbname=vd",
		 c.w1_ip);
	conn = PQconnectdb(conninfo);
	r = PQexec(conn, "CREATE TABLE notes (id serial primary key, body text); "
			 "INSERT INTO notes (body) VALUES ('a'), ('b'), ('c')");
	assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
	PQclear(r);
	PQfinish(conn);
	vd_buf_release(&nodes);
	vd_service_info_release(&app);
	vd_service_info_release(&pg);
}

static void stack__code_change_updates_the_app_on_both_nodes(void **state)
{
	vd_service_info app, pg, app2, pg2;
	char want[256], *req = NULL;

	(void)state;
	service_of("app", &app);
	service_of("postgres", &pg);
	put("src/version", "2");
	commit_now();
	snprintf(commit_v2, sizeof(commit_v2), "%s", commit);
	assert_int_equal(vd("deploy"), 0);
	assert_true(has("APP_ONLY"));
	service_of("app", &app2);
	service_of("postgres", &pg2);
	assert_true(app2.version > app.version);
	assert_string_not_equal(app2.image, app.image);
	/* PostgreSQL was not touched */
	assert_int_equal(pg2.version, pg.version);
	assert_int_equal(running_tasks(&app2, NULL), 2);
	assert_version_on_both("2");
	assert_int_equal(pg_rows(), 3);
	/* the maintainers are told where the app runs now: on both workers */
	assert_true(tu_hook_last(&hook, &req) > 0);
	snprintf(want, sizeof(want), "\"nodes\":[{\"node\":\"%s-w1\",\"services\":[\"app\"]},"
		 "{\"node\":\"%s-w2\",\"services\":[\"app\"]}]", c.s.prefix, c.s.prefix);
	if (!strstr(req, want))
		fail_msg("no %s in the notification:\n%s", want, req);
	assert_non_null(strstr(req, "\"result\":\"done\""));
	free(req);
	vd_service_info_release(&app);
	vd_service_info_release(&pg);
	vd_service_info_release(&app2);
	vd_service_info_release(&pg2);
}

/* No dump's helper container is left on the manager. */
static void assert_no_dump_helper(void)
{
	const char *pairs[] = { "label", "io.voxdeploy.dump", NULL };
	vd_container_array list = { NULL, 0 };
	vd_error err = VD_ERROR_INIT;

	if (vd_container_list(c.m, true, pairs, &list, &err))
		fail_msg("list containers: %s", vd_error_msg(&err));
	if (list.len)
		fail_msg("a dump's helper is left: %s", list.items[0].name);
	vd_container_array_release(&list);
}

/* The first "id" of `backup --json`'s answer. */
static void dump_id_of(const char *json, char *id, size_t size)
{
	const char *p = strstr(json, "\"id\":\"");

	assert_non_null(p);
	p += 6;
	snprintf(id, size, "%.*s", (int)strcspn(p, "\""), p);
}

/* Dump id in the state directory: a custom-format dump (PGDMP) whose table
 * of contents names the notes table; no helper left behind. */
static void assert_dump_holds_notes(const char *id)
{
	static char data[1 << 20];
	char path[512];
	size_t i, len;
	bool notes = false;
	FILE *f;

	snprintf(path, sizeof(path), "%s/backups/%s.dump", state_dir, id);
	assert_non_null(f = fopen(path, "rb"));
	len = fread(data, 1, sizeof(data), f);
	fclose(f);
	assert_true(len > 5 && !memcmp(data, "PGDMP", 5));
	for (i = 0; i + 5 <= len && !notes; i++)
		notes = !memcmp(data + i, "notes", 5);
	assert_true(notes);
	assert_no_dump_helper();
}

/* status --json and serve (its report and /metrics) name each node and what
 * of the stack runs there: PostgreSQL and one app replica on w1, the other
 * replica on w2, nothing on the manager. */
static void stack__nodes_in_status_and_metrics(void **state)
{
	const char *argv[] = { VD_BINARY, "-C", repo.dir, "-H", c.s.manager, "--state-dir", state_dir,
			       "serve", "--listen", "127.0.0.1:0", NULL };
	char path[320], want[256], id[128], *text, *p;
	struct tu_proc proc = { argv, NULL, path, NULL, NULL, true };
	vd_service_info app, again;
	vd_buf body = VD_BUF_INIT;
	uint16_t port = 0;
	pid_t pid;

	(void)state;
	assert_int_equal(vd("status --json"), 0);
	snprintf(want, sizeof(want), "{\"node\":\"%s-w1\",", c.s.prefix);
	assert_true(has(want));
	assert_true(has("\"running\":{\"app\":1,\"postgres\":1}"));
	assert_true(has("\"running\":{\"app\":1}}"));
	assert_true(has("\"role\":\"manager\""));
	/* a dump: pg_dump in a helper on the manager reaches PostgreSQL on w1 */
	assert_int_equal(vd("backup --json"), 0);
	assert_true(has("\"service\":\"postgres\""));
	dump_id_of(out, id, sizeof(id));
	assert_dump_holds_notes(id);
	snprintf(dump_id, sizeof(dump_id), "%s", id);
	/* a restore: the app's 2 replicas scaled to 0 around it (pg_restore in
	 * the helper), then its spec again; the row written after the dump is
	 * gone */
	pg_exec("INSERT INTO notes (body) VALUES ('after the dump')");
	assert_int_equal(pg_rows(), 4);
	snprintf(want, sizeof(want), "restore %s --yes", id);
	assert_int_equal(vd(want), 0);
	assert_true(has("app: scale to 0 (from 2)"));
	assert_true(has("restore_db done"));
	assert_int_equal(pg_rows(), 3);
	assert_no_dump_helper();
	service_of("app", &app);
	assert_int_equal(app.replicas, 2);
	assert_int_equal(running_tasks(&app, NULL), 2);
	assert_null(vd_kvs_get(&app.labels, "io.voxdeploy.restore"));
	assert_string_equal(vd_json_str(vd_json_at(app.raw, "PreviousSpec", "Labels", (char *)NULL),
					"io.voxdeploy.restore"), id);
	assert_version_on_both("2");
	/* the swarm's previous spec is now the scale-down: rollback refuses it */
	assert_int_equal(vd("rollback"), 2);
	assert_true(has("scale-down of `voxdeploy restore"));
	service_of("app", &again);
	assert_int_equal(again.version, app.version);
	vd_service_info_release(&app);
	vd_service_info_release(&again);
	/* serve: the report carries the nodes, /metrics a series per node */
	snprintf(path, sizeof(path), "%s.serve", repo.dir);
	proc.err = path;
	pid = tu_spawn(&proc);
	text = tu_wait_for_text(path, "(port ", 60000);
	if ((p = strstr(text, "(port ")))
		port = (uint16_t)atoi(p + 6);
	free(text);
	assert_true(port > 0);
	assert_int_equal(tu_http_request(port, "GET", "/v1/report?fresh=1", NULL, 60, &body), 200);
	assert_non_null(strstr(vd_buf_cstr(&body), "\"nodes\":["));
	vd_buf_clear(&body);
	assert_int_equal(tu_http_request(port, "GET", "/metrics", NULL, 60, &body), 200);
	snprintf(want, sizeof(want), "voxdeploy_tasks_running{node=\"%s-w1\",service=\"postgres\"} 1\n",
		 c.s.prefix);
	if (!strstr(vd_buf_cstr(&body), want))
		fail_msg("no %s in /metrics:\n%s", want, vd_buf_cstr(&body));
	snprintf(want, sizeof(want), "voxdeploy_tasks_running{node=\"%s-w2\",service=\"app\"} 1\n", c.s.prefix);
	assert_non_null(strstr(vd_buf_cstr(&body), want));
	snprintf(want, sizeof(want), "voxdeploy_node_ready{node=\"%s-w2\",role=\"worker\"} 1\n", c.s.prefix);
	assert_non_null(strstr(vd_buf_cstr(&body), want));
	kill(pid, SIGTERM);
	tu_wait(pid, 30, "serve");
	vd_buf_release(&body);
	unlink(path);
}

static void stack__broken_version_rolled_back_on_every_node(void **state)
{
	vd_service_info before, after;

	(void)state;
	service_of("app", &before);
	repo_put(&repo, "src/health", NULL, 0);
	put("src/version", "broken");
	commit_now();
	assert_int_equal(vd("deploy"), 1);
	assert_true(has("update paused"));
	assert_true(has("restore    done    app"));
	assert_true(has("the previous version runs and is healthy"));
	service_of("app", &after);
	/* the previous spec again, its tasks running on both workers */
	assert_string_equal(after.image, before.image);
	assert_int_equal(running_tasks(&after, NULL), 2);
	assert_version_on_both("2");
	vd_service_info_release(&before);
	vd_service_info_release(&after);
	put("src/health", "ok\n");
	put("src/version", "3");
	commit_now();
}

static void stack__registry_down_changes_nothing(void **state)
{
	vd_service_info before, after;
	char cmd[256];

	(void)state;
	service_of("app", &before);
	snprintf(cmd, sizeof(cmd), "docker stop -t 1 %s-reg >/dev/null", c.s.prefix);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(vd("deploy"), 1);
	assert_true(has("push"));
	service_of("app", &after);
	assert_int_equal(after.version, before.version);
	assert_string_equal(after.image, before.image);
	snprintf(cmd, sizeof(cmd), "docker start %s-reg >/dev/null", c.s.prefix);
	assert_int_equal(system(cmd), 0);
	vd_service_info_release(&before);
	vd_service_info_release(&after);
}

static void stack__several_nodes_need_a_registry(void **state)
{
	(void)state;
	write_config(false);
	commit_now();
	assert_int_equal(vd("deploy --type app-only"), 2);
	assert_true(has("deploy.registry"));
	write_config(true);
	commit_now();
}

static void stack__full_restart_keeps_the_rows(void **state)
{
	vd_service_info pg, pg2, app;

	(void)state;
	service_of("postgres", &pg);
	write_stack("two");
	commit_now();
	snprintf(commit_v3, sizeof(commit_v3), "%s", commit);
	/* a dump that fails (pg_dump refused: the wrong password) ends the
	 * deploy before any service changes, and says why without the password */
	setenv("DB_PASSWORD", "not-the-pg-password", 1);
	assert_int_equal(vd("deploy"), 1);
	unsetenv("DB_PASSWORD");
	assert_true(has("dump of postgres"));
	assert_true(has("nothing was changed"));
	assert_null(strstr(out, "not-the-pg-password"));
	assert_no_dump_helper();
	service_of("postgres", &pg2);
	assert_int_equal(pg2.version, pg.version);
	vd_service_info_release(&pg2);
	assert_int_equal(vd("deploy"), 0);
	assert_true(has("FULL_RESTART"));
	/* the database was dumped before the deploy changed a service */
	assert_true(has("backup     done    postgres"));
	assert_no_dump_helper();
	service_of("postgres", &pg2);
	service_of("app", &app);
	assert_true(pg2.version > pg.version);
	assert_int_equal(running_tasks(&pg2, NULL), 1);
	assert_int_equal(running_tasks(&app, NULL), 2);
	assert_int_equal(pg_rows(), 3);
	assert_version_on_both("3");
	vd_service_info_release(&pg);
	vd_service_info_release(&pg2);
	vd_service_info_release(&app);
}


/* `deploy` started in the background (its output into outfile), returned
 * once the swarm took its update of the app (the service's version moved
 * past before's): its pid. */
/* A deploy in the background, its output into outfile. */
static pid_t spawn_deploy(const char *outfile)
{
	const char *argv[] = { VD_BINARY, "-C", repo.dir, "-H", c.s.manager, "--state-dir", state_dir, "deploy",
			       NULL };
	struct tu_proc p = { argv, NULL, outfile, outfile, NULL, true };

	return tu_spawn(&p);
}

static pid_t deploy_until_updated(const vd_service_info *before, const char *outfile)
{
	vd_error err = VD_ERROR_INIT;
	vd_service_info now;
	pid_t pid = spawn_deploy(outfile);
	int i;

	for (i = 0; i < 600; i++) {
		memset(&now, 0, sizeof(now));
		if (!vd_service_inspect(c.m, before->id, &now, &err) && now.version > before->version) {
			vd_service_info_release(&now);
			return pid;
		}
		vd_error_release(&err);
		vd_service_info_release(&now);
		usleep(100000);
	}
	kill(pid, SIGKILL);
	tu_wait(pid, 30, "the deploy");
	fail_msg("the swarm did not take the deploy's update within 60 s");
	return -1;
}

/* A restore killed while the app is scaled to 0 (its spec labelled with
 * the dump): recover gives the app its spec back. */
static void stack__killed_restore_then_recover(void **state)
{
	const char *argv[] = { VD_BINARY, "-C", repo.dir, "-H", c.s.manager, "--state-dir", state_dir, "restore",
			       dump_id, "--yes", NULL };
	char outfile[320];
	struct tu_proc p = { argv, NULL, outfile, outfile, NULL, true };
	vd_service_info before, now;
	vd_error err = VD_ERROR_INIT;
	bool scaled = false;
	pid_t pid;
	int i;

	(void)state;
	assert_true(dump_id[0] != '\0');
	snprintf(outfile, sizeof(outfile), "%s.killed", repo.dir);
	service_of("app", &before);
	pid = tu_spawn(&p);
	/* kill -9 once the swarm took the scale-down (its tasks take their
	 * 1 s grace to stop, the restore waits for that) */
	for (i = 0; i < 1200 && !scaled; i++) {
		memset(&now, 0, sizeof(now));
		if (!vd_service_inspect(c.m, before.id, &now, &err))
			scaled = now.version > before.version && now.replicas == 0;
		vd_error_release(&err);
		vd_service_info_release(&now);
		if (!scaled)
			usleep(50000);
	}
	kill(pid, SIGKILL);
	tu_wait(pid, 30, "the killed restore");
	assert_true(scaled);
	service_of("app", &now);
	assert_int_equal(now.replicas, 0);
	assert_string_equal(vd_kvs_get(&now.labels, "io.voxdeploy.restore"), dump_id);
	vd_service_info_release(&now);
	assert_int_equal(vd("recover"), 0);
	assert_true(has("run on their spec again"));
	service_of("app", &now);
	assert_int_equal(now.replicas, 2);
	assert_null(vd_kvs_get(&now.labels, "io.voxdeploy.restore"));
	assert_int_equal(running_tasks(&now, NULL), 2);
	assert_version_on_both("2");
	vd_service_info_release(&now);
	assert_int_equal(vd("recover"), 0);
	assert_true(has("nothing to do"));
	vd_service_info_release(&before);
	unlink(outfile);
}

static void stack__killed_mid_update_then_recover(void **state)
{
	vd_service_info before, now;
	char outfile[320];
	pid_t pid;

	(void)state;
	snprintf(outfile, sizeof(outfile), "%s.killed", repo.dir);
	service_of("app", &before);
	put("src/version", "4");
	commit_now();
	/* kill -9 once the swarm took the update */
	pid = deploy_until_updated(&before, outfile);
	kill(pid, SIGKILL);
	tu_wait(pid, 30, "the killed deploy");
	assert_int_equal(vd("recover"), 0);
	assert_true(has("undone"));
	service_of("app", &now);
	assert_string_equal(now.image, before.image);
	assert_int_equal(running_tasks(&now, NULL), 2);
	assert_version_on_both("3");
	vd_service_info_release(&now);
	/* run again, recover finds nothing; the next deploy brings the change */
	assert_int_equal(vd("recover"), 0);
	assert_true(has("nothing to do"));
	assert_int_equal(vd("deploy"), 0);
	assert_version_on_both("4");
	vd_service_info_release(&before);
	unlink(outfile);
}

static void stack__rollback_goes_to_the_previous_spec(void **state)
{
	vd_service_info app;
	char args[160];

	(void)state;
	assert_int_equal(vd("rollback"), 0);
	assert_version_on_both("3");
	service_of("app", &app);
	/* the spec (and its labels) of the deploy before the last */
	assert_non_null(vd_kvs_get(&app.labels, "io.voxdeploy.commit"));
	assert_string_not_equal(vd_kvs_get(&app.labels, "io.voxdeploy.commit"), commit);
	assert_true(has("rollback"));
	assert_int_equal(running_tasks(&app, NULL), 2);
	vd_service_info_release(&app);
	/* --to an older version: the image its deploy pushed, pinned by digest */
	snprintf(args, sizeof(args), "rollback --to %s", commit_v2);
	assert_int_equal(vd(args), 0);
	assert_version_on_both("2");
	service_of("app", &app);
	assert_non_null(strstr(app.image, "@sha256:"));
	assert_int_equal(strncmp(vd_kvs_get(&app.labels, "io.voxdeploy.commit"), commit_v2, 12), 0);
	vd_service_info_release(&app);
	/* a commit no deploy pushed, one the checkout does not know: exit 2,
	 * nothing changed */
	put("README.md", "# the stack, never deployed\n");
	commit_now();
	snprintf(args, sizeof(args), "rollback --to %s", commit);
	assert_int_equal(vd(args), 2);
	assert_true(has("no image"));
	assert_int_equal(vd("rollback --to 0123456789abcdef0123"), 2);
	assert_true(has("does not know that commit"));
	assert_version_on_both("2");
	/* and back to the version that ran */
	snprintf(args, sizeof(args), "rollback --to %s", commit_v3);
	assert_int_equal(vd(args), 0);
	assert_version_on_both("3");
}


/* Whether a service of that name is on the swarm. */
static bool service_exists(const char *name)
{
	vd_service_info info;
	vd_error err = VD_ERROR_INIT;
	int rc;

	memset(&info, 0, sizeof(info));
	rc = vd_service_inspect(c.m, name, &info, &err);
	vd_service_info_release(&info);
	vd_error_release(&err);
	return rc != VD_ENOTFOUND;
}

/* deploy.release on a swarm: a job of the app's new spec (its image pulled
 * by a worker from the registry) runs before the app changes — its output
 * told, the job removed; a release that fails ends the deploy before the
 * app is touched; a deploy killed while its job runs is undone by recover,
 * the job removed. */
static void stack__release_runs_as_a_job(void **state)
{
	vd_service_info before, after;
	char job[128], outfile[320];
	pid_t pid;
	int i;

	(void)state;
	snprintf(job, sizeof(job), "%s_app-voxdeploy-release", project);
	release_cmd = "[sh, -c, \"echo migrating-to; cat /www/version; echo; test ! -f /www/slow || sleep 60; "
		      "test ! -f /www/fail\"]";
	write_config(true);
	put("src/version", "r1");
	commit_now();
	assert_int_equal(vd("deploy"), 0);
	assert_true(has("release    output  app: migrating-to"));
	assert_true(has("release    output  app: r1"));
	assert_true(has("release    done    app: exit code 0"));
	assert_false(service_exists(job));
	assert_version_on_both("r1");
	/* a release that fails: the app keeps its spec */
	service_of("app", &before);
	put("src/fail", "x");
	put("src/version", "r2");
	commit_now();
	assert_int_equal(vd("deploy"), 1);
	assert_true(has("the release step exited with 1"));
	service_of("app", &after);
	assert_int_equal(after.version, before.version);
	assert_string_equal(after.image, before.image);
	assert_false(service_exists(job));
	assert_version_on_both("r1");
	/* kill -9 while the job runs: recover removes it, the app untouched */
	repo_put(&repo, "src/fail", NULL, 0);
	put("src/slow", "x");
	commit_now();
	snprintf(outfile, sizeof(outfile), "%s.killed", repo.dir);
	pid = spawn_deploy(outfile);
	for (i = 0; i < 600 && !service_exists(job); i++)
		usleep(100000);
	assert_true(i < 600);
	sleep(1);
	kill(pid, SIGKILL);
	tu_wait(pid, 30, "the killed deploy");
	assert_int_equal(vd("recover"), 0);
	assert_true(has("was undone"));
	assert_false(service_exists(job));
	vd_service_info_release(&after);
	service_of("app", &after);
	assert_int_equal(after.version, before.version);
	unlink(outfile);
	vd_service_info_release(&before);
	vd_service_info_release(&after);
	repo_put(&repo, "src/slow", NULL, 0);
	release_cmd = NULL;
	write_config(true);
	put("src/version", "r3");
	commit_now();
}

/* A worker stopped while the app is being updated: the app (one replica per
 * worker) can neither converge nor go back while it is away — the deploy
 * says so, naming the task the swarm cannot place — and once the worker is
 * back the stack is healthy again and the next deploy goes through. */
static void stack__worker_stopped_mid_deploy(void **state)
{
	vd_service_info before;
	char outfile[320], *text;
	pid_t pid;
	int i, status;

	(void)state;
	snprintf(outfile, sizeof(outfile), "%s.stopped", repo.dir);
	service_of("app", &before);
	deadline = "30s";
	write_config(true);
	put("src/version", "5");
	commit_now();
	pid = deploy_until_updated(&before, outfile);
	assert_int_equal(itest_swarm_cmd(&c.s, "stop-node", "w2"), 0);
	status = tu_wait(pid, 600, "the deploy with a worker stopped");
	text = tu_slurp(outfile);
	if (getenv("VD_TEST_VERBOSE"))
		fprintf(stderr, "--- deploy, w2 stopped (status %d)\n%s", status, text);
	/* neither the new version nor the old can run everywhere: said, not hidden */
	assert_true(WIFEXITED(status) && (WEXITSTATUS(status) == 3 || WEXITSTATUS(status) == 1));
	assert_non_null(strstr(text, "tasks running"));
	free(text);
	/* the worker back: the swarm places the app again, the stack proves healthy */
	assert_int_equal(itest_swarm_cmd(&c.s, "start-node", "w2"), 0);
	itest_swarm_node_ip(&c.s, "w2", c.w2_ip, sizeof(c.w2_ip));
	deadline = "120s";
	write_config(true);
	commit_now();
	for (i = 0; i < 60 && vd("health") != 0; i++)
		sleep(2);
	assert_true(i < 60);
	assert_int_equal(vd("deploy"), 0);
	assert_version_on_both("5");
	vd_service_info_release(&before);
	unlink(outfile);
}

/* A client on the stack's overlay network (a container on the manager) asks
 * the app for its version every 50 ms, resolving its name each time, each
 * request bounded by timeout(1) (busybox wget's own -T crashes in the
 * static busybox); its lines ("ok <version>" or "fail") are read back from
 * its log. */
static char *client_start(void)
{
	vd_error err = VD_ERROR_INIT;
	vd_buf body = VD_BUF_INIT;
	char name[96], *id = NULL;

	snprintf(name, sizeof(name), "%s-client", project);
	vd_buf_printf(&body,
		      "{\"Image\":\"%s\",\"Cmd\":[\"sh\",\"-c\",\"while :; do "
		      "if v=$(timeout 3 wget -q -O - http://app:8080/version); then echo ok $v; else echo fail; fi; "
		      "usleep 50000; done\"],"
		      "\"HostConfig\":{\"Init\":true},"
		      "\"NetworkingConfig\":{\"EndpointsConfig\":{\"%s_default\":{}}}}",
		      itest_busybox_image(), project);
	itest_ok(vd_container_create(c.m, name, vd_buf_cstr(&body), &id, &err), &err);
	itest_ok(vd_container_start(c.m, id, &err), &err);
	vd_buf_release(&body);
	return id;
}

/* Stop the client and count its answers: ok of version v1, of v2, failures. */
static void client_stop(char *id, const char *v1, const char *v2, int counts[3])
{
	vd_error err = VD_ERROR_INIT;
	vd_buf log = VD_BUF_INIT;
	const char *p;
	char want1[32], want2[32];

	snprintf(want1, sizeof(want1), "ok %s\n", v1);
	snprintf(want2, sizeof(want2), "ok %s\n", v2);
	itest_ok(vd_container_stop(c.m, id, 5, &err), &err);
	itest_ok(vd_logs_collect(c.m, id, NULL, &log, NULL, NULL, &err), &err);
	memset(counts, 0, 3 * sizeof(int));
	for (p = vd_buf_cstr(&log); *p; p = strchr(p, '\n') + 1) {
		if (!strncmp(p, want1, strlen(want1)))
			counts[0]++;
		else if (!strncmp(p, want2, strlen(want2)))
			counts[1]++;
		else
			counts[2]++;
		if (!strchr(p, '\n'))
			break;
	}
	if (counts[2] || getenv("VD_TEST_VERBOSE"))
		fprintf(stderr, "--- the client's log\n%s", vd_buf_cstr(&log));
	itest_ok(vd_container_remove(c.m, id, true, false, &err), &err);
	vd_buf_release(&log);
	free(id);
}

/* start-first (update_config.order): each new task starts and proves healthy
 * beside the old one, the old one leaves the service's name before it
 * stops — a client on the overlay sees no failed request while both
 * replicas are replaced, first version then second. */
static void stack__start_first_without_a_failed_request(void **state)
{
	vd_service_info app;
	char *client;
	int counts[3];

	(void)state;
	start_first = true;
	write_config(true);
	write_stack("two");
	put("src/version", "6");
	commit_now();
	assert_int_equal(vd("deploy"), 0);
	service_of("app", &app);
	assert_int_equal(running_tasks(&app, NULL), 2);
	tu_assert_json_at(app.raw, "\"start-first\"", "Spec", "UpdateConfig", "Order", NULL);
	vd_service_info_release(&app);
	client = client_start();
	sleep(2);
	put("src/version", "7");
	commit_now();
	assert_int_equal(vd("deploy"), 0);
	assert_true(has("APP_ONLY"));
	sleep(2);
	client_stop(client, "6", "7", counts);
	fprintf(stderr, "start-first: %d answers of 6, %d of 7, %d failed\n", counts[0], counts[1], counts[2]);
	assert_int_equal(counts[2], 0);
	assert_true(counts[0] > 10);
	assert_true(counts[1] > 10);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(stack__model_as_docker_stack_deploy_makes_it),
		cmocka_unit_test(stack__first_deploy_creates_the_stack),
		cmocka_unit_test(stack__code_change_updates_the_app_on_both_nodes),
		cmocka_unit_test(stack__nodes_in_status_and_metrics),
		cmocka_unit_test(stack__killed_restore_then_recover),
		cmocka_unit_test(stack__broken_version_rolled_back_on_every_node),
		cmocka_unit_test(stack__registry_down_changes_nothing),
		cmocka_unit_test(stack__several_nodes_need_a_registry),
		cmocka_unit_test(stack__full_restart_keeps_the_rows),
		cmocka_unit_test(stack__killed_mid_update_then_recover),
		cmocka_unit_test(stack__rollback_goes_to_the_previous_spec),
		cmocka_unit_test(stack__release_runs_as_a_job),
		cmocka_unit_test(stack__worker_stopped_mid_deploy),
		cmocka_unit_test(stack__start_first_without_a_failed_request),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
