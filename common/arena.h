/* voxdeploy — an arena and a string map, for loaders that build trees.
 *
 * Arena: every node and string of a tree lives in one, so that a half-built
 * tree frees in one call and nothing needs its own free.  Allocations are
 * zeroed; NULL when out of memory.
 *
 * String map: a string -> pointer hash table.  Zero-initialise; keys must
 * outlive the map; values must not be NULL (vd_strmap_get's "absent").
 */
#ifndef VD_COMMON_ARENA_H
#define VD_COMMON_ARENA_H

#include <stdarg.h>
#include <stddef.h>

struct vd_arena_chunk;

typedef struct vd_arena {
	struct vd_arena_chunk *head;
} vd_arena;

void *vd_arena_alloc(vd_arena *a, size_t n);
void *vd_arena_array(vd_arena *a, size_t n, size_t size);  /* overflow-checked, never NULL for 0 */
char *vd_arena_strndup(vd_arena *a, const char *s, size_t n);
char *vd_arena_strdup(vd_arena *a, const char *s);          /* NULL for NULL */
char *vd_arena_printf(vd_arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
char *vd_arena_vprintf(vd_arena *a, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
void vd_arena_release(vd_arena *a);

typedef struct vd_strmap {
	const char **keys;
	void **vals;
	size_t cap;
	size_t len;
} vd_strmap;

void *vd_strmap_get(const vd_strmap *m, const char *key);
int vd_strmap_put(vd_strmap *m, const char *key, void *val);  /* set or replace; VD_ENOMEM */
void vd_strmap_release(vd_strmap *m);

#endif
