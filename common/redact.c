/* Secret redaction (common/log.h): where a secret *is*, and the values that
 * cannot be mistaken for anything else.
 *
 * Two passes over a text.  The first is structural and needs no registered
 * value: what follows a secret-named key (`DB_PASSWORD=…`, `"token": "…"`,
 * `Authorization: …` at the start of a line), a URL's password
 * (`scheme://user:…@`) becomes "***" — as far as the value goes by its
 * syntax, or further when a registered value with a blank or a comma stands
 * there.  The second replaces registered values wherever they appear, but
 * only the *strong* ones — long and varied enough that no ordinary word,
 * image, path or service name is one of them.  A weak value ("postgres",
 * "voxpersona", "changeme") is hidden only by the first pass: replacing it
 * as a substring would garble the names people read (`postgres:18-alpine`
 * as `***:18-alpine`).  A value that is, or lies inside, a name of the model
 * (vd_secret_keep) is weak whatever it looks like; a password that *is*
 * such a name, or a strong one inside one, is warned about once.
 */
#include "common/log.h"
#include "common/error.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

extern char **environ;

struct secret {
	char *value;
	size_t len;
	char *what;      /* the variable holding it, or NULL */
	bool strong;     /* replaced as a substring */
	bool warned;
};

struct kept {
	char *kind;      /* "service", "image", ... */
	char *name;
};

static struct secret *secrets;
static size_t n_secrets;
static struct kept *kept;
static size_t n_kept;
static bool first[256];      /* bytes that begin a strong secret */
static size_t n_strong;

/* ------------------------------------------------------------------ classes */

/* Unmistakable: long, or of mixed kinds of characters.  "postgres",
 * "changeme", "voxpersona", "admin123" are not; "s3cr3t-pw",
 * "Mk1DbPass7f3a9c-secret", a 40-hex token are. */
static bool unmistakable(const char *v, size_t len)
{
	bool lower = false, upper = false, digit = false, other = false;
	int classes;
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)v[i];

		if (islower(c))
			lower = true;
		else if (isupper(c))
			upper = true;
		else if (isdigit(c))
			digit = true;
		else
			other = true;
	}
	classes = lower + upper + digit + other;
	if (len >= 20)
		return classes >= 2 || digit;
	if (len >= 12)
		return classes >= 2 && (digit || other);
	return len >= 8 && classes >= 3;
}

static void rebuild_first(void)
{
	size_t i;

	memset(first, 0, sizeof(first));
	n_strong = 0;
	for (i = 0; i < n_secrets; i++)
		if (secrets[i].strong) {
			first[(unsigned char)secrets[i].value[0]] = true;
			n_strong++;
		}
}

/* A password that is a name of the stack, or that a name of the stack
 * shows: said once, never with more than the name (which is public).  No
 * `": ` in the message, which would read as a key and its value. */
static void warn_name(struct secret *s, const struct kept *k, bool equal)
{
	if (s->warned)
		return;
	s->warned = true;
	vd_log(VD_LOG_WARN,
	       "%s %s the %s \"%s\", so it is hidden only where it stands as a value; "
	       "choose a secret that is no name of the stack",
	       s->what ? s->what : "a secret value", equal ? "is the name of" : "is part of the name of",
	       k->kind, k->name);
}

/* A value inside a kept name becomes weak.  One equal to the name is
 * warned about, and so is a strong one inside it (it was hidden everywhere
 * and no longer is); a weak word inside a longer name ("admin" in
 * "pgadmin") changes nothing and is not. */
static void judge(struct secret *s, const struct kept *k)
{
	bool equal, was_strong = s->strong;

	if (!strstr(k->name, s->value))
		return;
	equal = !strcmp(k->name, s->value);
	s->strong = false;
	if (equal || was_strong)
		warn_name(s, k, equal);
}

/* ------------------------------------------------------------------ registry */

int vd_secret_add_named(const char *what, const char *value)
{
	struct secret *n, *s;
	size_t i, len = value ? strlen(value) : 0;

	if (len < 4)
		return 0;
	for (i = 0; i < n_secrets; i++)
		if (!strcmp(secrets[i].value, value)) {
			if (!secrets[i].what && what)
				secrets[i].what = strdup(what);
			return 0;
		}
	n = realloc(secrets, (n_secrets + 1) * sizeof(*secrets));
	if (!n)
		return VD_ENOMEM;
	secrets = n;
	s = &secrets[n_secrets];
	memset(s, 0, sizeof(*s));
	if (!(s->value = strdup(value)) || (what && !(s->what = strdup(what)))) {
		free(s->value);
		free(s->what);
		return VD_ENOMEM;
	}
	s->len = len;
	s->strong = unmistakable(value, len);
	n_secrets++;
	for (i = 0; i < n_kept; i++)
		judge(s, &kept[i]);
	rebuild_first();
	return 0;
}

int vd_secret_add(const char *value)
{
	return vd_secret_add_named(NULL, value);
}

int vd_secret_keep(const char *kind, const char *name)
{
	struct kept *n;
	size_t i;

	if (!name || !*name)
		return 0;
	for (i = 0; i < n_kept; i++)
		if (!strcmp(kept[i].name, name))
			return 0;
	n = realloc(kept, (n_kept + 1) * sizeof(*kept));
	if (!n)
		return VD_ENOMEM;
	kept = n;
	if (!(kept[n_kept].name = strdup(name)) || !(kept[n_kept].kind = strdup(kind ? kind : "name"))) {
		free(kept[n_kept].name);
		return VD_ENOMEM;
	}
	n_kept++;
	for (i = 0; i < n_secrets; i++)
		judge(&secrets[i], &kept[n_kept - 1]);
	rebuild_first();
	return 0;
}

bool vd_secret_name(const char *name)
{
	static const char *const words[] = {
		"PASSWORD", "PASSWD", "SECRET", "TOKEN", "KEY", "CREDENTIAL",
		"AUTH", "PRIVATE", "PASS", "DSN", "CONNINFO",
	};
	char up[256];
	size_t i;

	for (i = 0; name[i] && name[i] != '=' && i < sizeof(up) - 1; i++)
		up[i] = (char)toupper((unsigned char)name[i]);
	up[i] = '\0';
	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strstr(up, words[i]))
			return true;
	return false;
}

void vd_secret_add_env(void)
{
	char **e;

	for (e = environ; e && *e; e++) {
		const char *eq = strchr(*e, '=');

		if (eq && vd_secret_name(*e)) {
			char *name = strndup(*e, (size_t)(eq - *e));

			vd_secret_add_named(name, eq + 1);
			free(name);
		}
	}
}

void vd_secret_clear(void)
{
	size_t i;

	for (i = 0; i < n_secrets; i++) {
		free(secrets[i].value);
		free(secrets[i].what);
	}
	for (i = 0; i < n_kept; i++) {
		free(kept[i].kind);
		free(kept[i].name);
	}
	free(secrets);
	free(kept);
	secrets = NULL;
	kept = NULL;
	n_secrets = n_kept = 0;
	rebuild_first();
}

/* ------------------------------------------------------------------ structure */

static bool key_char(char c)
{
	return isalnum((unsigned char)c) || c == '_' || c == '-' || c == '.';
}

/* A key whose value is a secret: named so (vd_secret_name), but not one
 * that names where a secret is kept (`DB_PASSWORD_FILE`, `--token-file`)
 * or which secret is meant (compose's `secret: bot_token`). */
static bool secret_key(const char *k, size_t len)
{
	static const char *const where[] = { "FILE", "PATH", "DIR" };
	char up[128];
	size_t i;

	if (!len || len >= sizeof(up))
		return false;
	for (i = 0; i < len; i++)
		up[i] = (char)toupper((unsigned char)k[i]);
	up[len] = '\0';
	if (!vd_secret_name(up) || !strcmp(up, "SECRET") || !strcmp(up, "SECRETS"))
		return false;
	for (i = 0; i < sizeof(where) / sizeof(where[0]); i++) {
		size_t l = strlen(where[i]);

		if (len >= l && !strcmp(up + len - l, where[i]))
			return false;
	}
	return true;
}

/* Where a value that begins at p ends: a quoted one at its closing quote
 * (*inner set: only what is inside is hidden), else at a byte of `stop`. */
static const char *value_end(const char *p, const char *stop, bool *quoted)
{
	*quoted = false;
	if (*p == '"' || *p == '\'') {
		char q = *p;
		const char *e = p + 1;

		while (*e && *e != q && *e != '\n') {
			if (*e == '\\' && e[1])
				e++;
			e++;
		}
		*quoted = true;
		return e;
	}
	return p + strcspn(p, stop);
}

/* A value that is a URL with a password or a conninfo
 * (`postgresql://app:pw@db`, `host=db password=pw`): only its password is
 * hidden, by the rules that read inside it, so the rest stays readable.  A
 * URL without one is hidden whole (a token may be in its path). */
static bool has_inner_secret(const char *v, const char *e)
{
	size_t n = (size_t)(e - v);
	const char *u = memmem(v, n, "://", 3);

	if (u) {
		const char *host = u + 3, *end = host + strcspn(host, "/?#@ \t\r\n\"'<>");

		return end < e && *end == '@' && memchr(host, ':', (size_t)(end - host));
	}
	return memmem(v, n, "password=", 9) || memmem(v, n, "PASSWORD=", 9);
}

struct out {
	vd_buf *buf;
	const char *run;   /* not copied yet from here */
	int r;
};

/* Copy up to `from`, then "***" for [from, to). */
static void hide(struct out *o, const char *from, const char *to)
{
	if (o->r || to <= from)
		return;
	if ((o->r = vd_buf_put(o->buf, o->run, (size_t)(from - o->run))) == 0)
		o->r = vd_buf_puts(o->buf, "***");
	o->run = to;
}

/* Where a value that begins at v ends at the latest: past the longest
 * registered value that begins there, so that a password with a blank or a
 * comma in it is hidden whole where it stands ("DB_PASSWORD=two words"). */
static const char *registered_end(const char *v, const char *e)
{
	size_t i;

	for (i = 0; i < n_secrets; i++)
		if (secrets[i].len > (size_t)(e - v) && !strncmp(v, secrets[i].value, secrets[i].len))
			e = v + secrets[i].len;
	return e;
}

/* Where a value inside a quoted string ends: at its closing quote q, past
 * escaped ones (`"DB_PASSWORD=a\"b"` in an inspect's Env). */
static const char *string_end(const char *v, char q)
{
	while (*v && *v != q && *v != '\n') {
		if (*v == '\\' && v[1])
			v++;
		v++;
	}
	return v;
}

/* `KEY=value`: p at '='.  Inside a quoted string (`"DB_PASSWORD=…"`, an
 * environment list in JSON) the value runs to the string's end. */
static const char *after_equals(struct out *o, const char *text, const char *p)
{
	const char *k = p, *v = p + 1, *e;
	bool quoted;

	while (k > text && key_char(k[-1]))
		k--;
	if (!secret_key(k, (size_t)(p - k)))
		return p + 1;
	if (k > text && (k[-1] == '"' || k[-1] == '\'')) {
		e = string_end(v, k[-1]);
		if (has_inner_secret(v, e))
			return v;
		hide(o, v, e);
		return e;
	}
	e = value_end(v, " \t\r\n\"',;&)}]\\", &quoted);
	if (quoted) {
		if (has_inner_secret(v + 1, e))
			return v + 1;
		hide(o, v + 1, e);
		return *e ? e + 1 : e;
	}
	e = registered_end(v, e);
	hide(o, v, e);
	return e;
}

/* `scheme://user:password@host`: p at ':' of "://".  A registered password
 * with an unescaped '@', '/' or '?' in it is hidden whole. */
static const char *url_password(struct out *o, const char *p)
{
	const char *u = p + 3, *end = u + strcspn(u, "/?#@ \t\r\n\"'<>"), *colon, *past;

	colon = memchr(u, ':', (size_t)(end - u));
	if (!colon)
		return *end == '@' ? end : p + 3;
	past = registered_end(colon + 1, end);
	if (past > end && *past == '@')
		end = past;
	else if (*end != '@')
		return p + 3;
	hide(o, colon + 1, end);
	return end;
}

/* `"key": value` (JSON) and `key: value` at the start of a line (YAML,
 * headers): p at ':'. */
static const char *after_colon(struct out *o, const char *text, const char *p)
{
	const char *k, *ke = p, *v, *e, *line;
	bool json = p > text && p[-1] == '"', quoted;

	if (json) {
		ke = p - 1;
		k = ke;
		while (k > text && k[-1] != '"' && k[-1] != '\n')
			k--;
		if (k == text || k[-1] != '"')
			return p + 1;
	} else {
		k = p;
		while (k > text && key_char(k[-1]))
			k--;
		/* only a key that begins its line (after blanks and a "- ") */
		line = k;
		while (line > text && (line[-1] == ' ' || line[-1] == '\t'))
			line--;
		if (line > text + 1 && line[-1] == '-' && line[-2] == ' ')
			line -= 2;
		while (line > text && (line[-1] == ' ' || line[-1] == '\t'))
			line--;
		if (line > text && line[-1] != '\n')
			return p + 1;
	}
	if (!secret_key(k, (size_t)(ke - k)))
		return p + 1;
	v = p + 1;
	while (*v == ' ' || *v == '\t')
		v++;
	e = value_end(v, json ? ",}]\r\n" : "\r\n", &quoted);
	if (has_inner_secret(quoted ? v + 1 : v, e))
		return quoted ? v + 1 : v;
	if (quoted) {
		hide(o, v + 1, e);
		return *e ? e + 1 : e;
	}
	/* a JSON value that is not a string, or a mapping/list: leave it */
	if (v == e || *v == '{' || *v == '[' || (json && (!strncmp(v, "null", 4) || !strncmp(v, "true", 4) ||
							  !strncmp(v, "false", 5))))
		return v;
	hide(o, v, e);
	return e;
}

static int structural(const char *in, vd_buf *out)
{
	struct out o = { out, in, 0 };
	const char *p = in;

	while (*p && !o.r) {
		p += strcspn(p, "=:");
		if (!*p)
			break;
		if (*p == '=')
			p = after_equals(&o, in, p);
		else if (p[1] == '/' && p[2] == '/')
			p = url_password(&o, p);
		else
			p = after_colon(&o, in, p);
	}
	if (!o.r)
		o.r = vd_buf_puts(out, o.run);
	return o.r;
}

/* ------------------------------------------------------------------ values */

static int substrings(const char *in, vd_buf *out)
{
	const char *p = in, *run = in;
	size_t i;
	int r;

	while (*p) {
		size_t best = 0;

		if (first[(unsigned char)*p]) {
			/* the longest secret starting here wins, so that a secret
			 * that contains another is hidden whole */
			for (i = 0; i < n_secrets; i++) {
				const struct secret *s = &secrets[i];

				if (s->strong && s->len > best && !strncmp(p, s->value, s->len))
					best = s->len;
			}
		}
		if (!best) {
			p++;
			continue;
		}
		if ((r = vd_buf_put(out, run, (size_t)(p - run))) || (r = vd_buf_puts(out, "***")))
			return r;
		p += best;
		run = p;
	}
	return vd_buf_put(out, run, (size_t)(p - run));
}

int vd_secret_redact(const char *in, vd_buf *out)
{
	vd_buf mid = VD_BUF_INIT;
	int r;

	if (!n_strong)
		return structural(in, out);
	if (!(r = structural(in, &mid)))
		r = substrings(vd_buf_cstr(&mid), out);
	vd_buf_release(&mid);
	return r;
}
