/* `voxdeploy serve` against a real container: the real binary in a project
 * directory (compose file, voxdeploy.yml, .env with a secret), /v1/report
 * with the project's probes while the container is healthy (200) and after
 * it stopped (503), the TTL from voxdeploy.yml, /metrics per probe, the
 * recover check at start, and never the secret in a body. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/buf.h"
#include "integration/itest.h"

#define SECRET "it-serve-s3cret-Zq81"

static char dir[128], out_path[200], err_path[200];
static char *web_id;
static pid_t serve_pid;
static int web_port;
static unsigned serve_port;

static int free_port(void)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	port = ntohs(a.sin_port);
	close(fd);
	return port;
}

static void put(const char *name, const char *fmt, ...)
{
	char path[300];
	va_list ap;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fclose(f);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *s = NULL;
	size_t n = 0;

	if (!f)
		return strdup("");
	if (getdelim(&s, &n, '\0', f) < 0) {
		free(s);
		s = strdup("");
	}
	fclose(f);
	return s;
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
	vd_buf_put(ud, p, size * n);
	return size * n;
}

/* GET a path of the running serve; the status, the body in *body. */
static long get(const char *path, char **body)
{
	char url[256];
	vd_buf b = VD_BUF_INIT;
	CURL *c = curl_easy_init();
	long status = 0;

	snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", serve_port, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(c);
	free(*body);
	*body = strdup(vd_buf_cstr(&b));
	vd_buf_release(&b);
	return status;
}

static int setup(void **state)
{
	vd_error err = VD_ERROR_INIT;
	const char *project = itest_project();
	char extra[1024], *text;
	int i;

	snprintf(dir, sizeof(dir), "/tmp/vd-it-serve-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(out_path, sizeof(out_path), "%s.out", dir);
	snprintf(err_path, sizeof(err_path), "%s.err", dir);
	web_port = free_port();
	put("compose.yml",
	    "name: %s\n"
	    "services:\n"
	    "  web:\n"
	    "    image: %s\n"
	    "    container_name: %s_web\n",
	    project, itest_busybox_image(), project);
	/* the secret only through ${VAR}, from .env as on a server */
	put("voxdeploy.yml",
	    "health:\n"
	    "  deadline: 10s\n"
	    "  http:\n"
	    "    - name: page\n"
	    "      service: web\n"
	    "      url: \"http://probe:${VD_IT_PASS}@127.0.0.1:${WEB_PORT}/health\"\n"
	    "      body_contains: ok\n"
	    "serve:\n"
	    "  report_ttl: 1h\n");
	put(".env", "VD_IT_PASS=%s\nWEB_PORT=%d\n", SECRET, web_port);
	snprintf(extra, sizeof(extra),
		 "\"ExposedPorts\":{\"8080/tcp\":{}},"
		 "\"Healthcheck\":{\"Test\":[\"CMD-SHELL\",\"wget -q -O- http://127.0.0.1:8080/health\"],"
		 "\"Interval\":500000000,\"Timeout\":2000000000,\"Retries\":3},"
		 "\"HostConfig\":{\"PortBindings\":{\"8080/tcp\":[{\"HostIp\":\"127.0.0.1\",\"HostPort\":\"%d\"}]}}",
		 web_port);
	web_id = itest_create("web", "mkdir -p /www && echo ok > /www/health && exec httpd -f -p 8080 -h /www",
			      extra);
	itest_ok(vd_container_start(itest_docker(), web_id, &err), &err);

	serve_pid = fork();
	assert_true(serve_pid >= 0);
	if (serve_pid == 0) {
		int o = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int e = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		char sdir[200];

		snprintf(sdir, sizeof(sdir), "%s/.state", dir);
		dup2(o, 1);
		dup2(e, 2);
		execl(VD_BINARY, VD_BINARY, "-v", "-C", dir, "--state-dir", sdir, "serve", "--listen",
		      "127.0.0.1:0", (char *)NULL);
		_exit(127);
	}
	for (i = 0; i < 100 && !serve_port; i++) {
		char *p;

		usleep(100 * 1000);
		text = slurp(out_path);
		p = strstr(text, "(port ");
		if (p)
			serve_port = (unsigned)atoi(p + 6);
		free(text);
	}
	assert_true(serve_port > 0);
	return 0;
}

static int teardown(void **state)
{
	char cmd[600];
	int status;

	if (serve_pid > 0) {
		kill(serve_pid, SIGTERM);
		waitpid(serve_pid, &status, 0);
	}
	free(web_id);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s' '%s'", dir, out_path, err_path);
	if (system(cmd) != 0)
		fprintf(stderr, "rm failed\n");
	return itest_group_teardown(state);
}

static void serve__recover_checked_at_start(void **state)
{
	char *text = slurp(out_path);

	if (!strstr(text, "voxdeploy: recover: project ") || !strstr(text, ": nothing to do ("))
		fail_msg("no recover line in:\n%s", text);
	free(text);
}

static void serve__report_healthy_container(void **state)
{
	char *body = NULL;
	long st = 0;
	int i;

	/* the HEALTHCHECK needs a moment to say healthy */
	for (i = 0; i < 60; i++) {
		st = get("/v1/report?fresh=1", &body);
		if (st == 200)
			break;
		usleep(500 * 1000);
	}
	if (st != 200)
		fail_msg("status %ld: %s", st, body);
	assert_non_null(strstr(body, "\"verdict\":\"healthy\""));
	assert_non_null(strstr(body, "\"service\":\"web\""));
	assert_non_null(strstr(body, "\"probe\":\"container\""));
	assert_non_null(strstr(body, "\"probe\":\"page\""));
	assert_null(strstr(body, SECRET));
	assert_int_equal(get("/metrics", &body), 200);
	assert_non_null(strstr(body, "voxdeploy_probe_up{service=\"web\",probe=\"page\"} 1"));
	assert_non_null(strstr(body, "voxdeploy_probe_up{service=\"web\",probe=\"container\"} 1"));
	assert_int_equal(get("/healthz", &body), 200);
	assert_non_null(strstr(body, "\"engine\":\"ok\""));
	free(body);
}

static void serve__report_unhealthy_container(void **state)
{
	vd_error err = VD_ERROR_INIT;
	char *body = NULL;

	itest_ok(vd_container_stop(itest_docker(), web_id, 0, &err), &err);
	/* serve.report_ttl is 1h: without fresh=1 the cached report */
	assert_int_equal(get("/v1/report", &body), 200);
	assert_non_null(strstr(body, "\"verdict\":\"healthy\""));
	assert_int_equal(get("/v1/report?fresh=1", &body), 503);
	assert_non_null(strstr(body, "\"verdict\":\"unhealthy\""));
	assert_non_null(strstr(body, "\"healthy\":false"));
	assert_non_null(strstr(body, "\"probe\":\"page\""));
	assert_null(strstr(body, SECRET));
	usleep(1100 * 1000);  /* /metrics is cached for a second */
	assert_int_equal(get("/metrics", &body), 200);
	assert_non_null(strstr(body, "voxdeploy_probe_up{service=\"web\",probe=\"container\"} 0"));
	free(body);
}

/* A recover that cannot run (another deploy holds the lock) is logged, and
 * serve starts anyway. */
static void serve__starts_when_recover_fails(void **state)
{
	char sdir[200], lock[260], *out = NULL, *err = NULL;
	int fd, i, status;
	pid_t pid;

	snprintf(sdir, sizeof(sdir), "%s/.state-locked", dir);
	assert_int_equal(mkdir(sdir, 0700), 0);
	snprintf(lock, sizeof(lock), "%s/lock", sdir);
	fd = open(lock, O_RDWR | O_CREAT, 0600);
	assert_true(fd >= 0);
	assert_int_equal(flock(fd, LOCK_EX | LOCK_NB), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int o = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int e = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		close(fd);
		dup2(o, 1);
		dup2(e, 2);
		execl(VD_BINARY, VD_BINARY, "-C", dir, "--state-dir", sdir, "serve", "--listen",
		      "127.0.0.1:0", (char *)NULL);
		_exit(127);
	}
	for (i = 0; i < 100; i++) {
		usleep(100 * 1000);
		free(out);
		out = slurp(out_path);
		if (strstr(out, "(port "))
			break;
	}
	kill(pid, SIGTERM);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	close(fd);
	err = slurp(err_path);
	if (!strstr(out, "serving on") || !strstr(err, "serve: recover of project "))
		fail_msg("stdout:\n%s\nstderr:\n%s", out, err);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	free(out);
	free(err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(serve__recover_checked_at_start),
		cmocka_unit_test(serve__report_healthy_container),
		cmocka_unit_test(serve__report_unhealthy_container),
		cmocka_unit_test(serve__starts_when_recover_fails),
	};

	curl_global_init(CURL_GLOBAL_DEFAULT);
	return cmocka_run_group_tests(tests, setup, teardown);
}
