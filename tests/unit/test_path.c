/* Unit tests of docker_api/path: Go's filepath.Clean, the same read inside a
 * root (BuildKit's COPY sources), and Go's utf8.DecodeRune.  Expected values
 * are what the Go functions return for the same input.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "docker_api/path.h"

static void path__clean(void **state)
{
	static const char *const cases[][2] = {
		{ "", "." }, { ".", "." }, { "./a//b/", "a/b" }, { "a/../..", ".." },
		{ "/../a", "/a" }, { "a/./b/../c", "a/c" }, { "//x", "/x" }, { "../../x/..", "../.." },
		{ "/", "/" }, { "a/...", "a/..." }, { "..a/b", "..a/b" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *c = vd_path_clean(cases[i][0]);

		assert_string_equal(c, cases[i][1]);
		free(c);
	}
}

static void path__clean_in_root(void **state)
{
	static const char *const cases[][2] = {
		{ "", "" }, { ".", "" }, { "/", "" }, { "..", "" }, { "a/../../b", "b" },
		{ "/x/", "x" }, { "./src/", "src" }, { "a//b/./c/..", "a/b" }, { "../../x/..", "" },
		{ "a/...", "a/..." },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *c = vd_path_clean_in_root(cases[i][0]);

		assert_string_equal(c, cases[i][1]);
		free(c);
	}
}

static void path__rune(void **state)
{
	static const struct {
		const char *s;
		uint32_t rune;
		size_t size;
	} cases[] = {
		{ "a", 'a', 1 },
		{ "\xC3\xA9", 0xE9, 2 },                        /* é */
		{ "\xE2\x82\xAC", 0x20AC, 3 },                  /* € */
		{ "\xF0\x9F\x98\x80", 0x1F600, 4 },
		{ "\xF4\x8F\xBF\xBF", 0x10FFFF, 4 },
		{ "\x80", VD_PATH_RUNE_ERROR, 1 },              /* a stray continuation byte */
		{ "\xFF", VD_PATH_RUNE_ERROR, 1 },
		{ "\xE2\x82", VD_PATH_RUNE_ERROR, 1 },          /* truncated */
		{ "\xC3(", VD_PATH_RUNE_ERROR, 1 },             /* not a continuation */
		{ "\xC0\x80", VD_PATH_RUNE_ERROR, 1 },          /* overlong NUL */
		{ "\xE0\x80\xAF", VD_PATH_RUNE_ERROR, 1 },      /* overlong '/' */
		{ "\xED\xA0\x80", VD_PATH_RUNE_ERROR, 1 },      /* a surrogate */
		{ "\xF4\x90\x80\x80", VD_PATH_RUNE_ERROR, 1 },  /* past U+10FFFF */
	};
	size_t i, size;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(vd_path_rune(cases[i].s, strlen(cases[i].s), &size), cases[i].rune);
		assert_int_equal(size, cases[i].size);
	}
	/* only the bytes given count */
	assert_int_equal(vd_path_rune("\xC3\xA9", 1, &size), VD_PATH_RUNE_ERROR);
	assert_int_equal(size, 1);
	assert_int_equal(vd_path_rune("", 0, &size), VD_PATH_RUNE_ERROR);
	assert_int_equal(size, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(path__clean),
		cmocka_unit_test(path__clean_in_root),
		cmocka_unit_test(path__rune),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
