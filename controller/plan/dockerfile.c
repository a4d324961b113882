/* Reading a Dockerfile: lines, parser directives, continuations and
 * heredoc bodies here, each instruction in dockerfile_instr.c (the map of
 * the module's files is in dockerfile_private.h). */
#include "controller/plan/dockerfile.h"
#include "controller/plan/dockerfile_private.h"

#include <stdlib.h>
#include <string.h>

#include "common/buf.h"

/* bufio.Scanner's limit: docker fails on a longer line, so do we */
#define MAX_LINE 65535
#define MAX_FILE ((size_t)16 << 20)

/* --- the parse result --- */

static void source_release(vd_dockerfile_source *s)
{
	free(s->raw);
	free(s->path);
}

static void copy_release(vd_dockerfile_copy *c)
{
	size_t i;

	for (i = 0; i < c->n_sources; i++)
		source_release(&c->sources[i]);
	free(c->sources);
	free(c->dest);
	free(c->from);
	free(c->chown);
	free(c->chmod);
	for (i = 0; i < c->n_excludes; i++)
		free(c->excludes[i]);
	free(c->excludes);
	for (i = 0; i < c->n_flags; i++) {
		free(c->flags[i].name);
		free(c->flags[i].value);
	}
	free(c->flags);
}

void vd_dockerfile_free(vd_dockerfile *df)
{
	size_t i, j;

	if (!df)
		return;
	for (i = 0; i < df->n_stages; i++) {
		vd_dockerfile_stage *st = &df->stages[i];

		for (j = 0; j < st->n_copies; j++)
			copy_release(&st->copies[j]);
		free(st->copies);
		free(st->name);
		free(st->base);
		free(st->platform);
	}
	free(df->stages);
	for (i = 0; i < df->n_args; i++) {
		free(df->args[i].name);
		free(df->args[i].value);
	}
	free(df->args);
	free(df);
}

int vd_dockerfile_stage_find(const vd_dockerfile *df, const char *name)
{
	size_t i;

	if (!df || !name)
		return -1;
	for (i = df->n_stages; i-- > 0;)
		if (df->stages[i].name && df_eq_nocase(df->stages[i].name, name))
			return (int)i;
	return -1;
}

/* --- the parser --- */

int df_oom(struct df_parser *p)
{
	return vd_error_set(p->err, VD_ENOMEM, "out of memory");
}

/* The next physical line, without its "\n" and trailing "\r"s. */
static bool next_line(struct df_parser *p, const char **line, size_t *n)
{
	const char *s, *nl;

	if (p->pos >= p->len)
		return false;
	s = p->text + p->pos;
	nl = memchr(s, '\n', p->len - p->pos);
	*n = nl ? (size_t)(nl - s) : p->len - p->pos;
	p->pos += *n + (nl ? 1 : 0);
	p->lineno++;
	while (*n > 0 && s[*n - 1] == '\r')
		(*n)--;
	*line = s;
	return true;
}

/* docker reads lines with a bufio.Scanner and gives up on a long one; a NUL
 * byte is no Dockerfile we can read either */
static int check_text(struct df_parser *p)
{
	size_t pos = 0;
	unsigned line = 0;

	if (p->len > MAX_FILE)
		return vd_error_set(p->err, VD_ETOOBIG, "larger than %zu bytes", MAX_FILE);
	while (pos < p->len) {
		const char *s = p->text + pos, *nl = memchr(s, '\n', p->len - pos);
		size_t n = nl ? (size_t)(nl - s) : p->len - pos;

		line++;
		if (n > MAX_LINE)
			return vd_error_set(p->err, VD_EINVAL, "line %u: longer than %d bytes", line,
					    MAX_LINE);
		if (memchr(s, '\0', n))
			return vd_error_set(p->err, VD_EINVAL, "line %u: NUL byte", line);
		pos += n + 1;
	}
	return 0;
}

/* A parser directive: ^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$ with a
 * known key; anything else ends the directives for good. */
static int directive(struct df_parser *p, const char *s, size_t n)
{
	size_t i = 1, k, klen, v, vend;
	char key[8];
	bool *seen;

	if (p->directives_done)
		return 0;
	p->directives_done = true;
	if (n == 0 || s[0] != '#')
		return 0;
	while (i < n && df_is_space(s[i]))
		i++;
	k = i;
	if (i >= n || !((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')))
		return 0;
	while (i < n && df_is_name_char(s[i]) && s[i] != '_')
		i++;
	klen = i - k;
	while (i < n && df_is_space(s[i]))
		i++;
	if (i >= n || s[i] != '=')
		return 0;
	i++;
	while (i < n && df_is_space(s[i]))
		i++;
	v = i;
	vend = n;
	while (vend > v && df_is_space(s[vend - 1]))
		vend--;
	if (vend == v || klen >= sizeof(key))
		return 0;
	for (i = 0; i < klen; i++)
		key[i] = df_lower(s[k + i]);
	key[klen] = '\0';
	if (strcmp(key, "syntax") == 0)
		seen = &p->seen_syntax;
	else if (strcmp(key, "escape") == 0)
		seen = &p->seen_escape;
	else if (strcmp(key, "check") == 0)
		seen = &p->seen_check;
	else
		return 0;
	if (*seen)
		return vd_error_set(p->err, VD_EINVAL, "line %u: only one %s parser directive can be used",
				    p->lineno, key);
	*seen = true;
	p->directives_done = false;
	if (seen == &p->seen_escape) {
		if (vend - v != 1 || (s[v] != '\\' && s[v] != '`'))
			return vd_error_set(p->err, VD_EINVAL,
					    "line %u: invalid escape token '%.*s' does not match ` or \\",
					    p->lineno, (int)(vend - v), s + v);
		p->escape = s[v];
	}
	return 0;
}

/* Strip a line continuation: the escape character last (blanks after it
 * allowed) and not itself escaped. */
static bool continues(const struct df_parser *p, const char *s, size_t *n)
{
	size_t e = *n;

	while (e > 0 && (s[e - 1] == ' ' || s[e - 1] == '\t'))
		e--;
	if (e == 0 || s[e - 1] != p->escape || (e >= 2 && s[e - 2] == p->escape))
		return false;
	*n = e - 1;
	return true;
}

static bool is_comment(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n && df_is_space(s[i]))
		i++;
	return i < n && s[i] == '#';
}

static bool is_empty(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!df_is_space(s[i]))
			return false;
	return true;
}

/* Skip the bodies of the heredocs the instruction line opens. */
static int skip_heredocs(struct df_parser *p, const char *line, unsigned start)
{
	struct df_words w = { NULL, 0 };
	size_t i;
	int r;

	r = df_heredoc_words(line, &w);
	for (i = 0; i < w.n && !r; i++) {
		char *name = NULL;
		bool chomp = false, done = false;
		const char *s;
		size_t n;

		r = df_heredoc_name(w.v[i], &chomp, &name);
		if (r || !name)
			continue;
		while (!done && next_line(p, &s, &n)) {
			if (chomp)
				while (n > 0 && *s == '\t')
					s++, n--;
			done = n == strlen(name) && memcmp(s, name, n) == 0;
		}
		if (!done)
			r = vd_error_set(p->err, VD_EINVAL, "line %u: unterminated heredoc (%s)", start,
					 name);
		free(name);
	}
	df_words_release(&w);
	return r == VD_ENOMEM ? vd_error_set(p->err, r, "out of memory") : r;
}

/* --- after the last line: what names what --- */

/* strconv.Atoi */
static bool parse_index(const char *s, long *out)
{
	char *end;

	if (!*s || (!(*s >= '0' && *s <= '9') && *s != '-' && *s != '+'))
		return false;
	*out = strtol(s, &end, 10);
	return *end == '\0';
}

static int resolve_from(struct df_parser *p, vd_dockerfile_copy *c)
{
	long idx;

	if (!c->from) {
		c->origin = VD_DOCKERFILE_FROM_CONTEXT;
		return 0;
	}
	if (strchr(c->from, '$')) {
		c->origin = VD_DOCKERFILE_FROM_UNKNOWN;
		return 0;
	}
	/* a mount's from= is a name only; --from may be an index */
	if (c->kind != VD_DOCKERFILE_RUN_MOUNT && parse_index(c->from, &idx)) {
		if (idx < 0 || (size_t)idx >= p->df->n_stages)
			return vd_error_set(p->err, VD_EINVAL, "line %u: invalid stage index %ld", c->line,
					    idx);
		c->origin = VD_DOCKERFILE_FROM_STAGE;
		c->from_stage = (int)idx;
		return 0;
	}
	c->from_stage = vd_dockerfile_stage_find(p->df, c->from);
	c->origin = c->from_stage >= 0 ? VD_DOCKERFILE_FROM_STAGE : VD_DOCKERFILE_FROM_IMAGE;
	return 0;
}

/* Mark the ARGs a source's variables refer to: declared in the stage before
 * the instruction, or in a stage it is built FROM. */
static void mark_args(vd_dockerfile *df, int stage, const vd_dockerfile_copy *c, const char *src)
{
	const char *s = src;

	while ((s = strchr(s, '$'))) {
		const char *name = s + 1;
		size_t len, i;
		int st;
		bool found = false;

		if (*name == '{')
			name++;
		for (len = 0; df_is_name_char(name[len]); len++)
			;
		s = name + len;
		if (!len)
			continue;
		for (st = stage; st >= 0 && !found; st = df->stages[st].parent) {
			for (i = df->n_args; i-- > 0;) {
				vd_dockerfile_arg *a = &df->args[i];

				if (a->stage == st && (st != stage || a->line < c->line) &&
				    strlen(a->name) == len && memcmp(a->name, name, len) == 0) {
					a->in_copy_source = true;
					found = true;
					break;
				}
			}
			if (df->stages[st].parent >= st)
				break;
		}
	}
}

static int finish(struct df_parser *p)
{
	vd_dockerfile *df = p->df;
	struct df_env e = { NULL, 0 };
	size_t i, j, k;
	int r;

	if (df->n_stages == 0)
		return vd_error_set(p->err, VD_EINVAL, "%s",
				    p->lineno ? "no FROM instruction: no stage to build" : "empty Dockerfile");
	if ((r = df_meta_env(df, NULL, &e)))
		goto done;
	for (i = 0; i < df->n_stages; i++)
		if ((r = df_resolve_base(df, i, &e, &df->stages[i].parent, &df->stages[i].base_unresolved)))
			goto done;
	for (i = 0; i < df->n_stages; i++) {
		for (j = 0; j < df->stages[i].n_copies; j++) {
			vd_dockerfile_copy *c = &df->stages[i].copies[j];

			if ((r = resolve_from(p, c)))
				goto done;
			for (k = 0; k < c->n_sources; k++)
				if (c->sources[k].variable)
					mark_args(df, (int)i, c, c->sources[k].raw);
		}
	}
done:
	df_env_release(&e);
	return r == VD_ENOMEM ? df_oom(p) : r;
}

int vd_dockerfile_parse(const char *text, size_t len, vd_dockerfile **out, vd_error *err)
{
	struct df_parser p = { text, len, 0, 0, '\\', false, false, false, false, NULL, err };
	vd_buf line = VD_BUF_INIT;
	int r;

	if ((r = check_text(&p)))
		return r;
	if (!(p.df = calloc(1, sizeof(*p.df))))
		return df_oom(&p);
	vd_buf_init(&line, MAX_FILE);
	for (;;) {
		const char *s;
		size_t n;
		unsigned start;
		bool more, heredocs;

		if (!next_line(&p, &s, &n))
			break;
		if (p.lineno == 1 && n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0)
			s += 3, n -= 3;
		while (n > 0 && df_is_space(*s))
			s++, n--;
		if ((r = directive(&p, s, n)))
			goto done;
		if (is_comment(s, n))
			n = 0;
		start = p.lineno;
		more = continues(&p, s, &n);
		if (!more && n == 0)
			continue;
		vd_buf_clear(&line);
		if (vd_buf_put(&line, s, n))
			goto nomem;
		while (more && next_line(&p, &s, &n)) {
			if (is_comment(s, n) || is_empty(s, n))
				continue;
			more = continues(&p, s, &n);
			if (vd_buf_put(&line, s, n))
				goto nomem;
		}
		if (line.len == 0)
			continue;
		if ((r = df_instruction(&p, line.ptr, start, false, &heredocs)))
			goto done;
		if (heredocs && strstr(vd_buf_cstr(&line), "<<") &&
		    (r = skip_heredocs(&p, vd_buf_cstr(&line), start)))
			goto done;
	}
	if ((r = finish(&p)))
		goto done;
	p.df->escape = p.escape;
	*out = p.df;
	p.df = NULL;
	goto done;
nomem:
	r = df_oom(&p);
done:
	vd_buf_release(&line);
	vd_dockerfile_free(p.df);
	return r;
}
