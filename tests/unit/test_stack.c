/* Unit tests of controller/model/stack: the ServiceSpec and network bodies a
 * compose file becomes on a swarm, and what a stack cannot carry. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "testutil.h"
#include "controller/model/stack.h"
#include "controller/rollout/backup.h"
#include "controller/rollout/release.h"

#define VOX VD_TEST_DATA "/compose/voxpersona"

static const char *kvs_lookup(const char *name, void *ctx)
{
	return vd_kvs_get(ctx, name);
}

static vd_compose *load_with(const char *text, vd_kvs *env)
{
	vd_compose_source src = { "compose.yaml", text, strlen(text) };
	vd_compose_options opts = { "/proj", "proj", env ? kvs_lookup : NULL, env };
	vd_error err = VD_ERROR_INIT;
	vd_compose *c = NULL;

	if (vd_compose_load(&src, 1, &opts, &c, &err))
		fail_msg("load failed: %s\n%s", vd_error_msg(&err), text);
	vd_error_release(&err);
	return c;
}

static vd_compose *load_text(const char *text)
{
	return load_with(text, NULL);
}

/* The ServiceSpec of a service, parsed. */
static yajl_val spec_of(const vd_compose *c, const char *service, const vd_stack_options *o)
{
	const vd_compose_service *s = vd_compose_service_find(c, service);
	vd_error err = VD_ERROR_INIT;
	vd_buf out = VD_BUF_INIT;
	yajl_val v;

	assert_non_null(s);
	if (vd_stack_service_spec(c, s, o, &out, &err))
		fail_msg("spec %s: %s", service, vd_error_msg(&err));
	v = vd_json_parse(vd_buf_cstr(&out), &err);
	assert_non_null(v);
	vd_buf_release(&out);
	vd_error_release(&err);
	return v;
}


#define P(...) __VA_ARGS__, (const char *)NULL

/* ------------------------------------------------------------------ */

static const char *RICH =
	"services:\n"
	"  web:\n"
	"    image: web:1\n"
	"    entrypoint: [\"/bin/run\"]\n"
	"    command: serve --port 80\n"
	"    environment: {ZED: last, ALPHA: first, MID: \"a=b\"}\n"
	"    labels: {team: bots}\n"
	"    user: \"1000\"\n"
	"    working_dir: /srv\n"
	"    hostname: web1\n"
	"    extra_hosts: [\"db.local:10.0.0.5\"]\n"
	"    dns: [1.1.1.1]\n"
	"    init: true\n"
	"    read_only: true\n"
	"    stop_grace_period: 20s\n"
	"    stop_signal: SIGINT\n"
	"    cap_add: [NET_ADMIN]\n"
	"    sysctls: {net.core.somaxconn: \"1024\"}\n"
	"    ulimits: {nproc: 100, nofile: {soft: 10, hard: 20}}\n"
	"    restart: unless-stopped\n"
	"    mem_limit: 64m\n"
	"    healthcheck: {test: \"wget -q -O- localhost/health\", interval: 2s, retries: 3}\n"
	"    logging: {driver: json-file, options: {max-size: 10m}}\n"
	"    ports: [\"8080:80\", {target: 443, published: 8443, mode: host}, \"81:81/udp\"]\n"
	"    volumes: [\"data:/data\", \"/etc/web:/etc/web:ro\", {type: tmpfs, target: /tmp, "
	"tmpfs: {size: 1024}}, \"outside:/o\"]\n"
	"    networks: {front: {aliases: [www]}, back: {}}\n"
	"    deploy:\n"
	"      replicas: 2\n"
	"      endpoint_mode: dnsrr\n"
	"      labels: {tier: edge}\n"
	"      placement: {constraints: [\"node.role==worker\"], preferences: [{spread: "
	"node.labels.zone}], max_replicas_per_node: 1}\n"
	"      resources: {limits: {cpus: \"0.5\"}, reservations: {memory: 32m}}\n"
	"      update_config: {delay: 1s, monitor: 3s, failure_action: pause}\n"
	"    container_name: web_one\n"
	"    expose: [\"9000\"]\n"
	"volumes:\n"
	"  data: {labels: {keep: \"yes\"}, driver: local}\n"
	"  outside: {external: true, name: shared_outside}\n"
	"networks:\n"
	"  front: {}\n"
	"  back: {name: the_back, driver: overlay, attachable: true}\n";

static void stack__service_spec(void **state)
{
	vd_compose *c = load_text(RICH);
	vd_stack_options o = { .commit = "0123456789abcdef", .deploy_id = "d-1" };
	yajl_val v = spec_of(c, "web", &o);
	char *name = vd_stack_service_name(c, "web");

	(void)state;
	assert_string_equal(name, "proj_web");
	free(name);
	tu_assert_json_at(v, "\"proj_web\"", P("Name"));
	tu_assert_json_at(v, "{\"tier\":\"edge\",\"com.docker.stack.namespace\":\"proj\","
		       "\"com.docker.stack.image\":\"web:1\",\"io.voxdeploy.commit\":\"0123456789abcdef\","
		       "\"io.voxdeploy.deploy-id\":\"d-1\"}",
		    P("Labels"));
	tu_assert_json_at(v, "\"web:1\"", P("TaskTemplate", "ContainerSpec", "Image"));
	tu_assert_json_at(v, "{\"team\":\"bots\",\"com.docker.stack.namespace\":\"proj\"}",
		    P("TaskTemplate", "ContainerSpec", "Labels"));
	tu_assert_json_at(v, "[\"/bin/run\"]", P("TaskTemplate", "ContainerSpec", "Command"));
	tu_assert_json_at(v, "[\"serve\",\"--port\",\"80\"]", P("TaskTemplate", "ContainerSpec", "Args"));
	tu_assert_json_at(v, "[\"ALPHA=first\",\"MID=a=b\",\"ZED=last\"]", P("TaskTemplate", "ContainerSpec", "Env"));
	tu_assert_json_at(v, "\"1000\"", P("TaskTemplate", "ContainerSpec", "User"));
	tu_assert_json_at(v, "\"/srv\"", P("TaskTemplate", "ContainerSpec", "Dir"));
	tu_assert_json_at(v, "\"web1\"", P("TaskTemplate", "ContainerSpec", "Hostname"));
	tu_assert_json_at(v, "[\"10.0.0.5 db.local\"]", P("TaskTemplate", "ContainerSpec", "Hosts"));
	tu_assert_json_at(v, "{\"Nameservers\":[\"1.1.1.1\"]}", P("TaskTemplate", "ContainerSpec", "DNSConfig"));
	tu_assert_json_at(v, "true", P("TaskTemplate", "ContainerSpec", "Init"));
	tu_assert_json_at(v, "true", P("TaskTemplate", "ContainerSpec", "ReadOnly"));
	tu_assert_json_at(v, "20000000000", P("TaskTemplate", "ContainerSpec", "StopGracePeriod"));
	tu_assert_json_at(v, "\"SIGINT\"", P("TaskTemplate", "ContainerSpec", "StopSignal"));
	tu_assert_json_at(v, "[\"CAP_NET_ADMIN\"]", P("TaskTemplate", "ContainerSpec", "CapabilityAdd"));
	tu_assert_json_at(v, "{\"CredentialSpec\":null,\"SELinuxContext\":null}",
		    P("TaskTemplate", "ContainerSpec", "Privileges"));
	tu_assert_json_at(v, "{\"net.core.somaxconn\":\"1024\"}", P("TaskTemplate", "ContainerSpec", "Sysctls"));
	tu_assert_json_at(v, "[{\"Name\":\"nofile\",\"Soft\":10,\"Hard\":20},{\"Name\":\"nproc\",\"Soft\":100,"
		       "\"Hard\":100}]",
		    P("TaskTemplate", "ContainerSpec", "Ulimits"));
	tu_assert_json_at(v, "{\"Test\":[\"CMD-SHELL\",\"wget -q -O- localhost/health\"],\"Interval\":2000000000,"
		       "\"Retries\":3}",
		    P("TaskTemplate", "ContainerSpec", "Healthcheck"));
	tu_assert_json_at(v, "[{\"Type\":\"volume\",\"Source\":\"proj_data\",\"Target\":\"/data\",\"VolumeOptions\":"
		       "{\"Labels\":{\"keep\":\"yes\",\"com.docker.stack.namespace\":\"proj\"},"
		       "\"DriverConfig\":{\"Name\":\"local\"}}},"
		       "{\"Type\":\"bind\",\"Source\":\"/etc/web\",\"Target\":\"/etc/web\",\"ReadOnly\":true},"
		       "{\"Type\":\"tmpfs\",\"Target\":\"/tmp\",\"TmpfsOptions\":{\"SizeBytes\":1024}},"
		       "{\"Type\":\"volume\",\"Source\":\"shared_outside\",\"Target\":\"/o\",\"VolumeOptions\":{}}]",
		    P("TaskTemplate", "ContainerSpec", "Mounts"));
	/* container_name and expose leave no trace */
	tu_assert_json_at(v, "absent", P("TaskTemplate", "ContainerSpec", "ContainerName"));
	tu_assert_json_at(v, "{\"Name\":\"json-file\",\"Options\":{\"max-size\":\"10m\"}}",
		    P("TaskTemplate", "LogDriver"));
	/* cpus from deploy.resources.limits, memory from mem_limit */
	tu_assert_json_at(v, "{\"Limits\":{\"NanoCPUs\":500000000,\"MemoryBytes\":67108864},"
		       "\"Reservations\":{\"MemoryBytes\":33554432}}",
		    P("TaskTemplate", "Resources"));
	tu_assert_json_at(v, "{\"Condition\":\"any\"}", P("TaskTemplate", "RestartPolicy"));
	tu_assert_json_at(v, "{\"Constraints\":[\"node.role==worker\"],\"Preferences\":[{\"Spread\":"
		       "{\"SpreadDescriptor\":\"node.labels.zone\"}}],\"MaxReplicas\":1}",
		    P("TaskTemplate", "Placement"));
	/* sorted by the engine's name: proj_front before the_back */
	tu_assert_json_at(v, "[{\"Target\":\"proj_front\",\"Aliases\":[\"www\",\"web\"]},"
		       "{\"Target\":\"the_back\",\"Aliases\":[\"web\"]}]",
		    P("TaskTemplate", "Networks"));
	tu_assert_json_at(v, "absent", P("TaskTemplate", "ForceUpdate"));
	tu_assert_json_at(v, "{\"Replicated\":{\"Replicas\":2}}", P("Mode"));
	tu_assert_json_at(v, "{\"Parallelism\":1,\"Delay\":1000000000,\"FailureAction\":\"pause\","
		       "\"Monitor\":3000000000,\"Order\":\"\"}",
		    P("UpdateConfig"));
	tu_assert_json_at(v, "absent", P("RollbackConfig"));
	tu_assert_json_at(v, "{\"Mode\":\"dnsrr\",\"Ports\":["
		       "{\"Protocol\":\"udp\",\"TargetPort\":81,\"PublishedPort\":81,\"PublishMode\":\"ingress\"},"
		       "{\"Protocol\":\"tcp\",\"TargetPort\":80,\"PublishedPort\":8080,\"PublishMode\":\"ingress\"},"
		       "{\"Protocol\":\"tcp\",\"TargetPort\":443,\"PublishedPort\":8443,\"PublishMode\":\"host\"}]}",
		    P("EndpointSpec"));
	yajl_tree_free(v);
	vd_compose_free(c);
}

/* deploy.release on a swarm: a job of the service's spec — its command as
 * Args, no HEALTHCHECK, no restart, no ports, no aliases, not in the stack. */
static void stack__release_job(void **state)
{
	vd_compose *c = load_text(RICH);
	vd_stack_options o = { .commit = "0123456789abcdef", .deploy_id = "d-1" };
	vd_buf spec = VD_BUF_INIT, job = VD_BUF_INIT;
	vd_error err = VD_ERROR_INIT;
	char *argv[] = { "python", "-m", "migrate" };
	yajl_val v;

	(void)state;
	assert_int_equal(vd_stack_service_spec(c, vd_compose_service_find(c, "web"), &o, &spec, &err), 0);
	assert_int_equal(vd_release_job_spec(vd_buf_cstr(&spec), argv, 3, &job, &err), 0);
	v = vd_json_parse(vd_buf_cstr(&job), &err);
	assert_non_null(v);
	tu_assert_json_at(v, "\"proj_web-voxdeploy-release\"", P("Name"));
	tu_assert_json_at(v, "{\"ReplicatedJob\":{\"MaxConcurrent\":1,\"TotalCompletions\":1}}", P("Mode"));
	tu_assert_json_at(v, "{\"tier\":\"edge\",\"com.docker.stack.image\":\"web:1\","
		       "\"io.voxdeploy.commit\":\"0123456789abcdef\",\"io.voxdeploy.deploy-id\":\"d-1\","
		       "\"io.voxdeploy.oneoff\":\"True\"}",
		    P("Labels"));
	/* the entrypoint stays, the command is the release's */
	tu_assert_json_at(v, "[\"/bin/run\"]", P("TaskTemplate", "ContainerSpec", "Command"));
	tu_assert_json_at(v, "[\"python\",\"-m\",\"migrate\"]", P("TaskTemplate", "ContainerSpec", "Args"));
	tu_assert_json_at(v, "{\"Test\":[\"NONE\"]}", P("TaskTemplate", "ContainerSpec", "Healthcheck"));
	tu_assert_json_at(v, "\"web:1\"", P("TaskTemplate", "ContainerSpec", "Image"));
	tu_assert_json_at(v, "[\"ALPHA=first\",\"MID=a=b\",\"ZED=last\"]", P("TaskTemplate", "ContainerSpec", "Env"));
	tu_assert_json_at(v, "{\"Condition\":\"none\"}", P("TaskTemplate", "RestartPolicy"));
	tu_assert_json_at(v, "[{\"Target\":\"proj_front\"},{\"Target\":\"the_back\"}]", P("TaskTemplate", "Networks"));
	tu_assert_json_at(v, "absent", P("UpdateConfig"));
	tu_assert_json_at(v, "absent", P("RollbackConfig"));
	tu_assert_json_at(v, "absent", P("EndpointSpec"));
	yajl_tree_free(v);
	/* no command, or not a spec */
	vd_buf_clear(&job);
	assert_int_equal(vd_release_job_spec(vd_buf_cstr(&spec), argv, 0, &job, &err), VD_EINVAL);
	vd_error_release(&err);
	assert_int_equal(vd_release_job_spec("[1]", argv, 3, &job, &err), VD_EINVAL);
	vd_error_release(&err);
	vd_buf_release(&spec);
	vd_buf_release(&job);
	vd_compose_free(c);
}

/* A dump on a swarm: the helper container that runs pg_dump on the
 * manager — the database's image, only `sleep`, no HEALTHCHECK, on the
 * given network, labelled for its project. */
static void stack__dump_helper(void **state)
{
	vd_buf body = VD_BUF_INIT;
	vd_error err = VD_ERROR_INIT;
	yajl_val v;

	(void)state;
	assert_int_equal(vd_backup_helper_body("reg:5000/db@sha256:ab", "proj_default", "proj", &body, &err), 0);
	v = vd_json_parse(vd_buf_cstr(&body), &err);
	assert_non_null(v);
	tu_assert_json_at(v, "\"reg:5000/db@sha256:ab\"", P("Image"));
	tu_assert_json_at(v, "[\"sleep\"]", P("Entrypoint"));
	tu_assert_json_at(v, "[\"86400\"]", P("Cmd"));
	tu_assert_json_at(v, "{\"Test\":[\"NONE\"]}", P("Healthcheck"));
	tu_assert_json_at(v, "{\"io.voxdeploy.dump\":\"proj\",\"io.voxdeploy.oneoff\":\"True\"}", P("Labels"));
	tu_assert_json_at(v, "\"proj_default\"", P("HostConfig", "NetworkMode"));
	tu_assert_json_at(v, "{\"proj_default\":{}}", P("NetworkingConfig", "EndpointsConfig"));
	tu_assert_json_at(v, "absent", P("Env"));
	yajl_tree_free(v);
	vd_buf_release(&body);
}

static void stack__options_and_defaults(void **state)
{
	vd_compose *c = load_text("services:\n"
				  "  app:\n"
				  "    build: .\n"
				  "    restart: on-failure:3\n"
				  "    deploy: {labels: {com.docker.stack.namespace: other, io.voxdeploy.commit: x}}\n"
				  "  once:\n"
				  "    image: job:1\n"
				  "    restart: \"no\"\n"
				  "    deploy:\n"
				  "      mode: global\n"
				  "      restart_policy: {condition: on-failure, delay: 2s, max_attempts: 0, window: 1m}\n"
				  "      update_config: {parallelism: 0, order: start-first, max_failure_ratio: 0.5}\n"
				  "      rollback_config: {parallelism: 2}\n"
				  "  plain:\n"
				  "    image: plain:1\n"
				  "    restart: \"no\"\n");
	vd_stack_options o = { .image = "reg:5000/proj-app:voxdeploy-0123456789ab@sha256:aa",
			       .image_label = "reg:5000/proj-app:voxdeploy-0123456789ab",
			       .start_first = true, .force_update = 3 };
	yajl_val v = spec_of(c, "app", &o);

	(void)state;
	tu_assert_json_at(v, "\"reg:5000/proj-app:voxdeploy-0123456789ab@sha256:aa\"",
		    P("TaskTemplate", "ContainerSpec", "Image"));
	/* the file cannot take the namespace nor voxdeploy's labels */
	tu_assert_json_at(v, "{\"com.docker.stack.namespace\":\"proj\",\"com.docker.stack.image\":"
		       "\"reg:5000/proj-app:voxdeploy-0123456789ab\"}",
		    P("Labels"));
	tu_assert_json_at(v, "{\"Condition\":\"on-failure\",\"MaxAttempts\":3}", P("TaskTemplate", "RestartPolicy"));
	tu_assert_json_at(v, "[{\"Target\":\"proj_default\",\"Aliases\":[\"app\"]}]", P("TaskTemplate", "Networks"));
	tu_assert_json_at(v, "3", P("TaskTemplate", "ForceUpdate"));
	tu_assert_json_at(v, "{}", P("TaskTemplate", "Resources"));
	tu_assert_json_at(v, "{}", P("TaskTemplate", "Placement"));
	tu_assert_json_at(v, "absent", P("TaskTemplate", "ContainerSpec", "Args"));
	tu_assert_json_at(v, "[]", P("TaskTemplate", "ContainerSpec", "Env"));
	tu_assert_json_at(v, "{\"Replicated\":{\"Replicas\":1}}", P("Mode"));
	/* voxdeploy.yml's start-first makes an UpdateConfig of its own */
	tu_assert_json_at(v, "{\"Parallelism\":1,\"Order\":\"start-first\"}", P("UpdateConfig"));
	tu_assert_json_at(v, "{}", P("EndpointSpec"));
	yajl_tree_free(v);

	v = spec_of(c, "once", NULL);
	tu_assert_json_at(v, "{\"Global\":{}}", P("Mode"));
	tu_assert_json_at(v, "{\"Condition\":\"on-failure\",\"Delay\":2000000000,\"MaxAttempts\":0,"
		       "\"Window\":60000000000}",
		    P("TaskTemplate", "RestartPolicy"));
	tu_assert_json_at(v, "{\"Parallelism\":0,\"MaxFailureRatio\":0.5,\"Order\":\"start-first\"}",
		    P("UpdateConfig"));
	tu_assert_json_at(v, "{\"Parallelism\":2,\"Order\":\"\"}", P("RollbackConfig"));
	tu_assert_json_at(v, "\"job:1\"", P("Labels", "com.docker.stack.image"));
	yajl_tree_free(v);

	v = spec_of(c, "plain", NULL);
	tu_assert_json_at(v, "absent", P("TaskTemplate", "RestartPolicy"));
	tu_assert_json_at(v, "absent", P("Labels", "io.voxdeploy.commit"));
	yajl_tree_free(v);
	vd_compose_free(c);
}

static void stack__env_from_lookup(void **state)
{
	vd_kvs env = { NULL, 0 };
	vd_stack_options o = { .lookup = kvs_lookup, .lookup_ctx = &env };
	vd_compose *c;
	yajl_val v;

	(void)state;
	assert_int_equal(vd_kvs_add(&env, "TOKEN", "123:abc"), 0);
	c = load_with("services:\n  app:\n    image: a:1\n    environment: [TOKEN, UNSET]\n", &env);
	v = spec_of(c, "app", &o);
	tu_assert_json_at(v, "[\"TOKEN=123:abc\"]", P("TaskTemplate", "ContainerSpec", "Env"));
	yajl_tree_free(v);
	vd_kvs_release(&env);
	vd_compose_free(c);
}

static void expect_refused(const char *text, const char *want)
{
	vd_compose *c = load_text(text);
	vd_error err = VD_ERROR_INIT;
	vd_buf out = VD_BUF_INIT;
	size_t i;
	int r = vd_stack_check(c, &err);

	if (r != VD_EINVAL || !strstr(vd_error_msg(&err), want))
		fail_msg("want VD_EINVAL with '%s'\n got %d: %s\n%s", want, r, vd_error_msg(&err), text);
	vd_error_release(&err);
	/* the spec of the service refuses it too (not for a network) */
	for (i = 0; i < c->n_services; i++) {
		r = vd_stack_service_spec(c, &c->services[i], NULL, &out, &err);
		if (r == VD_EINVAL)
			break;
		vd_error_release(&err);
	}
	if (!strstr(want, "overlay") && (r != VD_EINVAL || !strstr(vd_error_msg(&err), want)))
		fail_msg("spec: want '%s'\n got %d: %s", want, r, vd_error_msg(&err));
	vd_error_release(&err);
	vd_buf_release(&out);
	vd_compose_free(c);
}

static void stack__refused(void **state)
{
	(void)state;
	expect_refused("services:\n  a:\n    image: a\n  b:\n    image: b\n    network_mode: host\n",
		       "compose.yaml:4:3: service 'b': network_mode cannot be used on a swarm");
	expect_refused("services:\n  a:\n    image: a\n    privileged: true\n",
		       "compose.yaml:2:3: service 'a': privileged cannot be used on a swarm");
	expect_refused("services:\n  db:\n    image: pg\n    ports: [\"127.0.0.1:5432:5432\"]\n",
		       "service 'db': a port published on one host address cannot be used on a swarm");
	expect_refused("services:\n  a:\n    image: a\n    ports: [\"8000-8002:80\"]\n",
		       "a range of host ports for one container port");
	expect_refused("services:\n  a:\n    image: a\n    links: [b]\n  b:\n    image: b\n",
		       "links cannot be used on a swarm");
	expect_refused("services:\n  a:\n    image: a\n    devices: [\"/dev/fuse\"]\n", "devices cannot");
	expect_refused("services:\n  a:\n    image: a\n    shm_size: 64m\n", "shm_size cannot");
	expect_refused("services:\n  a:\n    image: a\n    tmpfs: [/run]\n", "a volume of type tmpfs");
	expect_refused("services:\n  a:\n    image: a\n    security_opt: [\"no-new-privileges\"]\n",
		       "security_opt cannot");
	expect_refused("services:\n  a:\n    image: a\n    volumes: [\"/d:/d:z\"]\n", "SELinux relabel");
	expect_refused("services:\n  a:\n    image: a\n    networks: {n: {ipv4_address: 10.1.0.5}}\n"
		       "networks:\n  n: {}\n",
		       "a fixed address on a network");
	expect_refused("services:\n  a:\n    image: a\n    secrets: [s]\nsecrets:\n  s: {file: ./s}\n",
		       "secrets are not deployed to a swarm");
	expect_refused("services:\n  a:\n    image: a\n    networks: [n]\nnetworks:\n  n:\n    driver: bridge\n",
		       "compose.yaml:6:3: network 'n': a stack's networks span nodes: its driver must be overlay");
}

static void stack__voxpersona_file(void **state)
{
	char *files[1] = { VOX "/docker-compose.yml" };
	vd_project p = { VOX, files, 1, "voxpersona" };
	vd_kvs env = { NULL, 0 };
	vd_error err = VD_ERROR_INIT;
	vd_compose *c = NULL;

	(void)state;
	assert_int_equal(vd_kvs_add(&env, "TELEGRAM_BOT_TOKEN", "123:abc"), 0);
	if (vd_compose_load_project(&p, kvs_lookup, &env, &c, &err))
		fail_msg("load: %s", vd_error_msg(&err));
	/* its PostgreSQL publishes on 127.0.0.1 only: a swarm could not keep that promise */
	assert_int_equal(vd_stack_check(c, &err), VD_EINVAL);
	assert_non_null(strstr(vd_error_msg(&err), "docker-compose.yml:"));
	assert_non_null(strstr(vd_error_msg(&err), "service 'postgres': a port published on one host address"));
	vd_error_release(&err);
	vd_compose_free(c);
	vd_kvs_release(&env);
}

static void stack__no_image(void **state)
{
	vd_compose *c = load_text("services:\n  app:\n    build: .\n");
	vd_error err = VD_ERROR_INIT;
	vd_buf out = VD_BUF_INIT;

	(void)state;
	assert_int_equal(vd_stack_check(c, &err), 0);
	assert_int_equal(vd_stack_service_spec(c, &c->services[0], NULL, &out, &err), VD_EINVAL);
	assert_non_null(strstr(vd_error_msg(&err), "service 'app': a swarm's service needs an image"));
	assert_int_equal(out.len, 0);
	vd_error_release(&err);
	vd_compose_free(c);
}

static void stack__networks(void **state)
{
	vd_compose *c = load_text("services:\n"
				  "  a:\n    image: a\n"
				  "  b:\n    image: b\n    networks: [n, ext]\n"
				  "networks:\n"
				  "  n:\n"
				  "    internal: true\n"
				  "    driver_opts: {encrypted: \"\"}\n"
				  "    labels: {k: v}\n"
				  "    ipam: {config: [{subnet: 10.9.0.0/24, gateway: 10.9.0.1}]}\n"
				  "  ext: {external: true}\n");
	vd_error err = VD_ERROR_INIT;
	vd_buf out = VD_BUF_INIT;

	(void)state;
	assert_int_equal(vd_stack_network(c, vd_compose_network_find(c, "default"), &out, &err), 0);
	assert_string_equal(vd_buf_cstr(&out), "{\"Name\":\"proj_default\",\"Driver\":\"overlay\","
					       "\"Attachable\":true,\"Labels\":{\"com.docker.stack.namespace\":\"proj\"}}");
	vd_buf_release(&out);
	assert_int_equal(vd_stack_network(c, vd_compose_network_find(c, "n"), &out, &err), 0);
	assert_string_equal(vd_buf_cstr(&out),
			    "{\"Name\":\"proj_n\",\"Driver\":\"overlay\",\"Options\":{\"encrypted\":\"\"},"
			    "\"Internal\":true,\"Attachable\":false,\"IPAM\":{\"Config\":[{\"Subnet\":"
			    "\"10.9.0.0/24\"}]},\"Labels\":{\"k\":\"v\",\"com.docker.stack.namespace\":\"proj\"}}");
	vd_buf_release(&out);
	assert_int_equal(vd_stack_network(c, vd_compose_network_find(c, "ext"), &out, &err), VD_EINVAL);
	assert_non_null(strstr(vd_error_msg(&err), "external"));
	vd_error_release(&err);
	vd_buf_release(&out);
	vd_compose_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(stack__service_spec),
		cmocka_unit_test(stack__release_job),
		cmocka_unit_test(stack__dump_helper),
		cmocka_unit_test(stack__options_and_defaults),
		cmocka_unit_test(stack__env_from_lookup),
		cmocka_unit_test(stack__refused),
		cmocka_unit_test(stack__voxpersona_file),
		cmocka_unit_test(stack__no_image),
		cmocka_unit_test(stack__networks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
