/* voxdeploy — containers through the Engine API.
 *
 * Parsing is split from fetching (vd_container_*_parse take the JSON text) so
 * that recorded engine responses can be tested without an engine.
 */
#ifndef VD_DOCKER_API_CONTAINER_H
#define VD_DOCKER_API_CONTAINER_H

#include <stdbool.h>
#include <stdint.h>

#include "common/json.h"
#include "docker_api/docker.h"

typedef struct vd_container_summary {
	char *id;
	char *name;        /* the first name, without the leading '/' */
	char *image;       /* as the container was created ("app:latest") */
	char *image_id;
	char *state;       /* created, running, paused, restarting, exited, dead */
	char *status;      /* "Up 2 minutes (healthy)" */
	int64_t created;   /* unix seconds */
	vd_kvs labels;
} vd_container_summary;

typedef struct vd_container_array {
	vd_container_summary *items;
	size_t len;
} vd_container_array;

/* List containers.  filter_pairs: NULL-terminated key, value, ... as in
 * vd_docker_filters_json() (e.g. "label", "com.docker.compose.project=p");
 * a "name" filter is a regexp on the engine's side: anchor it yourself or use
 * vd_container_name_filter(). */
int vd_container_list(vd_docker *d, bool all, const char *const *filter_pairs,
		      vd_container_array *out, vd_error *err);
int vd_container_list_parse(const char *json, vd_container_array *out, vd_error *err);
void vd_container_array_release(vd_container_array *list);
/* The health the engine shows in a list entry's Status ("Up 5 minutes
 * (healthy)"): "healthy", "unhealthy", "starting", or NULL without one. */
const char *vd_container_summary_health(const vd_container_summary *s);
/* How long it has been up, as the engine words it ("5 minutes",
 * "About an hour"), into out; "" when it is not up. */
void vd_container_summary_uptime(const vd_container_summary *s, char *out, size_t size);

/* "^/name$" with regexp metacharacters escaped, into out. */
int vd_container_name_filter(vd_buf *out, const char *name);

typedef struct vd_endpoint {
	char *network;     /* the network's name */
	char *network_id;
	char *ip;
	char **aliases;    /* without the engine's own short-id alias */
	size_t n_aliases;
} vd_endpoint;

typedef struct vd_container_info {
	char *id;
	char *name;            /* without the leading '/' */
	char *image_id;        /* .Image: an image id */
	char *config_image;    /* .Config.Image: what it was created from */
	char *status;          /* .State.Status */
	bool running, restarting, paused, oom_killed, dead;
	int64_t exit_code;
	int64_t pid;
	int64_t restart_count;
	char *started_at;
	char *finished_at;
	char *error;           /* .State.Error, or NULL */
	char *health;          /* starting|healthy|unhealthy, NULL without a HEALTHCHECK */
	int64_t failing_streak;
	char *health_output;   /* the last probe's output, last line, or NULL */
	bool tty;
	vd_kvs labels;
	vd_endpoint *endpoints;
	size_t n_endpoints;
	yajl_val raw;          /* the whole answer, for anything not above */
} vd_container_info;

/* Inspect by id, id prefix or name.  When a name was given the answer's name
 * must match it (the engine also accepts id prefixes): else VD_ENOTFOUND. */
int vd_container_inspect(vd_docker *d, const char *ref, vd_container_info *out, vd_error *err);
int vd_container_info_parse(const char *json, vd_container_info *out, vd_error *err);
void vd_container_info_release(vd_container_info *info);

/* Create from a full create body (Config + HostConfig + NetworkingConfig,
 * and a top-level "Platform", "os[/arch[/variant]]", sent in the query as
 * `docker create --platform` sends it).
 * Below API 1.44 the engine takes one network at create: the others, with
 * their aliases, addresses and MAC, are connected right after create, before
 * start (what compose does).  out_id receives the new id (caller frees). */
int vd_container_create(vd_docker *d, const char *name, const char *body,
			char **out_id, vd_error *err);

/* The pure part of that (for tests): rewrite `body` for the negotiated API.
 * multi_ok: the engine takes several networks at create (API ≥ 1.44).
 * create_out receives the body to send; connects_out a JSON array of
 * {"Network": name, "EndpointConfig": {...}} to connect after create.  At
 * API < 1.44 a per-endpoint MacAddress moves to Config.MacAddress (only one
 * MAC is possible there); at ≥ 1.44 Config.MacAddress moves into the primary
 * endpoint. */
int vd_container_create_body(const char *body, bool multi_ok, vd_buf *create_out,
			     vd_buf *connects_out, vd_error *err);

/* 304 "already started/stopped" counts as success. */
int vd_container_start(vd_docker *d, const char *id, vd_error *err);
/* Start n containers at once, up to parallel at a time (each on a
 * connection of its own, like d's); every one is tried; the first failure
 * is returned ("start NAME: ..." with names[i], or the id). */
int vd_container_start_all(vd_docker *d, const char *const *ids, const char *const *names, size_t n,
			   size_t parallel, vd_error *err);
/* timeout_s: seconds before SIGKILL; < 0 → the container's StopTimeout/10 s.
 * The HTTP call waits that long plus a margin. */
int vd_container_stop(vd_docker *d, const char *id, int timeout_s, vd_error *err);
int vd_container_restart(vd_docker *d, const char *id, int timeout_s, vd_error *err);
/* signal NULL → SIGKILL.  409 when it is not running. */
int vd_container_kill(vd_docker *d, const char *id, const char *signal, vd_error *err);
int vd_container_rename(vd_docker *d, const char *id, const char *new_name, vd_error *err);
/* force: kill first if running.  remove_volumes false keeps anonymous volumes
 * (voxdeploy never passes true for a container whose volumes hold data). */
int vd_container_remove(vd_docker *d, const char *id, bool force, bool remove_volumes,
			vd_error *err);
/* condition: "not-running" (default), "next-exit", "removed".  Waits at most
 * timeout_ms (VD_ETIMEOUT).  exit_code may be NULL. */
int vd_container_wait(vd_docker *d, const char *id, const char *condition, long timeout_ms,
		      int64_t *exit_code, vd_error *err);

typedef struct vd_container_sample {
	uint64_t cpu_total;       /* cpu_stats.cpu_usage.total_usage, ns */
	uint64_t system_cpu;      /* cpu_stats.system_cpu_usage, ns */
	uint64_t online_cpus;
	uint64_t mem_usage;       /* memory_stats.usage */
	uint64_t mem_limit;
	uint64_t mem_inactive_file; /* inactive_file (v2; v1: the cgroup's own) */
	uint64_t mem_total_inactive_file; /* total_inactive_file (cgroup v1 only) */
	bool cgroup_v1;           /* total_inactive_file was there */
	uint64_t pids;
	uint64_t net_rx, net_tx;  /* every network's rx_bytes / tx_bytes, summed */
	uint64_t blk_read, blk_write; /* blkio io_service_bytes_recursive Read / Write */
	bool has_memory;
} vd_container_sample;

/* One sample at once (stream=0&one-shot=1: no precpu, diff two yourself). */
int vd_container_stats(vd_docker *d, const char *id, vd_container_sample *out, vd_error *err);
int vd_container_stats_parse(const char *json, vd_container_sample *out, vd_error *err);
/* Memory in use as docker stats shows it: on cgroup v1 usage −
 * total_inactive_file when that is smaller, else usage − inactive_file when
 * that is smaller, else usage. */
uint64_t vd_container_stats_mem_used(const vd_container_sample *s);
/* Sizes as docker stats prints them (go-units): binary with 4 significant
 * digits for memory ("12.5MiB", "1GiB"), decimal with 3 for I/O ("1.23kB",
 * "0B"). */
void vd_container_stats_binary(double bytes, char out[32]);
void vd_container_stats_decimal(double bytes, char out[32]);
/* CPU % between two samples (0 unless both deltas are positive). */
double vd_container_stats_cpu_percent(const vd_container_sample *prev,
				      const vd_container_sample *cur);

#endif
