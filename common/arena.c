#include "common/arena.h"
#include "common/error.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------
 * The arena.
 */

struct vd_arena_chunk {
	struct vd_arena_chunk *next;
	size_t used;
	size_t cap;
	max_align_t data[];
};

void *vd_arena_alloc(vd_arena *a, size_t n)
{
	struct vd_arena_chunk *c = a->head;
	size_t need = (n + 15) & ~(size_t)15;
	void *p;

	if (need < n)
		return NULL;
	if (!c || c->cap - c->used < need) {
		size_t cap = need > 65536 ? need : 65536;

		c = malloc(sizeof(*c) + cap);
		if (!c)
			return NULL;
		c->cap = cap;
		c->used = 0;
		if (a->head && need > 65536) {
			/* keep filling the current chunk */
			c->next = a->head->next;
			a->head->next = c;
		} else {
			c->next = a->head;
			a->head = c;
		}
	}
	p = (char *)c->data + c->used;
	c->used += need;
	memset(p, 0, n);
	return p;
}

void *vd_arena_array(vd_arena *a, size_t n, size_t size)
{
	if (size && n > SIZE_MAX / size)
		return NULL;
	return vd_arena_alloc(a, n && size ? n * size : 1);
}

char *vd_arena_strndup(vd_arena *a, const char *s, size_t n)
{
	char *p = vd_arena_alloc(a, n + 1);

	if (p && n)
		memcpy(p, s, n);
	return p;
}

char *vd_arena_strdup(vd_arena *a, const char *s)
{
	return s ? vd_arena_strndup(a, s, strlen(s)) : NULL;
}

char *vd_arena_vprintf(vd_arena *a, const char *fmt, va_list ap)
{
	char *tmp = NULL, *out;
	int n = vasprintf(&tmp, fmt, ap);

	if (n < 0)
		return NULL;
	out = vd_arena_strndup(a, tmp, (size_t)n);
	free(tmp);
	return out;
}

char *vd_arena_printf(vd_arena *a, const char *fmt, ...)
{
	va_list ap;
	char *out;

	va_start(ap, fmt);
	out = vd_arena_vprintf(a, fmt, ap);
	va_end(ap);
	return out;
}

void vd_arena_release(vd_arena *a)
{
	struct vd_arena_chunk *c = a->head, *next;

	for (; c; c = next) {
		next = c->next;
		free(c);
	}
	a->head = NULL;
}

/* ------------------------------------------------------------------------
 * A string → pointer hash table .
 */

static size_t str_hash(const char *s)
{
	size_t h = 1469598103934665603ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static int strmap_grow(vd_strmap *m)
{
	size_t cap = m->cap ? m->cap * 2 : 16, i;
	const char **keys = calloc(cap, sizeof(*keys));
	void **vals = calloc(cap, sizeof(*vals));

	if (!keys || !vals) {
		free(keys);
		free(vals);
		return VD_ENOMEM;
	}
	for (i = 0; i < m->cap; i++) {
		size_t j;

		if (!m->keys[i])
			continue;
		for (j = str_hash(m->keys[i]) & (cap - 1); keys[j]; j = (j + 1) & (cap - 1))
			;
		keys[j] = m->keys[i];
		vals[j] = m->vals[i];
	}
	free(m->keys);
	free(m->vals);
	m->keys = keys;
	m->vals = vals;
	m->cap = cap;
	return 0;
}

void *vd_strmap_get(const vd_strmap *m, const char *key)
{
	size_t j;

	if (!m->cap)
		return NULL;
	for (j = str_hash(key) & (m->cap - 1); m->keys[j]; j = (j + 1) & (m->cap - 1))
		if (!strcmp(m->keys[j], key))
			return m->vals[j];
	return NULL;
}

int vd_strmap_put(vd_strmap *m, const char *key, void *val)
{
	size_t j;

	if ((m->len + 1) * 2 > m->cap && strmap_grow(m))
		return VD_ENOMEM;
	for (j = str_hash(key) & (m->cap - 1); m->keys[j]; j = (j + 1) & (m->cap - 1))
		if (!strcmp(m->keys[j], key))
			break;
	if (!m->keys[j]) {
		m->keys[j] = key;
		m->len++;
	}
	m->vals[j] = val;
	return 0;
}

void vd_strmap_release(vd_strmap *m)
{
	free(m->keys);
	free(m->vals);
	memset(m, 0, sizeof(*m));
}
