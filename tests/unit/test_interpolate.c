/* Unit tests of .env parsing and ${VAR} interpolation.
 *
 * The expected values are compose v2's, read from compose-go:
 *  - template/template.go and template/template_test.go (interpolation): the
 *    pattern `\$(?i:(?P<escaped>\$)|(?P<named>[_a-z][_a-z0-9]*)|
 *    {(?:(?P<braced>[_a-z][_a-z0-9]*(?::?[-+?](.*))?)}|(?P<invalid>)))`,
 *    getFirstBraceClosingIndex() and the default/required/alternative
 *    functions; cases named after an upstream test (TestEscaped, ...) repeat
 *    that test's input and answer.
 *  - dotenv/parser.go, dotenv/godotenv.go and dotenv/godotenv_test.go (.env):
 *    locateKeyName, extractVarValue, extractQuotedValue, expandEscapes,
 *    ExpandVariables (lookup first, then the file's earlier keys).
 * Where voxdeploy refuses what compose accepts, the case says so.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "controller/model/interpolate.h"
#include "testutil.h"

/* ------------------------------------------------------------ fixtures */

struct var {
	const char *name;
	const char *value;
};

/* compose-go's template_test.go uses FOO=first and BAR="" (set, empty) */
static const struct var table_env[] = {
	{ "FOO", "first" },
	{ "BAR", "" },
	{ "NAME", "world" },
	{ "DOLLAR", "$HOME ${FOO}" },
	{ "foo", "lower" },
	{ NULL, NULL },
};

static const char *table_lookup(const char *name, void *ctx)
{
	const struct var *v;

	for (v = ctx; v->name; v++)
		if (!strcmp(v->name, name))
			return v->value;
	return NULL;
}

/* ---------------------------------------------------- interpolation table */

struct icase {
	const char *in;
	const char *want;     /* NULL: an error is expected */
	const char *errsub;   /* substring of the error message */
};

#define BADFMT "invalid interpolation format for"

static const struct icase icases[] = {
	/* TestSubstituteNoMatch, TestEscaped */
	{ "foo", "foo", NULL },
	{ "$${foo}", "${foo}", NULL },
	/* TestValueNoDefault, TestNoValueNoDefault */
	{ "This $FOO var", "This first var", NULL },
	{ "This ${FOO} var", "This first var", NULL },
	{ "This ${missing} var", "This  var", NULL },
	{ "This ${BAR} var", "This  var", NULL },
	/* TestNonBraced (docker/compose#8601): a name stops at '-' */
	{ "$FOO-bar", "first-bar", NULL },
	/* TestNoValueWithDefault, TestEmptyValueWithSoftDefault,
	 * TestValueWithSoftDefault, TestEmptyValueWithHardDefault */
	{ "ok ${missing:-def}", "ok def", NULL },
	{ "ok ${missing-def}", "ok def", NULL },
	{ "ok ${BAR:-def}", "ok def", NULL },
	{ "ok ${FOO:-def}", "ok first", NULL },
	{ "ok ${BAR-def}", "ok ", NULL },
	/* TestNonAlphanumericDefault: only the first operator counts */
	{ "ok ${BAR:-/non:-alphanumeric}", "ok /non:-alphanumeric", NULL },
	/* TestDefaultsWithNestedExpansion */
	{ "ok ${UNSET_VAR-$FOO}", "ok first", NULL },
	{ "ok ${UNSET_VAR-${FOO}}", "ok first", NULL },
	{ "ok ${UNSET_VAR-${FOO} ${FOO}}", "ok first first", NULL },
	{ "ok ${BAR:-$FOO}", "ok first", NULL },
	{ "ok ${BAR:-${FOO}}", "ok first", NULL },
	{ "ok ${BAR:-${FOO} ${FOO}}", "ok first first", NULL },
	/* TestMandatoryVariableErrors */
	{ "not ok ${UNSET_VAR:?Mandatory Variable Unset}", NULL,
	  "required variable UNSET_VAR is missing a value: Mandatory Variable Unset" },
	{ "not ok ${BAR:?Mandatory Variable Empty}", NULL,
	  "required variable BAR is missing a value: Mandatory Variable Empty" },
	{ "not ok ${UNSET_VAR:?}", NULL, "required variable UNSET_VAR is missing a value" },
	{ "not ok ${UNSET_VAR?Mandatory Variable Unset}", NULL,
	  "required variable UNSET_VAR is missing a value: Mandatory Variable Unset" },
	{ "not ok ${UNSET_VAR?}", NULL, "required variable UNSET_VAR is missing a value" },
	/* TestMandatoryVariableErrorsWithNestedExpansion */
	{ "not ok ${UNSET_VAR:?Mandatory Variable ${FOO}}", NULL,
	  "required variable UNSET_VAR is missing a value: Mandatory Variable first" },
	{ "not ok ${UNSET_VAR?Mandatory Variable ${FOO}}", NULL,
	  "required variable UNSET_VAR is missing a value: Mandatory Variable first" },
	/* TestDefaultsForMandatoryVariables: ? accepts set-but-empty */
	{ "ok ${FOO:?err}", "ok first", NULL },
	{ "ok ${FOO?err}", "ok first", NULL },
	{ "ok ${BAR?err}", "ok ", NULL },
	{ "ok ${BAR:?}", NULL, "required variable BAR is missing a value" },
	/* TestPrecedence / TestSubstitutionFunctionChoice: the operator right
	 * after the name wins, later ones are text */
	{ "${UNSET_VAR?bar-baz}", NULL, "required variable UNSET_VAR is missing a value: bar-baz" },
	{ "${UNSET_VAR-myerror?msg}", "myerror?msg", NULL },
	{ "${FOO?bar-baz}", "first", NULL },
	{ "${missing:-a:-b}", "a:-b", NULL },
	{ "${missing+x-y}", "", NULL },
	/* alternatives (template.go defaultWhenNotEmpty / defaultWhenSet) */
	{ "${FOO:+alt}", "alt", NULL },
	{ "${BAR:+alt}", "", NULL },
	{ "${missing:+alt}", "", NULL },
	{ "${BAR+alt}", "alt", NULL },
	{ "${missing+alt}", "", NULL },
	{ "${FOO+${NAME}}", "world", NULL },
	{ "${FOO-}", "first", NULL },
	{ "${missing-}", "", NULL },
	/* TestInvalid (the forms a '{' opens) */
	{ "${", NULL, BADFMT },
	{ "${}", NULL, BADFMT },
	{ "${ }", NULL, BADFMT },
	{ "${ foo}", NULL, BADFMT },
	{ "${foo }", NULL, BADFMT },
	{ "${foo!}", NULL, BADFMT },
	{ "${FOO", NULL, BADFMT },
	{ "${FOO:-x", NULL, BADFMT },
	{ "${:-x}", NULL, BADFMT },
	{ "${FOO:x}", NULL, BADFMT },
	{ "${1FOO}", NULL, BADFMT },
	{ "x ${FOO} ${", NULL, BADFMT },
	/* the braced form must close on its own line (`.` stops at \n) */
	{ "${missing:-x\n}", NULL, BADFMT },
	/* a $ not followed by $, a name or '{' matches nothing: it stays (the
	 * current pattern; old compose-go listed "$}" as invalid) */
	{ "$}", "$}", NULL },
	{ "$1", "$1", NULL },
	{ "$ FOO", "$ FOO", NULL },
	{ "price: 5$", "price: 5$", NULL },
	{ "$", "$", NULL },
	{ "$-x $. $/", "$-x $. $/", NULL },
	{ "{FOO}", "{FOO}", NULL },
	/* $$ escapes, left to right */
	{ "$$FOO", "$FOO", NULL },
	{ "$$$FOO", "$first", NULL },
	{ "a$$$$b", "a$$b", NULL },
	{ "${missing:-$$}", "$", NULL },
	/* names: [_a-z][_a-z0-9]*, longest match, case kept for the lookup */
	{ "$FOO$FOO", "firstfirst", NULL },
	{ "${FOO}${NAME}", "firstworld", NULL },
	{ "$FOO_suffix", "", NULL },
	{ "${FOO}_suffix", "first_suffix", NULL },
	{ "$foo", "lower", NULL },
	{ "$FOO.bar", "first.bar", NULL },
	{ "$_", "", NULL },
	{ "$FOO}", "first}", NULL },
	{ "${FOO}}", "first}", NULL },
	/* values are not interpolated again */
	{ "${DOLLAR}", "$HOME ${FOO}", NULL },
	{ "${missing:-$DOLLAR}", "$HOME ${FOO}", NULL },
	/* nested defaults */
	{ "${A:-${B:-x}}", "x", NULL },
	{ "${A:-${B:-${FOO}}}", "first", NULL },
	{ "${FOO:-${BAR:-x}y}", "first", NULL },
	{ "${A:-${B:-x}}-${C:-y}", "x-y", NULL },
	/* compose substitutes a default before it looks at the variable: an
	 * error inside an unused default still counts */
	{ "${FOO:-${missing:?inner}}", NULL, "required variable missing is missing a value: inner" },
	{ "${missing:?${FOO}:${NAME}}", NULL,
	  "required variable missing is missing a value: first:world" },
	/* braces inside a default: counted by getFirstBraceClosingIndex */
	{ "${missing:-{x}}", "{x}", NULL },
	{ "${missing:-a}b}", "ab}", NULL },
	/* ...where a '{' skips the next character, so "{}" never balances and
	 * the last '}' on the line ends the form */
	{ "${missing:-{}}", "{}", NULL },
	{ "${missing:-{}", "{", NULL },
	/* text around, several lines, bytes passed through */
	{ "line1\n${FOO}\nline3", "line1\nfirst\nline3", NULL },
	{ "${FOO:-a}\n${missing:-b}", "first\nb", NULL },
	{ "${missing:-\xc3\xa9t\xc3\xa9}", "\xc3\xa9t\xc3\xa9", NULL },
	{ "", "", NULL },
	{ "postgresql://${U:-app}:${P:-secret}@db:5432/${D:-vox}",
	  "postgresql://app:secret@db:5432/vox", NULL },
};

static void interpolate__table(void **state)
{
	size_t i, failed = 0;

	(void)state;
	assert_true(sizeof(icases) / sizeof(icases[0]) >= 50);
	for (i = 0; i < sizeof(icases) / sizeof(icases[0]); i++) {
		const struct icase *c = &icases[i];
		vd_buf out = VD_BUF_INIT;
		vd_error err = VD_ERROR_INIT;
		int r;

		vd_buf_puts(&out, "<");
		r = vd_interpolate(c->in, table_lookup, (void *)table_env, &out, NULL, &err);
		if (c->want) {
			if (r || strcmp(vd_buf_cstr(&out) + 1, c->want)) {
				print_error("case %zu \"%s\": got %d \"%s\" (%s), want \"%s\"\n", i,
					    c->in, r, vd_buf_cstr(&out) + 1, vd_error_msg(&err),
					    c->want);
				failed++;
			}
		} else {
			/* on failure the buffer keeps what it had */
			if (r != VD_EINVAL || !strstr(vd_error_msg(&err), c->errsub) ||
			    strcmp(vd_buf_cstr(&out), "<")) {
				print_error("case %zu \"%s\": got %d \"%s\", want error \"%s\"\n", i,
					    c->in, r, vd_error_msg(&err), c->errsub);
				failed++;
			}
		}
		vd_buf_release(&out);
		vd_error_release(&err);
	}
	assert_int_equal(failed, 0);
}

static void interpolate__required_message(void **state)
{
	vd_buf out = VD_BUF_INIT;
	vd_error err = VD_ERROR_INIT;

	(void)state;
	assert_int_equal(vd_interpolate("${DB_PASSWORD:?set it in .env}", table_lookup,
					(void *)table_env, &out, NULL, &err),
			 VD_EINVAL);
	assert_int_equal(err.code, VD_EINVAL);
	assert_string_equal(vd_error_msg(&err),
			    "required variable DB_PASSWORD is missing a value: set it in .env");
	assert_int_equal(out.len, 0);
	vd_error_release(&err);

	/* the whole template is quoted in a format error (cut when long) */
	assert_int_equal(vd_interpolate("image: ${TAG", NULL, NULL, &out, NULL, &err), VD_EINVAL);
	assert_non_null(strstr(vd_error_msg(&err), "\"image: ${TAG\""));
	vd_error_release(&err);
	vd_buf_release(&out);
}

static void interpolate__unset_collected(void **state)
{
	vd_buf out = VD_BUF_INIT;
	vd_kvs unset = { NULL, 0 };
	vd_error err = VD_ERROR_INIT;

	(void)state;
	/* compose warns only where a plain $X / ${X} meets an unset variable;
	 * defaults are substituted (so warned about) even when unused */
	assert_int_equal(vd_interpolate("$A ${B} ${A} ${C:-x} ${D-y} ${E:+z} ${F+w} $FOO ${BAR} "
					"${FOO:-$Z}",
					table_lookup, (void *)table_env, &out, &unset, &err),
			 0);
	assert_string_equal(vd_buf_cstr(&out), "   x y   first  first");
	assert_int_equal(unset.len, 3);
	assert_string_equal(unset.items[0].key, "A");
	assert_string_equal(unset.items[1].key, "B");
	assert_string_equal(unset.items[2].key, "Z");
	assert_string_equal(unset.items[0].value, "");

	/* a failing call leaves the list as it was */
	assert_int_equal(vd_interpolate("$Q ${R:?}", table_lookup, (void *)table_env, &out, &unset,
					&err),
			 VD_EINVAL);
	assert_int_equal(unset.len, 3);
	vd_kvs_release(&unset);
	vd_buf_release(&out);
	vd_error_release(&err);
}

static void interpolate__one_megabyte(void **state)
{
	size_t n = (size_t)1 << 20;
	char *big = malloc(n + 1), *tmpl = malloc(n + 32);
	struct var env[] = { { "BIG", big }, { NULL, NULL } };
	vd_buf out = VD_BUF_INIT;
	vd_error err = VD_ERROR_INIT;

	(void)state;
	assert_non_null(big);
	assert_non_null(tmpl);
	memset(big, 'v', n);
	big[n] = '\0';
	/* a 1 MB value */
	assert_int_equal(vd_interpolate("<${BIG}>", table_lookup, env, &out, NULL, &err), 0);
	assert_int_equal(out.len, n + 2);
	assert_int_equal(out.ptr[0], '<');
	assert_int_equal(out.ptr[n + 1], '>');
	assert_int_equal(out.ptr[n / 2], 'v');
	/* a 1 MB default */
	vd_buf_clear(&out);
	memcpy(tmpl, "${NONE:-", 8);
	memset(tmpl + 8, 'd', n);
	strcpy(tmpl + 8 + n, "}");
	assert_int_equal(vd_interpolate(tmpl, table_lookup, env, &out, NULL, &err), 0);
	assert_int_equal(out.len, n);
	/* a 1 MB template of many references */
	vd_buf_clear(&out);
	{
		size_t i;

		for (i = 0; i + 8 <= n; i += 8)
			memcpy(tmpl + i, "${N:-x}.", 8);
		tmpl[i] = '\0';
	}
	assert_int_equal(vd_interpolate(tmpl, table_lookup, env, &out, NULL, &err), 0);
	assert_int_equal(out.len, n / 8 * 2);
	/* the buffer's cap is respected */
	vd_buf_release(&out);
	vd_buf_init(&out, 1000);
	assert_int_equal(vd_interpolate("${BIG}", table_lookup, env, &out, NULL, &err), VD_ETOOBIG);
	assert_int_equal(out.len, 0);
	vd_buf_release(&out);
	vd_error_release(&err);
	free(big);
	free(tmpl);
}

static char *nested(int levels)
{
	size_t len = (size_t)levels * 6 + 2;
	char *s = malloc(len), *p = s;
	int i;

	assert_non_null(s);
	for (i = 0; i < levels; i++, p += 5)
		memcpy(p, "${A:-", 5);
	*p++ = 'x';
	for (i = 0; i < levels; i++)
		*p++ = '}';
	*p = '\0';
	return s;
}

static void interpolate__deep_nesting(void **state)
{
	vd_buf out = VD_BUF_INIT;
	vd_error err = VD_ERROR_INIT;
	char *s;

	(void)state;
	/* 1000 levels work ... */
	s = nested(1000);
	assert_int_equal(vd_interpolate(s, NULL, NULL, &out, NULL, &err), 0);
	assert_string_equal(vd_buf_cstr(&out), "x");
	free(s);
	/* ... one more is refused, and so is far more, without recursing on */
	s = nested(1001);
	assert_int_equal(vd_interpolate(s, NULL, NULL, &out, NULL, &err), VD_EINVAL);
	assert_non_null(strstr(vd_error_msg(&err), "nested"));
	free(s);
	s = nested(5000);
	assert_int_equal(vd_interpolate(s, NULL, NULL, &out, NULL, &err), VD_EINVAL);
	free(s);
	assert_string_equal(vd_buf_cstr(&out), "x");
	vd_buf_release(&out);
	vd_error_release(&err);
}

/* xorshift, so the run is the same every time */
static uint32_t rnd_state = 2463534242u;

static uint32_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 17;
	rnd_state ^= rnd_state << 5;
	return rnd_state;
}

/* Mostly the characters the parsers care about, sometimes any byte. */
static void random_bytes(char *b, size_t n, bool allow_nul)
{
	static const char alphabet[] = "${}:-?+=#'\"\\ \t\r\nAB_x0e.[]";
	size_t i;

	for (i = 0; i < n; i++) {
		if (rnd() % 4)
			b[i] = alphabet[rnd() % (sizeof(alphabet) - 1)];
		else
			b[i] = (char)(rnd() & 0xff);
		if (!allow_nul && !b[i])
			b[i] = '$';
	}
}

static void interpolate__random_bytes(void **state)
{
	char b[257];
	int i;

	(void)state;
	for (i = 0; i < 20000; i++) {
		size_t n = rnd() % 256;
		vd_buf out = VD_BUF_INIT;
		vd_kvs unset = { NULL, 0 };
		vd_error err = VD_ERROR_INIT;
		int r;

		random_bytes(b, n, false);
		b[n] = '\0';
		r = vd_interpolate(b, table_lookup, (void *)table_env, &out, &unset, &err);
		if (r != 0 && r != VD_EINVAL)
			fail_msg("input %d: %d %s", i, r, vd_error_msg(&err));
		if (r)
			assert_true(err.msg != NULL);
		vd_buf_release(&out);
		vd_kvs_release(&unset);
		vd_error_release(&err);
	}
}

static void dotenv__random_bytes(void **state)
{
	char b[512];
	int i;

	(void)state;
	for (i = 0; i < 20000; i++) {
		size_t n = rnd() % sizeof(b);
		vd_kvs out = { NULL, 0 };
		vd_error err = VD_ERROR_INIT;
		int r;

		random_bytes(b, n, true);
		r = vd_dotenv_parse(b, n, "fuzz.env", table_lookup, (void *)table_env, &out, &err);
		if (r != 0 && r != VD_EINVAL)
			fail_msg("input %d: %d %s", i, r, vd_error_msg(&err));
		if (r) {
			assert_int_equal(out.len, 0);
			assert_non_null(strstr(vd_error_msg(&err), "fuzz.env:"));
		}
		vd_kvs_release(&out);
		vd_error_release(&err);
	}
}

static void env__lookup_process_then(void **state)
{
	vd_kvs file = { NULL, 0 };

	(void)state;
	assert_int_equal(vd_kvs_add(&file, "VD_TEST_SHARED", "from-file"), 0);
	assert_int_equal(vd_kvs_add(&file, "VD_TEST_FILE_ONLY", "file-only"), 0);
	unsetenv("VD_TEST_SHARED");
	unsetenv("VD_TEST_FILE_ONLY");
	unsetenv("VD_TEST_NOWHERE");
	assert_string_equal(vd_env_lookup_process_then("VD_TEST_SHARED", &file), "from-file");
	/* the shell wins over .env */
	assert_int_equal(setenv("VD_TEST_SHARED", "from-shell", 1), 0);
	assert_string_equal(vd_env_lookup_process_then("VD_TEST_SHARED", &file), "from-shell");
	/* set-but-empty in the shell still wins */
	assert_int_equal(setenv("VD_TEST_SHARED", "", 1), 0);
	assert_string_equal(vd_env_lookup_process_then("VD_TEST_SHARED", &file), "");
	assert_string_equal(vd_env_lookup_process_then("VD_TEST_FILE_ONLY", &file), "file-only");
	assert_null(vd_env_lookup_process_then("VD_TEST_NOWHERE", &file));
	assert_null(vd_env_lookup_process_then("VD_TEST_FILE_ONLY", NULL));

	/* the way a project interpolates: shell over .env */
	{
		vd_buf out = VD_BUF_INIT;
		vd_error err = VD_ERROR_INIT;

		assert_int_equal(setenv("VD_TEST_SHARED", "shell", 1), 0);
		assert_int_equal(vd_interpolate("${VD_TEST_SHARED}/${VD_TEST_FILE_ONLY}/"
						"${VD_TEST_NOWHERE:-dflt}",
						vd_env_lookup_process_then, &file, &out, NULL, &err),
				 0);
		assert_string_equal(vd_buf_cstr(&out), "shell/file-only/dflt");
		vd_buf_release(&out);
		vd_error_release(&err);
	}
	unsetenv("VD_TEST_SHARED");
	vd_kvs_release(&file);
}

/* ------------------------------------------------------------------ .env */

struct dcase {
	const char *text;
	size_t len;           /* 0: strlen(text) */
	const char *want[12]; /* key, value, key, value, ..., NULL; */
	const char *errsub;   /* non-NULL: an error containing this is expected */
};

/* the lookup .env parsing sees: SHELLVAR and FOO set, EMPTY set-but-empty */
static const struct var shell_env[] = {
	{ "SHELLVAR", "fromshell" },
	{ "FOO", "first" },
	{ "EMPTY", "" },
	{ NULL, NULL },
};

static const struct dcase dcases[] = {
	/* plain lines (godotenv_test.go TestParsing "plain") */
	{ "A=1", 0, { "A", "1" }, NULL },
	{ "A=1\nB=2\n", 0, { "A", "1", "B", "2" }, NULL },
	{ "export A=1", 0, { "A", "1" }, NULL },
	{ "export   A = \"spaced\"  ", 0, { "A", "spaced" }, NULL },
	{ "A = 1", 0, { "A", "1" }, NULL },
	{ "  A=1  ", 0, { "A", "1" }, NULL },
	{ "A=  spaced value  ", 0, { "A", "spaced value" }, NULL },
	/* compose's YAML-ish separator (locateKeyName: '=' or ':') */
	{ "A: yaml", 0, { "A", "yaml" }, NULL },
	/* comments: whole lines, and " #" after an unquoted value */
	{ "# comment\nA=1\n  # another", 0, { "A", "1" }, NULL },
	{ "A=1 # comment", 0, { "A", "1" }, NULL },
	{ "A=1# not a comment", 0, { "A", "1# not a comment" }, NULL },
	{ "A=#x", 0, { "A", "#x" }, NULL },
	{ "A=\"1 # not a comment\"", 0, { "A", "1 # not a comment" }, NULL },
	{ "A=\"q\" # comment", 0, { "A", "q" }, NULL },
	/* quotes */
	{ "A=\"multi\\nline\"", 0, { "A", "multi\nline" }, NULL },
	{ "A=\"line1\nline2\"\nB=2", 0, { "A", "line1\nline2", "B", "2" }, NULL },
	{ "A='literal $FOO \\n'", 0, { "A", "literal $FOO \\n" }, NULL },
	{ "A='it\\'s'", 0, { "A", "it's" }, NULL },
	{ "A=\"say \\\"hi\\\"\"", 0, { "A", "say \"hi\"" }, NULL },
	{ "A=\"a\\\\b\"", 0, { "A", "a\\b" }, NULL },
	{ "A=\"tab\\there\\r\"", 0, { "A", "tab\there\r" }, NULL },
	/* expandEscapes: \$ is a literal $, \0NNN octal, unknown ones stay */
	{ "A=\"\\$FOO\"", 0, { "A", "$FOO" }, NULL },
	{ "A=\"\\0101\\q\"", 0, { "A", "A\\q" }, NULL },
	/* interpolation in unquoted and double-quoted values */
	{ "A=$FOO", 0, { "A", "first" }, NULL },
	{ "A=\"$FOO\"", 0, { "A", "first" }, NULL },
	{ "A=${FOO:-x}-${NOPE:-y}", 0, { "A", "first-y" }, NULL },
	{ "A=$$FOO", 0, { "A", "$FOO" }, NULL },
	/* earlier keys are visible; the lookup comes first (ExpandVariables) */
	{ "A=1\nB=${A}", 0, { "A", "1", "B", "1" }, NULL },
	{ "FOO=file\nB=${FOO}", 0, { "FOO", "file", "B", "first" }, NULL },
	/* empty values */
	{ "A=", 0, { "A", "" }, NULL },
	{ "A=\nB=2", 0, { "A", "", "B", "2" }, NULL },
	{ "A=\"\"", 0, { "A", "" }, NULL },
	/* a bare KEY takes the lookup's value, or is skipped */
	{ "SHELLVAR", 0, { "SHELLVAR", "fromshell" }, NULL },
	{ "SHELLVAR\nEMPTY\nNOT_IN_SHELL\n", 0, { "SHELLVAR", "fromshell", "EMPTY", "" }, NULL },
	/* last wins */
	{ "A=1\nA=2", 0, { "A", "2" }, NULL },
	/* BOM, CRLF */
	{ "\xef\xbb\xbf" "A=1", 0, { "A", "1" }, NULL },
	{ "A=1\r\nB=2\r\n", 0, { "A", "1", "B", "2" }, NULL },
	{ "A=\"x\"\r\nB='y'\r\nC\r\n", 0, { "A", "x", "B", "y" }, NULL },
	/* key characters compose takes */
	{ "A.B-C[0]=1", 0, { "A.B-C[0]", "1" }, NULL },
	{ "A=url://x?y=1&z=2", 0, { "A", "url://x?y=1&z=2" }, NULL },
	/* blank files */
	{ "\n\n  \n", 0, { NULL }, NULL },
	{ "", 0, { NULL }, NULL },
	/* what follows a closing quote is read as the next statement (here a
	 * bare key nobody set) */
	{ "A=\"v\" trailing", 0, { "A", "v" }, NULL },
	/* refused: empty key, key starting with a digit (compose silently drops
	 * those; we refuse), a key with a blank, a bad character, unterminated
	 * quote, bad interpolation, a missing required variable, NUL */
	{ "=x", 0, { NULL }, ".env:1: missing variable name" },
	{ "A=1\n1KEY=x", 0, { NULL }, ".env:2: variable name cannot start with a digit" },
	{ "MY KEY=x", 0, { NULL }, ".env:1: key cannot contain a space" },
	{ "A B", 0, { NULL }, ".env:1: key cannot contain a space" },
	{ "A=1\nB-?=2", 0, { NULL }, ".env:2: unexpected character \"?\" in variable name" },
	{ "A=\"unterminated\nB=2", 0, { NULL }, ".env:1: unterminated quoted value" },
	{ "A=1\nB=\"x\ny\"\nC=${", 0, { NULL }, ".env:4: invalid interpolation format" },
	{ "A=${NOPE:?need it}", 0, { NULL },
	  ".env:1: required variable NOPE is missing a value: need it" },
	{ "A=1\nB=2\0C=3", 11, { NULL }, ".env:2: NUL byte" },
};

static void dotenv__table(void **state)
{
	size_t i, j, failed = 0;

	(void)state;
	assert_true(sizeof(dcases) / sizeof(dcases[0]) >= 30);
	for (i = 0; i < sizeof(dcases) / sizeof(dcases[0]); i++) {
		const struct dcase *c = &dcases[i];
		vd_kvs out = { NULL, 0 };
		vd_error err = VD_ERROR_INIT;
		size_t len = c->len ? c->len : strlen(c->text);
		int r;

		r = vd_dotenv_parse(c->text, len, ".env", table_lookup, (void *)shell_env, &out,
				    &err);
		if (c->errsub) {
			if (r != VD_EINVAL || !strstr(vd_error_msg(&err), c->errsub) || out.len) {
				print_error("dotenv case %zu: got %d \"%s\", want \"%s\"\n", i, r,
					    vd_error_msg(&err), c->errsub);
				failed++;
			}
		} else {
			bool ok = r == 0;

			for (j = 0; ok && c->want[2 * j]; j++)
				ok = j < out.len && !strcmp(out.items[j].key, c->want[2 * j]) &&
				     !strcmp(out.items[j].value, c->want[2 * j + 1]);
			ok = ok && j == out.len;
			if (!ok) {
				print_error("dotenv case %zu: got %d (%s), %zu keys:\n", i, r,
					    vd_error_msg(&err), out.len);
				for (j = 0; j < out.len; j++)
					print_error("  [%s]=[%s]\n", out.items[j].key,
						    out.items[j].value);
				failed++;
			}
		}
		vd_kvs_release(&out);
		vd_error_release(&err);
	}
	assert_int_equal(failed, 0);
}

static void dotenv__merge(void **state)
{
	vd_kvs out = { NULL, 0 };
	vd_error err = VD_ERROR_INIT;
	const char *ok = "A=new\nB=b\n", *bad = "A=newer\n=x\n";

	(void)state;
	assert_int_equal(vd_kvs_add(&out, "A", "old"), 0);
	assert_int_equal(vd_kvs_add(&out, "C", "keep"), 0);
	assert_int_equal(vd_dotenv_parse(ok, strlen(ok), "x.env", NULL, NULL, &out, &err), 0);
	assert_int_equal(out.len, 3);
	assert_string_equal(vd_kvs_get(&out, "A"), "new");
	assert_string_equal(vd_kvs_get(&out, "C"), "keep");
	assert_string_equal(out.items[2].key, "B");
	/* a failing file changes nothing */
	assert_int_equal(vd_dotenv_parse(bad, strlen(bad), "x.env", NULL, NULL, &out, &err),
			 VD_EINVAL);
	assert_string_equal(vd_error_msg(&err), "x.env:2: missing variable name");
	assert_int_equal(out.len, 3);
	assert_string_equal(vd_kvs_get(&out, "A"), "new");
	vd_kvs_release(&out);
	vd_error_release(&err);
}

static void dotenv__load(void **state)
{
	char dir[] = "/tmp/vd-test-interp-XXXXXX", path[64], missing[64];
	const char *text = "# VoxPersona\nPOSTGRES_PASSWORD='s3cr3t'\nDB_URL=\"postgresql://app:"
			   "${POSTGRES_PASSWORD}@postgres/vox\"\n";
	vd_kvs out = { NULL, 0 };
	vd_error err = VD_ERROR_INIT;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/.env", dir);
	snprintf(missing, sizeof(missing), "%s/missing.env", dir);
	tu_write_str(dir, ".env", text);

	assert_int_equal(vd_dotenv_load(path, true, NULL, NULL, &out, &err), 0);
	assert_string_equal(vd_kvs_get(&out, "DB_URL"), "postgresql://app:s3cr3t@postgres/vox");
	/* optional and missing: nothing, no error */
	assert_int_equal(vd_dotenv_load(missing, false, NULL, NULL, &out, &err), 0);
	assert_int_equal(out.len, 2);
	/* required and missing */
	assert_int_equal(vd_dotenv_load(missing, true, NULL, NULL, &out, &err), VD_ENOTFOUND);
	assert_non_null(strstr(vd_error_msg(&err), "missing.env"));
	/* a directory cannot be read */
	assert_int_equal(vd_dotenv_load(dir, true, NULL, NULL, &out, &err), VD_EIO);
	assert_int_equal(out.len, 2);

	unlink(path);
	rmdir(dir);
	vd_kvs_release(&out);
	vd_error_release(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(interpolate__table),
		cmocka_unit_test(interpolate__required_message),
		cmocka_unit_test(interpolate__unset_collected),
		cmocka_unit_test(interpolate__one_megabyte),
		cmocka_unit_test(interpolate__deep_nesting),
		cmocka_unit_test(interpolate__random_bytes),
		cmocka_unit_test(env__lookup_process_then),
		cmocka_unit_test(dotenv__table),
		cmocka_unit_test(dotenv__merge),
		cmocka_unit_test(dotenv__load),
		cmocka_unit_test(dotenv__random_bytes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
