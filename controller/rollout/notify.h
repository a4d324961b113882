/* voxdeploy — notifications of deploy outcomes (libcurl's multi interface).
 *
 * An event (what happened to which deploy) goes to every configured channel
 * at once: a generic webhook gets the event as a JSON POST, Telegram gets a
 * short human text through the Bot API's sendMessage.  Delivery retries with
 * exponential backoff on connection errors, timeouts, 429 and 5xx (honouring
 * Retry-After and Telegram's retry_after), never on other 4xx, and gives up
 * when the whole send's time limit passes.
 *
 * A notification that cannot be delivered is not the deploy's failure: the
 * outcome of every channel comes back as a result (and is logged); there is
 * nothing the caller has to act on.
 *
 * Secrets: the Telegram token, the webhook's extra header values and the
 * password of a webhook URL are registered with vd_secret_add() by
 * vd_notify_config_check() (and again by vd_notify_send()), so no log line
 * carries them.  Error messages name a channel by its redacted target: a
 * Telegram channel as "<api_base>/bot***" + "/sendMessage", a webhook as
 * scheme://host[:port] only (a webhook's path is often its secret).  Bodies
 * carry only the event's fields, each passed through the redactor, never
 * environment values.
 *
 * The channels are plain structs the caller fills (controller/config parses
 * them from voxdeploy.yml); nothing here reads files or the environment.
 */
#ifndef VD_CONTROLLER_NOTIFY_H
#define VD_CONTROLLER_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/json.h"
#include "controller/plan/rules.h"

/* A probe that failed, as the health report names it. */
typedef struct vd_notify_probe {
	const char *name;
	const char *detail;
} vd_notify_probe;

/* The last lines a failed container logged (controller/state/evidence.h). */
typedef struct vd_notify_log {
	const char *service;
	const char *lines;          /* '\n'-separated */
} vd_notify_log;

#define VD_NOTIFY_LOG_LINES 20

/* What happened.  Strings are borrowed; any may be NULL (JSON null). */
typedef struct vd_notify_event {
	const char *project;
	const char *deploy_id;
	vd_tier type;               /* NO_RESTART, APP_ONLY, FULL_RESTART */
	const char *from;           /* full commit ids; from NULL: a first deploy */
	const char *to;
	const char *result;         /* "done", "failed", "rolled_back", "restore_failed" */
	uint64_t duration_ms;
	const char *actor;
	const char *detail;         /* what went wrong, or NULL */
	const vd_notify_probe *failing_probes;
	size_t n_failing_probes;
	const vd_notify_log *logs;  /* the failed containers' last lines (redacted when sent) */
	size_t n_logs;
	/* on a swarm: per node (key: its hostname) the deploy's services
	 * running there at the end (value: names separated by spaces) */
	const vd_kv *nodes;
	size_t n_nodes;
} vd_notify_event;

typedef enum vd_notify_kind {
	VD_NOTIFY_WEBHOOK = 0,
	VD_NOTIFY_TELEGRAM = 1,
} vd_notify_kind;

#define VD_NOTIFY_TELEGRAM_API "https://api.telegram.org"

typedef struct vd_notify_channel {
	vd_notify_kind kind;
	const char *name;           /* in logs and results; NULL: "webhook" / "telegram" */
	/* webhook */
	const char *url;            /* http or https */
	const vd_kv *headers;       /* extra headers ("Authorization"); values are secrets */
	size_t n_headers;
	/* telegram */
	const char *api_base;       /* NULL: VD_NOTIFY_TELEGRAM_API (tests: a local receiver) */
	const char *token;          /* the bot token (a secret) */
	const char *chat_id;        /* a number or "@channelname" */
} vd_notify_channel;

/* Limits; 0 in any field means its default. */
typedef struct vd_notify_config {
	const vd_notify_channel *channels;
	size_t n_channels;
	uint64_t total_ms;          /* the whole send, all channels and retries (20000) */
	uint64_t attempt_ms;        /* one attempt, connect + answer (10000; never past total) */
	uint64_t backoff_ms;        /* the first retry's delay, doubled each time (500) */
	uint64_t backoff_max_ms;    /* the longest delay between attempts (8000) */
	unsigned max_attempts;      /* per channel (8) */
} vd_notify_config;

#define VD_NOTIFY_TOTAL_MS 20000
#define VD_NOTIFY_ATTEMPT_MS 10000
#define VD_NOTIFY_BACKOFF_MS 500
#define VD_NOTIFY_BACKOFF_MAX_MS 8000
#define VD_NOTIFY_MAX_ATTEMPTS 8

/* The outcome of one channel. */
typedef struct vd_notify_result {
	const char *channel;        /* the channel's name (borrowed from the config) */
	bool ok;
	unsigned attempts;
	long http_status;           /* of the last answer; 0 when none came */
	char *error;                /* the last error, redacted; NULL when ok */
} vd_notify_result;

typedef struct vd_notify_results {
	vd_notify_result *items;    /* one per channel, in the config's order */
	size_t len;
	size_t failed;              /* channels not delivered */
} vd_notify_results;

#define VD_NOTIFY_RESULTS_INIT { NULL, 0, 0 }

/* Register every channel's secrets (all of them, before any channel is
 * judged), then check the channels: a webhook needs an http(s) URL, header
 * names that are tokens and values without line breaks; Telegram a token of
 * the Bot API's characters, a chat id and an http(s) api_base.  0, VD_EINVAL
 * (the message names the channel, never a secret) or VD_ENOMEM. */
int vd_notify_config_check(const vd_notify_config *cfg, vd_error *err);

/* Deliver ev to every channel at once and wait until each is delivered or
 * given up (at most cfg->total_ms).  out (released by the caller) gets one
 * result per channel; each failure is logged as a warning.  A channel that
 * fails vd_notify_config_check() is a failed result, not a reason to skip
 * the others. */
void vd_notify_send(const vd_notify_config *cfg, const vd_notify_event *ev,
		    vd_notify_results *out);

void vd_notify_results_release(vd_notify_results *r);

/* ---- the pure parts, exported for tests ---- */

/* The webhook body: {"project","deploy_id","type","from","to","result",
 * "duration_ms","actor","detail","failing_probes":[{"name","detail"}]}. */
int vd_notify_webhook_body(const vd_notify_event *ev, vd_buf *out);

/* The Telegram text: project and result, type, from..to (12 hex),
 * duration, actor, the detail and failing probes — cut to stay well under
 * Telegram's 4096 characters. */
int vd_notify_telegram_text(const vd_notify_event *ev, vd_buf *out);

/* {"chat_id": "...", "text": "..."} */
int vd_notify_telegram_body(const char *chat_id, const vd_notify_event *ev, vd_buf *out);

/* The delay before attempt n+1 after n failed attempts (n ≥ 1):
 * backoff_ms · 2^(n−1), at most backoff_max_ms. */
uint64_t vd_notify_backoff_ms(const vd_notify_config *cfg, unsigned failed);

/* How long the peer asks us to wait, in ms (0: it does not say): a
 * Retry-After header's seconds (an HTTP date is ignored), else Telegram's
 * {"parameters":{"retry_after":N}} in the body.  Either may be NULL. */
uint64_t vd_notify_retry_after_ms(const char *retry_after_header, const char *body);

/* Whether an answer or a transport failure deserves another attempt:
 * status 429 or 5xx, or (status 0) a connect error or timeout. */
bool vd_notify_retryable(long status, bool connect_error, bool timed_out);

/* The channel's target as error messages show it (see above). */
void vd_notify_target(const vd_notify_channel *ch, char *out, size_t size);

#endif
