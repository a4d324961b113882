#include "controller/rollout/notify.h"
#include "common/clock.h"
#include "common/log.h"
#include "docker_api/curl_util.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Telegram allows 4096 characters; these keep a message well below that
 * whatever the event carries. */
#define TEXT_DETAIL_MAX 600
#define TEXT_PROBE_MAX 200
#define TEXT_PROBES_SHOWN 10
#define TEXT_LOG_MAX 1200
#define RESPONSE_MAX ((size_t)16 << 10)
#define ERROR_BODY_MAX 200

/* ---- small helpers ---- */

static const char *channel_name(const vd_notify_channel *ch)
{
	if (ch->name && *ch->name)
		return ch->name;
	return ch->kind == VD_NOTIFY_TELEGRAM ? "telegram" : "webhook";
}

static const char *api_base(const vd_notify_channel *ch)
{
	return ch->api_base && *ch->api_base ? ch->api_base : VD_NOTIFY_TELEGRAM_API;
}

/* A copy of s with every registered secret replaced (NULL stays NULL). */
static int redact_dup(const char *s, char **out)
{
	vd_buf b = VD_BUF_INIT;

	*out = NULL;
	if (!s)
		return 0;
	if (vd_secret_redact(s, &b)) {
		vd_buf_release(&b);
		return VD_ENOMEM;
	}
	*out = vd_buf_detach(&b);
	return *out ? 0 : VD_ENOMEM;
}

/* Append at most max bytes of s, cut on a UTF-8 character boundary, with
 * "…" when cut. */
static int put_cut(vd_buf *out, const char *s, size_t max)
{
	size_t len = strlen(s);

	if (len <= max)
		return vd_buf_put(out, s, len);
	while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
		max--;
	if (vd_buf_put(out, s, max))
		return VD_ENOMEM;
	return vd_buf_puts(out, "…");
}

/* Redacted, then cut, then appended. */
static int put_clean(vd_buf *out, const char *s, size_t max)
{
	char *clean = NULL;
	int r = redact_dup(s ? s : "", &clean);

	if (!r)
		r = put_cut(out, clean, max);
	free(clean);
	return r;
}

static void short_commit(const char *sha, char out[13])
{
	snprintf(out, 13, "%s", sha ? sha : "");
}

static void format_duration(uint64_t ms, char *out, size_t size)
{
	if (ms < 60000) {
		snprintf(out, size, "%.1f s", (double)ms / 1000.0);
	} else {
		char d[32];

		vd_duration_format((int64_t)(ms / 1000), d);
		snprintf(out, size, "%s", d);
	}
}

/* ---- bodies ---- */

/* Generate a key and the redacted value. */
static int gen_kclean(yajl_gen g, const char *key, const char *val)
{
	char *clean = NULL;

	if (redact_dup(val, &clean))
		return VD_ENOMEM;
	vd_jgen_kstr(g, key, clean);
	free(clean);
	return 0;
}

/* key: the redacted text cut at any of sep's characters ("\n": its
 * lines, " ": its words), as an array of strings. */
static int gen_split(yajl_gen g, const char *key, const char *text, const char *sep)
{
	char *clean = NULL, *part, *save = NULL;

	if (redact_dup(text ? text : "", &clean))
		return VD_ENOMEM;
	vd_jgen_str(g, key);
	yajl_gen_array_open(g);
	for (part = strtok_r(clean, sep, &save); part; part = strtok_r(NULL, sep, &save))
		vd_jgen_str(g, part);
	yajl_gen_array_close(g);
	free(clean);
	return 0;
}

int vd_notify_webhook_body(const vd_notify_event *ev, vd_buf *out)
{
	yajl_gen g = vd_jgen_new();
	int r = 0;
	size_t i;

	if (!g)
		return VD_ENOMEM;
	yajl_gen_map_open(g);
	r |= gen_kclean(g, "project", ev->project);
	r |= gen_kclean(g, "deploy_id", ev->deploy_id);
	vd_jgen_kstr(g, "type", vd_tier_name(ev->type));
	r |= gen_kclean(g, "from", ev->from);
	r |= gen_kclean(g, "to", ev->to);
	r |= gen_kclean(g, "result", ev->result);
	vd_jgen_kint(g, "duration_ms", (long long)ev->duration_ms);
	r |= gen_kclean(g, "actor", ev->actor);
	r |= gen_kclean(g, "detail", ev->detail);
	vd_jgen_str(g, "failing_probes");
	yajl_gen_array_open(g);
	for (i = 0; i < ev->n_failing_probes; i++) {
		yajl_gen_map_open(g);
		r |= gen_kclean(g, "name", ev->failing_probes[i].name);
		r |= gen_kclean(g, "detail", ev->failing_probes[i].detail);
		yajl_gen_map_close(g);
	}
	yajl_gen_array_close(g);
	vd_jgen_str(g, "logs");
	yajl_gen_array_open(g);
	for (i = 0; i < ev->n_logs; i++) {
		yajl_gen_map_open(g);
		r |= gen_kclean(g, "service", ev->logs[i].service);
		r |= gen_split(g, "lines", ev->logs[i].lines, "\n");
		yajl_gen_map_close(g);
	}
	yajl_gen_array_close(g);
	vd_jgen_str(g, "nodes");
	yajl_gen_array_open(g);
	for (i = 0; i < ev->n_nodes; i++) {
		yajl_gen_map_open(g);
		r |= gen_kclean(g, "node", ev->nodes[i].key);
		r |= gen_split(g, "services", ev->nodes[i].value, " ");
		yajl_gen_map_close(g);
	}
	yajl_gen_array_close(g);
	yajl_gen_map_close(g);
	if (r) {
		yajl_gen_free(g);
		return VD_ENOMEM;
	}
	return vd_jgen_finish(g, out);
}

static const char *result_mark(const char *result)
{
	if (!result)
		return "❔";
	if (!strcmp(result, "done"))
		return "✅";
	if (!strcmp(result, "failed") || !strcmp(result, "rolled_back"))
		return "❌";
	if (!strcmp(result, "restore_failed"))
		return "🚨";
	return "❔";
}

int vd_notify_telegram_text(const vd_notify_event *ev, vd_buf *out)
{
	char from[13], to[13], dur[48];
	size_t i, shown;
	int r = 0;

	short_commit(ev->from, from);
	short_commit(ev->to, to);
	format_duration(ev->duration_ms, dur, sizeof(dur));

	r |= vd_buf_printf(out, "%s ", result_mark(ev->result));
	r |= put_clean(out, ev->project ? ev->project : "(no project)", 100);
	r |= vd_buf_puts(out, ": deploy ");
	r |= put_clean(out, ev->result ? ev->result : "(unknown)", 40);
	r |= vd_buf_printf(out, "\n%s ", vd_tier_name(ev->type));
	if (ev->from && *ev->from)
		r |= vd_buf_printf(out, "%s..%s", from, *to ? to : "?");
	else
		r |= vd_buf_printf(out, "first deploy of %s", *to ? to : "?");
	r |= vd_buf_printf(out, " in %s", dur);
	if (ev->actor && *ev->actor) {
		r |= vd_buf_puts(out, "\nby ");
		r |= put_clean(out, ev->actor, 100);
	}
	if (ev->deploy_id && *ev->deploy_id) {
		r |= vd_buf_puts(out, "\ndeploy ");
		r |= put_clean(out, ev->deploy_id, 64);
	}
	if (ev->detail && *ev->detail) {
		r |= vd_buf_puts(out, "\n");
		r |= put_clean(out, ev->detail, TEXT_DETAIL_MAX);
	}
	for (i = 0; i < ev->n_nodes; i++) {
		r |= vd_buf_puts(out, i ? ", " : "\nnodes: ");
		r |= put_clean(out, ev->nodes[i].key ? ev->nodes[i].key : "?", 80);
		r |= vd_buf_puts(out, " (");
		r |= put_clean(out, ev->nodes[i].value ? ev->nodes[i].value : "", 200);
		r |= vd_buf_puts(out, ")");
	}
	if (ev->n_failing_probes) {
		r |= vd_buf_puts(out, "\nfailing probes:");
		shown = ev->n_failing_probes < TEXT_PROBES_SHOWN ? ev->n_failing_probes
								: TEXT_PROBES_SHOWN;
		for (i = 0; i < shown; i++) {
			const vd_notify_probe *p = &ev->failing_probes[i];

			r |= vd_buf_puts(out, "\n• ");
			r |= put_clean(out, p->name ? p->name : "?", 80);
			if (p->detail && *p->detail) {
				r |= vd_buf_puts(out, ": ");
				r |= put_clean(out, p->detail, TEXT_PROBE_MAX);
			}
		}
		if (shown < ev->n_failing_probes)
			r |= vd_buf_printf(out, "\n… and %zu more", ev->n_failing_probes - shown);
	}
	for (i = 0; i < ev->n_logs; i++) {
		r |= vd_buf_puts(out, "\nlast lines of ");
		r |= put_clean(out, ev->logs[i].service ? ev->logs[i].service : "?", 80);
		r |= vd_buf_puts(out, ":\n");
		r |= put_clean(out, ev->logs[i].lines, TEXT_LOG_MAX);
	}
	return r ? VD_ENOMEM : 0;
}

int vd_notify_telegram_body(const char *chat_id, const vd_notify_event *ev, vd_buf *out)
{
	vd_buf text = VD_BUF_INIT;
	yajl_gen g;
	int r = vd_notify_telegram_text(ev, &text);

	if (r)
		goto done;
	g = vd_jgen_new();
	if (!g) {
		r = VD_ENOMEM;
		goto done;
	}
	yajl_gen_map_open(g);
	vd_jgen_kstr(g, "chat_id", chat_id ? chat_id : "");
	vd_jgen_kstr(g, "text", vd_buf_cstr(&text));
	yajl_gen_map_close(g);
	r = vd_jgen_finish(g, out);
done:
	vd_buf_release(&text);
	return r;
}

/* ---- policy ---- */

static uint64_t or_default(uint64_t v, uint64_t dflt)
{
	return v ? v : dflt;
}

uint64_t vd_notify_backoff_ms(const vd_notify_config *cfg, unsigned failed)
{
	uint64_t base = or_default(cfg ? cfg->backoff_ms : 0, VD_NOTIFY_BACKOFF_MS);
	uint64_t max = or_default(cfg ? cfg->backoff_max_ms : 0, VD_NOTIFY_BACKOFF_MAX_MS);
	uint64_t d = base;

	for (unsigned i = 1; i < failed && d < max; i++)
		d *= 2;
	return d < max ? d : max;
}

uint64_t vd_notify_retry_after_ms(const char *retry_after_header, const char *body)
{
	if (retry_after_header) {
		const char *s = retry_after_header;
		char *end;
		unsigned long long secs;

		while (isspace((unsigned char)*s))
			s++;
		if (isdigit((unsigned char)*s)) {
			secs = strtoull(s, &end, 10);
			while (isspace((unsigned char)*end))
				end++;
			if (!*end && secs < 86400)
				return (uint64_t)secs * 1000;
		}
	}
	if (body && *body == '{') {
		vd_error err = VD_ERROR_INIT;
		yajl_val v = vd_json_parse(body, &err);
		int64_t secs = vd_json_int(vd_json_get(v, "parameters"), "retry_after", 0);

		yajl_tree_free(v);
		vd_error_release(&err);
		if (secs > 0 && secs < 86400)
			return (uint64_t)secs * 1000;
	}
	return 0;
}

bool vd_notify_retryable(long status, bool connect_error, bool timed_out)
{
	if (status)
		return status == 429 || (status >= 500 && status <= 599);
	return connect_error || timed_out;
}

/* ---- targets and checks ---- */

void vd_notify_target(const vd_notify_channel *ch, char *out, size_t size)
{
	const char *url = ch->kind == VD_NOTIFY_TELEGRAM ? api_base(ch) : (ch->url ? ch->url : "");
	const char *scheme_end = strstr(url, "://");
	const char *host = scheme_end ? scheme_end + 3 : url;
	const char *end = host + strcspn(host, "/?#");
	const char *at = memrchr(host, '@', (size_t)(end - host));
	const char *h = at ? at + 1 : host;

	if (!size)
		return;
	if (ch->kind == VD_NOTIFY_TELEGRAM) {
		/* the base's own path (a proxy's prefix) is no secret; the token is */
		const char *path = end;
		size_t plen = strcspn(path, "?#");

		while (plen && path[plen - 1] == '/')
			plen--;
		snprintf(out, size, "%.*s%.*s%.*s/bot***/sendMessage", (int)(host - url), url,
			 (int)(end - h), h, (int)plen, path);
	} else {
		snprintf(out, size, "%.*s%.*s%s", (int)(host - url), url, (int)(end - h), h,
			 *end == '/' && end[1] ? "/…" : "");
	}
}

static bool header_name_ok(const char *s)
{
	if (!s || !*s)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("!#$%&'*+-.^_`|~", *s))
			return false;
	return true;
}

/* The secret behind "Bearer X" is X as well as the whole value. */
static int add_header_secret(const char *value)
{
	const char *sp = strchr(value, ' ');

	if (vd_secret_add(value))
		return VD_ENOMEM;
	if (sp) {
		while (*sp == ' ')
			sp++;
		if (*sp && vd_secret_add(sp))
			return VD_ENOMEM;
	}
	return 0;
}

static int check_http_url(const char *what, const char *url, vd_error *err)
{
	CURLU *u = curl_url();
	char *scheme = NULL;
	int r = 0;

	if (!u)
		return vd_error_set(err, VD_ENOMEM, "out of memory");
	if (curl_url_set(u, CURLUPART_URL, url, 0) ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0))
		r = vd_error_set(err, VD_EINVAL, "%s is no URL", what);
	else if (strcmp(scheme, "http") && strcmp(scheme, "https"))
		r = vd_error_set(err, VD_EINVAL, "%s: scheme '%s' is not http or https", what, scheme);
	curl_free(scheme);
	curl_url_cleanup(u);
	return r;
}

/* Register what in a channel is secret: the token, every header value (and
 * the credential after "Bearer "), a webhook URL's password and query.
 * Done for every channel before any is judged, so that a bad channel cannot
 * leave a good one's secrets unregistered. */
static int add_secrets(const vd_notify_channel *ch)
{
	CURLU *u;
	char *password = NULL, *query = NULL;
	size_t i;
	int r = 0;

	if (ch->token && *ch->token && vd_secret_add(ch->token))
		return VD_ENOMEM;
	for (i = 0; i < ch->n_headers; i++)
		if (ch->headers[i].value && *ch->headers[i].value &&
		    add_header_secret(ch->headers[i].value))
			return VD_ENOMEM;
	if (ch->kind != VD_NOTIFY_WEBHOOK || !ch->url)
		return 0;
	u = curl_url();
	if (!u)
		return VD_ENOMEM;
	if (!curl_url_set(u, CURLUPART_URL, ch->url, 0) &&
	    ((!curl_url_get(u, CURLUPART_PASSWORD, &password, 0) && password &&
	      vd_secret_add(password)) ||
	     (!curl_url_get(u, CURLUPART_QUERY, &query, 0) && query && vd_secret_add(query))))
		r = VD_ENOMEM;
	curl_free(password);
	curl_free(query);
	curl_url_cleanup(u);
	return r;
}

static int check_channel(const vd_notify_channel *ch, vd_error *err)
{
	size_t i;

	if (ch->kind == VD_NOTIFY_TELEGRAM) {
		const char *t = ch->token;

		if (!t || !*t)
			return vd_error_set(err, VD_EINVAL, "telegram: no bot token");
		for (; *t; t++)
			if (!isalnum((unsigned char)*t) && !strchr(":_-", *t))
				return vd_error_set(err, VD_EINVAL,
						    "telegram: the bot token has a character a "
						    "token cannot have");
		if (!ch->chat_id || !*ch->chat_id)
			return vd_error_set(err, VD_EINVAL, "telegram: no chat id");
		return check_http_url("telegram: api_base", api_base(ch), err);
	}
	if (ch->kind != VD_NOTIFY_WEBHOOK)
		return vd_error_set(err, VD_EINVAL, "unknown channel kind %d", (int)ch->kind);
	for (i = 0; i < ch->n_headers; i++) {
		const char *v = ch->headers[i].value;

		if (!header_name_ok(ch->headers[i].key))
			return vd_error_set(err, VD_EINVAL, "webhook: header name '%s' is not a token",
					    ch->headers[i].key ? ch->headers[i].key : "");
		if (!v || strpbrk(v, "\r\n"))
			return vd_error_set(err, VD_EINVAL,
					    "webhook: header %s: no value, or a line break in it",
					    ch->headers[i].key);
	}
	if (!ch->url || !*ch->url)
		return vd_error_set(err, VD_EINVAL, "webhook: no url");
	return check_http_url("webhook: url", ch->url, err);
}

int vd_notify_config_check(const vd_notify_config *cfg, vd_error *err)
{
	size_t i;
	int r;

	for (i = 0; i < cfg->n_channels; i++)
		if (add_secrets(&cfg->channels[i]))
			return vd_error_set(err, VD_ENOMEM, "out of memory");
	for (i = 0; i < cfg->n_channels; i++) {
		r = check_channel(&cfg->channels[i], err);
		if (r)
			return vd_error_prefix(err, "notification channel %s",
					       channel_name(&cfg->channels[i]));
	}
	return 0;
}

/* ---- delivery ---- */

struct job {
	const vd_notify_channel *ch;
	vd_notify_result *res;
	char target[256];
	char *url;                 /* with the token in it: never shown */
	vd_buf body;
	vd_buf resp;
	vd_curl_body sink;         /* into resp; past its cap read and dropped */
	struct curl_slist *headers;
	CURL *easy;
	bool in_flight;
	bool finished;
	uint64_t next_at;          /* monotonic ms of the next attempt */
	char errbuf[CURL_ERROR_SIZE];
};

static void finish(struct job *j, bool ok, const char *error)
{
	vd_notify_result *res = j->res;

	j->finished = true;
	res->ok = ok;
	free(res->error);
	res->error = NULL;
	if (!ok && redact_dup(error ? error : "failed", &res->error))
		res->error = NULL;
	if (ok)
		vd_log_info("notify %s: delivered (attempt %u)", res->channel, res->attempts);
	else
		vd_log_warn("notify %s: not delivered after %u attempt%s: %s", res->channel,
			    res->attempts, res->attempts == 1 ? "" : "s",
			    res->error ? res->error : "(out of memory)");
}

static int prepare(struct job *j, const vd_notify_event *ev, vd_error *err)
{
	const vd_notify_channel *ch = j->ch;
	vd_buf url = VD_BUF_INIT;
	vd_curl_opts o;
	size_t i;
	int r;

	vd_notify_target(ch, j->target, sizeof(j->target));
	if (ch->kind == VD_NOTIFY_TELEGRAM) {
		const char *base = api_base(ch);
		size_t blen = strlen(base);

		while (blen && base[blen - 1] == '/')
			blen--;
		r = vd_buf_put(&url, base, blen);
		r = r ? r : vd_buf_printf(&url, "/bot%s/sendMessage", ch->token);
		r = r ? r : vd_notify_telegram_body(ch->chat_id, ev, &j->body);
	} else {
		r = vd_buf_puts(&url, ch->url);
		r = r ? r : vd_notify_webhook_body(ev, &j->body);
	}
	if (r)
		goto oom;
	j->url = vd_buf_detach(&url);
	if (!j->url)
		goto oom;
	r = vd_curl_headers_add(&j->headers, "Content-Type: application/json");
	/* no 100-continue round trip for a small body */
	r = r ? r : vd_curl_headers_add(&j->headers, "Expect:");
	for (i = 0; !r && ch->kind == VD_NOTIFY_WEBHOOK && i < ch->n_headers; i++)
		r = vd_curl_headers_addf(&j->headers, "%s: %s", ch->headers[i].key,
					 ch->headers[i].value);
	if (r)
		goto oom;

	/* the URL (a token in it) and the headers never reach a message: a
	 * refused option is named, not its value */
	if (vd_curl_easy_new(&j->easy, err))
		return vd_error_prefix(err, "%s", j->target);
	o = (vd_curl_opts)VD_CURL_OPTS_EASY(j->easy);
	vd_curl_set_basics(&o, j->url, "http,https", "voxdeploy/" VD_VERSION);
	vd_curl_setopt(&o, CURLOPT_HTTPHEADER, j->headers);
	vd_curl_setopt(&o, CURLOPT_POSTFIELDS, vd_buf_cstr(&j->body));
	vd_curl_setopt(&o, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)j->body.len);
	vd_curl_set_body(&o, &j->sink);
	vd_curl_setopt(&o, CURLOPT_ERRORBUFFER, j->errbuf);
	vd_curl_setopt(&o, CURLOPT_PRIVATE, j);
	if (vd_curl_opts_check(&o, err))
		return vd_error_prefix(err, "%s", j->target);
	return 0;
oom:
	vd_buf_release(&url);
	return vd_error_set(err, VD_ENOMEM, "%s: out of memory", j->target);
}

static int start_attempt(CURLM *multi, struct job *j, uint64_t left_ms, uint64_t attempt_ms)
{
	vd_curl_opts o = VD_CURL_OPTS_EASY(j->easy);
	long t = (long)(attempt_ms < left_ms ? attempt_ms : left_ms);

	if (t < 1)
		t = 1;  /* 0 would mean no limit at all */
	vd_curl_body_clear(&j->sink);
	j->errbuf[0] = '\0';
	vd_curl_setopt(&o, CURLOPT_TIMEOUT_MS, t);
	vd_curl_setopt(&o, CURLOPT_CONNECTTIMEOUT_MS, t);
	if (vd_curl_opts_check(&o, NULL) || curl_multi_add_handle(multi, j->easy))
		return VD_ERR;
	j->in_flight = true;
	j->res->attempts++;
	return 0;
}

/* "HTTP 400: Bad Request: chat not found" — Telegram's description when it
 * gives one, else the start of the body on one line. */
static void describe_answer(struct job *j, long status, vd_buf *out)
{
	const char *body = vd_buf_cstr(&j->resp);
	const char *desc = NULL;
	yajl_val v = NULL;
	size_t i, n;

	vd_buf_printf(out, "%s: HTTP %ld", j->target, status);
	if (*body == '{') {
		vd_error err = VD_ERROR_INIT;

		v = vd_json_parse(body, &err);
		desc = vd_json_str(v, "description");
		vd_error_release(&err);
	}
	if (!desc)
		desc = body;
	n = strlen(desc);
	if (n) {
		vd_buf_puts(out, ": ");
		for (i = 0; i < n && i < ERROR_BODY_MAX; i++)
			vd_buf_putc(out, desc[i] == '\n' || desc[i] == '\r' || desc[i] == '\t' ? ' '
												  : desc[i]);
		if (n > ERROR_BODY_MAX)
			vd_buf_puts(out, "…");
	}
	yajl_tree_free(v);
}

static void on_done(const vd_notify_config *cfg, struct job *j, CURLcode cc, vd_deadline deadline,
		    uint64_t total_ms, unsigned max_attempts)
{
	vd_error err = VD_ERROR_INIT;
	vd_buf msg = VD_BUF_INIT;
	int code = vd_curl_error(cc, j->errbuf, &j->sink, &err);
	long status = code ? 0 : vd_curl_status(j->easy);
	uint64_t delay, after = 0, now = vd_now_ms();
	bool retry;

	j->in_flight = false;
	j->res->http_status = status;
	if (!code && status >= 200 && status <= 299) {
		finish(j, true, NULL);
		goto done;
	}
	if (code) {
		vd_buf_printf(&msg, "%s: %s", j->target, vd_error_msg(&err));
		retry = vd_notify_retryable(0, vd_curl_connection_failed(cc), code == VD_ETIMEOUT);
	} else {
		struct curl_header *h = NULL;

		describe_answer(j, status, &msg);
		retry = vd_notify_retryable(status, false, false);
		if (retry)
			after = vd_notify_retry_after_ms(
				curl_easy_header(j->easy, "Retry-After", 0, CURLH_HEADER, -1, &h) ==
						CURLHE_OK ? h->value : NULL,
				vd_buf_cstr(&j->resp));
	}
	if (!retry) {
		finish(j, false, vd_buf_cstr(&msg));
		goto done;
	}
	if (j->res->attempts >= max_attempts) {
		vd_buf_printf(&msg, "; gave up after %u attempts", j->res->attempts);
		finish(j, false, vd_buf_cstr(&msg));
		goto done;
	}
	delay = vd_notify_backoff_ms(cfg, j->res->attempts);
	if (after > delay)
		delay = after;
	if (deadline.at_ms && now + delay >= deadline.at_ms) {
		vd_buf_printf(&msg, "; gave up: %s the time limit of %.1f s",
			      vd_deadline_expired(deadline) ? "past" : "another attempt would pass",
			      (double)total_ms / 1000.0);
		finish(j, false, vd_buf_cstr(&msg));
		goto done;
	}
	{
		char *clean = NULL;

		redact_dup(vd_buf_cstr(&msg), &clean);
		vd_log_debug("notify %s: attempt %u failed (%s); next in %llu ms", j->res->channel,
			     j->res->attempts, clean ? clean : "?", (unsigned long long)delay);
		free(clean);
	}
	j->next_at = now + delay;
done:
	vd_buf_release(&msg);
	vd_error_release(&err);
}

static void job_release(CURLM *multi, struct job *j)
{
	if (j->easy && j->in_flight)
		curl_multi_remove_handle(multi, j->easy);
	vd_curl_easy_free(j->easy);
	vd_curl_headers_free(&j->headers);
	vd_buf_release(&j->body);
	vd_buf_release(&j->resp);
	free(j->url);
}

void vd_notify_send(const vd_notify_config *cfg, const vd_notify_event *ev,
		    vd_notify_results *out)
{
	uint64_t total_ms = or_default(cfg->total_ms, VD_NOTIFY_TOTAL_MS);
	uint64_t attempt_ms = or_default(cfg->attempt_ms, VD_NOTIFY_ATTEMPT_MS);
	unsigned max_attempts = cfg->max_attempts ? cfg->max_attempts : VD_NOTIFY_MAX_ATTEMPTS;
	vd_deadline deadline = vd_deadline_in(total_ms);
	vd_error setup = VD_ERROR_INIT;
	struct job *jobs = NULL;
	CURLM *multi = NULL;
	size_t i, n = cfg->n_channels;

	out->items = NULL;
	out->len = 0;
	out->failed = 0;
	if (!n)
		return;
	out->items = calloc(n, sizeof(*out->items));
	jobs = calloc(n, sizeof(*jobs));
	if (!out->items || !jobs) {
		free(out->items);
		free(jobs);
		out->items = NULL;
		vd_log_warn("notify: out of memory; no notification sent");
		return;
	}
	out->len = n;
	vd_curl_multi_new(&multi, &setup);
	for (i = 0; i < n; i++)
		if (add_secrets(&cfg->channels[i]))
			vd_log_warn("notify: out of memory registering secrets");

	for (i = 0; i < n; i++) {
		vd_error err = VD_ERROR_INIT;
		struct job *j = &jobs[i];

		j->ch = &cfg->channels[i];
		j->res = &out->items[i];
		j->res->channel = channel_name(j->ch);
		vd_buf_init(&j->body, VD_BUF_DEFAULT_MAX);
		vd_buf_init(&j->resp, RESPONSE_MAX);
		j->sink = (vd_curl_body){ &j->resp, VD_CURL_OVERFLOW_DROP, 0 };
		if (setup.code)
			vd_error_set(&err, setup.code, "%s", vd_error_msg(&setup));
		else if (add_secrets(j->ch))
			vd_error_set(&err, VD_ENOMEM, "out of memory");
		else if (!check_channel(j->ch, &err))
			prepare(j, ev, &err);
		if (err.code)
			finish(j, false, vd_error_msg(&err));
		vd_error_release(&err);
	}

	for (;;) {
		uint64_t now = vd_now_ms(), left = vd_deadline_left_ms(deadline);
		long wait = (long)(left < 1000 ? left : 1000), curl_wait = -1;
		size_t pending = 0;
		int running;
		CURLMsg *m;

		for (i = 0; i < n; i++) {
			struct job *j = &jobs[i];

			if (j->finished)
				continue;
			if (!left) {
				char msg[512];

				if (j->in_flight) {
					curl_multi_remove_handle(multi, j->easy);
					j->in_flight = false;
					snprintf(msg, sizeof(msg),
						 "%s: no answer; gave up: the time limit of %.1f s passed",
						 j->target, (double)total_ms / 1000.0);
				} else {
					snprintf(msg, sizeof(msg), "%s: gave up: the time limit of %.1f s passed",
						 j->target, (double)total_ms / 1000.0);
				}
				finish(j, false, msg);
				continue;
			}
			if (!j->in_flight && now >= j->next_at &&
			    start_attempt(multi, j, left, attempt_ms)) {
				char msg[320];

				snprintf(msg, sizeof(msg), "%s: cannot start the request", j->target);
				finish(j, false, msg);
				continue;
			}
			if (!j->in_flight && (long)(j->next_at - now) < wait)
				wait = (long)(j->next_at - now);
			pending++;
		}
		if (!pending)
			break;
		curl_multi_perform(multi, &running);
		while ((m = curl_multi_info_read(multi, &running))) {
			struct job *j = NULL;
			CURLcode cc;

			if (m->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&j);
			/* m is only valid until the handle leaves the multi */
			cc = m->data.result;

			curl_multi_remove_handle(multi, j->easy);
			on_done(cfg, j, cc, deadline, total_ms, max_attempts);
			wait = 0;  /* a retry may be due, or all may be finished */
		}
		if (!wait)
			continue;
		if (curl_multi_timeout(multi, &curl_wait) == CURLM_OK && curl_wait >= 0 &&
		    curl_wait < wait)
			wait = curl_wait;
		curl_multi_poll(multi, NULL, 0, (int)wait, NULL);
	}

	for (i = 0; i < n; i++) {
		if (!out->items[i].ok)
			out->failed++;
		job_release(multi, &jobs[i]);
	}
	free(jobs);
	vd_curl_multi_free(multi);
	vd_error_release(&setup);
}

void vd_notify_results_release(vd_notify_results *r)
{
	size_t i;

	if (!r)
		return;
	for (i = 0; i < r->len; i++)
		free(r->items[i].error);
	free(r->items);
	r->items = NULL;
	r->len = 0;
	r->failed = 0;
}
