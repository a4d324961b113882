/* A service's mapping as written — merged and interpolated — kept as JSON
 * for compose 1.29's config hash (compose_hash_v1.c), which hashes most
 * keys as its YAML loader (PyYAML, YAML 1.1) typed them: `42` an integer,
 * `yes` a boolean, `1.5` a float, `22:22` the base-60 integer 1342, while
 * a quoted or interpolated value stays a string.  A list that was made a
 * mapping for merging (environment, labels, extra_hosts, depends_on,
 * networks) is written as the list it was. */
#include "controller/model/compose_private.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int compose_pyfloat(double d, char out[40])
{
	char e[40], *mant, *exps;
	int prec, exp, decimals;

	if (isinf(d))
		return snprintf(out, 40, "%s", d < 0 ? "-Infinity" : "Infinity");
	if (isnan(d))
		return snprintf(out, 40, "NaN");
	/* Python's repr: the fewest digits that read back as d; fixed from
	 * 1e-4 up to 1e16 (with ".0" when there is no fraction), else d.dde+XX */
	for (prec = 0; prec < 17; prec++) {
		snprintf(e, sizeof(e), "%.*e", prec, d);
		if (strtod(e, NULL) == d)
			break;
	}
	exps = strchr(e, 'e');
	exp = atoi(exps + 1);
	if (exp >= -4 && exp < 16) {
		decimals = prec - exp > 0 ? prec - exp : 0;
		snprintf(out, 40, "%.*f", decimals, d);
		if (!strchr(out, '.'))
			strcat(out, ".0");
		return 0;
	}
	*exps = '\0';
	mant = e;
	return snprintf(out, 40, "%se%c%02d", mant, exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
}

static bool all_of(const char *s, const char *set)
{
	for (; *s; s++)
		if (!strchr(set, *s))
			return false;
	return true;
}

/* PyYAML's int: 0b.., 0.. (octal), decimal, 0x.., base 60 (1:30). */
static bool yaml11_int(const char *t, long long *out)
{
	char buf[64], *o = buf;
	const char *p = t;
	int sign = 1, base = 10;

	if (*p == '-' || *p == '+')
		sign = *p++ == '-' ? -1 : 1;
	if (!*p || strlen(p) >= sizeof(buf))
		return false;
	if (strchr(p, ':')) {
		long long v = 0;
		const char *q = p;

		if (*q < '1' || *q > '9')
			return false;
		while (*q) {
			long long part = 0;
			const char *start = q;

			while (isdigit((unsigned char)*q) || *q == '_')
				if (*q++ != '_' && (part = part * 10 + (q[-1] - '0')) > 1000000000000LL)
					return false;   /* no overflow: such text stays a string */
			if (q == start || (*q && *q != ':'))
				return false;
			if (start != p && (part > 59 || q - start > 2))
				return false;
			if (v > 1000000000000LL)
				return false;
			v = v * 60 + part;
			if (*q)
				q++;
		}
		*out = sign * v;
		return true;
	}
	if (p[0] == '0' && (p[1] == 'b' || p[1] == 'x')) {
		base = p[1] == 'b' ? 2 : 16;
		p += 2;
		if (!*p || !all_of(p, base == 2 ? "01_" : "0123456789abcdefABCDEF_"))
			return false;
	} else if (p[0] == '0' && p[1]) {
		base = 8;
		if (!all_of(p, "01234567_"))
			return false;
	} else if (!(p[0] == '0' && !p[1]) && !(isdigit((unsigned char)p[0]) && all_of(p, "0123456789_"))) {
		return false;
	}
	for (; *p; p++)
		if (*p != '_')
			*o++ = *p;
	*o = '\0';
	*out = sign * strtoll(buf, NULL, base);
	return true;
}

/* PyYAML's float, the forms compose files use: [-+]1.5, 1., 1.5e+3, .5. */
static bool yaml11_float(const char *t, double *out)
{
	char buf[64], *o = buf;
	const char *p = t, *dot = strchr(t, '.');

	if (!dot || strlen(t) >= sizeof(buf))
		return false;
	if (*p == '-' || *p == '+')
		p++;
	if (!strcmp(p, ".inf") || !strcmp(p, ".Inf") || !strcmp(p, ".INF")) {
		*out = t[0] == '-' ? -INFINITY : INFINITY;
		return true;
	}
	if (p == dot ? !isdigit((unsigned char)p[1]) : !isdigit((unsigned char)*p))
		return false;
	for (p = t; *p; p++) {
		if (*p == '_')
			continue;
		if (!isdigit((unsigned char)*p) && !strchr(".+-eE", *p))
			return false;
		*o++ = *p;
	}
	*o = '\0';
	{
		char *end;
		const char *e = strpbrk(buf, "eE");

		/* YAML 1.1 wants a sign on the exponent */
		if (e && e[1] != '+' && e[1] != '-')
			return false;
		*out = strtod(buf, &end);
		return !*end;
	}
}

static void scalar(yajl_gen g, const vd_yaml_node *n)
{
	static const char *const trues[] = { "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON", NULL };
	static const char *const falses[] = { "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF",
					      NULL };
	long long i;
	double d;
	char num[40];
	size_t k;

	if (!n->plain || n->rewritten || n->tag) {
		vd_jgen_str(g, n->s);
		return;
	}
	for (k = 0; trues[k]; k++)
		if (!strcmp(n->s, trues[k])) {
			yajl_gen_bool(g, 1);
			return;
		}
	for (k = 0; falses[k]; k++)
		if (!strcmp(n->s, falses[k])) {
			yajl_gen_bool(g, 0);
			return;
		}
	if (yaml11_int(n->s, &i)) {
		yajl_gen_integer(g, i);
		return;
	}
	if (yaml11_float(n->s, &d)) {
		compose_pyfloat(d, num);
		yajl_gen_number(g, num, strlen(num));
		return;
	}
	vd_jgen_str(g, n->s);
}

static void node(yajl_gen g, const vd_yaml_node *n, int depth)
{
	size_t i;

	if (!n || n->kind == VD_YAML_NULL || depth > 64) {
		yajl_gen_null(g);
		return;
	}
	if (n->written)   /* a list or string that normalisation made a mapping or list */
		n = n->written;
	switch (n->kind) {
	case VD_YAML_STR:
		scalar(g, n);
		break;
	case VD_YAML_SEQ:
		yajl_gen_array_open(g);
		for (i = 0; i < n->n; i++)
			node(g, n->items[i], depth + 1);
		yajl_gen_array_close(g);
		break;
	case VD_YAML_MAP:
		yajl_gen_map_open(g);
		for (i = 0; i < n->n; i++) {
			if (!strncmp(n->pairs[i].key->s, "x-", 2))
				continue;
			vd_jgen_str(g, n->pairs[i].key->s);
			node(g, n->pairs[i].val, depth + 1);
		}
		yajl_gen_map_close(g);
		break;
	default:
		yajl_gen_null(g);
	}
}

char *compose_written_json(loadctx *lc, const vd_yaml_node *v)
{
	yajl_gen g = vd_jgen_new();
	vd_buf out = VD_BUF_INIT;
	char *s;

	if (!g)
		return NULL;
	node(g, v, 0);
	if (vd_jgen_finish(g, &out)) {
		vd_buf_release(&out);
		return NULL;
	}
	s = compose_dup(lc, vd_buf_cstr(&out));
	vd_buf_release(&out);
	return s;
}
