/* Unit tests of common/: the error chain, the capped buffer, redaction,
 * durations and times, the JSON helpers and the JSON-lines reader. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/error.h"
#include "common/json.h"
#include "common/log.h"

static void error__chain(void **state)
{
	vd_error err = VD_ERROR_INIT;

	assert_string_equal(vd_error_msg(&err), "");
	assert_int_equal(vd_error_set(&err, VD_ECONFLICT, "%d %s: %s", 409, "Conflict", "name in use"),
			 VD_ECONFLICT);
	assert_int_equal(vd_error_prefix(&err, "start container"), VD_ECONFLICT);
	assert_int_equal(vd_error_prefix(&err, "recreate %s", "voxpersona_app"), VD_ECONFLICT);
	assert_string_equal(vd_error_msg(&err),
			    "recreate voxpersona_app: start container: 409 Conflict: name in use");
	/* a new error replaces the old one */
	vd_error_set(&err, VD_ETIMEOUT, "late");
	assert_string_equal(vd_error_msg(&err), "late");
	assert_int_equal(err.code, VD_ETIMEOUT);
	vd_error_release(&err);
	assert_int_equal(err.code, 0);
	assert_null(err.msg);
	/* NULL error objects are allowed where the caller does not care */
	assert_int_equal(vd_error_set(NULL, VD_EINVAL, "x"), VD_EINVAL);
	assert_string_equal(vd_error_code_name(VD_ENOTFOUND), "not found");
}

static void buf__cap_and_printf(void **state)
{
	vd_buf b;
	char *s;

	vd_buf_init(&b, 10);
	assert_string_equal(vd_buf_cstr(&b), "");
	assert_int_equal(vd_buf_puts(&b, "hello"), 0);
	assert_int_equal(vd_buf_printf(&b, "%d", 1234), 0);
	assert_string_equal(vd_buf_cstr(&b), "hello1234");
	/* the cap is exact: the 10th byte fits, the 11th does not */
	assert_int_equal(vd_buf_putc(&b, 'x'), 0);
	assert_int_equal(vd_buf_putc(&b, 'y'), VD_ETOOBIG);
	assert_int_equal(vd_buf_printf(&b, "%s", "more"), VD_ETOOBIG);
	assert_string_equal(vd_buf_cstr(&b), "hello1234x");
	vd_buf_consume(&b, 5);
	assert_string_equal(vd_buf_cstr(&b), "1234x");
	assert_int_equal(b.len, 5);
	s = vd_buf_detach(&b);
	assert_string_equal(s, "1234x");
	assert_null(b.ptr);
	free(s);
	/* detach of an empty buffer gives "" */
	s = vd_buf_detach(&b);
	assert_string_equal(s, "");
	free(s);
	/* huge requests fail cleanly */
	vd_buf_init(&b, 0);
	assert_int_equal(vd_buf_put(&b, "x", SIZE_MAX), VD_ETOOBIG);
	vd_buf_release(&b);
}

static char *redacted(const char *in)
{
	vd_buf out = VD_BUF_INIT;
	char *s;

	assert_int_equal(vd_secret_redact(in, &out), 0);
	s = strdup(vd_buf_cstr(&out));
	vd_buf_release(&out);
	return s;
}

#define assert_redacts(in, want)                        \
	do {                                            \
		char *got_ = redacted(in);              \
		assert_string_equal(got_, want);        \
		free(got_);                             \
	} while (0)

/* Structure: where a secret is, whatever its value, and nothing else. */
static void redact__where_a_secret_is(void **state)
{
	vd_secret_clear();
	assert_redacts("POSTGRES_PASSWORD=postgres image postgres:18-alpine",
		       "POSTGRES_PASSWORD=*** image postgres:18-alpine");
	assert_redacts("env: [\"DB_PASSWORD=x1\",\"PATH=/bin\"]", "env: [\"DB_PASSWORD=***\",\"PATH=/bin\"]");
	assert_redacts("host=db user=app password=changeme dbname=app",
		       "host=db user=app password=*** dbname=app");
	assert_redacts("password='two words' dbname=x", "password='***' dbname=x");
	/* a URL or conninfo under a secret-named key keeps all but its password */
	assert_redacts("{\"conninfo\":\"postgresql://vd:pw1@127.0.0.1/app\"}",
		       "{\"conninfo\":\"postgresql://vd:***@127.0.0.1/app\"}");
	assert_redacts("  conninfo: host=db password=pw1 dbname=x\n", "  conninfo: host=db password=*** dbname=x\n");
	assert_redacts("DSN=\"postgresql://vd:pw1@db/app\"", "DSN=\"postgresql://vd:***@db/app\"");
	assert_redacts("{\"token\":\"https://api.example/bot12:AB/x\"}", "{\"token\":\"***\"}");
	assert_redacts("postgresql://app:changeme@postgres:5432/app?sslmode=off",
		       "postgresql://app:***@postgres:5432/app?sslmode=off");
	assert_redacts("see https://example.org/a:b@c and http://host:8080/x",
		       "see https://example.org/a:b@c and http://host:8080/x");
	assert_redacts("{\"token\":\"123:abc\",\"chat_id\":42,\"password\":null}",
		       "{\"token\":\"***\",\"chat_id\":42,\"password\":null}");
	assert_redacts("Authorization: Bearer abc def\nHost: x\n", "Authorization: ***\nHost: x\n");
	assert_redacts("  POSTGRES_PASSWORD: postgres\n  - API_KEY: k\n", "  POSTGRES_PASSWORD: ***\n  - API_KEY: ***\n");
	/* a mention is no value; where a secret is kept, and which one, are names */
	assert_redacts("error: token: invalid", "error: token: invalid");
	assert_redacts("DB_PASSWORD_FILE=/run/secrets/db --token-file=/run/secrets/t",
		       "DB_PASSWORD_FILE=/run/secrets/db --token-file=/run/secrets/t");
	assert_redacts("{\"secret\":\"bot_token\"}", "{\"secret\":\"bot_token\"}");
	assert_redacts("a == b, x=1", "a == b, x=1");
	/* headers and query tokens */
	assert_redacts("X-Registry-Auth: eyJ1c2VybmFtZSI6ImEifQ==\n", "X-Registry-Auth: ***\n");
	assert_redacts("GET /v1/report?token=abc&fresh=1 HTTP/1.1", "GET /v1/report?token=***&fresh=1 HTTP/1.1");
	/* in a JSON string (an inspect's Env) the value runs to its end */
	assert_redacts("\"Env\":[\"DB_PASSWORD=two words, \\\"q\\\"\",\"PATH=/bin\"]",
		       "\"Env\":[\"DB_PASSWORD=***\",\"PATH=/bin\"]");
	assert_redacts("[\"DATABASE_PASSWORD=postgresql://u:pw1@db/x\"]", "[\"DATABASE_PASSWORD=postgresql://u:***@db/x\"]");
}

/* A registered value where a secret stands is hidden whole, blanks, commas
 * and '@' included. */
static void redact__registered_values_whole_where_they_stand(void **state)
{
	(void)state;
	vd_secret_clear();
	assert_int_equal(vd_secret_add("two words,x"), 0);
	assert_int_equal(vd_secret_add("p@ss/w"), 0);
	assert_redacts("DB_PASSWORD=two words,x next", "DB_PASSWORD=*** next");
	assert_redacts("said two words,x", "said two words,x");
	assert_redacts("postgresql://app:p@ss/w@db:5432/app", "postgresql://app:***@db:5432/app");
	assert_redacts("postgresql://app:other@db/p@ss/w", "postgresql://app:***@db/p@ss/w");
	vd_secret_clear();
}

/* Values: substrings only when unmistakable, never inside a name. */
static void redact__values_never_garble_names(void **state)
{
	FILE *f;
	char *text = NULL;
	size_t len = 0;

	vd_secret_clear();
	/* common words and the project's own name are weak */
	assert_int_equal(vd_secret_add("postgres"), 0);
	assert_int_equal(vd_secret_add("voxpersona"), 0);
	assert_int_equal(vd_secret_add("changeme123"), 0);
	assert_int_equal(vd_secret_add("correcthorsebatterystaple"), 0);
	assert_redacts("image postgres:18-alpine at /var/lib/postgresql/data, depends_on: [postgres]",
		       "image postgres:18-alpine at /var/lib/postgresql/data, depends_on: [postgres]");
	assert_redacts("build voxpersona:voxdeploy-0123456789ab", "build voxpersona:voxdeploy-0123456789ab");
	assert_redacts("said changeme123 correcthorsebatterystaple", "said changeme123 correcthorsebatterystaple");
	assert_redacts("POSTGRES_PASSWORD=postgres DB_PASSWORD=changeme123",
		       "POSTGRES_PASSWORD=*** DB_PASSWORD=***");
	/* unmistakable ones anywhere */
	assert_int_equal(vd_secret_add("s3cr3t-pw"), 0);
	assert_int_equal(vd_secret_add("0123456789abcdef0123456789abcdef"), 0);
	assert_int_equal(vd_secret_add("Mk1DbPass7f3a9c"), 0);
	assert_int_equal(vd_secret_add("ghp_R4nd0mT0kenValue"), 0);
	assert_redacts("x s3cr3t-pw y 0123456789abcdef0123456789abcdefZ [Mk1DbPass7f3a9c]", "x *** y ***Z [***]");
	assert_redacts("curl -H 'X: ghp_R4nd0mT0kenValue' https://h/?q=ghp_R4nd0mT0kenValue#ghp_R4nd0mT0kenValue.",
		       "curl -H 'X: ***' https://h/?q=***#***.");
	/* one that lies inside a name of the model is not replaced, and one
	 * that is the name is told about once */
	f = open_memstream(&text, &len);
	vd_log_set_stream(f);
	vd_log_set_timestamps(false);
	vd_log_set_level(VD_LOG_WARN);
	assert_int_equal(vd_secret_add_named("DB_PASSWORD", "voxbot-2024-prod"), 0);
	assert_redacts("voxbot-2024-prod", "***");
	assert_int_equal(vd_secret_keep("project", "voxbot-2024-prod"), 0);
	assert_int_equal(vd_secret_keep("image", "voxbot-2024-prod-app:latest"), 0);
	assert_redacts("build voxbot-2024-prod-app:latest", "build voxbot-2024-prod-app:latest");
	assert_redacts("build voxbot-2024-prod:voxdeploy-0123456789ab", "build voxbot-2024-prod:voxdeploy-0123456789ab");
	assert_int_equal(vd_secret_keep("service", "voxbot-2024-prod"), 0);
	assert_int_equal(vd_secret_keep("path", "/srv/Mk1DbPass7f3a9c/x"), 0);
	assert_redacts("DB_PASSWORD=voxbot-2024-prod", "DB_PASSWORD=***");
	/* a weak word inside a longer name changes nothing: no warning */
	assert_int_equal(vd_secret_add_named("PGADMIN_DEFAULT_PASSWORD", "admin"), 0);
	assert_int_equal(vd_secret_keep("image", "dpage/pgadmin4"), 0);
	fclose(f);
	assert_string_equal(text, "voxdeploy: warn: DB_PASSWORD is the name of the project \"voxbot-2024-prod\", so it is "
			    "hidden only where it stands as a value; choose a secret that is no name of the stack\n"
			    "voxdeploy: warn: a secret value is part of the name of the path \"/srv/Mk1DbPass7f3a9c/x\", "
			    "so it is hidden only where it stands as a value; choose a secret that is no name of the "
			    "stack\n");
	free(text);
	vd_log_set_stream(NULL);
	vd_secret_clear();
}

static void log__redacts_secrets(void **state)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	vd_buf out = VD_BUF_INIT;

	vd_secret_clear();
	assert_int_equal(vd_secret_add("s3cr3t-password"), 0);
	assert_int_equal(vd_secret_add("abc"), 0);  /* too short to register */
	setenv("VDTEST_API_TOKEN", "tok-1234567", 1);
	setenv("VDTEST_PLAIN", "plain-value", 1);
	vd_secret_add_env();
	vd_log_set_stream(f);
	vd_log_set_timestamps(false);
	vd_log_set_level(VD_LOG_INFO);
	vd_log_info("connecting with password=%s token=%s %s abc", "s3cr3t-password",
		    "tok-1234567", "plain-value");
	vd_log_debug("hidden by the level");
	fclose(f);
	assert_string_equal(text, "voxdeploy: info: connecting with password=*** token=*** plain-value abc\n");
	free(text);
	/* the longest secret wins when one contains another */
	vd_secret_add("s3cr3t-password-long");
	assert_int_equal(vd_secret_redact("x s3cr3t-password-long y", &out), 0);
	assert_string_equal(vd_buf_cstr(&out), "x *** y");
	vd_buf_release(&out);
	assert_true(vd_secret_name("POSTGRES_PASSWORD"));
	assert_true(vd_secret_name("telegram_bot_token"));
	assert_true(vd_secret_name("MINIO_SECRET_KEY"));
	assert_false(vd_secret_name("PATH"));
	vd_log_set_stream(NULL);
	vd_secret_clear();
	unsetenv("VDTEST_API_TOKEN");
}

static void clock__durations(void **state)
{
	static const struct { const char *in; uint64_t ms; } ok[] = {
		{ "10s", 10000 }, { "1m30s", 90000 }, { "500ms", 500 }, { "1h", 3600000 },
		{ "2.5s", 2500 }, { "90", 90000 }, { "1m", 60000 }, { "1h1m1s", 3661000 },
		{ "0s", 0 }, { "1500us", 2 },
	};
	static const char *const bad[] = { "", "s", "10x", "-1s", "1 s", "abc", "1m-1s" };
	uint64_t v;
	size_t i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(vd_duration_parse(ok[i].in, &v), 0);
		assert_int_equal(v, ok[i].ms);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(vd_duration_parse(bad[i], &v), VD_EINVAL);
}

static void clock__deadline(void **state)
{
	vd_deadline never = { 0 }, past = { 1 }, later = vd_deadline_in(60000);

	assert_false(vd_deadline_expired(never));
	assert_int_equal(vd_deadline_left_ms(never), UINT64_MAX);
	assert_true(vd_deadline_expired(past));
	assert_int_equal(vd_deadline_left_ms(past), 0);
	assert_false(vd_deadline_expired(later));
	assert_true(vd_deadline_left_ms(later) > 50000);
}

static void clock__times(void **state)
{
	int64_t t;
	char s[32];

	assert_int_equal(vd_time_parse("2026-11-27T00:05:43.631251371Z", &t), 0);
	assert_int_equal(t, 1795737943);
	assert_int_equal(vd_time_parse("2026-11-27T01:05:43+01:00", &t), 0);
	assert_int_equal(t, 1795737943);
	assert_int_equal(vd_time_parse("0001-01-01T00:00:00Z", &t), VD_ENOTFOUND);
	assert_int_equal(vd_time_parse("yesterday", &t), VD_EINVAL);
	assert_int_equal(vd_time_parse(NULL, &t), VD_EINVAL);
	vd_duration_format(12, s);
	assert_string_equal(s, "12s");
	vd_duration_format(302, s);
	assert_string_equal(s, "5m2s");
	vd_duration_format(7980, s);
	assert_string_equal(s, "2h13m");
	vd_duration_format(3 * 86400 + 4 * 3600 + 5, s);
	assert_string_equal(s, "3d4h");
}

static void json__lookups(void **state)
{
	vd_error err = VD_ERROR_INIT;
	yajl_val v = vd_json_parse("{\"a\":{\"b\":[1,\"x\",true]},\"n\":9007199254740993,"
				   "\"s\":\"str\",\"f\":false,\"d\":2.5}", &err);
	vd_kvs kvs;

	assert_non_null(v);
	assert_int_equal(vd_json_len(vd_json_at(v, "a", "b", NULL)), 3);
	assert_null(vd_json_at(v, "a", "missing", "deeper", NULL));
	assert_int_equal(vd_json_int(v, "n", 0), 9007199254740993LL);
	assert_int_equal(vd_json_int(v, "d", 0), 2);
	assert_int_equal(vd_json_int(v, "s", -1), -1);  /* wrong type → default */
	yajl_tree_free(v);
	/* found by fuzz_inspect and fuzz_jsonl: a number no int64 holds was
	 * converted anyway (undefined behaviour); it is of another type now */
	v = vd_json_parse("{\"big\":6.66667e+42,\"neg\":-1.7e24,\"long\":170000000000000000000000,"
			  "\"edge\":9223372036854775807.0,\"min\":-9223372036854775808.0}", &err);
	assert_non_null(v);
	assert_int_equal(vd_json_int(v, "big", -7), -7);
	assert_int_equal(vd_json_int(v, "neg", -7), -7);
	assert_int_equal(vd_json_int(v, "long", -7), -7);
	assert_int_equal(vd_json_int(v, "edge", -7), -7);  /* rounds to 2^63: out of range */
	assert_int_equal(vd_json_int(v, "min", 0), INT64_MIN);
	yajl_tree_free(v);
	v = vd_json_parse("{\"a\":{\"b\":[1,\"x\",true]},\"s\":\"str\",\"f\":false,\"n\":1}", &err);
	assert_non_null(v);
	assert_string_equal(vd_json_str(v, "s"), "str");
	assert_null(vd_json_str(v, "n"));
	assert_false(vd_json_bool(v, "f", true));
	assert_true(vd_json_bool(v, "missing", true));
	assert_null(vd_json_idx(vd_json_get(v, "s"), 0));
	yajl_tree_free(v);

	assert_null(vd_json_parse("{\"a\":", &err));
	assert_int_equal(err.code, VD_EPROTO);
	assert_non_null(strstr(vd_error_msg(&err), "invalid JSON"));
	assert_null(strchr(vd_error_msg(&err), '\n'));
	assert_null(vd_json_parse("", &err));

	v = vd_json_parse("{\"k1\":\"v1\",\"k2\":2,\"k3\":\"v3\"}", &err);
	assert_int_equal(vd_kvs_from_json(v, &kvs), 0);
	assert_int_equal(kvs.len, 2);
	assert_string_equal(vd_kvs_get(&kvs, "k3"), "v3");
	assert_null(vd_kvs_get(&kvs, "k2"));
	vd_kvs_release(&kvs);
	assert_int_equal(vd_kvs_from_json(NULL, &kvs), 0);
	assert_int_equal(kvs.len, 0);
	yajl_tree_free(v);
	vd_error_release(&err);
}

static void json__generate_roundtrip(void **state)
{
	vd_error err = VD_ERROR_INIT;
	const char *doc = "{\"a\":[1,-2,3.5,\"x\\\"y\",null,true,false],\"big\":18446744073709551615,\"o\":{}}";
	yajl_val v = vd_json_parse(doc, &err);
	yajl_gen g = vd_jgen_new();
	vd_buf out = VD_BUF_INIT;

	assert_non_null(v);
	vd_jgen_value(g, v);
	assert_int_equal(vd_jgen_finish(g, &out), 0);
	assert_string_equal(vd_buf_cstr(&out), doc);
	vd_buf_release(&out);
	yajl_tree_free(v);
}

static void json__generate_kvs(void **state)
{
	vd_kvs kvs = { NULL, 0 };
	yajl_gen g = vd_jgen_new();
	vd_buf out = VD_BUF_INIT;

	assert_int_equal(vd_kvs_add(&kvs, "b", "2"), 0);
	assert_int_equal(vd_kvs_add(&kvs, "a", "x\"y"), 0);
	yajl_gen_map_open(g);
	vd_jgen_kkvs(g, "m", &kvs);
	vd_kvs_release(&kvs);
	vd_jgen_kkvs(g, "empty", &kvs);
	yajl_gen_map_close(g);
	assert_int_equal(vd_jgen_finish(g, &out), 0);
	/* in the list's order, not sorted */
	assert_string_equal(vd_buf_cstr(&out), "{\"m\":{\"b\":\"2\",\"a\":\"x\\\"y\"},\"empty\":{}}");
	vd_buf_release(&out);
}

struct lines {
	int n;
	char seen[8][32];
	int stop_at;
};

static int on_line(yajl_val v, void *ctx, vd_error *err)
{
	struct lines *l = ctx;
	const char *s = vd_json_str(v, "s");

	if (l->n < 8)
		snprintf(l->seen[l->n], sizeof(l->seen[0]), "%s", s ? s : "?");
	l->n++;
	if (l->stop_at && l->n == l->stop_at)
		return vd_error_set(err, VD_ERR, "stop");
	return 0;
}

static void json__lines_any_chunking(void **state)
{
	const char *stream = "{\"s\":\"one\"}\n\r\n{\"s\":\"two\"}\r\n  \n{\"s\":\"three\"}";
	size_t len = strlen(stream), chunk;

	for (chunk = 1; chunk <= len; chunk++) {
		struct lines l = { 0 };
		vd_error err = VD_ERROR_INIT;
		vd_jsonl j;
		size_t off;

		vd_jsonl_init(&j, 1024, on_line, &l);
		for (off = 0; off < len; off += chunk) {
			size_t n = len - off < chunk ? len - off : chunk;

			assert_int_equal(vd_jsonl_feed(&j, stream + off, n, &err), 0);
		}
		assert_int_equal(l.n, 2);  /* the last line has no newline yet */
		assert_int_equal(vd_jsonl_finish(&j, &err), 0);
		assert_int_equal(l.n, 3);
		assert_string_equal(l.seen[0], "one");
		assert_string_equal(l.seen[2], "three");
		vd_jsonl_release(&j);
	}
}

static void json__lines_errors(void **state)
{
	struct lines l = { 0 };
	vd_error err = VD_ERROR_INIT;
	vd_jsonl j;
	char big[200];

	vd_jsonl_init(&j, 64, on_line, &l);
	assert_int_equal(vd_jsonl_feed(&j, "{\"s\":\"ok\"}\n{garbage\n", 21, &err), VD_EPROTO);
	assert_non_null(strstr(vd_error_msg(&err), "stream line 2"));
	vd_jsonl_release(&j);

	memset(big, 'a', sizeof(big));
	vd_jsonl_init(&j, 64, on_line, &l);
	assert_int_equal(vd_jsonl_feed(&j, big, sizeof(big), &err), VD_ETOOBIG);
	vd_jsonl_release(&j);

	/* the callback's error ends the stream */
	memset(&l, 0, sizeof(l));
	l.stop_at = 1;
	vd_jsonl_init(&j, 64, on_line, &l);
	assert_int_equal(vd_jsonl_feed(&j, "{\"s\":\"a\"}\n{\"s\":\"b\"}\n", 20, &err), VD_ERR);
	assert_int_equal(l.n, 1);
	vd_jsonl_release(&j);
	vd_error_release(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(error__chain),
		cmocka_unit_test(buf__cap_and_printf),
		cmocka_unit_test(log__redacts_secrets),
		cmocka_unit_test(redact__where_a_secret_is),
		cmocka_unit_test(redact__values_never_garble_names),
		cmocka_unit_test(redact__registered_values_whole_where_they_stand),
		cmocka_unit_test(clock__durations),
		cmocka_unit_test(clock__deadline),
		cmocka_unit_test(clock__times),
		cmocka_unit_test(json__lookups),
		cmocka_unit_test(json__generate_roundtrip),
		cmocka_unit_test(json__generate_kvs),
		cmocka_unit_test(json__lines_any_chunking),
		cmocka_unit_test(json__lines_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
