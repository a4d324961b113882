/* The status page in a real browser: `voxdeploy serve` on a non-loopback
 * address of this machine (so with a token) against real containers and
 * probes, driven through chromedriver's WebDriver API in headless Chromium:
 * a wrong token is refused at the login form and the right one opens the
 * page; the DOM shows every probe with its status (the failing one first
 * and marked), the deployed commit and the deploys (the failed one marked);
 * the style applies under the page's CSP and the session cookie is out of
 * the script's reach; at 360 and 1280 px nothing overflows and the
 * screenshots are far from blank; a journal of 10,000 records renders in
 * under a second with 20 deploys.
 *
 * Needs Debian's chromium and chromium-driver (tests/run installs them).
 * VD_IT_SCREENSHOTS=DIR keeps the screenshots there. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/json.h"
#include "controller/state/journal.h"
#include "controller/state/state.h"
#include "integration/itest.h"
#include "testutil.h"

#define CHROMIUM "/usr/bin/chromium"
#define CHROMEDRIVER "/usr/bin/chromedriver"
#define TOKEN "it-page-Token-0123456789"
#define COMMIT "0123456789abcdef0123456789abcdef01234567"
#define ELEMENT "element-6066-11e4-a52e-4f735466cecf"  /* the web element identifier */

static char dir[128], out_path[200], err_path[200], addr[64], base[128];
static char *web_id;
static pid_t serve_pid, driver_pid;
static uint16_t driver_port;
static char session[128];
static size_t blank_png[2];  /* an empty page's screenshot at 360 and 1280 px */

/* ------------------------------------------------------------------ WebDriver */

/* METHOD /session/<id>PATH (or PATH itself when it starts "/session" or
 * "/status") with a JSON body: the answer's "value"; *tree owns it.  An
 * answer with an error fails the test unless may_fail. */
static yajl_val wd_call(const char *method, const char *path, const char *body, yajl_val *tree,
			bool may_fail)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
	vd_error err = VD_ERROR_INIT;
	vd_buf out = VD_BUF_INIT;
	char url[512];
	yajl_val v, value;
	CURLcode rc;

	if (!strncmp(path, "/session", 8) || !strncmp(path, "/status", 7))
		snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", driver_port, path);
	else
		snprintf(url, sizeof(url), "http://127.0.0.1:%u/session/%s%s", driver_port, session, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (body)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, tu_curl_to_buf);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &out);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 120L);
	rc = curl_easy_perform(c);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	if (rc != CURLE_OK) {
		vd_buf_release(&out);
		if (may_fail) {
			*tree = NULL;
			return NULL;
		}
		fail_msg("webdriver %s %s: %s", method, path, curl_easy_strerror(rc));
	}
	v = vd_json_parse(vd_buf_cstr(&out), &err);
	if (!v)
		fail_msg("webdriver %s %s: %s: %s", method, path, vd_error_msg(&err), vd_buf_cstr(&out));
	value = vd_json_get(v, "value");
	if (!may_fail && vd_json_str(value, "error"))
		fail_msg("webdriver %s %s: %s: %s", method, path, vd_json_str(value, "error"),
			 vd_json_str(value, "message"));
	vd_buf_release(&out);
	*tree = v;
	return value;
}

static void wd(const char *method, const char *path, const char *body)
{
	yajl_val t;

	wd_call(method, path, body, &t, false);
	yajl_tree_free(t);
}

/* A JSON object of one string member. */
static char *json1(const char *key, const char *val)
{
	yajl_gen g = vd_jgen_new();
	vd_buf b = VD_BUF_INIT;

	yajl_gen_map_open(g);
	vd_jgen_kstr(g, key, val);
	yajl_gen_map_close(g);
	vd_jgen_finish(g, &b);
	return vd_buf_detach(&b);
}

static void go(const char *url)
{
	char *body = json1("url", url);

	wd("POST", "/url", body);
	free(body);
}

/* The first element css selects (waiting up to the implicit 5 s); its id,
 * or NULL when there is none. */
static char *find(const char *css)
{
	yajl_gen g = vd_jgen_new();
	vd_buf b = VD_BUF_INIT;
	yajl_val t, v;
	char *id = NULL;

	yajl_gen_map_open(g);
	vd_jgen_kstr(g, "using", "css selector");
	vd_jgen_kstr(g, "value", css);
	yajl_gen_map_close(g);
	vd_jgen_finish(g, &b);
	v = wd_call("POST", "/element", vd_buf_cstr(&b), &t, true);
	if (vd_json_str(v, ELEMENT))
		id = strdup(vd_json_str(v, ELEMENT));
	yajl_tree_free(t);
	vd_buf_release(&b);
	return id;
}

static char *run_js(const char *script);

static char *must_find(const char *css)
{
	char *id = find(css);

	if (!id) {
		char *where = run_js("return location.href + ' ' + document.title + ' ' +"
				     " document.body.innerText.slice(0, 300)");

		fail_msg("no element %s on the page: %s", css, where);
	}
	return id;
}

static char *text_of(const char *css)
{
	char path[256], *id = must_find(css), *s;
	yajl_val t, v;

	snprintf(path, sizeof(path), "/element/%s/text", id);
	v = wd_call("GET", path, NULL, &t, false);
	s = strdup(YAJL_IS_STRING(v) ? YAJL_GET_STRING(v) : "");
	yajl_tree_free(t);
	free(id);
	return s;
}

static void type_into(const char *css, const char *text)
{
	char path[256], *id = must_find(css), *body = json1("text", text);

	snprintf(path, sizeof(path), "/element/%s/value", id);
	wd("POST", path, body);
	free(body);
	free(id);
}

static void click(const char *css)
{
	char path[256], *id = must_find(css);

	snprintf(path, sizeof(path), "/element/%s/click", id);
	wd("POST", path, "{}");
	free(id);
}

/* Run a script in the page: its value as JSON text (caller frees). */
static char *run_js(const char *script)
{
	yajl_gen g = vd_jgen_new();
	vd_buf b = VD_BUF_INIT, r = VD_BUF_INIT;
	yajl_val t, v;

	yajl_gen_map_open(g);
	vd_jgen_kstr(g, "script", script);
	vd_jgen_str(g, "args");
	yajl_gen_array_open(g);
	yajl_gen_array_close(g);
	yajl_gen_map_close(g);
	vd_jgen_finish(g, &b);
	v = wd_call("POST", "/execute/sync", vd_buf_cstr(&b), &t, false);
	g = vd_jgen_new();
	vd_jgen_value(g, v);
	vd_jgen_finish(g, &r);
	yajl_tree_free(t);
	vd_buf_release(&b);
	return vd_buf_detach(&r);
}

/* The viewport: width px wide (0: the window's, 1280). */
static void viewport(int width)
{
	char body[256];

	if (width)
		snprintf(body, sizeof(body), "{\"cmd\":\"Emulation.setDeviceMetricsOverride\",\"params\":"
			 "{\"width\":%d,\"height\":800,\"deviceScaleFactor\":1,\"mobile\":false}}", width);
	else
		snprintf(body, sizeof(body), "{\"cmd\":\"Emulation.clearDeviceMetricsOverride\",\"params\":{}}");
	wd("POST", "/goog/cdp/execute", body);
}

static int b64(char c)
{
	const char *set = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const char *p = c ? strchr(set, c) : NULL;

	return p ? (int)(p - set) : -1;
}

/* A screenshot of the viewport: its PNG's size; kept as NAME.png in
 * $VD_IT_SCREENSHOTS when set. */
static size_t screenshot(const char *name)
{
	const char *keep = getenv("VD_IT_SCREENSHOTS");
	yajl_val t, v = wd_call("GET", "/screenshot", NULL, &t, false);
	const char *s = YAJL_IS_STRING(v) ? YAJL_GET_STRING(v) : "";
	size_t n = 0, len = strlen(s);
	unsigned char *png = malloc(len * 3 / 4 + 3);
	unsigned acc = 0;
	int bits = 0, d;

	assert_non_null(png);
	for (; *s; s++) {
		if ((d = b64(*s)) < 0)
			continue;
		acc = (acc << 6) | (unsigned)d;
		if ((bits += 6) >= 8) {
			bits -= 8;
			png[n++] = (unsigned char)(acc >> bits);
		}
	}
	yajl_tree_free(t);
	assert_true(n > 8 && !memcmp(png, "\x89PNG\r\n\x1a\n", 8));
	if (keep) {
		char path[512];
		FILE *f;

		snprintf(path, sizeof(path), "%s/%s.png", keep, name);
		if ((f = fopen(path, "wb"))) {
			fwrite(png, 1, n, f);
			fclose(f);
		}
	}
	free(png);
	return n;
}

static void driver_start(void)
{
	const char *argv[4], *env[2];
	char port_arg[32], log[220], tmp[220], caps[1024];
	struct tu_proc p = { argv, NULL, NULL, NULL, env, true };
	uint64_t t0 = vd_now_ms();
	yajl_val t, v;

	if (access(CHROMIUM, X_OK) || access(CHROMEDRIVER, X_OK))
		fail_msg("needs Debian's chromium and chromium-driver (%s, %s): tests/run installs them",
			 CHROMIUM, CHROMEDRIVER);
	driver_port = tu_free_port();
	snprintf(port_arg, sizeof(port_arg), "--port=%u", driver_port);
	snprintf(log, sizeof(log), "%s.driver", dir);
	argv[0] = CHROMEDRIVER;
	argv[1] = port_arg;
	argv[2] = NULL;
	p.out = log;
	p.err = log;
	/* the browser's profile and temporary files in the test's directory,
	 * which teardown removes */
	tu_mkdir(dir, "browser", 0700);
	snprintf(tmp, sizeof(tmp), "TMPDIR=%s/browser", dir);
	env[0] = tmp;
	env[1] = NULL;
	driver_pid = tu_spawn(&p);
	for (;;) {
		v = wd_call("GET", "/status", NULL, &t, true);
		if (vd_json_bool(v, "ready", false)) {
			yajl_tree_free(t);
			break;
		}
		yajl_tree_free(t);
		if (vd_now_ms() - t0 > 20000)
			fail_msg("chromedriver did not get ready in 20 s");
		usleep(100 * 1000);
	}
	/* tests run as root: no sandbox; the window 1280 px wide, narrower
	 * by emulation (a headless window is at least 500 px) */
	snprintf(caps, sizeof(caps),
		 "{\"capabilities\":{\"alwaysMatch\":{\"goog:chromeOptions\":{\"binary\":\"" CHROMIUM "\","
		 "\"args\":[\"--headless=new\",\"--no-sandbox\",\"--disable-gpu\",\"--disable-dev-shm-usage\","
		 "\"--hide-scrollbars\",\"--window-size=1280,900\",\"--user-data-dir=%s/browser/profile\"]},"
		 "\"goog:loggingPrefs\":{\"browser\":\"ALL\"}}}}", dir);
	v = wd_call("POST", "/session", caps, &t, false);
	snprintf(session, sizeof(session), "%s", vd_json_str(v, "sessionId"));
	yajl_tree_free(t);
	assert_true(session[0] != '\0');
	wd("POST", "/timeouts", "{\"implicit\":5000,\"pageLoad\":30000}");
}

/* ------------------------------------------------------------------ the stack */

/* An IPv4 address of this machine that is not loopback. */
static void find_address(void)
{
	struct ifaddrs *all, *i;

	assert_int_equal(getifaddrs(&all), 0);
	for (i = all; i; i = i->ifa_next) {
		if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET || (i->ifa_flags & IFF_LOOPBACK) ||
		    !(i->ifa_flags & IFF_UP))
			continue;
		inet_ntop(AF_INET, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, addr, sizeof(addr));
		break;
	}
	freeifaddrs(all);
	if (!addr[0])
		fail_msg("no non-loopback IPv4 address on this machine");
}

static void journal_deploy(const char *state_dir, const char *id, bool fail, const char *to)
{
	vd_error err = VD_ERROR_INIT;
	vd_journal j = VD_JOURNAL_INIT;
	vd_kvs f = { NULL, 0 }, s = { NULL, 0 };

	itest_ok(vd_journal_open(state_dir, id, &j, &err), &err);
	itest_ok(vd_journal_write(&j, "deploy", "begin", NULL, &err), &err);
	vd_kvs_add(&s, "service", "web");
	itest_ok(vd_journal_write(&j, "build", "begin", &s, &err), &err);
	usleep(30 * 1000);
	itest_ok(vd_journal_write(&j, "build", "done", &s, &err), &err);
	itest_ok(vd_journal_write(&j, "health", "begin", &s, &err), &err);
	usleep(20 * 1000);
	itest_ok(vd_journal_write(&j, "health", fail ? "failed" : "done", &s, &err), &err);
	if (fail) {
		itest_ok(vd_journal_write(&j, "rollback", "begin", NULL, &err), &err);
		itest_ok(vd_journal_write(&j, "rollback", "done", NULL, &err), &err);
	}
	vd_kvs_add(&f, "type", "APP_ONLY");
	vd_kvs_add(&f, "from", COMMIT);
	vd_kvs_add(&f, "to", to);
	vd_kvs_add(&f, "duration_ms", "80");
	vd_kvs_add(&f, "actor", "it-page");
	vd_kvs_add(&f, "note", "https://ci.example/runs/17");
	itest_ok(vd_journal_write(&j, "deploy", fail ? "failed" : "done", &f, &err), &err);
	vd_journal_close(&j);
	vd_kvs_release(&f);
	vd_kvs_release(&s);
}

/* serve on ADDR:0 in the project, state in state_dir, with the token file
 * when given; its port. */
static unsigned serve_start(const char *listen, const char *state_dir, const char *token_file,
			    pid_t *pid)
{
	const char *argv[14];
	struct tu_proc p = { argv, NULL, out_path, err_path, NULL, true };
	char *text, *at;
	unsigned port = 0;
	int n = 0;

	argv[n++] = VD_BINARY;
	argv[n++] = "-C";
	argv[n++] = dir;
	argv[n++] = "--state-dir";
	argv[n++] = state_dir;
	argv[n++] = "serve";
	argv[n++] = "--listen";
	argv[n++] = listen;
	if (token_file) {
		argv[n++] = "--token-file";
		argv[n++] = token_file;
	}
	argv[n] = NULL;
	*pid = tu_spawn(&p);
	text = tu_wait_for_text(out_path, "(port ", 15000);
	if ((at = strstr(text, "(port ")))
		port = (unsigned)atoi(at + 6);
	free(text);
	if (!port)
		fail_msg("serve did not start: %s", tu_slurp(err_path));
	return port;
}

/* The report with every probe but "api" passing (the HEALTHCHECK needs a
 * moment), asked with the token. */
static void wait_for_report(unsigned port)
{
	vd_buf body = VD_BUF_INIT;
	vd_error err = VD_ERROR_INIT;
	uint64_t t0 = vd_now_ms();
	char url[200];

	snprintf(url, sizeof(url), "http://%s:%u/v1/report?fresh=1", addr, port);
	for (;;) {
		CURL *c = curl_easy_init();
		struct curl_slist *h = curl_slist_append(NULL, "Authorization: Bearer " TOKEN);
		yajl_val v, services;
		size_t i, j, good = 0, bad = 0, api_failing = 0;

		vd_buf_clear(&body);
		curl_easy_setopt(c, CURLOPT_URL, url);
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, tu_curl_to_buf);
		curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
		curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
		curl_easy_perform(c);
		curl_slist_free_all(h);
		curl_easy_cleanup(c);
		v = vd_json_parse(vd_buf_cstr(&body), &err);
		vd_error_release(&err);
		services = vd_json_get(v, "services");
		for (i = 0; i < vd_json_len(services); i++) {
			yajl_val probes = vd_json_get(vd_json_idx(services, i), "probes");

			for (j = 0; j < vd_json_len(probes); j++) {
				yajl_val p = vd_json_idx(probes, j);
				const char *name = vd_json_str(p, "probe"), *status = vd_json_str(p, "status");
				bool ok = status && !strcmp(status, "ok");

				if (name && !strcmp(name, "api"))
					api_failing += !ok;
				else if (ok)
					good++;
				else
					bad++;
			}
		}
		yajl_tree_free(v);
		if (good == 2 && !bad && api_failing == 1)
			break;
		if (vd_now_ms() - t0 > 30000)
			fail_msg("the report did not settle: %s", vd_buf_cstr(&body));
		usleep(500 * 1000);
	}
	vd_buf_release(&body);
}

static int setup(void **state)
{
	vd_error err = VD_ERROR_INIT;
	const char *project = itest_project();
	char sdir[200], tok[200], listen[100];
	int web_port;

	snprintf(dir, sizeof(dir), "/tmp/vd-it-page-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(out_path, sizeof(out_path), "%s.out", dir);
	snprintf(err_path, sizeof(err_path), "%s.err", dir);
	find_address();
	web_port = tu_free_port();
	tu_write_fmt(dir, "compose.yml",
	    "name: %s\n"
	    "services:\n"
	    "  web:\n"
	    "    image: %s\n"
	    "    container_name: %s_web\n",
	    project, itest_busybox_image(), project);
	/* page passes; api asks a port nobody listens on */
	tu_write_fmt(dir, "voxdeploy.yml",
	    "health:\n"
	    "  deadline: 10s\n"
	    "  http:\n"
	    "    - name: page\n"
	    "      service: web\n"
	    "      url: \"http://127.0.0.1:%d/health\"\n"
	    "      body_contains: ok\n"
	    "    - name: api\n"
	    "      service: web\n"
	    "      url: \"http://127.0.0.1:%d/api\"\n"
	    "      timeout: 2s\n"
	    "serve:\n"
	    "  report_ttl: 1h\n", web_port, tu_free_port());
	web_id = itest_web(web_port);

	/* three deploys, the middle one failed and rolled back; the last deployed */
	snprintf(sdir, sizeof(sdir), "%s/.state", dir);
	journal_deploy(sdir, "20261203T100000Z-aaaaaa", false, COMMIT);
	journal_deploy(sdir, "20261203T110000Z-bbbbbb", true, "fedcba9876543210fedcba9876543210fedcba98");
	journal_deploy(sdir, "20261203T120000Z-cccccc", false, COMMIT);
	itest_ok(vd_state_update(sdir, project, COMMIT, "20261203T120000Z-cccccc", NULL, NULL, &err), &err);

	tu_write_str(dir, "token", TOKEN "\n");
	snprintf(tok, sizeof(tok), "%s/token", dir);
	snprintf(listen, sizeof(listen), "%s:0", addr);
	snprintf(base, sizeof(base), "http://%s:%u/", addr, serve_start(listen, sdir, tok, &serve_pid));
	wait_for_report((unsigned)atoi(strrchr(base, ':') + 1));
	driver_start();
	/* what an empty page looks like at each width */
	go("about:blank");
	viewport(360);
	blank_png[0] = screenshot("blank-360");
	viewport(0);
	blank_png[1] = screenshot("blank-1280");
	return 0;
}

static void stop(pid_t pid)
{
	int status;

	if (pid > 0) {
		kill(pid, SIGTERM);
		waitpid(pid, &status, 0);
	}
}

static int teardown(void **state)
{
	char driver_log[220];
	const char *const made[] = { dir, out_path, err_path, driver_log };
	yajl_val t;
	size_t i;

	snprintf(driver_log, sizeof(driver_log), "%s.driver", dir);
	if (session[0] && driver_port) {
		wd_call("DELETE", "", NULL, &t, true);  /* chromium goes with it */
		yajl_tree_free(t);
	}
	stop(driver_pid);
	stop(serve_pid);
	free(web_id);
	for (i = 0; i < sizeof(made) / sizeof(made[0]); i++)
		if (tu_rm_rf(made[i]))
			fprintf(stderr, "rm failed: %s\n", made[i]);
	return itest_group_teardown(state);
}

/* ------------------------------------------------------------------ tests */

static void page__wrong_token_refused(void **state)
{
	char *msg, *url;

	go(base);
	assert_non_null(strstr((msg = text_of("label[for=token]")), "token"));
	free(msg);
	type_into("#token", "not-the-token-0123456789");
	click("form.login button");
	msg = text_of("#login-error");
	assert_string_equal(msg, "wrong token");
	free(msg);
	/* still the form; the token never in the URL */
	assert_null(find("#probes"));
	url = run_js("return location.href");
	assert_null(strstr(url, "token"));
	free(url);
}

static void page__login_and_the_page(void **state)
{
	char *s, *rows, *url, *probe_count;

	go(base);
	type_into("#token", TOKEN);
	click("form.login button");
	free(must_find("#probes"));
	url = run_js("return location.href");
	assert_null(strstr(url, TOKEN));
	assert_null(strstr(url, "token"));
	free(url);
	/* every probe with its status, the failing one first and marked */
	rows = run_js("return Array.from(document.querySelectorAll('#probes tbody tr')).map("
		      "r => [r.querySelector('.probe-name').textContent, r.dataset.status, r.className,"
		      " r.querySelector('.status').innerText.trim()].join('|')).join(';')");
	if (strncmp(rows, "\"api|failing|probe failing|", 27) || !strstr(rows, ";container|ok|probe|") ||
	    !strstr(rows, ";page|ok|probe|"))
		fail_msg("probes on the page: %s", rows);
	free(rows);
	probe_count = run_js("return document.querySelectorAll('#probes tbody tr').length");
	assert_string_equal(probe_count, "3");
	free(probe_count);
	s = text_of("#verdict");
	assert_string_equal(s, "unhealthy");
	free(s);
	/* the deployed commit, and the deploys: the failed one marked */
	s = text_of("#deployed-commit");
	assert_string_equal(s, "0123456789ab");
	free(s);
	s = text_of("#deployed-by");
	assert_string_equal(s, "it-page");
	free(s);
	s = run_js("return Array.from(document.querySelectorAll('li.deploy')).map("
		   "d => d.dataset.deploy + ':' + d.className).join(',')");
	assert_string_equal(s, "\"20261203T120000Z-cccccc:deploy,"
			    "20261203T110000Z-bbbbbb:deploy failed rolled-back,"
			    "20261203T100000Z-aaaaaa:deploy\"");
	free(s);
	s = text_of("li.deploy.failed .badge");
	assert_non_null(strstr(s, "failed"));
	assert_non_null(strstr(s, "rolled back"));
	free(s);
	s = run_js("return document.querySelectorAll('li.deploy svg.bars rect').length");
	assert_string_equal(s, "7");  /* build, health per deploy; the failed one's rollback */
	free(s);
	/* the style applied under the CSP (the badge has its colour), nothing
	 * refused, the session cookie out of the script's reach */
	s = run_js("return getComputedStyle(document.getElementById('verdict')).backgroundColor");
	assert_string_equal(s, "\"rgb(192, 38, 45)\"");
	free(s);
	s = run_js("return document.cookie");
	assert_string_equal(s, "\"\"");
	free(s);
	{
		yajl_val t, v = wd_call("POST", "/se/log", "{\"type\":\"browser\"}", &t, true);
		size_t i;

		for (i = 0; i < vd_json_len(v); i++) {
			const char *m = vd_json_str(vd_json_idx(v, i), "message");

			if (m && strstr(m, "Content Security Policy"))
				fail_msg("the browser refused something: %s", m);
		}
		yajl_tree_free(t);
	}
}

/* At 360 and 1280 px: nothing wider than the viewport, and screenshots far
 * from an empty page's. */
static void page__readable_at_360_and_1280(void **state)
{
	static const int widths[] = { 360, 1280 };
	char *s, name[32];
	size_t i, png;

	for (i = 0; i < 2; i++) {
		viewport(widths[i] == 1280 ? 0 : widths[i]);
		go(base);
		free(must_find("#probes"));
		s = run_js("return [window.innerWidth, document.documentElement.scrollWidth].join(' ')");
		if (atoi(s + 1) != widths[i] || atoi(strchr(s, ' ') + 1) > widths[i])
			fail_msg("at %d px: the viewport and the page's width: %s", widths[i], s);
		free(s);
		s = text_of("#probes");
		assert_non_null(strstr(s, "failing"));
		free(s);
		snprintf(name, sizeof(name), "page-%d", widths[i]);
		png = screenshot(name);
		if (png < 4 * blank_png[i])
			fail_msg("the %d px screenshot (%zu bytes) is too close to an empty page's (%zu)",
				 widths[i], png, blank_png[i]);
	}
	viewport(0);
}

/* 10,000 records (400 deploys) in another state directory, served on
 * loopback: the page is there within a second, with 20 deploys. */
static void page__ten_thousand_records(void **state)
{
	vd_error err = VD_ERROR_INIT;
	vd_kvs f = { NULL, 0 };
	char sdir[200], id[VD_DEPLOY_ID_MAX], url[100], *s;
	pid_t pid;
	unsigned port;
	int d, k;

	snprintf(sdir, sizeof(sdir), "%s/.state-big", dir);
	vd_kvs_add(&f, "type", "APP_ONLY");
	vd_kvs_add(&f, "duration_ms", "1000");
	for (d = 0; d < 400; d++) {
		vd_journal j = VD_JOURNAL_INIT;

		snprintf(id, sizeof(id), "20261203T000000Z-%06x", d);
		itest_ok(vd_journal_open(sdir, id, &j, &err), &err);
		itest_ok(vd_journal_write(&j, "deploy", "begin", NULL, &err), &err);
		for (k = 0; k < 23; k++)
			itest_ok(vd_journal_write(&j, k % 4 < 2 ? "build" : "health", k % 2 ? "done" : "begin",
						  NULL, &err), &err);
		itest_ok(vd_journal_write(&j, "deploy", d % 5 ? "done" : "failed", &f, &err), &err);
		vd_journal_close(&j);
	}
	vd_kvs_release(&f);
	port = serve_start("127.0.0.1:0", sdir, NULL, &pid);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/", port);
	go(url);
	free(must_find("#deploys"));
	s = run_js("var n = performance.getEntriesByType('navigation')[0];"
		   "return [document.querySelectorAll('li.deploy').length, n.responseEnd - n.requestStart,"
		   " n.domComplete - n.startTime].map(Math.round).join(' ')");
	stop(pid);
	if (strncmp(s, "\"20 ", 4))
		fail_msg("deploys, response ms, page ms: %s", s);
	if (atoi(strchr(s, ' ') + 1) >= 1000 || atoi(strrchr(s, ' ') + 1) >= 1000)
		fail_msg("the page took too long (deploys, response ms, page ms): %s", s);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(page__wrong_token_refused),
		cmocka_unit_test(page__login_and_the_page),
		cmocka_unit_test(page__readable_at_360_and_1280),
		cmocka_unit_test(page__ten_thousand_records),
	};

	curl_global_init(CURL_GLOBAL_DEFAULT);
	return cmocka_run_group_tests(tests, setup, teardown);
}
