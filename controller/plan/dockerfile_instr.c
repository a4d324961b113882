/* The instructions that make up the result: FROM (a stage), ARG, and what
 * brings files into a stage — COPY and ADD (flags, shell and JSON forms,
 * sources) and RUN's bind and cache mounts; ONBUILD marks them. */
#include "controller/plan/dockerfile.h"
#include "controller/plan/dockerfile_private.h"

#include <stdlib.h>
#include <string.h>

#include "common/buf.h"

static vd_dockerfile_stage *current(struct df_parser *p)
{
	return p->df->n_stages ? &p->df->stages[p->df->n_stages - 1] : NULL;
}

static int do_from(struct df_parser *p, const struct df_words *flags, const char *args, unsigned line)
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
	r = df_oom(p);
done:
	df_words_release(&w);
	return r;
}

static int do_arg(struct df_parser *p, const char *args, unsigned line)
{
	struct df_words w = { NULL, 0 };
	size_t i;
	int r = 0;

	if (df_split_quoted(args, p->escape, &w))
		return df_oom(p);
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
			r = df_oom(p);
			break;
		}
		a = &p->df->args[p->df->n_args++];
		a->line = line;
		a->stage = p->df->n_stages ? (int)p->df->n_stages - 1 : -1;
		a->name = strndup(w.v[i], eq ? (size_t)(eq - w.v[i]) : strlen(w.v[i]));
		if (!a->name) {
			r = df_oom(p);
			break;
		}
		/* as written: quotes and variables are resolved when used */
		if (eq && !(a->value = strdup(eq + 1)))
			r = df_oom(p);
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
static int copy_flags_parse(struct df_parser *p, vd_dockerfile_copy *c, const struct df_words *flags,
			    const char *instr, unsigned line)
{
	const struct flagdef *defs = c->kind == VD_DOCKERFILE_ADD ? add_flags : copy_flags;
	unsigned used = 0;
	size_t i;

	c->flags = calloc(flags->n ? flags->n : 1, sizeof(*c->flags));
	if (!c->flags)
		return df_oom(p);
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
			return df_oom(p);
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
				return df_oom(p);
			c->n_excludes++;
		} else if ((strcmp(f->name, "from") == 0 && *f->value && set_str(&c->from, f->value)) ||
			   (strcmp(f->name, "chown") == 0 && set_str(&c->chown, f->value)) ||
			   (strcmp(f->name, "chmod") == 0 && set_str(&c->chmod, f->value))) {
			return df_oom(p);
		}
	}
	return 0;
}

static bool is_remote(const char *s)
{
	return df_starts_with(s, "http://") || df_starts_with(s, "https://") || df_starts_with(s, "git://") ||
	       df_starts_with(s, "ssh://") || df_starts_with(s, "git@");
}

static int add_source(struct df_parser *p, vd_dockerfile_copy *c, const char *raw, bool shell_form)
{
	struct df_word_out o = { VD_BUF_INIT, false, false, 0 };
	vd_dockerfile_source *s;
	bool chomp;
	char *hd = NULL;

	if (df_reserve(&c->sources, c->n_sources, sizeof(*c->sources)))
		return df_oom(p);
	s = &c->sources[c->n_sources++];
	if (!(s->raw = strdup(raw)))
		return df_oom(p);
	if (shell_form && c->kind != VD_DOCKERFILE_RUN_MOUNT) {
		if (df_heredoc_name(raw, &chomp, &hd))
			return df_oom(p);
		if (hd) {
			free(hd);
			s->heredoc = true;
			return 0;
		}
	}
	if (df_shell_word(raw, strlen(raw), p->escape, NULL, &o) || !(s->path = vd_buf_detach(&o.buf))) {
		vd_buf_release(&o.buf);
		return df_oom(p);
	}
	s->variable = o.has_var;
	s->remote = c->kind == VD_DOCKERFILE_ADD && is_remote(s->path);
	return 0;
}

static vd_dockerfile_copy *new_copy(struct df_parser *p, vd_dockerfile_kind kind, unsigned line,
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

static int do_copy(struct df_parser *p, vd_dockerfile_kind kind, const struct df_words *flags,
		   const char *args, unsigned line, bool onbuild, bool *heredocs)
{
	const char *instr = kind == VD_DOCKERFILE_ADD ? "ADD" : "COPY";
	struct df_words w = { NULL, 0 };
	vd_dockerfile_copy *c;
	size_t i;
	int r = 0, js;

	if (!(c = new_copy(p, kind, line, onbuild)))
		return df_oom(p);
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
	r = df_oom(p);
done:
	df_words_release(&w);
	return r;
}

static int fill_mount(struct df_parser *p, vd_dockerfile_copy *c, const char *spec, const char *from,
		      const char *source, const char *target)
{
	if (!(c->flags = calloc(1, sizeof(*c->flags))))
		return df_oom(p);
	c->n_flags = 1;
	if (!(c->flags[0].name = strdup("mount")) || !(c->flags[0].value = strdup(spec)) ||
	    (from && *from && set_str(&c->from, from)) || (target && set_str(&c->dest, target)))
		return df_oom(p);
	return add_source(p, c, source && *source ? source : ".", false);
}

/* RUN --mount=type=bind|cache,from=...,source=...: files a RUN reads. */
static int do_run(struct df_parser *p, const struct df_words *flags, const char *args, unsigned line,
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
			r = df_oom(p);
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
				r = df_oom(p);
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
		return df_oom(p);
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

int df_instruction(struct df_parser *p, char *line, unsigned lineno, bool onbuild, bool *heredocs)
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
		return df_instruction(p, rest, lineno, true, heredocs);

	if (df_extract_flags(rest, &flags, &args)) {
		r = df_oom(p);
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
