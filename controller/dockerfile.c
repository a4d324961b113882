#include "controller/dockerfile.h"
#include "controller/dockerfile_private.h"

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

struct parser {
	const char *text;
	size_t len;
	size_t pos;
	unsigned lineno;       /* physical lines read so far */
	char escape;
	bool directives_done;
	bool seen_syntax, seen_escape, seen_check;
	vd_dockerfile *df;
	vd_error *err;
};

/* The next physical line, without its "\n" and trailing "\r"s. */
static bool next_line(struct parser *p, const char **line, size_t *n)
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
static int check_text(struct parser *p)
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
static int directive(struct parser *p, const char *s, size_t n)
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
static bool continues(const struct parser *p, const char *s, size_t *n)
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
static int skip_heredocs(struct parser *p, const char *line, unsigned start)
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

static vd_dockerfile_stage *current(struct parser *p)
{
	return p->df->n_stages ? &p->df->stages[p->df->n_stages - 1] : NULL;
}

static int oom(struct parser *p)
{
	return vd_error_set(p->err, VD_ENOMEM, "out of memory");
}

/* --- instructions --- */

static int do_from(struct parser *p, const struct df_words *flags, const char *args, unsigned line)
{
	struct df_words w = { NULL, 0 };
	vd_dockerfile_stage *st;
	const char *name = NULL;
	size_t i;
	int r;

	if (df_split_blank(args, &w))
		goto nomem;
	if (w.n == 3 && df_eq_nocase(w.v[1], "as")) {
		name = w.v[2];
		for (i = 0; name[i]; i++) {
			char c = df_lower(name[i]);

			if (!((c >= 'a' && c <= 'z') || (i > 0 && ((c >= '0' && c <= '9') || c == '-' ||
								  c == '_' || c == '.')))) {
				r = vd_error_set(p->err, VD_EINVAL,
						 "line %u: invalid name for build stage: \"%s\", name can't "
						 "start with a number or contain symbols", line, name);
				goto done;
			}
		}
	} else if (w.n != 1) {
		r = vd_error_set(p->err, VD_EINVAL, "line %u: FROM requires either one or three arguments",
				 line);
		goto done;
	}
	if (df_reserve(&p->df->stages, p->df->n_stages, sizeof(*p->df->stages)))
		goto nomem;
	st = &p->df->stages[p->df->n_stages++];
	st->index = (int)p->df->n_stages - 1;
	st->line = line;
	st->parent = -1;
	if (!(st->base = strdup(w.v[0])))
		goto nomem;
	if (name) {
		if (!(st->name = strdup(name)))
			goto nomem;
		for (i = 0; st->name[i]; i++)
			st->name[i] = df_lower(st->name[i]);
	}
	for (i = 0; i < flags->n; i++)
		if (df_starts_with(flags->v[i], "--platform=")) {
			free(st->platform);
			if (!(st->platform = strdup(flags->v[i] + strlen("--platform="))))
				goto nomem;
		}
	r = 0;
	goto done;
nomem:
	r = oom(p);
done:
	df_words_release(&w);
	return r;
}

static int do_arg(struct parser *p, const char *args, unsigned line)
{
	struct df_words w = { NULL, 0 };
	size_t i;
	int r = 0;

	if (df_split_quoted(args, p->escape, &w))
		return oom(p);
	if (w.n == 0)
		r = vd_error_set(p->err, VD_EINVAL, "line %u: ARG requires at least one argument", line);
	for (i = 0; i < w.n && !r; i++) {
		char *eq = strchr(w.v[i], '=');
		vd_dockerfile_arg *a;

		if (eq == w.v[i]) {
			r = vd_error_set(p->err, VD_EINVAL, "line %u: ARG names can not be blank", line);
			break;
		}
		if (df_reserve(&p->df->args, p->df->n_args, sizeof(*p->df->args))) {
			r = oom(p);
			break;
		}
		a = &p->df->args[p->df->n_args++];
		a->line = line;
		a->stage = p->df->n_stages ? (int)p->df->n_stages - 1 : -1;
		a->name = strndup(w.v[i], eq ? (size_t)(eq - w.v[i]) : strlen(w.v[i]));
		if (!a->name) {
			r = oom(p);
			break;
		}
		/* as written: quotes and variables are resolved when used */
		if (eq && !(a->value = strdup(eq + 1)))
			r = oom(p);
	}
	df_words_release(&w);
	return r;
}

enum ftype { F_STR, F_BOOL, F_STRS };

struct flagdef {
	const char *name;
	enum ftype type;
};

static const struct flagdef copy_flags[] = {
	{ "chown", F_STR }, { "from", F_STR }, { "chmod", F_STR }, { "link", F_BOOL },
	{ "exclude", F_STRS }, { "parents", F_BOOL }, { NULL, F_STR },
};

static const struct flagdef add_flags[] = {
	{ "chown", F_STR }, { "chmod", F_STR }, { "link", F_BOOL }, { "keep-git-dir", F_BOOL },
	{ "checksum", F_STR }, { "exclude", F_STRS }, { "unpack", F_BOOL }, { NULL, F_STR },
};

static int set_str(char **dst, const char *v)
{
	free(*dst);
	*dst = strdup(v);
	return *dst ? 0 : VD_ENOMEM;
}

/* BFlags.Parse for the flags docker knows; unknown ones are only kept. */
static int copy_flags_parse(struct parser *p, vd_dockerfile_copy *c, const struct df_words *flags,
			    const char *instr, unsigned line)
{
	const struct flagdef *defs = c->kind == VD_DOCKERFILE_ADD ? add_flags : copy_flags;
	unsigned used = 0;
	size_t i;

	c->flags = calloc(flags->n ? flags->n : 1, sizeof(*c->flags));
	if (!c->flags)
		return oom(p);
	for (i = 0; i < flags->n; i++) {
		const char *arg = flags->v[i], *eq;
		const struct flagdef *d;
		vd_dockerfile_flag *f = &c->flags[c->n_flags];
		size_t k;

		if (!df_starts_with(arg, "--"))
			return vd_error_set(p->err, VD_EINVAL, "line %u: %s: arg should start with -- : %s",
					    line, instr, arg);
		arg += 2;
		eq = strchr(arg, '=');
		f->name = strndup(arg, eq ? (size_t)(eq - arg) : strlen(arg));
		if (!f->name || (eq && !(f->value = strdup(eq + 1)))) {
			free(f->name);
			return oom(p);
		}
		c->n_flags++;
		for (d = defs, k = 0; d->name && strcmp(d->name, f->name) != 0; d++, k++)
			;
		if (!d->name)
			continue;
		if (d->type != F_STRS && (used & (1u << k)))
			return vd_error_set(p->err, VD_EINVAL, "line %u: %s: duplicate flag specified: %s",
					    line, instr, f->name);
		used |= 1u << k;
		if ((d->type != F_BOOL && !eq) || (d->type == F_BOOL && eq && !*f->value))
			return vd_error_set(p->err, VD_EINVAL, "line %u: %s: missing a value on flag: %s",
					    line, instr, f->name);
		if (d->type == F_BOOL) {
			bool v = !eq || df_eq_nocase(f->value, "true");

			if (eq && !v && !df_eq_nocase(f->value, "false"))
				return vd_error_set(p->err, VD_EINVAL,
						    "line %u: %s: expecting boolean value for flag %s, not: %s",
						    line, instr, f->name, f->value);
			if (strcmp(f->name, "link") == 0)
				c->link = v;
			else if (strcmp(f->name, "parents") == 0)
				c->parents = v;
		} else if (strcmp(f->name, "exclude") == 0) {
			if (df_reserve(&c->excludes, c->n_excludes, sizeof(*c->excludes)) ||
			    !(c->excludes[c->n_excludes] = strdup(f->value)))
				return oom(p);
			c->n_excludes++;
		} else if ((strcmp(f->name, "from") == 0 && *f->value && set_str(&c->from, f->value)) ||
			   (strcmp(f->name, "chown") == 0 && set_str(&c->chown, f->value)) ||
			   (strcmp(f->name, "chmod") == 0 && set_str(&c->chmod, f->value))) {
			return oom(p);
		}
	}
	return 0;
}

static bool is_remote(const char *s)
{
	return df_starts_with(s, "http://") || df_starts_with(s, "https://") || df_starts_with(s, "git://") ||
	       df_starts_with(s, "ssh://") || df_starts_with(s, "git@");
}

static int add_source(struct parser *p, vd_dockerfile_copy *c, const char *raw, bool shell_form)
{
	struct df_word_out o = { VD_BUF_INIT, false, false, 0 };
	vd_dockerfile_source *s;
	bool chomp;
	char *hd = NULL;

	if (df_reserve(&c->sources, c->n_sources, sizeof(*c->sources)))
		return oom(p);
	s = &c->sources[c->n_sources++];
	if (!(s->raw = strdup(raw)))
		return oom(p);
	if (shell_form && c->kind != VD_DOCKERFILE_RUN_MOUNT) {
		if (df_heredoc_name(raw, &chomp, &hd))
			return oom(p);
		if (hd) {
			free(hd);
			s->heredoc = true;
			return 0;
		}
	}
	if (df_shell_word(raw, strlen(raw), p->escape, NULL, &o) || !(s->path = vd_buf_detach(&o.buf))) {
		vd_buf_release(&o.buf);
		return oom(p);
	}
	s->variable = o.has_var;
	s->remote = c->kind == VD_DOCKERFILE_ADD && is_remote(s->path);
	return 0;
}

static vd_dockerfile_copy *new_copy(struct parser *p, vd_dockerfile_kind kind, unsigned line,
				    bool onbuild)
{
	vd_dockerfile_stage *st = current(p);
	vd_dockerfile_copy *c;

	if (df_reserve(&st->copies, st->n_copies, sizeof(*st->copies)))
		return NULL;
	c = &st->copies[st->n_copies++];
	c->kind = kind;
	c->line = line;
	c->onbuild = onbuild;
	c->from_stage = -1;
	return c;
}

static int do_copy(struct parser *p, vd_dockerfile_kind kind, const struct df_words *flags,
		   const char *args, unsigned line, bool onbuild, bool *heredocs)
{
	const char *instr = kind == VD_DOCKERFILE_ADD ? "ADD" : "COPY";
	struct df_words w = { NULL, 0 };
	vd_dockerfile_copy *c;
	size_t i;
	int r = 0, js;

	if (!(c = new_copy(p, kind, line, onbuild)))
		return oom(p);
	if ((r = copy_flags_parse(p, c, flags, instr, line)))
		return r;
	js = df_json_strings(args, &w, &r);
	if (r)
		goto nomem;
	if (js < 0) {
		r = vd_error_set(p->err, VD_EINVAL, "line %u: %s: JSON array must hold strings only",
				 line, instr);
		goto done;
	}
	if (js == 0) {
		const char *t = args;

		while (df_is_space(*t))
			t++;
		if (*t == '[' && !strchr(t, ']')) {
			r = vd_error_set(p->err, VD_EINVAL, "line %u: %s: unterminated JSON array",
					 line, instr);
			goto done;
		}
		if (df_split_blank(args, &w))
			goto nomem;
	}
	c->json = js == 1;
	*heredocs = !c->json;
	if (w.n < 2) {
		r = vd_error_set(p->err, VD_EINVAL,
				 "line %u: %s requires at least two arguments, but %s provided", line,
				 instr, w.n ? "only one was" : "none were");
		goto done;
	}
	for (i = 0; i + 1 < w.n && !r; i++)
		r = add_source(p, c, w.v[i], !c->json);
	if (!r && !(c->dest = strdup(w.v[w.n - 1])))
		goto nomem;
	goto done;
nomem:
	r = oom(p);
done:
	df_words_release(&w);
	return r;
}

static int fill_mount(struct parser *p, vd_dockerfile_copy *c, const char *spec, const char *from,
		      const char *source, const char *target)
{
	if (!(c->flags = calloc(1, sizeof(*c->flags))))
		return oom(p);
	c->n_flags = 1;
	if (!(c->flags[0].name = strdup("mount")) || !(c->flags[0].value = strdup(spec)) ||
	    (from && *from && set_str(&c->from, from)) || (target && set_str(&c->dest, target)))
		return oom(p);
	return add_source(p, c, source && *source ? source : ".", false);
}

/* RUN --mount=type=bind|cache,from=...,source=...: files a RUN reads. */
static int do_run(struct parser *p, const struct df_words *flags, const char *args, unsigned line,
		  bool onbuild, bool *heredocs)
{
	struct df_words js = { NULL, 0 };
	size_t i, j;
	int r = 0, isjson;

	for (i = 0; i < flags->n && !r; i++) {
		struct df_words fields = { NULL, 0 };
		const char *type = "bind", *from = NULL, *source = NULL, *target = NULL;
		vd_dockerfile_copy *c;

		if (!df_starts_with(flags->v[i], "--mount="))
			continue;
		if (df_csv_fields(flags->v[i] + strlen("--mount="), &fields)) {
			r = oom(p);
			break;
		}
		for (j = 0; j < fields.n; j++) {
			char *f = fields.v[j], *eq = strchr(f, '='), *k;

			if (!eq)
				continue;
			*eq = '\0';
			for (k = f; *k; k++)
				*k = df_lower(*k);
			if (strcmp(f, "type") == 0)
				type = eq + 1;
			else if (strcmp(f, "from") == 0)
				from = eq + 1;
			else if (strcmp(f, "source") == 0 || strcmp(f, "src") == 0)
				source = eq + 1;
			else if (strcmp(f, "target") == 0 || strcmp(f, "dst") == 0 ||
				 strcmp(f, "destination") == 0 || strcmp(f, "dest") == 0)
				target = eq + 1;
		}
		/* a bind mount shows the context or a stage to the RUN; a cache
		 * mount with from= starts from a stage's files; secrets, ssh
		 * and tmpfs bring no context file */
		if (df_eq_nocase(type, "bind") || (df_eq_nocase(type, "cache") && from && *from) ||
		    strchr(type, '$')) {
			if (!(c = new_copy(p, VD_DOCKERFILE_RUN_MOUNT, line, onbuild)))
				r = oom(p);
			else
				r = fill_mount(p, c, flags->v[i] + strlen("--mount="), from, source, target);
		}
		df_words_release(&fields);
	}
	if (r)
		return r;
	isjson = df_json_strings(args, &js, &r);
	df_words_release(&js);
	if (r)
		return oom(p);
	if (isjson < 0)
		return vd_error_set(p->err, VD_EINVAL, "line %u: RUN: JSON array must hold strings only",
				    line);
	*heredocs = isjson == 0;
	return 0;
}

static const char *const known_instructions[] = {
	"add", "arg", "cmd", "copy", "entrypoint", "env", "expose", "from", "healthcheck",
	"label", "maintainer", "onbuild", "run", "shell", "stopsignal", "user", "volume",
	"workdir", NULL,
};

static bool known(const char *cmd)
{
	size_t i;

	for (i = 0; known_instructions[i]; i++)
		if (strcmp(known_instructions[i], cmd) == 0)
			return true;
	return false;
}

/* One logical line.  *heredocs: the instruction may open heredocs. */
static int instruction(struct parser *p, char *line, unsigned lineno, bool onbuild, bool *heredocs)
{
	struct df_words flags = { NULL, 0 };
	char cmd[16], *end, *rest;
	const char *args;
	size_t n, i;
	int r = 0;

	*heredocs = false;
	while (df_is_space(*line))
		line++;
	end = line + strlen(line);
	while (end > line && df_is_space(end[-1]))
		*--end = '\0';
	for (rest = line; *rest && !df_is_blank(*rest); rest++)
		;
	n = (size_t)(rest - line);
	while (*rest && df_is_blank(*rest))
		rest++;
	if (n == 0 || n >= sizeof(cmd))
		return 0;   /* not an instruction docker knows */
	for (i = 0; i < n; i++)
		cmd[i] = df_lower(line[i]);
	cmd[n] = '\0';
	if (!known(cmd))
		return 0;
	if (!current(p) && strcmp(cmd, "arg") != 0 && strcmp(cmd, "from") != 0)
		return vd_error_set(p->err, VD_EINVAL,
				    "line %u: %.*s before the first FROM: no build stage in current context",
				    lineno, (int)n, line);
	if (onbuild && (strcmp(cmd, "onbuild") == 0 || strcmp(cmd, "from") == 0 ||
			strcmp(cmd, "maintainer") == 0))
		return vd_error_set(p->err, VD_EINVAL, "line %u: %s isn't allowed as an ONBUILD trigger",
				    lineno, cmd);
	if (strcmp(cmd, "onbuild") == 0)
		return instruction(p, rest, lineno, true, heredocs);

	if (df_extract_flags(rest, &flags, &args)) {
		r = oom(p);
		goto done;
	}
	if (strcmp(cmd, "from") == 0)
		r = do_from(p, &flags, args, lineno);
	else if (strcmp(cmd, "arg") == 0)
		r = onbuild ? 0 : do_arg(p, args, lineno);
	else if (strcmp(cmd, "copy") == 0)
		r = do_copy(p, VD_DOCKERFILE_COPY, &flags, args, lineno, onbuild, heredocs);
	else if (strcmp(cmd, "add") == 0)
		r = do_copy(p, VD_DOCKERFILE_ADD, &flags, args, lineno, onbuild, heredocs);
	else if (strcmp(cmd, "run") == 0)
		r = do_run(p, &flags, args, lineno, onbuild, heredocs);
done:
	df_words_release(&flags);
	return r;
}

/* strconv.Atoi */
static bool parse_index(const char *s, long *out)
{
	char *end;

	if (!*s || (!(*s >= '0' && *s <= '9') && *s != '-' && *s != '+'))
		return false;
	*out = strtol(s, &end, 10);
	return *end == '\0';
}

static int resolve_from(struct parser *p, vd_dockerfile_copy *c)
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

static int finish(struct parser *p)
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
	return r == VD_ENOMEM ? oom(p) : r;
}

int vd_dockerfile_parse(const char *text, size_t len, vd_dockerfile **out, vd_error *err)
{
	struct parser p = { text, len, 0, 0, '\\', false, false, false, false, NULL, err };
	vd_buf line = VD_BUF_INIT;
	int r;

	if ((r = check_text(&p)))
		return r;
	if (!(p.df = calloc(1, sizeof(*p.df))))
		return oom(&p);
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
		if ((r = instruction(&p, line.ptr, start, false, &heredocs)))
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
	r = oom(&p);
done:
	vd_buf_release(&line);
	vd_dockerfile_free(p.df);
	return r;
}
