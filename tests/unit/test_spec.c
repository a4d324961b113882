/* Unit tests of controller/model/spec: the create requests compose would send,
 * the network and volume bodies, and the config hash. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "testutil.h"
#include "controller/model/spec.h"

#define VOX VD_TEST_DATA "/compose/voxpersona"

static const char *kvs_lookup(const char *name, void *ctx)
{
	return vd_kvs_get(ctx, name);
}

static vd_kvs test_env(void)
{
	vd_kvs env = { NULL, 0 };

	assert_int_equal(vd_kvs_add(&env, "DB_PASSWORD", "s3cret"), 0);
	assert_int_equal(vd_kvs_add(&env, "TELEGRAM_BOT_TOKEN", "123:abc"), 0);
	return env;
}

static vd_compose *load_vox(bool with_override, vd_kvs *env)
{
	char *files[2] = { VOX "/docker-compose.yml", VOX "/docker-compose.override.yml" };
	vd_project p = { VOX, files, with_override ? 2 : 1, "voxpersona" };
	vd_error err = VD_ERROR_INIT;
	vd_compose *c = NULL;

	if (vd_compose_load_project(&p, kvs_lookup, env, &c, &err))
		fail_msg("load failed: %s", vd_error_msg(&err));
	vd_error_release(&err);
	return c;
}

static vd_compose *load_text(const char *text)
{
	vd_compose_source src = { "compose.yaml", text, strlen(text) };
	vd_compose_options opts = { "/proj", "proj", NULL, NULL };
	vd_error err = VD_ERROR_INIT;
	vd_compose *c = NULL;

	if (vd_compose_load(&src, 1, &opts, &c, &err))
		fail_msg("load failed: %s\n%s", vd_error_msg(&err), text);
	vd_error_release(&err);
	return c;
}

/* The create body of a service, parsed. */
static yajl_val body_of(const vd_compose *c, const char *service, const vd_spec_options *o)
{
	const vd_compose_service *s = vd_compose_service_find(c, service);
	vd_error err = VD_ERROR_INIT;
	vd_buf out = VD_BUF_INIT;
	yajl_val v;

	assert_non_null(s);
	if (vd_spec_container(c, s, o, &out, &err))
		fail_msg("spec %s: %s", service, vd_error_msg(&err));
	v = vd_json_parse(vd_buf_cstr(&out), &err);
	assert_non_null(v);
	vd_buf_release(&out);
	vd_error_release(&err);
	return v;
}


static const char *label(yajl_val body, const char *key)
{
	return vd_json_str(vd_json_at(body, "Labels", (const char *)NULL), key);
}

/* ------------------------------------------------------------------ */

static void spec__sha256(void **state)
{
	char out[65];

	vd_spec_sha256_hex("", 0, out);
	assert_string_equal(out, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	vd_spec_sha256_hex("abc", 3, out);
	assert_string_equal(out, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	vd_spec_sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56, out);
	assert_string_equal(out, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

static void spec__names(void **state)
{
	vd_kvs env = test_env();
	vd_compose *c = load_vox(false, &env);
	vd_compose *d = load_text("services:\n  web:\n    build: .\n  db:\n    image: pg:15\n");
	char *s;

	s = vd_spec_container_name(c, vd_compose_service_find(c, "voxpersona"));
	assert_string_equal(s, "voxpersona_app");
	free(s);
	s = vd_spec_image_ref(c, vd_compose_service_find(c, "voxpersona"));
	assert_string_equal(s, "voxpersona-voxpersona");
	free(s);
	s = vd_spec_image_ref(c, vd_compose_service_find(c, "postgres"));
	assert_string_equal(s, "postgres:15");
	free(s);
	s = vd_spec_container_name(d, vd_compose_service_find(d, "web"));
	assert_string_equal(s, "proj-web-1");
	free(s);
	s = vd_spec_image_ref(d, vd_compose_service_find(d, "web"));
	assert_string_equal(s, "proj-web");
	free(s);
	vd_compose_free(c);
	vd_compose_free(d);
	vd_kvs_release(&env);
}

static void spec__vox_config(void **state)
{
	vd_kvs env = test_env();
	vd_compose *c = load_vox(true, &env);
	vd_spec_options o = VD_SPEC_OPTIONS_INIT;
	yajl_val app, pg, minio;

	o.lookup = kvs_lookup;
	o.lookup_ctx = &env;
	app = body_of(c, "voxpersona", &o);
	tu_assert_json_at(app, "\"voxpersona-voxpersona\"", "Image", NULL);
	tu_assert_json_at(app, "[\"TELEGRAM_BOT_TOKEN=123:abc\",\"EXTRA=1\",\"DB_HOST=db.internal\","
			 "\"POSTGRES_DB=bot_db\",\"POSTGRES_USER=voxpersona_user\",\"DB_PORT=5432\","
			 "\"DB_PASSWORD=s3cret\",\"MINIO_ENDPOINT=minio:9000\",\"PRICE=$5\","
			 "\"LOG_LEVEL=debug\"]",
		    "Env", NULL);
	tu_assert_json_at(app, "[\"python\",\"-m\",\"bot\",\"--debug\"]", "Cmd", NULL);
	tu_assert_json_at(app, "absent", "Entrypoint", NULL);
	tu_assert_json_at(app, "{\"8080/tcp\":{}}", "ExposedPorts", NULL);
	tu_assert_json_at(app, "absent", "Healthcheck", NULL);
	tu_assert_json_at(app, "absent", "Volumes", NULL);
	tu_assert_json_at(app, "absent", "StopTimeout", NULL);
	tu_assert_json_at(app, "true", "AttachStdout", NULL);

	pg = body_of(c, "postgres", &o);
	tu_assert_json_at(pg, "\"postgres:15\"", "Image", NULL);
	tu_assert_json_at(pg, "[\"POSTGRES_DB=bot_db\",\"POSTGRES_USER=voxpersona_user\","
			"\"POSTGRES_PASSWORD=s3cret\"]",
		    "Env", NULL);
	tu_assert_json_at(pg, "absent", "Cmd", NULL);
	tu_assert_json_at(pg, "{\"Test\":[\"CMD-SHELL\",\"pg_isready -U voxpersona_user -d bot_db\"],"
			"\"Interval\":2000000000,\"Timeout\":5000000000,\"StartPeriod\":30000000000,"
			"\"Retries\":5}",
		    "Healthcheck", NULL);
	tu_assert_json_at(pg, "{\"5432/tcp\":{}}", "ExposedPorts", NULL);

	minio = body_of(c, "minio", &o);
	tu_assert_json_at(minio, "[\"server\",\"/data\",\"--console-address\",\":9001\"]", "Cmd", NULL);
	tu_assert_json_at(minio, "{\"9000/tcp\":{},\"9001/tcp\":{}}", "ExposedPorts", NULL);

	yajl_tree_free(app);
	yajl_tree_free(pg);
	yajl_tree_free(minio);
	vd_compose_free(c);
	vd_kvs_release(&env);
}

static void spec__vox_labels(void **state)
{
	vd_kvs env = test_env(), extra = { NULL, 0 };
	vd_compose *c = load_vox(true, &env);
	vd_spec_options o = VD_SPEC_OPTIONS_INIT;
	yajl_val app, pg;
	const char *hash;

	assert_int_equal(vd_kvs_add(&extra, "io.voxdeploy.test", "1"), 0);
	o.lookup = kvs_lookup;
	o.lookup_ctx = &env;
	o.image_id = "sha256:abc";
	o.commit = "0123456789abcdef0123456789abcdef01234567";
	o.deploy_id = "d-42";
	o.extra_labels = &extra;
	app = body_of(c, "voxpersona", &o);
	assert_string_equal(label(app, "io.example.env"), "dev");
	assert_string_equal(label(app, "com.docker.compose.project"), "voxpersona");
	assert_string_equal(label(app, "com.docker.compose.service"), "voxpersona");
	assert_string_equal(label(app, "com.docker.compose.container-number"), "1");
	assert_string_equal(label(app, "com.docker.compose.oneoff"), "False");
	assert_string_equal(label(app, "com.docker.compose.version"), VD_SPEC_COMPOSE_VERSION);
	assert_string_equal(label(app, "com.docker.compose.project.working_dir"), VOX);
	assert_string_equal(label(app, "com.docker.compose.project.config_files"),
			    VOX "/docker-compose.yml," VOX "/docker-compose.override.yml");
	assert_string_equal(label(app, "com.docker.compose.depends_on"),
			    "postgres:service_healthy:false,minio:service_started:false");
	assert_string_equal(label(app, "com.docker.compose.image"), "sha256:abc");
	assert_string_equal(label(app, "io.voxdeploy.commit"), o.commit);
	assert_string_equal(label(app, "io.voxdeploy.deploy-id"), "d-42");
	assert_string_equal(label(app, "io.voxdeploy.test"), "1");
	hash = label(app, "com.docker.compose.config-hash");
	assert_non_null(hash);
	assert_int_equal(strlen(hash), 64);

	o.image_id = o.commit = o.deploy_id = NULL;
	o.extra_labels = NULL;
	pg = body_of(c, "postgres", &o);
	assert_string_equal(label(pg, "com.docker.compose.depends_on"), "");
	assert_null(label(pg, "com.docker.compose.image"));
	assert_null(label(pg, "io.voxdeploy.commit"));
	assert_null(label(pg, "io.voxdeploy.test"));
	yajl_tree_free(app);
	yajl_tree_free(pg);
	vd_compose_free(c);
	vd_kvs_release(&env);
	vd_kvs_release(&extra);
}

static void spec__vox_host_config(void **state)
{
	vd_kvs env = test_env();
	vd_compose *c = load_vox(true, &env);
	vd_spec_options o = VD_SPEC_OPTIONS_INIT;
	yajl_val app, pg;

	o.lookup = kvs_lookup;
	o.lookup_ctx = &env;
	app = body_of(c, "voxpersona", &o);
	tu_assert_json_at(app, "[\"" VOX "/logs-dev:/app/logs:rw\",\"" VOX "/prompts:/app/prompts:ro\"]",
		    "HostConfig", "Binds", NULL);
	tu_assert_json_at(app, "[{\"Type\":\"volume\",\"Source\":\"voxpersona_app_data\",\"Target\":\"/app/data\"}]",
		    "HostConfig", "Mounts", NULL);
	tu_assert_json_at(app, "{\"8080/tcp\":[{\"HostIp\":\"\",\"HostPort\":\"8080\"}]}", "HostConfig",
		    "PortBindings", NULL);
	tu_assert_json_at(app, "\"voxpersona_voxpersona_network\"", "HostConfig", "NetworkMode", NULL);
	tu_assert_json_at(app, "{\"Name\":\"unless-stopped\",\"MaximumRetryCount\":0}", "HostConfig",
		    "RestartPolicy", NULL);
	tu_assert_json_at(app, "{\"Type\":\"json-file\",\"Config\":{\"max-size\":\"10m\",\"max-file\":\"3\"}}",
		    "HostConfig", "LogConfig", NULL);
	tu_assert_json_at(app, "2147483648", "HostConfig", "Memory", NULL);
	tu_assert_json_at(app, "1500000000", "HostConfig", "NanoCpus", NULL);
	tu_assert_json_at(app, "absent", "HostConfig", "MemoryReservation", NULL);
	tu_assert_json_at(app, "absent", "HostConfig", "Privileged", NULL);

	pg = body_of(c, "postgres", &o);
	tu_assert_json_at(pg, "{\"5432/tcp\":[{\"HostIp\":\"127.0.0.1\",\"HostPort\":\"5432\"},"
			"{\"HostIp\":\"127.0.0.1\",\"HostPort\":\"5433\"}]}",
		    "HostConfig", "PortBindings", NULL);
	tu_assert_json_at(pg, "[\"" VOX "/sql_scripts:/docker-entrypoint-initdb.d:ro\"]", "HostConfig", "Binds",
		    NULL);
	tu_assert_json_at(pg, "[{\"Type\":\"volume\",\"Source\":\"voxpersona_postgres_data\","
			"\"Target\":\"/var/lib/postgresql/data\"}]",
		    "HostConfig", "Mounts", NULL);
	tu_assert_json_at(pg, "absent", "HostConfig", "Memory", NULL);
	yajl_tree_free(app);
	yajl_tree_free(pg);
	vd_compose_free(c);
	vd_kvs_release(&env);
}

static void spec__vox_networking(void **state)
{
	vd_kvs env = test_env();
	vd_compose *c = load_vox(true, &env);
	vd_spec_options o = VD_SPEC_OPTIONS_INIT;
	vd_error err = VD_ERROR_INIT;
	vd_buf out = VD_BUF_INIT;
	yajl_val app, adminer;

	o.lookup = kvs_lookup;
	o.lookup_ctx = &env;
	app = body_of(c, "voxpersona", &o);
	tu_assert_json_at(app, "{\"EndpointsConfig\":{\"voxpersona_voxpersona_network\":"
			 "{\"Aliases\":[\"voxpersona_app\",\"voxpersona\"]}}}",
		    "NetworkingConfig", NULL);
	adminer = body_of(c, "adminer", &o);
	tu_assert_json_at(adminer, "{\"EndpointsConfig\":{\"voxpersona_voxpersona_network\":"
			     "{\"Aliases\":[\"voxpersona-adminer-1\",\"adminer\"]}}}",
		    "NetworkingConfig", NULL);

	/* the project's network and volumes */
	assert_int_equal(vd_spec_network(c, vd_compose_network_find(c, "voxpersona_network"), NULL, &out,
					 &err),
			 0);
	assert_string_equal(vd_buf_cstr(&out),
			    "{\"Name\":\"voxpersona_voxpersona_network\",\"CheckDuplicate\":true,"
			    "\"Driver\":\"bridge\",\"IPAM\":{\"Config\":[{\"Subnet\":\"172.28.0.0/16\"}]},"
			    "\"Labels\":{\"com.docker.compose.project\":\"voxpersona\","
			    "\"com.docker.compose.network\":\"voxpersona_network\","
			    "\"com.docker.compose.version\":\"" VD_SPEC_COMPOSE_VERSION "\"}}");
	vd_buf_clear(&out);
	assert_int_equal(vd_spec_volume(c, vd_compose_volume_find(c, "postgres_data"), NULL, &out, &err), 0);
	assert_string_equal(vd_buf_cstr(&out),
			    "{\"Name\":\"voxpersona_postgres_data\",\"Labels\":{"
			    "\"com.docker.compose.project\":\"voxpersona\","
			    "\"com.docker.compose.volume\":\"postgres_data\","
			    "\"com.docker.compose.version\":\"" VD_SPEC_COMPOSE_VERSION "\"}}");
	assert_true(vd_spec_network_used(c, "voxpersona_network"));
	assert_true(vd_spec_volume_used(c, "minio_data"));
	assert_false(vd_spec_volume_used(c, "nope"));
	vd_buf_release(&out);
	yajl_tree_free(app);
	yajl_tree_free(adminer);
	vd_compose_free(c);
	vd_kvs_release(&env);
	vd_error_release(&err);
}

/* Every other key family, from one in-memory file. */
static const char families[] =
	"services:\n"
	"  a:\n"
	"    image: busybox\n"
	"    entrypoint: []\n"
	"    command: echo 'hi there'\n"
	"    user: \"1000:1000\"\n"
	"    working_dir: /srv\n"
	"    hostname: host-a\n"
	"    tty: true\n"
	"    stdin_open: true\n"
	"    stop_signal: SIGINT\n"
	"    stop_grace_period: 1m30s\n"
	"    expose: [\"3000\", \"4000/udp\"]\n"
	"    ports: [\"127.0.0.1::82\", \"9000-9001:90-91\"]\n"
	"    healthcheck: {disable: true}\n"
	"    volumes:\n"
	"      - /anon\n"
	"      - {type: volume, target: /anon-long}\n"
	"      - {type: tmpfs, target: /scratch, tmpfs: {size: 1024}}\n"
	"      - {type: bind, source: /srv/x, target: /x, bind: {propagation: rshared}}\n"
	"      - {type: bind, source: /srv/y, target: /y, bind: {create_host_path: true}}\n"
	"      - {type: volume, source: data, target: /data, read_only: true, volume: {nocopy: true}}\n"
	"    networks:\n"
	"      back: {aliases: [b1], ipv4_address: 10.1.0.5}\n"
	"      front: {}\n"
	"    extra_hosts: [\"db.local:10.0.0.5\"]\n"
	"    dns: [1.1.1.1]\n"
	"    cap_add: [NET_ADMIN]\n"
	"    cap_drop: [MKNOD]\n"
	"    security_opt: [\"no-new-privileges:true\"]\n"
	"    privileged: true\n"
	"    init: true\n"
	"    read_only: true\n"
	"    sysctls: {net.core.somaxconn: \"1024\"}\n"
	"    devices: [\"/dev/null:/dev/xnull:r\", \"/dev/zero\", \"/dev/fuse:rw\"]\n"
	"    tmpfs: [\"/run\", \"/tmp2:size=64k\"]\n"
	"    shm_size: 64m\n"
	"    ulimits: {nofile: {soft: 1024, hard: 2048}, nproc: 512}\n"
	"    restart: on-failure:3\n"
	"    logging: {driver: none}\n"
	"    mem_limit: 1g\n"
	"    cpus: 2\n"
	"    deploy: {resources: {limits: {memory: 256M, cpus: \"0.25\"}, reservations: {memory: 64M}}}\n"
	"  b:\n"
	"    image: busybox\n"
	"    network_mode: \"service:a\"\n"
	"    healthcheck: {test: [\"CMD\", \"true\"], interval: 500ms, retries: 2}\n"
	"  c:\n"
	"    image: busybox\n"
	"    network_mode: host\n"
	"    command: []\n"
	"networks:\n"
	"  front: {}\n"
	"  back: {internal: true, attachable: true, driver_opts: {mtu: \"1400\"},\n"
	"         ipam: {driver: default, config: [{subnet: 10.1.0.0/24, gateway: 10.1.0.1}]},\n"
	"         labels: {io.x: y}}\n"
	"volumes:\n"
	"  data: {driver: local, driver_opts: {type: tmpfs}, labels: {io.v: w}}\n";

static void spec__key_families(void **state)
{
	vd_compose *c = load_text(families);
	vd_error err = VD_ERROR_INIT;
	vd_buf out = VD_BUF_INIT;
	yajl_val a = body_of(c, "a", NULL), b = body_of(c, "b", NULL), cc = body_of(c, "c", NULL);

	tu_assert_json_at(a, "[]", "Entrypoint", NULL);
	tu_assert_json_at(a, "[\"echo\",\"hi there\"]", "Cmd", NULL);
	tu_assert_json_at(a, "\"1000:1000\"", "User", NULL);
	tu_assert_json_at(a, "\"/srv\"", "WorkingDir", NULL);
	tu_assert_json_at(a, "\"host-a\"", "Hostname", NULL);
	tu_assert_json_at(a, "true", "Tty", NULL);
	tu_assert_json_at(a, "true", "OpenStdin", NULL);
	tu_assert_json_at(a, "\"SIGINT\"", "StopSignal", NULL);
	tu_assert_json_at(a, "90", "StopTimeout", NULL);
	tu_assert_json_at(a, "{\"3000/tcp\":{},\"4000/udp\":{},\"82/tcp\":{},\"90/tcp\":{},\"91/tcp\":{}}",
		    "ExposedPorts", NULL);
	tu_assert_json_at(a, "{\"Test\":[\"NONE\"]}", "Healthcheck", NULL);
	tu_assert_json_at(a, "{\"/anon\":{}}", "Volumes", NULL);
	tu_assert_json_at(a, "[\"/srv/y:/y:rw\"]", "HostConfig", "Binds", NULL);
	tu_assert_json_at(a, "[{\"Type\":\"volume\",\"Target\":\"/anon-long\"},"
		       "{\"Type\":\"tmpfs\",\"Target\":\"/scratch\",\"TmpfsOptions\":{\"SizeBytes\":1024}},"
		       "{\"Type\":\"bind\",\"Source\":\"/srv/x\",\"Target\":\"/x\","
		       "\"BindOptions\":{\"Propagation\":\"rshared\"}},"
		       "{\"Type\":\"volume\",\"Source\":\"proj_data\",\"Target\":\"/data\",\"ReadOnly\":true,"
		       "\"VolumeOptions\":{\"NoCopy\":true}}]",
		    "HostConfig", "Mounts", NULL);
	tu_assert_json_at(a, "{\"82/tcp\":[{\"HostIp\":\"127.0.0.1\",\"HostPort\":\"\"}],"
		       "\"90/tcp\":[{\"HostIp\":\"\",\"HostPort\":\"9000\"}],"
		       "\"91/tcp\":[{\"HostIp\":\"\",\"HostPort\":\"9001\"}]}",
		    "HostConfig", "PortBindings", NULL);
	tu_assert_json_at(a, "\"proj_back\"", "HostConfig", "NetworkMode", NULL);
	tu_assert_json_at(a, "{\"Name\":\"on-failure\",\"MaximumRetryCount\":3}", "HostConfig", "RestartPolicy",
		    NULL);
	tu_assert_json_at(a, "{\"Type\":\"none\"}", "HostConfig", "LogConfig", NULL);
	tu_assert_json_at(a, "[\"db.local:10.0.0.5\"]", "HostConfig", "ExtraHosts", NULL);
	tu_assert_json_at(a, "[\"1.1.1.1\"]", "HostConfig", "Dns", NULL);
	tu_assert_json_at(a, "[\"NET_ADMIN\"]", "HostConfig", "CapAdd", NULL);
	tu_assert_json_at(a, "[\"MKNOD\"]", "HostConfig", "CapDrop", NULL);
	tu_assert_json_at(a, "[\"no-new-privileges:true\"]", "HostConfig", "SecurityOpt", NULL);
	tu_assert_json_at(a, "true", "HostConfig", "Privileged", NULL);
	tu_assert_json_at(a, "true", "HostConfig", "Init", NULL);
	tu_assert_json_at(a, "true", "HostConfig", "ReadonlyRootfs", NULL);
	tu_assert_json_at(a, "{\"net.core.somaxconn\":\"1024\"}", "HostConfig", "Sysctls", NULL);
	tu_assert_json_at(a, "[{\"PathOnHost\":\"/dev/null\",\"PathInContainer\":\"/dev/xnull\",\"CgroupPermissions\":\"r\"},"
		       "{\"PathOnHost\":\"/dev/zero\",\"PathInContainer\":\"/dev/zero\",\"CgroupPermissions\":\"rwm\"},"
		       "{\"PathOnHost\":\"/dev/fuse\",\"PathInContainer\":\"/dev/fuse\",\"CgroupPermissions\":\"rw\"}]",
		    "HostConfig", "Devices", NULL);
	tu_assert_json_at(a, "{\"/run\":\"\",\"/tmp2\":\"size=64k\"}", "HostConfig", "Tmpfs", NULL);
	tu_assert_json_at(a, "67108864", "HostConfig", "ShmSize", NULL);
	tu_assert_json_at(a, "[{\"Name\":\"nofile\",\"Soft\":1024,\"Hard\":2048},{\"Name\":\"nproc\",\"Soft\":512,\"Hard\":512}]",
		    "HostConfig", "Ulimits", NULL);
	/* deploy.resources.limits win over mem_limit/cpus, as in current compose */
	tu_assert_json_at(a, "268435456", "HostConfig", "Memory", NULL);
	tu_assert_json_at(a, "250000000", "HostConfig", "NanoCpus", NULL);
	tu_assert_json_at(a, "67108864", "HostConfig", "MemoryReservation", NULL);
	/* networks sorted by key: back is the primary one */
	tu_assert_json_at(a, "{\"EndpointsConfig\":{"
		       "\"proj_back\":{\"Aliases\":[\"proj-a-1\",\"a\",\"b1\"],\"IPAMConfig\":{\"IPv4Address\":\"10.1.0.5\"}},"
		       "\"proj_front\":{\"Aliases\":[\"proj-a-1\",\"a\"]}}}",
		    "NetworkingConfig", NULL);

	tu_assert_json_at(b, "\"container:proj-a-1\"", "HostConfig", "NetworkMode", NULL);
	tu_assert_json_at(b, "absent", "NetworkingConfig", NULL);
	tu_assert_json_at(b, "{\"Test\":[\"CMD\",\"true\"],\"Interval\":500000000,\"Retries\":2}", "Healthcheck", NULL);
	tu_assert_json_at(cc, "\"host\"", "HostConfig", "NetworkMode", NULL);
	tu_assert_json_at(cc, "[]", "Cmd", NULL);
	tu_assert_json_at(cc, "absent", "NetworkingConfig", NULL);

	assert_int_equal(vd_spec_network(c, vd_compose_network_find(c, "back"), NULL, &out, &err), 0);
	assert_string_equal(vd_buf_cstr(&out),
			    "{\"Name\":\"proj_back\",\"CheckDuplicate\":true,\"Options\":{\"mtu\":\"1400\"},"
			    "\"Internal\":true,\"Attachable\":true,\"IPAM\":{\"Driver\":\"default\",\"Config\":"
			    "[{\"Subnet\":\"10.1.0.0/24\",\"Gateway\":\"10.1.0.1\"}]},\"Labels\":{\"io.x\":\"y\","
			    "\"com.docker.compose.project\":\"proj\",\"com.docker.compose.network\":\"back\","
			    "\"com.docker.compose.version\":\"" VD_SPEC_COMPOSE_VERSION "\"}}");
	vd_buf_clear(&out);
	assert_int_equal(vd_spec_volume(c, vd_compose_volume_find(c, "data"), NULL, &out, &err), 0);
	assert_string_equal(vd_buf_cstr(&out),
			    "{\"Name\":\"proj_data\",\"Driver\":\"local\",\"DriverOpts\":{\"type\":\"tmpfs\"},"
			    "\"Labels\":{\"io.v\":\"w\",\"com.docker.compose.project\":\"proj\","
			    "\"com.docker.compose.volume\":\"data\","
			    "\"com.docker.compose.version\":\"" VD_SPEC_COMPOSE_VERSION "\"}}");
	vd_buf_release(&out);
	yajl_tree_free(a);
	yajl_tree_free(b);
	yajl_tree_free(cc);
	vd_compose_free(c);
	vd_error_release(&err);
}

static void spec__external(void **state)
{
	vd_compose *c = load_text("services:\n  a:\n    image: x\n    networks: [ext]\n"
				  "    volumes: [\"v:/v\"]\n"
				  "networks:\n  ext: {external: true}\n"
				  "volumes:\n  v: {external: true}\n");
	vd_error err = VD_ERROR_INIT;
	vd_buf out = VD_BUF_INIT;
	yajl_val a = body_of(c, "a", NULL);

	tu_assert_json_at(a, "\"ext\"", "HostConfig", "NetworkMode", NULL);
	tu_assert_json_at(a, "[{\"Type\":\"volume\",\"Source\":\"v\",\"Target\":\"/v\"}]", "HostConfig", "Mounts",
		    NULL);
	assert_int_equal(vd_spec_network(c, vd_compose_network_find(c, "ext"), NULL, &out, &err), VD_EINVAL);
	assert_int_equal(vd_spec_volume(c, vd_compose_volume_find(c, "v"), NULL, &out, &err), VD_EINVAL);
	assert_int_equal(out.len, 0);
	yajl_tree_free(a);
	vd_buf_release(&out);
	vd_error_release(&err);
	vd_compose_free(c);
}

/* ------------------------------------------------------------------ config hash */

static void hash_of(const char *text, const char *service, char out[65])
{
	vd_compose *c = load_text(text);
	vd_error err = VD_ERROR_INIT;
	yajl_val body;

	if (vd_spec_config_hash(c, vd_compose_service_find(c, service), NULL, out, &err))
		fail_msg("hash: %s", vd_error_msg(&err));
	/* the label carries the same hash */
	body = body_of(c, service, NULL);
	assert_string_equal(label(body, "com.docker.compose.config-hash"), out);
	yajl_tree_free(body);
	vd_compose_free(c);
}

#define BASE_SVC \
	"services:\n" \
	"  db:\n" \
	"    image: pg\n" \
	"  app:\n" \
	"    image: app:1\n"

static void spec__hash(void **state)
{
	static const char base[] = BASE_SVC
		"    environment: {A: \"1\", B: \"2\"}\n"
		"    labels: {l1: x, l2: y}\n"
		"    ports: [\"8080:80\"]\n";
	struct {
		const char *text;
		bool changes;
	} cases[] = {
		/* key order of maps: no change */
		{ BASE_SVC "    labels: {l2: y, l1: x}\n    ports: [\"8080:80\"]\n"
			   "    environment: {B: \"2\", A: \"1\"}\n", false },
		{ BASE_SVC "    environment: [A=1, B=2]\n    labels: [l1=x, l2=y]\n    ports: [\"8080:80\"]\n",
		  false },
		/* what compose's hash leaves out: build, pull_policy */
		{ BASE_SVC "    environment: {A: \"1\", B: \"2\"}\n    labels: {l1: x, l2: y}\n"
			   "    ports: [\"8080:80\"]\n    build: {context: ., target: prod}\n"
			   "    pull_policy: build\n", false },
		/* compose's hash covers depends_on and profiles */
		{ BASE_SVC "    environment: {A: \"1\", B: \"2\"}\n    labels: {l1: x, l2: y}\n"
			   "    ports: [\"8080:80\"]\n    depends_on: {db: {condition: service_healthy}}\n",
		  true },
		{ BASE_SVC "    environment: {A: \"1\", B: \"2\"}\n    labels: {l1: x, l2: y}\n"
			   "    ports: [\"8080:80\"]\n    profiles: [debug]\n", true },
		/* effective changes */
		{ BASE_SVC "    environment: {A: \"1\", B: \"3\"}\n    labels: {l1: x, l2: y}\n"
			   "    ports: [\"8080:80\"]\n", true },
		{ BASE_SVC "    environment: {A: \"1\", B: \"2\", C: \"\"}\n    labels: {l1: x, l2: y}\n"
			   "    ports: [\"8080:80\"]\n", true },
		{ BASE_SVC "    environment: {A: \"1\", B: \"2\"}\n    labels: {l1: x, l2: y}\n"
			   "    ports: [\"8081:80\"]\n", true },
		{ BASE_SVC "    environment: {A: \"1\", B: \"2\"}\n    labels: {l1: x, l2: z}\n"
			   "    ports: [\"8080:80\"]\n", true },
		{ "services:\n  db:\n    image: pg\n  app:\n    image: app:2\n"
		  "    environment: {A: \"1\", B: \"2\"}\n    labels: {l1: x, l2: y}\n"
		  "    ports: [\"8080:80\"]\n", true },
		{ BASE_SVC "    environment: {A: \"1\", B: \"2\"}\n    labels: {l1: x, l2: y}\n"
			   "    ports: [\"8080:80\"]\n    restart: always\n", true },
		{ BASE_SVC "    environment: {A: \"1\", B: \"2\"}\n    labels: {l1: x, l2: y}\n"
			   "    ports: [\"8080:80\"]\n    container_name: other\n", true },
	};
	char want[65], got[65], again[65];
	size_t i;

	hash_of(base, "app", want);
	hash_of(base, "app", again);
	assert_string_equal(want, again);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		hash_of(cases[i].text, "app", got);
		if (cases[i].changes == !strcmp(want, got))
			fail_msg("case %zu: the hash %s but should %s:\n%s", i,
				 cases[i].changes ? "stayed" : "changed", cases[i].changes ? "change" : "not",
				 cases[i].text);
	}
}

/* Known answers: the config-hash labels compose v2 (2.26) wrote for these
 * services at `up`. */
static void spec__hash_is_compose_v2s(void **state)
{
	static const char text[] =
		"services:\n"
		"  db:\n"
		"    image: pg\n"
		"  app:\n"
		"    image: app:1\n"
		"    command: [\"python\", \"-m\", \"bot\"]\n"
		"    environment: {A: \"1\", B: \"x<y&z\", C: \"\"}\n"
		"    labels: {l1: x, l2: y}\n"
		"    ports: [\"8080:80\", \"127.0.0.1::90/udp\"]\n"
		"    expose: [\"3000\", 4000]\n"
		"    depends_on: {db: {condition: service_healthy}}\n"
		"    healthcheck: {test: \"wget -q -O- localhost\", interval: 1500ms, retries: 3, start_period: 90s}\n"
		"    volumes: [\"/srv/data:/data:ro\", \"cache:/cache\", \"/anon\"]\n"
		"    ulimits: {nofile: {soft: 1024, hard: 2048}, nproc: 512}\n"
		"    extra_hosts: [\"b.local:10.0.0.2\", \"a.local:10.0.0.1\"]\n"
		"    restart: unless-stopped\n"
		"    stop_grace_period: 1m\n"
		"    mem_limit: 256m\n"
		"    cpus: 0.5\n"
		"    devices: [\"/dev/null:/dev/xnull:r\"]\n"
		"    logging: {driver: json-file, options: {max-size: 1m}}\n"
		"    init: true\n"
		"    deploy: {resources: {reservations: {memory: 64m}}}\n"
		"volumes:\n"
		"  cache:\n";
	char got[65];

	hash_of(text, "app", got);
	assert_string_equal(got, "9a8c853bc72e4776523b9b1d6ec6e222e4c202d9867bb1a9c8e45b93be0c14a0");
	hash_of(text, "db", got);
	assert_string_equal(got, "42056163be685aa6d7c1cedf1a6e25d69dfecedd33429247ab170050696e6312");
	/* a KEY set nowhere: null in compose's hash, as a list entry and as a mapping entry */
	hash_of("services:\n  a:\n    image: voxdeploy-test/busybox:1\n    environment: [UNSET_VAR_X, \"B=2\"]\n",
		"a", got);
	assert_string_equal(got, "56aace4189d3fac9f80e2829b6104590fef6a3bceceada82c4d7032945c764ba");
	hash_of("services:\n  b:\n    image: voxdeploy-test/busybox:1\n    environment: {C: 3, UNSET_Y: }\n", "b",
		got);
	assert_string_equal(got, "a24a92c50cde3725b9a86db8d82c2327c43b42da1356fa3521dfae98625000a1");
}

/* Known answers: compose 1.29's json_hash(config_dict()) of these services
 * in /srv/kat as project kat, with this image id (Debian's docker-compose
 * 1.29.2 printed them). */
static void spec__hash_is_compose_129s(void **state)
{
	static const char text[] =
		"services:\n"
		"  db:\n"
		"    image: pg\n"
		"    environment: [POSTGRES_PASSWORD=pw, UNSET_ONE]\n"
		"    volumes: [\"data:/var/lib/data\", \"/srv/sql:/init:ro\"]\n"
		"    healthcheck: {test: \"pg_isready\", interval: 1m30s, retries: \"5\", start_period: 500ms}\n"
		"    restart: \"no\"\n"
		"  app:\n"
		"    image: app:1\n"
		"    command: python -m bot\n"
		"    environment: {A: 1, B: \"x<y&z é\", C: \"yes\", D: 1.50}\n"
		"    labels: [l1=x, \"l2=y\"]\n"
		"    ports: [\"8080:80\", \"127.0.0.1::90/udp\", \"8000-8001:81-82\", {target: 91, published: 9191, mode: host}]\n"
		"    expose: [\"3000\", 4000]\n"
		"    depends_on: [db]\n"
		"    links: [\"db:database\"]\n"
		"    volumes: [\"/anon\", {type: tmpfs, target: /t, tmpfs: {size: 1000}}, {type: volume, source: data, target: /v, volume: {nocopy: true}}]\n"
		"    ulimits: {nofile: {soft: 1024, hard: 2048}, nproc: 512}\n"
		"    extra_hosts: [\"b.local:10.0.0.2\"]\n"
		"    restart: on-failure:3\n"
		"    stop_grace_period: 1m\n"
		"    security_opt: [no-new-privileges:true]\n"
		"    sysctls: [net.core.somaxconn=1024]\n"
		"    dns: 1.1.1.1\n"
		"    tmpfs: /run\n"
		"    healthcheck: {disable: true}\n"
		"    deploy: {resources: {limits: {cpus: '0.50', memory: 256m}, reservations: {memory: 64m}}}\n"
		"    logging: {driver: json-file, options: {max-size: 1m}}\n"
		"    init: true\n"
		"    read_only: \"true\"\n"
		"volumes:\n"
		"  data:\n"
		;
	static const char *const want[][2] = {
		{ "db", "9cf29b8c52ca1c829873e45ee4e15e1f1676e1f7827507e955a86974a5a0f57b" },
		{ "app", "a67c258f89c216f3d0242ce39561f42aaec5f3f49d7eb6dee9fde32476450f90" },
	};
	vd_compose_source src = { "docker-compose.yml", text, strlen(text) };
	vd_compose_options opts = { "/srv/kat", "kat", NULL, NULL };
	vd_error err = VD_ERROR_INIT;
	vd_compose *c = NULL;
	char got[65];
	size_t i;

	assert_int_equal(vd_compose_load(&src, 1, &opts, &c, &err), 0);
	for (i = 0; i < 2; i++) {
		const vd_compose_service *s = vd_compose_service_find(c, want[i][0]);
		vd_kvs env = { NULL, 0 };

		assert_int_equal(vd_compose_service_env(s, NULL, NULL, &env, &err), 0);
		if (vd_spec_compose_hash_v1(c, s, &env, "sha256:0123456789abcdef0123456789abcdef0123456789abcdef"
						       "0123456789abcdef", got, &err))
			fail_msg("%s", vd_error_msg(&err));
		if (strcmp(got, want[i][1])) {
			vd_buf json = VD_BUF_INIT;

			vd_spec_compose_json_v1(c, s, &env, "sha256:0123456789abcdef0123456789abcdef0123456789abcd"
							     "ef0123456789abcdef", &json, &err);
			fail_msg("%s: %s, want %s\n%s", want[i][0], got, want[i][1], vd_buf_cstr(&json));
		}
		vd_kvs_release(&env);
	}
	/* the label carries it when the labels are 1.29's */
	c->hash_compose = 1;
	{
		vd_spec_options o = VD_SPEC_OPTIONS_INIT;

		o.image_id = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
		assert_int_equal(vd_spec_config_hash(c, vd_compose_service_find(c, "db"), &o, got, &err), 0);
		assert_string_equal(got, want[0][1]);
	}
	vd_compose_free(c);
	/* a built service's image is named as the chosen compose names it */
	{
		char *ref;

		c = load_text("services:\n  bot:\n    build: .\n");
		ref = vd_spec_image_ref(c, vd_compose_service_find(c, "bot"));
		assert_string_equal(ref, "proj-bot");
		free(ref);
		c->hash_compose = 1;
		ref = vd_spec_image_ref(c, vd_compose_service_find(c, "bot"));
		assert_string_equal(ref, "proj_bot");
		free(ref);
		vd_compose_free(c);
	}
	vd_error_release(&err);
}

static void spec__hash_ignores_caller_labels(void **state)
{
	vd_kvs env = test_env(), extra = { NULL, 0 };
	vd_compose *c = load_vox(false, &env);
	const vd_compose_service *app = vd_compose_service_find(c, "voxpersona");
	vd_spec_options o = VD_SPEC_OPTIONS_INIT;
	vd_error err = VD_ERROR_INIT;
	char h1[65], h2[65];

	o.lookup = kvs_lookup;
	o.lookup_ctx = &env;
	assert_int_equal(vd_spec_config_hash(c, app, &o, h1, &err), 0);
	assert_int_equal(vd_kvs_add(&extra, "io.voxdeploy.test", "1"), 0);
	o.extra_labels = &extra;
	o.image_id = "sha256:1";
	o.commit = "abc";
	o.deploy_id = "d";
	assert_int_equal(vd_spec_config_hash(c, app, &o, h2, &err), 0);
	assert_string_equal(h1, h2);
	/* an env_file value (the secret from .env) is part of the effective config */
	vd_kvs_release(&env);
	assert_int_equal(vd_kvs_add(&env, "DB_PASSWORD", "other"), 0);
	assert_int_equal(vd_kvs_add(&env, "TELEGRAM_BOT_TOKEN", "123:abc"), 0);
	vd_compose_free(c);
	c = load_vox(false, &env);
	app = vd_compose_service_find(c, "voxpersona");
	assert_int_equal(vd_spec_config_hash(c, app, &o, h2, &err), 0);
	assert_string_not_equal(h1, h2);
	vd_compose_free(c);
	vd_kvs_release(&env);
	vd_kvs_release(&extra);
	vd_error_release(&err);
}

/* deploy.restart_policy on one engine, as compose maps it (over restart:);
 * the other deploy keys (a Swarm's) change nothing of the container */
static void spec__deploy_restart_policy(void **state)
{
	vd_compose *c = load_text(
		"services:\n"
		"  a:\n"
		"    image: busybox\n"
		"    restart: always\n"
		"    deploy: {restart_policy: {condition: on-failure, max_attempts: 4}}\n"
		"  b:\n"
		"    image: busybox\n"
		"    deploy: {restart_policy: {condition: any}, placement: {constraints: [node.role==worker]},\n"
		"             update_config: {order: start-first}, endpoint_mode: dnsrr, labels: {x: y}}\n"
		"  n:\n"
		"    image: busybox\n"
		"    deploy: {restart_policy: {condition: none}}\n"
		"  u:\n"
		"    image: busybox\n"
		"    deploy: {restart_policy: {condition: unless-stopped}}\n");
	vd_spec_options o = VD_SPEC_OPTIONS_INIT;
	yajl_val v;

	(void)state;
	v = body_of(c, "a", &o);
	tu_assert_json_at(v, "{\"Name\":\"on-failure\",\"MaximumRetryCount\":4}", "HostConfig", "RestartPolicy", NULL);
	yajl_tree_free(v);
	v = body_of(c, "b", &o);
	tu_assert_json_at(v, "{\"Name\":\"always\",\"MaximumRetryCount\":0}", "HostConfig", "RestartPolicy", NULL);
	tu_assert_json_at(v, "absent", "Labels", "x", NULL);
	yajl_tree_free(v);
	v = body_of(c, "n", &o);
	tu_assert_json_at(v, "{\"Name\":\"no\",\"MaximumRetryCount\":0}", "HostConfig", "RestartPolicy", NULL);
	yajl_tree_free(v);
	v = body_of(c, "u", &o);
	tu_assert_json_at(v, "{\"Name\":\"unless-stopped\",\"MaximumRetryCount\":0}", "HostConfig",
		    "RestartPolicy", NULL);
	yajl_tree_free(v);
	vd_compose_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(spec__sha256),
		cmocka_unit_test(spec__deploy_restart_policy),
		cmocka_unit_test(spec__names),
		cmocka_unit_test(spec__vox_config),
		cmocka_unit_test(spec__vox_labels),
		cmocka_unit_test(spec__vox_host_config),
		cmocka_unit_test(spec__vox_networking),
		cmocka_unit_test(spec__key_families),
		cmocka_unit_test(spec__external),
		cmocka_unit_test(spec__hash),
		cmocka_unit_test(spec__hash_is_compose_v2s),
		cmocka_unit_test(spec__hash_is_compose_129s),
		cmocka_unit_test(spec__hash_ignores_caller_labels),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
