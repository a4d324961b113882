/* voxdeploy — what the compose files share inside the compose module.
 *
 * Private: included only by controller/model/compose*.c, never installed.
 *
 *   compose.c          the public API, the load (parse each file with
 *                      yaml.h, normalise, merge, type), the top level
 *                      (project name, networks, volumes) and its tables,
 *                      the cross-checks and the dependency order, lookups,
 *                      the scalar formats (durations, byte sizes, words);
 *   compose_merge.c    per-file normalisation of list-or-mapping forms and
 *                      the override merge rules, both as the tables' rows
 *                      say;
 *   compose_read.c     reading a mapping by its table, the lists and
 *                      mappings of entries, and the readers of typed values
 *                      (strings, booleans, numbers, lists, key-value
 *                      mappings, paths) that all typing shares;
 *   compose_service.c  the tables of a service and of its mappings (build,
 *                      healthcheck, logging, deploy, networks, depends_on,
 *                      ulimits, env_file), typing and validating one service;
 *   compose_ports.c    a service's ports and expose;
 *   compose_volumes.c  a service's volumes, short and long syntax.
 *
 * The tree is yaml.h's; its memory (and every string only needed while
 * loading, such as `where` texts) belongs to lc->y.  The model's memory is
 * the arena lc->m (common/arena.h); when the load succeeds its chunks become
 * vd_compose.arena, which vd_compose_free() releases.  Every function
 * returning int returns 0 or a negative VD_E* code with lc->err set.
 */
#ifndef VD_CONTROLLER_COMPOSE_PRIVATE_H
#define VD_CONTROLLER_COMPOSE_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/arena.h"
#include "controller/model/compose.h"
#include "controller/model/yaml.h"

/* The marker tags of override files (vd_yaml_options.markers). */
#define COMPOSE_TAG_RESET "!reset"        /* remove what earlier files said */
#define COMPOSE_TAG_OVERRIDE "!override"  /* replace instead of merging */

/* The model's memory and the maps of a load: common/arena.h. */
typedef vd_arena compose_arena;
typedef vd_strmap compose_strmap;

/* ---- one load ---- */

typedef struct loadctx {
	vd_yaml *y;          /* the trees; freed at the end of the load */
	compose_arena *m;    /* the model's memory */
	vd_compose *c;
	const vd_compose_options *opts;
	vd_error *err;
} loadctx;

/* "out of memory" (VD_ENOMEM). */
int compose_oom(loadctx *lc);
/* VD_EINVAL "FILE:LINE:COL: [where: ]message" at node n. */
int compose_err(loadctx *lc, const vd_yaml_node *n, const char *where, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Work done because of n, against the load's alias-bomb budget. */
int compose_charge(loadctx *lc, const vd_yaml_node *n, unsigned long units);

/* x-* extension keys: allowed and ignored. */
static inline bool compose_is_ext(const char *key)
{
	return key[0] == 'x' && key[1] == '-';
}

/* A pair whose value is tagged !reset: typed as if it were absent. */
static inline bool compose_skip(const vd_yaml_pair *p)
{
	return vd_yaml_has_tag(p->val, COMPOSE_TAG_RESET);
}

/* ---- the tables ----
 *
 * Each mapping of a compose file (the file itself, a service, its build,
 * healthcheck, a network, ...) is a table: one row per key it may have,
 * saying how the value is read and where it goes in the struct being
 * filled, how normalisation brings it to one form per file, and how an
 * override file's value meets an earlier one.  One walk
 * (compose_read_keys) reads any mapping by its table, in file order: a key
 * without a row is an error (x-* keys too, unless the table allows them), a
 * value tagged !reset is skipped, a null value leaves the field alone
 * (strings: NULL).  A value that is more than a type is read by a function
 * of its own (COMPOSE_READ). */

typedef struct compose_key compose_key;
typedef struct compose_table compose_table;

/* Read value v (maybe null) of key k into obj, the struct being filled
 * (k->off: where in it, for the functions that use it). */
typedef int (*compose_read_fn)(loadctx *lc, const vd_yaml_node *v, const char *where, const compose_key *k,
			       void *obj);

enum compose_type {
	COMPOSE_IGNORE,     /* accepted and not read */
	COMPOSE_STR,        /* char *; .oneof: the values it may take */
	COMPOSE_BOOL,       /* bool */
	COMPOSE_INT,        /* int64_t, at least .min */
	COMPOSE_DURATION,   /* int64_t nanoseconds */
	COMPOSE_BYTES,      /* int64_t bytes */
	COMPOSE_CPUS,       /* double */
	COMPOSE_STRS,       /* vd_compose_strs; .strs: COMPOSE_LONE_STR, COMPOSE_DEDUPE */
	COMPOSE_KVS,        /* vd_kvs; .null: what a key without a value means */
	COMPOSE_NODE,       /* const vd_yaml_node *: kept, read once the mapping is */
	COMPOSE_MAP,        /* the same, and it must be a mapping or null */
	COMPOSE_SECTION,    /* a mapping (or null) of .sub's keys, into the struct at .off */
	COMPOSE_READ,       /* .read */
};

/* COMPOSE_STRS */
enum {
	COMPOSE_LONE_STR = 1 << 0,  /* a lone string is a list of one */
	COMPOSE_DEDUPE = 1 << 1,    /* a repeated string is dropped */
};

/* What a key without a value (`- KEY` in a list form) means. */
enum compose_null_mode {
	COMPOSE_NULL_EMPTY,   /* "" */
	COMPOSE_NULL_LOOKUP,  /* the lookup's value; left out when unset */
};

/* How compose_normalise() brings a value to one form per file. */
enum compose_norm {
	COMPOSE_AS_IS,
	COMPOSE_KEY_VALUE,  /* a list of "KEY=VALUE" or "KEY": a mapping */
	COMPOSE_HOST_IP,    /* a list of "HOST:IP" or "HOST=IP": a mapping */
	COMPOSE_NAMES,      /* a list of names: a mapping of each to null */
	COMPOSE_LIST,       /* a lone string: a list of one */
	COMPOSE_SUB,        /* a mapping: x-* keys dropped, its values normalised by .sub;
	                     * a string: the mapping {.sub->lone_key: string} */
};

/* How compose_merge() meets an override's value with an earlier one, when
 * neither is tagged: mappings merge by key, lists are appended, anything
 * else is replaced — unless the row says otherwise. */
enum compose_merge_rule {
	COMPOSE_MERGE,
	COMPOSE_REPLACE,        /* replaced whole (command, healthcheck.test) */
	COMPOSE_SAME_DRIVER,    /* merged when both name the same `driver`, else replaced */
};

struct compose_key {
	const char *name;
	enum compose_type type;
	size_t off;                   /* the value in the struct being filled */
	int64_t min;                  /* COMPOSE_INT */
	unsigned strs;                /* COMPOSE_STRS */
	enum compose_null_mode null;  /* COMPOSE_KVS */
	const char *const *oneof;     /* COMPOSE_STR: NULL-terminated; NULL: any */
	compose_read_fn read;         /* COMPOSE_READ */
	size_t given;                 /* not 0: the offset of a bool set when the key is there
	                               * (even with a null value) */
	const compose_table *sub;     /* the keys of the value, a mapping */
	const compose_table *each;    /* the value is a mapping of NAME: entry, each entry with
	                               * these keys (normalised and merged as such) */
	enum compose_norm norm;
	enum compose_merge_rule merge;
};

struct compose_table {
	const char *what;        /* an entry of an .each mapping in messages: "service" → "service 'NAME'" */
	const compose_key *keys;
	size_t n;
	bool x_keys;             /* x-* keys are allowed (and ignored) */
	const char *lone_key;    /* COMPOSE_SUB: a lone string stands for {lone_key: string} */
};

/* The offset of member m of T, which must be of type U (else an array of
 * negative size: the table does not compile). */
#define COMPOSE_AT(T, m, U) \
	(offsetof(T, m) + \
	 0 * sizeof(char[__builtin_types_compatible_p(__typeof__(((T *)0)->m), U) ? 1 : -1]))

/* A row's type and destination: { "key", K_STR(T, member), ... }. */
#define K_STR(T, m) .type = COMPOSE_STR, .off = COMPOSE_AT(T, m, char *)
#define K_BOOL(T, m) .type = COMPOSE_BOOL, .off = COMPOSE_AT(T, m, bool)
#define K_INT(T, m, lo) .type = COMPOSE_INT, .off = COMPOSE_AT(T, m, int64_t), .min = (lo)
#define K_DURATION(T, m) .type = COMPOSE_DURATION, .off = COMPOSE_AT(T, m, int64_t)
#define K_BYTES(T, m) .type = COMPOSE_BYTES, .off = COMPOSE_AT(T, m, int64_t)
#define K_CPUS(T, m) .type = COMPOSE_CPUS, .off = COMPOSE_AT(T, m, double)
#define K_STRS(T, m, f) .type = COMPOSE_STRS, .off = COMPOSE_AT(T, m, vd_compose_strs), .strs = (f)
#define K_KVS(T, m, nm) .type = COMPOSE_KVS, .off = COMPOSE_AT(T, m, vd_kvs), .null = (nm)
#define K_NODE(T, m) .type = COMPOSE_NODE, .off = COMPOSE_AT(T, m, const vd_yaml_node *)
#define K_MAP(T, m) .type = COMPOSE_MAP, .off = COMPOSE_AT(T, m, const vd_yaml_node *)
#define K_SECTION(T, m, U, tbl) .type = COMPOSE_SECTION, .off = COMPOSE_AT(T, m, U), .sub = &(tbl)
#define K_SAME_SECTION(tbl) .type = COMPOSE_SECTION, .sub = &(tbl)   /* keys of the same struct */
#define K_READ(fn) .type = COMPOSE_READ, .read = (fn)
#define K_READ_AT(fn, T, m, U) .type = COMPOSE_READ, .read = (fn), .off = COMPOSE_AT(T, m, U)

/* A table of the rows of array `rows`, then any other fields. */
#define COMPOSE_TABLE(rows, ...) { .keys = (rows), .n = sizeof(rows) / sizeof((rows)[0]), __VA_ARGS__ }

/* The field of row k in obj, as a T *. */
#define COMPOSE_FIELD(T, obj, k) ((T *)((char *)(obj) + (k)->off))

/* The top level of a compose file (compose.c) and a service
 * (compose_service.c): where normalisation and merging start. */
extern const compose_table compose_project_table;
extern const compose_table compose_service_table;

/* ---- reading by the tables (compose_read.c) ---- */

/* The row of key `name`, or NULL (t may be NULL: no rows). */
const compose_key *compose_key_find(const compose_table *t, const char *name);
/* Every key of mapping `map` into obj, in file order. */
int compose_read_keys(loadctx *lc, const vd_yaml_node *map, const char *where, const compose_table *t,
		      void *obj);
/* The value v of `key` when it is a mapping of t's keys, into obj: null
 * is nothing, anything else "'KEY' must be a mapping"; its keys are read
 * with "WHERE: KEY". */
int compose_read_section(loadctx *lc, const vd_yaml_node *v, const char *where, const char *key,
			 const compose_table *t, void *obj);
/* "'KEY' must be A, B or C" at v, for a value that is none of values
 * (NULL-terminated). */
int compose_err_oneof(loadctx *lc, const vd_yaml_node *v, const char *where, const char *key,
		      const char *const *values);

/* Room for the entries of a list or mapping, made once its value is known
 * to be one: an array of n + spare entries of `size` bytes whose pointer is
 * at offset `array` of the caller's ctx; size 0: none. */
typedef struct compose_room {
	size_t array;
	size_t size;
	size_t spare;
} compose_room;

#define COMPOSE_ROOM(T, m, n) { offsetof(T, m), sizeof(*((T *)0)->m), (n) }

/* A list whose entries are read one by one: ports, volumes, env_file,
 * ipam.config.  ctx is the caller's. */
typedef int (*compose_entry_fn)(loadctx *lc, const vd_yaml_node *it, const char *where, void *ctx);
typedef struct compose_list {
	const char *must_be;      /* what the value must be: "'KEY' must be a list" */
	bool charge;              /* the entries count against the work budget */
	compose_room room;
	compose_entry_fn str;     /* a string entry (short syntax); NULL: refused */
	compose_entry_fn map;     /* a mapping entry (long syntax); NULL: refused */
} compose_list;

/* Null is an empty list; anything but a list is "'KEY' must be MUST_BE";
 * an entry of a kind l does not read is "'KEY' entries must be strings or
 * mappings" (or "must be mappings"). */
int compose_read_list(loadctx *lc, const vd_yaml_node *v, const char *where, const char *key,
		      const compose_list *l, void *ctx);

/* A mapping of NAME: entry whose entries are read one by one: a service's
 * networks, depends_on, ulimits; the top level's services, networks,
 * volumes.  Entries tagged !reset are skipped. */
typedef struct compose_named {
	const char *must_be;      /* what the value must be: "'KEY' must be a mapping" */
	compose_room room;
	int (*entry)(loadctx *lc, const vd_yaml_pair *p, const char *where, void *ctx);
} compose_named;

/* Null is no entries; anything but a mapping is "'KEY' must be MUST_BE". */
int compose_read_named(loadctx *lc, const vd_yaml_node *v, const char *where, const char *key,
		       const compose_named *m, void *ctx);

/* ---- typed values (compose_read.c) ----
 * Each reads the value v of `key` for the thing `where` names into the
 * model.  A null value leaves *out as it is (strings: NULL). */

char *compose_dup(loadctx *lc, const char *s);   /* a copy in the model */
int compose_t_str(loadctx *lc, const vd_yaml_node *v, const char *where, const char *key, char **out);
int compose_t_bool(loadctx *lc, const vd_yaml_node *v, const char *where, const char *key, bool *out);
/* "must be an integer >= 0" when min is 0 */
int compose_t_int(loadctx *lc, const vd_yaml_node *v, const char *where, const char *key, int64_t min,
		  int64_t *out);
int compose_t_duration(loadctx *lc, const vd_yaml_node *v, const char *where, const char *key, int64_t *out);
int compose_t_bytes(loadctx *lc, const vd_yaml_node *v, const char *where, const char *key, int64_t *out);
int compose_t_cpus(loadctx *lc, const vd_yaml_node *v, const char *where, const char *key, double *out);
/* A list of strings (a lone string too when allow_str), duplicates dropped
 * when dedupe. */
int compose_t_strs(loadctx *lc, const vd_yaml_node *v, const char *where, const char *key, bool allow_str,
		   bool dedupe, vd_compose_strs *out);
/* A mapping of scalars (list forms were made mappings by
 * compose_normalise()). */
int compose_t_kvs(loadctx *lc, const vd_yaml_node *v, const char *where, const char *key,
		  enum compose_null_mode nm, vd_kvs *out);
int compose_t_map_or_null(loadctx *lc, const vd_yaml_node *v, const char *where, const char *key);
int compose_unknown_key(loadctx *lc, const vd_yaml_pair *p, const char *where);
vd_compose_pos compose_pos_of(loadctx *lc, const vd_yaml_node *n);
/* "WHERE: KEY", loader memory. */
char *compose_sub_where(loadctx *lc, const char *where, const char *key);
/* A path made absolute against the project dir, "." and ".." folded, `~`
 * expanded from HOME; in the model. */
char *compose_resolve_path(loadctx *lc, const char *path);

/* ---- normalisation and merging (compose_merge.c) ---- */

/* One parsed file with its list-or-mapping keys brought to the mapping
 * form, lone strings that stand for a list made lists, and x-* keys
 * dropped (compose_project_table's rows say where); doc is not modified
 * (nodes may be shared through aliases). */
int compose_normalise(loadctx *lc, vd_yaml_node *doc, vd_yaml_node **out);
/* The normalised root of a later file merged over an earlier one as
 * compose merges overrides. */
int compose_merge(loadctx *lc, vd_yaml_node *base, vd_yaml_node *over, vd_yaml_node **out);

/* ---- services (compose_service.c, compose_ports.c, compose_volumes.c) ---- */

/* One service of the merged tree, typed and validated into *s. */
int compose_t_service(loadctx *lc, const vd_yaml_pair *sp, vd_compose_service *s);

/* compose_written.c: a node as JSON with scalars typed as YAML 1.1 (PyYAML)
 * types them, in the model (NULL when out of memory); a double as Python's
 * repr prints it. */
char *compose_written_json(loadctx *lc, const vd_yaml_node *v);
int compose_pyfloat(double d, char out[40]);
/* ports, expose and volumes: COMPOSE_READ functions of the service table. */
int compose_t_ports(loadctx *lc, const vd_yaml_node *v, const char *where, const compose_key *k, void *obj);
int compose_t_expose(loadctx *lc, const vd_yaml_node *v, const char *where, const compose_key *k, void *obj);
int compose_t_volumes(loadctx *lc, const vd_yaml_node *v, const char *where, const compose_key *k, void *obj);
/* A name docker accepts for a volume. */
bool compose_valid_volume_name(const char *s);

/* ---- compose.c ---- */

/* vd_compose_split_words()'s result freed. */
void compose_free_words(char **v, size_t n);

/* compose_names.c: every name of the loaded model kept whole by the
 * redactor (vd_secret_keep). */
void compose_keep_names(const vd_compose *c);

#endif
