#include "itest.h"
#include "common/json.h"
#include "docker_api/network.h"
#include "docker_api/volume.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static vd_docker *docker;
static char project[64];

vd_docker *itest_docker(void)
{
	vd_error err = VD_ERROR_INIT;

	if (docker)
		return docker;
	if (vd_docker_new(&docker, NULL, &err) || vd_docker_connect(docker, &err)) {
		fprintf(stderr, "integration tests need a Docker engine: %s\n", vd_error_msg(&err));
		exit(1);
	}
	return docker;
}

const char *itest_project(void)
{
	if (!project[0])
		snprintf(project, sizeof(project), "vdit%dx%ld", (int)getpid(), (long)time(NULL));
	return project;
}

const char *itest_busybox_image(void)
{
	const char *s = getenv("VD_TEST_BUSYBOX_IMAGE");

	return s && *s ? s : "voxdeploy-test/busybox:1";
}

const char *itest_postgres_image(void)
{
	const char *s = getenv("VD_TEST_POSTGRES_IMAGE");

	return s && *s ? s : "voxdeploy-test/postgres:local";
}

char *itest_body(const char *script, const char *extra_config)
{
	return itest_service_body(NULL, script, extra_config);
}

char *itest_service_body(const char *service, const char *script, const char *extra_config)
{
	yajl_gen g = vd_jgen_new();
	vd_buf out = VD_BUF_INIT;
	char *body = NULL;

	yajl_gen_map_open(g);
	vd_jgen_kstr(g, "Image", itest_busybox_image());
	vd_jgen_str(g, "Cmd");
	yajl_gen_array_open(g);
	vd_jgen_str(g, "sh");
	vd_jgen_str(g, "-c");
	vd_jgen_str(g, script);
	yajl_gen_array_close(g);
	vd_jgen_str(g, "Labels");
	yajl_gen_map_open(g);
	vd_jgen_kstr(g, "io.voxdeploy.test", "1");
	vd_jgen_kstr(g, "com.docker.compose.project", itest_project());
	if (service) {
		vd_jgen_kstr(g, "com.docker.compose.service", service);
		vd_jgen_kstr(g, "com.docker.compose.oneoff", "False");
	}
	yajl_gen_map_close(g);
	yajl_gen_map_close(g);
	assert_int_equal(vd_jgen_finish(g, &out), 0);
	if (extra_config && *extra_config) {
		/* splice the fragment in before the closing brace */
		out.len--;
		vd_buf_printf(&out, ",%s}", extra_config);
	}
	body = vd_buf_detach(&out);
	return body;
}

char *itest_create(const char *suffix, const char *script, const char *extra_config)
{
	vd_error err = VD_ERROR_INIT;
	char name[160], *body = itest_body(script, extra_config), *id = NULL;

	snprintf(name, sizeof(name), "%s_%s", itest_project(), suffix);
	itest_ok(vd_container_create(itest_docker(), name, body, &id, &err), &err);
	free(body);
	return id;
}

char *itest_web(int port)
{
	vd_error err = VD_ERROR_INIT;
	char extra[1024], *id;

	snprintf(extra, sizeof(extra),
		 "\"ExposedPorts\":{\"8080/tcp\":{}},"
		 "\"Healthcheck\":{\"Test\":[\"CMD-SHELL\",\"wget -q -O- http://127.0.0.1:8080/health\"],"
		 "\"Interval\":500000000,\"Timeout\":2000000000,\"Retries\":3},"
		 "\"HostConfig\":{\"PortBindings\":{\"8080/tcp\":[{\"HostIp\":\"127.0.0.1\",\"HostPort\":\"%d\"}]}}",
		 port);
	id = itest_create("web", "mkdir -p /www && echo ok > /www/health && exec httpd -f -p 8080 -h /www", extra);
	itest_ok(vd_container_start(itest_docker(), id, &err), &err);
	return id;
}

int itest_run(const char *dir, const char *args, char *out, size_t outsz)
{
	char cmd[1024], log[] = "/tmp/vd-it-run-XXXXXX", *text;
	const char *argv[] = { "/bin/sh", "-c", cmd, NULL };
	struct tu_proc p = { argv, NULL, log, log, NULL, false };
	int fd = mkstemp(log), st;

	assert_true(fd >= 0);
	close(fd);
	if (dir)
		snprintf(cmd, sizeof(cmd), "%s -C %s %s", VD_BINARY, dir, args);
	else
		snprintf(cmd, sizeof(cmd), "%s %s", VD_BINARY, args);
	st = tu_wait(tu_spawn(&p), 0, cmd);
	text = tu_slurp(log);
	unlink(log);
	snprintf(out, outsz, "%s", text);
	free(text);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int itest_compose_major(const char *cmd)
{
	char c[300], line[64] = "";
	FILE *p;

	snprintf(c, sizeof(c), "%s version --short 2>/dev/null", cmd);
	if (!(p = popen(c, "r")))
		return 0;
	if (!fgets(line, sizeof(line), p))
		line[0] = '\0';
	pclose(p);
	return atoi(line + (line[0] == 'v'));
}

void itest_remove_project(const char *name)
{
	char cmd[1024];

	/* the engine's own CLI, only to clean up after the test */
	snprintf(cmd, sizeof(cmd),
		 "d=${DOCKER:-docker}; ids=$($d ps -aq --filter label=com.docker.compose.project=%s); "
		 "[ -z \"$ids\" ] || $d rm -f -v $ids >/dev/null; "
		 "$d network rm %s_default >/dev/null 2>&1; $d volume rm %s_pgdata >/dev/null 2>&1; "
		 /* the app image as compose v2 and 1.29 name it */
		 "for r in '%s-app' '%s_app'; do imgs=$($d images -q --filter reference=\"$r\"); "
		 "[ -z \"$imgs\" ] || $d rmi -f $imgs >/dev/null 2>&1; done; "
		 /* builds whose tag moved on; without -f, one a container
		  * still uses (another test's) stays */
		 "dang=$($d images -q --filter dangling=true --filter label=io.voxdeploy.test=1); "
		 "[ -z \"$dang\" ] || $d rmi $dang >/dev/null 2>&1; true",
		 name, name, name, name, name);
	if (system(cmd) != 0)
		fprintf(stderr, "cleanup command failed\n");
}

void itest_cleanup(void)
{
	vd_docker *d = itest_docker();
	vd_error err = VD_ERROR_INIT;
	char label[128];
	const char *pairs[] = { "label", "io.voxdeploy.test=1", "label", label, NULL };
	vd_container_array cl = { NULL, 0 };
	vd_network_array nl = { NULL, 0 };
	vd_volume_array vl = { NULL, 0 };
	size_t i;

	snprintf(label, sizeof(label), "com.docker.compose.project=%s", itest_project());
	if (!vd_container_list(d, true, pairs, &cl, &err))
		for (i = 0; i < cl.len; i++)
			if (vd_container_remove(d, cl.items[i].id, true, true, &err))
				fprintf(stderr, "cleanup: %s\n", vd_error_msg(&err));
	if (!vd_network_list(d, pairs, &nl, &err))
		for (i = 0; i < nl.len; i++)
			if (vd_network_remove(d, nl.items[i].id, &err))
				fprintf(stderr, "cleanup: %s\n", vd_error_msg(&err));
	/* tests may remove their own volumes; the product never does */
	if (!vd_volume_list(d, pairs, &vl, &err))
		for (i = 0; i < vl.len; i++) {
			char path[512];

			snprintf(path, sizeof(path), "/volumes/%s", vl.items[i].name);
			if (vd_docker_delete(d, path, NULL, &err))
				fprintf(stderr, "cleanup: %s\n", vd_error_msg(&err));
		}
	vd_container_array_release(&cl);
	vd_network_array_release(&nl);
	vd_volume_array_release(&vl);
	vd_error_release(&err);
}

int itest_group_teardown(void **state)
{
	itest_cleanup();
	vd_docker_free(docker);
	docker = NULL;
	return 0;
}
