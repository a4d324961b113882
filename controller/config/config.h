/* voxdeploy — voxdeploy.yml: the project's own settings (rules, app
 * service, health probes, deploy, notifications, serve), read with the YAML
 * tree of controller/yaml.h.
 *
 * The file is optional: without one every setting has its default.  It is
 * found at the project root as voxdeploy.yml, else voxdeploy.yaml (both at
 * once is an error).  Every string value may use ${VAR} interpolation
 * (vd_interpolate with the caller's lookup: the process environment, then
 * the project's .env).
 *
 * Secrets come only through ${VAR}: a conninfo with a literal password
 * (`password=...` or a URI's user:password@), a literal `token`, a URL
 * with a literal user:password@, or a header value without `${` is refused.
 * Every secret value after interpolation (the conninfo's password, tokens,
 * header values and the variables inside them, URL passwords) is registered
 * with vd_secret_add(), so that no log line or output carries it.
 *
 * Errors are VD_EINVAL "FILE:LINE:COL: WHERE: message" naming the key:
 *   "voxdeploy.yml:3:5: health: unknown key 'deadlin'"
 *   "voxdeploy.yml:7:15: health.postgres[0]: 'timeout': invalid duration '5x'"
 *   "voxdeploy.yml:2:17: rules: 'unmatched': unknown tier 'docs' ..."
 * Unknown keys are errors everywhere; `x-*` keys are allowed (and ignored)
 * at the top level.
 *
 * The schema (defaults in brackets):
 *   rules:
 *     full_restart: [globs]   each list, when given, REPLACES that tier's
 *     app_only: [globs]       defaults (vd_rules_default); a tier not given
 *     no_restart: [globs]     keeps them; [] empties it
 *     unmatched: app_only     [app_only] tier of files no pattern matches
 *     image_aware: true       [true] false: the rules alone
 *   app_service: NAME         [the service whose container_name is
 *                              voxpersona_app, else the only built one]
 *   health:
 *     deadline: 60s  stable_for: 5s  containers: true
 *     fast_check: 250ms       [250ms] own runs of a starting container's
 *                             HEALTHCHECK (health/owncheck.h); 0: none
 *     postgres:  [{name, service, conninfo, query, timeout, interval}]
 *     http:      [{name, service, url, method, expect_status: [..],
 *                  body_contains, timeout, interval, follow_redirects}]
 *     resources: [{name, service, max_memory_percent, max_cpu_percent, sample}]
 *   deploy:
 *     stop_grace: 10s         [the service's stop_grace_period, else 10s]
 *     retain_images: 5
 *     services: {NAME: {order: stop-first|start-first}}   [stop-first]
 *     release: {service: NAME, command: [ARGV] | "sh -c text", timeout: 5m,
 *               on: [full_restart, app_only]}   [none]
 *     min_free: 2g            [2g] the engine's free space a build needs
 *     compose_hash: v2 | "1.29"   [v2] whose config-hash the containers carry:
 *                             the compose people run on the server by hand
 *                             then finds them up to date
 *     parallel: 8             [8] containers created, renamed and started at
 *                             once; a start waits only for its depends_on
 *     builder: auto | buildkit | classic   [auto] how images are built:
 *                             BuildKit (POST /build?version=2) where the
 *                             engine offers it, else the classic builder
 *     backend: containers | swarm | auto   [containers] containers on one
 *                             engine, or the services of a stack on a Swarm
 *                             manager; auto: swarm when the engine manages a
 *                             swarm running the project's stack
 *     registry: {address: host:port, username, password: ${VAR}}   [none]
 *                             where built images go for a swarm's nodes
 *                             (no username: anonymous pushes and pulls)
 *   backup: false | {before: [full_restart], keep: 10, restore_on_rollback: false,
 *            timeout: 30m, services: [NAMES]}   [on: a dump of every PostgreSQL
 *                             service before each FULL_RESTART]
 *   notify:
 *     on_success: false  timeout: 20s
 *     webhook:  [{url, headers: {NAME: VALUE}}]
 *     telegram: [{chat_id, token, api_base}]   [https://api.telegram.org]
 *   serve:
 *     report_ttl: 10s
 */
#ifndef VD_CONTROLLER_CONFIG_H
#define VD_CONTROLLER_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/arena.h"
#include "common/error.h"
#include "common/json.h"
#include "controller/model/compose.h"
#include "controller/plan/gitsync.h"
#include "controller/model/interpolate.h"
#include "controller/model/project.h"
#include "controller/plan/rules.h"

#define VD_CONFIG_FILE "voxdeploy.yml"
#define VD_CONFIG_FILE_ALT "voxdeploy.yaml"

#define VD_CONFIG_DEFAULT_DEADLINE_MS 60000
#define VD_CONFIG_DEFAULT_STABLE_FOR_MS 5000
#define VD_CONFIG_DEFAULT_FAST_CHECK_MS 250
#define VD_CONFIG_DEFAULT_BACKUP_KEEP 10
#define VD_CONFIG_DEFAULT_RELEASE_TIMEOUT_MS (5 * 60 * 1000)
#define VD_CONFIG_DEFAULT_MIN_FREE ((uint64_t)2 << 30)
#define VD_CONFIG_DEFAULT_BACKUP_TIMEOUT_MS (30 * 60 * 1000)
#define VD_CONFIG_DEFAULT_STOP_GRACE_MS 10000
#define VD_CONFIG_DEFAULT_RETAIN_IMAGES 5
#define VD_CONFIG_DEFAULT_NOTIFY_TIMEOUT_MS 20000
#define VD_CONFIG_DEFAULT_REPORT_TTL_MS 10000
#define VD_CONFIG_DEFAULT_TELEGRAM_API "https://api.telegram.org"

/* Durations are milliseconds; 0 in a probe's timeout/interval means the
 * probe's default (health/probe.h).  Strings are owned by the config;
 * absent ones are NULL. */
/* deploy.builder; the numbers are the config's word order */
typedef enum vd_config_builder {
	VD_CONFIG_BUILDER_AUTO = 0,     /* BuildKit where the engine offers it */
	VD_CONFIG_BUILDER_CLASSIC = 1,
	VD_CONFIG_BUILDER_BUILDKIT = 2,
} vd_config_builder;

/* deploy.backend; the numbers are the config's word order */
typedef enum vd_config_backend {
	VD_CONFIG_BACKEND_CONTAINERS = 0,  /* containers on one engine */
	VD_CONFIG_BACKEND_SWARM = 1,       /* services of a stack on a Swarm manager */
	VD_CONFIG_BACKEND_AUTO = 2,        /* swarm when the engine manages one that runs
	                                    * the project's stack, else containers */
} vd_config_backend;

typedef struct vd_config_postgres {
	char *name;           /* default "postgres" */
	char *service;
	char *conninfo;       /* interpolated */
	char *query;          /* NULL: SELECT 1 */
	uint64_t timeout_ms;
	uint64_t interval_ms;
} vd_config_postgres;

typedef struct vd_config_http {
	char *name;           /* default "http" */
	char *service;
	char *url;
	char *method;         /* NULL: GET */
	long *expect_status;  /* none: any 2xx */
	size_t n_expect_status;
	char *body_contains;
	uint64_t timeout_ms;
	uint64_t interval_ms;
	bool follow_redirects;
} vd_config_http;

typedef struct vd_config_resources {
	char *name;           /* default "resources" */
	char *service;        /* required */
	double max_memory_percent;  /* 0: not checked */
	double max_cpu_percent;
	uint64_t sample_ms;   /* 0: 1 s */
} vd_config_resources;

typedef enum vd_config_order {
	VD_ORDER_STOP_FIRST = 0,
	VD_ORDER_START_FIRST,
} vd_config_order;

/* "stop-first", "start-first". */
const char *vd_config_order_name(vd_config_order o);

typedef struct vd_config_service {
	char *name;
	vd_config_order order;
} vd_config_service;

typedef struct vd_config_webhook {
	char *url;
	vd_kv *headers;       /* in file order */
	size_t n_headers;
} vd_config_webhook;

typedef struct vd_config_telegram {
	char *chat_id;
	char *token;
	char *api_base;
} vd_config_telegram;

/* deploy.release: a one-off container of the new image (rollout/release.h) */
typedef struct vd_config_release {
	char *service;          /* NULL: none */
	char **command;         /* argv */
	size_t n_command;
	uint64_t timeout_ms;
	bool full_restart;      /* on: the deploy types it runs for */
	bool app_only;
} vd_config_release;

typedef struct vd_config {
	char *file;                 /* where it came from; NULL: no file, all defaults */

	vd_rules *rules;            /* vd_rules_default() with the file's lists over it */
	bool rules_overridden[VD_TIER_COUNT];  /* the file gave that tier's list */
	bool image_aware;

	char *app_service;          /* NULL: the default rule (vd_config_app_service) */

	struct {
		bool section;           /* a health: section was given */
		uint64_t deadline_ms;
		uint64_t stable_for_ms;
		uint64_t fast_check_ms;  /* 0: no own checks */
		bool containers;        /* a container probe for every service */
		vd_config_postgres *postgres;
		size_t n_postgres;
		vd_config_http *http;
		size_t n_http;
		vd_config_resources *resources;
		size_t n_resources;
	} health;

	struct {
		bool stop_grace_set;    /* else: each service's stop_grace_period, else 10 s */
		uint64_t stop_grace_ms;
		int64_t retain_images;
		vd_config_service *services;
		size_t n_services;
		vd_config_release release;
		uint64_t min_free_bytes;    /* the engine's free space a build needs */
		int compose_hash;           /* 2 (compose v2, the default) or 1 (compose 1.29) */
		vd_config_builder builder;  /* VD_CONFIG_BUILDER_AUTO by default */
		int64_t parallel;           /* containers created/started at once (1-64; 8) */
		vd_config_backend backend;  /* VD_CONFIG_BACKEND_CONTAINERS by default */
		struct {
			char *address;      /* host[:port]; NULL: no registry */
			char *username;     /* NULL: anonymous */
			char *password;     /* only through ${VAR}, beside a username; never printed */
		} registry;
	} deploy;

	struct {
		bool on_success;
		uint64_t timeout_ms;    /* all notifications of one event together */
		vd_config_webhook *webhook;
		size_t n_webhook;
		vd_config_telegram *telegram;
		size_t n_telegram;
	} notify;

	struct {
		uint64_t report_ttl_ms;
	} serve;

	struct {
		bool enabled;               /* `backup: false` turns it off */
		bool full_restart;          /* before: dump before these deploy types */
		bool app_only;
		int64_t keep;               /* dumps kept per service */
		bool restore_on_rollback;
		uint64_t timeout_ms;        /* one dump or restore */
		char **services;            /* NULL: every PostgreSQL service recognised */
		size_t n_services;
	} backup;

	vd_arena arena;             /* private: the memory of everything above */
} vd_config;

/* The configuration with every default and no file. */
int vd_config_defaults(vd_config **out, vd_error *err);

/* Parse voxdeploy.yml's text (need not be NUL-terminated; filename names
 * it in messages).  An empty document is all defaults. */
int vd_config_parse(const char *text, size_t len, const char *filename, vd_env_lookup lookup,
		    void *ctx, vd_config **out, vd_error *err);

/* The project's file on disk (p->dir/voxdeploy.yml or .yaml); none gives
 * the defaults.  Messages name the file by its path. */
int vd_config_load(const vd_project *p, vd_env_lookup lookup, void *ctx, vd_config **out,
		   vd_error *err);

/* The same file as it is at `commit` in the repository (the project dir
 * relative to the work tree); none gives the defaults.  A project outside
 * the repository's work tree is VD_EINVAL. */
int vd_config_load_commit(vd_git *g, const char *commit, const vd_project *p, vd_env_lookup lookup,
			  void *ctx, vd_config **out, vd_error *err);

void vd_config_free(vd_config *c);

/* What the commands that act on the running project start from, all from
 * disk: the project's .env, voxdeploy.yml (interpolated with the process
 * environment over that .env) and the compose model (the same
 * environment).  No compose file leaves model NULL; voxdeploy.yml naming
 * services the model lacks is VD_EINVAL (vd_config_check_model). */
typedef struct vd_config_bundle {
	vd_kvs dotenv;         /* lookup context: vd_env_lookup_process_then */
	vd_config *config;
	vd_compose *model;
} vd_config_bundle;

#define VD_CONFIG_BUNDLE_INIT { { NULL, 0 }, NULL, NULL }

int vd_config_bundle_load(const vd_project *p, vd_config_bundle *out, vd_error *err);
void vd_config_bundle_release(vd_config_bundle *b);

/* A copy of the rules for the plan (the caller frees it). */
int vd_config_rules(const vd_config *c, vd_rules **out, vd_error *err);

/* The app service: app_service when given (NULL when the model has no
 * such service), else the service whose container_name is voxpersona_app,
 * else the only service with build:, else NULL. */
const char *vd_config_app_service(const vd_config *c, const vd_compose *model);

/* deploy.stop_grace, else the service's stop_grace_period, else 10 s. */
uint64_t vd_config_stop_grace_ms(const vd_config *c, const vd_compose_service *s);

/* deploy.services.NAME.order, else stop-first. */
vd_config_order vd_config_service_order(const vd_config *c, const char *service);

/* deploy.registry's credentials as X-Registry-Auth, appended to out;
 * nothing without a username.  The result carries the password: never log
 * it. */
int vd_config_registry_auth(const vd_config *c, vd_buf *out, vd_error *err);

/* Check what depends on the compose model: app_service, the probes' and
 * deploy.services' service names exist.  VD_EINVAL naming the file and the
 * service. */
int vd_config_check_model(const vd_config *c, const vd_compose *model, vd_error *err);

/* The effective configuration as one JSON object, secrets masked ("***"
 * for passwords in conninfo and URLs, tokens and header values), appended
 * to out. */
int vd_config_json(const vd_config *c, vd_buf *out);

/* Mask the password of a conninfo (key=value or URI) or of a URL's
 * user:password@ with "***", appended to out.  Other text is copied. */
int vd_config_mask_conninfo(const char *conninfo, vd_buf *out);
int vd_config_mask_url(const char *url, vd_buf *out);

#endif
