/* voxdeploy — what the dockerfile files share; not for other modules.
 *
 * Private: included only by controller/dockerfile*.c, never installed;
 * controller/dockerfile.h is the module's one public header.
 *
 *   dockerfile.c        the parser: physical and logical lines, parser
 *                       directives, heredoc bodies skipped, what is settled
 *                       after the last line (FROM parents, --from stages,
 *                       the ARGs COPY sources use); the result freed;
 *   dockerfile_instr.c  one instruction: FROM, ARG, COPY/ADD and RUN --mount
 *                       into the result, ONBUILD;
 *   dockerfile_words.c  instruction text cut into words the ways BuildKit
 *                       does (flags, quoted words, heredocs, JSON, CSV);
 *   dockerfile_shell.c  a word as BuildKit's shell lexer reads it (quotes,
 *                       escapes, variables), the variables a FROM line sees
 *                       and the stage it names;
 *   dockerfile_sources.c what reaches the image built: the stages the target
 *                       needs and their build-context sources;
 *   dockerfile_match.c  a context path against a COPY source.
 *
 * Shared functions are named df_* (the public API is vd_dockerfile_*).
 */
#ifndef VD_CONTROLLER_DOCKERFILE_PRIVATE_H
#define VD_CONTROLLER_DOCKERFILE_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "common/buf.h"
#include "controller/plan/dockerfile.h"

/* ---- characters ---- */

/* Go's unicode.IsSpace for the bytes a Dockerfile is made of */
static inline bool df_is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/* the parser's reWhitespace: [\t\v\f\r ] */
static inline bool df_is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\v' || c == '\f' || c == '\r';
}

static inline char df_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static inline bool df_is_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

static inline bool df_starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static inline bool df_eq_nocase(const char *a, const char *b)
{
	while (*a && *b && df_lower(*a) == df_lower(*b))
		a++, b++;
	return *a == *b;
}

/* ---- the parser (dockerfile.c) ---- */

struct df_parser {
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

/* VD_ENOMEM "out of memory" in p->err. */
int df_oom(struct df_parser *p);

/* ---- instructions (dockerfile_instr.c) ---- */

/* One logical line (modified), starting at line lineno, into p->df; an
 * error is set in p->err.  *heredocs: the instruction may open heredocs. */
int df_instruction(struct df_parser *p, char *line, unsigned lineno, bool onbuild, bool *heredocs);

/* ---- words (dockerfile_words.c) ----
 * Each returns 0 or VD_ENOMEM unless it says otherwise. */

/* Room for element n of an array that grows by doubling (n == len before
 * the push); the new element is zeroed. */
int df_reserve(void *arrp, size_t n, size_t size);

/* A list of words, each its own allocation. */
struct df_words {
	char **v;
	size_t n;
};

int df_words_push(struct df_words *w, const char *s, size_t len);
void df_words_release(struct df_words *w);

/* BuildKit's extractBuilderFlags: leading "--name[=value]" words, with
 * quotes and backslash escapes, up to the first other word or "--".
 * *rest points at what follows. */
int df_extract_flags(const char *line, struct df_words *flags, const char **rest);

/* parseStringsWhitespaceDelimited */
int df_split_blank(const char *s, struct df_words *out);

/* parseWords (ARG): whitespace-separated words, quotes and escapes kept */
int df_split_quoted(const char *s, char esc, struct df_words *out);

/* Words of a line as BuildKit's heredoc detection sees them: quotes and
 * escapes kept, and "<<" swallowing the blanks after it ("<< EOF"). */
int df_heredoc_words(const char *s, struct df_words *out);

/* ^(\d*)<<(-?)\s*([^<]+)$ : a heredoc word; *name gets the terminator with
 * its quotes removed (NULL: not a heredoc). */
int df_heredoc_name(const char *word, bool *chomp, char **name);

/* A JSON array of strings (parseJSON): 1 it is one, 0 it is not JSON,
 * -1 a JSON array holding something else; *r 0 or VD_ENOMEM. */
int df_json_strings(const char *rest, struct df_words *out, int *r);

/* One CSV field list (encoding/csv, as BuildKit reads --mount). */
int df_csv_fields(const char *s, struct df_words *out);

/* ---- shell words and build arguments (dockerfile_shell.c) ---- */

enum df_var_state { DF_VAR_UNSET, DF_VAR_SET, DF_VAR_UNKNOWN };

/* One variable a word may refer to. */
struct df_env_var {
	const char *name;
	char *value;
	enum df_var_state state;
};

/* The variables in scope; the last one of a name wins. */
struct df_env {
	struct df_env_var *v;
	size_t n;
};

/* A word as the lexer leaves it. */
struct df_word_out {
	vd_buf buf;
	bool has_var;
	bool unknown;
	unsigned depth;   /* ${a:-${b:-...}} nesting, capped */
};

/* len bytes of one shell word appended to o->buf: quotes removed, the
 * escape character esc applied; variables substituted from env, or copied
 * as written when env is NULL (o->has_var notes them either way).  0 or
 * VD_ENOMEM. */
int df_shell_word(const char *s, size_t len, char esc, const struct df_env *env, struct df_word_out *o);

void df_env_release(struct df_env *e);

/* The variables a FROM line sees: the engine's platform args (unknown
 * here) and the global ARGs, each with its build arg or its default.
 * build_args as in vd_dockerfile_final_sources().  0 or VD_ENOMEM. */
int df_meta_env(const vd_dockerfile *df, const char *const *build_args, struct df_env *e);

/* Which earlier stage stage i is built FROM (-1: an image); *unresolved
 * when a variable only the engine knows could make it name one.  0 or
 * VD_ENOMEM. */
int df_resolve_base(const vd_dockerfile *df, size_t i, const struct df_env *e, int *parent,
		    bool *unresolved);

#endif
