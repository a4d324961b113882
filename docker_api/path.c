#include "docker_api/path.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* filepath.Clean's lexical walk.  rooted: read p as if it began with '/'
 * (it may or may not). */
static char *clean(const char *p, bool rooted)
{
	size_t n = strlen(p), r = 0, w = 0, dotdot = 0;
	char *out = malloc(n + 2);

	if (!out)
		return NULL;
	rooted = rooted || (n && p[0] == '/');
	if (rooted) {
		out[w++] = '/';
		dotdot = 1;
	}
	while (r < n) {
		if (p[r] == '/') {
			r++;
		} else if (p[r] == '.' && (r + 1 == n || p[r + 1] == '/')) {
			r++;
		} else if (p[r] == '.' && p[r + 1] == '.' && (r + 2 == n || p[r + 2] == '/')) {
			r += 2;
			if (w > dotdot) {
				/* back to the previous '/' */
				w--;
				while (w > dotdot && out[w] != '/')
					w--;
			} else if (!rooted) {
				/* ".." above the start is kept; at the root it is dropped */
				if (w > 0)
					out[w++] = '/';
				out[w++] = '.';
				out[w++] = '.';
				dotdot = w;
			}
		} else {
			if ((rooted && w != 1) || (!rooted && w != 0))
				out[w++] = '/';
			for (; r < n && p[r] != '/'; r++)
				out[w++] = p[r];
		}
	}
	if (w == 0)
		out[w++] = '.';
	out[w] = '\0';
	return out;
}

char *vd_path_clean(const char *path)
{
	return clean(path, false);
}

char *vd_path_clean_in_root(const char *path)
{
	char *out = clean(path, true);

	/* always "/..." here: drop the '/', keep the NUL */
	if (out)
		memmove(out, out + 1, strlen(out));
	return out;
}

uint32_t vd_path_rune(const char *str, size_t len, size_t *size)
{
	const unsigned char *s = (const unsigned char *)str;
	uint32_t c, min;
	size_t need, i;

	*size = 1;
	if (!len)
		return VD_PATH_RUNE_ERROR;
	if (s[0] < 0x80)
		return s[0];
	if ((s[0] & 0xE0) == 0xC0) {
		c = s[0] & 0x1F;
		need = 1;
		min = 0x80;
	} else if ((s[0] & 0xF0) == 0xE0) {
		c = s[0] & 0x0F;
		need = 2;
		min = 0x800;
	} else if ((s[0] & 0xF8) == 0xF0) {
		c = s[0] & 0x07;
		need = 3;
		min = 0x10000;
	} else {
		return VD_PATH_RUNE_ERROR;
	}
	if (len < need + 1)
		return VD_PATH_RUNE_ERROR;
	for (i = 1; i <= need; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return VD_PATH_RUNE_ERROR;
		c = (c << 6) | (s[i] & 0x3F);
	}
	/* overlong forms, surrogates and values past Unicode are invalid too */
	if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
		return VD_PATH_RUNE_ERROR;
	*size = need + 1;
	return c;
}
