/* voxdeploy — .env parsing and ${VAR} interpolation as compose v2 does them.
 *
 * The behaviour follows compose-go: the `template` package (a regular
 * expression plus a brace counter) and the `dotenv` package (godotenv's
 * parser).  Both are reproduced by hand here, including the corners a
 * regular expression gives them, so that the values we compute are the ones
 * `docker compose` would compute.  Where we refuse input compose accepts,
 * the header says so.
 */
#include "controller/model/interpolate.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Defaults nest by recursion; past this depth the input is refused rather
 * than risking the stack (compose has no limit, but nobody nests this far). */
#define MAX_DEPTH 1000
/* How much of a template an error message quotes. */
#define EXCERPT_MAX 80
/* The largest .env / env_file we read. */
#define DOTENV_MAX ((size_t)16 << 20)

struct interp {
	const char *src;          /* the whole template, for messages */
	vd_env_lookup lookup;
	void *ctx;
	vd_kvs *unset;
	vd_error *err;
};

static bool is_name_start(unsigned char c)
{
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_name_char(unsigned char c)
{
	return is_name_start(c) || (c >= '0' && c <= '9');
}

/* Append s quoted for a message: at most max bytes of it, control and
 * non-ASCII bytes escaped, "..." when cut. */
static void quote_excerpt(vd_buf *b, const char *s, size_t len, size_t max)
{
	size_t i, n = len < max ? len : max;

	vd_buf_putc(b, '"');
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\')
			vd_buf_printf(b, "\\%c", c);
		else if (c == '\n')
			vd_buf_puts(b, "\\n");
		else if (c == '\t')
			vd_buf_puts(b, "\\t");
		else if (c < 0x20 || c >= 0x7f)
			vd_buf_printf(b, "\\x%02x", c);
		else
			vd_buf_putc(b, (char)c);
	}
	if (n < len)
		vd_buf_puts(b, "...");
	vd_buf_putc(b, '"');
}

static int invalid_format(struct interp *ip)
{
	vd_buf q = VD_BUF_INIT;
	int r;

	quote_excerpt(&q, ip->src, strlen(ip->src), EXCERPT_MAX);
	r = vd_error_set(ip->err, VD_EINVAL,
			 "invalid interpolation format for %s: you may need to escape any $ with another $",
			 vd_buf_cstr(&q));
	vd_buf_release(&q);
	return r;
}

static int out_failed(struct interp *ip, int r)
{
	if (r == VD_ETOOBIG)
		return vd_error_set(ip->err, r, "interpolated value too big");
	return vd_error_set(ip->err, r, "out of memory");
}

/* Look a name given as a range up; NULL when unset.  *name gets the name as
 * a string (the caller frees it); NULL there means out of memory. */
static const char *lookup_range(struct interp *ip, const char *p, size_t len, char **name)
{
	*name = strndup(p, len);
	if (!*name)
		return NULL;
	return ip->lookup ? ip->lookup(*name, ip->ctx) : NULL;
}

static int note_unset(struct interp *ip, const char *name)
{
	if (!ip->unset || vd_kvs_get(ip->unset, name))
		return 0;
	if (vd_kvs_add(ip->unset, name, ""))
		return vd_error_set(ip->err, VD_ENOMEM, "out of memory");
	return 0;
}

/* A plain $NAME or ${NAME}: the value, or "" (and noted) when unset. */
static int substitute_plain(struct interp *ip, const char *name, size_t len, vd_buf *out)
{
	char *heap = NULL;
	const char *v;
	int r;

	v = lookup_range(ip, name, len, &heap);
	if (!heap)
		return vd_error_set(ip->err, VD_ENOMEM, "out of memory");
	if (v) {
		r = vd_buf_puts(out, v);
		if (r)
			r = out_failed(ip, r);
	} else {
		r = note_unset(ip, heap);
	}
	free(heap);
	return r;
}

/* Where the ${...} that starts at d (the '$') ends, as compose finds it:
 * its regular expression takes the braced form up to the last '}' on the
 * line (`.` stops at a newline), then getFirstBraceClosingIndex() cuts that
 * at the first '}' balancing the '{'s counted from the start — where each
 * '{' also skips the character after it.  When the count never balances,
 * the last '}' on the line stands.  NULL when no '}' follows on the line:
 * the form is invalid. */
static const char *closing_brace(const char *d, const char *end)
{
	const char *p, *eol = end;
	long open = 0;

	/* found quickly when balanced; the whole line is read only when not */
	for (p = d; p < end; p++) {
		if (*p == '\n') {
			eol = p;
			break;
		}
		if (*p == '}' && --open == 0)
			return p;
		if (*p == '{') {
			open++;
			if (p + 1 == end)
				break;
			if (p[1] == '\n') {
				eol = p + 1;
				break;
			}
			p++;
		}
	}
	for (p = eol; p > d; p--) {
		if (p[-1] == '}')
			return p - 1;
	}
	return NULL;
}

static int interp_range(struct interp *ip, const char *p, const char *end, vd_buf *out,
			int depth);

/* The ${...} at d; *next is set past it. */
static int substitute_braced(struct interp *ip, const char *d, const char *end, vd_buf *out,
			     int depth, const char **next)
{
	const char *name = d + 2, *q = name, *arg, *close;
	char op = 0;
	bool colon = false;
	vd_buf val = VD_BUF_INIT;
	char *heap = NULL;
	const char *v;
	int r = 0;

	if (q >= end || !is_name_start((unsigned char)*q))
		return invalid_format(ip);
	while (q < end && is_name_char((unsigned char)*q))
		q++;
	if (q < end && *q == '}') {
		*next = q + 1;
		return substitute_plain(ip, name, (size_t)(q - name), out);
	}
	if (q + 1 < end && *q == ':' && (q[1] == '-' || q[1] == '?' || q[1] == '+')) {
		colon = true;
		op = q[1];
		arg = q + 2;
	} else if (q < end && (*q == '-' || *q == '?' || *q == '+')) {
		op = *q;
		arg = q + 1;
	} else {
		return invalid_format(ip);
	}
	if (depth >= MAX_DEPTH)
		return vd_error_set(ip->err, VD_EINVAL,
				    "interpolation nested more than %d levels deep", MAX_DEPTH);
	close = closing_brace(d, end);
	if (!close || close < arg)
		return invalid_format(ip);

	/* compose substitutes the default, alternative or message before it
	 * looks at the variable: an error inside it counts even when unused. */
	val.max = out->max;
	r = interp_range(ip, arg, close, &val, depth + 1);
	if (r)
		goto done;
	v = lookup_range(ip, name, (size_t)(q - name), &heap);
	if (!heap) {
		r = vd_error_set(ip->err, VD_ENOMEM, "out of memory");
		goto done;
	}
	switch (op) {
	case '-':
		if (!v || (colon && !*v))
			v = vd_buf_cstr(&val);
		break;
	case '+':
		if (v && (!colon || *v))
			v = vd_buf_cstr(&val);
		else if (!v)
			v = "";
		break;
	case '?':
		if (!v || (colon && !*v)) {
			if (val.len)
				r = vd_error_set(ip->err, VD_EINVAL,
						 "required variable %s is missing a value: %s", heap,
						 vd_buf_cstr(&val));
			else
				r = vd_error_set(ip->err, VD_EINVAL,
						 "required variable %s is missing a value", heap);
			goto done;
		}
		break;
	}
	r = vd_buf_puts(out, v);
	if (r)
		r = out_failed(ip, r);
	*next = close + 1;
done:
	free(heap);
	vd_buf_release(&val);
	return r;
}

static int interp_range(struct interp *ip, const char *p, const char *end, vd_buf *out,
			int depth)
{
	int r;

	while (p < end) {
		const char *d = memchr(p, '$', (size_t)(end - p));
		const char *q;

		if (!d)
			d = end;
		r = vd_buf_put(out, p, (size_t)(d - p));
		if (r)
			return out_failed(ip, r);
		if (d == end)
			break;
		p = d + 1;
		if (p < end && *p == '$') {
			/* $$ is a literal $ */
			r = vd_buf_putc(out, '$');
			p++;
		} else if (p < end && is_name_start((unsigned char)*p)) {
			for (q = p; q < end && is_name_char((unsigned char)*q); q++)
				;
			r = substitute_plain(ip, p, (size_t)(q - p), out);
			if (r)
				return r;
			p = q;
		} else if (p < end && *p == '{') {
			r = substitute_braced(ip, d, end, out, depth, &p);
			if (r)
				return r;
		} else {
			/* compose's pattern does not match a $ followed by
			 * anything else: it stays */
			r = vd_buf_putc(out, '$');
		}
		if (r)
			return out_failed(ip, r);
	}
	return 0;
}

int vd_interpolate(const char *in, vd_env_lookup lookup, void *ctx, vd_buf *out, vd_kvs *unset,
		   vd_error *err)
{
	struct interp ip = { in, lookup, ctx, unset, err };
	size_t out_len = out->len, unset_len = unset ? unset->len : 0;
	int r;

	r = interp_range(&ip, in, in + strlen(in), out, 0);
	if (r) {
		/* leave the caller's buffer and list as they were */
		out->len = out_len;
		if (out->ptr)
			out->ptr[out_len] = '\0';
		while (unset && unset->len > unset_len) {
			unset->len--;
			free(unset->items[unset->len].key);
			free(unset->items[unset->len].value);
		}
	}
	return r;
}

const char *vd_env_lookup_process_then(const char *name, void *kvs)
{
	const char *v = getenv(name);

	if (v || !kvs)
		return v;
	return vd_kvs_get(kvs, name);
}

/* ------------------------------------------------------------------ .env */

struct dotenv {
	const char *p, *end;
	const char *file;
	size_t line;
	vd_env_lookup lookup;
	void *ctx;
	vd_kvs vars;      /* this file's keys so far */
	vd_error *err;
};

/* godotenv's isSpace: blanks but not the line break; U+0085 and U+00A0
 * count too (two bytes in UTF-8).  The length of the blank at p, or 0. */
static size_t blank_len(const char *p, const char *end)
{
	unsigned char c = (unsigned char)*p;

	if (c == ' ' || c == '\t' || c == '\v' || c == '\f' || c == '\r')
		return 1;
	if (c == 0xc2 && p + 1 < end && ((unsigned char)p[1] == 0x85 || (unsigned char)p[1] == 0xa0))
		return 2;
	return 0;
}

static int dotenv_fail(struct dotenv *de, size_t line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int dotenv_fail(struct dotenv *de, size_t line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vd_error_setv(de->err, VD_EINVAL, fmt, ap);
	va_end(ap);
	return vd_error_prefix(de->err, "%s:%zu", de->file ? de->file : "<env>", line);
}

/* Values see the lookup first, then this file's earlier keys — as compose's
 * dotenv.ExpandVariables does, so the shell wins here too. */
static const char *dotenv_lookup(const char *name, void *ctx)
{
	struct dotenv *de = ctx;
	const char *v = de->lookup ? de->lookup(name, de->ctx) : NULL;

	return v ? v : vd_kvs_get(&de->vars, name);
}

static int set_var(vd_kvs *kvs, const char *key, const char *value)
{
	size_t i;
	char *dup;

	for (i = 0; i < kvs->len; i++) {
		if (strcmp(kvs->items[i].key, key))
			continue;
		dup = strdup(value);
		if (!dup)
			return VD_ENOMEM;
		free(kvs->items[i].value);
		kvs->items[i].value = dup;
		return 0;
	}
	return vd_kvs_add(kvs, key, value);
}

static int dotenv_expand(struct dotenv *de, size_t line, const char *raw, vd_buf *out)
{
	int r = vd_interpolate(raw, dotenv_lookup, de, out, NULL, de->err);

	if (r)
		vd_error_prefix(de->err, "%s:%zu", de->file ? de->file : "<env>", line);
	return r;
}

/* Double-quoted escapes, as compose's expandEscapes: \a \b \f \n \r \t \v
 * \" \\ become the character, \$ becomes $$ (a literal $ once interpolated),
 * \0 followed by up to three digits is an octal byte when Go's UnquoteChar
 * takes it; anything else stays as written. */
static int expand_escapes(const char *s, size_t len, vd_buf *out)
{
	size_t i = 0;
	int r = 0;

	while (i < len && !r) {
		char c = s[i];

		if (c != '\\' || i + 1 >= len) {
			r = vd_buf_putc(out, c);
			i++;
			continue;
		}
		c = s[i + 1];
		switch (c) {
		case 'a': r = vd_buf_putc(out, '\a'); i += 2; break;
		case 'b': r = vd_buf_putc(out, '\b'); i += 2; break;
		case 'f': r = vd_buf_putc(out, '\f'); i += 2; break;
		case 'n': r = vd_buf_putc(out, '\n'); i += 2; break;
		case 'r': r = vd_buf_putc(out, '\r'); i += 2; break;
		case 't': r = vd_buf_putc(out, '\t'); i += 2; break;
		case 'v': r = vd_buf_putc(out, '\v'); i += 2; break;
		case '"': r = vd_buf_putc(out, '"'); i += 2; break;
		case '\\': r = vd_buf_putc(out, '\\'); i += 2; break;
		case '$': r = vd_buf_puts(out, "$$"); i += 2; break;
		case '0': {
			size_t n = 0, k;
			unsigned v = 0;
			bool octal = true;

			while (n < 3 && i + 2 + n < len && s[i + 2 + n] >= '0' && s[i + 2 + n] <= '9')
				n++;
			for (k = 0; k < n; k++) {
				char d = s[i + 2 + k];

				if (d > '7')
					octal = false;
				v = v * 8 + (unsigned)(d - '0');
			}
			if (n == 3 && octal && v <= 255) {
				/* Go turns the code point into UTF-8 */
				if (v < 0x80) {
					r = vd_buf_putc(out, (char)v);
				} else {
					char u[2] = { (char)(0xc0 | (v >> 6)), (char)(0x80 | (v & 0x3f)) };

					r = vd_buf_put(out, u, 2);
				}
			} else {
				/* compose rewrote "\0" to "\" before Go refused it,
				 * and returns the rewritten text */
				r = vd_buf_putc(out, '\\');
				if (!r)
					r = vd_buf_put(out, s + i + 2, n);
			}
			i += 2 + n;
			break;
		}
		default:
			r = vd_buf_putc(out, '\\');
			i++;
			break;
		}
	}
	return r;
}

static bool valid_key_char(unsigned char c)
{
	/* letters, digits and _ . - [ ] (compose takes any Unicode letter; we
	 * let every non-ASCII byte through) */
	return is_name_char(c) || c == '.' || c == '-' || c == '[' || c == ']' || c >= 0x80;
}

static void char_repr(char *b, size_t n, unsigned char c)
{
	if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
		snprintf(b, n, "\"%c\"", c);
	else
		snprintf(b, n, "\"\\x%02x\"", c);
}

/* One statement at de->p (not blank, not a comment). */
static int dotenv_statement(struct dotenv *de)
{
	const char *p = de->p, *end = de->end, *k0, *kend, *t;
	size_t line = de->line, bl;
	bool inherited = false;
	vd_buf val = VD_BUF_INIT, raw = VD_BUF_INIT;
	char *key = NULL;
	char cr[16];
	int r = 0;

	val.max = raw.max = DOTENV_MAX;
	/* `export ` prefix (compose: ^export\s+, but we leave a newline to
	 * end the line) */
	if ((size_t)(end - p) > 6 && !memcmp(p, "export", 6) &&
	    (p[6] == ' ' || p[6] == '\t' || p[6] == '\f' || p[6] == '\r')) {
		p += 6;
		while (p < end && (bl = blank_len(p, end)))
			p += bl;
		if (p >= end || *p == '\n') {
			/* a lone "export": compose reads on at the next line */
			de->p = p;
			goto done;
		}
	}
	/* the key runs to '=', ':' (compose's YAML-ish form) or the line end */
	k0 = p;
	for (;;) {
		if (p >= end || *p == '\n') {
			inherited = true;
			break;
		}
		if (*p == '=' || *p == ':')
			break;
		if ((bl = blank_len(p, end))) {
			p += bl;
			continue;
		}
		if (!valid_key_char((unsigned char)*p)) {
			char_repr(cr, sizeof(cr), (unsigned char)*p);
			r = dotenv_fail(de, line, "unexpected character %s in variable name", cr);
			goto done;
		}
		p++;
	}
	kend = p;
	while (kend > k0) {
		if (blank_len(kend - 1, end) == 1) {
			kend--;
		} else if (kend - k0 >= 2 && blank_len(kend - 2, end) == 2) {
			kend -= 2;
		} else {
			break;
		}
	}
	for (t = k0; t < kend; t++) {
		if (blank_len(t, end)) {
			r = dotenv_fail(de, line, "key cannot contain a space");
			goto done;
		}
	}
	if (kend == k0) {
		r = dotenv_fail(de, line, "missing variable name");
		goto done;
	}
	if (*k0 >= '0' && *k0 <= '9') {
		r = dotenv_fail(de, line, "variable name cannot start with a digit");
		goto done;
	}
	key = strndup(k0, (size_t)(kend - k0));
	if (!key) {
		r = vd_error_set(de->err, VD_ENOMEM, "out of memory");
		goto done;
	}

	if (inherited) {
		/* a bare KEY takes its value from the lookup, or is skipped */
		const char *v = de->lookup ? de->lookup(key, de->ctx) : NULL;

		if (v && set_var(&de->vars, key, v)) {
			r = vd_error_set(de->err, VD_ENOMEM, "out of memory");
			goto done;
		}
		de->p = p;
		goto done;
	}

	p++;    /* the '=' or ':' */
	while (p < end && (bl = blank_len(p, end)))
		p += bl;

	if (p < end && (*p == '"' || *p == '\'')) {
		char quote = *p;
		const char *s;
		bool esc = false, closed = false;

		/* to the closing quote; a backslash escapes the quote (and is
		 * dropped there) or anything else (and is kept for later) */
		for (s = p + 1; s < end; s++) {
			if (*s == '\n')
				de->line++;
			if (esc) {
				esc = false;
				if (*s != quote)
					r = vd_buf_putc(&raw, '\\');
				if (!r)
					r = vd_buf_putc(&raw, *s);
			} else if (*s == '\\') {
				esc = true;
			} else if (*s == quote) {
				closed = true;
				break;
			} else {
				r = vd_buf_putc(&raw, *s);
			}
			if (r)
				break;
		}
		if (r) {
			r = dotenv_fail(de, line, "value too big");
			goto done;
		}
		if (!closed) {
			r = dotenv_fail(de, line, "unterminated quoted value");
			goto done;
		}
		p = s + 1;
		if (quote == '\'') {
			r = vd_buf_put(&val, raw.ptr ? raw.ptr : "", raw.len);
		} else {
			vd_buf esc_buf = VD_BUF_INIT;

			esc_buf.max = DOTENV_MAX;
			r = expand_escapes(vd_buf_cstr(&raw), raw.len, &esc_buf);
			if (r)
				r = dotenv_fail(de, line, "value too big");
			else
				r = dotenv_expand(de, line, vd_buf_cstr(&esc_buf), &val);
			vd_buf_release(&esc_buf);
			if (r)
				goto done;
		}
	} else {
		/* unquoted: to the line end, cut at " #", trimmed */
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *vend, *hash;

		if (!eol)
			eol = end;
		vend = eol;
		for (hash = p; hash + 1 < eol; hash++) {
			if (hash[0] == ' ' && hash[1] == '#') {
				vend = hash;
				break;
			}
		}
		while (vend > p && (vend[-1] == ' ' || vend[-1] == '\t' || vend[-1] == '\r' ||
				    vend[-1] == '\v' || vend[-1] == '\f'))
			vend--;
		r = vd_buf_put(&raw, p, (size_t)(vend - p));
		if (r) {
			r = dotenv_fail(de, line, "value too big");
			goto done;
		}
		r = dotenv_expand(de, line, vd_buf_cstr(&raw), &val);
		if (r)
			goto done;
		p = eol;
	}
	if (set_var(&de->vars, key, vd_buf_cstr(&val))) {
		r = vd_error_set(de->err, VD_ENOMEM, "out of memory");
		goto done;
	}
	de->p = p;
done:
	free(key);
	vd_buf_release(&raw);
	vd_buf_release(&val);
	return r;
}

int vd_dotenv_parse(const char *text, size_t len, const char *filename, vd_env_lookup lookup,
		    void *ctx, vd_kvs *out, vd_error *err)
{
	struct dotenv de = { text, text + len, filename, 1, lookup, ctx, { NULL, 0 }, err };
	const char *nul;
	size_t i, bl;
	int r = 0;

	if (len >= 3 && !memcmp(text, "\xef\xbb\xbf", 3))
		de.p += 3;
	nul = memchr(de.p, '\0', (size_t)(de.end - de.p));
	if (nul) {
		size_t line = 1;
		const char *c;

		for (c = text; c < nul; c++)
			line += *c == '\n';
		r = dotenv_fail(&de, line, "NUL byte in file");
		goto done;
	}
	for (;;) {
		/* skip blank lines and whole-line comments */
		while (de.p < de.end) {
			if (*de.p == '\n') {
				de.line++;
				de.p++;
			} else if ((bl = blank_len(de.p, de.end))) {
				de.p += bl;
			} else if (*de.p == '#') {
				const char *eol = memchr(de.p, '\n', (size_t)(de.end - de.p));

				de.p = eol ? eol : de.end;
			} else {
				break;
			}
		}
		if (de.p >= de.end)
			break;
		r = dotenv_statement(&de);
		if (r)
			goto done;
	}
	/* merge: a key already in out is replaced, a new one appended */
	for (i = 0; i < de.vars.len; i++) {
		if (set_var(out, de.vars.items[i].key, de.vars.items[i].value)) {
			r = vd_error_set(err, VD_ENOMEM, "out of memory");
			goto done;
		}
	}
done:
	vd_kvs_release(&de.vars);
	return r;
}

int vd_dotenv_load(const char *path, bool required, vd_env_lookup lookup, void *ctx,
		   vd_kvs *out, vd_error *err)
{
	vd_buf text = VD_BUF_INIT;
	char chunk[65536];
	ssize_t n;
	int fd, r = 0;

	text.max = DOTENV_MAX;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT && !required)
			return 0;
		if (errno == ENOENT)
			return vd_error_set(err, VD_ENOTFOUND, "env file %s not found", path);
		return vd_error_set(err, VD_EIO, "open %s: %s", path, strerror(errno));
	}
	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = vd_error_set(err, VD_EIO, "read %s: %s", path, strerror(errno));
			goto done;
		}
		if (n == 0)
			break;
		r = vd_buf_put(&text, chunk, (size_t)n);
		if (r) {
			r = vd_error_set(err, r, "read %s: %s", path,
					 r == VD_ETOOBIG ? "file too big" : "out of memory");
			goto done;
		}
	}
	r = vd_dotenv_parse(vd_buf_cstr(&text), text.len, path, lookup, ctx, out, err);
done:
	close(fd);
	vd_buf_release(&text);
	return r;
}

int vd_dotenv_load_project(const char *project_dir, vd_kvs *out, vd_error *err)
{
	char *path = NULL;
	int rc;

	if (asprintf(&path, "%s/.env", project_dir) < 0)
		return vd_error_set(err, VD_ENOMEM, "out of memory");
	rc = vd_dotenv_load(path, false, vd_env_lookup_process_then, NULL, out, err);
	free(path);
	return rc;
}
