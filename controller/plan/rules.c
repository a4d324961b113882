/* voxdeploy — the rules matcher (see rules.h for the pattern language).
 *
 * The semantics are git's: dir.c decides how a .gitignore line applies
 * (trailing '/' = directories only; no '/' left = match the basename; else
 * anchored and matched with wildmatch's WM_PATHNAME) and a file under an
 * excluded directory is excluded too (prep_exclude walks the leading
 * directories).  The expectations in tests/unit/test_rules.c were checked
 * with `git check-ignore --no-index`.
 *
 * Why not a port of wildmatch: it recurses at every star and retries, so its
 * stack depth and work grow with the stars in the pattern.  Instead a
 * pattern is compiled once into path segments and matched segment by segment
 * with the classic "remember the last star" loop, twice: over the path's
 * segments ("**" is the star) and inside each segment (`*` is the star).  With
 * only any-length wildcards, retrying from the most recent star is enough, so
 * both loops are O(text × pattern) without recursion or allocation.  Literal
 * names ("Dockerfile"), "*.ext" and "name*" segments skip the loop entirely.
 *
 * A pattern matching "a directory or a file" becomes, for a list of files:
 * basename patterns are tried on every segment of the path (not the last one
 * when the pattern ends in '/'); anchored patterns get an implied "/" + "**"
 * tail (at least one more segment when the pattern ends in '/').
 *
 * Where the default rules decide differently from upstream VoxPersona's
 * workflow, which ran `git diff --name-only A B | grep -E REGEX` with
 *   full:  (docker-compose\.yml|Dockerfile|requirements\.txt|\.sql$|sql_scripts/)
 *   app:   (\.py$|src/|prompts/|prompts-by-scenario/)
 *   docs:  (\.md$|\.txt$|\.rst$|README|CHANGELOG|\.gitignore$|DEPLOYMENT_GUIDE)
 *   (FULL if any line matches full, else APP if any matches app, else
 *   NO_RESTART if every line matches docs, else APP) — which is exactly "the
 *   highest tier per file wins" with substring regexes instead of globs:
 *
 * - Names are whole names, not substrings.  "Dockerfile" no longer matches
 *   Dockerfile.dev, app.Dockerfile or docs/Dockerfile-notes.md (FULL before;
 *   now the default APP_ONLY, or NO_RESTART for the .md); "docker-compose.yml"
 *   no longer matches docker-compose.yml.bak (FULL → APP_ONLY);
 *   "requirements.txt" no longer matches dev-requirements.txt (FULL →
 *   NO_RESTART through *.txt) or old_requirements.txt.bak (FULL → APP_ONLY).
 *   (Image-aware mode judges such files by what the build really uses.)
 * - Directories are whole directory names at any depth: "sql_scripts/" no
 *   longer matches old_sql_scripts/x.py (FULL → APP_ONLY), "src/" no longer
 *   matches mysrc/notes.md (APP → NO_RESTART), "prompts/" no longer matches
 *   old_prompts/a.txt (APP → NO_RESTART).
 * - "README*", "CHANGELOG*", "DEPLOYMENT_GUIDE*" match names that START with
 *   the word: scripts/update_README.sh and tools/bump-CHANGELOG.sh were docs
 *   (NO_RESTART) and are now the default APP_ONLY.  src/README_parser.py
 *   matches README* as it matched the regex, and in both is APP_ONLY
 *   because *.py / src/ rank higher.
 * - ".gitignore" is a name: foo.gitignore was docs, now APP_ONLY.
 * - New no_restart patterns the workflow never had: .env.template,
 *   .env.example and docs/ (docs/run.sh: APP_ONLY before, NO_RESTART now).
 * - A pattern that matches a directory matches everything below it (gitignore
 *   semantics): *.md matches notes.md/run.sh, *.sql matches dump.sql/x.py
 *   (the regexes anchored on "$" only looked at the end of the line).
 * - Paths are bytes: `git diff --name-only` prints a name with a tab, newline,
 *   '"' or '\' in C quotes, and one with non-ASCII bytes too by default
 *   (core.quotePath): "docs/caf\303\251.md", quotes included.  Upstream's
 *   "\.md$" never matched such a line, so the file counted as unknown
 *   (APP_ONLY).  Here docs/café.md is NO_RESTART like any other .md.
 * - Matching is case-sensitive like the regexes: readme.txt is NO_RESTART
 *   through *.txt, not through README*.
 */
#include "controller/plan/rules.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* --- tiers --- */

static const char *const tier_names[VD_TIER_COUNT] = {
	"NO_RESTART", "APP_ONLY", "FULL_RESTART",
};
static const char *const tier_cli_names[VD_TIER_COUNT] = {
	"no-restart", "app-only", "full",
};
static const char *const tier_config_names[VD_TIER_COUNT] = {
	"no_restart", "app_only", "full_restart",
};

static bool tier_valid(vd_tier tier)
{
	return (int)tier >= 0 && (int)tier < VD_TIER_COUNT;
}

const char *vd_tier_name(vd_tier tier)
{
	return tier_valid(tier) ? tier_names[tier] : "?";
}

const char *vd_tier_cli_name(vd_tier tier)
{
	return tier_valid(tier) ? tier_cli_names[tier] : "?";
}

const char *vd_tier_config_name(vd_tier tier)
{
	return tier_valid(tier) ? tier_config_names[tier] : "?";
}

int vd_tier_parse(const char *s, vd_tier *out, vd_error *err)
{
	int t;

	for (t = 0; s && t < VD_TIER_COUNT; t++) {
		if (!strcmp(s, tier_config_names[t]) || !strcmp(s, tier_cli_names[t]) ||
		    !strcmp(s, tier_names[t])) {
			*out = (vd_tier)t;
			return 0;
		}
	}
	return vd_error_set(err, VD_EINVAL,
			    "unknown tier '%s' (expected no_restart, app_only or full_restart)",
			    s ? s : "");
}

int vd_tier_parse_type(const char *s, bool *is_auto, vd_tier *out, vd_error *err)
{
	int t;

	if (s && !strcmp(s, "auto")) {
		*is_auto = true;
		return 0;
	}
	for (t = 0; s && t < VD_TIER_COUNT; t++) {
		if (!strcmp(s, tier_cli_names[t])) {
			*is_auto = false;
			*out = (vd_tier)t;
			return 0;
		}
	}
	return vd_error_set(err, VD_EINVAL,
			    "invalid deployment type '%s': expected one of auto, full, app-only, no-restart",
			    s ? s : "");
}

/* --- compiled patterns --- */

enum tok_kind {
	TOK_LIT,    /* len bytes at lit + off */
	TOK_ANY,    /* ? */
	TOK_STAR,   /* * (never two in a row) */
	TOK_CLASS,  /* [...]: classes[off] */
};

struct tok {
	enum tok_kind kind;
	size_t off;
	size_t len;
};

enum seg_kind {
	SEG_LITERAL,   /* the whole segment is lit */
	SEG_PREFIX,    /* lit + "*" */
	SEG_SUFFIX,    /* "*" + lit */
	SEG_GLOB,      /* toks */
	SEG_ANY,       /* exactly one segment, whatever it is ("*") */
	SEG_GLOBSTAR,  /* zero or more segments ("**"); anchored patterns only */
};

struct seg {
	enum seg_kind kind;
	const unsigned char *lit;
	size_t lit_len;
	const struct tok *toks;
	size_t ntok;
};

/* A byte set; '/' is never in it (WM_PATHNAME). */
struct cls {
	unsigned char bits[32];
};

struct vd_rules_glob {
	char *text;         /* as given */
	bool anchored;      /* has a '/' other than a trailing one */
	bool dir_only;      /* ended in '/' */
	struct seg *segs;   /* anchored: the segment program; else exactly one */
	size_t nseg;
	struct tok *toks;
	struct cls *classes;
	unsigned char *lit;
};

static void cls_set(struct cls *c, unsigned char ch)
{
	c->bits[ch >> 3] |= (unsigned char)(1u << (ch & 7));
}

static bool cls_has(const struct cls *c, unsigned char ch)
{
	return c->bits[ch >> 3] & (1u << (ch & 7));
}

/* wildmatch's [:name:] classes over git's ASCII-only ctype. */
static bool posix_class(const unsigned char *name, size_t len, struct cls *c)
{
	static const char *const names[] = {
		"alnum", "alpha", "blank", "cntrl", "digit", "graph",
		"lower", "print", "punct", "space", "upper", "xdigit",
	};
	size_t k;
	int i, which = -1;

	for (k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
		if (strlen(names[k]) == len && !memcmp(names[k], name, len)) {
			which = (int)k;
			break;
		}
	}
	if (which < 0)
		return false;
	for (i = 0; i < 128; i++) {
		bool digit = i >= '0' && i <= '9';
		bool upper = i >= 'A' && i <= 'Z';
		bool lower = i >= 'a' && i <= 'z';
		bool print = i >= 0x20 && i <= 0x7e;
		bool space = i == ' ' || i == '\t' || i == '\n' || i == '\r';
		bool in = false;

		switch (which) {
		case 0: in = digit || upper || lower; break;
		case 1: in = upper || lower; break;
		case 2: in = i == ' ' || i == '\t'; break;
		case 3: in = i < 0x20 || i == 0x7f; break;
		case 4: in = digit; break;
		case 5: in = print && i != ' '; break;
		case 6: in = lower; break;
		case 7: in = print; break;
		case 8: in = print && i != ' ' && !digit && !upper && !lower; break;
		case 9: in = space; break;
		case 10: in = upper; break;
		case 11: in = digit || (i >= 'a' && i <= 'f') || (i >= 'A' && i <= 'F'); break;
		}
		if (in)
			cls_set(c, (unsigned char)i);
	}
	return true;
}

/* Parse the set starting at p[i] == '[' (wildmatch's rules: a ']' right
 * after "[" or "[!" is literal, "a-z" ranges, '\' escapes, [:class:]).
 * *next is the index after the closing ']'; *slash tells whether the set
 * spells a '/' (which makes the pattern anchored, as git's strchr sees it). */
static int parse_class(const char *pattern, const unsigned char *p, size_t i, size_t e,
		       struct cls *c, size_t *next, bool *slash, vd_error *err)
{
	size_t j = i + 1, k;
	bool negated = false, first = true;
	int prev = -1;

	memset(c, 0, sizeof(*c));
	if (j < e && (p[j] == '!' || p[j] == '^')) {
		negated = true;
		j++;
	}
	for (;;) {
		unsigned char ch;

		if (j >= e)
			goto unterminated;
		ch = p[j];
		if (ch == ']' && !first)
			break;
		first = false;
		if (ch == '/')
			*slash = true;
		if (ch == '\\') {
			if (++j >= e)
				goto unterminated;
			ch = p[j];
			if (ch == '/')
				*slash = true;
			cls_set(c, ch);
			prev = ch;
			j++;
		} else if (ch == '-' && prev >= 0 && j + 1 < e && p[j + 1] != ']') {
			unsigned hi;
			unsigned lo = (unsigned)prev, x;

			j++;
			if (p[j] == '\\' && ++j >= e)
				goto unterminated;
			hi = p[j];
			if (hi == '/')
				*slash = true;
			for (x = lo; x <= hi; x++)
				cls_set(c, (unsigned char)x);
			prev = -1;
			j++;
		} else if (ch == '[' && j + 1 < e && p[j + 1] == ':') {
			size_t s = j + 2;

			for (k = s; k < e && p[k] != ']'; k++)
				;
			if (k >= e)
				goto unterminated;
			if (k > s && p[k - 1] == ':') {
				if (!posix_class(p + s, k - 1 - s, c))
					return vd_error_set(err, VD_EINVAL,
							    "pattern '%s': unknown character class '[:%.*s:]'",
							    pattern, (int)(k - 1 - s), (const char *)p + s);
				prev = -1;
				j = k + 1;
			} else {
				/* no ":]" before the ']': a plain '[' */
				cls_set(c, '[');
				prev = '[';
				j++;
			}
		} else {
			cls_set(c, ch);
			prev = ch;
			j++;
		}
	}
	if (negated) {
		for (k = 0; k < sizeof(c->bits); k++)
			c->bits[k] = (unsigned char)~c->bits[k];
	}
	c->bits['/' >> 3] &= (unsigned char)~(1u << ('/' & 7));
	*next = j + 1;
	return 0;

unterminated:
	return vd_error_set(err, VD_EINVAL,
			    "pattern '%s': unterminated '[' (write '\\[' for a literal '[')", pattern);
}

/* The segment being tokenised. */
struct seg_acc {
	size_t tok_start;  /* its first token */
	size_t raw_len;    /* pattern bytes it spans */
	size_t stars;      /* unescaped '*' among them */
};

static int close_segment(const char *pattern, struct vd_rules_glob *g, struct seg_acc *a,
			 struct seg *out, size_t ntok, vd_error *err)
{
	const struct tok *t = g->toks + a->tok_start;
	size_t n = ntok - a->tok_start;

	memset(out, 0, sizeof(*out));
	if (!a->raw_len)
		return vd_error_set(err, VD_EINVAL, "pattern '%s': empty path segment ('//')",
				    pattern);
	if (a->stars >= 2 && a->stars == a->raw_len) {
		out->kind = SEG_GLOBSTAR;
	} else if (n == 1 && t[0].kind == TOK_STAR) {
		out->kind = SEG_ANY;
	} else if (n == 1 && t[0].kind == TOK_LIT) {
		out->kind = SEG_LITERAL;
		out->lit = g->lit + t[0].off;
		out->lit_len = t[0].len;
		if ((t[0].len == 1 && out->lit[0] == '.') ||
		    (t[0].len == 2 && out->lit[0] == '.' && out->lit[1] == '.'))
			return vd_error_set(err, VD_EINVAL,
					    "pattern '%s': '.' and '..' never appear in a path "
					    "(a leading '/' anchors to the repository root)", pattern);
	} else if (n == 2 && t[0].kind == TOK_LIT && t[1].kind == TOK_STAR) {
		out->kind = SEG_PREFIX;
		out->lit = g->lit + t[0].off;
		out->lit_len = t[0].len;
	} else if (n == 2 && t[0].kind == TOK_STAR && t[1].kind == TOK_LIT) {
		out->kind = SEG_SUFFIX;
		out->lit = g->lit + t[1].off;
		out->lit_len = t[1].len;
	} else {
		out->kind = SEG_GLOB;
		out->toks = t;
		out->ntok = n;
	}
	a->tok_start = ntok;
	a->raw_len = 0;
	a->stars = 0;
	return 0;
}

static bool all_slashes(const char *s)
{
	for (; *s; s++) {
		if (*s != '/')
			return false;
	}
	return true;
}

static int glob_compile(const char *pattern, struct vd_rules_glob *g, vd_error *err)
{
	const unsigned char *p = (const unsigned char *)pattern;
	size_t n = strlen(pattern), b = 0, e = n, i, k, bs;
	size_t ntok = 0, nlit = 0, ncls = 0, nps = 0, nclass_max = 0;
	struct seg *ps = NULL;   /* the pattern's own segments */
	struct seg_acc acc = { 0, 0, 0 };
	bool slash = false;
	int rc = 0;

	if (!n)
		return vd_error_set(err, VD_EINVAL, "empty pattern");
	if (all_slashes(pattern))
		return vd_error_set(err, VD_EINVAL, "pattern '%s' names no file (only '/')", pattern);
	if (p[0] == '!')
		return vd_error_set(err, VD_EINVAL,
				    "pattern '%s': negation ('!') is not supported; write '\\!' for a "
				    "name that starts with '!'", pattern);
	if (p[0] == '/') {
		b = 1;
		slash = true;
	}
	/* a trailing '/' means directories only, unless escaped */
	for (bs = 0; e - 1 - bs > 0 && p[e - 2 - bs] == '\\'; bs++)
		;
	if (p[e - 1] == '/' && e - 1 >= b && bs % 2 == 0) {
		e--;
		g->dir_only = true;
	}
	for (i = b; i < e; i++) {
		if (p[i] == '[')
			nclass_max++;
	}
	/* every pattern byte makes at most one token, literal byte or segment */
	g->toks = calloc(e - b + 1, sizeof(*g->toks));
	g->lit = malloc(e - b + 1);
	g->classes = calloc(nclass_max + 1, sizeof(*g->classes));
	ps = calloc(e - b + 1, sizeof(*ps));
	/* the program: each segment may gain an ANY, plus the tail */
	g->segs = calloc(2 * (e - b + 1) + 2, sizeof(*g->segs));
	if (!g->toks || !g->lit || !g->classes || !ps || !g->segs) {
		rc = vd_error_set(err, VD_ENOMEM, "out of memory");
		goto done;
	}

	for (i = b; i < e;) {
		unsigned char c = p[i];

		if (c == '/' || (c == '\\' && i + 1 < e && p[i + 1] == '/')) {
			slash = true;
			rc = close_segment(pattern, g, &acc, &ps[nps++], ntok, err);
			if (rc)
				goto done;
			i += c == '/' ? 1 : 2;
			continue;
		}
		if (c == '*') {
			acc.stars++;
			acc.raw_len++;
			if (ntok == acc.tok_start || g->toks[ntok - 1].kind != TOK_STAR)
				g->toks[ntok++] = (struct tok){ TOK_STAR, 0, 0 };
			i++;
			continue;
		}
		if (c == '?') {
			acc.raw_len++;
			g->toks[ntok++] = (struct tok){ TOK_ANY, 0, 0 };
			i++;
			continue;
		}
		if (c == '[') {
			size_t next = i;

			rc = parse_class(pattern, p, i, e, &g->classes[ncls], &next, &slash, err);
			if (rc)
				goto done;
			g->toks[ntok++] = (struct tok){ TOK_CLASS, ncls++, 0 };
			acc.raw_len += next - i;
			i = next;
			continue;
		}
		if (c == '\\') {
			if (i + 1 >= e) {
				rc = vd_error_set(err, VD_EINVAL,
						  "pattern '%s': ends with an unescaped '\\'", pattern);
				goto done;
			}
			acc.raw_len++;
			c = p[++i];
		}
		acc.raw_len++;
		if (ntok > acc.tok_start && g->toks[ntok - 1].kind == TOK_LIT)
			g->toks[ntok - 1].len++;
		else
			g->toks[ntok++] = (struct tok){ TOK_LIT, nlit, 1 };
		g->lit[nlit++] = c;
		i++;
	}
	rc = close_segment(pattern, g, &acc, &ps[nps++], ntok, err);
	if (rc)
		goto done;

	g->anchored = slash;
	if (!g->anchored) {
		/* no '/' at all: one segment, tried against every name; here "**"
		 * is just "*" */
		g->segs[0] = ps[0];
		if (g->segs[0].kind == SEG_GLOBSTAR)
			g->segs[0].kind = SEG_ANY;
		g->nseg = 1;
		goto done;
	}
	for (k = 0; k < nps; k++) {
		if (ps[k].kind != SEG_GLOBSTAR) {
			g->segs[g->nseg++] = ps[k];
			continue;
		}
		/* "x/" + "**" at the end needs something below x */
		if (k + 1 == nps)
			g->segs[g->nseg++] = (struct seg){ .kind = SEG_ANY };
		if (!g->nseg || g->segs[g->nseg - 1].kind != SEG_GLOBSTAR)
			g->segs[g->nseg++] = (struct seg){ .kind = SEG_GLOBSTAR };
	}
	/* the implied tail: a matching directory matches everything below it */
	if (g->dir_only)
		g->segs[g->nseg++] = (struct seg){ .kind = SEG_ANY };
	if (g->segs[g->nseg - 1].kind != SEG_GLOBSTAR)
		g->segs[g->nseg++] = (struct seg){ .kind = SEG_GLOBSTAR };

done:
	free(ps);
	return rc;
}

void vd_rules_glob_free(vd_rules_glob *g)
{
	if (!g)
		return;
	free(g->text);
	free(g->segs);
	free(g->toks);
	free(g->classes);
	free(g->lit);
	free(g);
}

int vd_rules_glob_new(const char *pattern, vd_rules_glob **out, vd_error *err)
{
	vd_rules_glob *g = NULL;
	int rc;

	if (!pattern)
		return vd_error_set(err, VD_EINVAL, "empty pattern");
	g = calloc(1, sizeof(*g));
	if (!g || !(g->text = strdup(pattern))) {
		rc = vd_error_set(err, VD_ENOMEM, "out of memory");
		goto done;
	}
	rc = glob_compile(pattern, g, err);
	if (rc)
		goto done;
	*out = g;
	g = NULL;
done:
	vd_rules_glob_free(g);
	return rc;
}

const char *vd_rules_glob_pattern(const vd_rules_glob *g)
{
	return g->text;
}

/* --- matching --- */

/* One segment's tokens against one name (no '/' in it). */
static bool toks_match(const vd_rules_glob *g, const struct seg *s, const unsigned char *t,
		       size_t n)
{
	size_t ti = 0, pos = 0, star_ti = SIZE_MAX, star_pos = 0;

	for (;;) {
		if (ti < s->ntok) {
			const struct tok *k = &s->toks[ti];

			switch (k->kind) {
			case TOK_STAR:
				if (ti + 1 == s->ntok)
					return true;
				star_ti = ti++;
				star_pos = pos;
				continue;
			case TOK_LIT:
				if (n - pos >= k->len && !memcmp(t + pos, g->lit + k->off, k->len)) {
					pos += k->len;
					ti++;
					continue;
				}
				break;
			case TOK_ANY:
				if (pos < n) {
					pos++;
					ti++;
					continue;
				}
				break;
			case TOK_CLASS:
				if (pos < n && cls_has(&g->classes[k->off], t[pos])) {
					pos++;
					ti++;
					continue;
				}
				break;
			}
		} else if (pos == n) {
			return true;
		}
		/* mismatch: let the last '*' take one more byte */
		if (star_ti == SIZE_MAX || star_pos >= n)
			return false;
		pos = ++star_pos;
		ti = star_ti + 1;
	}
}

static bool seg_match(const vd_rules_glob *g, const struct seg *s, const unsigned char *t,
		      size_t n)
{
	switch (s->kind) {
	case SEG_LITERAL:
		return n == s->lit_len && !memcmp(t, s->lit, n);
	case SEG_PREFIX:
		return n >= s->lit_len && !memcmp(t, s->lit, s->lit_len);
	case SEG_SUFFIX:
		return n >= s->lit_len && !memcmp(t + n - s->lit_len, s->lit, s->lit_len);
	case SEG_GLOB:
		return toks_match(g, s, t, n);
	case SEG_ANY:
		return true;
	case SEG_GLOBSTAR:
		break;
	}
	return false;
}

/* A pattern without '/': any name along the path (a directory's name
 * matching means everything below it matches). */
static bool basename_match(const vd_rules_glob *g, const unsigned char *path, size_t len)
{
	const struct seg *s = &g->segs[0];
	size_t pos = 0;

	for (;;) {
		const unsigned char *slash = memchr(path + pos, '/', len - pos);
		size_t end = slash ? (size_t)(slash - path) : len;

		if (!slash && g->dir_only)
			return false;
		if (seg_match(g, s, path + pos, end - pos))
			return true;
		if (!slash)
			return false;
		pos = end + 1;
	}
}

/* An anchored pattern: its segment program against the path's segments,
 * "**" being the star.  pos is the offset of the next segment; len + 1 means
 * none is left. */
static bool anchored_match(const vd_rules_glob *g, const unsigned char *path, size_t len)
{
	const size_t none = len + 1;
	size_t pi = 0, pos = 0, star_pi = SIZE_MAX, star_pos = 0;
	const unsigned char *slash;

	for (;;) {
		if (pi < g->nseg) {
			const struct seg *s = &g->segs[pi];

			if (s->kind == SEG_GLOBSTAR) {
				if (pi + 1 == g->nseg)
					return true;
				star_pi = pi++;
				star_pos = pos;
				continue;
			}
			if (pos < none) {
				size_t end;

				slash = memchr(path + pos, '/', len - pos);
				end = slash ? (size_t)(slash - path) : len;
				if (seg_match(g, s, path + pos, end - pos)) {
					pos = end + 1;
					pi++;
					continue;
				}
			}
		} else if (pos == none) {
			return true;
		}
		/* mismatch: let the last "**" take one more segment */
		if (star_pi == SIZE_MAX || star_pos >= none)
			return false;
		slash = memchr(path + star_pos, '/', len - star_pos);
		star_pos = slash ? (size_t)(slash - path) + 1 : none;
		pos = star_pos;
		pi = star_pi + 1;
	}
}

bool vd_rules_glob_match_len(const vd_rules_glob *g, const char *path, size_t len)
{
	const unsigned char *p = (const unsigned char *)path;

	if (!g || !path || !len)
		return false;
	return g->anchored ? anchored_match(g, p, len) : basename_match(g, p, len);
}

bool vd_rules_glob_match(const vd_rules_glob *g, const char *path)
{
	return path && vd_rules_glob_match_len(g, path, strlen(path));
}

/* --- rule sets --- */

struct tier_list {
	vd_rules_glob **globs;
	size_t len;
	size_t cap;
};

struct vd_rules {
	struct tier_list tiers[VD_TIER_COUNT];
	vd_tier fallback;
};

int vd_rules_new(vd_rules **out, vd_error *err)
{
	vd_rules *r = calloc(1, sizeof(*r));

	if (!r)
		return vd_error_set(err, VD_ENOMEM, "out of memory");
	r->fallback = VD_TIER_APP_ONLY;
	*out = r;
	return 0;
}

void vd_rules_clear(vd_rules *rules, vd_tier tier)
{
	struct tier_list *l;
	size_t i;

	if (!rules || !tier_valid(tier))
		return;
	l = &rules->tiers[tier];
	for (i = 0; i < l->len; i++)
		vd_rules_glob_free(l->globs[i]);
	free(l->globs);
	memset(l, 0, sizeof(*l));
}

void vd_rules_free(vd_rules *rules)
{
	int t;

	if (!rules)
		return;
	for (t = 0; t < VD_TIER_COUNT; t++)
		vd_rules_clear(rules, (vd_tier)t);
	free(rules);
}

int vd_rules_add(vd_rules *rules, vd_tier tier, const char *pattern, vd_error *err)
{
	vd_rules_glob *g = NULL;
	struct tier_list *l;
	int rc;

	if (!tier_valid(tier))
		return vd_error_set(err, VD_EINVAL, "unknown tier %d", (int)tier);
	l = &rules->tiers[tier];
	if (l->len == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 8;
		vd_rules_glob **v = realloc(l->globs, cap * sizeof(*v));

		if (!v)
			return vd_error_set(err, VD_ENOMEM, "out of memory");
		l->globs = v;
		l->cap = cap;
	}
	rc = vd_rules_glob_new(pattern, &g, err);
	if (rc)
		return rc;
	l->globs[l->len++] = g;
	return 0;
}

int vd_rules_default(vd_rules **out, vd_error *err)
{
	static const char *const full[] = {
		"docker-compose.yml", "Dockerfile", "requirements.txt", "*.sql", "sql_scripts/",
	};
	static const char *const app[] = {
		"*.py", "src/", "prompts/", "prompts-by-scenario/",
	};
	static const char *const docs[] = {
		"*.md", "*.txt", "*.rst", "README*", "CHANGELOG*", ".gitignore",
		"DEPLOYMENT_GUIDE*", ".env.template", ".env.example", "docs/",
	};
	vd_rules *r = NULL;
	size_t i;
	int rc;

	rc = vd_rules_new(&r, err);
	if (rc)
		return rc;
	for (i = 0; !rc && i < sizeof(full) / sizeof(full[0]); i++)
		rc = vd_rules_add(r, VD_TIER_FULL_RESTART, full[i], err);
	for (i = 0; !rc && i < sizeof(app) / sizeof(app[0]); i++)
		rc = vd_rules_add(r, VD_TIER_APP_ONLY, app[i], err);
	for (i = 0; !rc && i < sizeof(docs) / sizeof(docs[0]); i++)
		rc = vd_rules_add(r, VD_TIER_NO_RESTART, docs[i], err);
	if (rc)
		goto done;
	*out = r;
	r = NULL;
done:
	vd_rules_free(r);
	return rc;
}

void vd_rules_set_fallback(vd_rules *rules, vd_tier tier)
{
	if (tier_valid(tier))
		rules->fallback = tier;
}

vd_tier vd_rules_fallback(const vd_rules *rules)
{
	return rules->fallback;
}

size_t vd_rules_count(const vd_rules *rules, vd_tier tier)
{
	return rules && tier_valid(tier) ? rules->tiers[tier].len : 0;
}

const char *vd_rules_pattern(const vd_rules *rules, vd_tier tier, size_t i)
{
	if (!rules || !tier_valid(tier) || i >= rules->tiers[tier].len)
		return NULL;
	return rules->tiers[tier].globs[i]->text;
}

vd_tier vd_rules_classify_len(const vd_rules *rules, const char *path, size_t len,
			      const char **rule)
{
	int t;
	size_t i;

	for (t = VD_TIER_COUNT - 1; t >= 0; t--) {
		const struct tier_list *l = &rules->tiers[t];

		for (i = 0; i < l->len; i++) {
			if (vd_rules_glob_match_len(l->globs[i], path, len)) {
				if (rule)
					*rule = l->globs[i]->text;
				return (vd_tier)t;
			}
		}
	}
	if (rule)
		*rule = NULL;
	return rules->fallback;
}

vd_tier vd_rules_classify(const vd_rules *rules, const char *path, const char **rule)
{
	return vd_rules_classify_len(rules, path, path ? strlen(path) : 0, rule);
}
