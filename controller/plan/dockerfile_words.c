/* Cutting instruction text into words the ways BuildKit does: builder
 * flags, blank-separated and quoted words, heredoc words, JSON arrays and
 * the CSV of --mount; and the arrays that hold them. */
#include "controller/plan/dockerfile.h"
#include "controller/plan/dockerfile_private.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/json.h"

int df_reserve(void *arrp, size_t n, size_t size)
{
	void **arr = arrp;
	size_t cap;
	void *p;

	if (n != 0 && (n < 4 || (n & (n - 1)) != 0)) {
		memset((char *)*arr + n * size, 0, size);
		return 0;
	}
	cap = n ? n * 2 : 4;
	if (cap > SIZE_MAX / size)
		return VD_ENOMEM;
	p = realloc(*arr, cap * size);
	if (!p)
		return VD_ENOMEM;
	*arr = p;
	memset((char *)p + n * size, 0, size);
	return 0;
}

int df_words_push(struct df_words *w, const char *s, size_t len)
{
	char *c;

	if (df_reserve(&w->v, w->n, sizeof(*w->v)))
		return VD_ENOMEM;
	c = strndup(s, len);
	if (!c)
		return VD_ENOMEM;
	w->v[w->n++] = c;
	return 0;
}

void df_words_release(struct df_words *w)
{
	size_t i;

	for (i = 0; i < w->n; i++)
		free(w->v[i]);
	free(w->v);
	w->v = NULL;
	w->n = 0;
}

int df_extract_flags(const char *line, struct df_words *flags, const char **rest)
{
	enum { SPACES, WORD, QUOTE } phase = SPACES;
	vd_buf word = VD_BUF_INIT;
	size_t pos, len = strlen(line);
	bool blank_ok = false;
	char quote = 0;
	int r = 0;

	*rest = line + len;
	for (pos = 0; pos <= len && !r; pos++) {
		char ch = pos < len ? line[pos] : 0;

		if (phase == SPACES) {
			if (pos == len)
				break;
			if (df_is_space(ch))
				continue;
			if (ch != '-' || pos + 1 == len || line[pos + 1] != '-') {
				*rest = line + pos;
				break;
			}
			phase = WORD;
		}
		if (pos == len) {
			if (strcmp(vd_buf_cstr(&word), "--") != 0 && (blank_ok || word.len))
				r = df_words_push(flags, vd_buf_cstr(&word), word.len);
			break;
		}
		if (phase == WORD) {
			if (df_is_space(ch)) {
				phase = SPACES;
				if (strcmp(vd_buf_cstr(&word), "--") == 0) {
					*rest = line + pos;
					while (**rest && df_is_space(**rest))
						(*rest)++;
					break;
				}
				if (blank_ok || word.len)
					r = df_words_push(flags, vd_buf_cstr(&word), word.len);
				vd_buf_clear(&word);
				blank_ok = false;
				continue;
			}
			if (ch == '\'' || ch == '"') {
				quote = ch;
				blank_ok = true;
				phase = QUOTE;
				continue;
			}
			if (ch == '\\') {
				if (pos + 1 == len)
					continue;
				ch = line[++pos];
			}
			r = vd_buf_putc(&word, ch);
			continue;
		}
		/* QUOTE */
		if (ch == quote) {
			phase = WORD;
			continue;
		}
		if (ch == '\\') {
			if (pos + 1 == len) {
				phase = WORD;
				continue;
			}
			ch = line[++pos];
		}
		r = vd_buf_putc(&word, ch);
	}
	vd_buf_release(&word);
	return r;
}

int df_split_blank(const char *s, struct df_words *out)
{
	int r = 0;

	while (*s && !r) {
		const char *e;

		while (*s && df_is_blank(*s))
			s++;
		if (!*s)
			break;
		for (e = s; *e && !df_is_blank(*e); e++)
			;
		r = df_words_push(out, s, (size_t)(e - s));
		s = e;
	}
	return r;
}

int df_split_quoted(const char *s, char esc, struct df_words *out)
{
	size_t i = 0, len = strlen(s);
	int r = 0;

	while (i < len && !r) {
		size_t start;
		char quote = 0;

		while (i < len && df_is_space(s[i]))
			i++;
		if (i >= len)
			break;
		for (start = i; i < len; i++) {
			if (quote) {
				if (s[i] == quote)
					quote = 0;
				else if (s[i] == esc && quote != '\'' && i + 1 < len)
					i++;
			} else if (df_is_space(s[i])) {
				break;
			} else if (s[i] == '\'' || s[i] == '"') {
				quote = s[i];
			} else if (s[i] == esc && i + 1 < len) {
				i++;
			}
		}
		r = df_words_push(out, s + start, i - start);
	}
	return r;
}

int df_heredoc_words(const char *s, struct df_words *out)
{
	vd_buf w = VD_BUF_INIT;
	size_t i = 0, len = strlen(s);
	bool in_word = false;
	int r = 0;

	while (i <= len && !r) {
		char c = i < len ? s[i] : ' ';

		if (df_is_space(c)) {
			if (in_word)
				r = df_words_push(out, vd_buf_cstr(&w), w.len);
			vd_buf_clear(&w);
			in_word = false;
			i++;
			continue;
		}
		in_word = true;
		if (c == '\\') {
			r = vd_buf_put(&w, s + i, i + 1 < len ? 2 : 1);
			i += 2;
		} else if (c == '\'' || c == '"') {
			size_t e = i + 1;

			while (e < len && s[e] != c) {
				if (c == '"' && s[e] == '\\' && e + 1 < len)
					e++;
				e++;
			}
			if (e < len)
				e++;
			r = vd_buf_put(&w, s + i, e - i);
			i = e;
		} else if (c == '<' && i + 1 < len && s[i + 1] == '<') {
			size_t e = i + 2;

			while (e < len && (s[e] == ' ' || s[e] == '\t'))
				e++;
			r = vd_buf_put(&w, s + i, e - i);
			i = e;
		} else {
			r = vd_buf_putc(&w, c);
			i++;
		}
	}
	vd_buf_release(&w);
	return r;
}

int df_heredoc_name(const char *word, bool *chomp, char **name)
{
	struct df_word_out o = { VD_BUF_INIT, false, false, 0 };
	const char *s = word;

	*name = NULL;
	while (*s >= '0' && *s <= '9')
		s++;
	if (s[0] != '<' || s[1] != '<')
		return 0;
	s += 2;
	*chomp = *s == '-';
	if (*chomp)
		s++;
	while (df_is_space(*s))
		s++;
	if (!*s || strchr(s, '<'))
		return 0;
	if (df_shell_word(s, strlen(s), '\\', NULL, &o) || !(*name = vd_buf_detach(&o.buf))) {
		vd_buf_release(&o.buf);
		return VD_ENOMEM;
	}
	return 0;
}

int df_json_strings(const char *rest, struct df_words *out, int *r)
{
	vd_error jerr = VD_ERROR_INIT;
	yajl_val v;
	size_t i;
	int res = 1;

	*r = 0;
	while (df_is_space(*rest))
		rest++;
	if (*rest != '[')
		return 0;
	v = vd_json_parse(rest, &jerr);
	vd_error_release(&jerr);
	if (!v || !YAJL_IS_ARRAY(v)) {
		if (v)
			yajl_tree_free(v);
		return 0;
	}
	for (i = 0; i < vd_json_len(v) && res == 1; i++) {
		yajl_val e = vd_json_idx(v, i);
		const char *str = YAJL_IS_STRING(e) ? YAJL_GET_STRING(e) : NULL;

		if (!str)
			res = -1;
		else if ((*r = df_words_push(out, str, strlen(str))))
			res = -1;
	}
	yajl_tree_free(v);
	return res;
}

int df_csv_fields(const char *s, struct df_words *out)
{
	vd_buf f = VD_BUF_INIT;
	int r = 0;

	for (;;) {
		vd_buf_clear(&f);
		if (*s == '"') {
			for (s++; *s && !r; s++) {
				if (*s == '"' && s[1] == '"')
					r = vd_buf_putc(&f, *s++);
				else if (*s == '"')
					break;
				else
					r = vd_buf_putc(&f, *s);
			}
			if (*s == '"')
				s++;
			while (*s && *s != ',' && !r)
				r = vd_buf_putc(&f, *s++);
		} else {
			while (*s && *s != ',' && !r)
				r = vd_buf_putc(&f, *s++);
		}
		if (r || (r = df_words_push(out, vd_buf_cstr(&f), f.len)))
			break;
		if (*s != ',')
			break;
		s++;
	}
	vd_buf_release(&f);
	return r;
}
