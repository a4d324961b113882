/* The bad-input corpus: the real binary against bad command lines, bad
 * voxdeploy.yml, compose files, .env files and revisions, a fake engine on a
 * unix socket that answers garbage, cuts its answers short, stalls, fails
 * with 500 or sends more than any answer may hold, and bad HTTP requests to
 * `serve`.  Every case asserts the exit status (a normal exit, never a
 * signal), a message naming what was wrong, and that nothing was written:
 * no journal and no current state in the state directory.
 *
 * No Docker engine is needed: the fake engine runs in a thread of this test,
 * and VOXDEPLOY_API_TIMEOUT=1s keeps the stalled cases short. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fakeengine.h"
#include "gitrepo.h"
#include "testutil.h"

/* --- the cases ------------------------------------------------------------- */

#define COMPOSE_OK "services:\n  app:\n    image: busybox\n    container_name: voxpersona_app\n"

struct bad_case {
	const char *name;
	enum mode engine;
	const char *argv[12];
	const char *compose;     /* docker-compose.yml, or NULL */
	const char *config;      /* voxdeploy.yml, or NULL */
	const char *dotenv;      /* .env, or NULL */
	size_t dotenv_len;       /* when it holds a NUL */
	const char *env[4];      /* extra environment */
	bool git;                /* make proj a git repository with one commit */
	int want_exit;
	const char *want;        /* in stderr (or stdout) */
	double max_seconds;      /* 0: 20 */
};

static const struct bad_case cases[] = {
	/* the command line */
	{ "unknown command", E_NONE, { "bogus" }, .want_exit = 2, .want = "unknown command 'bogus'" },
	{ "unknown global option", E_NONE, { "--bogus", "status" }, .want_exit = 2,
	  .want = "unknown option '--bogus'" },
	{ "unknown command option", E_NONE, { "status", "--bogus" }, .want_exit = 2,
	  .want = "status: unknown argument '--bogus' (see voxdeploy status --help)" },
	{ "an argument for a command that takes none", E_NONE, { "version", "extra" }, .want_exit = 2,
	  .want = "version: unknown argument 'extra' (see voxdeploy version --help)" },
	{ "a value for a flag", E_NONE, { "deploy", "--dry-run=yes" }, .want_exit = 2,
	  .want = "deploy: unknown argument '--dry-run=yes'" },
	{ "--to= with an empty value", E_NONE, { "plan", "--to=" }, .want_exit = 2,
	  .want = "plan: --to needs a value" },
	{ "--fetch= with an empty remote", E_NONE, { "deploy", "--dry-run", "--fetch=" }, .want_exit = 2,
	  .want = "deploy: --fetch needs a value" },
	{ "health -s without a value", E_NONE, { "health", "-s" }, .want_exit = 2,
	  .want = "health: -s needs a value" },
	{ "unknown deploy option", E_NONE, { "deploy", "--dry-rum" }, .want_exit = 2,
	  .want = "deploy: unknown argument '--dry-rum'" },
	{ "-C without a value", E_NONE, { "-C" }, .want_exit = 2, .want = "option -C needs a value" },
	{ "-H without a value", E_NONE, { "status", "-H" }, .want_exit = 2, .want = "option -H needs a value" },
	{ "-f with an empty value", E_NONE, { "-f", "", "config" }, .want_exit = 2,
	  .want = "option -f needs a value" },
	{ "--type without a value", E_NONE, { "deploy", "--dry-run", "--type" }, .want_exit = 2,
	  .want = "deploy: --type needs a value" },
	{ "bad --type", E_NONE, { "plan", "--type", "weird" }, .want_exit = 2,
	  .want = "invalid deployment type 'weird'" },
	{ "bad --type on deploy", E_NONE, { "deploy", "--dry-run", "--type", "FULL" }, .want_exit = 2,
	  .want = "invalid deployment type 'FULL'" },
	{ "-H tcp:// without an address", E_NONE, { "-H", "tcp://", "status" }, .want_exit = 2,
	  .want = "docker host 'tcp://' names no address" },
	{ "-H with an unknown scheme", E_NONE, { "-H", "http://x", "status" }, .want_exit = 2,
	  .want = "docker host 'http://x' is not supported" },
	{ "-H unix:// without a path", E_NONE, { "-H", "unix://", "version" }, .want_exit = 2,
	  .want = "docker host 'unix://' names no socket" },
	{ "-H without a scheme", E_NONE, { "-H", "/var/run/docker.sock", "status" }, .want_exit = 2,
	  .want = "is not supported (use unix:///path or tcp://host:port)" },
	{ "history -n not a number", E_NONE, { "history", "-n", "x" }, .want_exit = 2,
	  .want = "history: -n wants a number >= 0, not 'x'" },
	{ "history -n negative", E_NONE, { "history", "-n", "-1" }, .want_exit = 2,
	  .want = "history: -n wants a number >= 0, not '-1'" },
	{ "serve --listen without a port", E_NONE, { "serve", "--listen", "nope" }, .want_exit = 2,
	  .want = "listen address 'nope' must be ADDR:PORT" },
	{ "serve --listen port out of range", E_NONE, { "serve", "--listen", "127.0.0.1:99999" },
	  .want_exit = 2, .want = "bad port" },
	{ "serve --listen not an IP", E_NONE, { "serve", "--listen", "localhost:8080" }, .want_exit = 2,
	  .want = "is not an IP address" },
	{ "serve off loopback without a token", E_NONE, { "serve", "--listen", "0.0.0.0:0" },
	  .want_exit = 2, .want = "needs a bearer token" },
	{ "serve bad duration", E_NONE, { "serve", "--report-ttl", "5x" }, .want_exit = 2,
	  .want = "invalid duration '5x'" },
	{ "bad VOXDEPLOY_API_TIMEOUT", E_OK, { "-H", "@HOST", "status" }, .compose = COMPOSE_OK,
	  .env = { "VOXDEPLOY_API_TIMEOUT=soon" }, .want_exit = 2,
	  .want = "VOXDEPLOY_API_TIMEOUT 'soon' is no timeout" },
	{ "rollback --to without a value", E_NONE, { "rollback", "--to" }, .want_exit = 2,
	  .want = "rollback: --to needs a value" },
	{ "backup --service without a value", E_NONE, { "backup", "--service" }, .want_exit = 2,
	  .want = "backup: --service needs a value" },
	{ "backups takes no argument", E_NONE, { "backups", "extra" }, .want_exit = 2,
	  .want = "backups: unknown argument 'extra'" },
	{ "restore without an id", E_NONE, { "restore", "--yes" }, .want_exit = 2,
	  .want = "restore: which backup?" },
	{ "restore with an unknown option", E_NONE, { "restore", "x", "--force" }, .want_exit = 2,
	  .want = "restore: unknown argument '--force'" },
	{ "backup of a project without PostgreSQL", E_OK, { "-H", "@HOST", "backup" },
	  .compose = COMPOSE_OK, .want_exit = 2, .want = "no PostgreSQL service in the compose file" },
	/* voxdeploy.yml */
	{ "voxdeploy.yml unknown key", E_NONE, { "config" }, .compose = COMPOSE_OK,
	  .config = "rulez: {}\n", .want_exit = 2, .want = "voxdeploy.yml:1:1: unknown key 'rulez'" },
	{ "voxdeploy.yml backup not a mapping", E_NONE, { "config" }, .compose = COMPOSE_OK,
	  .config = "backup: maybe\n", .want_exit = 2,
	  .want = "voxdeploy.yml:1:9: 'backup' must be false, true or a mapping of backup settings" },
	{ "voxdeploy.yml release step with an empty command", E_NONE, { "config" }, .compose = COMPOSE_OK,
	  .config = "deploy:\n  release: {service: app, command: []}\n", .want_exit = 2,
	  .want = "'command' must be a list of words or a shell command line" },
	{ "voxdeploy.yml bad duration", E_NONE, { "config" }, .compose = COMPOSE_OK,
	  .config = "health:\n  deadline: 5x\n", .want_exit = 2, .want = "invalid duration '5x'" },
	{ "voxdeploy.yml not YAML", E_NONE, { "config" }, .compose = COMPOSE_OK,
	  .config = "rules: [a\n", .want_exit = 2, .want = "voxdeploy.yml:" },
	{ "voxdeploy.yml invalid UTF-8", E_NONE, { "config" }, .compose = COMPOSE_OK,
	  .config = "rules:\n%ealth:\xf2K\x15\n", .want_exit = 2, .want = "invalid UTF-8" },
	{ "voxdeploy.yml two documents", E_NONE, { "config" }, .compose = COMPOSE_OK,
	  .config = "rules: {}\n---\nrules: {}\n", .want_exit = 2, .want = "more than one YAML document" },
	{ "voxdeploy.yml negated pattern", E_NONE, { "config" }, .compose = COMPOSE_OK,
	  .config = "rules:\n  app_only: ['!src/']\n", .want_exit = 2, .want = "negation ('!') is not supported" },
	{ "voxdeploy.yml literal token", E_NONE, { "config" }, .compose = COMPOSE_OK,
	  .config = "notify:\n  telegram:\n    - {chat_id: 1, token: \"123456:literal-token\"}\n",
	  .want_exit = 2, .want = "secrets only through ${VAR}" },
	{ "voxdeploy.yml unknown app service", E_NONE, { "config" }, .compose = COMPOSE_OK,
	  .config = "app_service: nosuch\n", .want_exit = 2, .want = "no service 'nosuch'" },
	/* compose files */
	{ "no compose file", E_NONE, { "config" }, .want_exit = 2, .want = "no compose file" },
	{ "compose not YAML", E_NONE, { "config" }, .compose = "services: [\n", .want_exit = 2,
	  .want = "docker-compose.yml:" },
	{ "compose unknown service key", E_NONE, { "config" },
	  .compose = "services:\n  app:\n    image: x\n    foo: 1\n", .want_exit = 2,
	  .want = "service 'app': unknown key 'foo'" },
	{ "compose bad port", E_NONE, { "config" },
	  .compose = "services:\n  app:\n    image: x\n    ports: [\"80:99999\"]\n", .want_exit = 2,
	  .want = "invalid port '80:99999'" },
	{ "compose bad duration", E_NONE, { "config" },
	  .compose = "services:\n  app:\n    image: x\n    healthcheck:\n      interval: 5x\n",
	  .want_exit = 2, .want = "invalid duration '5x'" },
	{ "compose required variable", E_NONE, { "config" },
	  .compose = "services:\n  app:\n    image: \"x:${NOPE_TAG:?set the tag}\"\n", .want_exit = 2,
	  .want = "required variable NOPE_TAG is missing a value: set the tag" },
	{ "compose bad interpolation", E_NONE, { "config" },
	  .compose = "services:\n  app:\n    image: \"x:${\"\n", .want_exit = 2,
	  .want = "invalid interpolation format" },
	{ "compose dependency cycle", E_NONE, { "config" },
	  .compose = "services:\n  a:\n    image: x\n    depends_on: [b]\n  b:\n    image: x\n    depends_on: [a]\n",
	  .want_exit = 2, .want = "dependency cycle: a -> b -> a" },
	{ "compose invalid UTF-8", E_NONE, { "config" },
	  .compose = "services:\n  app:\n    image: \"\xc0\xaf\"\n", .want_exit = 2, .want = "invalid UTF-8" },
	{ "compose without services", E_NONE, { "health" }, .compose = "name: x\n", .want_exit = 2,
	  .want = "no services defined" },
	/* .env */
	{ ".env empty key", E_NONE, { "config" }, .compose = COMPOSE_OK, .dotenv = "=x\n", .want_exit = 2,
	  .want = ".env:1:" },
	{ ".env unterminated quote", E_NONE, { "config" }, .compose = COMPOSE_OK,
	  .dotenv = "A=1\nB=\"open\n", .want_exit = 2, .want = ".env:2:" },
	{ ".env blank inside a key", E_NONE, { "config" }, .compose = COMPOSE_OK, .dotenv = "A B=1\n",
	  .want_exit = 2, .want = ".env:1:" },
	{ ".env NUL byte", E_NONE, { "config" }, .compose = COMPOSE_OK, .dotenv = "A=1\0\nB=2\n",
	  .dotenv_len = 9, .want_exit = 2, .want = ".env:1: NUL byte" },
	{ ".env key starting with a digit", E_NONE, { "config" }, .compose = COMPOSE_OK,
	  .dotenv = "1A=x\n", .want_exit = 2, .want = ".env:1: variable name cannot start with a digit" },
	/* revisions */
	{ "plan outside a repository", E_NONE, { "plan" }, .compose = COMPOSE_OK, .want_exit = 2,
	  .want = "is not in a git repository" },
	{ "plan --from an unknown revision", E_NONE, { "plan", "--from", "nosuchrev" },
	  .compose = COMPOSE_OK, .git = true, .want_exit = 2, .want = "nosuchrev" },
	{ "plan --to beyond the history", E_NONE, { "plan", "--from", "HEAD", "--to", "HEAD~99" },
	  .compose = COMPOSE_OK, .git = true, .want_exit = 2, .want = "HEAD~99" },
	{ "plan --to a malformed revision", E_NONE, { "plan", "--to", "a..b..c" }, .compose = COMPOSE_OK,
	  .git = true, .want_exit = 2, .want = "a..b..c" },
	{ "deploy --dry-run --to an unknown revision", E_OK,
	  { "-H", "@HOST", "deploy", "--dry-run", "--to", "0123456789abcdef0123456789abcdef01234567" },
	  .compose = COMPOSE_OK, .git = true, .want_exit = 2, .want = "0123456789abcdef" },
	{ "rollback --to an unknown deploy", E_OK, { "-H", "@HOST", "rollback", "--to", "nosuch-deploy" },
	  .compose = COMPOSE_OK, .git = true, .want_exit = 2, .want = "nosuch-deploy" },
	/* the engine: one that cannot be reached, or whose ping stalls, hangs
	 * up, is no HTTP or fails, is no engine to talk to (2, nothing changed).
	 * One that pings fine and then misbehaves fails the command: a deploy
	 * with 1, a command that changes nothing with 2 (health reports the
	 * probe as an error: unhealthy, 4) — with nothing changed either way,
	 * and within the timeout and the size caps. */
	{ "status, no engine", E_NONE, { "-H", "@HOST", "status" }, .compose = COMPOSE_OK, .want_exit = 2,
	  .want = "cannot reach the Docker engine" },
	{ "status, garbage", E_GARBAGE, { "-H", "@HOST", "status" }, .compose = COMPOSE_OK,
	  .want_exit = 2, .want = "_ping" },
	{ "version, hangs up", E_HANGUP, { "-H", "@HOST", "version" }, .want_exit = 2,
	  .want = "cannot reach the Docker engine" },
	{ "status, stalls", E_STALL, { "-H", "@HOST", "status" }, .compose = COMPOSE_OK, .want_exit = 2,
	  .want = "did not answer within 1000 ms", .max_seconds = 8 },
	{ "version, stalls", E_STALL, { "-H", "@HOST", "version" }, .want_exit = 2,
	  .want = "did not answer within 1000 ms", .max_seconds = 8 },
	{ "health, stalls", E_STALL, { "-H", "@HOST", "health" }, .compose = COMPOSE_OK, .want_exit = 2,
	  .want = "did not answer within 1000 ms", .max_seconds = 12 },
	{ "deploy --dry-run, stalls", E_STALL, { "-H", "@HOST", "deploy", "--dry-run" },
	  .compose = COMPOSE_OK, .git = true, .want_exit = 2, .want = "did not answer within 1000 ms",
	  .max_seconds = 12 },
	{ "status, stalls after the ping", E_STALL_LATE, { "-H", "@HOST", "status" }, .compose = COMPOSE_OK,
	  .want_exit = 2, .want = "did not answer within 1000 ms", .max_seconds = 8 },
	{ "status, 500", E_500, { "-H", "@HOST", "status" }, .compose = COMPOSE_OK, .want_exit = 2,
	  .want = "fake engine exploded" },
	{ "status, 500 after the ping", E_500_LATE, { "-H", "@HOST", "status" }, .compose = COMPOSE_OK,
	  .want_exit = 2, .want = "fake engine exploded" },
	{ "version, 500 after the ping", E_500_LATE, { "-H", "@HOST", "version" }, .want_exit = 2,
	  .want = "fake engine exploded" },
	{ "deploy --dry-run, 500", E_500_LATE, { "-H", "@HOST", "deploy", "--dry-run" },
	  .compose = COMPOSE_OK, .git = true, .want_exit = 1, .want = "fake engine exploded" },
	{ "status, truncated", E_TRUNCATED, { "-H", "@HOST", "status" }, .compose = COMPOSE_OK,
	  .want_exit = 2, .want = "/containers/json" },
	{ "status, no JSON", E_BADJSON, { "-H", "@HOST", "status" }, .compose = COMPOSE_OK, .want_exit = 2,
	  .want = "JSON" },
	{ "version, no JSON", E_BADJSON, { "-H", "@HOST", "version" }, .want_exit = 2, .want = "/version" },
	{ "status, endless body", E_HUGE, { "-H", "@HOST", "status" }, .compose = COMPOSE_OK,
	  .want_exit = 2, .want = "response larger than", .max_seconds = 15 },
	{ "version, endless body", E_HUGE, { "-H", "@HOST", "version" }, .want_exit = 2,
	  .want = "response larger than", .max_seconds = 15 },
	{ "health, endless body", E_HUGE, { "-H", "@HOST", "health" }, .compose = COMPOSE_OK,
	  .want_exit = 4, .want = "response larger than", .max_seconds = 15 },
	{ "version, API too old", E_OLDAPI, { "-H", "@HOST", "version" }, .want_exit = 2, .want = "1.12" },
};

/* Nothing changed: the state directory holds no journal and no current state. */
static void assert_nothing_written(const char *dir, const char *name)
{
	static const char *const files[] = { "journal.jsonl", "current.json" };
	char path[600];
	struct stat st;

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/state/%s", dir, files[i]);
		if (stat(path, &st) == 0)
			fail_msg("%s: %s was written", name, files[i]);
	}
}

static void make_project(const char *dir, const struct bad_case *c)
{
	char proj[512];

	snprintf(proj, sizeof(proj), "%s/proj", dir);
	if (c->git) {
		struct repo rp;
		char sha[VD_SHA_HEX];

		repo_init_at(&rp, proj);
		repo_put(&rp, "docker-compose.yml", c->compose, 0100644);
		if (c->config)
			repo_put(&rp, "voxdeploy.yml", c->config, 0100644);
		repo_put(&rp, "README.md", "hello\n", 0100644);
		repo_commit(&rp, sha);
		repo_close(&rp);
	} else {
		assert_int_equal(mkdir(proj, 0700), 0);
		if (c->compose)
			tu_write_str(proj, "docker-compose.yml", c->compose);
		if (c->config)
			tu_write_str(proj, "voxdeploy.yml", c->config);
	}
	if (c->dotenv)
		tu_write(proj, ".env", c->dotenv, c->dotenv_len ? c->dotenv_len : strlen(c->dotenv));
}

static void bad_input__corpus(void **state)
{
	size_t failed = 0;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct bad_case *c = &cases[i];
		char dir[] = "/tmp/vd-bad-input-XXXXXX";
		struct engine e;
		struct run r = { 0 };
		double max = c->max_seconds > 0 ? c->max_seconds : 20;
		bool ok = true;

		assert_non_null(mkdtemp(dir));
		make_project(dir, c);
		engine_start(&e, c->engine, dir);
		run_vd(dir, &e, c->argv, c->env, 60, &r);
		engine_stop(&e);
		if (!WIFEXITED(r.status)) {
			print_error("case '%s': ended by signal %d\n%s", c->name, WTERMSIG(r.status), r.err);
			ok = false;
		} else if (WEXITSTATUS(r.status) != c->want_exit) {
			print_error("case '%s': exit %d, want %d\n", c->name, WEXITSTATUS(r.status), c->want_exit);
			ok = false;
		}
		if (!strstr(r.err, c->want) && !strstr(r.out, c->want)) {
			print_error("case '%s': no '%s' in what it printed\n", c->name, c->want);
			ok = false;
		}
		if (r.seconds > max) {
			print_error("case '%s': took %.1f s (at most %.0f)\n", c->name, r.seconds, max);
			ok = false;
		}
		if (!ok) {
			print_error("  stdout: %.400s\n  stderr: %.400s\n", r.out, r.err);
			failed++;
		}
		assert_nothing_written(dir, c->name);
		run_release(&r);
		assert_int_equal(tu_rm_rf(dir), 0);
	}
	print_message("%zu bad-input cases, %zu failed\n", sizeof(cases) / sizeof(cases[0]), failed);
	assert_int_equal(failed, 0);
}

static void bad_input__serve(void **state)
{
	static const struct {
		const char *name;
		const char *req;
		int want;           /* status */
		const char *body;   /* in the answer, or NULL */
		bool or_hang_up;    /* no answer is right too: libmicrohttpd 1.0 hangs up on a
				     * request line that is no HTTP, 0.9 answers 400 */
	} reqs[] = {
		{ "a method other than GET", "DELETE /v1/report HTTP/1.1\r\nHost: x\r\n\r\n", 405, "only GET and HEAD" },
		{ "a POST with a body", "POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nabcd", 405, NULL },
		{ "an unknown path", "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n", 404, "no such endpoint" },
		{ "a path that climbs", "GET /../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n", 404, NULL },
		{ "a bad limit", "GET /v1/deployments?limit=0 HTTP/1.1\r\nHost: x\r\n\r\n", 400, "limit must be" },
		{ "a limit that is no number", "GET /v1/deployments?limit=1e3 HTTP/1.1\r\nHost: x\r\n\r\n", 400, NULL },
		{ "a huge limit", "GET /v1/deployments?limit=99999999999999999999 HTTP/1.1\r\nHost: x\r\n\r\n", 400, NULL },
		{ "a bad fresh", "GET /v1/report?fresh=yes HTTP/1.1\r\nHost: x\r\n\r\n", 400, NULL },
		{ "no HTTP at all", "\x01\x02\x03 hello\r\n\r\n", 400, NULL, true },
		{ "an unknown HTTP version", "GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n", 505, NULL },
	};
	char dir[] = "/tmp/vd-bad-serve-XXXXXX", proj[64], listen[64], *answer = NULL;
	const char *argv[] = { "-H", "@HOST", "serve", "--listen", listen, NULL };
	const char *env_kv[4];
	struct engine e;
	uint16_t port = tu_free_port();
	size_t failed = 0;
	pid_t pid;
	int status, code;

	assert_non_null(mkdtemp(dir));
	snprintf(proj, sizeof(proj), "%s/proj", dir);
	assert_int_equal(mkdir(proj, 0700), 0);
	tu_write_str(proj, "docker-compose.yml", COMPOSE_OK);
	snprintf(listen, sizeof(listen), "127.0.0.1:%u", port);
	engine_start(&e, E_OK, dir);
	pid = start_vd(dir, &e, argv, NULL, "serve.log", "serve.log");
	(void)env_kv;
	/* wait for it to listen */
	assert_int_equal(tu_http_wait(port, 5000), 200);
	for (size_t i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
		code = tu_http_raw(port, reqs[i].req, strlen(reqs[i].req), &answer);
		if (code == 0 && reqs[i].or_hang_up)
			continue;
		if (code != reqs[i].want || (reqs[i].body && !strstr(answer, reqs[i].body))) {
			print_error("serve case '%s': status %d, want %d\n%.300s\n", reqs[i].name, code,
				    reqs[i].want, answer);
			failed++;
		}
	}
	/* oversized: a 1 MiB header line and a 1 MiB URL; refused, and the server goes on */
	{
		size_t big = 1 << 20;
		char *req = malloc(big + 128);
		int n;

		assert_non_null(req);
		n = snprintf(req, 128, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ");
		memset(req + n, 'a', big);
		memcpy(req + n + big, "\r\n\r\n", 5);
		code = tu_http_raw(port, req, (size_t)n + big + 4, NULL);
		if (code != 431 && code != 413 && code != 0) {
			print_error("serve case 'an oversized header': status %d\n", code);
			failed++;
		}
		n = snprintf(req, 128, "GET /");
		memset(req + n, 'a', big);
		memcpy(req + n + big, " HTTP/1.1\r\nHost: x\r\n\r\n", 23);
		code = tu_http_raw(port, req, (size_t)n + big + 23, NULL);
		if (code != 414 && code != 413 && code != 431 && code != 0) {
			print_error("serve case 'an oversized URL': status %d\n", code);
			failed++;
		}
		free(req);
	}
	code = tu_http_raw(port, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 35, NULL);
	if (code != 200) {
		print_error("serve: /healthz after the bad requests: %d\n", code);
		failed++;
	}
	kill(pid, SIGTERM);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	engine_stop(&e);
	if (!WIFEXITED(status)) {
		print_error("serve ended by signal %d\n", WIFSIGNALED(status) ? WTERMSIG(status) : -1);
		failed++;
	}
	assert_nothing_written(dir, "serve");
	print_message("%zu serve cases, %zu failed\n", sizeof(reqs) / sizeof(reqs[0]) + 2, failed);
	free(answer);
	assert_int_equal(tu_rm_rf(dir), 0);
	assert_int_equal(failed, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(bad_input__corpus),
		cmocka_unit_test(bad_input__serve),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
