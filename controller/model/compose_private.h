/* voxdeploy — what the compose files share inside the compose module.
 *
 * Private: included only by controller/model/compose*.c, never installed.
 *
 *   compose.c          the public API, the load (parse each file with
 *                      yaml.h, normalise, merge, type), the top level
 *                      (project name, networks, volumes), the cross-checks
 *                      and the dependency order, lookups, the scalar
 *                      formats (durations, byte sizes, words);
 *   compose_merge.c    per-file normalisation of list-or-mapping forms, the
 *                      override merge rules, and the readers of typed values
 *                      (strings, booleans, numbers, lists, key-value
 *                      mappings, paths) that all typing shares;
 *   compose_service.c  typing and validating one service.
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

/* ---- normalisation and merging (compose_merge.c) ---- */

/* One parsed file with its list-or-mapping keys brought to the mapping
 * form, lone strings that stand for a list made lists, and x-* keys
 * dropped; doc is not modified (nodes may be shared through aliases). */
int compose_normalise(loadctx *lc, vd_yaml_node *doc, vd_yaml_node **out);
/* The normalised root of a later file merged over an earlier one as
 * compose merges overrides. */
int compose_merge(loadctx *lc, vd_yaml_node *base, vd_yaml_node *over, vd_yaml_node **out);

/* ---- typed values (compose_merge.c) ----
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

/* What a key without a value (`- KEY` in a list form) means. */
enum compose_null_mode {
	COMPOSE_NULL_EMPTY,   /* "" */
	COMPOSE_NULL_LOOKUP,  /* the lookup's value; left out when unset */
};

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

/* ---- services (compose_service.c) ---- */

/* One service of the merged tree, typed and validated into *s. */
int compose_t_service(loadctx *lc, const vd_yaml_pair *sp, vd_compose_service *s);
/* A name docker accepts for a volume. */
bool compose_valid_volume_name(const char *s);

/* ---- compose.c ---- */

/* vd_compose_split_words()'s result freed. */
void compose_free_words(char **v, size_t n);

#endif
