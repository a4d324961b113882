/* voxdeploy — the compose model: docker-compose files read, merged,
 * interpolated, typed and validated the way `docker compose` (compose-go)
 * reads them.
 *
 * Loading goes in four steps, all inside vd_compose_load():
 *   1. each file is parsed with libfyaml (YAML 1.2) into a private tree that
 *      remembers FILE:LINE:COL for every node; anchors, aliases and `<<`
 *      merge keys (a mapping or a list of mappings; explicit keys win, then
 *      the earlier merged mapping) are expanded; every scalar VALUE (never a
 *      key) goes through vd_interpolate() with the caller's lookup;
 *   2. list-or-mapping keys are brought to one form per file (environment,
 *      labels, build.args, extra_hosts, sysctls, networks, depends_on, ...);
 *   3. the files are merged as compose merges overrides: later files replace
 *      scalars, mappings merge by key, sequences are appended, `command`,
 *      `entrypoint` and `healthcheck.test` are replaced, a `build:` string
 *      only replaces the context, `logging` with another driver is replaced,
 *      a value tagged `!override` replaces and one tagged `!reset` removes;
 *      then compose's unicity rules drop duplicates (a later entry replaces
 *      an earlier one with the same key at the earlier one's position):
 *      environment/labels/args/sysctls/extra_hosts by key, volumes by target,
 *      ports by their whole value, expose/dns/cap_add/... by value;
 *   4. the merged tree is typed into the structures below and validated.
 *
 * Every error is VD_EINVAL (VD_ENOMEM when out of memory, VD_EIO when a file
 * cannot be read) with a message naming the place:
 *   "FILE:LINE:COL: service 'app': unknown key 'foo'"
 *   "FILE:LINE:COL: service 'app': 'ports' must be a list"
 *   "FILE:LINE:COL: service 'app': healthcheck: invalid duration '5x'"
 *   "FILE:LINE:COL: unknown key 'foo'"              (top level)
 *   "FILE:LINE:COL: network 'front': unknown key 'x'"
 * LINE and COL are 1-based; FILE is the name given for the file.  Keys
 * starting with "x-" are allowed and ignored at the top level and in
 * services, networks and volumes; `version:` is accepted and ignored.
 * Limits: 16 MiB per file, nesting 64 deep, one YAML document per file,
 * and a bound on the work aliases and merge keys can multiply (an alias
 * bomb is an error, not a hang), so that no input can make the loader
 * crash, hang or allocate without bound.
 *
 * The model is one heap object whose memory (every string and array in it)
 * belongs to it: read it, never modify or free its parts; vd_compose_free()
 * releases it all.  Absent strings are NULL; absent lists have len 0.
 */
#ifndef VD_CONTROLLER_COMPOSE_H
#define VD_CONTROLLER_COMPOSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "common/json.h"
#include "controller/model/interpolate.h"
#include "controller/model/project.h"

#define VD_COMPOSE_MAX_FILE ((size_t)16 << 20)
#define VD_COMPOSE_MAX_DEPTH 64

/* Where something was written (file points into vd_compose.config_files). */
typedef struct vd_compose_pos {
	const char *file;
	int line;
	int col;
} vd_compose_pos;

typedef struct vd_compose_strs {
	char **items;
	size_t len;
} vd_compose_strs;

/* command / entrypoint: a string is split into words as compose splits it
 * (shell quoting rules, no expansion); `set` tells an absent key from an
 * empty list (which clears the image's value). */
typedef struct vd_compose_argv {
	bool set;
	char **argv;
	size_t argc;
} vd_compose_argv;

typedef struct vd_compose_build {
	char *context;      /* absolute, resolved against the project dir */
	char *dockerfile;   /* as written, relative to context ("Dockerfile" by default) */
	char *target;
	vd_kvs args;        /* ordered; `- KEY` without value taken from the lookup, unset → omitted */
	vd_kvs labels;
	vd_compose_strs cache_from;
	vd_kvs extra_hosts; /* host → address, as the service's extra_hosts */
	char *network;      /* the network RUN steps use ("host", "none"), or NULL */
	char *platform;     /* "linux/amd64", or NULL */
	vd_compose_pos pos; /* of the `build:` value */
} vd_compose_build;

typedef struct vd_compose_port {
	uint16_t target;         /* container port */
	uint16_t published;      /* host port; 0: a port the engine picks */
	uint16_t published_end;  /* == published, or the end of a host range for one target */
	char *host_ip;           /* NULL: every address */
	char *protocol;          /* "tcp", "udp" or "sctp" */
	char *mode;              /* long syntax `mode:` (host|ingress) or NULL */
} vd_compose_port;

typedef enum vd_compose_mount_type {
	VD_COMPOSE_MOUNT_BIND,
	VD_COMPOSE_MOUNT_VOLUME,
	VD_COMPOSE_MOUNT_TMPFS,
} vd_compose_mount_type;

typedef struct vd_compose_mount {
	vd_compose_mount_type type;
	char *source;            /* bind: absolute host path (`~` expanded); volume: the key of a
	                          * top-level volume, NULL for an anonymous volume; tmpfs: NULL */
	char *target;            /* absolute path in the container */
	bool read_only;
	bool short_syntax;       /* written as "src:dst[:mode]" */
	bool create_host_path;   /* bind: short syntax always, long syntax bind.create_host_path */
	bool nocopy;             /* volume: nocopy */
	char *selinux;           /* "z", "Z" or NULL */
	char *propagation;       /* bind: rprivate, shared, ... or NULL */
	int64_t tmpfs_size;      /* tmpfs: bytes, 0 = unset */
	vd_compose_pos pos;
} vd_compose_mount;

/* A service's attachment to a top-level network. */
typedef struct vd_compose_service_net {
	char *network;           /* key in vd_compose.networks */
	vd_compose_strs aliases;
	char *ipv4_address;
	char *ipv6_address;
} vd_compose_service_net;

typedef enum vd_compose_condition {
	VD_COMPOSE_SERVICE_STARTED,
	VD_COMPOSE_SERVICE_HEALTHY,
	VD_COMPOSE_SERVICE_COMPLETED_SUCCESSFULLY,
} vd_compose_condition;

typedef struct vd_compose_dep {
	char *service;
	vd_compose_condition condition;   /* list form: service_started */
	bool restart;                     /* default false */
	bool required;                    /* default true */
} vd_compose_dep;

/* A service's use of a top-level secret (compose bind-mounts a file
 * secret read-only at its target).  uid, gid and mode are read and, as by
 * compose outside Swarm, not applied. */
typedef struct vd_compose_secret_ref {
	char *source;            /* key in vd_compose.secrets */
	char *target;            /* absolute: /run/secrets/<target or source> unless absolute */
	char *target_written;    /* `target:` as written, or NULL */
	char *uid, *gid;         /* as written, or NULL */
	int64_t mode;            /* -1: unset */
	vd_compose_pos pos;
} vd_compose_secret_ref;

typedef struct vd_compose_healthcheck {
	bool set;              /* a healthcheck key was given */
	bool disable;          /* disable: true, or test ["NONE"] */
	vd_compose_strs test;  /* "CMD-SHELL" + string, or the list as written (CMD/CMD-SHELL/NONE first) */
	int64_t interval_ns;   /* 0 = unset (the image's / engine's default) */
	int64_t timeout_ns;
	int64_t start_period_ns;
	int64_t start_interval_ns;
	int64_t retries;       /* 0 = unset */
} vd_compose_healthcheck;

typedef struct vd_compose_ulimit {
	char *name;
	int64_t soft;
	int64_t hard;          /* a single number sets both */
	bool single;           /* written as one number */
} vd_compose_ulimit;

typedef struct vd_compose_resources {
	int64_t memory;        /* bytes, 0 = unset */
	double cpus;           /* 0 = unset */
} vd_compose_resources;

/* deploy.update_config and deploy.rollback_config: how a Swarm replaces a
 * service's tasks. */
typedef struct vd_compose_update_config {
	bool set;                  /* the key was given */
	bool has_parallelism;
	int64_t parallelism;       /* tasks at once; 0: all */
	int64_t delay_ns;          /* between batches; 0 = unset */
	char *failure_action;      /* continue, pause, rollback (not for rollback_config) or NULL */
	int64_t monitor_ns;        /* how long a task is watched after its update; 0 = unset */
	double max_failure_ratio;
	char *order;               /* stop-first, start-first or NULL */
} vd_compose_update_config;

/* A service's deploy: keys (compose's deploy specification); one engine
 * reads resources and update_config.order, a Swarm all of them. */
typedef struct vd_compose_deploy {
	bool set;                       /* the key was given */
	char *mode;                     /* replicated, global or NULL (replicated) */
	bool has_replicas;
	int64_t replicas;
	char *endpoint_mode;            /* vip, dnsrr or NULL */
	vd_kvs labels;                  /* the service's, not its containers' */
	vd_compose_strs constraints;    /* placement.constraints ("node.role==worker") */
	vd_compose_strs preferences;    /* placement.preferences: each spread's descriptor */
	int64_t max_replicas_per_node;  /* placement.max_replicas_per_node; 0 = unset */
	bool restart_set;               /* restart_policy was given */
	char *restart_condition;        /* none, on-failure, any or NULL */
	int64_t restart_delay_ns;
	bool has_max_attempts;
	int64_t restart_max_attempts;
	int64_t restart_window_ns;
	vd_compose_update_config update_config;
	vd_compose_update_config rollback_config;
} vd_compose_deploy;

typedef struct vd_compose_service {
	char *name;
	vd_compose_pos pos;              /* of the service's key */
	char *image;
	vd_compose_build *build;         /* NULL without build: */
	char *container_name;
	vd_compose_argv command;
	vd_compose_argv entrypoint;
	vd_kvs environment;              /* ordered; `KEY` alone from the lookup, unset → omitted */
	vd_compose_strs env_file;        /* absolute paths, in order */
	bool *env_file_required;         /* per env_file entry (long syntax `required:`; default true) */
	vd_compose_port *ports;
	size_t n_ports;
	vd_compose_strs expose;          /* "PORT/proto", ranges expanded */
	vd_compose_strs expose_written;  /* the entries as written (numbers as text) */
	vd_compose_mount *volumes;
	size_t n_volumes;
	vd_compose_service_net *networks; /* empty when network_mode is set */
	size_t n_networks;
	char *network_mode;              /* host, none, bridge, service:NAME, container:ID or NULL */
	vd_compose_dep *depends_on;
	size_t n_depends_on;
	vd_compose_healthcheck healthcheck;
	char *restart;                   /* no, always, on-failure[:N], unless-stopped or NULL */
	vd_kvs labels;
	char *user;
	char *working_dir;
	char *hostname;
	vd_kvs extra_hosts;              /* host → address, in order (a host may repeat) */
	vd_compose_strs dns;
	char *logging_driver;
	vd_kvs logging_options;
	int64_t stop_grace_period_ns;    /* 0 = unset (compose: 10 s) */
	char *stop_signal;
	vd_compose_strs tmpfs;           /* "PATH[:OPTIONS]" as written */
	int64_t shm_size;                /* bytes, 0 = unset */
	vd_compose_ulimit *ulimits;
	size_t n_ulimits;
	vd_compose_strs cap_add;
	vd_compose_strs cap_drop;
	vd_compose_strs security_opt;
	bool privileged;
	int init;                        /* -1 unset, 0, 1 */
	bool read_only;
	vd_kvs sysctls;
	vd_compose_strs devices;         /* "HOST[:CONTAINER[:PERMS]]" as written */
	bool tty;
	bool stdin_open;
	int64_t mem_limit;               /* bytes, 0 = unset */
	double cpus;                     /* 0 = unset */
	vd_compose_resources limits;     /* deploy.resources.limits */
	vd_compose_resources reservations;
	vd_compose_deploy deploy;        /* the other deploy: keys */
	vd_compose_strs profiles;
	vd_compose_strs links;           /* "SERVICE[:ALIAS]" as written (each also a depends_on) */
	vd_compose_secret_ref *secrets;
	size_t n_secrets;
	char *platform;                  /* "os[/arch[/variant]]" or NULL */
	char *runtime;                   /* the OCI runtime or NULL */
	int64_t pids_limit;              /* 0 = unset, -1 unlimited */
	int64_t memswap_limit;           /* bytes; 0 = unset, -1 unlimited */
	char *pull_policy;               /* always, never, missing, if_not_present, build, daily,
	                                  * weekly, every_<duration> or NULL; voxdeploy never pulls */
	char *written;                   /* the merged, interpolated mapping as JSON, scalars typed
	                                  * as YAML 1.1 types them (compose 1.29's hash reads it) */
} vd_compose_service;

typedef struct vd_compose_ipam_pool {
	char *subnet;
	char *gateway;
	char *ip_range;
} vd_compose_ipam_pool;

typedef struct vd_compose_network {
	char *key;             /* the name in the file ("default" for the implicit one) */
	char *name;            /* engine name: `name:`, the key when external, else <project>_<key> */
	vd_compose_pos pos;    /* of the key; file NULL for the implicit default network */
	bool implicit;         /* added because a service declared no network */
	char *driver;
	vd_kvs driver_opts;
	char *ipam_driver;
	vd_compose_ipam_pool *ipam_config;
	size_t n_ipam_config;
	bool external;
	bool internal;
	bool attachable;
	vd_kvs labels;
} vd_compose_network;

typedef struct vd_compose_volume {
	char *key;
	char *name;            /* `name:`, the key when external, else <project>_<key> */
	vd_compose_pos pos;
	char *driver;
	vd_kvs driver_opts;
	bool external;
	vd_kvs labels;
} vd_compose_volume;

/* A top-level secret. */
typedef struct vd_compose_secret {
	char *key;
	char *name;            /* `name:`, else <project>_<key> */
	vd_compose_pos pos;
	char *file;            /* absolute host path, or NULL */
	char *environment;     /* the variable whose value it is, or NULL */
	bool external;
} vd_compose_secret;

typedef struct vd_compose {
	char *name;                 /* the project name */
	char *working_dir;          /* the project dir, absolute */
	vd_compose_strs config_files;  /* the file names as given, in order */
	vd_compose_service *services;  /* in file order (first file first; new ones from overrides after) */
	size_t n_services;
	size_t *order;              /* indices into services, dependencies first, file order among equals */
	vd_compose_network *networks;  /* declared ones in file order, then the implicit default */
	size_t n_networks;
	vd_compose_volume *volumes;
	size_t n_volumes;
	vd_compose_secret *secrets;
	size_t n_secrets;
	int hash_compose;           /* whose config-hash the labels carry: 2 (compose v2, the
	                             * default; 0 means it too) or 1 (compose 1.29) */
	void *arena;                /* private: the memory of everything above */
} vd_compose;

/* One compose file's content: filename names it in the model and in errors;
 * text need not be NUL-terminated. */
typedef struct vd_compose_source {
	const char *filename;
	const char *text;
	size_t len;
} vd_compose_source;

typedef struct vd_compose_options {
	const char *project_dir;    /* absolute; relative paths resolve against it (required) */
	const char *project_name;   /* NULL: the top-level `name:` of the files, else the base
	                             * name of project_dir, normalised (vd_project_normalize) */
	vd_env_lookup lookup;       /* interpolation and `KEY`-only values; NULL: all unset */
	void *lookup_ctx;
} vd_compose_options;

/* Load, merge (in the order given) and validate compose files held in
 * memory — the plan command reads them at a commit, not from disk. */
int vd_compose_load(const vd_compose_source *files, size_t n_files,
		    const vd_compose_options *opts, vd_compose **out, vd_error *err);

/* The same for the project's files on disk (p->files, p->dir, p->name);
 * no compose file at all is VD_ENOTFOUND. */
int vd_compose_load_project(const vd_project *p, vd_env_lookup lookup, void *ctx,
			    vd_compose **out, vd_error *err);

void vd_compose_free(vd_compose *c);

/* Lookups by service name / network or volume key; NULL when absent. */
const vd_compose_service *vd_compose_service_find(const vd_compose *c, const char *name);
/* Some service waits for `name` with condition service_completed_successfully:
 * a one-shot (a migration), done when it exited with code 0. */
bool vd_compose_is_one_shot(const vd_compose *c, const char *name);
const vd_compose_network *vd_compose_network_find(const vd_compose *c, const char *key);
const vd_compose_volume *vd_compose_volume_find(const vd_compose *c, const char *key);
const vd_compose_secret *vd_compose_secret_find(const vd_compose *c, const char *key);

/* The app service when voxdeploy.yml names none: the service whose
 * container_name is voxpersona_app, else the only service with build:;
 * NULL when neither tells. */
const char *vd_compose_default_app(const vd_compose *c);

/* The i-th service in dependency order (dependencies first — depends_on and
 * network_mode service:NAME — file order among equals); NULL past the end.
 * Stop in the reverse order. */
const vd_compose_service *vd_compose_ordered(const vd_compose *c, size_t i);

/* Whether s depends on the service `on` (depends_on), directly or through
 * others. */
bool vd_compose_depends(const vd_compose *c, const vd_compose_service *s, const char *on);

/* A service's environment as the container gets it: its env_file files read
 * in order with vd_dotenv_load (a missing required file is an error), then
 * `environment` over them.  out is initialised here; release it with
 * vd_kvs_release. */
int vd_compose_service_env(const vd_compose_service *s, vd_env_lookup lookup, void *ctx,
			   vd_kvs *out, vd_error *err);

/* Compose's duration ("1m30s", "1.5h", "500ms", "10us", "0") in ns; and
 * byte size ("64m", "1g", "512kb", "1024") — go-units RAMInBytes, binary
 * multiples.  0 or VD_EINVAL (no message: callers say where). */
int vd_compose_parse_duration(const char *s, int64_t *out);
int vd_compose_parse_bytes(const char *s, int64_t *out);

/* Split a command string into words as compose does (go-shellwords: blanks
 * separate, single quotes literal, double quotes and backslash escape).
 * The words are heap strings: free each and the array.  VD_EINVAL on an
 * unterminated quote. */
int vd_compose_split_words(const char *s, char ***out, size_t *n_out);

#endif
