/* Matching a context path against a COPY source: Go's filepath.Match one
 * path segment at a time, with "**" and a matched directory taking what is
 * under it (vd_dockerfile_source_matches() in controller/dockerfile.h). */
#include "controller/plan/dockerfile.h"
#include "controller/plan/dockerfile_private.h"
#include "docker_api/path.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* --- matching, Go's filepath.Match one segment at a time --- */

/* Not dockerignore.c's matcher: .dockerignore is moby's regexp reading ("\d", "[z-a]"), not this. */

/* filepath's getEsc: one end of a class range at p[*i], possibly escaped;
 * false when there is none ('-', ']' or the end). */
static bool class_char(const char *p, size_t n, size_t *i, uint32_t *out)
{
	size_t k = *i, len;

	if (k >= n || p[k] == '-' || p[k] == ']')
		return false;
	if (p[k] == '\\' && ++k >= n)
		return false;
	*out = vd_path_rune(p + k, n - k, &len);
	*i = k + len;
	return true;
}

/* A class at p[0] == '[': does rune c match?  Returns the length of the
 * class, 0 when malformed. */
static size_t class_match(const char *p, size_t n, uint32_t c, bool *match)
{
	size_t i = 1;
	bool neg = false, any = false;
	int nranges = 0;

	*match = false;
	if (i < n && p[i] == '^') {
		neg = true;
		i++;
	}
	for (;;) {
		uint32_t lo, hi;

		if (i < n && p[i] == ']' && nranges > 0) {
			i++;
			break;
		}
		if (!class_char(p, n, &i, &lo))
			return 0;
		hi = lo;
		if (i < n && p[i] == '-') {
			i++;
			if (!class_char(p, n, &i, &hi))
				return 0;
		}
		if (lo <= c && c <= hi)
			any = true;
		nranges++;
	}
	*match = any != neg;
	return i;
}

/* Is the segment pattern well formed? */
static bool seg_valid(const char *p, size_t n)
{
	size_t i = 0;
	bool m;

	while (i < n) {
		if (p[i] == '\\') {
			if (i + 1 >= n)
				return false;
			i += 2;
		} else if (p[i] == '[') {
			size_t k = class_match(p + i, n - i, 0, &m);

			if (!k)
				return false;
			i += k;
		} else {
			i++;
		}
	}
	return true;
}

/* '*' backtracking: the classic wildcard algorithm, exact for patterns
 * whose only variable-length element is '*'. */
static bool seg_match(const char *p, size_t pn, const char *s, size_t sn)
{
	size_t pi = 0, si = 0, star_p = SIZE_MAX, star_s = 0;

	while (si < sn) {
		if (pi < pn && p[pi] == '*') {
			while (pi < pn && p[pi] == '*')
				pi++;
			star_p = pi;
			star_s = si;
			continue;
		}
		if (pi < pn) {
			size_t cl;
			uint32_t c = vd_path_rune(s + si, sn - si, &cl);

			if (p[pi] == '?') {
				pi++;
				si += cl;
				continue;
			}
			if (p[pi] == '[') {
				bool m;
				size_t k = class_match(p + pi, pn - pi, c, &m);

				if (k && m) {
					pi += k;
					si += cl;
					continue;
				}
			} else {
				size_t q = pi, pl;
				uint32_t pc;

				if (p[q] == '\\')
					q++;
				pc = vd_path_rune(p + q, pn - q, &pl);
				q += pl;
				if (pc == c) {
					pi = q;
					si += cl;
					continue;
				}
			}
		}
		if (star_p == SIZE_MAX)
			return false;
		/* let the last star take one more rune */
		{
			size_t cl;

			vd_path_rune(s + star_s, sn - star_s, &cl);
			star_s += cl;
		}
		pi = star_p;
		si = star_s;
	}
	while (pi < pn && p[pi] == '*')
		pi++;
	return pi == pn;
}

struct segs {
	const char **p;
	size_t *len;
	size_t n;
};

/* Split a cleaned path into its segments ("" has none). */
static int segs_split(const char *s, struct segs *out)
{
	size_t n = *s ? 1 : 0, i;
	const char *c;

	for (c = s; *c; c++)
		n += *c == '/';
	out->n = 0;
	out->p = malloc((n ? n : 1) * sizeof(*out->p));
	out->len = malloc((n ? n : 1) * sizeof(*out->len));
	if (!out->p || !out->len)
		return VD_ENOMEM;
	for (i = 0; i < n; i++) {
		const char *e = strchr(s, '/');

		out->p[i] = s;
		out->len[i] = e ? (size_t)(e - s) : strlen(s);
		s += out->len[i] + 1;
	}
	out->n = n;
	return 0;
}

static void segs_release(struct segs *g)
{
	free(g->p);
	free(g->len);
}

static bool is_dstar(const struct segs *g, size_t i)
{
	return g->len[i] == 2 && g->p[i][0] == '*' && g->p[i][1] == '*';
}

/* The pattern's segments against the path's, with the wildcard algorithm
 * one level up: "**" takes any run of segments, every other pattern segment
 * exactly one; and an implicit "**" at the end, since a matched directory
 * takes everything under it.  Linear in the number of segments for
 * patterns without "**". */
static bool segs_match(const struct segs *pat, const struct segs *path)
{
	size_t pi = 0, si = 0, star_p = SIZE_MAX, star_s = 0, i;

	for (i = 0; i < pat->n; i++)
		if (!is_dstar(pat, i) && !seg_valid(pat->p[i], pat->len[i]))
			return false;
	while (si < path->n) {
		if (pi < pat->n && is_dstar(pat, pi)) {
			while (pi < pat->n && is_dstar(pat, pi))
				pi++;
			star_p = pi;
			star_s = si;
			continue;
		}
		if (pi == pat->n)
			return true;   /* everything under a matched directory */
		if (seg_match(pat->p[pi], pat->len[pi], path->p[si], path->len[si])) {
			pi++;
			si++;
			continue;
		}
		if (star_p == SIZE_MAX)
			return false;
		pi = star_p;
		si = ++star_s;
	}
	while (pi < pat->n && is_dstar(pat, pi))
		pi++;
	return pi == pat->n;
}

static bool match_cleaned(const char *pattern, const struct segs *path)
{
	struct segs pat = { NULL, NULL, 0 };
	bool m = false;

	if (strcmp(pattern, ".") == 0)
		pattern = "";
	if (!segs_split(pattern, &pat))
		m = segs_match(&pat, path);
	segs_release(&pat);
	return m;
}

bool vd_dockerfile_source_matches(const char *pattern, const char *path)
{
	struct segs sp = { NULL, NULL, 0 };
	char *p = NULL, *s = NULL;
	bool m = false;

	if (!pattern || !path)
		return false;
	p = vd_path_clean_in_root(pattern);
	s = vd_path_clean_in_root(path);
	if (p && s && !segs_split(s, &sp))
		m = match_cleaned(p, &sp);
	segs_release(&sp);
	free(p);
	free(s);
	return m;
}

const vd_dockerfile_ref *vd_dockerfile_sources_match(const vd_dockerfile_sources *s,
						     const char *path)
{
	const vd_dockerfile_ref *found = NULL;
	struct segs sp = { NULL, NULL, 0 };
	char *cp;
	size_t i;

	if (!s || !path || !(cp = vd_path_clean_in_root(path)))
		return NULL;
	/* the patterns are cleaned already */
	if (!segs_split(cp, &sp))
		for (i = 0; i < s->n_refs && !found; i++)
			if (match_cleaned(s->refs[i].pattern, &sp))
				found = &s->refs[i];
	segs_release(&sp);
	free(cp);
	return found;
}
