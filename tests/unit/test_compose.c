/* Unit tests of the compose model: loading, merging, interpolation, typing,
 * validation with positions, and the dependency order. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "controller/model/compose.h"

#define FIXTURES VD_TEST_DATA "/compose"
#define VOX FIXTURES "/voxpersona"

/* The test's environment: a vd_kvs looked up by name. */
static const char *kvs_lookup(const char *name, void *ctx)
{
	return vd_kvs_get(ctx, name);
}

static vd_kvs test_env(void)
{
	vd_kvs env = { NULL, 0 };

	assert_int_equal(vd_kvs_add(&env, "DB_PASSWORD", "s3cret"), 0);
	assert_int_equal(vd_kvs_add(&env, "TELEGRAM_BOT_TOKEN", "123:abc"), 0);
	assert_int_equal(vd_kvs_add(&env, "HOME", "/home/vox"), 0);
	assert_int_equal(vd_kvs_add(&env, "FROM_SHELL", "shell-value"), 0);
	assert_int_equal(vd_kvs_add(&env, "EMPTY", ""), 0);
	return env;
}

/* Load one or two in-memory files against /proj. */
static int load2(const char *a, const char *b, vd_compose **out, vd_error *err)
{
	vd_kvs env = test_env();
	vd_compose_source src[2] = {
		{ "compose.yaml", a, a ? strlen(a) : 0 },
		{ "override.yaml", b, b ? strlen(b) : 0 },
	};
	vd_compose_options opts = { "/proj", NULL, kvs_lookup, &env };
	int r = vd_compose_load(src, b ? 2 : 1, &opts, out, err);

	vd_kvs_release(&env);
	return r;
}

static vd_compose *must_load2(const char *a, const char *b)
{
	vd_error err = VD_ERROR_INIT;
	vd_compose *c = NULL;
	int r = load2(a, b, &c, &err);

	if (r)
		fail_msg("load failed: %s", vd_error_msg(&err));
	vd_error_release(&err);
	return c;
}

static vd_compose *must_load(const char *a)
{
	return must_load2(a, NULL);
}

/* The error message of a load that must fail with VD_EINVAL. */
static void expect_error2(const char *a, const char *b, const char *want)
{
	vd_error err = VD_ERROR_INIT;
	vd_compose *c = NULL;
	int r = load2(a, b, &c, &err);

	if (r != VD_EINVAL || strcmp(vd_error_msg(&err), want))
		fail_msg("want VD_EINVAL '%s', got %d '%s'\nfor:\n%s", want, r, vd_error_msg(&err), a);
	assert_null(c);
	vd_error_release(&err);
}

static void expect_error(const char *a, const char *want)
{
	expect_error2(a, NULL, want);
}

static const char *env_of(const vd_compose_service *s, const char *key)
{
	return vd_kvs_get(&s->environment, key);
}

static void assert_argv(const vd_compose_argv *a, size_t n, ...)
{
	va_list ap;
	size_t i;

	assert_true(a->set);
	assert_int_equal(a->argc, n);
	va_start(ap, n);
	for (i = 0; i < n; i++)
		assert_string_equal(a->argv[i], va_arg(ap, const char *));
	va_end(ap);
}

static void assert_strs(const vd_compose_strs *l, size_t n, ...)
{
	va_list ap;
	size_t i;

	assert_int_equal(l->len, n);
	va_start(ap, n);
	for (i = 0; i < n; i++)
		assert_string_equal(l->items[i], va_arg(ap, const char *));
	va_end(ap);
}

/* ------------------------------------------------------------------ */

static void load_vox(vd_compose **out, bool with_override)
{
	char *files[2] = { VOX "/docker-compose.yml", VOX "/docker-compose.override.yml" };
	vd_project p = { VOX, files, with_override ? 2 : 1, "voxpersona" };
	vd_error err = VD_ERROR_INIT;
	vd_kvs env = test_env();
	int r = vd_compose_load_project(&p, kvs_lookup, &env, out, &err);

	if (r)
		fail_msg("load failed: %s", vd_error_msg(&err));
	vd_kvs_release(&env);
	vd_error_release(&err);
}

/* What BuildKit is given besides the context: build.extra_hosts (list or
 * mapping, as the service's), network, platform, cache_from. */
static void compose__build_options(void **state)
{
	vd_compose *c = must_load("services:\n  app:\n    build:\n      context: .\n"
				  "      extra_hosts: [\"pypi.local:10.0.0.5\", \"db=10.0.0.6\"]\n"
				  "      network: host\n      platform: linux/amd64\n"
				  "      cache_from: [app:prev]\n");
	const vd_compose_build *b = c->services[0].build;

	(void)state;
	assert_int_equal(b->extra_hosts.len, 2);
	assert_string_equal(b->extra_hosts.items[0].key, "pypi.local");
	assert_string_equal(b->extra_hosts.items[0].value, "10.0.0.5");
	assert_string_equal(b->extra_hosts.items[1].key, "db");
	assert_string_equal(b->network, "host");
	assert_string_equal(b->platform, "linux/amd64");
	assert_int_equal(b->cache_from.len, 1);
	vd_compose_free(c);
	c = must_load("services:\n  app:\n    build:\n      context: .\n"
		      "      extra_hosts: {cache: 10.0.0.7}\n");
	assert_string_equal(c->services[0].build->extra_hosts.items[0].value, "10.0.0.7");
	assert_null(c->services[0].build->network);
	vd_compose_free(c);
}

static void compose__voxpersona(void **state)
{
	const vd_compose_service *app, *pg, *minio;
	const vd_compose_network *net;
	vd_compose *c = NULL;

	load_vox(&c, false);
	assert_string_equal(c->name, "voxpersona");
	assert_string_equal(c->working_dir, VOX);
	assert_strs(&c->config_files, 1, VOX "/docker-compose.yml");
	assert_int_equal(c->n_services, 3);
	assert_string_equal(c->services[0].name, "voxpersona");
	assert_string_equal(c->services[1].name, "postgres");
	assert_string_equal(c->services[2].name, "minio");

	app = vd_compose_service_find(c, "voxpersona");
	assert_non_null(app);
	assert_int_equal(app->pos.line, 17);
	assert_int_equal(app->pos.col, 3);
	assert_string_equal(app->pos.file, VOX "/docker-compose.yml");
	assert_null(app->image);
	assert_non_null(app->build);
	assert_string_equal(app->build->context, VOX);
	assert_string_equal(app->build->dockerfile, "Dockerfile");
	assert_string_equal(app->build->target, "production");
	assert_int_equal(app->build->args.len, 1);
	assert_string_equal(app->build->args.items[0].key, "PYTHON_VERSION");
	assert_string_equal(app->build->args.items[0].value, "3.11");
	assert_string_equal(app->container_name, "voxpersona_app");
	assert_strs(&app->env_file, 1, VOX "/.env");
	assert_true(app->env_file_required[0]);
	/* `<<: *db-env` first, then the explicit keys in order */
	assert_int_equal(app->environment.len, 8);
	assert_string_equal(app->environment.items[0].key, "POSTGRES_DB");
	assert_string_equal(env_of(app, "POSTGRES_DB"), "bot_db");
	assert_string_equal(env_of(app, "POSTGRES_USER"), "voxpersona_user");
	assert_string_equal(env_of(app, "DB_PASSWORD"), "s3cret");
	assert_string_equal(env_of(app, "DB_PORT"), "5432");
	assert_string_equal(env_of(app, "TELEGRAM_BOT_TOKEN"), "123:abc");
	assert_string_equal(env_of(app, "PRICE"), "$5");
	assert_int_equal(app->n_depends_on, 2);
	assert_string_equal(app->depends_on[0].service, "postgres");
	assert_int_equal(app->depends_on[0].condition, VD_COMPOSE_SERVICE_HEALTHY);
	assert_true(app->depends_on[0].required);
	assert_false(app->depends_on[0].restart);
	assert_int_equal(app->depends_on[1].condition, VD_COMPOSE_SERVICE_STARTED);
	assert_int_equal(app->n_volumes, 3);
	assert_int_equal(app->volumes[0].type, VD_COMPOSE_MOUNT_BIND);
	assert_string_equal(app->volumes[0].source, VOX "/logs");
	assert_string_equal(app->volumes[0].target, "/app/logs");
	assert_false(app->volumes[0].read_only);
	assert_true(app->volumes[0].create_host_path);
	assert_true(app->volumes[1].read_only);
	assert_int_equal(app->volumes[2].type, VD_COMPOSE_MOUNT_VOLUME);
	assert_string_equal(app->volumes[2].source, "app_data");
	assert_int_equal(app->n_networks, 1);
	assert_string_equal(app->networks[0].network, "voxpersona_network");
	assert_string_equal(app->restart, "unless-stopped");
	assert_string_equal(app->logging_driver, "json-file");
	assert_string_equal(vd_kvs_get(&app->logging_options, "max-size"), "10m");
	assert_int_equal(app->mem_limit, 2LL << 30);
	assert_true(app->cpus == 1.5);
	assert_false(app->command.set);

	pg = vd_compose_service_find(c, "postgres");
	assert_string_equal(pg->image, "postgres:15");
	assert_null(pg->build);
	assert_string_equal(pg->container_name, "voxpersona_postgres");
	assert_string_equal(env_of(pg, "POSTGRES_PASSWORD"), "s3cret");
	assert_true(pg->healthcheck.set);
	assert_false(pg->healthcheck.disable);
	assert_strs(&pg->healthcheck.test, 2, "CMD-SHELL", "pg_isready -U voxpersona_user -d bot_db");
	assert_int_equal(pg->healthcheck.interval_ns, 10000000000LL);
	assert_int_equal(pg->healthcheck.timeout_ns, 5000000000LL);
	assert_int_equal(pg->healthcheck.retries, 5);
	assert_int_equal(pg->healthcheck.start_period_ns, 30000000000LL);
	assert_int_equal(pg->n_ports, 1);
	assert_string_equal(pg->ports[0].host_ip, "127.0.0.1");
	assert_int_equal(pg->ports[0].published, 5432);
	assert_int_equal(pg->ports[0].target, 5432);
	assert_string_equal(pg->ports[0].protocol, "tcp");
	assert_string_equal(pg->volumes[0].source, "postgres_data");
	assert_string_equal(pg->volumes[0].target, "/var/lib/postgresql/data");
	assert_string_equal(pg->volumes[1].source, VOX "/sql_scripts");

	minio = vd_compose_service_find(c, "minio");
	assert_argv(&minio->command, 4, "server", "/data", "--console-address", ":9001");
	assert_int_equal(minio->n_ports, 2);
	assert_string_equal(env_of(minio, "MINIO_ROOT_USER"), "minioadmin");

	assert_int_equal(c->n_networks, 1);
	net = vd_compose_network_find(c, "voxpersona_network");
	assert_non_null(net);
	assert_string_equal(net->name, "voxpersona_voxpersona_network");
	assert_string_equal(net->driver, "bridge");
	assert_int_equal(net->n_ipam_config, 1);
	assert_string_equal(net->ipam_config[0].subnet, "172.28.0.0/16");
	assert_false(net->implicit);
	assert_int_equal(c->n_volumes, 3);
	assert_string_equal(vd_compose_volume_find(c, "postgres_data")->name, "voxpersona_postgres_data");
	assert_null(vd_compose_network_find(c, "default"));

	/* postgres and minio first, in file order; then the app */
	assert_string_equal(vd_compose_ordered(c, 0)->name, "postgres");
	assert_string_equal(vd_compose_ordered(c, 1)->name, "minio");
	assert_string_equal(vd_compose_ordered(c, 2)->name, "voxpersona");
	assert_null(vd_compose_ordered(c, 3));
	vd_compose_free(c);
}

static void compose__override(void **state)
{
	const vd_compose_service *app, *pg, *adminer;
	vd_compose *c = NULL;

	load_vox(&c, true);
	assert_int_equal(c->config_files.len, 2);
	assert_int_equal(c->n_services, 4);
	assert_string_equal(c->services[3].name, "adminer");
	app = vd_compose_service_find(c, "voxpersona");
	/* environment merged by key: replaced in place, new keys appended */
	assert_int_equal(app->environment.len, 9);
	assert_string_equal(app->environment.items[2].key, "DB_HOST");
	assert_string_equal(env_of(app, "DB_HOST"), "db.internal");
	assert_string_equal(app->environment.items[8].key, "LOG_LEVEL");
	/* command replaced, ports appended, volumes unique by target */
	assert_argv(&app->command, 4, "python", "-m", "bot", "--debug");
	assert_int_equal(app->n_ports, 1);
	assert_int_equal(app->ports[0].published, 8080);
	assert_null(app->ports[0].host_ip);
	assert_int_equal(app->n_volumes, 3);
	assert_string_equal(app->volumes[0].source, VOX "/logs-dev");
	assert_string_equal(app->volumes[0].target, "/app/logs");
	assert_string_equal(vd_kvs_get(&app->labels, "io.example.env"), "dev");
	/* inherited from the first file */
	assert_string_equal(app->build->target, "production");
	assert_string_equal(app->restart, "unless-stopped");

	pg = vd_compose_service_find(c, "postgres");
	assert_int_equal(pg->n_ports, 2);   /* the duplicate is dropped */
	assert_int_equal(pg->ports[1].published, 5433);
	assert_int_equal(pg->healthcheck.interval_ns, 2000000000LL);
	assert_int_equal(pg->healthcheck.retries, 5);
	assert_int_equal(pg->healthcheck.test.len, 2);

	adminer = vd_compose_service_find(c, "adminer");
	assert_int_equal(adminer->n_depends_on, 1);
	assert_int_equal(adminer->depends_on[0].condition, VD_COMPOSE_SERVICE_STARTED);
	assert_string_equal(vd_compose_ordered(c, 3)->name, "adminer");
	vd_compose_free(c);
}

static void compose__service_env(void **state)
{
	const vd_compose_service *app;
	vd_error err = VD_ERROR_INIT;
	vd_kvs env = test_env(), out;
	vd_compose *c = NULL;

	load_vox(&c, false);
	app = vd_compose_service_find(c, "voxpersona");
	assert_int_equal(vd_compose_service_env(app, kvs_lookup, &env, &out, &err), 0);
	assert_string_equal(vd_kvs_get(&out, "EXTRA"), "1");
	assert_string_equal(vd_kvs_get(&out, "DB_HOST"), "postgres");
	assert_string_equal(vd_kvs_get(&out, "TELEGRAM_BOT_TOKEN"), "123:abc");
	assert_string_equal(out.items[0].key, "TELEGRAM_BOT_TOKEN");
	vd_kvs_release(&out);
	vd_kvs_release(&env);
	vd_error_release(&err);
	vd_compose_free(c);
}

static void compose__pairs(void **state)
{
	/* what the plan command does: text read at a commit */
	static const char text[] = "name: My_Proj\nservices:\n  web:\n    build: ./web\n";
	vd_compose_source src = { "docker-compose.yml", text, sizeof(text) - 1 };
	vd_compose_options opts = { "/srv/checkout", NULL, NULL, NULL };
	vd_error err = VD_ERROR_INIT;
	vd_compose *c = NULL;

	assert_int_equal(vd_compose_load(&src, 1, &opts, &c, &err), 0);
	assert_string_equal(c->name, "my_proj");
	assert_string_equal(c->services[0].build->context, "/srv/checkout/web");
	assert_string_equal(c->services[0].build->dockerfile, "Dockerfile");
	/* no network declared: the project's default network */
	assert_int_equal(c->n_networks, 1);
	assert_string_equal(c->networks[0].key, "default");
	assert_string_equal(c->networks[0].name, "my_proj_default");
	assert_true(c->networks[0].implicit);
	assert_string_equal(c->services[0].networks[0].network, "default");
	vd_compose_free(c);

	/* an explicit name wins; without name: the directory's base name */
	opts.project_name = "explicit";
	assert_int_equal(vd_compose_load(&src, 1, &opts, &c, &err), 0);
	assert_string_equal(c->name, "explicit");
	vd_compose_free(c);
	opts.project_name = NULL;
	opts.project_dir = "/srv/Vox.Persona";
	src.text = "services:\n  a:\n    image: x\n";
	src.len = strlen(src.text);
	assert_int_equal(vd_compose_load(&src, 1, &opts, &c, &err), 0);
	assert_string_equal(c->name, "voxpersona");
	vd_compose_free(c);

	/* text need not be NUL-terminated */
	src.text = "services:\n  a:\n    image: x\nGARBAGE: [";
	src.len = strlen("services:\n  a:\n    image: x\n");
	assert_int_equal(vd_compose_load(&src, 1, &opts, &c, &err), 0);
	vd_compose_free(c);
	vd_error_release(&err);
}

static void compose__key_forms(void **state)
{
	vd_compose *c = must_load(
		"services:\n"
		"  a:\n"
		"    image: busybox\n"
		"    command: sh -c 'echo \"hi there\"' a\\ b\n"
		"    entrypoint: []\n"
		"    environment:\n"
		"      - PLAIN=1\n"
		"      - FROM_SHELL\n"
		"      - NOT_SET_ANYWHERE\n"
		"      - WITH_EQ=a=b\n"
		"      - EMPTY_VALUE=\n"
		"    env_file:\n"
		"      - a.env\n"
		"      - path: /etc/b.env\n"
		"        required: false\n"
		"    ports:\n"
		"      - 80\n"
		"      - \"8000-8001:8000-8001\"\n"
		"      - \"127.0.0.1::53/udp\"\n"
		"      - \"[::1]:8443:443\"\n"
		"      - \"9000-9010:9000\"\n"
		"      - target: 5000\n"
		"        published: \"5001\"\n"
		"        host_ip: 0.0.0.0\n"
		"        protocol: udp\n"
		"        mode: host\n"
		"    expose: [\"3000\", \"4000-4001/udp\", 3000]\n"
		"    volumes:\n"
		"      - /data\n"
		"      - named:/named:nocopy\n"
		"      - ~/cache:/cache:ro,z\n"
		"      - ../up/./x/:/x:rw,rshared\n"
		"      - type: bind\n"
		"        source: ./src\n"
		"        target: /src\n"
		"        read_only: true\n"
		"        bind:\n"
		"          create_host_path: true\n"
		"      - type: volume\n"
		"        source: named\n"
		"        target: /v\n"
		"        volume: {nocopy: true}\n"
		"      - type: volume\n"
		"        target: /anon\n"
		"      - type: tmpfs\n"
		"        target: /tmp\n"
		"        tmpfs: {size: 64m}\n"
		"    networks:\n"
		"      front:\n"
		"        aliases: [web, www]\n"
		"        ipv4_address: 10.5.0.5\n"
		"      back:\n"
		"    healthcheck:\n"
		"      test: curl -f http://localhost/\n"
		"      interval: 1m30s\n"
		"      timeout: 1.5s\n"
		"      start_period: 500ms\n"
		"      retries: 3\n"
		"    restart: on-failure:3\n"
		"    labels: [\"com.example=1\", \"flag\"]\n"
		"    user: \"1000:1000\"\n"
		"    working_dir: /app\n"
		"    hostname: box\n"
		"    extra_hosts:\n"
		"      - \"somehost:162.242.195.82\"\n"
		"      - \"v6host=::1\"\n"
		"    dns: 8.8.8.8\n"
		"    logging:\n"
		"      driver: syslog\n"
		"      options: {tag: x, max-file: 3}\n"
		"    stop_grace_period: 1m\n"
		"    stop_signal: SIGINT\n"
		"    tmpfs: /run\n"
		"    shm_size: 64m\n"
		"    ulimits:\n"
		"      nproc: 65535\n"
		"      nofile: {soft: 1024, hard: 4096}\n"
		"    cap_add: [NET_ADMIN, NET_ADMIN, SYS_PTRACE]\n"
		"    cap_drop: [ALL]\n"
		"    security_opt: [\"no-new-privileges:true\"]\n"
		"    privileged: true\n"
		"    init: false\n"
		"    read_only: yes\n"
		"    sysctls:\n"
		"      net.core.somaxconn: 1024\n"
		"    devices: [\"/dev/fuse:/dev/fuse:rwm\"]\n"
		"    tty: true\n"
		"    stdin_open: true\n"
		"    mem_limit: 512MiB\n"
		"    cpus: 0.5\n"
		"    deploy:\n"
		"      resources:\n"
		"        limits: {memory: 1g, cpus: \"2\"}\n"
		"        reservations: {memory: 256m}\n"
		"    profiles: [debug]\n"
		"  b:\n"
		"    image: busybox\n"
		"    networks: [back]\n"
		"    command: [\"a b\", c]\n"
		"    healthcheck:\n"
		"      test: [\"NONE\"]\n"
		"    sysctls: [\"net.ipv4.ip_forward=1\"]\n"
		"    dns: [1.1.1.1, 1.1.1.1]\n"
		"    extra_hosts: {h1: 10.0.0.1}\n"
		"    ulimits: {nofile: 10}\n"
		"  c:\n"
		"    image: busybox\n"
		"    network_mode: \"service:b\"\n"
		"    healthcheck: {disable: true}\n"
		"    depends_on:\n"
		"      a: {condition: service_completed_successfully, restart: true, required: false}\n"
		"networks:\n"
		"  front:\n"
		"    driver: bridge\n"
		"    driver_opts: {com.docker.network.bridge.name: br-front}\n"
		"    ipam:\n"
		"      driver: default\n"
		"      config:\n"
		"        - subnet: 10.5.0.0/16\n"
		"          gateway: 10.5.0.1\n"
		"          ip_range: 10.5.1.0/24\n"
		"    labels: [\"a=b\"]\n"
		"    internal: true\n"
		"    attachable: true\n"
		"    x-note: ignored\n"
		"  back:\n"
		"    name: shared-back\n"
		"  outside:\n"
		"    external: true\n"
		"volumes:\n"
		"  named:\n"
		"    driver: local\n"
		"    driver_opts: {type: none, o: bind, device: /mnt}\n"
		"    labels: {k: v}\n"
		"  ext:\n"
		"    external: true\n"
		"  renamed:\n"
		"    name: my-volume\n"
		"x-anything: {ignored: true}\n");
	const vd_compose_service *a = &c->services[0], *b = &c->services[1], *cc = &c->services[2];

	assert_argv(&a->command, 4, "sh", "-c", "echo \"hi there\"", "a b");
	assert_true(a->entrypoint.set);
	assert_int_equal(a->entrypoint.argc, 0);
	assert_int_equal(a->environment.len, 4);
	assert_string_equal(env_of(a, "PLAIN"), "1");
	assert_string_equal(env_of(a, "FROM_SHELL"), "shell-value");
	assert_null(env_of(a, "NOT_SET_ANYWHERE"));
	assert_string_equal(env_of(a, "WITH_EQ"), "a=b");
	assert_string_equal(env_of(a, "EMPTY_VALUE"), "");
	assert_strs(&a->env_file, 2, "/proj/a.env", "/etc/b.env");
	assert_true(a->env_file_required[0]);
	assert_false(a->env_file_required[1]);

	assert_int_equal(a->n_ports, 7);
	assert_int_equal(a->ports[0].target, 80);
	assert_int_equal(a->ports[0].published, 0);
	assert_int_equal(a->ports[1].target, 8000);
	assert_int_equal(a->ports[1].published, 8000);
	assert_int_equal(a->ports[2].target, 8001);
	assert_int_equal(a->ports[2].published, 8001);
	assert_int_equal(a->ports[2].published_end, 8001);
	assert_string_equal(a->ports[3].host_ip, "127.0.0.1");
	assert_int_equal(a->ports[3].published, 0);
	assert_string_equal(a->ports[3].protocol, "udp");
	assert_string_equal(a->ports[4].host_ip, "::1");
	assert_int_equal(a->ports[4].published, 8443);
	assert_int_equal(a->ports[4].target, 443);
	assert_int_equal(a->ports[5].target, 9000);
	assert_int_equal(a->ports[5].published, 9000);
	assert_int_equal(a->ports[5].published_end, 9010);
	assert_strs(&a->expose, 3, "3000/tcp", "4000/udp", "4001/udp");

	assert_int_equal(a->n_volumes, 8);
	assert_int_equal(a->volumes[0].type, VD_COMPOSE_MOUNT_VOLUME);
	assert_null(a->volumes[0].source);
	assert_string_equal(a->volumes[0].target, "/data");
	assert_string_equal(a->volumes[1].source, "named");
	assert_true(a->volumes[1].nocopy);
	assert_int_equal(a->volumes[2].type, VD_COMPOSE_MOUNT_BIND);
	assert_string_equal(a->volumes[2].source, "/home/vox/cache");
	assert_true(a->volumes[2].read_only);
	assert_string_equal(a->volumes[2].selinux, "z");
	assert_string_equal(a->volumes[3].source, "/up/x");
	assert_string_equal(a->volumes[3].propagation, "rshared");
	assert_false(a->volumes[3].read_only);
	assert_string_equal(a->volumes[4].source, "/proj/src");
	assert_true(a->volumes[4].read_only);
	assert_true(a->volumes[4].create_host_path);
	assert_false(a->volumes[4].short_syntax);
	assert_true(a->volumes[5].nocopy);
	assert_null(a->volumes[6].source);
	assert_int_equal(a->volumes[7].type, VD_COMPOSE_MOUNT_TMPFS);
	assert_int_equal(a->volumes[7].tmpfs_size, 64LL << 20);

	assert_int_equal(a->n_networks, 2);
	assert_string_equal(a->networks[0].network, "front");
	assert_strs(&a->networks[0].aliases, 2, "web", "www");
	assert_string_equal(a->networks[0].ipv4_address, "10.5.0.5");
	assert_string_equal(a->networks[1].network, "back");
	assert_int_equal(a->networks[1].aliases.len, 0);

	assert_strs(&a->healthcheck.test, 2, "CMD-SHELL", "curl -f http://localhost/");
	assert_int_equal(a->healthcheck.interval_ns, 90000000000LL);
	assert_int_equal(a->healthcheck.timeout_ns, 1500000000LL);
	assert_int_equal(a->healthcheck.start_period_ns, 500000000LL);
	assert_int_equal(a->healthcheck.retries, 3);
	assert_string_equal(a->restart, "on-failure:3");
	assert_string_equal(vd_kvs_get(&a->labels, "com.example"), "1");
	assert_string_equal(vd_kvs_get(&a->labels, "flag"), "");
	assert_string_equal(a->user, "1000:1000");
	assert_string_equal(a->working_dir, "/app");
	assert_string_equal(a->hostname, "box");
	assert_int_equal(a->extra_hosts.len, 2);
	assert_string_equal(vd_kvs_get(&a->extra_hosts, "somehost"), "162.242.195.82");
	assert_string_equal(vd_kvs_get(&a->extra_hosts, "v6host"), "::1");
	assert_strs(&a->dns, 1, "8.8.8.8");
	assert_string_equal(a->logging_driver, "syslog");
	assert_string_equal(vd_kvs_get(&a->logging_options, "max-file"), "3");
	assert_int_equal(a->stop_grace_period_ns, 60000000000LL);
	assert_string_equal(a->stop_signal, "SIGINT");
	assert_strs(&a->tmpfs, 1, "/run");
	assert_int_equal(a->shm_size, 64LL << 20);
	assert_int_equal(a->n_ulimits, 2);
	assert_string_equal(a->ulimits[0].name, "nproc");
	assert_int_equal(a->ulimits[0].soft, 65535);
	assert_int_equal(a->ulimits[0].hard, 65535);
	assert_int_equal(a->ulimits[1].soft, 1024);
	assert_int_equal(a->ulimits[1].hard, 4096);
	assert_strs(&a->cap_add, 2, "NET_ADMIN", "SYS_PTRACE");
	assert_strs(&a->cap_drop, 1, "ALL");
	assert_strs(&a->security_opt, 1, "no-new-privileges:true");
	assert_true(a->privileged);
	assert_int_equal(a->init, 0);
	assert_true(a->read_only);
	assert_string_equal(vd_kvs_get(&a->sysctls, "net.core.somaxconn"), "1024");
	assert_strs(&a->devices, 1, "/dev/fuse:/dev/fuse:rwm");
	assert_true(a->tty);
	assert_true(a->stdin_open);
	assert_int_equal(a->mem_limit, 512LL << 20);
	assert_true(a->cpus == 0.5);
	assert_int_equal(a->limits.memory, 1LL << 30);
	assert_true(a->limits.cpus == 2.0);
	assert_int_equal(a->reservations.memory, 256LL << 20);
	assert_strs(&a->profiles, 1, "debug");

	assert_argv(&b->command, 2, "a b", "c");
	assert_true(b->healthcheck.disable);
	assert_int_equal(b->init, -1);
	assert_false(b->privileged);
	assert_string_equal(vd_kvs_get(&b->sysctls, "net.ipv4.ip_forward"), "1");
	assert_strs(&b->dns, 1, "1.1.1.1");
	assert_string_equal(vd_kvs_get(&b->extra_hosts, "h1"), "10.0.0.1");
	assert_int_equal(b->ulimits[0].hard, 10);

	assert_string_equal(cc->network_mode, "service:b");
	assert_int_equal(cc->n_networks, 0);
	assert_true(cc->healthcheck.disable);
	assert_int_equal(cc->depends_on[0].condition, VD_COMPOSE_SERVICE_COMPLETED_SUCCESSFULLY);
	assert_true(cc->depends_on[0].restart);
	assert_false(cc->depends_on[0].required);

	assert_int_equal(c->n_networks, 3);
	assert_string_equal(c->networks[0].name, "proj_front");
	assert_string_equal(vd_kvs_get(&c->networks[0].driver_opts, "com.docker.network.bridge.name"),
			    "br-front");
	assert_string_equal(c->networks[0].ipam_driver, "default");
	assert_string_equal(c->networks[0].ipam_config[0].gateway, "10.5.0.1");
	assert_string_equal(c->networks[0].ipam_config[0].ip_range, "10.5.1.0/24");
	assert_string_equal(vd_kvs_get(&c->networks[0].labels, "a"), "b");
	assert_true(c->networks[0].internal);
	assert_true(c->networks[0].attachable);
	assert_string_equal(c->networks[1].name, "shared-back");
	assert_true(c->networks[2].external);
	assert_string_equal(c->networks[2].name, "outside");
	assert_int_equal(c->n_volumes, 3);
	assert_string_equal(c->volumes[0].name, "proj_named");
	assert_string_equal(c->volumes[0].driver, "local");
	assert_string_equal(vd_kvs_get(&c->volumes[0].driver_opts, "device"), "/mnt");
	assert_string_equal(vd_kvs_get(&c->volumes[0].labels, "k"), "v");
	assert_string_equal(c->volumes[1].name, "ext");
	assert_true(c->volumes[1].external);
	assert_string_equal(c->volumes[2].name, "my-volume");

	/* b before c (network_mode service:b); a, b, c otherwise in file order */
	assert_string_equal(vd_compose_ordered(c, 0)->name, "a");
	assert_string_equal(vd_compose_ordered(c, 1)->name, "b");
	assert_string_equal(vd_compose_ordered(c, 2)->name, "c");
	vd_compose_free(c);
}

static void compose__anchors_and_merge_keys(void **state)
{
	vd_compose *c = must_load(
		"x-base: &base\n"
		"  image: busybox\n"
		"  restart: always\n"
		"  labels: &labels\n"
		"    tier: backend\n"
		"x-more: &more\n"
		"  restart: \"no\"\n"
		"  user: nobody\n"
		"services:\n"
		"  one:\n"
		"    <<: *base\n"
		"    restart: on-failure\n"
		"  two:\n"
		"    <<: [*base, *more]\n"
		"    labels: *labels\n"
		"  three:\n"
		"    <<: [*more, *base]\n"
		"    command: &cmd [echo, hi]\n"
		"    entrypoint: *cmd\n");
	const vd_compose_service *one = &c->services[0], *two = &c->services[1], *three = &c->services[2];

	assert_string_equal(one->image, "busybox");
	assert_string_equal(one->restart, "on-failure");      /* explicit keys win */
	assert_string_equal(vd_kvs_get(&one->labels, "tier"), "backend");
	assert_string_equal(two->restart, "always");          /* the earlier merged mapping wins */
	assert_string_equal(two->user, "nobody");
	assert_string_equal(three->restart, "no");
	assert_argv(&three->entrypoint, 2, "echo", "hi");
	vd_compose_free(c);
}

static void compose__interpolation(void **state)
{
	vd_compose *c = must_load(
		"services:\n"
		"  svc:\n"
		"    image: \"busybox:${TAG:-1.36}\"\n"
		"    command: echo $$HOME ${FROM_SHELL} ${EMPTY:-dflt} ${EMPTY-kept}\n"
		"    environment:\n"
		"      LITERAL: $$NOT_EXPANDED\n"
		"      LIST_ITEM: ${DB_PASSWORD}\n"
		"    privileged: ${PRIV:-true}\n"
		"    ports: [\"${PORT:-8080}:80\"]\n"
		"    labels: {\"${NOT_A_KEY}\": v}\n");
	const vd_compose_service *s = &c->services[0];

	/* keys are never interpolated */
	assert_string_equal(s->labels.items[0].key, "${NOT_A_KEY}");
	assert_string_equal(s->image, "busybox:1.36");
	assert_argv(&s->command, 4, "echo", "$HOME", "shell-value", "dflt");
	assert_string_equal(env_of(s, "LITERAL"), "$NOT_EXPANDED");
	assert_string_equal(env_of(s, "LIST_ITEM"), "s3cret");
	assert_true(s->privileged);
	assert_int_equal(s->ports[0].published, 8080);
	vd_compose_free(c);
}

static void compose__bad_input(void **state)
{
	static const struct {
		const char *yaml;
		const char *want;
	} cases[] = {
		{ "services:\n  app:\n    image: x\n    foo: 1\n",
		  "compose.yaml:4:5: service 'app': unknown key 'foo'" },
		{ "services:\n  app:\n    image: x\n    ports: \"80:80\"\n",
		  "compose.yaml:4:12: service 'app': 'ports' must be a list" },
		{ "services:\n  app:\n    image: x\n    healthcheck:\n      interval: 5x\n",
		  "compose.yaml:5:17: service 'app': healthcheck: 'interval': invalid duration '5x'" },
		{ "services:\n  app:\n    image: x\n    ports: [\"80:99999\"]\n",
		  "compose.yaml:4:13: service 'app': invalid port '80:99999'" },
		{ "services:\n  app:\n    image: x\n    ports: [\"8000-8002:80-81\"]\n",
		  "compose.yaml:4:13: service 'app': invalid port '8000-8002:80-81': host and container ranges differ" },
		{ "services:\n  app:\n    image: x\n    ports: [\"80/xtp\"]\n",
		  "compose.yaml:4:13: service 'app': invalid port '80/xtp': unknown protocol 'xtp'" },
		{ "services:\n  app:\n    image: x\n    volumes: [\"./a:/b:c:d\"]\n",
		  "compose.yaml:4:15: service 'app': invalid volume './a:/b:c:d': too many ':'" },
		{ "services:\n  app:\n    image: x\n    volumes: [\"./a:rel\"]\n",
		  "compose.yaml:4:15: service 'app': invalid volume './a:rel': target must be an absolute path" },
		{ "services:\n  app:\n    image: x\n    volumes: [\"./a:/b:bogus\"]\n",
		  "compose.yaml:4:15: service 'app': invalid volume './a:/b:bogus': unknown option 'bogus'" },
		{ "services:\n  app:\n    image: x\n    volumes: [\"data:/b\"]\n",
		  "compose.yaml:4:15: service 'app': volume 'data' is not declared in the top-level volumes" },
		{ "services:\n  app:\n    image: x\n    volumes:\n      - type: npipe\n        target: /x\n",
		  "compose.yaml:5:9: service 'app': volumes: unsupported volume type 'npipe' (bind, volume or tmpfs)" },
		{ "services:\n  app:\n    image: x\n    shm_size: 64q\n",
		  "compose.yaml:4:15: service 'app': 'shm_size': invalid byte size '64q'" },
		{ "services:\n  app:\n    image: x\n    mem_limit: [1]\n",
		  "compose.yaml:4:16: service 'app': 'mem_limit' must be a byte size" },
		{ "services:\n  app:\n    restart: always\n",
		  "compose.yaml:2:3: service 'app': neither 'image' nor 'build' is set" },
		{ "services:\n  app:\n    image: x\n    depends_on: [db]\n",
		  "compose.yaml:2:3: service 'app': depends_on unknown service 'db'" },
		{ "services:\n  a:\n    image: x\n    depends_on: [b]\n  b:\n    image: x\n    depends_on: [c]\n"
		  "  c:\n    image: x\n    depends_on: [a]\n",
		  "compose.yaml:2:3: service 'a': dependency cycle: a -> b -> c -> a" },
		{ "services:\n  a:\n    image: x\n    depends_on: [a]\n",
		  "compose.yaml:2:3: service 'a': dependency cycle: a -> a" },
		{ "services:\n  app:\n    image: x\n    networks: [front]\n",
		  "compose.yaml:2:3: service 'app': network 'front' is not declared in the top-level networks" },
		{ "services:\n  a:\n    image: x\n    container_name: same\n  b:\n    image: y\n    container_name: same\n",
		  "compose.yaml:5:3: service 'b': container_name 'same' is already used by service 'a'" },
		{ "services:\n  app:\n    image: [x\n",
		  "compose.yaml:4:1: flow sequence without a closing bracket" },
		{ "- a\n- b\n", "compose.yaml:1:1: a compose file must be a mapping" },
		{ "", "compose.yaml: empty compose file" },
		{ "# only a comment\n", "compose.yaml: empty compose file" },
		{ "services:\n  app:\n    image: x\n    privileged: maybe\n",
		  "compose.yaml:4:17: service 'app': 'privileged' must be a boolean" },
		{ "services:\n  app:\n    image: x\n    healthcheck:\n      test: [CURL, x]\n",
		  "compose.yaml:5:13: service 'app': healthcheck: 'test' must start with NONE, CMD or CMD-SHELL, not 'CURL'" },
		{ "services:\n  app:\n    image: x\n    depends_on:\n      a: {condition: whenever}\n",
		  "compose.yaml:5:22: service 'app': depends_on 'a': 'condition' must be service_started, service_healthy or service_completed_successfully" },
		{ "services:\n  app:\n    image: x\n    restart: sometimes\n",
		  "compose.yaml:4:14: service 'app': 'restart' must be no, always, on-failure[:N] or unless-stopped, not 'sometimes'" },
		{ "services:\n  app:\n    image: x\n    command: echo 'unterminated\n",
		  "compose.yaml:4:14: service 'app': 'command': unterminated quote in 'echo 'unterminated'" },
		{ "services:\n  app:\n    image: x\n    build:\n      context: .\n      secrets: [a]\n",
		  "compose.yaml:6:7: service 'app': build: unknown key 'secrets'" },
		{ "services:\n  app:\n    image: x\n    deploy:\n      replica: 2\n",
		  "compose.yaml:5:7: service 'app': deploy: unknown key 'replica'" },
		{ "services:\n  app:\n    image: x\n    deploy:\n      mode: global\n      replicas: 2\n",
		  "compose.yaml:5:7: service 'app': deploy: 'replicas' cannot be combined with mode 'global'" },
		{ "services:\n  app:\n    image: x\n    deploy:\n      update_config: {order: sideways}\n",
		  "compose.yaml:5:30: service 'app': deploy: update_config: 'order' must be stop-first or start-first" },
		{ "services:\n  app:\n    image: x\n    deploy:\n      rollback_config: {failure_action: rollback}\n",
		  "compose.yaml:5:41: service 'app': deploy: rollback_config: 'failure_action' must be continue or pause" },
		{ "services:\n  app:\n    image: x\n    deploy:\n      placement: {preferences: [node.labels.zone]}\n",
		  "compose.yaml:5:33: service 'app': deploy: placement: preferences: each preference must be {spread: DESCRIPTOR}" },
		{ "services:\n  app:\n    image: x\n    deploy:\n      restart_policy: {condition: sometimes}\n",
		  "compose.yaml:5:35: service 'app': deploy: restart_policy: 'condition' must be none, on-failure, "
		  "any, no, always or unless-stopped" },
		{ "services:\n  app:\n    image: x\n    environment:\n      A: [1]\n",
		  "compose.yaml:5:10: service 'app': 'environment': the value of 'A' must be a string" },
		{ "services:\n  app:\n    image: x\n    environment: [\"=x\"]\n",
		  "compose.yaml:4:19: service 'app': invalid environment entry '=x'" },
		{ "services:\n  app:\n    image: x\nconfigs: {}\n",
		  "compose.yaml:4:1: unknown key 'configs'" },
		{ "services:\n  app:\n    image: x\nnetworks:\n  n:\n    drivr: bridge\n",
		  "compose.yaml:6:5: network 'n': unknown key 'drivr'" },
		{ "services:\n  app:\n    image: x\nvolumes:\n  v:\n    external: maybe\n",
		  "compose.yaml:6:15: volume 'v': 'external' must be a boolean" },
		{ "services:\n  app:\n    image: x\n    image: y\n",
		  "compose.yaml:4:5: duplicate key 'image'" },
		{ "services:\n  app:\n    image: *nope\n",
		  "compose.yaml:3:12: unknown alias 'nope'" },
		{ "services:\n  app:\n    image: ${REQUIRED:?please set it}\n",
		  "compose.yaml:3:12: required variable REQUIRED is missing a value: please set it" },
		{ "services:\n  app:\n    image: x\n    network_mode: host\n    networks: [a]\n",
		  "compose.yaml:2:3: service 'app': 'network_mode' and 'networks' cannot be combined" },
		{ "services:\n  app:\n    image: x\n    network_mode: service:ghost\n",
		  "compose.yaml:2:3: service 'app': network_mode refers to unknown service 'ghost'" },
		{ "services: []\n", "compose.yaml:1:11: 'services' must be a mapping" },
		{ "version: '3'\n", "compose.yaml:1:1: no services defined" },
		{ "services:\n  app:\n    <<: 3\n    image: x\n",
		  "compose.yaml:3:9: a '<<' merge key needs a mapping or a list of mappings" },
		{ "services:\n  app:\n    image: x\n---\nservices: {}\n",
		  "compose.yaml:4:1: more than one YAML document in a compose file" },
		{ "services:\n  app:\n    image: x\n    ulimits:\n      nofile: {soft: 1}\n",
		  "compose.yaml:5:15: service 'app': ulimits: 'nofile' needs both 'soft' and 'hard'" },
		{ "services:\n  app:\n    image: x\n    extra_hosts: [\"nohost\"]\n",
		  "compose.yaml:4:19: service 'app': invalid extra_hosts entry 'nohost' (want HOST:IP)" },
		{ "services:\n  \"a b\":\n    image: x\n",
		  "compose.yaml:2:3: invalid service name 'a b'" },
		{ "services:\n  app:\n    image: x\n    cpus: lots\n",
		  "compose.yaml:4:11: service 'app': 'cpus': invalid number 'lots'" },
		{ "services:\n  app:\n    image: x\n    stop_grace_period: 10\n",
		  "compose.yaml:4:24: service 'app': 'stop_grace_period': invalid duration '10'" },
		{ "services:\n  app:\n    image: x\n    ? [a]\n    : b\n",
		  "compose.yaml:4:7: mapping keys must be strings" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		expect_error(cases[i].yaml, cases[i].want);
}

static void compose__bad_override(void **state)
{
	/* positions name the file that says it */
	expect_error2("services:\n  app:\n    image: x\n", "services:\n  app:\n    bogus: 1\n",
		      "override.yaml:3:5: service 'app': unknown key 'bogus'");
	expect_error2("services:\n  app:\n    image: x\n", "services:\n  app:\n    healthcheck:\n      retries: -1\n",
		      "override.yaml:4:16: service 'app': healthcheck: 'retries' must be an integer >= 0");
	/* found by fuzz_compose: an override that libfyaml never finished
	 * reading (invalid UTF-8 after a '%' directive) */
	expect_error2("services:\n  app:\n    image: x\n%  : portsappn",
		      "   imag): x\n%  : ports: [\"8000-8002280-81\": [\"8000-8002280-"
		      "\xbf\xbf\xbf\xbf\xbf\xbf\xbf\xbf\xbf\xbf\xbf\xbf\xbf\xbf" "81\"]\n",
		      "override.yaml:2:48: invalid UTF-8 (YAML must be UTF-8 text)");
}

static void compose__override_rules(void **state)
{
	vd_compose *c = must_load2(
		"services:\n"
		"  a:\n"
		"    build: .\n"
		"    entrypoint: [/bin/sh, -c]\n"
		"    command: [run]\n"
		"    expose: [\"80\"]\n"
		"    dns: 1.1.1.1\n"
		"    cap_add: [A]\n"
		"    labels: {x: \"1\", y: \"2\"}\n"
		"    logging: {driver: json-file, options: {max-size: 1m}}\n"
		"    healthcheck: {test: [CMD, a, b], retries: 2}\n"
		"    networks: {n1: {aliases: [one]}}\n"
		"    depends_on: [b]\n"
		"    environment: {KEEP: k, DROP: d}\n"
		"  b:\n"
		"    image: b\n"
		"    logging: {driver: json-file, options: {max-size: 1m}}\n"
		"networks:\n"
		"  n1: {}\n"
		"  n2: {}\n",
		"services:\n"
		"  a:\n"
		"    build: ./other\n"
		"    command: run --fast\n"
		"    expose: [\"80\", \"81\"]\n"
		"    dns: [8.8.8.8, 1.1.1.1]\n"
		"    cap_add: [B]\n"
		"    labels: [\"y=two\", \"z=3\"]\n"
		"    healthcheck: {test: [CMD, c]}\n"
		"    networks: [n2]\n"
		"    depends_on: {b: {condition: service_healthy}}\n"
		"    environment: {DROP: !reset null}\n"
		"    user: !reset root\n"
		"  b:\n"
		"    logging: {driver: syslog, options: {tag: t}}\n"
		"    ports: !override [\"1:1\"]\n");
	const vd_compose_service *a = &c->services[0], *b = &c->services[1];

	assert_string_equal(a->build->context, "/proj/other");
	assert_argv(&a->entrypoint, 2, "/bin/sh", "-c");
	assert_argv(&a->command, 2, "run", "--fast");
	assert_strs(&a->expose, 2, "80/tcp", "81/tcp");
	assert_strs(&a->dns, 2, "1.1.1.1", "8.8.8.8");
	assert_strs(&a->cap_add, 2, "A", "B");
	assert_int_equal(a->labels.len, 3);
	assert_string_equal(vd_kvs_get(&a->labels, "y"), "two");
	assert_strs(&a->healthcheck.test, 2, "CMD", "c");
	assert_int_equal(a->healthcheck.retries, 2);
	assert_int_equal(a->n_networks, 2);
	assert_strs(&a->networks[0].aliases, 1, "one");
	assert_int_equal(a->depends_on[0].condition, VD_COMPOSE_SERVICE_HEALTHY);
	assert_int_equal(a->environment.len, 1);
	assert_null(a->user);
	/* another logging driver replaces the options */
	assert_string_equal(b->logging_driver, "syslog");
	assert_int_equal(b->logging_options.len, 1);
	assert_string_equal(vd_kvs_get(&b->logging_options, "tag"), "t");
	assert_int_equal(b->n_ports, 1);
	vd_compose_free(c);
}

static void compose__order(void **state)
{
	vd_compose *c = must_load(
		"services:\n"
		"  web:\n    image: x\n    depends_on: [api, cache]\n"
		"  worker:\n    image: x\n    depends_on: {db: {condition: service_healthy}}\n"
		"  api:\n    image: x\n    depends_on: [db]\n"
		"  cache:\n    image: x\n"
		"  db:\n    image: x\n"
		"  lonely:\n    image: x\n");
	static const char *const want[] = { "cache", "db", "worker", "api", "web", "lonely" };
	size_t i;

	for (i = 0; i < 6; i++)
		assert_string_equal(vd_compose_ordered(c, i)->name, want[i]);
	vd_compose_free(c);
}

/* Keys real files use: secrets, links, platform, runtime, pids_limit,
 * memswap_limit, pull_policy; targets cleaned as compose cleans them. */
static void compose__more_keys(void **state)
{
	vd_compose *c = must_load(
		"services:\n"
		"  db:\n    image: x\n    secrets: [pw]\n    pids_limit: -1\n    pull_policy: every_12h\n"
		"  web:\n    image: x\n    links: [db, \"db:database\"]\n    depends_on: [cache]\n"
		"    secrets:\n      - {source: pw, target: password, uid: '103', mode: 0440}\n"
		"      - {source: token, target: /etc/app/token}\n"
		"    platform: linux/arm64/v8\n    runtime: runc\n    pids_limit: 200\n"
		"    memswap_limit: -1\n    pull_policy: never\n"
		"    volumes: [\"./html:/var/www/html/\", \"data:/srv//a/./b/../c/\", {type: tmpfs, target: /t/}]\n"
		"  cache:\n    image: x\n    memswap_limit: 1g\n"
		"volumes:\n  data:\n"
		"secrets:\n  pw:\n    file: ./secrets/pw.txt\n  token:\n    file: /etc/token\n    name: tok\n");
	const vd_compose_service *db = vd_compose_service_find(c, "db"), *web = vd_compose_service_find(c, "web");
	const vd_compose_service *cache = vd_compose_service_find(c, "cache");

	assert_int_equal(c->n_secrets, 2);
	assert_string_equal(c->secrets[0].file, "/proj/secrets/pw.txt");
	assert_string_equal(c->secrets[0].name, vd_compose_secret_find(c, "pw")->name);
	assert_string_equal(vd_compose_secret_find(c, "token")->name, "tok");
	assert_int_equal(db->n_secrets, 1);
	assert_string_equal(db->secrets[0].target, "/run/secrets/pw");
	assert_int_equal(web->n_secrets, 2);
	assert_string_equal(web->secrets[0].target, "/run/secrets/password");
	assert_string_equal(web->secrets[1].target, "/etc/app/token");
	assert_int_equal(db->pids_limit, -1);
	assert_string_equal(db->pull_policy, "every_12h");
	assert_int_equal(web->pids_limit, 200);
	assert_int_equal(web->memswap_limit, -1);
	assert_int_equal(cache->memswap_limit, 1 << 30);
	assert_string_equal(web->platform, "linux/arm64/v8");
	assert_string_equal(web->runtime, "runc");
	/* links are depends_on (service_started) next to the declared one, once each */
	assert_strs(&web->links, 2, "db", "db:database");
	assert_int_equal(web->n_depends_on, 2);
	assert_string_equal(web->depends_on[0].service, "cache");
	assert_string_equal(web->depends_on[1].service, "db");
	assert_int_equal(web->depends_on[1].condition, VD_COMPOSE_SERVICE_STARTED);
	assert_string_equal(vd_compose_ordered(c, 2)->name, "web");
	assert_string_equal(web->volumes[0].target, "/var/www/html");
	assert_string_equal(web->volumes[1].target, "/srv/a/c");
	assert_string_equal(web->volumes[2].target, "/t");
	vd_compose_free(c);

	expect_error("services:\n  app:\n    image: x\n    secrets: [nope]\n",
		     "compose.yaml:4:15: service 'app': secret 'nope' is not declared in the top-level secrets");
	expect_error("services:\n  app:\n    image: x\nsecrets:\n  s:\n    external: true\n",
		     "compose.yaml:5:3: secret 's': an external secret is Swarm's; outside Swarm a secret is a "
		     "'file' or an 'environment' variable");
	expect_error("services:\n  app:\n    image: x\nsecrets:\n  s:\n    environment: TOKEN\n",
		     "compose.yaml:5:3: secret 's': a secret from 'environment' is not supported: give it as a "
		     "'file' (bind-mounted read-only, as compose does)");
	expect_error("services:\n  app:\n    image: x\nsecrets:\n  s: {}\n",
		     "compose.yaml:5:3: secret 's': needs one of 'file' and 'environment'");
	expect_error("services:\n  app:\n    image: x\n    links: [db]\n",
		     "compose.yaml:2:3: service 'app': links: no service 'db'");
	expect_error("services:\n  app:\n    image: x\n    pull_policy: sometimes\n",
		     "compose.yaml:4:18: service 'app': invalid pull_policy 'sometimes' (always, never, missing, "
		     "if_not_present, build, daily, weekly or every_<duration>)");
	expect_error("services:\n  app:\n    image: x\n    pids_limit: -2\n",
		     "compose.yaml:4:17: service 'app': 'pids_limit' must be an integer >= -1");
	expect_error("services:\n  app:\n    image: x\n    secrets: [{target: /x}]\n",
		     "compose.yaml:4:15: service 'app': secrets: a secret needs a 'source'");
}

static void compose__scalars(void **state)
{
	int64_t v = -1;
	char **w = NULL;
	size_t n = 0;

	assert_int_equal(vd_compose_parse_duration("1m30s", &v), 0);
	assert_int_equal(v, 90000000000LL);
	assert_int_equal(vd_compose_parse_duration("1.5h", &v), 0);
	assert_int_equal(v, 5400000000000LL);
	assert_int_equal(vd_compose_parse_duration("10us", &v), 0);
	assert_int_equal(v, 10000);
	assert_int_equal(vd_compose_parse_duration("250ms", &v), 0);
	assert_int_equal(v, 250000000);
	assert_int_equal(vd_compose_parse_duration("0", &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(vd_compose_parse_duration("10", &v), VD_EINVAL);
	assert_int_equal(vd_compose_parse_duration("", &v), VD_EINVAL);
	assert_int_equal(vd_compose_parse_duration("s", &v), VD_EINVAL);
	assert_int_equal(vd_compose_parse_duration("-1s", &v), VD_EINVAL);
	assert_int_equal(vd_compose_parse_duration("99999999999h", &v), VD_EINVAL);

	assert_int_equal(vd_compose_parse_bytes("64m", &v), 0);
	assert_int_equal(v, 64LL << 20);
	assert_int_equal(vd_compose_parse_bytes("1gb", &v), 0);
	assert_int_equal(v, 1LL << 30);
	assert_int_equal(vd_compose_parse_bytes("512KiB", &v), 0);
	assert_int_equal(v, 512LL << 10);
	assert_int_equal(vd_compose_parse_bytes("1024", &v), 0);
	assert_int_equal(v, 1024);
	assert_int_equal(vd_compose_parse_bytes("1.5k", &v), 0);
	assert_int_equal(v, 1536);
	assert_int_equal(vd_compose_parse_bytes("12 m", &v), 0);
	assert_int_equal(vd_compose_parse_bytes("m", &v), VD_EINVAL);
	assert_int_equal(vd_compose_parse_bytes("1x", &v), VD_EINVAL);
	assert_int_equal(vd_compose_parse_bytes("-1", &v), VD_EINVAL);
	assert_int_equal(vd_compose_parse_bytes("99999999999p", &v), VD_EINVAL);

	assert_int_equal(vd_compose_split_words("server /data --console-address \":9001\"", &w, &n), 0);
	assert_int_equal(n, 4);
	assert_string_equal(w[3], ":9001");
	for (size_t i = 0; i < n; i++)
		free(w[i]);
	free(w);
	assert_int_equal(vd_compose_split_words("  a\\ b 'c d' \"e\\\"f\" '' x\"y\"z ", &w, &n), 0);
	assert_int_equal(n, 5);
	assert_string_equal(w[0], "a b");
	assert_string_equal(w[1], "c d");
	assert_string_equal(w[2], "e\"f");
	assert_string_equal(w[3], "");
	assert_string_equal(w[4], "xyz");
	for (size_t i = 0; i < n; i++)
		free(w[i]);
	free(w);
	assert_int_equal(vd_compose_split_words("\"open", &w, &n), VD_EINVAL);
	assert_int_equal(vd_compose_split_words("trailing\\", &w, &n), VD_EINVAL);
}

/* deploy: every key a Swarm reads, the list forms, an override merged by
 * key; unset fields as the model marks them */
static void compose__deploy_keys(void **state)
{
	vd_compose *c = must_load2(
		"services:\n"
		"  app:\n"
		"    image: x\n"
		"    deploy:\n"
		"      replicas: 2\n"
		"      endpoint_mode: dnsrr\n"
		"      labels: [tier=bot, team]\n"
		"      placement:\n"
		"        constraints: [node.role==worker, node.labels.disk==ssd]\n"
		"        preferences:\n"
		"          - spread: node.labels.zone\n"
		"        max_replicas_per_node: 1\n"
		"      restart_policy: {condition: on-failure, delay: 5s, max_attempts: 3, window: 2m}\n"
		"      update_config: {parallelism: 1, delay: 2s, order: start-first, failure_action: rollback,\n"
		"                      monitor: 10s, max_failure_ratio: 0.25}\n"
		"      rollback_config: {parallelism: 0, order: stop-first}\n"
		"      resources: {limits: {memory: 512M, cpus: '0.5'}}\n"
		"  db:\n"
		"    image: y\n",
		"services:\n"
		"  app:\n"
		"    deploy:\n"
		"      replicas: 3\n"
		"      update_config: {monitor: 20s}\n"
		"  db:\n"
		"    deploy: {mode: global}\n");
	const vd_compose_service *app = vd_compose_service_find(c, "app");
	const vd_compose_service *db = vd_compose_service_find(c, "db");
	const vd_compose_deploy *d = &app->deploy;

	(void)state;
	assert_true(d->set);
	assert_true(d->has_replicas);
	assert_int_equal(d->replicas, 3);  /* the override's */
	assert_null(d->mode);
	assert_string_equal(d->endpoint_mode, "dnsrr");
	assert_string_equal(vd_kvs_get(&d->labels, "tier"), "bot");
	assert_int_equal(d->constraints.len, 2);
	assert_string_equal(d->constraints.items[1], "node.labels.disk==ssd");
	assert_int_equal(d->preferences.len, 1);
	assert_string_equal(d->preferences.items[0], "node.labels.zone");
	assert_int_equal(d->max_replicas_per_node, 1);
	assert_true(d->restart_set);
	assert_string_equal(d->restart_condition, "on-failure");
	assert_int_equal(d->restart_delay_ns, 5000000000LL);
	assert_true(d->has_max_attempts);
	assert_int_equal(d->restart_max_attempts, 3);
	assert_int_equal(d->restart_window_ns, 120000000000LL);
	assert_true(d->update_config.set);
	assert_true(d->update_config.has_parallelism);
	assert_int_equal(d->update_config.parallelism, 1);
	assert_int_equal(d->update_config.delay_ns, 2000000000LL);
	assert_string_equal(d->update_config.order, "start-first");
	assert_string_equal(d->update_config.failure_action, "rollback");
	assert_int_equal(d->update_config.monitor_ns, 20000000000LL);  /* merged by key */
	assert_true(d->update_config.max_failure_ratio > 0.24 && d->update_config.max_failure_ratio < 0.26);
	assert_true(d->rollback_config.set);
	assert_true(d->rollback_config.has_parallelism);
	assert_int_equal(d->rollback_config.parallelism, 0);
	assert_string_equal(d->rollback_config.order, "stop-first");
	assert_int_equal(app->limits.memory, 512LL * 1024 * 1024);
	/* db: mode only; nothing else set */
	assert_true(db->deploy.set);
	assert_string_equal(db->deploy.mode, "global");
	assert_false(db->deploy.has_replicas);
	assert_false(db->deploy.restart_set);
	assert_false(db->deploy.update_config.set);
	assert_null(db->deploy.update_config.order);
	assert_int_equal(db->deploy.constraints.len, 0);
	vd_compose_free(c);
}

static void compose__limits(void **state)
{
	vd_error err = VD_ERROR_INIT;
	vd_compose_source src = { "big.yml", NULL, 0 };
	vd_compose_options opts = { "/proj", NULL, NULL, NULL };
	vd_compose *c = NULL;
	vd_buf b = VD_BUF_INIT;
	int i;

	/* over 16 MiB: refused before parsing */
	src.len = VD_COMPOSE_MAX_FILE + 1;
	src.text = calloc(1, src.len);
	assert_non_null(src.text);
	assert_int_equal(vd_compose_load(&src, 1, &opts, &c, &err), VD_EINVAL);
	assert_string_equal(vd_error_msg(&err), "big.yml: file is larger than 16 MiB");
	free((char *)src.text);

	/* nesting deeper than 64 */
	vd_buf_puts(&b, "x-deep: ");
	for (i = 0; i < 100; i++)
		vd_buf_putc(&b, '[');
	for (i = 0; i < 100; i++)
		vd_buf_putc(&b, ']');
	vd_buf_puts(&b, "\nservices: {a: {image: x}}\n");
	src.text = vd_buf_cstr(&b);
	src.len = b.len;
	assert_int_equal(vd_compose_load(&src, 1, &opts, &c, &err), VD_EINVAL);
	assert_string_equal(vd_error_msg(&err), "big.yml:1:72: nesting deeper than 64 levels");
	vd_buf_clear(&b);

	/* a billion laughs through merge keys and aliases is bounded */
	vd_buf_puts(&b, "x-0: &a0 {k0: v}\n");
	for (i = 1; i < 40; i++)
		vd_buf_printf(&b, "x-%d: &a%d [*a%d, *a%d, *a%d, *a%d]\n", i, i, i - 1, i - 1, i - 1, i - 1);
	vd_buf_puts(&b, "services:\n  a:\n    image: x\n    volumes: *a39\n");
	src.text = vd_buf_cstr(&b);
	src.len = b.len;
	assert_int_equal(vd_compose_load(&src, 1, &opts, &c, &err), VD_EINVAL);
	assert_string_equal(vd_error_msg(&err), "big.yml:39:12: service 'a': 'volumes' entries must be strings or mappings");
	vd_buf_clear(&b);
	vd_buf_puts(&b, "x-0: &a0 [a, b, c, d, e, f, g, h]\n");
	for (i = 1; i < 8; i++)
		vd_buf_printf(&b, "x-%d: &a%d {<<: [], l: [*a%d, *a%d]}\n", i, i, i - 1, i - 1);
	vd_buf_puts(&b, "services:\n  a:\n    image: x\n    cap_add: *a0\n");
	src.text = vd_buf_cstr(&b);
	src.len = b.len;
	assert_int_equal(vd_compose_load(&src, 1, &opts, &c, &err), 0);
	vd_compose_free(c);
	vd_buf_clear(&b);

	/* mappings sharing children: merging two files would walk 2^40 paths */
	vd_buf_puts(&b, "x-0: &m0 {k: v}\n");
	for (i = 1; i < 40; i++)
		vd_buf_printf(&b, "x-%d: &m%d {a: *m%d, b: *m%d}\n", i, i, i - 1, i - 1);
	vd_buf_puts(&b, "services:\n  a:\n    image: x\n    deploy: {resources: *m39}\n");
	{
		vd_compose_source two[2] = { { "one.yml", vd_buf_cstr(&b), b.len },
					     { "two.yml", vd_buf_cstr(&b), b.len } };

		assert_int_equal(vd_compose_load(two, 2, &opts, &c, &err), VD_EINVAL);
		assert_string_equal(vd_error_msg(&err), "two.yml:1:10: aliases expand to too much content");
	}
	vd_buf_release(&b);

	/* no files, relative project dir */
	assert_int_equal(vd_compose_load(&src, 0, &opts, &c, &err), VD_EINVAL);
	opts.project_dir = "rel";
	assert_int_equal(vd_compose_load(&src, 1, &opts, &c, &err), VD_EINVAL);
	vd_error_release(&err);
}

static void compose__missing_files(void **state)
{
	char *files[1] = { VOX "/nope.yml" };
	vd_project p = { VOX, files, 1, "x" };
	vd_error err = VD_ERROR_INIT;
	vd_compose *c = NULL;

	assert_int_equal(vd_compose_load_project(&p, NULL, NULL, &c, &err), VD_ENOTFOUND);
	p.n_files = 0;
	assert_int_equal(vd_compose_load_project(&p, NULL, NULL, &c, &err), VD_ENOTFOUND);
	assert_null(c);
	vd_compose_free(NULL);
	vd_error_release(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(compose__voxpersona),
		cmocka_unit_test(compose__build_options),
		cmocka_unit_test(compose__override),
		cmocka_unit_test(compose__service_env),
		cmocka_unit_test(compose__pairs),
		cmocka_unit_test(compose__key_forms),
		cmocka_unit_test(compose__anchors_and_merge_keys),
		cmocka_unit_test(compose__interpolation),
		cmocka_unit_test(compose__bad_input),
		cmocka_unit_test(compose__bad_override),
		cmocka_unit_test(compose__override_rules),
		cmocka_unit_test(compose__order),
		cmocka_unit_test(compose__more_keys),
		cmocka_unit_test(compose__scalars),
		cmocka_unit_test(compose__deploy_keys),
		cmocka_unit_test(compose__limits),
		cmocka_unit_test(compose__missing_files),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
