/* Unit tests of voxdeploy.yml (controller/config.h) and the probe list
 * (controller/rollout/probe_list.h): defaults, every key, tier lists replacing the
 * defaults, the messages of bad input with their positions, interpolation,
 * the secrets rule and secret registration, the app service rule, and
 * probes with and without a health section. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/json.h"
#include "docker_api/swarm.h"
#include "common/log.h"
#include "controller/config/config.h"
#include "controller/rollout/probe_list.h"
#include "health/probe.h"
#include "gitrepo.h"
#include "testutil.h"

static const char *test_lookup(const char *name, void *ctx)
{
	static const char *const vars[][2] = {
		{ "DB_PASSWORD", "db-pass-7f3a" },
		{ "DB_USER", "voxpersona" },
		{ "DB_NAME", "voxpersona_db" },
		{ "HOOK_TOKEN", "hook-tok-91bc" },
		{ "TELEGRAM_BOT_TOKEN", "123456:tg-secret-token" },
		{ "URL_PASS", "url-pass-55aa" },
		{ "APP", "bot" },
		{ "DEADLINE", "90s" },
		{ "PGPW", "derived-pg-pw-42" },
		{ "EMPTY", "" },
	};
	size_t i;

	for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		if (!strcmp(vars[i][0], name))
			return vars[i][1];
	return NULL;
}

static vd_config *must_parse(const char *text)
{
	vd_error err = VD_ERROR_INIT;
	vd_config *c = NULL;

	if (vd_config_parse(text, strlen(text), "voxdeploy.yml", test_lookup, NULL, &c, &err))
		fail_msg("parse failed: %s", vd_error_msg(&err));
	return c;
}

static void expect_error(const char *text, const char *want)
{
	vd_error err = VD_ERROR_INIT;
	vd_config *c = NULL;
	int r = vd_config_parse(text, strlen(text), "voxdeploy.yml", test_lookup, NULL, &c, &err);

	if (r != VD_EINVAL || strcmp(vd_error_msg(&err), want))
		fail_msg("want VD_EINVAL '%s', got %d '%s'", want, r, vd_error_msg(&err));
	assert_null(c);
	vd_error_release(&err);
}

/* The same, the message holding `part` (with its FILE:LINE:COL). */
static void expect_error_part(const char *text, const char *part)
{
	vd_error err = VD_ERROR_INIT;
	vd_config *c = NULL;
	int r = vd_config_parse(text, strlen(text), "voxdeploy.yml", test_lookup, NULL, &c, &err);

	if (r != VD_EINVAL || !strstr(vd_error_msg(&err), part) ||
	    strncmp(vd_error_msg(&err), "voxdeploy.yml:1:", 16))
		fail_msg("want VD_EINVAL '...%s...', got %d '%s'", part, r, vd_error_msg(&err));
	assert_null(c);
	vd_error_release(&err);
}

static bool redacted(const char *secret)
{
	vd_buf b = VD_BUF_INIT;
	bool ok;

	assert_int_equal(vd_secret_redact(secret, &b), 0);
	ok = !strcmp(vd_buf_cstr(&b), "***");
	vd_buf_release(&b);
	return ok;
}

static vd_compose *load_model(const char *yaml)
{
	vd_error err = VD_ERROR_INIT;
	vd_compose_source src = { "docker-compose.yml", yaml, strlen(yaml) };
	vd_compose_options opts = { "/srv/vox", "vox", test_lookup, NULL };
	vd_compose *m = NULL;

	if (vd_compose_load(&src, 1, &opts, &m, &err))
		fail_msg("compose: %s", vd_error_msg(&err));
	return m;
}

static void config__defaults(void **state)
{
	vd_error err = VD_ERROR_INIT;
	vd_config *c = NULL, *e;
	vd_rules *r = NULL;

	assert_int_equal(vd_config_defaults(&c, &err), 0);
	assert_null(c->file);
	assert_true(c->image_aware);
	assert_null(c->app_service);
	assert_false(c->health.section);
	assert_int_equal(c->health.deadline_ms, 60000);
	assert_int_equal(c->health.stable_for_ms, 5000);
	assert_true(c->health.containers);
	assert_int_equal(c->health.n_postgres + c->health.n_http + c->health.n_resources, 0);
	assert_false(c->deploy.stop_grace_set);
	assert_int_equal(c->deploy.retain_images, 5);
	assert_false(c->notify.on_success);
	assert_int_equal(c->notify.timeout_ms, 20000);
	assert_int_equal(c->serve.report_ttl_ms, 10000);
	assert_int_equal(vd_rules_fallback(c->rules), VD_TIER_APP_ONLY);
	assert_int_equal(vd_rules_classify(c->rules, "Dockerfile", NULL), VD_TIER_FULL_RESTART);
	assert_int_equal(vd_rules_classify(c->rules, "README.md", NULL), VD_TIER_NO_RESTART);
	assert_int_equal(vd_config_service_order(c, "postgres"), VD_ORDER_STOP_FIRST);
	assert_int_equal(vd_config_stop_grace_ms(c, NULL), 10000);
	/* a copy for the plan */
	assert_int_equal(vd_config_rules(c, &r, &err), 0);
	assert_int_equal(vd_rules_count(r, VD_TIER_APP_ONLY), vd_rules_count(c->rules, VD_TIER_APP_ONLY));
	assert_int_equal(vd_rules_classify(r, "src/a.c", NULL), VD_TIER_APP_ONLY);
	vd_rules_free(r);
	vd_config_free(c);
	/* an empty file and a file of comments are the defaults too */
	e = must_parse("");
	assert_string_equal(e->file, "voxdeploy.yml");
	assert_int_equal(e->health.deadline_ms, 60000);
	vd_config_free(e);
	e = must_parse("# nothing yet\n");
	assert_true(e->image_aware);
	vd_config_free(e);
	/* sections with no value are as if absent */
	e = must_parse("rules:\nhealth:\ndeploy:\nnotify:\nserve:\napp_service:\nx-note: {a: 1}\n");
	assert_false(e->health.section);
	assert_null(e->app_service);
	assert_int_equal(vd_rules_count(e->rules, VD_TIER_APP_ONLY), 4);
	vd_config_free(e);
	vd_config_free(NULL);
}

static const char full_file[] =
	"x-anchors: &grace 12s\n"
	"rules:\n"
	"  full_restart: [compose.yaml, 'migrations/']\n"
	"  app_only: ['bot/**']\n"
	"  no_restart: []\n"
	"  unmatched: no_restart\n"
	"  image_aware: false\n"
	"app_service: ${APP}\n"
	"health:\n"
	"  deadline: ${DEADLINE}\n"
	"  stable_for: 2500ms\n"
	"  containers: false\n"
	"  postgres:\n"
	"    - {name: db, service: postgres, conninfo: \"host=db user=vox password=${DB_PASSWORD} dbname=vox\",\n"
	"       query: SELECT 2, timeout: 3s, interval: 500ms}\n"
	"  http:\n"
	"    - name: bot\n"
	"      service: bot\n"
	"      url: \"http://monitor:${URL_PASS}@bot:8080/health\"\n"
	"      method: HEAD\n"
	"      expect_status: [200, 204]\n"
	"      body_contains: ok\n"
	"      timeout: 2s\n"
	"      interval: 1s\n"
	"      follow_redirects: true\n"
	"  resources:\n"
	"    - {service: bot, max_memory_percent: 90, max_cpu_percent: 150.5, sample: 2s}\n"
	"deploy:\n"
	"  stop_grace: *grace\n"
	"  retain_images: 3\n"
	"  services: {postgres: {order: stop-first}, minio: {order: start-first}}\n"
	"notify:\n"
	"  on_success: yes\n"
	"  timeout: 1m\n"
	"  webhook:\n"
	"    - url: https://hooks.example/x\n"
	"      headers: {Authorization: \"Bearer ${HOOK_TOKEN}\"}\n"
	"  telegram:\n"
	"    - {chat_id: \"-100123\", token: \"${TELEGRAM_BOT_TOKEN}\"}\n"
	"    - {chat_id: 42, token: \"${TELEGRAM_BOT_TOKEN}\", api_base: \"http://tg.local\"}\n"
	"serve:\n"
	"  report_ttl: 30s\n";

static void config__every_key(void **state)
{
	vd_config *c = must_parse(full_file);

	assert_int_equal(vd_rules_count(c->rules, VD_TIER_FULL_RESTART), 2);
	assert_string_equal(vd_rules_pattern(c->rules, VD_TIER_FULL_RESTART, 1), "migrations/");
	assert_int_equal(vd_rules_count(c->rules, VD_TIER_APP_ONLY), 1);
	assert_int_equal(vd_rules_count(c->rules, VD_TIER_NO_RESTART), 0);
	assert_true(c->rules_overridden[VD_TIER_NO_RESTART]);
	assert_int_equal(vd_rules_fallback(c->rules), VD_TIER_NO_RESTART);
	assert_false(c->image_aware);
	assert_string_equal(c->app_service, "bot");

	assert_true(c->health.section);
	assert_int_equal(c->health.deadline_ms, 90000);
	assert_int_equal(c->health.stable_for_ms, 2500);
	assert_false(c->health.containers);
	assert_int_equal(c->health.n_postgres, 1);
	assert_string_equal(c->health.postgres[0].name, "db");
	assert_string_equal(c->health.postgres[0].service, "postgres");
	assert_string_equal(c->health.postgres[0].conninfo,
			    "host=db user=vox password=db-pass-7f3a dbname=vox");
	assert_string_equal(c->health.postgres[0].query, "SELECT 2");
	assert_int_equal(c->health.postgres[0].timeout_ms, 3000);
	assert_int_equal(c->health.postgres[0].interval_ms, 500);
	assert_int_equal(c->health.n_http, 1);
	assert_string_equal(c->health.http[0].url, "http://monitor:url-pass-55aa@bot:8080/health");
	assert_string_equal(c->health.http[0].method, "HEAD");
	assert_int_equal(c->health.http[0].n_expect_status, 2);
	assert_int_equal(c->health.http[0].expect_status[1], 204);
	assert_string_equal(c->health.http[0].body_contains, "ok");
	assert_int_equal(c->health.http[0].timeout_ms, 2000);
	assert_true(c->health.http[0].follow_redirects);
	assert_int_equal(c->health.n_resources, 1);
	assert_string_equal(c->health.resources[0].service, "bot");
	assert_true(c->health.resources[0].max_memory_percent == 90);
	assert_true(c->health.resources[0].max_cpu_percent == 150.5);
	assert_int_equal(c->health.resources[0].sample_ms, 2000);

	assert_true(c->deploy.stop_grace_set);
	assert_int_equal(c->deploy.stop_grace_ms, 12000);
	assert_int_equal(vd_config_stop_grace_ms(c, NULL), 12000);
	assert_int_equal(c->deploy.retain_images, 3);
	assert_int_equal(c->deploy.n_services, 2);
	assert_int_equal(vd_config_service_order(c, "minio"), VD_ORDER_START_FIRST);
	assert_int_equal(vd_config_service_order(c, "postgres"), VD_ORDER_STOP_FIRST);
	assert_int_equal(vd_config_service_order(c, "bot"), VD_ORDER_STOP_FIRST);
	assert_string_equal(vd_config_order_name(VD_ORDER_START_FIRST), "start-first");

	assert_true(c->notify.on_success);
	assert_int_equal(c->notify.timeout_ms, 60000);
	assert_int_equal(c->notify.n_webhook, 1);
	assert_string_equal(c->notify.webhook[0].url, "https://hooks.example/x");
	assert_int_equal(c->notify.webhook[0].n_headers, 1);
	assert_string_equal(c->notify.webhook[0].headers[0].key, "Authorization");
	assert_string_equal(c->notify.webhook[0].headers[0].value, "Bearer hook-tok-91bc");
	assert_int_equal(c->notify.n_telegram, 2);
	assert_string_equal(c->notify.telegram[0].chat_id, "-100123");
	assert_string_equal(c->notify.telegram[0].token, "123456:tg-secret-token");
	assert_string_equal(c->notify.telegram[0].api_base, "https://api.telegram.org");
	assert_string_equal(c->notify.telegram[1].chat_id, "42");
	assert_string_equal(c->notify.telegram[1].api_base, "http://tg.local");
	assert_int_equal(c->serve.report_ttl_ms, 30000);
	vd_config_free(c);
}

static void config__lists_replace_a_tier(void **state)
{
	vd_config *c = must_parse("rules:\n  app_only: ['bot/']\n");
	vd_error err = VD_ERROR_INIT;
	vd_rules *r = NULL;
	const char *rule = NULL;

	/* the app_only defaults (*.py, src/) are gone; the other tiers keep theirs */
	assert_int_equal(vd_rules_count(c->rules, VD_TIER_APP_ONLY), 1);
	assert_false(c->rules_overridden[VD_TIER_FULL_RESTART]);
	assert_int_equal(vd_rules_classify(c->rules, "bot/main.py", &rule), VD_TIER_APP_ONLY);
	assert_string_equal(rule, "bot/");
	assert_int_equal(vd_rules_classify(c->rules, "src/x.c", &rule), VD_TIER_APP_ONLY);
	assert_null(rule);  /* the fallback now, not src/ */
	assert_int_equal(vd_rules_classify(c->rules, "Dockerfile", NULL), VD_TIER_FULL_RESTART);
	assert_int_equal(vd_rules_classify(c->rules, "docs/a.md", NULL), VD_TIER_NO_RESTART);
	assert_int_equal(vd_config_rules(c, &r, &err), 0);
	assert_int_equal(vd_rules_classify(r, "bot/x", &rule), VD_TIER_APP_ONLY);
	assert_string_equal(rule, "bot/");
	vd_rules_free(r);
	vd_config_free(c);

	/* a null list keeps the defaults; unmatched in any spelling */
	c = must_parse("rules:\n  full_restart:\n  unmatched: full_restart\n");
	assert_int_equal(vd_rules_count(c->rules, VD_TIER_FULL_RESTART), 5);
	assert_int_equal(vd_rules_classify(c->rules, "odd.bin", NULL), VD_TIER_FULL_RESTART);
	vd_config_free(c);
}

static void config__bad_input(void **state)
{
	/* found by fuzz_config: libfyaml never returned on this (invalid UTF-8
	 * after a directive); the whole input, NUL bytes included */
	static const char hang[] = "rules:\n%ealth:\xf2K\x15\0 `\0\0\nde`<<ploy:\nnotive:pa: 1}\n";
	vd_error err = VD_ERROR_INIT;
	vd_config *c = NULL;

	assert_int_equal(vd_config_parse(hang, sizeof(hang) - 1, "voxdeploy.yml", test_lookup, NULL, &c, &err),
			 VD_EINVAL);
	assert_string_equal(vd_error_msg(&err), "voxdeploy.yml:2:8: invalid UTF-8 (YAML must be UTF-8 text)");
	assert_null(c);
	vd_error_release(&err);
	expect_error("rules:\n  bogus: 1\n", "voxdeploy.yml:2:3: rules: unknown key 'bogus'");
	expect_error("rulez: {}\n", "voxdeploy.yml:1:1: unknown key 'rulez'");
	expect_error("health:\n  postgres:\n    - conninfo: \"host=x password=${DB_PASSWORD}\"\n      timeot: 1s\n",
		     "voxdeploy.yml:4:7: health.postgres[0]: unknown key 'timeot'");
	expect_error("notify:\n  telegram:\n    - {chat_id: 1, token: \"${TELEGRAM_BOT_TOKEN}\", x: 1}\n",
		     "voxdeploy.yml:3:52: notify.telegram[0]: unknown key 'x'");
	expect_error("deploy:\n  services: {db: {ordr: stop-first}}\n",
		     "voxdeploy.yml:2:19: deploy.services.db: unknown key 'ordr'");
	/* types */
	expect_error("rules: [a]\n", "voxdeploy.yml:1:8: 'rules' must be a mapping");
	expect_error("rules:\n  app_only: src/\n", "voxdeploy.yml:2:13: rules: 'app_only' must be a list of patterns");
	expect_error("rules:\n  image_aware: maybe\n",
		     "voxdeploy.yml:2:16: rules: 'image_aware' must be a boolean (true or false), not 'maybe'");
	expect_error("health:\n  postgres: {conninfo: x}\n", "voxdeploy.yml:2:13: health: 'postgres' must be a list");
	expect_error("app_service: [a]\n", "voxdeploy.yml:1:14: 'app_service' must be a string");
	expect_error("health:\n  http:\n    - {url: \"http://x/\", expect_status: [20x]}\n",
		     "voxdeploy.yml:3:42: health.http[0]: 'expect_status' must be an integer from 100 to 599, not '20x'");
	/* durations */
	expect_error("health:\n  deadline: 5x\n",
		     "voxdeploy.yml:2:13: health: 'deadline': invalid duration '5x' (like 500ms, 10s, 1m30s)");
	expect_error("deploy:\n  stop_grace: -3s\n",
		     "voxdeploy.yml:2:15: deploy: 'stop_grace': invalid duration '-3s' (like 500ms, 10s, 1m30s)");
	/* tiers and orders */
	expect_error("rules:\n  unmatched: docs\n",
		     "voxdeploy.yml:2:14: rules: 'unmatched': unknown tier 'docs' "
		     "(expected no_restart, app_only or full_restart)");
	expect_error("deploy:\n  services: {db: {order: rolling}}\n",
		     "voxdeploy.yml:2:26: deploy.services.db: 'order': unknown order 'rolling' (stop-first or start-first)");
	/* negative numbers */
	expect_error("deploy:\n  retain_images: -1\n",
		     "voxdeploy.yml:2:18: deploy: 'retain_images' must be an integer from 0 to 1000, not '-1'");
	expect_error("health:\n  resources: [{service: a, max_cpu_percent: -5}]\n",
		     "voxdeploy.yml:2:45: health.resources[0]: 'max_cpu_percent' must be a number from 0 to 1e+06, not '-5'");
	expect_error("health:\n  resources: [{service: a, max_memory_percent: 101}]\n",
		     "voxdeploy.yml:2:48: health.resources[0]: 'max_memory_percent' must be a number from 0 to 100, not '101'");
	/* a bad pattern names it */
	expect_error("rules:\n  no_restart: ['a//b']\n",
		     "voxdeploy.yml:2:16: rules: 'no_restart': pattern 'a//b': empty path segment ('//')");
	/* required keys */
	expect_error("health:\n  http: [{name: x}]\n", "voxdeploy.yml:2:10: health.http[0]: 'url' is required");
	expect_error("health:\n  http: [{url: \"ftp://x\"}]\n",
		     "voxdeploy.yml:2:16: health.http[0]: 'url' must start with http:// or https://");
	/* interpolation */
	expect_error("app_service: ${NOPE:?set it}\n",
		     "voxdeploy.yml:1:14: 'app_service': required variable NOPE is missing a value: set it");
	/* x- only at the top */
	expect_error("health:\n  x-foo: 1\n", "voxdeploy.yml:2:3: health: unknown key 'x-foo'");
}

static void config__secrets_only_through_variables(void **state)
{
	expect_error("health:\n  postgres: [{conninfo: \"host=db password=hunter2x dbname=a\"}]\n",
		     "voxdeploy.yml:2:25: health.postgres[0]: 'conninfo': secrets only through ${VAR} "
		     "(the conninfo has a literal password)");
	expect_error("health:\n  postgres: [{conninfo: \"postgresql://u:hunter2x@db/a\"}]\n",
		     "voxdeploy.yml:2:25: health.postgres[0]: 'conninfo': secrets only through ${VAR} "
		     "(the conninfo has a literal password)");
	expect_error("health:\n  postgres: [{conninfo: \"postgresql://u@db/a?password=hunter2x\"}]\n",
		     "voxdeploy.yml:2:25: health.postgres[0]: 'conninfo': secrets only through ${VAR} "
		     "(the conninfo has a literal password)");
	expect_error("notify:\n  telegram: [{chat_id: 1, token: \"123:abc\"}]\n",
		     "voxdeploy.yml:2:34: notify.telegram[0]: 'token': secrets only through ${VAR} "
		     "(a literal value here is refused)");
	expect_error("notify:\n  webhook: [{url: \"https://h/x\", headers: {X-Key: abc}}]\n",
		     "voxdeploy.yml:2:51: notify.webhook[0].headers: 'X-Key': secrets only through ${VAR} "
		     "(a literal value here is refused)");
	expect_error("notify:\n  webhook: [{url: \"https://user:pw12@h/x\"}]\n",
		     "voxdeploy.yml:2:19: notify.webhook[0]: 'url': secrets only through ${VAR} "
		     "(the URL has a literal password)");
	expect_error("health:\n  http: [{url: \"http://u:literal@h/\"}]\n",
		     "voxdeploy.yml:2:16: health.http[0]: 'url': secrets only through ${VAR} "
		     "(the URL has a literal password)");
	/* a user without a password, and variables, are fine */
	vd_config_free(must_parse("health:\n  postgres: [{conninfo: \"host=db user=a dbname=a\"},"
				  " {conninfo: \"postgresql://u:${DB_PASSWORD}@db/a\"},"
				  " {conninfo: \"host=db password='${DB_PASSWORD}'\"}]\n"
				  "  http: [{url: \"http://u@h/\"}]\n"));
}

static void config__secrets_are_registered(void **state)
{
	vd_config *c;
	vd_buf b = VD_BUF_INIT;

	vd_secret_clear();
	assert_false(redacted("db-pass-7f3a"));
	c = must_parse(full_file);
	assert_true(redacted("db-pass-7f3a"));            /* conninfo password */
	assert_true(redacted("hook-tok-91bc"));           /* a variable inside a header */
	assert_true(redacted("Bearer hook-tok-91bc"));    /* the header value */
	assert_true(redacted("123456:tg-secret-token"));  /* a token */
	assert_true(redacted("url-pass-55aa"));           /* a URL's password */
	assert_false(redacted("bot"));                    /* not every variable */
	/* the JSON of the effective configuration masks them anyway */
	assert_int_equal(vd_config_json(c, &b), 0);
	assert_null(strstr(vd_buf_cstr(&b), "db-pass"));
	assert_null(strstr(vd_buf_cstr(&b), "hook-tok"));
	assert_null(strstr(vd_buf_cstr(&b), "tg-secret"));
	assert_null(strstr(vd_buf_cstr(&b), "url-pass"));
	assert_non_null(strstr(vd_buf_cstr(&b), "\"conninfo\":\"host=db user=vox password=*** dbname=vox\""));
	assert_non_null(strstr(vd_buf_cstr(&b), "http://monitor:***@bot:8080/health"));
	vd_buf_release(&b);
	vd_config_free(c);
	vd_secret_clear();
}

static void config__masking(void **state)
{
	static const char *const cases[][2] = {
		{ "host=a password=xyz1 dbname=b", "host=a password=*** dbname=b" },
		{ "host=a password = 'x y\\'z' dbname=b", "host=a password = *** dbname=b" },
		{ "host=a dbname=b", "host=a dbname=b" },
		{ "postgresql://u:pw@h:5/d?sslmode=disable&password=q", "postgresql://u:***@h:5/d?sslmode=disable&password=***" },
		{ "postgres://u@h/d", "postgres://u@h/d" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		vd_buf b = VD_BUF_INIT;

		assert_int_equal(vd_config_mask_conninfo(cases[i][0], &b), 0);
		assert_string_equal(vd_buf_cstr(&b), cases[i][1]);
		vd_buf_release(&b);
	}
	{
		vd_buf b = VD_BUF_INIT;

		assert_int_equal(vd_config_mask_url("https://u:p@h/x?y=1", &b), 0);
		assert_string_equal(vd_buf_cstr(&b), "https://u:***@h/x?y=1");
		vd_buf_clear(&b);
		assert_int_equal(vd_config_mask_url("https://h/a@b", &b), 0);
		assert_string_equal(vd_buf_cstr(&b), "https://h/a@b");
		vd_buf_release(&b);
	}
}

static void config__app_service(void **state)
{
	vd_config *c = must_parse("");
	vd_config *named = must_parse("app_service: worker\n");
	vd_config *missing = must_parse("app_service: nope\n");
	vd_compose *by_name = load_model("services:\n  web: {build: .}\n  bot: {image: b, container_name: voxpersona_app}\n");
	vd_compose *one_built = load_model("services:\n  db: {image: postgres}\n  worker: {build: .}\n");
	vd_compose *two_built = load_model("services:\n  a: {build: a}\n  b: {build: b}\n");
	vd_error err = VD_ERROR_INIT;

	assert_string_equal(vd_config_app_service(c, by_name), "bot");
	assert_string_equal(vd_config_app_service(c, one_built), "worker");
	assert_null(vd_config_app_service(c, two_built));
	assert_string_equal(vd_config_app_service(named, one_built), "worker");
	assert_null(vd_config_app_service(missing, one_built));
	assert_int_equal(vd_config_check_model(missing, one_built, &err), VD_EINVAL);
	assert_string_equal(vd_error_msg(&err),
			    "voxdeploy.yml: app_service: no service 'nope' in the compose file (services: db, worker)");
	vd_error_release(&err);
	vd_compose_free(by_name);
	vd_compose_free(one_built);
	vd_compose_free(two_built);
	vd_config_free(c);
	vd_config_free(named);
	vd_config_free(missing);
}

static void config__stop_grace_from_the_service(void **state)
{
	vd_config *c = must_parse("");
	vd_compose *m = load_model("services:\n  a: {image: x, stop_grace_period: 1m30s}\n  b: {image: y}\n");

	assert_int_equal(vd_config_stop_grace_ms(c, vd_compose_service_find(m, "a")), 90000);
	assert_int_equal(vd_config_stop_grace_ms(c, vd_compose_service_find(m, "b")), 10000);
	vd_compose_free(m);
	vd_config_free(c);
}

static void config__load_from_disk(void **state)
{
	char dir[] = "/tmp/vd-config-XXXXXX", path[128];
	vd_project p = { dir, NULL, 0, "x" };
	vd_error err = VD_ERROR_INIT;
	vd_config *c = NULL;

	assert_non_null(mkdtemp(dir));
	assert_int_equal(vd_config_load(&p, test_lookup, NULL, &c, &err), 0);
	assert_null(c->file);
	vd_config_free(c);
	tu_write_str(dir, "voxdeploy.yaml", "serve:\n  report_ttl: 3s\n  nope: 1\n");
	assert_int_equal(vd_config_load(&p, test_lookup, NULL, &c, &err), VD_EINVAL);
	assert_non_null(strstr(vd_error_msg(&err), "voxdeploy.yaml:3:3: serve: unknown key 'nope'"));
	vd_error_release(&err);
	tu_write_str(dir, "voxdeploy.yaml", "serve:\n  report_ttl: 3s\n");
	assert_int_equal(vd_config_load(&p, test_lookup, NULL, &c, &err), 0);
	assert_int_equal(c->serve.report_ttl_ms, 3000);
	vd_config_free(c);
	tu_write_str(dir, "voxdeploy.yml", "");
	snprintf(path, sizeof(path), "%s/voxdeploy.yml", dir);
	assert_int_equal(vd_config_load(&p, test_lookup, NULL, &c, &err), VD_EINVAL);
	assert_non_null(strstr(vd_error_msg(&err), "both"));
	vd_error_release(&err);
	unlink(path);
	snprintf(path, sizeof(path), "%s/voxdeploy.yaml", dir);
	unlink(path);
	rmdir(dir);
}

/* The plan reads the file at the target commit, not in the work tree. */
static void config__load_at_a_commit(void **state)
{
	struct repo rp;
	char one[VD_SHA_HEX], two[VD_SHA_HEX], three[VD_SHA_HEX], sub[300];
	vd_error err = VD_ERROR_INIT;
	vd_project p = { NULL, NULL, 0, "x" };
	vd_config *c = NULL;
	vd_git *g = NULL;

	repo_init(&rp);
	repo_put(&rp, "README.md", "hi\n", 0100644);
	repo_commit(&rp, one);
	repo_put(&rp, "voxdeploy.yml", "rules:\n  app_only: [bot/]\n", 0100644);
	repo_commit(&rp, two);
	repo_put(&rp, "voxdeploy.yml", "rules:\n  nope: 1\n", 0100644);
	repo_commit(&rp, three);
	assert_int_equal(vd_git_open(rp.dir, &g, &err), 0);
	p.dir = rp.dir;
	assert_int_equal(vd_config_load_commit(g, one, &p, test_lookup, NULL, &c, &err), 0);
	assert_null(c->file);
	vd_config_free(c);
	assert_int_equal(vd_config_load_commit(g, two, &p, test_lookup, NULL, &c, &err), 0);
	assert_string_equal(c->file, "voxdeploy.yml");
	assert_int_equal(vd_rules_count(c->rules, VD_TIER_APP_ONLY), 1);
	vd_config_free(c);
	assert_int_equal(vd_config_load_commit(g, three, &p, test_lookup, NULL, &c, &err), VD_EINVAL);
	assert_string_equal(vd_error_msg(&err), "voxdeploy.yml:2:3: rules: unknown key 'nope'");
	vd_error_release(&err);
	/* a project in a subdirectory reads its own */
	repo_put(&rp, "svc/voxdeploy.yaml", "app_service: bot\n", 0100644);
	repo_commit(&rp, three);
	snprintf(sub, sizeof(sub), "%s/svc", rp.dir);
	p.dir = sub;
	assert_int_equal(vd_config_load_commit(g, three, &p, test_lookup, NULL, &c, &err), 0);
	assert_string_equal(c->file, "svc/voxdeploy.yaml");
	assert_string_equal(c->app_service, "bot");
	vd_config_free(c);
	p.dir = "/elsewhere";
	assert_int_equal(vd_config_load_commit(g, three, &p, test_lookup, NULL, &c, &err), VD_EINVAL);
	vd_error_release(&err);
	vd_git_free(g);
	repo_free(&rp);
}

static const char stack[] =
	"services:\n"
	"  bot:\n"
	"    build: .\n"
	"    container_name: voxpersona_app\n"
	"  postgres:\n"
	"    image: postgres:15-alpine\n"
	"    environment: {POSTGRES_USER: vox, POSTGRES_PASSWORD: \"${PGPW}\"}\n"
	"  db2:\n"
	"    image: registry.local:5000/team/postgres@sha256:abc\n"
	"    ports: [\"127.0.0.1:15432:5432\"]\n"
	"  minio:\n"
	"    image: minio/minio\n";

static const vd_probe *find_probe(const vd_probe_list *p, const char *service, vd_probe_kind kind)
{
	size_t i;

	for (i = 0; i < p->len; i++)
		if (p->items[i].kind == kind && p->items[i].service && !strcmp(p->items[i].service, service))
			return &p->items[i];
	return NULL;
}

static void probes__without_health_section(void **state)
{
	vd_config *c = must_parse("");
	vd_compose *m = load_model(stack);
	vd_probe_list p = VD_PROBES_INIT;
	vd_error err = VD_ERROR_INIT;
	const vd_probe *pr;

	vd_secret_clear();
	assert_int_equal(vd_probe_list_build(c, m, NULL, test_lookup, NULL, &p, &err), 0);
	assert_int_equal(p.len, 4 + 2);
	pr = find_probe(&p, "bot", VD_PROBE_CONTAINER);
	assert_non_null(pr);
	assert_string_equal(pr->container.ref, "voxpersona_app");
	assert_string_equal(find_probe(&p, "minio", VD_PROBE_CONTAINER)->container.ref, "vox-minio-1");
	assert_null(find_probe(&p, "minio", VD_PROBE_POSTGRES));
	assert_null(find_probe(&p, "bot", VD_PROBE_POSTGRES));
	/* the sidecar's view: the service name on the project network */
	pr = find_probe(&p, "postgres", VD_PROBE_POSTGRES);
	assert_non_null(pr);
	assert_string_equal(pr->postgres.conninfo,
			    "host='postgres' port='5432' user='vox' password='derived-pg-pw-42' dbname='vox'");
	assert_true(redacted("derived-pg-pw-42"));
	assert_int_equal(vd_probe_validate(pr, &err), 0);
	/* published on the host: 127.0.0.1 and the published port; the defaults */
	pr = find_probe(&p, "db2", VD_PROBE_POSTGRES);
	assert_non_null(pr);
	assert_string_equal(pr->postgres.conninfo,
			    "host='127.0.0.1' port='15432' user='postgres' dbname='postgres'");
	vd_probe_list_release(&p);

	/* one service */
	assert_int_equal(vd_probe_list_build(c, m, "postgres", test_lookup, NULL, &p, &err), 0);
	assert_int_equal(p.len, 2);
	vd_probe_list_release(&p);
	assert_int_equal(vd_probe_list_build(c, m, "nope", test_lookup, NULL, &p, &err), VD_EINVAL);
	assert_string_equal(vd_error_msg(&err),
			    "no service 'nope' in the compose file (services: bot, postgres, db2, minio)");
	vd_probe_list_release(&p);
	vd_error_release(&err);
	vd_compose_free(m);
	vd_config_free(c);
	vd_secret_clear();
}

static void probes__with_health_section(void **state)
{
	vd_config *c = must_parse("health:\n"
				  "  containers: false\n"
				  "  postgres: [{name: db, service: postgres, conninfo: \"host=x password=${DB_PASSWORD}\"}]\n"
				  "  http: [{name: web, service: bot, url: \"http://bot:8080/\", expect_status: 200}]\n"
				  "  resources: [{service: bot, max_memory_percent: 80}]\n");
	vd_config *cont = must_parse("health: {}\n");
	vd_config *bad = must_parse("health:\n  http: [{service: ghost, url: \"http://x/\"}]\n");
	vd_compose *m = load_model(stack);
	vd_probe_list p = VD_PROBES_INIT;
	vd_error err = VD_ERROR_INIT;
	const vd_probe *pr;

	assert_int_equal(vd_probe_list_build(c, m, NULL, test_lookup, NULL, &p, &err), 0);
	assert_int_equal(p.len, 3);   /* no container probes, no derived postgres */
	pr = find_probe(&p, "postgres", VD_PROBE_POSTGRES);
	assert_string_equal(pr->name, "db");
	assert_string_equal(pr->postgres.conninfo, "host=x password=db-pass-7f3a");
	pr = find_probe(&p, "bot", VD_PROBE_HTTP);
	assert_string_equal(pr->http.url, "http://bot:8080/");
	assert_int_equal(pr->http.n_expect_status, 1);
	assert_int_equal(pr->http.expect_status[0], 200);
	pr = find_probe(&p, "bot", VD_PROBE_RESOURCES);
	assert_string_equal(pr->resources.ref, "voxpersona_app");
	assert_true(pr->resources.max_memory_percent == 80);
	for (size_t i = 0; i < p.len; i++)
		assert_int_equal(vd_probe_validate(&p.items[i], &err), 0);
	vd_probe_list_release(&p);
	assert_int_equal(vd_probe_list_build(c, m, "bot", test_lookup, NULL, &p, &err), 0);
	assert_int_equal(p.len, 2);
	vd_probe_list_release(&p);

	/* an empty health section: container probes only, nothing derived
	 * (`health:` with no value is no section) */
	assert_int_equal(vd_probe_list_build(cont, m, NULL, test_lookup, NULL, &p, &err), 0);
	assert_int_equal(p.len, 4);
	assert_null(find_probe(&p, "postgres", VD_PROBE_POSTGRES));
	vd_probe_list_release(&p);

	assert_int_equal(vd_probe_list_build(bad, m, NULL, test_lookup, NULL, &p, &err), VD_EINVAL);
	assert_string_equal(vd_error_msg(&err), "voxdeploy.yml: health.http: no service 'ghost' in the "
						 "compose file (services: bot, postgres, db2, minio)");
	vd_probe_list_release(&p);
	vd_error_release(&err);
	vd_compose_free(m);
	vd_config_free(c);
	vd_config_free(cont);
	vd_config_free(bad);
}

static void probes__postgres_image(void **state)
{
	assert_true(vd_probe_list_is_postgres_image("postgres"));
	assert_true(vd_probe_list_is_postgres_image("postgres:15"));
	assert_true(vd_probe_list_is_postgres_image("library/postgres:16-alpine"));
	assert_true(vd_probe_list_is_postgres_image("localhost:5000/x/postgres@sha256:00"));
	assert_true(vd_probe_list_is_postgres_image("voxdeploy-test/postgres:local"));
	assert_false(vd_probe_list_is_postgres_image("postgresql"));
	assert_false(vd_probe_list_is_postgres_image("postgres-exporter:1"));
	assert_false(vd_probe_list_is_postgres_image("mypostgres"));
	assert_false(vd_probe_list_is_postgres_image(NULL));
	assert_false(vd_probe_list_is_postgres_image(""));
}

/* deploy/voxdeploy.yml.example is what VoxPersona copies: it must load. */
static void config__deploy_example_loads(void **state)
{
	char path[1024], *text = NULL;
	size_t n = 0;
	vd_config *c;
	FILE *f;

	snprintf(path, sizeof(path), "%s/../../../deploy/voxdeploy.yml.example", VD_TEST_DATA);
	f = fopen(path, "r");
	assert_non_null(f);
	assert_true(getdelim(&text, &n, '\0', f) > 0);
	fclose(f);
	c = must_parse(text);
	assert_string_equal(c->app_service, "voxpersona");
	assert_int_equal(c->health.n_postgres, 1);
	assert_non_null(strstr(c->health.postgres[0].conninfo, "user=voxpersona "));
	assert_non_null(strstr(c->health.postgres[0].conninfo, "dbname=voxpersona_db"));
	assert_non_null(strstr(c->health.postgres[0].conninfo, "password=db-pass-7f3a"));
	assert_int_equal(c->health.n_http, 1);
	assert_string_equal(c->health.http[0].service, "voxpersona");
	assert_int_equal(c->health.n_resources, 1);
	assert_true(c->health.resources[0].max_memory_percent == 90);
	assert_int_equal(c->notify.n_telegram, 1);
	assert_string_equal(c->notify.telegram[0].token, "123456:tg-secret-token");
	assert_string_equal(c->notify.telegram[0].chat_id, "-1001234567890");
	assert_int_equal(c->deploy.retain_images, 5);
	vd_config_free(c);
	free(text);
}

/* backup, deploy.release and deploy.min_free: defaults, values, mistakes. */
static void config__backup_release_min_free(void **state)
{
	vd_config *c = must_parse("x-unused: 1\n");

	(void)state;
	assert_true(c->backup.enabled);
	assert_true(c->backup.full_restart);
	assert_false(c->backup.app_only);
	assert_int_equal(c->backup.keep, 10);
	assert_false(c->backup.restore_on_rollback);
	assert_null(c->backup.services);
	assert_null(c->deploy.release.service);
	assert_int_equal(c->deploy.min_free_bytes, (uint64_t)2 << 30);
	assert_int_equal(c->deploy.compose_hash, 2);
	vd_config_free(c);
	c = must_parse("deploy: {compose_hash: \"1.29\"}\n");
	assert_int_equal(c->deploy.compose_hash, 1);
	vd_config_free(c);
	c = must_parse("deploy: {compose_hash: v2}\n");
	assert_int_equal(c->deploy.compose_hash, 2);
	assert_int_equal(c->deploy.builder, VD_CONFIG_BUILDER_AUTO);
	assert_int_equal(c->deploy.parallel, 8);
	vd_config_free(c);
	c = must_parse("deploy: {parallel: 1}\n");
	assert_int_equal(c->deploy.parallel, 1);
	vd_config_free(c);
	c = must_parse("deploy: {builder: classic}\n");
	assert_int_equal(c->deploy.builder, VD_CONFIG_BUILDER_CLASSIC);
	vd_config_free(c);
	c = must_parse("deploy: {builder: buildkit}\n");
	assert_int_equal(c->deploy.builder, VD_CONFIG_BUILDER_BUILDKIT);
	assert_int_equal(c->deploy.backend, VD_CONFIG_BACKEND_CONTAINERS);
	assert_null(c->deploy.registry.address);
	vd_config_free(c);
	c = must_parse("deploy:\n  backend: swarm\n  registry: {address: \"reg.local:5000\", username: ci, "
		       "password: \"${URL_PASS}\"}\n");
	assert_int_equal(c->deploy.backend, VD_CONFIG_BACKEND_SWARM);
	assert_string_equal(c->deploy.registry.address, "reg.local:5000");
	assert_string_equal(c->deploy.registry.username, "ci");
	assert_string_equal(c->deploy.registry.password, "url-pass-55aa");
	{
		vd_buf json = VD_BUF_INIT;

		assert_int_equal(vd_config_json(c, &json), 0);
		assert_non_null(strstr(vd_buf_cstr(&json), "\"backend\":\"swarm\""));
		assert_non_null(strstr(vd_buf_cstr(&json), "\"registry\":{\"address\":\"reg.local:5000\","
							   "\"username\":\"ci\",\"password\":\"***\"}"));
		assert_null(strstr(vd_buf_cstr(&json), "url-pass-55aa"));
		vd_buf_release(&json);
	}
	{
		vd_buf auth = VD_BUF_INIT, want = VD_BUF_INIT;
		vd_error err = VD_ERROR_INIT;

		assert_int_equal(vd_config_registry_auth(c, &auth, &err), 0);
		assert_int_equal(vd_registry_auth_encode("ci", "url-pass-55aa", "reg.local:5000", &want), 0);
		assert_string_equal(vd_buf_cstr(&auth), vd_buf_cstr(&want));
		vd_buf_release(&auth);
		vd_buf_release(&want);
		vd_config_free(c);
		/* anonymous: no header of its own */
		c = must_parse("deploy: {registry: {address: \"reg.local:5000\"}}\n");
		assert_int_equal(vd_config_registry_auth(c, &auth, &err), 0);
		assert_int_equal(auth.len, 0);
	}
	vd_config_free(c);
	c = must_parse("deploy: {backend: auto}\n");
	assert_int_equal(c->deploy.backend, VD_CONFIG_BACKEND_AUTO);
	vd_config_free(c);

	c = must_parse("backup: false\n");
	assert_false(c->backup.enabled);
	vd_config_free(c);
	c = must_parse("backup: {before: [app_only, full_restart], keep: 3, restore_on_rollback: true,"
		       " timeout: 10m, services: [db]}\n"
		       "deploy:\n  min_free: 500m\n  release: {service: bot, command: \"python -m migrate\","
		       " timeout: 90s, on: [full_restart]}\n");
	assert_true(c->backup.app_only && c->backup.full_restart && c->backup.restore_on_rollback);
	assert_int_equal(c->backup.keep, 3);
	assert_int_equal(c->backup.timeout_ms, 600000);
	assert_int_equal(c->backup.n_services, 1);
	assert_string_equal(c->backup.services[0], "db");
	assert_int_equal(c->deploy.min_free_bytes, (uint64_t)500 << 20);
	assert_string_equal(c->deploy.release.service, "bot");
	assert_int_equal(c->deploy.release.n_command, 3);
	assert_string_equal(c->deploy.release.command[0], "/bin/sh");
	assert_string_equal(c->deploy.release.command[2], "python -m migrate");
	assert_int_equal(c->deploy.release.timeout_ms, 90000);
	assert_true(c->deploy.release.full_restart);
	assert_false(c->deploy.release.app_only);
	vd_config_free(c);
	c = must_parse("deploy: {release: {service: bot, command: [python, -m, migrate]}}\n");
	assert_int_equal(c->deploy.release.n_command, 3);
	assert_string_equal(c->deploy.release.command[0], "python");
	vd_config_free(c);

	expect_error_part("backup: sometimes\n", "'backup' must be false, true or a mapping");
	expect_error_part("backup: {before: [nightly]}\n", "'nightly' is no deploy type");
	expect_error_part("backup: {keep: 0}\n", "'keep' must be an integer from 1 to 1000");
	expect_error_part("backup: {kept: 3}\n", "unknown key 'kept'");
	expect_error_part("deploy: {min_free: lots}\n", "'min_free' must be a size");
	expect_error_part("deploy: {compose_hash: v3}\n", "'compose_hash' must be v2 or \"1.29\", not 'v3'");
	expect_error_part("deploy: {parallel: 0}\n", "parallel");
	expect_error_part("deploy: {parallel: 65}\n", "parallel");
	expect_error_part("deploy: {builder: buildx}\n", "'builder' must be auto, buildkit or classic, not 'buildx'");
	expect_error_part("deploy: {backend: kubernetes}\n",
			  "'backend' must be containers, swarm or auto, not 'kubernetes'");
	expect_error_part("deploy: {registry: {address: r:5000, username: ci, password: hunter2}}\n",
			  "'password': secrets only through ${VAR}");
	expect_error_part("deploy: {registry: {username: ci}}\n", "address");
	c = must_parse("deploy: {registry: {address: r:5000, username: \"\"}}\n");
	assert_null(c->deploy.registry.username);
	vd_config_free(c);
	expect_error_part("deploy: {registry: {address: r:5000, password: \"${URL_PASS}\"}}\n",
			  "'password' needs 'username' beside it");
	expect_error_part("deploy: {registry: {address: r:5000, user: ci}}\n", "unknown key 'user'");
	expect_error_part("deploy: {release: {service: bot, command: []}}\n", "must be a list of words");
	expect_error_part("deploy: {release: {service: bot, timeout: 0s}}\n", "timeout");
}

/* `voxdeploy config` shows the project's networks, volumes and secrets
 * (upstream's compose file declares a 172.20.0.0/16 network) and
 * health.fast_check. */
static void config__prints_networks_volumes_and_fast_check(void **state)
{
	char *dir = tu_mkdtemp("vd-config-nets"), out[512], *text;
	const char *argv[] = { VD_BINARY, "-C", dir, "config", "--json", NULL };
	struct tu_proc p = { argv, NULL, out, out, NULL, true };
	yajl_val v, n, vol;
	vd_error err = VD_ERROR_INIT;

	(void)state;
	snprintf(out, sizeof(out), "%s.out", dir);
	tu_write_str(dir, "docker-compose.yml",
		     "name: vox\n"
		     "services:\n"
		     "  app: {image: app, networks: [voxpersona_network], volumes: [\"data:/data\"],\n"
		     "        secrets: [bot_token]}\n"
		     "networks:\n"
		     "  voxpersona_network:\n"
		     "    driver: bridge\n"
		     "    ipam: {config: [{subnet: 172.20.0.0/16}]}\n"
		     "    labels: {team: vox}\n"
		     "  outside: {external: true}\n"
		     "volumes:\n"
		     "  data: {}\n"
		     "secrets:\n"
		     "  bot_token: {file: ./token.txt}\n");
	tu_write_str(dir, "voxdeploy.yml", "health: {fast_check: 100ms}\n");
	assert_int_equal(WEXITSTATUS(tu_wait(tu_spawn(&p), 60, "config --json")), 0);
	text = tu_read_file(out);
	v = vd_json_parse(text, &err);
	assert_non_null(v);
	assert_int_equal(vd_json_int(vd_json_at(v, "config", "health", NULL), "fast_check_ms", -1), 100);
	n = vd_json_idx(vd_json_get(v, "networks"), 0);
	assert_string_equal(vd_json_str(n, "network"), "voxpersona_network");
	assert_string_equal(vd_json_str(n, "name"), "vox_voxpersona_network");
	assert_string_equal(vd_json_str(vd_json_idx(vd_json_at(n, "ipam", "config", NULL), 0), "subnet"),
			    "172.20.0.0/16");
	assert_string_equal(vd_json_str(vd_json_get(n, "labels"), "team"), "vox");
	assert_string_equal(vd_json_str(vd_json_get(n, "create"), "Name"), "vox_voxpersona_network");
	n = vd_json_idx(vd_json_get(v, "networks"), 1);
	assert_true(vd_json_bool(n, "external", false));
	assert_true(YAJL_IS_NULL(vd_json_get(n, "create")));
	vol = vd_json_idx(vd_json_get(v, "volumes"), 0);
	assert_string_equal(vd_json_str(vol, "name"), "vox_data");
	assert_true(vd_json_bool(vol, "used", false));
	n = vd_json_idx(vd_json_get(v, "secrets"), 0);
	assert_string_equal(vd_json_str(n, "secret"), "bot_token");
	assert_non_null(strstr(vd_json_str(n, "file"), "/token.txt"));
	assert_string_equal(vd_json_str(vd_json_idx(vd_json_get(n, "services"), 0), "target"),
			    "/run/secrets/bot_token");
	yajl_tree_free(v);
	free(text);

	/* and for people */
	argv[4] = NULL;
	assert_int_equal(WEXITSTATUS(tu_wait(tu_spawn(&p), 60, "config")), 0);
	text = tu_read_file(out);
	assert_non_null(strstr(text, "fast_check 100ms"));
	assert_non_null(strstr(text, "\nnetworks\n  voxpersona_network\n"));
	assert_non_null(strstr(text, "subnet       172.20.0.0/16"));
	assert_non_null(strstr(text, "outside (external)"));
	assert_non_null(strstr(text, "\nvolumes\n  data\n"));
	assert_non_null(strstr(text, "mounted      app:/run/secrets/bot_token (read-only)"));
	free(text);
	unlink(out);
	assert_int_equal(tu_rm_rf(dir), 0);
	free(dir);
}

/* The most common setup there is, POSTGRES_PASSWORD=postgres, and a
 * project named like its password: every name stays readable, the values
 * are hidden where they stand, and the owner is warned. */
/* `voxdeploy -C dir -p voxpersona config`: exit 0, its stdout into *text
 * and stderr into *errs (caller frees); the directory is removed after. */
static void config_of(char *dir, char **text, char **errs)
{
	char out[512], errp[512];
	const char *argv[] = { VD_BINARY, "-C", dir, "-p", "voxpersona", "config", NULL };
	struct tu_proc p = { argv, NULL, out, errp, NULL, true };

	snprintf(out, sizeof(out), "%s.out", dir);
	snprintf(errp, sizeof(errp), "%s.err", dir);
	assert_int_equal(WEXITSTATUS(tu_wait(tu_spawn(&p), 60, "config")), 0);
	*text = tu_read_file(out);
	*errs = tu_read_file(errp);
	unlink(out);
	unlink(errp);
	assert_int_equal(tu_rm_rf(dir), 0);
	free(dir);
}

static void config__weak_passwords_garble_nothing(void **state)
{
	char *dir = tu_mkdtemp("voxpersona"), *text, *errs;

	(void)state;
	tu_write_str(dir, "docker-compose.yml",
		     "services:\n"
		     "  app:\n"
		     "    build: .\n"
		     "    environment:\n"
		     "      DATABASE_URL: postgresql://voxpersona:${APP_DB_PASSWORD}@postgres:5432/voxpersona\n"
		     "    depends_on: [postgres]\n"
		     "  postgres:\n"
		     "    image: postgres:18-alpine\n"
		     "    environment:\n"
		     "      POSTGRES_PASSWORD: postgres\n"
		     "    volumes: [\"pgdata:/var/lib/postgresql/data\"]\n"
		     "volumes:\n"
		     "  pgdata: {}\n");
	tu_write_str(dir, "Dockerfile", "FROM scratch\n");
	tu_write_str(dir, ".env", "APP_DB_PASSWORD=voxpersona\n");
	config_of(dir, &text, &errs);
	assert_non_null(strstr(text, "postgres:18-alpine"));
	assert_non_null(strstr(text, "/var/lib/postgresql/data"));
	assert_non_null(strstr(text, "\"com.docker.compose.depends_on\":\"postgres:service_started"));
	assert_non_null(strstr(text, "container    voxpersona-postgres-1"));
	assert_non_null(strstr(text, "postgres:5432/postgres"));
	assert_non_null(strstr(text, "voxpersona_pgdata"));
	assert_non_null(strstr(text, "POSTGRES_PASSWORD=***"));
	assert_non_null(strstr(text, "DATABASE_URL=***"));
	assert_null(strstr(text, "***:18"));
	assert_null(strstr(text, "***ql"));
	assert_null(strstr(text, "***_pgdata"));
	/* the password that is a name is told, once, by its variable */
	assert_non_null(strstr(errs, "POSTGRES_PASSWORD of service postgres is the name of the service \"postgres\""));
	assert_null(strstr(strstr(errs, "POSTGRES_PASSWORD of service") + 1, "POSTGRES_PASSWORD of service"));
	free(text);
	free(errs);
}

/* A password that looks unmistakable but is a name compose makes (the
 * image a built service is tagged as, "<project>-<service>"): the image and
 * the container stay whole, the value is hidden where it stands, and the
 * owner is told which name it is. */
static void config__password_that_is_a_made_name(void **state)
{
	char *dir = tu_mkdtemp("vdnames"), *text, *errs;

	(void)state;
	tu_write_str(dir, "docker-compose.yml",
		     "services:\n"
		     "  app:\n"
		     "    build: .\n"
		     "    environment:\n"
		     "      DB_PASSWORD: ${DB_PASSWORD}\n");
	tu_write_str(dir, "voxdeploy.yml",
		     "health:\n"
		     "  postgres:\n"
		     "    - {service: app, conninfo: \"host=db user=vd password=${DB_PASSWORD}\"}\n");
	tu_write_str(dir, "Dockerfile", "FROM scratch\n");
	tu_write_str(dir, ".env", "DB_PASSWORD=voxpersona-app\n");
	config_of(dir, &text, &errs);
	assert_non_null(strstr(text, "image        voxpersona-app (built)"));
	assert_non_null(strstr(text, "container    voxpersona-app-1"));
	assert_non_null(strstr(text, "\"Image\":\"voxpersona-app\""));
	assert_non_null(strstr(text, "DB_PASSWORD=***"));
	assert_null(strstr(text, "***-1"));
	assert_non_null(strstr(errs, "DB_PASSWORD is the name of the image \"voxpersona-app\""));
	free(text);
	free(errs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(config__weak_passwords_garble_nothing),
		cmocka_unit_test(config__password_that_is_a_made_name),
		cmocka_unit_test(config__defaults),
		cmocka_unit_test(config__every_key),
		cmocka_unit_test(config__lists_replace_a_tier),
		cmocka_unit_test(config__bad_input),
		cmocka_unit_test(config__secrets_only_through_variables),
		cmocka_unit_test(config__secrets_are_registered),
		cmocka_unit_test(config__masking),
		cmocka_unit_test(config__app_service),
		cmocka_unit_test(config__stop_grace_from_the_service),
		cmocka_unit_test(config__load_from_disk),
		cmocka_unit_test(config__load_at_a_commit),
		cmocka_unit_test(probes__without_health_section),
		cmocka_unit_test(probes__with_health_section),
		cmocka_unit_test(probes__postgres_image),
		cmocka_unit_test(config__deploy_example_loads),
		cmocka_unit_test(config__prints_networks_volumes_and_fast_check),
		cmocka_unit_test(config__backup_release_min_free),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
