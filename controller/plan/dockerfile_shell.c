/* Shell words and build arguments: BuildKit's lexer for one word (quotes,
 * escapes, variables substituted or only noticed), the variables a FROM
 * line sees, and which earlier stage a FROM names. */
#include "controller/plan/dockerfile.h"
#include "controller/plan/dockerfile_private.h"

#include <stdlib.h>
#include <string.h>

#include "common/buf.h"

/* --- shell words ---
 *
 * What BuildKit's shell lexer does to a word, minus the substitution: quotes
 * removed ('...' literal, "..." where the escape character only escapes '"',
 * '$' and itself), the escape character outside quotes taken literally for
 * the character after it.  A '$' that starts a variable ($NAME, ${...}, $1)
 * outside single quotes is reported; without a lookup it is copied as is.
 *
 * With a lookup (FROM lines, ARG defaults), variables are substituted the
 * way docker substitutes build arguments: $N ${N} ${N:-w} ${N-w} ${N:+w}
 * ${N+w}; a variable whose value is not known here marks the result
 * unknown. */

static enum df_var_state env_get(const struct df_env *e, const char *name, size_t len,
				 const char **value)
{
	size_t i;

	for (i = e->n; i-- > 0;)
		if (strlen(e->v[i].name) == len && memcmp(e->v[i].name, name, len) == 0) {
			*value = e->v[i].value ? e->v[i].value : "";
			return e->v[i].state;
		}
	*value = "";
	return DF_VAR_UNSET;
}

#define MAX_DEPTH 32

/* s[*i] is '$'; handle the variable, advance *i past it. */
static int dollar(const char *s, size_t len, size_t *i, char esc, const struct df_env *env,
		  struct df_word_out *o)
{
	size_t start = *i, j = *i + 1, name, name_len, depth, word = 0, word_len = 0;
	const char *value;
	enum df_var_state st;
	char op = 0;
	bool colon = false;

	if (j < len && s[j] == '{') {
		name = ++j;
		while (j < len && df_is_name_char(s[j]))
			j++;
		name_len = j - name;
		if (j < len && s[j] == ':') {
			colon = true;
			j++;
		}
		if (j < len && s[j] != '}') {
			op = s[j++];
			word = j;
		}
		for (depth = 1; j < len; j++) {
			if (s[j] == '{' && j > 0 && s[j - 1] == '$')
				depth++;
			else if (s[j] == '}' && --depth == 0)
				break;
		}
		if (j >= len) {
			/* no closing brace: docker refuses the word */
			o->has_var = true;
			o->unknown = true;
			*i = len;
			return vd_buf_put(&o->buf, s + start, len - start);
		}
		if (op)
			word_len = j - word;
		*i = j + 1;
	} else if (j < len && (df_is_name_char(s[j]))) {
		name = j;
		if (s[j] >= '0' && s[j] <= '9')
			j++;
		else
			while (j < len && df_is_name_char(s[j]))
				j++;
		name_len = j - name;
		*i = j;
	} else {
		*i = j;
		return vd_buf_putc(&o->buf, '$');
	}

	o->has_var = true;
	if (!env)
		return vd_buf_put(&o->buf, s + start, *i - start);
	if (name_len == 0 || (op && op != '-' && op != '+') || (colon && !op)) {
		o->unknown = true;   /* ${#N}, ${N%x}, ${N/x/y}...: not substituted here */
		return 0;
	}
	st = env_get(env, s + name, name_len, &value);
	if (st == DF_VAR_UNKNOWN) {
		o->unknown = true;
		return 0;
	}
	if ((op == '-' && (st == DF_VAR_UNSET || (colon && !*value))) ||
	    (op == '+' && st == DF_VAR_SET && (!colon || *value))) {
		int r;

		if (o->depth >= MAX_DEPTH) {
			o->unknown = true;
			return 0;
		}
		o->depth++;
		r = df_shell_word(s + word, word_len, esc, env, o);
		o->depth--;
		return r;
	}
	return op == '+' ? 0 : vd_buf_puts(&o->buf, value);
}

int df_shell_word(const char *s, size_t len, char esc, const struct df_env *env, struct df_word_out *o)
{
	size_t i = 0;
	int r = 0;

	while (i < len && !r) {
		char c = s[i];

		if (c == esc) {
			if (i + 1 < len)
				r = vd_buf_putc(&o->buf, s[i + 1]);
			i += 2;
		} else if (c == '\'') {
			size_t e = i + 1;

			while (e < len && s[e] != '\'')
				e++;
			r = vd_buf_put(&o->buf, s + i + 1, e - i - 1);
			i = e + 1;
		} else if (c == '"') {
			for (i++; i < len && s[i] != '"' && !r;) {
				if (s[i] == '$') {
					r = dollar(s, len, &i, esc, env, o);
				} else if (s[i] == esc && i + 1 < len &&
					   (s[i + 1] == '"' || s[i + 1] == '$' || s[i + 1] == esc)) {
					r = vd_buf_putc(&o->buf, s[i + 1]);
					i += 2;
				} else {
					r = vd_buf_putc(&o->buf, s[i++]);
				}
			}
			i++;
		} else if (c == '$') {
			r = dollar(s, len, &i, esc, env, o);
		} else {
			r = vd_buf_putc(&o->buf, c);
			i++;
		}
	}
	return r;
}

/* --- the variables a FROM line sees, and the stage it names --- */

static const char *const platform_args[] = {
	"BUILDPLATFORM", "BUILDOS", "BUILDARCH", "BUILDVARIANT", "TARGETPLATFORM", "TARGETOS",
	"TARGETARCH", "TARGETVARIANT", "TARGETSTAGE", NULL,
};

void df_env_release(struct df_env *e)
{
	size_t i;

	for (i = 0; i < e->n; i++)
		free(e->v[i].value);
	free(e->v);
	e->v = NULL;
	e->n = 0;
}

static int env_set(struct df_env *e, const char *name, char *value, enum df_var_state st)
{
	if (df_reserve(&e->v, e->n, sizeof(*e->v))) {
		free(value);
		return VD_ENOMEM;
	}
	e->v[e->n].name = name;
	e->v[e->n].value = value;
	e->v[e->n].state = st;
	e->n++;
	return 0;
}

/* The build arg NAME in "NAME=VALUE" / "NAME" form: 1 found (*value NULL
 * when given without a value), 0 not given. */
static int build_arg(const char *const *build_args, const char *name, const char **value)
{
	size_t n = strlen(name);
	int found = 0;

	for (; build_args && *build_args; build_args++)
		if (strncmp(*build_args, name, n) == 0 && ((*build_args)[n] == '=' || !(*build_args)[n])) {
			*value = (*build_args)[n] == '=' ? *build_args + n + 1 : NULL;
			found = 1;   /* the last one given wins */
		}
	return found;
}

int df_meta_env(const vd_dockerfile *df, const char *const *build_args, struct df_env *e)
{
	const char *v;
	size_t i;
	int r = 0;

	for (i = 0; platform_args[i] && !r; i++) {
		if (build_arg(build_args, platform_args[i], &v) && v) {
			char *dup = strdup(v);

			r = dup ? env_set(e, platform_args[i], dup, DF_VAR_SET) : VD_ENOMEM;
		} else
			r = env_set(e, platform_args[i], NULL, DF_VAR_UNKNOWN);
	}
	for (i = 0; i < df->n_args && !r; i++) {
		const vd_dockerfile_arg *a = &df->args[i];
		struct df_word_out o = { VD_BUF_INIT, false, false, 0 };
		char *val;

		if (a->stage >= 0)
			break;
		if (build_arg(build_args, a->name, &v)) {
			char *dup = v ? strdup(v) : NULL;

			r = v && !dup ? VD_ENOMEM : env_set(e, a->name, dup, v ? DF_VAR_SET : DF_VAR_UNKNOWN);
			continue;
		}
		/* without a default it stays unset (a platform arg keeps its
		 * value) */
		if (!a->value)
			continue;
		/* the default, with the ARGs before it substituted */
		if (df_shell_word(a->value, strlen(a->value), df->escape, e, &o) ||
		    !(val = vd_buf_detach(&o.buf))) {
			vd_buf_release(&o.buf);
			return VD_ENOMEM;
		}
		r = env_set(e, a->name, val, o.unknown ? DF_VAR_UNKNOWN : DF_VAR_SET);
	}
	return r;
}

int df_resolve_base(const vd_dockerfile *df, size_t i, const struct df_env *e, int *parent,
			bool *unresolved)
{
	const vd_dockerfile_stage *st = &df->stages[i];
	struct df_word_out o = { VD_BUF_INIT, false, false, 0 };
	const char *name;
	size_t j;
	bool named_before = false;

	*parent = -1;
	*unresolved = false;
	if (df_shell_word(st->base, strlen(st->base), df->escape, e, &o)) {
		vd_buf_release(&o.buf);
		return VD_ENOMEM;
	}
	name = vd_buf_cstr(&o.buf);
	for (j = i; j-- > 0;) {
		if (!df->stages[j].name)
			continue;
		named_before = true;
		if (!o.unknown && df_eq_nocase(df->stages[j].name, name)) {
			*parent = (int)j;
			break;
		}
	}
	if (o.unknown && named_before) {
		/* what is known already holds a character no stage name has:
		 * an image ("python:${V}", "${REGISTRY}/app") */
		bool could = true;

		for (j = 0; name[j] && could; j++) {
			char c = df_lower(name[j]);

			could = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
				c == '_' || c == '.';
		}
		*unresolved = could;
	}
	vd_buf_release(&o.buf);
	return 0;
}
