/* Unit tests of the .dockerignore matcher against docker's own behaviour.
 *
 * Expected verdicts come from moby/patternmatcher's tests
 * (patternmatcher_test.go: TestMatches, TestMatch, the folder/exclusion
 * tests; ignorefile/ignorefile_test.go: TestReadAll), from the way moby's
 * archive.TarWithOptions walks a context (an excluded directory is only
 * entered when an exception pattern starts with its path) and from the docker
 * CLI's TrimBuildFilesFromExcludes.  Each group says which it exercises.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "docker_api/dockerignore.h"

enum mode {
	WALK,     /* vd_dockerignore_excluded: what the build context leaves out */
	PATTERN,  /* vd_dockerignore_matches: MatchesOrParentMatches alone */
};

struct ic {
	const char *ignore;  /* .dockerignore content */
	const char *path;
	bool want;           /* true: excluded / matched */
	enum mode mode;
};

static int run_cases(const char *group, const struct ic *cases, size_t n)
{
	size_t i;
	int failures = 0;

	for (i = 0; i < n; i++) {
		vd_error err = VD_ERROR_INIT;
		vd_dockerignore *di = NULL;
		bool got;

		if (vd_dockerignore_parse(cases[i].ignore, strlen(cases[i].ignore), &di, &err)) {
			print_error("%s #%zu: parse of %s failed: %s\n", group, i, cases[i].ignore,
				    vd_error_msg(&err));
			failures++;
			vd_error_release(&err);
			continue;
		}
		got = cases[i].mode == WALK ? vd_dockerignore_excluded(di, cases[i].path)
					     : vd_dockerignore_matches(di, cases[i].path);
		if (got != cases[i].want) {
			print_error("%s #%zu: patterns [%s] path \"%s\": got %s, want %s\n", group, i,
				    cases[i].ignore, cases[i].path, got ? "excluded" : "kept",
				    cases[i].want ? "excluded" : "kept");
			failures++;
		}
		vd_dockerignore_free(di);
	}
	return failures;
}

#define RUN(group, table) \
	assert_int_equal(run_cases(group, table, sizeof(table) / sizeof(table[0])), 0)

/* patternmatcher_test.go TestMatches: single patterns, with "**" at the
 * start, middle and end; '*' and '?' never cross '/'; "." and regexp
 * characters are literal; a pattern matching a parent directory matches. */
static const struct ic moby_matches[] = {
	{ "**", "file", true, PATTERN },
	{ "**/", "dir/file", true, PATTERN },
	{ "**/**", "dir/file", true, PATTERN },
	{ "dir/**", "dir/file", true, PATTERN },
	{ "dir/**", "dir/dir2/file", true, PATTERN },
	{ "**/dir", "dir", true, PATTERN },
	{ "**/dir", "dir/file", true, PATTERN },
	{ "**/dir2/*", "dir/dir2/file", true, PATTERN },
	{ "**/dir2/**", "dir/dir2/dir3/file", true, PATTERN },
	{ "**file", "dir/dir/file", true, PATTERN },
	{ "**/file*.txt", "dir/dir/file.txt", true, PATTERN },
	{ "**/**/*.txt", "dir/dir/file.txt", true, PATTERN },
	{ "**/**/*.txt2", "dir/dir/file.txt", false, PATTERN },
	{ "**/*.txt", "file.txt", true, PATTERN },
	{ "a**/*.txt", "a/dir/dir/file.txt", true, PATTERN },
	{ "a/*.txt", "a/dir/file.txt", false, PATTERN },
	{ "a/*.txt", "a/file.txt", true, PATTERN },
	{ "a/*.txt**", "a/file.txt", true, PATTERN },
	{ "a[b-d]e", "ae", false, PATTERN },
	{ "a[b-d]e", "ace", true, PATTERN },
	{ "a[b-d]e", "aae", false, PATTERN },
	{ "a[^b-d]e", "aze", true, PATTERN },
	{ ".*", ".foo", true, PATTERN },
	{ ".*", "foo", false, PATTERN },
	{ "abc.def", "abcZdef", false, PATTERN },
	{ "abc.def", "abc.def", true, PATTERN },
	{ "abc?def", "abcZdef", true, PATTERN },
	{ "abc?def", "abcdef", false, PATTERN },
	{ "**/foo/bar", "foo/bar", true, PATTERN },
	{ "**/foo/bar", "dir/dir2/foo/bar", true, PATTERN },
	{ "abc/**", "abc", false, PATTERN },
	{ "abc/**", "abc/def/ghi", true, PATTERN },
	{ "**/.foo", ".foo", true, PATTERN },
	{ "**/.foo", "bar.foo", false, PATTERN },
	{ "a(b)c/def", "a(b)c/def", true, PATTERN },
	{ "a(b)c/def", "a(b)c/xyz", false, PATTERN },
	{ "a.|)$(}+{bc", "a.|)$(}+{bc", true, PATTERN },
	{ "dist/*.whl", "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", true, PATTERN },
	{ "a\\\\", "a\\", true, PATTERN },
	{ "a\\*b", "a*b", true, PATTERN },
	/* moby's suffix matcher (TestCompile: "**file" is suffixMatch): the
	 * rest is compared as a plain suffix, so it also matches "barfile" */
	{ "**file", "barfile", true, PATTERN },
	/* multiPatternTests */
	{ "**\n!util/docker/web", "util/docker/web/foo", false, PATTERN },
	{ "**\n!util/docker/web\nutil/docker/web/foo", "util/docker/web/foo", true, PATTERN },
	{ "**\n!dist/*.whl", "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", false, PATTERN },
};

/* patternmatcher_test.go TestMatch (Go's filepath.Match tests through
 * Matches): character classes with ranges, negation and escapes, runes. */
static const struct ic go_match[] = {
	{ "*c", "abc", true, PATTERN },
	{ "a*", "ab/c", true, PATTERN },   /* via the parent "ab" */
	{ "a*/b", "abc/b", true, PATTERN },
	{ "a*/b", "a/c/b", false, PATTERN },
	{ "a*b*c*d*e*/f", "axbxcxdxexxx/f", true, PATTERN },
	{ "a*b*c*d*e*/f", "axbxcxdxe/xxx/f", false, PATTERN },
	{ "a*b?c*x", "abxbbxdbxebxczzx", true, PATTERN },
	{ "a*b?c*x", "abxbbxdbxebxczzy", false, PATTERN },
	{ "ab[^c]", "abc", false, PATTERN },
	{ "ab[^e-g]", "abc", true, PATTERN },
	{ "a\\*b", "ab", false, PATTERN },
	{ "a?b", "a\u263ab", true, PATTERN },
	{ "a[^a]b", "a\u263ab", true, PATTERN },
	{ "a???b", "a\u263ab", false, PATTERN },
	{ "[a-\u03b6]*", "\u03b1", true, PATTERN },
	{ "*[a-\u03b6]", "A", false, PATTERN },
	{ "a?b", "a/b", false, PATTERN },
	{ "a*b", "a/b", false, PATTERN },
	{ "[\\]a]", "]", true, PATTERN },
	{ "[\\-]", "-", true, PATTERN },
	{ "[x\\-]", "-", true, PATTERN },
	{ "[x\\-]", "z", false, PATTERN },
	{ "[\\-x]", "x", true, PATTERN },
	{ "*x", "xxx", true, PATTERN },
	{ "file\\[1\\]", "file[1]", true, PATTERN },
};

/* patternmatcher_test.go's folder and exclusion tests: the last matching
 * pattern wins, so the order of "!" lines matters. */
static const struct ic moby_exclusions[] = {
	{ "*", "fileutils.go", true, WALK },
	{ "*.go", "fileutils.go", true, WALK },
	{ "!fileutils.go\n*.go", "fileutils.go", true, WALK },
	{ "*.go\n!fileutils.go", "fileutils.go", false, WALK },
	{ "docs\n!docs/README.md", "docs/README.md", false, WALK },
	{ "docs/\n!docs/README.md", "docs/README.md", false, WALK },
	{ "docs/*\n!docs/README.md", "docs/README.md", false, WALK },
	{ "docs\n!docs/README.md", "docs/other.md", true, WALK },
	{ "*.go", ".", false, WALK },
	{ "", "anything", false, WALK },
	{ "*.md\n!README*.md\nREADME-secret.md", "README-secret.md", true, WALK },
	{ "*.md\n!README*.md\nREADME-secret.md", "README.md", false, WALK },
};

/* ignorefile.ReadAll: BOM on the first line only, '#' comments only in
 * column one, blanks trimmed (and "\r\n" endings), filepath.Clean, one
 * leading '/' dropped, "!" then blanks. */
static const struct ic read_all[] = {
	{ "\xEF\xBB\xBFsecret.env", "secret.env", true, WALK },
	{ "a\n\xEF\xBB\xBFsecret.env", "secret.env", false, WALK },
	{ "# comment\n#secret", "#secret", false, WALK },
	{ " #secret", "#secret", true, WALK },
	{ "  *.log \t\r\n", "debug.log", true, WALK },
	{ "/build", "build", true, WALK },
	{ "/build", "src/build", false, WALK },
	{ "./build/", "build/out.o", true, WALK },
	{ "build//x/../y", "build/y", true, WALK },
	{ "*\n! /keep", "keep", false, WALK },
	{ "*\n!  ./keep/", "keep", false, WALK },
	{ "data", "./data/x", true, WALK },
	{ "data", "data//x/", true, WALK },
};

/* archive.TarWithOptions: '*' stays in one directory; an excluded directory
 * excludes what is under it, unless an exception pattern starts with the
 * directory's path — then docker walks in and matches each entry, and a
 * "**" exception alone does not re-open it. */
static const struct ic walk[] = {
	{ "*.txt", "dir/a.txt", false, WALK },
	{ "*/a.txt", "dir/a.txt", true, WALK },
	{ "*/*.txt", "dir/sub/a.txt", false, WALK },
	{ "node_modules", "node_modules/x/y.js", true, WALK },
	{ "node_modules\n!node_modules/keep.js", "node_modules/keep.js", false, WALK },
	{ "node_modules\n!node_modules/keep.js", "node_modules/other.js", true, WALK },
	{ "node_modules\n!node_modules/keep.js", "node_modules/sub/keep.js", true, WALK },
	{ "foo\n!**/keep", "foo/keep", true, WALK },
	{ "foo\n!**/keep", "foo/keep", false, PATTERN },
	{ "foo\n!**/keep", "bar/keep", false, WALK },
	{ "*\n!src", "src/main.c", false, WALK },
	{ "*\n!src", "docs/index.md", true, WALK },
	{ "**/*.pyc", "a/b/c.pyc", true, WALK },
	{ "**/__pycache__", "pkg/__pycache__/m.pyc", true, WALK },
	{ "**/*.log\n!keep/**", "keep/x.log", false, WALK },
	{ "**/*.log\n!keep/**", "other/x.log", true, WALK },
	{ "logs/**\n!logs/keep.log", "logs/keep.log", false, WALK },
	{ "logs/**\n!logs/keep.log", "logs/a.log", true, WALK },
	{ "a/b\n!a/b/c/d", "a/b/c/d", false, WALK },
	{ "a/b\n!a/b/c/d", "a/b/c/e", true, WALK },
	{ "a/b\n!a/b/c/d", "a/b", true, WALK },
};

static void dockerignore__moby_matches(void **state)
{
	RUN("moby_matches", moby_matches);
}

static void dockerignore__go_match(void **state)
{
	RUN("go_match", go_match);
}

static void dockerignore__moby_exclusions(void **state)
{
	RUN("moby_exclusions", moby_exclusions);
}

static void dockerignore__read_all(void **state)
{
	RUN("read_all", read_all);
}

static void dockerignore__walk(void **state)
{
	RUN("walk", walk);
}

/* ignorefile_test.go TestReadAll: the cleaned pattern list. */
static void dockerignore__cleaned_patterns(void **state)
{
	static const char content[] =
		"test1\n/test2\n/a/file/here\n\nlastfile\n# this is a comment\n! /inverted/abs/path\n";
	static const struct { const char *text; bool exception; } want[] = {
		{ "test1", false }, { "test2", false }, { "a/file/here", false },
		{ "lastfile", false }, { "inverted/abs/path", true },
	};
	vd_error err = VD_ERROR_INIT;
	vd_dockerignore *di = NULL;
	size_t i;
	bool exc;

	assert_int_equal(vd_dockerignore_parse(content, strlen(content), &di, &err), 0);
	assert_int_equal(vd_dockerignore_count(di), 5);
	for (i = 0; i < 5; i++) {
		assert_string_equal(vd_dockerignore_pattern(di, i, &exc), want[i].text);
		assert_int_equal(exc, want[i].exception);
	}
	assert_null(vd_dockerignore_pattern(di, 5, &exc));
	vd_dockerignore_free(di);
}

/* patternmatcher.New rejects a lone "!" and anything filepath.Match calls a
 * bad pattern (TestMatch's ErrBadPattern rows); "[z-a]" passes New but makes
 * Go's regexp, and so every build, fail. */
static void dockerignore__syntax_errors(void **state)
{
	static const char *const bad[] = {
		"[", "a[", "[^", "[^bc", "\\", "abc\\", "[]a]", "[-]", "[x-]", "[-x]",
		"[a-b-c]", "!", "ok\n!", "!/", "[z-a]",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		vd_error err = VD_ERROR_INIT;
		vd_dockerignore *di = NULL;

		assert_int_equal(vd_dockerignore_parse(bad[i], strlen(bad[i]), &di, &err), VD_EINVAL);
		assert_null(di);
		assert_non_null(strstr(vd_error_msg(&err), ".dockerignore"));
		vd_error_release(&err);
	}
	{
		vd_error err = VD_ERROR_INIT;
		vd_dockerignore *di = NULL;

		assert_int_equal(vd_dockerignore_parse("ok\n\n[", 5, &di, &err), VD_EINVAL);
		assert_non_null(strstr(vd_error_msg(&err), "line 3"));
		vd_error_release(&err);
	}
}

/* docker CLI TrimBuildFilesFromExcludes: the Dockerfile and .dockerignore
 * are sent even when a pattern excludes them; other files stay excluded. */
static void dockerignore__build_files_always_sent(void **state)
{
	static const char text[] = "*\n";
	vd_error err = VD_ERROR_INIT;
	vd_dockerignore *di = NULL;

	assert_int_equal(vd_dockerignore_parse(text, strlen(text), &di, &err), 0);
	assert_true(vd_dockerignore_excluded(di, "Dockerfile"));
	assert_true(vd_dockerignore_excluded(di, ".dockerignore"));
	assert_int_equal(vd_dockerignore_keep(di, ".dockerignore", &err), 0);
	assert_int_equal(vd_dockerignore_keep(di, "Dockerfile", &err), 0);
	assert_false(vd_dockerignore_excluded(di, "Dockerfile"));
	assert_false(vd_dockerignore_excluded(di, ".dockerignore"));
	assert_true(vd_dockerignore_excluded(di, "app.py"));
	assert_int_equal(vd_dockerignore_count(di), 3);
	vd_dockerignore_free(di);

	/* a Dockerfile in an excluded directory: the directory is re-opened
	 * for it alone */
	assert_int_equal(vd_dockerignore_parse("docker\n", 7, &di, &err), 0);
	assert_int_equal(vd_dockerignore_keep(di, "./docker//Dockerfile", &err), 0);
	assert_false(vd_dockerignore_excluded(di, "docker/Dockerfile"));
	assert_true(vd_dockerignore_excluded(di, "docker/other"));
	assert_true(vd_dockerignore_excluded(di, "docker"));
	assert_true(vd_dockerignore_reopens(di, "docker"));
	vd_dockerignore_free(di);

	/* not excluded: nothing is added */
	assert_int_equal(vd_dockerignore_parse("*.log\n", 6, &di, &err), 0);
	assert_int_equal(vd_dockerignore_keep(di, "Dockerfile", &err), 0);
	assert_int_equal(vd_dockerignore_count(di), 1);
	vd_dockerignore_free(di);
}

static void dockerignore__null_and_empty(void **state)
{
	vd_error err = VD_ERROR_INIT;
	vd_dockerignore *di = NULL;

	assert_false(vd_dockerignore_excluded(NULL, "x"));
	assert_false(vd_dockerignore_matches(NULL, "x"));
	assert_int_equal(vd_dockerignore_count(NULL), 0);
	vd_dockerignore_free(NULL);
	assert_int_equal(vd_dockerignore_parse("\n\n# only comments\n   \n", 22, &di, &err), 0);
	assert_int_equal(vd_dockerignore_count(di), 0);
	assert_false(vd_dockerignore_excluded(di, "a/b"));
	vd_dockerignore_free(di);
	/* a missing .dockerignore is an empty one */
	assert_int_equal(vd_dockerignore_load("/nonexistent-voxdeploy-dir", &di, &err), 0);
	assert_int_equal(vd_dockerignore_count(di), 0);
	vd_dockerignore_free(di);
}

/* Many stars against a long name must stay fast (memoised matching). */
static void dockerignore__pathological(void **state)
{
	static const char pat[] = "*a*a*a*a*a*a*a*a*a*a*a*a*b";
	char name[400];
	vd_error err = VD_ERROR_INIT;
	vd_dockerignore *di = NULL;

	memset(name, 'a', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	assert_int_equal(vd_dockerignore_parse(pat, strlen(pat), &di, &err), 0);
	assert_false(vd_dockerignore_excluded(di, name));
	name[sizeof(name) - 2] = 'b';
	assert_true(vd_dockerignore_excluded(di, name));
	vd_dockerignore_free(di);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(dockerignore__moby_matches),
		cmocka_unit_test(dockerignore__go_match),
		cmocka_unit_test(dockerignore__moby_exclusions),
		cmocka_unit_test(dockerignore__read_all),
		cmocka_unit_test(dockerignore__walk),
		cmocka_unit_test(dockerignore__cleaned_patterns),
		cmocka_unit_test(dockerignore__syntax_errors),
		cmocka_unit_test(dockerignore__build_files_always_sent),
		cmocka_unit_test(dockerignore__null_and_empty),
		cmocka_unit_test(dockerignore__pathological),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
