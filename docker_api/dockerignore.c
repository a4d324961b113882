#include "docker_api/dockerignore.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "docker_api/path.h"

/* bufio.Scanner's limit: docker fails on a longer line, so do we */
#define MAX_LINE 65535
#define MAX_FILE ((size_t)16 << 20)

/* moby compiles a pattern into one of four matchers; which one matters,
 * because the suffix matcher is not the regexp it stands for ("**foo" also
 * matches "barfoo"). */
enum match_type {
	M_EXACT,    /* the path equals the pattern */
	M_PREFIX,   /* "dir/" + "**": the path starts with "dir/" */
	M_SUFFIX,   /* "**..." without other wildcards: the path ends with the rest */
	M_REGEXP,
};

enum tok_kind {
	T_LIT,        /* one rune */
	T_ANY,        /* ?   → [^/] */
	T_STAR,       /* *   → [^/]* */
	T_CLASS,      /* [...] or \d \s \w */
	T_DSTAR_DIRS, /* **  → any directories: "(.*" "/)?" */
	T_DSTAR_END,  /* ** at the end → .* */
	T_BEGIN,      /* ^ outside a class: moby leaves it a regexp anchor */
};

struct range {
	uint32_t lo, hi;
};

struct tok {
	enum tok_kind kind;
	uint32_t ch;
	bool negated;
	struct range *ranges;
	size_t n_ranges;
};

struct pattern {
	char *text;        /* cleaned, without the '!' */
	size_t ndirs;      /* components of text */
	bool exception;
	enum match_type type;
	struct tok *toks;
	size_t n_toks;
};

struct vd_dockerignore {
	struct pattern *pats;
	size_t n;
	bool exceptions;
};

/* Go's unicode.IsSpace, which strings.TrimSpace uses. */
static bool go_space(uint32_t c)
{
	switch (c) {
	case '\t': case '\n': case '\v': case '\f': case '\r': case ' ':
	case 0x85: case 0xA0: case 0x1680: case 0x2028: case 0x2029:
	case 0x202F: case 0x205F: case 0x3000:
		return true;
	default:
		return c >= 0x2000 && c <= 0x200A;
	}
}

static void trim_space(const char **s, size_t *len)
{
	size_t i = 0, start = SIZE_MAX, end = 0, n;

	while (i < *len) {
		uint32_t c = vd_path_rune(*s + i, *len - i, &n);

		if (!go_space(c)) {
			if (start == SIZE_MAX)
				start = i;
			end = i + n;
		}
		i += n;
	}
	if (start == SIZE_MAX) {
		*len = 0;
		return;
	}
	*s += start;
	*len = end - start;
}

/* --- syntax: Go's filepath.Match rules, which moby checks every pattern
 * against before use --- */

/* filepath's getEsc: one possibly escaped character of a class, which must
 * be followed by more pattern. */
static bool glob_class_char(const char *s, size_t n, size_t *i)
{
	size_t k = *i, cl;
	uint32_t c;

	if (k >= n || s[k] == '-' || s[k] == ']')
		return false;
	if (s[k] == '\\' && ++k >= n)
		return false;
	c = vd_path_rune(s + k, n - k, &cl);
	if (c == VD_PATH_RUNE_ERROR && cl == 1)
		return false;
	k += cl;
	if (k >= n)
		return false;
	*i = k;
	return true;
}

static bool glob_valid(const char *s)
{
	size_t n = strlen(s), i = 0, nrange;

	while (i < n) {
		switch (s[i]) {
		case '\\':
			if (i + 1 >= n)
				return false;
			i += 2;
			break;
		case '[':
			i++;
			if (i < n && s[i] == '^')
				i++;
			for (nrange = 0;; nrange++) {
				if (i < n && s[i] == ']' && nrange > 0) {
					i++;
					break;
				}
				if (!glob_class_char(s, n, &i))
					return false;
				if (s[i] == '-') {
					i++;
					if (!glob_class_char(s, n, &i))
						return false;
				}
			}
			break;
		default:
			i++;
			break;
		}
	}
	return true;
}

/* --- compiling: the token list of moby's regexp --- */

static int tok_push(struct pattern *pt, enum tok_kind kind, uint32_t ch)
{
	struct tok *t = realloc(pt->toks, (pt->n_toks + 1) * sizeof(*t));

	if (!t)
		return VD_ENOMEM;
	pt->toks = t;
	memset(&t[pt->n_toks], 0, sizeof(*t));
	t[pt->n_toks].kind = kind;
	t[pt->n_toks].ch = ch;
	pt->n_toks++;
	return 0;
}

static int range_add(struct tok *t, uint32_t lo, uint32_t hi)
{
	struct range *r = realloc(t->ranges, (t->n_ranges + 1) * sizeof(*r));

	if (!r)
		return VD_ENOMEM;
	t->ranges = r;
	r[t->n_ranges].lo = lo;
	r[t->n_ranges].hi = hi;
	t->n_ranges++;
	return 0;
}

/* Go regexp's \d \s \w (ASCII) as ranges; false for other letters. */
static int perl_class(struct tok *t, uint32_t c, bool *known)
{
	int r = 0;

	*known = true;
	switch (c) {
	case 'd': case 'D':
		r = range_add(t, '0', '9');
		break;
	case 's': case 'S':
		if (!(r = range_add(t, '\t', '\n')) && !(r = range_add(t, '\f', '\r')))
			r = range_add(t, ' ', ' ');
		break;
	case 'w': case 'W':
		if (!(r = range_add(t, '0', '9')) && !(r = range_add(t, 'A', 'Z')) &&
		    !(r = range_add(t, '_', '_')))
			r = range_add(t, 'a', 'z');
		break;
	default:
		*known = false;
		return 0;
	}
	t->negated = c == 'D' || c == 'S' || c == 'W';
	return r;
}

static bool is_alnum(uint32_t c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* The rune a Go regexp escape stands for: punctuation is itself, a few
 * letters are control characters; anything else is not supported here. */
static bool escape_rune(uint32_t c, uint32_t *out)
{
	if (c < 0x80 && !is_alnum(c)) {
		*out = c;
		return true;
	}
	switch (c) {
	case 'a': *out = '\a'; return true;
	case 'f': *out = '\f'; return true;
	case 'n': *out = '\n'; return true;
	case 'r': *out = '\r'; return true;
	case 't': *out = '\t'; return true;
	case 'v': *out = '\v'; return true;
	default: return false;
	}
}

static int bad_pattern(vd_error *err, int line, const char *pat, const char *why)
{
	if (line > 0)
		return vd_error_set(err, VD_EINVAL, ".dockerignore line %d: %s in pattern \"%s\"",
				    line, why, pat);
	return vd_error_set(err, VD_EINVAL, ".dockerignore: %s in pattern \"%s\"", why, pat);
}

/* One class member at s[*i] (already validated by glob_valid). */
static int class_rune(struct pattern *pt, size_t *i, uint32_t *out, int line, vd_error *err)
{
	const char *s = pt->text;
	size_t n = strlen(s), cl;
	uint32_t c;

	if (s[*i] == '\\') {
		(*i)++;
		c = vd_path_rune(s + *i, n - *i, &cl);
		*i += cl;
		if (!escape_rune(c, out))
			return bad_pattern(err, line, s, "unsupported escape in a character class");
		return 0;
	}
	if (s[*i] == '[' && s[*i + 1] == ':' && strstr(s + *i + 2, ":]"))
		/* a regexp would read a POSIX class "[:alpha:]" there */
		return bad_pattern(err, line, s, "unsupported \"[:\" in a character class");
	*out = vd_path_rune(s + *i, n - *i, &cl);
	*i += cl;
	return 0;
}

static int compile_class(struct pattern *pt, size_t *i, int line, vd_error *err)
{
	const char *s = pt->text;
	struct tok *t;
	size_t nrange;
	uint32_t lo, hi;
	int r;

	if ((r = tok_push(pt, T_CLASS, 0)))
		return r;
	t = &pt->toks[pt->n_toks - 1];
	if (s[*i] == '^') {
		t->negated = true;
		(*i)++;
	}
	for (nrange = 0;; nrange++) {
		if (s[*i] == ']' && nrange > 0) {
			(*i)++;
			return 0;
		}
		if ((r = class_rune(pt, i, &lo, line, err)))
			return r;
		hi = lo;
		if (s[*i] == '-') {
			(*i)++;
			if ((r = class_rune(pt, i, &hi, line, err)))
				return r;
		}
		if (lo > hi)
			/* filepath.Match accepts it, Go's regexp (and so docker) fails */
			return bad_pattern(err, line, s, "invalid character class range");
		if ((r = range_add(t, lo, hi)))
			return r;
	}
}

/* moby's Pattern.compile, token by token. */
static int compile(struct pattern *pt, int line, vd_error *err)
{
	const char *s = pt->text;
	size_t n = strlen(s), i = 0, cl, step;
	enum match_type type = M_EXACT;
	uint32_t c;
	int r = 0;

	for (step = 0; i < n && !r; step++) {
		c = vd_path_rune(s + i, n - i, &cl);
		i += cl;
		if (c == '*' && s[i] == '*') {
			i++;
			if (s[i] == '/')
				i++;
			if (i == n) {
				if (type == M_EXACT) {
					type = M_PREFIX;
				} else {
					r = tok_push(pt, T_DSTAR_END, 0);
					type = M_REGEXP;
				}
			} else {
				r = tok_push(pt, T_DSTAR_DIRS, 0);
				type = M_REGEXP;
			}
			if (step == 0)
				type = M_SUFFIX;
		} else if (c == '*') {
			r = tok_push(pt, T_STAR, 0);
			type = M_REGEXP;
		} else if (c == '?') {
			r = tok_push(pt, T_ANY, 0);
			type = M_REGEXP;
		} else if (c == '\\') {
			uint32_t e;
			bool known;

			/* glob_valid() made sure something follows */
			c = vd_path_rune(s + i, n - i, &cl);
			i += cl;
			type = M_REGEXP;
			if (escape_rune(c, &e)) {
				r = tok_push(pt, T_LIT, e);
			} else if (!(r = tok_push(pt, T_CLASS, 0))) {
				r = perl_class(&pt->toks[pt->n_toks - 1], c, &known);
				if (!r && !known)
					r = bad_pattern(err, line, s, "unsupported escape");
			}
		} else if (c == '[') {
			r = compile_class(pt, &i, line, err);
			type = M_REGEXP;
		} else if (c == ']') {
			r = tok_push(pt, T_LIT, c);
			type = M_REGEXP;
		} else if (c == '^') {
			/* not escaped by moby: a start anchor inside the regexp, a
			 * plain character for the other matchers */
			r = tok_push(pt, T_BEGIN, 0);
		} else {
			r = tok_push(pt, T_LIT, c);
		}
	}
	pt->type = type;
	return r;
}

/* --- matching --- */

/* Not shared with dockerfile_match.c: COPY is filepath.Match ("\d" a 'd', "[z-a]" valid), not this. */

static bool class_has(const struct tok *t, uint32_t c)
{
	size_t i;

	for (i = 0; i < t->n_ranges; i++)
		if (c >= t->ranges[i].lo && c <= t->ranges[i].hi)
			return !t->negated;
	return t->negated;
}

struct re_run {
	const struct pattern *pt;
	const uint32_t *s;   /* the path as runes */
	size_t n;
	uint8_t *memo;       /* (n_toks + 1) × (n + 1): 0 unknown, 1 no, 2 yes */
};

static bool re_at(struct re_run *x, size_t ti, size_t pi)
{
	const struct tok *t;
	uint8_t *m = x->memo ? &x->memo[ti * (x->n + 1) + pi] : NULL;
	bool ok = false;
	size_t k;

	if (m && *m)
		return *m == 2;
	if (ti == x->pt->n_toks) {
		ok = pi == x->n;
		goto done;
	}
	t = &x->pt->toks[ti];
	switch (t->kind) {
	case T_LIT:
		ok = pi < x->n && x->s[pi] == t->ch && re_at(x, ti + 1, pi + 1);
		break;
	case T_ANY:
		ok = pi < x->n && x->s[pi] != '/' && re_at(x, ti + 1, pi + 1);
		break;
	case T_CLASS:
		ok = pi < x->n && class_has(t, x->s[pi]) && re_at(x, ti + 1, pi + 1);
		break;
	case T_BEGIN:
		ok = pi == 0 && re_at(x, ti + 1, pi);
		break;
	case T_STAR:
		for (k = pi;; k++) {
			if ((ok = re_at(x, ti + 1, k)) || k == x->n || x->s[k] == '/')
				break;
		}
		break;
	case T_DSTAR_END:
		/* '.' of a Go regexp does not match a newline */
		for (k = pi;; k++) {
			if ((ok = re_at(x, ti + 1, k)) || k == x->n || x->s[k] == '\n')
				break;
		}
		break;
	case T_DSTAR_DIRS:
		if ((ok = re_at(x, ti + 1, pi)))
			break;
		for (k = pi; k < x->n && x->s[k] != '\n'; k++)
			if (x->s[k] == '/' && (ok = re_at(x, ti + 1, k + 1)))
				break;
		break;
	}
done:
	if (m)
		*m = ok ? 2 : 1;
	return ok;
}

/* The memo's memory, kept from one match to the next: a build context asks
 * every pattern about every path and its parents, and an allocation per
 * question (past a few KB) cost more than the matching.  Up to MEMO_KEEP
 * bytes are kept per thread; a larger memo is allocated and freed. */
#define MEMO_KEEP (4u << 20)
static _Thread_local struct {
	uint8_t *p;
	size_t cap;
} memo_kept;

static uint8_t *memo_get(size_t cells)
{
	uint8_t *m;

	if (cells > MEMO_KEEP)
		return calloc(cells, 1);
	if (cells > memo_kept.cap) {
		size_t cap = memo_kept.cap ? memo_kept.cap : 4096;

		while (cap < cells)
			cap *= 2;
		if (!(m = realloc(memo_kept.p, cap)))
			return NULL;
		memo_kept.p = m;
		memo_kept.cap = cap;
	}
	memset(memo_kept.p, 0, cells);
	return memo_kept.p;
}

static bool re_match(const struct pattern *pt, const char *path)
{
	size_t len = strlen(path), i = 0, cl;
	uint32_t stack_runes[256];
	uint32_t *runes = len < 256 ? stack_runes : malloc(len * sizeof(*runes));
	struct re_run x = { .pt = pt };
	bool ok;

	if (!runes)
		return false;
	while (i < len) {
		runes[x.n++] = vd_path_rune(path + i, len - i, &cl);
		i += cl;
	}
	x.s = runes;
	/* without a memo the answer is the same, only slower */
	x.memo = memo_get((pt->n_toks + 1) * (x.n + 1));
	ok = re_at(&x, 0, 0);
	if (x.memo && x.memo != memo_kept.p)
		free(x.memo);
	if (runes != stack_runes)
		free(runes);
	return ok;
}

static bool pattern_match(const struct pattern *pt, const char *path)
{
	size_t tl, pl, sl;
	const char *suffix;

	switch (pt->type) {
	case M_EXACT:
		return !strcmp(path, pt->text);
	case M_PREFIX:
		tl = strlen(pt->text);
		return !strncmp(path, pt->text, tl - 2);
	case M_SUFFIX:
		suffix = pt->text + 2;
		sl = strlen(suffix);
		pl = strlen(path);
		if (pl >= sl && !memcmp(path + pl - sl, suffix, sl))
			return true;
		/* "**" "/foo" matches "foo" */
		return suffix[0] == '/' && !strcmp(path, suffix + 1);
	case M_REGEXP:
		return re_match(pt, path);
	}
	return false;
}

/* Does pattern pt match any parent directory of p ("a", "a/b" for "a/b/c")?
 * p is modified temporarily. */
static bool parent_matches(const struct pattern *pt, char *p)
{
	char *sl;
	bool ok = false;

	for (sl = strchr(p, '/'); sl && !ok; sl = strchr(sl + 1, '/')) {
		*sl = '\0';
		ok = pattern_match(pt, p);
		*sl = '/';
	}
	return ok;
}

/* patternmatcher's MatchesUsingParentResults.  parent: what the parent
 * directory's call recorded, or NULL for none (then every parent directory
 * is tried, as MatchesOrParentMatches does).  info (may be NULL) receives
 * this path's record. */
static bool match_step(const vd_dockerignore *di, char *p, const bool *parent, bool *info)
{
	bool matched = false, match;
	size_t i;

	for (i = 0; i < di->n; i++) {
		const struct pattern *pt = &di->pats[i];

		match = parent ? parent[i] : false;
		if (!match) {
			/* an inclusion after a match, or an exception before one,
			 * cannot change the verdict */
			if (pt->exception != matched) {
				if (info)
					info[i] = false;
				continue;
			}
			match = pattern_match(pt, p);
			if (!match && !parent)
				match = parent_matches(pt, p);
		}
		if (info)
			info[i] = match;
		if (match)
			matched = !pt->exception;
	}
	return matched;
}

/* patternmatcher.Matches, the old one the docker CLI still uses to decide
 * whether the Dockerfile needs an exception: a parent directory is only
 * tried at the depth of the pattern. */
static bool legacy_matches(const vd_dockerignore *di, char *p)
{
	bool matched = false, match;
	size_t i, slashes = 0, k;
	char *c, *cut;

	for (c = p; *c; c++)
		slashes += *c == '/';
	for (i = 0; i < di->n; i++) {
		const struct pattern *pt = &di->pats[i];

		if (pt->exception != matched)
			continue;
		match = pattern_match(pt, p);
		if (!match && slashes && pt->ndirs <= slashes) {
			for (cut = p, k = 0; k < pt->ndirs; k++)
				cut = strchr(cut, '/') + 1;
			cut[-1] = '\0';
			match = pattern_match(pt, p);
			cut[-1] = '/';
		}
		if (match)
			matched = !pt->exception;
	}
	return matched;
}

/* --- building the list --- */

static void pattern_release(struct pattern *pt)
{
	size_t i;

	for (i = 0; i < pt->n_toks; i++)
		free(pt->toks[i].ranges);
	free(pt->toks);
	free(pt->text);
}

void vd_dockerignore_free(vd_dockerignore *di)
{
	size_t i;

	if (!di)
		return;
	for (i = 0; i < di->n; i++)
		pattern_release(&di->pats[i]);
	free(di->pats);
	free(di);
}

/* patternmatcher.New for one pattern: trim, clean, '!', syntax, compile. */
static int add_pattern(vd_dockerignore *di, const char *raw, int line, vd_error *err)
{
	struct pattern pt;
	struct pattern *np;
	const char *s = raw, *c;
	size_t len = strlen(raw);
	char *trimmed = NULL, *clean = NULL;
	int r = 0;

	memset(&pt, 0, sizeof(pt));
	trim_space(&s, &len);
	if (!len)
		return 0;
	if (!(trimmed = strndup(s, len)) || !(clean = vd_path_clean(trimmed))) {
		r = vd_error_set(err, VD_ENOMEM, "out of memory");
		goto done;
	}
	s = clean;
	if (s[0] == '!') {
		if (!s[1]) {
			r = line > 0 ? vd_error_set(err, VD_EINVAL, ".dockerignore line %d: "
						    "illegal exclusion pattern: \"!\"", line)
				     : vd_error_set(err, VD_EINVAL, "illegal exclusion pattern: \"!\"");
			goto done;
		}
		pt.exception = true;
		s++;
	}
	if (!glob_valid(s)) {
		r = bad_pattern(err, line, s, "syntax error");
		goto done;
	}
	if (!(pt.text = strdup(s))) {
		r = vd_error_set(err, VD_ENOMEM, "out of memory");
		goto done;
	}
	for (pt.ndirs = 1, c = pt.text; *c; c++)
		pt.ndirs += *c == '/';
	r = compile(&pt, line, err);
	if (r == VD_ENOMEM)
		vd_error_set(err, r, "out of memory");
	if (r)
		goto done;
	np = realloc(di->pats, (di->n + 1) * sizeof(*np));
	if (!np) {
		r = vd_error_set(err, VD_ENOMEM, "out of memory");
		goto done;
	}
	di->pats = np;
	di->pats[di->n++] = pt;
	if (pt.exception)
		di->exceptions = true;
	memset(&pt, 0, sizeof(pt));
done:
	pattern_release(&pt);
	free(trimmed);
	free(clean);
	return r;
}

/* ignorefile.ReadAll for one line (already without BOM, '\n' and '\r'). */
static int add_line(vd_dockerignore *di, const char *line, size_t len, int lineno, vd_error *err)
{
	vd_buf pat = VD_BUF_INIT;
	const char *nul;
	char *body = NULL, *clean = NULL;
	bool invert;
	int r = 0;

	/* a path never holds a NUL: a pattern ends there */
	if ((nul = memchr(line, '\0', len)))
		len = (size_t)(nul - line);
	if (len && line[0] == '#')
		return 0;
	trim_space(&line, &len);
	if (!len)
		return 0;
	invert = line[0] == '!';
	if (invert) {
		line++;
		len--;
		trim_space(&line, &len);
	}
	if (!(body = strndup(line, len)))
		goto nomem;
	if (len) {
		if (!(clean = vd_path_clean(body)))
			goto nomem;
		if (clean[0] == '/' && clean[1])
			memmove(clean, clean + 1, strlen(clean));
	}
	if ((invert && vd_buf_putc(&pat, '!')) || vd_buf_puts(&pat, clean ? clean : ""))
		goto nomem;
	r = add_pattern(di, vd_buf_cstr(&pat), lineno, err);
	goto done;
nomem:
	r = vd_error_set(err, VD_ENOMEM, "out of memory");
done:
	free(body);
	free(clean);
	vd_buf_release(&pat);
	return r;
}

int vd_dockerignore_parse(const char *text, size_t len, vd_dockerignore **out, vd_error *err)
{
	vd_dockerignore *di = calloc(1, sizeof(*di));
	size_t pos = 0;
	int lineno = 0, r = 0;

	if (!di)
		return vd_error_set(err, VD_ENOMEM, "out of memory");
	while (pos < len && !r) {
		const char *line = text + pos;
		const char *nl = memchr(line, '\n', len - pos);
		size_t ll = nl ? (size_t)(nl - line) : len - pos;

		pos += ll + (nl ? 1 : 0);
		lineno++;
		if (ll > MAX_LINE) {
			r = vd_error_set(err, VD_EINVAL, ".dockerignore line %d: longer than %d bytes",
					 lineno, MAX_LINE);
			break;
		}
		if (ll && line[ll - 1] == '\r')
			ll--;
		if (lineno == 1 && ll >= 3 && !memcmp(line, "\xEF\xBB\xBF", 3)) {
			line += 3;
			ll -= 3;
		}
		r = add_line(di, line, ll, lineno, err);
	}
	if (r) {
		vd_dockerignore_free(di);
		return r;
	}
	*out = di;
	return 0;
}

int vd_dockerignore_load(const char *context_dir, vd_dockerignore **out, vd_error *err)
{
	vd_buf path = VD_BUF_INIT, text = VD_BUF_INIT;
	char chunk[8192];
	ssize_t got;
	int fd = -1, r = 0;

	vd_buf_init(&text, MAX_FILE);
	if (vd_buf_printf(&path, "%s/.dockerignore", context_dir)) {
		r = vd_error_set(err, VD_ENOMEM, "out of memory");
		goto done;
	}
	fd = open(vd_buf_cstr(&path), O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		r = vd_dockerignore_parse("", 0, out, err);
		goto done;
	}
	if (fd < 0) {
		r = vd_error_set(err, VD_EIO, "open %s: %s", vd_buf_cstr(&path), strerror(errno));
		goto done;
	}
	for (;;) {
		got = read(fd, chunk, sizeof(chunk));
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			r = vd_error_set(err, VD_EIO, "read %s: %s", vd_buf_cstr(&path),
					 strerror(errno));
			goto done;
		}
		if (got == 0)
			break;
		if ((r = vd_buf_put(&text, chunk, (size_t)got))) {
			r = vd_error_set(err, r, "%s: larger than %zu bytes", vd_buf_cstr(&path),
					 text.max);
			goto done;
		}
	}
	r = vd_dockerignore_parse(text.ptr ? text.ptr : "", text.len, out, err);
done:
	if (fd >= 0)
		close(fd);
	vd_buf_release(&path);
	vd_buf_release(&text);
	return r;
}

int vd_dockerignore_keep(vd_dockerignore *di, const char *relpath, vd_error *err)
{
	char *p = vd_path_clean(relpath);
	vd_buf pat = VD_BUF_INIT;
	int r = 0;

	if (!p)
		return vd_error_set(err, VD_ENOMEM, "out of memory");
	if (strcmp(p, ".") && legacy_matches(di, p)) {
		if (vd_buf_printf(&pat, "!%s", p))
			r = vd_error_set(err, VD_ENOMEM, "out of memory");
		else
			r = add_pattern(di, vd_buf_cstr(&pat), 0, err);
	}
	vd_buf_release(&pat);
	free(p);
	return r;
}

bool vd_dockerignore_reopens(const vd_dockerignore *di, const char *reldir)
{
	size_t i, len = strlen(reldir);

	if (!di || !di->exceptions)
		return false;
	for (i = 0; i < di->n; i++) {
		const char *t = di->pats[i].text;

		/* moby: strings.HasPrefix(pattern + "/", dir + "/") */
		if (di->pats[i].exception && !strncmp(t, reldir, len) && (t[len] == '/' || !t[len]))
			return true;
	}
	return false;
}

bool vd_dockerignore_matches(const vd_dockerignore *di, const char *relpath)
{
	char *p;
	bool ok = false;

	if (!di || !di->n || !(p = vd_path_clean(relpath)))
		return false;
	if (strcmp(p, "."))
		ok = match_step(di, p, NULL, NULL);
	free(p);
	return ok;
}

bool vd_dockerignore_excluded(const vd_dockerignore *di, const char *relpath)
{
	bool *parent = NULL, *cur = NULL, *swap, ok = false, top = true;
	char *p, *sl;

	if (!di || !di->n || !(p = vd_path_clean(relpath)))
		return false;
	if (!strcmp(p, "."))
		goto done;
	parent = calloc(di->n, sizeof(*parent));
	cur = calloc(di->n, sizeof(*cur));
	if (!parent || !cur) {
		/* same verdict for the path itself; only the walk's shortcut is lost */
		ok = match_step(di, p, NULL, NULL);
		goto done;
	}
	/* what the walk computes on its way down: each directory's record feeds
	 * its children; an excluded directory no exception re-opens is never
	 * entered */
	for (sl = strchr(p, '/'); sl; sl = strchr(sl + 1, '/')) {
		bool dir_excluded;

		*sl = '\0';
		dir_excluded = match_step(di, p, top ? NULL : parent, cur);
		if (dir_excluded && !vd_dockerignore_reopens(di, p)) {
			*sl = '/';
			ok = true;
			goto done;
		}
		*sl = '/';
		top = false;
		swap = parent;
		parent = cur;
		cur = swap;
	}
	ok = match_step(di, p, top ? NULL : parent, NULL);
done:
	free(parent);
	free(cur);
	free(p);
	return ok;
}

size_t vd_dockerignore_count(const vd_dockerignore *di)
{
	return di ? di->n : 0;
}

const char *vd_dockerignore_pattern(const vd_dockerignore *di, size_t i, bool *exception)
{
	if (!di || i >= di->n)
		return NULL;
	if (exception)
		*exception = di->pats[i].exception;
	return di->pats[i].text;
}
