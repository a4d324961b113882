/* Unit tests of controller/rollout/notify: the bodies and the text built from an
 * event, the retry policy, redaction, and delivery against real HTTP
 * receivers (libmicrohttpd on 127.0.0.1, an ephemeral port, its own thread):
 * a webhook, Telegram's sendMessage, 5xx then 200, a 400, a peer that
 * accepts and never answers, a closed port next to working channels. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/json.h"
#include "common/log.h"
#include "controller/rollout/notify.h"
#include "testutil.h"

#define TOKEN "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
#define SHA_FROM "0123456789abcdef0123456789abcdef01234567"
#define SHA_TO "fedcba9876543210fedcba9876543210fedcba98"

/* ---- the receiver ---- */

struct receiver {
	struct MHD_Daemon *mhd;
	uint16_t port;
	pthread_mutex_t mu;
	unsigned statuses[8];      /* the answer to request i; past the list, the last */
	size_t n_statuses;
	const char *answer;        /* the body of every answer */
	const char *retry_after;   /* a Retry-After header on non-2xx answers, or NULL */
	unsigned hits;
	char method[16];
	char path[256];
	char content_type[128];
	char authorization[256];
	char body[8192];
};

struct upload {
	vd_buf body;
};

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *data,
				  size_t *data_size, void **con_cls)
{
	struct receiver *rv = cls;
	struct upload *up = *con_cls;
	struct MHD_Response *resp;
	enum MHD_Result ret;
	const char *h;
	unsigned status;

	if (!up) {
		up = calloc(1, sizeof(*up));
		vd_buf_init(&up->body, 1 << 20);
		*con_cls = up;
		return MHD_YES;
	}
	if (*data_size) {
		vd_buf_put(&up->body, data, *data_size);
		*data_size = 0;
		return MHD_YES;
	}
	pthread_mutex_lock(&rv->mu);
	status = rv->statuses[rv->hits < rv->n_statuses ? rv->hits : rv->n_statuses - 1];
	rv->hits++;
	snprintf(rv->method, sizeof(rv->method), "%s", method);
	snprintf(rv->path, sizeof(rv->path), "%s", url);
	h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
	snprintf(rv->content_type, sizeof(rv->content_type), "%s", h ? h : "");
	h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
	snprintf(rv->authorization, sizeof(rv->authorization), "%s", h ? h : "");
	snprintf(rv->body, sizeof(rv->body), "%s", vd_buf_cstr(&up->body));
	pthread_mutex_unlock(&rv->mu);

	resp = MHD_create_response_from_buffer(strlen(rv->answer), (void *)rv->answer,
					       MHD_RESPMEM_PERSISTENT);
	MHD_add_response_header(resp, "Content-Type", "application/json");
	if (rv->retry_after && (status < 200 || status > 299))
		MHD_add_response_header(resp, "Retry-After", rv->retry_after);
	ret = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct upload *up = *con_cls;

	if (up) {
		vd_buf_release(&up->body);
		free(up);
		*con_cls = NULL;
	}
}

static void receiver_start(struct receiver *rv, const unsigned *statuses, size_t n,
			   const char *answer)
{
	struct sockaddr_in sa;
	const union MHD_DaemonInfo *info;

	memset(rv, 0, sizeof(*rv));
	pthread_mutex_init(&rv->mu, NULL);
	memcpy(rv->statuses, statuses, n * sizeof(*statuses));
	rv->n_statuses = n;
	rv->answer = answer ? answer : "{\"ok\":true}";
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = 0;
	rv->mhd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO,
				   0, NULL, NULL, on_request, rv,
				   MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
				   MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
				   MHD_OPTION_END);
	assert_non_null(rv->mhd);
	info = MHD_get_daemon_info(rv->mhd, MHD_DAEMON_INFO_BIND_PORT);
	assert_non_null(info);
	rv->port = info->port;
}

static void receiver_stop(struct receiver *rv)
{
	MHD_stop_daemon(rv->mhd);
	pthread_mutex_destroy(&rv->mu);
}

/* ---- the event ---- */

static const vd_notify_probe probes[] = {
	{ "app_http", "GET http://voxpersona_app:8080/health: connection refused" },
	{ "postgres", "could not connect: the database system is starting up" },
};

static vd_notify_event sample_event(void)
{
	vd_notify_event ev = {
		.project = "voxpersona",
		.deploy_id = "20261127T031938Z-ab12",
		.type = VD_TIER_APP_ONLY,
		.from = SHA_FROM,
		.to = SHA_TO,
		.result = "rolled_back",
		.duration_ms = 42300,
		.actor = "github-actions",
		.detail = "health: app_http failing after 60 s",
		.failing_probes = probes,
		.n_failing_probes = 2,
	};
	return ev;
}

static char *log_text;
static size_t log_len;
static FILE *log_mem;

static int setup(void **state)
{
	vd_secret_clear();
	log_text = NULL;
	log_len = 0;
	log_mem = open_memstream(&log_text, &log_len);
	vd_log_set_stream(log_mem);
	vd_log_set_level(VD_LOG_DEBUG);
	return 0;
}

static int teardown(void **state)
{
	vd_log_set_stream(NULL);
	fclose(log_mem);
	free(log_text);
	vd_secret_clear();
	return 0;
}

static const char *captured_log(void)
{
	fflush(log_mem);
	return log_text ? log_text : "";
}

/* ---- pure parts ---- */

static void notify__webhook_body(void **s)
{
	vd_notify_event ev = sample_event();
	vd_error err = VD_ERROR_INIT;
	vd_buf b = VD_BUF_INIT;
	yajl_val v, fp;

	assert_int_equal(vd_notify_webhook_body(&ev, &b), 0);
	v = vd_json_parse(vd_buf_cstr(&b), &err);
	assert_non_null(v);
	assert_string_equal(vd_json_str(v, "project"), "voxpersona");
	assert_string_equal(vd_json_str(v, "deploy_id"), "20261127T031938Z-ab12");
	assert_string_equal(vd_json_str(v, "type"), "APP_ONLY");
	assert_string_equal(vd_json_str(v, "from"), SHA_FROM);
	assert_string_equal(vd_json_str(v, "to"), SHA_TO);
	assert_string_equal(vd_json_str(v, "result"), "rolled_back");
	assert_int_equal(vd_json_int(v, "duration_ms", -1), 42300);
	assert_string_equal(vd_json_str(v, "actor"), "github-actions");
	assert_string_equal(vd_json_str(v, "detail"), "health: app_http failing after 60 s");
	fp = vd_json_get(v, "failing_probes");
	assert_int_equal(vd_json_len(fp), 2);
	assert_string_equal(vd_json_str(vd_json_idx(fp, 0), "name"), "app_http");
	assert_string_equal(vd_json_str(vd_json_idx(fp, 1), "detail"),
			    "could not connect: the database system is starting up");
	yajl_tree_free(v);

	/* a first deploy that went well: nulls and an empty list, all keys there */
	ev.from = NULL;
	ev.detail = NULL;
	ev.result = "done";
	ev.type = VD_TIER_FULL_RESTART;
	ev.n_failing_probes = 0;
	vd_buf_clear(&b);
	assert_int_equal(vd_notify_webhook_body(&ev, &b), 0);
	assert_non_null(strstr(vd_buf_cstr(&b), "\"from\":null"));
	assert_non_null(strstr(vd_buf_cstr(&b), "\"detail\":null"));
	assert_non_null(strstr(vd_buf_cstr(&b), "\"type\":\"FULL_RESTART\""));
	assert_non_null(strstr(vd_buf_cstr(&b), "\"failing_probes\":[]"));
	assert_non_null(strstr(vd_buf_cstr(&b), "\"nodes\":[]"));
	vd_buf_release(&b);
	vd_error_release(&err);
}

/* On a swarm: each node and the deploy's services running there. */
static void notify__nodes_on_a_swarm(void **s)
{
	static const vd_kv nodes[] = { { "vd-w1", "app postgres" }, { "vd-w2", "app" } };
	vd_notify_event ev = sample_event();
	vd_error err = VD_ERROR_INIT;
	vd_buf b = VD_BUF_INIT;
	yajl_val v, n;

	ev.nodes = nodes;
	ev.n_nodes = 2;
	assert_int_equal(vd_notify_webhook_body(&ev, &b), 0);
	v = vd_json_parse(vd_buf_cstr(&b), &err);
	assert_non_null(v);
	n = vd_json_get(v, "nodes");
	assert_int_equal(vd_json_len(n), 2);
	tu_assert_json_at(v, "[{\"node\":\"vd-w1\",\"services\":[\"app\",\"postgres\"]},"
			     "{\"node\":\"vd-w2\",\"services\":[\"app\"]}]", "nodes", NULL);
	yajl_tree_free(v);
	vd_buf_clear(&b);
	assert_int_equal(vd_notify_telegram_text(&ev, &b), 0);
	assert_non_null(strstr(vd_buf_cstr(&b), "\nnodes: vd-w1 (app postgres), vd-w2 (app)"));
	vd_buf_release(&b);
	vd_error_release(&err);
	(void)s;
}

static void notify__telegram_text(void **s)
{
	vd_notify_event ev = sample_event();
	vd_buf b = VD_BUF_INIT;
	const char *t;

	assert_int_equal(vd_notify_telegram_text(&ev, &b), 0);
	t = vd_buf_cstr(&b);
	assert_non_null(strstr(t, "voxpersona: deploy rolled_back"));
	assert_non_null(strstr(t, "APP_ONLY 0123456789ab..fedcba987654 in 42.3 s"));
	assert_null(strstr(t, "0123456789abc"));  /* 12 hex, no more */
	assert_non_null(strstr(t, "by github-actions"));
	assert_non_null(strstr(t, "health: app_http failing after 60 s"));
	assert_non_null(strstr(t, "failing probes:"));
	assert_non_null(strstr(t, "• app_http: GET http://voxpersona_app:8080/health"));
	assert_non_null(strstr(t, "• postgres: could not connect"));

	ev.from = NULL;
	ev.result = "done";
	ev.detail = NULL;
	ev.n_failing_probes = 0;
	ev.duration_ms = 125000;
	vd_buf_clear(&b);
	assert_int_equal(vd_notify_telegram_text(&ev, &b), 0);
	t = vd_buf_cstr(&b);
	assert_non_null(strstr(t, "✅ voxpersona: deploy done"));
	assert_non_null(strstr(t, "first deploy of fedcba987654 in 2m5s"));
	assert_null(strstr(t, "failing"));
	vd_buf_release(&b);
}

static void notify__telegram_text_is_bounded(void **s)
{
	vd_notify_event ev = sample_event();
	vd_notify_probe many[40];
	char *detail = malloc(20001);
	vd_buf b = VD_BUF_INIT;

	/* multi-byte characters, so the cut must find a character boundary */
	for (size_t i = 0; i < 20000; i += 2)
		memcpy(detail + i, "é", 2);
	detail[20000] = '\0';
	for (size_t i = 0; i < 40; i++)
		many[i] = (vd_notify_probe){ "probe", detail };
	ev.detail = detail;
	ev.failing_probes = many;
	ev.n_failing_probes = 40;
	assert_int_equal(vd_notify_telegram_text(&ev, &b), 0);
	assert_true(b.len < 4096);
	assert_non_null(strstr(vd_buf_cstr(&b), "… and 30 more"));
	/* well-formed: yajl's parser validates UTF-8 in the JSON body */
	vd_buf_clear(&b);
	assert_int_equal(vd_notify_telegram_body("42", &ev, &b), 0);
	{
		vd_error err = VD_ERROR_INIT;
		yajl_val v = vd_json_parse(vd_buf_cstr(&b), &err);

		assert_non_null(v);
		assert_string_equal(vd_json_str(v, "chat_id"), "42");
		assert_non_null(strstr(vd_json_str(v, "text"), "é…"));
		yajl_tree_free(v);
		vd_error_release(&err);
	}
	vd_buf_release(&b);
	free(detail);
}

static void notify__bodies_are_redacted(void **s)
{
	vd_notify_event ev = sample_event();
	vd_buf b = VD_BUF_INIT;

	ev.detail = "connect to postgres://app:hunter2hunter2@db failed";
	assert_int_equal(vd_secret_add("hunter2hunter2"), 0);
	assert_int_equal(vd_notify_webhook_body(&ev, &b), 0);
	assert_null(strstr(vd_buf_cstr(&b), "hunter2"));
	assert_non_null(strstr(vd_buf_cstr(&b), "app:***@db"));
	vd_buf_clear(&b);
	assert_int_equal(vd_notify_telegram_body("42", &ev, &b), 0);
	assert_null(strstr(vd_buf_cstr(&b), "hunter2"));
	vd_buf_release(&b);
}

static void notify__backoff_schedule(void **s)
{
	vd_notify_config dflt = { 0 };
	vd_notify_config custom = { .backoff_ms = 100, .backoff_max_ms = 1000 };

	assert_int_equal(vd_notify_backoff_ms(&dflt, 1), 500);
	assert_int_equal(vd_notify_backoff_ms(&dflt, 2), 1000);
	assert_int_equal(vd_notify_backoff_ms(&dflt, 3), 2000);
	assert_int_equal(vd_notify_backoff_ms(&dflt, 4), 4000);
	assert_int_equal(vd_notify_backoff_ms(&dflt, 5), 8000);
	assert_int_equal(vd_notify_backoff_ms(&dflt, 6), 8000);
	assert_int_equal(vd_notify_backoff_ms(&dflt, 60), 8000);
	assert_int_equal(vd_notify_backoff_ms(&custom, 1), 100);
	assert_int_equal(vd_notify_backoff_ms(&custom, 4), 800);
	assert_int_equal(vd_notify_backoff_ms(&custom, 5), 1000);
}

static void notify__retry_policy(void **s)
{
	assert_true(vd_notify_retryable(500, false, false));
	assert_true(vd_notify_retryable(503, false, false));
	assert_true(vd_notify_retryable(429, false, false));
	assert_false(vd_notify_retryable(400, false, false));
	assert_false(vd_notify_retryable(401, false, false));
	assert_false(vd_notify_retryable(404, false, false));
	assert_false(vd_notify_retryable(302, false, false));
	assert_true(vd_notify_retryable(0, true, false));
	assert_true(vd_notify_retryable(0, false, true));
	assert_false(vd_notify_retryable(0, false, false));

	assert_int_equal(vd_notify_retry_after_ms("3", NULL), 3000);
	assert_int_equal(vd_notify_retry_after_ms(" 7 ", NULL), 7000);
	assert_int_equal(vd_notify_retry_after_ms("Wed, 21 Oct 2026 07:28:00 GMT", NULL), 0);
	assert_int_equal(vd_notify_retry_after_ms(NULL,
		"{\"ok\":false,\"error_code\":429,\"description\":\"Too Many Requests: retry after 5\","
		"\"parameters\":{\"retry_after\":5}}"), 5000);
	assert_int_equal(vd_notify_retry_after_ms(NULL, "{\"ok\":false}"), 0);
	assert_int_equal(vd_notify_retry_after_ms(NULL, "<html>"), 0);
	assert_int_equal(vd_notify_retry_after_ms(NULL, NULL), 0);
}

static void notify__targets_hide_secrets(void **s)
{
	vd_notify_channel tg = { .kind = VD_NOTIFY_TELEGRAM, .token = TOKEN, .chat_id = "1" };
	vd_notify_channel tg_local = { .kind = VD_NOTIFY_TELEGRAM, .token = TOKEN, .chat_id = "1",
				       .api_base = "http://127.0.0.1:8081/tg/" };
	vd_notify_channel wh = { .kind = VD_NOTIFY_WEBHOOK,
				 .url = "https://user:pw@hooks.example.com:8443/T000/B000/XXXX?sig=abc" };
	char out[256];

	vd_notify_target(&tg, out, sizeof(out));
	assert_string_equal(out, "https://api.telegram.org/bot***/sendMessage");
	vd_notify_target(&tg_local, out, sizeof(out));
	assert_string_equal(out, "http://127.0.0.1:8081/tg/bot***/sendMessage");
	vd_notify_target(&wh, out, sizeof(out));
	assert_string_equal(out, "https://hooks.example.com:8443/…");
}

static void notify__config_check(void **s)
{
	vd_kv hdr[] = { { "Authorization", "Bearer s3cr3t-webhook-token" } };
	vd_kv bad_name[] = { { "Bad Header", "x" } };
	vd_kv bad_value[] = { { "X-Thing", "a\r\nInjected: 1" } };
	vd_notify_channel ok[] = {
		{ .kind = VD_NOTIFY_TELEGRAM, .token = TOKEN, .chat_id = "-1001234" },
		{ .kind = VD_NOTIFY_WEBHOOK, .url = "http://127.0.0.1:9/hook", .headers = hdr,
		  .n_headers = 1 },
	};
	vd_notify_config cfg = { .channels = ok, .n_channels = 2 };
	vd_error err = VD_ERROR_INIT;
	vd_buf b = VD_BUF_INIT;
	struct {
		vd_notify_channel ch;
		const char *msg;
	} bad[] = {
		{ { .kind = VD_NOTIFY_TELEGRAM, .chat_id = "1" }, "no bot token" },
		{ { .kind = VD_NOTIFY_TELEGRAM, .token = "12:ab/../x", .chat_id = "1" }, "character" },
		{ { .kind = VD_NOTIFY_TELEGRAM, .token = TOKEN }, "no chat id" },
		{ { .kind = VD_NOTIFY_TELEGRAM, .token = TOKEN, .chat_id = "1", .api_base = "ftp://x" },
		  "not http or https" },
		{ { .kind = VD_NOTIFY_WEBHOOK }, "no url" },
		{ { .kind = VD_NOTIFY_WEBHOOK, .url = "file:///etc/passwd" }, "not http or https" },
		{ { .kind = VD_NOTIFY_WEBHOOK, .url = "http://x/", .headers = bad_name, .n_headers = 1 },
		  "is not a token" },
		{ { .kind = VD_NOTIFY_WEBHOOK, .url = "http://x/", .headers = bad_value, .n_headers = 1 },
		  "line break" },
	};

	assert_int_equal(vd_notify_config_check(&cfg, &err), 0);
	/* the secrets are registered: the token, the header value and its credential */
	assert_int_equal(vd_secret_redact("t=" TOKEN " h=Bearer s3cr3t-webhook-token c=s3cr3t-webhook-token", &b), 0);
	assert_string_equal(vd_buf_cstr(&b), "t=*** h=*** c=***");
	vd_buf_release(&b);
	/* a bad channel first does not keep a later one's secrets unregistered */
	vd_secret_clear();
	{
		vd_notify_channel two[] = {
			{ .kind = VD_NOTIFY_WEBHOOK, .url = "ftp://x/" },
			{ .kind = VD_NOTIFY_TELEGRAM, .token = "999:later-token-xyz", .chat_id = "1" },
		};
		vd_notify_config c2 = { .channels = two, .n_channels = 2 };

		assert_int_equal(vd_notify_config_check(&c2, &err), VD_EINVAL);
		assert_int_equal(vd_secret_redact("999:later-token-xyz", &b), 0);
		assert_string_equal(vd_buf_cstr(&b), "***");
		vd_buf_release(&b);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		vd_notify_config one = { .channels = &bad[i].ch, .n_channels = 1 };

		assert_int_equal(vd_notify_config_check(&one, &err), VD_EINVAL);
		if (!strstr(vd_error_msg(&err), bad[i].msg))
			fail_msg("case %zu: '%s' lacks '%s'", i, vd_error_msg(&err), bad[i].msg);
		assert_non_null(strstr(vd_error_msg(&err), "notification channel"));
	}
	vd_error_release(&err);
}

/* ---- delivery against real receivers ---- */

static void notify__webhook_delivered(void **s)
{
	static const unsigned st[] = { 200 };
	struct receiver rv;
	char url[128];
	vd_kv hdr[] = { { "Authorization", "Bearer wh-secret-0123456789" } };
	vd_notify_channel ch = { .kind = VD_NOTIFY_WEBHOOK, .name = "ops-hook", .url = url,
				 .headers = hdr, .n_headers = 1 };
	vd_notify_config cfg = { .channels = &ch, .n_channels = 1 };
	vd_notify_results res = VD_NOTIFY_RESULTS_INIT;
	vd_notify_event ev = sample_event();
	vd_error err = VD_ERROR_INIT;
	yajl_val v;

	receiver_start(&rv, st, 1, NULL);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/hooks/deploy", rv.port);
	vd_notify_send(&cfg, &ev, &res);
	receiver_stop(&rv);

	assert_int_equal(res.len, 1);
	assert_int_equal(res.failed, 0);
	assert_string_equal(res.items[0].channel, "ops-hook");
	assert_true(res.items[0].ok);
	assert_int_equal(res.items[0].attempts, 1);
	assert_int_equal(res.items[0].http_status, 200);
	assert_null(res.items[0].error);
	assert_int_equal(rv.hits, 1);
	assert_string_equal(rv.method, "POST");
	assert_string_equal(rv.path, "/hooks/deploy");
	assert_string_equal(rv.content_type, "application/json");
	assert_string_equal(rv.authorization, "Bearer wh-secret-0123456789");
	v = vd_json_parse(rv.body, &err);
	assert_non_null(v);
	assert_string_equal(vd_json_str(v, "result"), "rolled_back");
	assert_string_equal(vd_json_str(v, "type"), "APP_ONLY");
	assert_int_equal(vd_json_len(vd_json_get(v, "failing_probes")), 2);
	yajl_tree_free(v);
	assert_null(strstr(captured_log(), "wh-secret-0123456789"));
	vd_notify_results_release(&res);
	vd_error_release(&err);
}

static void notify__telegram_delivered(void **s)
{
	static const unsigned st[] = { 200 };
	struct receiver rv;
	char base[128];
	vd_notify_channel ch = { .kind = VD_NOTIFY_TELEGRAM, .api_base = base, .token = TOKEN,
				 .chat_id = "-1001234567890" };
	vd_notify_config cfg = { .channels = &ch, .n_channels = 1 };
	vd_notify_results res = VD_NOTIFY_RESULTS_INIT;
	vd_notify_event ev = sample_event();
	vd_error err = VD_ERROR_INIT;
	yajl_val v;

	receiver_start(&rv, st, 1, "{\"ok\":true,\"result\":{\"message_id\":7}}");
	snprintf(base, sizeof(base), "http://127.0.0.1:%u", rv.port);
	vd_notify_send(&cfg, &ev, &res);
	receiver_stop(&rv);

	assert_true(res.items[0].ok);
	assert_string_equal(res.items[0].channel, "telegram");
	assert_int_equal(res.items[0].attempts, 1);
	assert_string_equal(rv.method, "POST");
	assert_string_equal(rv.path, "/bot" TOKEN "/sendMessage");
	assert_string_equal(rv.content_type, "application/json");
	v = vd_json_parse(rv.body, &err);
	assert_non_null(v);
	assert_string_equal(vd_json_str(v, "chat_id"), "-1001234567890");
	assert_non_null(strstr(vd_json_str(v, "text"), "voxpersona: deploy rolled_back"));
	assert_non_null(strstr(vd_json_str(v, "text"), "0123456789ab..fedcba987654"));
	yajl_tree_free(v);
	assert_null(strstr(captured_log(), TOKEN));
	vd_notify_results_release(&res);
	vd_error_release(&err);
}

static void notify__retries_5xx_then_delivers(void **s)
{
	static const unsigned st[] = { 500, 500, 200 };
	struct receiver rv;
	char url[128];
	vd_notify_channel ch = { .kind = VD_NOTIFY_WEBHOOK, .url = url };
	/* the default schedule: 0.5 s, then 1 s */
	vd_notify_config cfg = { .channels = &ch, .n_channels = 1 };
	vd_notify_results res = VD_NOTIFY_RESULTS_INIT;
	vd_notify_event ev = sample_event();

	receiver_start(&rv, st, 3, "{\"error\":\"try later\"}");
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/h", rv.port);
	vd_notify_send(&cfg, &ev, &res);
	receiver_stop(&rv);

	assert_true(res.items[0].ok);
	assert_int_equal(res.items[0].attempts, 3);
	assert_int_equal(rv.hits, 3);
	assert_int_equal(res.failed, 0);
	assert_non_null(strstr(captured_log(), "attempt 1 failed"));
	assert_non_null(strstr(captured_log(), "HTTP 500"));
	vd_notify_results_release(&res);
}

static void notify__no_retry_on_400(void **s)
{
	static const unsigned st[] = { 400, 200 };
	struct receiver rv;
	char base[128];
	vd_notify_channel ch = { .kind = VD_NOTIFY_TELEGRAM, .api_base = base, .token = TOKEN,
				 .chat_id = "1" };
	vd_notify_config cfg = { .channels = &ch, .n_channels = 1 };
	vd_notify_results res = VD_NOTIFY_RESULTS_INIT;
	vd_notify_event ev = sample_event();

	receiver_start(&rv, st, 2,
		       "{\"ok\":false,\"error_code\":400,\"description\":\"Bad Request: chat not found\"}");
	snprintf(base, sizeof(base), "http://127.0.0.1:%u", rv.port);
	vd_notify_send(&cfg, &ev, &res);
	receiver_stop(&rv);

	assert_false(res.items[0].ok);
	assert_int_equal(res.failed, 1);
	assert_int_equal(res.items[0].attempts, 1);
	assert_int_equal(rv.hits, 1);
	assert_int_equal(res.items[0].http_status, 400);
	assert_non_null(strstr(res.items[0].error, "HTTP 400: Bad Request: chat not found"));
	assert_non_null(strstr(res.items[0].error, "/bot***/sendMessage"));
	assert_null(strstr(res.items[0].error, TOKEN));
	assert_null(strstr(captured_log(), TOKEN));
	assert_non_null(strstr(captured_log(), "not delivered after 1 attempt"));
	vd_notify_results_release(&res);
}

static void notify__honours_retry_after(void **s)
{
	static const unsigned st[] = { 429, 200 };
	struct receiver rv;
	char base[128];
	vd_notify_channel ch = { .kind = VD_NOTIFY_TELEGRAM, .api_base = base, .token = TOKEN,
				 .chat_id = "1" };
	vd_notify_config cfg = { .channels = &ch, .n_channels = 1, .backoff_ms = 10 };
	vd_notify_results res = VD_NOTIFY_RESULTS_INIT;
	vd_notify_event ev = sample_event();
	uint64_t t0;

	receiver_start(&rv, st, 2,
		       "{\"ok\":false,\"error_code\":429,\"description\":\"Too Many Requests: retry after 1\","
		       "\"parameters\":{\"retry_after\":1}}");
	snprintf(base, sizeof(base), "http://127.0.0.1:%u", rv.port);
	t0 = vd_now_ms();
	vd_notify_send(&cfg, &ev, &res);
	receiver_stop(&rv);

	assert_true(res.items[0].ok);
	assert_int_equal(res.items[0].attempts, 2);
	/* waited what Telegram asked, not the 10 ms backoff */
	assert_true(vd_now_ms() - t0 >= 1000);
	vd_notify_results_release(&res);
}

static void notify__retry_after_past_the_limit_gives_up(void **s)
{
	static const unsigned st[] = { 503 };
	struct receiver rv;
	char url[128];
	vd_notify_channel ch = { .kind = VD_NOTIFY_WEBHOOK, .url = url };
	vd_notify_config cfg = { .channels = &ch, .n_channels = 1, .total_ms = 2000 };
	vd_notify_results res = VD_NOTIFY_RESULTS_INIT;
	vd_notify_event ev = sample_event();

	receiver_start(&rv, st, 1, "busy");
	rv.retry_after = "120";
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/h", rv.port);
	vd_notify_send(&cfg, &ev, &res);
	receiver_stop(&rv);

	assert_false(res.items[0].ok);
	assert_int_equal(res.items[0].attempts, 1);
	assert_non_null(strstr(res.items[0].error, "HTTP 503: busy"));
	assert_non_null(strstr(res.items[0].error, "another attempt would pass the time limit of 2.0 s"));
	vd_notify_results_release(&res);
}

static void notify__stalled_peer_gives_up_within_the_limit(void **s)
{
	uint16_t port;
	/* listens and never accepts: the kernel completes the handshake, the
	 * request is sent, no answer ever comes */
	int fd = tu_listen(&port);
	char url[128];
	vd_notify_channel ch = { .kind = VD_NOTIFY_WEBHOOK, .url = url };
	vd_notify_config cfg = { .channels = &ch, .n_channels = 1, .total_ms = 1500 };
	vd_notify_results res = VD_NOTIFY_RESULTS_INIT;
	vd_notify_event ev = sample_event();
	uint64_t t0, took;

	snprintf(url, sizeof(url), "http://127.0.0.1:%u/h", port);
	t0 = vd_now_ms();
	vd_notify_send(&cfg, &ev, &res);
	took = vd_now_ms() - t0;
	close(fd);

	assert_false(res.items[0].ok);
	assert_int_equal(res.items[0].attempts, 1);
	assert_int_equal(res.items[0].http_status, 0);
	assert_non_null(strstr(res.items[0].error, "time limit of 1.5 s"));
	/* gave up at the limit, not at the 10 s attempt timeout */
	assert_true(took < 1500 + 2000);
	vd_notify_results_release(&res);
}

static void notify__closed_port_does_not_hold_up_the_others(void **s)
{
	static const unsigned st[] = { 200 };
	struct receiver rv;
	char dead[128], url[128], base[128];
	vd_notify_channel ch[] = {
		{ .kind = VD_NOTIFY_WEBHOOK, .name = "dead", .url = dead },
		{ .kind = VD_NOTIFY_WEBHOOK, .name = "live", .url = url },
		{ .kind = VD_NOTIFY_TELEGRAM, .api_base = base, .token = TOKEN, .chat_id = "1" },
		{ .kind = VD_NOTIFY_TELEGRAM, .name = "tg-dead", .api_base = dead, .token = TOKEN,
		  .chat_id = "1" },
	};
	vd_notify_config cfg = { .channels = ch, .n_channels = 4, .total_ms = 2000,
				 .backoff_ms = 100 };
	vd_notify_results res = VD_NOTIFY_RESULTS_INIT;
	vd_notify_event ev = sample_event();
	const char *log;

	receiver_start(&rv, st, 1, NULL);
	snprintf(dead, sizeof(dead), "http://127.0.0.1:%u", tu_free_port());
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/live", rv.port);
	snprintf(base, sizeof(base), "http://127.0.0.1:%u", rv.port);
	vd_notify_send(&cfg, &ev, &res);
	receiver_stop(&rv);

	assert_int_equal(res.len, 4);
	assert_int_equal(res.failed, 2);
	assert_false(res.items[0].ok);
	assert_true(res.items[0].attempts >= 2);  /* connection refused is retried */
	assert_non_null(strstr(res.items[0].error, "gave up"));
	assert_true(res.items[1].ok);
	assert_int_equal(res.items[1].attempts, 1);
	assert_true(res.items[2].ok);
	assert_int_equal(res.items[2].attempts, 1);
	assert_false(res.items[3].ok);
	assert_non_null(strstr(res.items[3].error, "/bot***/sendMessage"));
	assert_int_equal(rv.hits, 2);

	log = captured_log();
	assert_null(strstr(log, TOKEN));
	assert_null(strstr(log, "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"));
	for (size_t i = 0; i < res.len; i++)
		assert_true(!res.items[i].error || !strstr(res.items[i].error, TOKEN));
	assert_non_null(strstr(log, "notify tg-dead: not delivered"));
	assert_non_null(strstr(log, "notify live: delivered"));
	vd_notify_results_release(&res);
}

static void notify__bad_channel_is_a_result(void **s)
{
	static const unsigned st[] = { 200 };
	struct receiver rv;
	char url[128];
	vd_notify_channel ch[] = {
		{ .kind = VD_NOTIFY_TELEGRAM, .name = "no-token", .chat_id = "1" },
		{ .kind = VD_NOTIFY_WEBHOOK, .url = url },
	};
	vd_notify_config cfg = { .channels = ch, .n_channels = 2 };
	vd_notify_results res = VD_NOTIFY_RESULTS_INIT;
	vd_notify_event ev = sample_event();

	receiver_start(&rv, st, 1, NULL);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/", rv.port);
	vd_notify_send(&cfg, &ev, &res);
	receiver_stop(&rv);

	assert_false(res.items[0].ok);
	assert_int_equal(res.items[0].attempts, 0);
	assert_non_null(strstr(res.items[0].error, "no bot token"));
	assert_true(res.items[1].ok);
	vd_notify_results_release(&res);

	/* nothing configured: nothing to do */
	cfg.n_channels = 0;
	vd_notify_send(&cfg, &ev, &res);
	assert_int_equal(res.len, 0);
	vd_notify_results_release(&res);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(notify__webhook_body, setup, teardown),
		cmocka_unit_test_setup_teardown(notify__telegram_text, setup, teardown),
		cmocka_unit_test_setup_teardown(notify__nodes_on_a_swarm, setup, teardown),
		cmocka_unit_test_setup_teardown(notify__telegram_text_is_bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(notify__bodies_are_redacted, setup, teardown),
		cmocka_unit_test_setup_teardown(notify__backoff_schedule, setup, teardown),
		cmocka_unit_test_setup_teardown(notify__retry_policy, setup, teardown),
		cmocka_unit_test_setup_teardown(notify__targets_hide_secrets, setup, teardown),
		cmocka_unit_test_setup_teardown(notify__config_check, setup, teardown),
		cmocka_unit_test_setup_teardown(notify__webhook_delivered, setup, teardown),
		cmocka_unit_test_setup_teardown(notify__telegram_delivered, setup, teardown),
		cmocka_unit_test_setup_teardown(notify__retries_5xx_then_delivers, setup, teardown),
		cmocka_unit_test_setup_teardown(notify__no_retry_on_400, setup, teardown),
		cmocka_unit_test_setup_teardown(notify__honours_retry_after, setup, teardown),
		cmocka_unit_test_setup_teardown(notify__retry_after_past_the_limit_gives_up, setup,
						teardown),
		cmocka_unit_test_setup_teardown(notify__stalled_peer_gives_up_within_the_limit, setup,
						teardown),
		cmocka_unit_test_setup_teardown(notify__closed_port_does_not_hold_up_the_others, setup,
						teardown),
		cmocka_unit_test_setup_teardown(notify__bad_channel_is_a_result, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
