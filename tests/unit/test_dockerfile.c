/* Unit tests of the Dockerfile reader and of what reaches the final image.
 *
 * Parsing expectations follow moby/buildkit's frontend/dockerfile/parser
 * (continuations, comments inside continued instructions, the escape
 * directive, heredocs) and instructions/parse.go (COPY/ADD flags, JSON
 * form, "requires at least two arguments"); reachability follows
 * dockerfile2llb (FROM <stage>, COPY --from=<name|index>, --target, ONBUILD
 * triggers of the base stage); matching follows Go's filepath.Match as
 * BuildKit applies it to COPY sources.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "controller/plan/dockerfile.h"

static vd_dockerfile *parse_ok(const char *text)
{
	vd_error err = VD_ERROR_INIT;
	vd_dockerfile *df = NULL;
	int r = vd_dockerfile_parse(text, strlen(text), &df, &err);

	if (r)
		print_error("parse failed: %s\n--\n%s--\n", vd_error_msg(&err), text);
	assert_int_equal(r, 0);
	assert_non_null(df);
	vd_error_release(&err);
	return df;
}

/* Parsing fails with code and a message holding want. */
static void parse_fails(const char *text, size_t len, int code, const char *want)
{
	vd_error err = VD_ERROR_INIT;
	vd_dockerfile *df = NULL;
	int r = vd_dockerfile_parse(text, len, &df, &err);

	if (r != code || (want && !strstr(vd_error_msg(&err), want)))
		print_error("want %d \"%s\", got %d \"%s\" for:\n%.200s\n", code, want ? want : "", r,
			    vd_error_msg(&err), text);
	assert_int_equal(r, code);
	assert_null(df);
	if (want)
		assert_non_null(strstr(vd_error_msg(&err), want));
	vd_error_release(&err);
}

static void sources_of(const vd_dockerfile *df, const char *target, const char *const *build_args,
		       vd_dockerfile_sources *out)
{
	vd_error err = VD_ERROR_INIT;
	int r = vd_dockerfile_final_sources(df, target, build_args, out, &err);

	if (r)
		print_error("final_sources: %s\n", vd_error_msg(&err));
	assert_int_equal(r, 0);
	vd_error_release(&err);
}

static bool reaches(const vd_dockerfile_sources *s, const char *path)
{
	return vd_dockerfile_sources_match(s, path) != NULL;
}

/* The line of the instruction that brings path into the image (0: none). */
static unsigned reached_by(const vd_dockerfile_sources *s, const char *path)
{
	const vd_dockerfile_ref *ref = vd_dockerfile_sources_match(s, path);

	return ref ? ref->copy->line : 0;
}

static void dockerfile__single_stage_copy_all(void **state)
{
	vd_dockerfile *df = parse_ok("FROM alpine:3.19\nWORKDIR /app\nCOPY . .\nCMD [\"sh\"]\n");
	vd_dockerfile_sources s;
	const vd_dockerfile_copy *c;

	assert_int_equal(df->n_stages, 1);
	assert_int_equal(df->stages[0].index, 0);
	assert_null(df->stages[0].name);
	assert_string_equal(df->stages[0].base, "alpine:3.19");
	assert_int_equal(df->stages[0].parent, -1);
	assert_int_equal(df->stages[0].n_copies, 1);
	c = &df->stages[0].copies[0];
	assert_int_equal(c->kind, VD_DOCKERFILE_COPY);
	assert_int_equal(c->line, 3);
	assert_int_equal(c->n_sources, 1);
	assert_string_equal(c->sources[0].raw, ".");
	assert_string_equal(c->dest, ".");
	assert_int_equal(c->origin, VD_DOCKERFILE_FROM_CONTEXT);
	assert_false(c->json);

	sources_of(df, NULL, NULL, &s);
	assert_true(s.resolved);
	assert_int_equal(s.target, 0);
	assert_int_equal(s.n_refs, 1);
	assert_string_equal(s.refs[0].pattern, ".");
	assert_true(reaches(&s, "README.md"));
	assert_true(reaches(&s, ".github/workflows/deploy.yml"));
	assert_true(reaches(&s, "src/deep/er/a.py"));
	vd_dockerfile_sources_release(&s);
	vd_dockerfile_free(df);
}

/* Upstream VoxPersona's Dockerfile, in its shape. */
static const char voxpersona[] =
	"FROM python:3.11-slim\n"                                              /* 1 */
	"\n"
	"ENV PYTHONDONTWRITEBYTECODE=1 \\\n"
	"    PYTHONUNBUFFERED=1\n"
	"\n"                                                                   /* 5 */
	"WORKDIR /app\n"
	"\n"
	"RUN apt-get update && apt-get install -y --no-install-recommends \\\n"
	"        ffmpeg gcc libpq-dev \\\n"
	"    && rm -rf /var/lib/apt/lists/*\n"                                 /* 10 */
	"\n"
	"COPY requirements.txt .\n"
	"RUN pip install --no-cache-dir -r requirements.txt\n"
	"\n"
	"COPY src/ ./src/\n"                                                   /* 15 */
	"COPY Description/ ./Description/\n"
	"COPY prompts/ ./prompts/\n"
	"COPY prompts-by-scenario/ ./prompts-by-scenario/\n"
	"COPY sql_scripts/ ./sql_scripts/\n"
	"\n"                                                                   /* 20 */
	"RUN mkdir -p /app/logs /app/audio_files\n"
	"\n"
	"CMD [\"python\", \"src/main.py\"]\n";

static void dockerfile__voxpersona(void **state)
{
	vd_dockerfile *df = parse_ok(voxpersona);
	vd_dockerfile_sources s;
	size_t i;

	assert_int_equal(df->n_stages, 1);
	assert_string_equal(df->stages[0].base, "python:3.11-slim");
	assert_int_equal(df->stages[0].n_copies, 6);
	sources_of(df, NULL, NULL, &s);
	assert_true(s.resolved);
	assert_int_equal(s.n_refs, 6);
	assert_string_equal(s.refs[0].pattern, "requirements.txt");
	assert_string_equal(s.refs[1].pattern, "src");
	assert_string_equal(s.refs[2].pattern, "Description");
	for (i = 0; i < s.n_refs; i++)
		assert_int_equal(s.refs[i].stage, 0);

	assert_int_equal(reached_by(&s, "requirements.txt"), 12);
	assert_int_equal(reached_by(&s, "src/main.py"), 15);
	assert_int_equal(reached_by(&s, "src/handlers/audio.py"), 15);
	/* named like docs, but in the image: upstream deployed these stale */
	assert_int_equal(reached_by(&s, "Description/Interview/part1.md"), 16);
	assert_int_equal(reached_by(&s, "prompts/system.txt"), 17);
	assert_int_equal(reached_by(&s, "prompts-by-scenario/a/b.txt"), 18);
	assert_int_equal(reached_by(&s, "sql_scripts/001_init.sql"), 19);
	/* not in the image */
	assert_false(reaches(&s, "README.md"));
	assert_false(reaches(&s, "DEPLOYMENT_GUIDE.md"));
	assert_false(reaches(&s, ".github/workflows/deploy.yml"));
	assert_false(reaches(&s, "docker-compose.yml"));
	assert_false(reaches(&s, "tests/test_bot.py"));
	assert_false(reaches(&s, "scripts/tool.py"));
	assert_false(reaches(&s, "srcx/a.py"));
	assert_false(reaches(&s, "prompts-old/a.txt"));
	vd_dockerfile_sources_release(&s);
	vd_dockerfile_free(df);
}

static const char multistage[] =
	"FROM python:3.11 AS builder\n"                       /* 1, stage 0 */
	"COPY requirements.txt .\n"
	"RUN pip wheel -r requirements.txt -w /wheels\n"
	"\n"
	"FROM node:20 AS Docs\n"                              /* 5, stage 1: never used */
	"COPY docs/ /docs/\n"
	"COPY mkdocs.yml /\n"
	"RUN build-docs\n"
	"\n"
	"FROM builder AS test\n"                              /* 10, stage 2 */
	"COPY tests/ /tests/\n"
	"\n"
	"FROM python:3.11-slim\n"                             /* 13, stage 3 */
	"COPY --from=builder /wheels /wheels\n"
	"COPY src/ /app/src/\n";

static void dockerfile__multistage(void **state)
{
	vd_dockerfile *df = parse_ok(multistage);
	vd_dockerfile_sources s;
	vd_error err = VD_ERROR_INIT;

	assert_int_equal(df->n_stages, 4);
	assert_string_equal(df->stages[0].name, "builder");
	assert_string_equal(df->stages[1].name, "docs");   /* lower-cased, as docker keeps it */
	assert_int_equal(df->stages[2].parent, 0);
	assert_int_equal(df->stages[3].parent, -1);
	assert_null(df->stages[3].name);
	assert_int_equal(df->stages[3].copies[0].origin, VD_DOCKERFILE_FROM_STAGE);
	assert_int_equal(df->stages[3].copies[0].from_stage, 0);
	assert_string_equal(df->stages[3].copies[0].from, "builder");
	assert_int_equal(vd_dockerfile_stage_find(df, "DOCS"), 1);
	assert_int_equal(vd_dockerfile_stage_find(df, "nope"), -1);

	/* the default target: the last stage */
	sources_of(df, NULL, NULL, &s);
	assert_true(s.resolved);
	assert_int_equal(s.target, 3);
	assert_true(s.reached[0]);
	assert_false(s.reached[1]);
	assert_false(s.reached[2]);
	assert_true(s.reached[3]);
	assert_int_equal(reached_by(&s, "requirements.txt"), 2);
	assert_int_equal(reached_by(&s, "src/app.py"), 15);
	assert_false(reaches(&s, "docs/index.md"));
	assert_false(reaches(&s, "mkdocs.yml"));
	assert_false(reaches(&s, "tests/test_a.py"));
	vd_dockerfile_sources_release(&s);

	/* --target picks an earlier stage */
	sources_of(df, "docs", NULL, &s);
	assert_int_equal(s.target, 1);
	assert_true(reaches(&s, "docs/index.md"));
	assert_true(reaches(&s, "mkdocs.yml"));
	assert_false(reaches(&s, "src/app.py"));
	assert_false(reaches(&s, "requirements.txt"));
	vd_dockerfile_sources_release(&s);

	/* a stage built FROM another gets the other's files */
	sources_of(df, "Test", NULL, &s);
	assert_int_equal(s.target, 2);
	assert_true(reaches(&s, "tests/test_a.py"));
	assert_true(reaches(&s, "requirements.txt"));
	assert_false(reaches(&s, "src/app.py"));
	vd_dockerfile_sources_release(&s);

	assert_int_equal(vd_dockerfile_final_sources(df, "release", NULL, &s, &err), VD_ENOTFOUND);
	assert_non_null(strstr(vd_error_msg(&err), "release"));
	vd_dockerfile_sources_release(&s);
	vd_error_release(&err);
	vd_dockerfile_free(df);
}

static void dockerfile__copy_from_index_and_image(void **state)
{
	vd_dockerfile *df = parse_ok("FROM golang:1.22\n"
				     "COPY go.mod go.sum ./\n"
				     "COPY cmd/ ./cmd/\n"
				     "FROM alpine\n"
				     "COPY --from=0 /go/bin/app /usr/bin/app\n"
				     "COPY --from=some/image:tag /x /y\n"
				     "COPY --from=nginx:1.25 /etc/nginx/nginx.conf /etc/\n");
	const vd_dockerfile_stage *st = &df->stages[1];
	vd_dockerfile_sources s;

	assert_int_equal(st->copies[0].origin, VD_DOCKERFILE_FROM_STAGE);
	assert_int_equal(st->copies[0].from_stage, 0);
	assert_int_equal(st->copies[1].origin, VD_DOCKERFILE_FROM_IMAGE);
	assert_int_equal(st->copies[1].from_stage, -1);
	assert_string_equal(st->copies[1].from, "some/image:tag");
	assert_int_equal(st->copies[2].origin, VD_DOCKERFILE_FROM_IMAGE);

	sources_of(df, NULL, NULL, &s);
	assert_true(s.resolved);
	assert_int_equal(s.n_refs, 3);
	assert_true(reaches(&s, "go.mod"));
	assert_true(reaches(&s, "go.sum"));
	assert_true(reaches(&s, "cmd/app/main.go"));
	/* an image's /x is no context file */
	assert_false(reaches(&s, "x"));
	assert_false(reaches(&s, "etc/nginx/nginx.conf"));
	vd_dockerfile_sources_release(&s);
	vd_dockerfile_free(df);

	parse_fails("FROM a\nFROM b\nCOPY --from=2 /x /y\n", 34, VD_EINVAL, "line 3: invalid stage index 2");
}

static void dockerfile__json_form(void **state)
{
	vd_dockerfile *df = parse_ok("FROM alpine\n"
				     "COPY [\"my file.txt\", \"other dir/\", \"/dst dir/\"]\n"
				     "ADD --chown=1000 [\"a b.tar\", \"/x\"]\n"
				     "COPY [\"C:\\\\odd\\\"name\", \"/\"]\n");
	const vd_dockerfile_copy *c = &df->stages[0].copies[0];
	vd_dockerfile_sources s;

	assert_true(c->json);
	assert_int_equal(c->n_sources, 2);
	assert_string_equal(c->sources[0].raw, "my file.txt");
	assert_string_equal(c->sources[1].raw, "other dir/");
	assert_string_equal(c->dest, "/dst dir/");
	c = &df->stages[0].copies[1];
	assert_true(c->json);
	assert_int_equal(c->kind, VD_DOCKERFILE_ADD);
	assert_string_equal(c->chown, "1000");
	assert_string_equal(c->sources[0].path, "a b.tar");
	assert_string_equal(df->stages[0].copies[2].sources[0].raw, "C:\\odd\"name");

	sources_of(df, NULL, NULL, &s);
	assert_true(reaches(&s, "my file.txt"));
	assert_true(reaches(&s, "other dir/x y.txt"));
	assert_true(reaches(&s, "a b.tar"));
	assert_false(reaches(&s, "my"));
	assert_false(reaches(&s, "file.txt"));
	assert_false(reaches(&s, "other"));
	vd_dockerfile_sources_release(&s);
	vd_dockerfile_free(df);

	/* not JSON after all: docker reads shell words ("[a]" is a glob) */
	df = parse_ok("FROM alpine\nCOPY [ab].txt /x\n");
	c = &df->stages[0].copies[0];
	assert_false(c->json);
	assert_string_equal(c->sources[0].raw, "[ab].txt");
	vd_dockerfile_free(df);
}

static void dockerfile__flags(void **state)
{
	vd_dockerfile *df = parse_ok(
		"FROM alpine AS builder\n"
		"FROM alpine\n"
		"COPY --from=builder --chown=app:app --chmod=0755 --link --parents "
		"--exclude=*.md --exclude=tests/ src/ lib/ /app/\n"
		"COPY --link=false --chown=\"a b\" x /x\n"
		"ADD --checksum=sha256:24454f83 --keep-git-dir=true --unpack "
		"https://example.com/a.tar.gz /x\n"
		"COPY --newthing=1 -- y /y\n");
	const vd_dockerfile_copy *c = &df->stages[1].copies[0];

	assert_int_equal(c->origin, VD_DOCKERFILE_FROM_STAGE);
	assert_int_equal(c->from_stage, 0);
	assert_string_equal(c->chown, "app:app");
	assert_string_equal(c->chmod, "0755");
	assert_true(c->link);
	assert_true(c->parents);
	assert_int_equal(c->n_excludes, 2);
	assert_string_equal(c->excludes[0], "*.md");
	assert_string_equal(c->excludes[1], "tests/");
	assert_int_equal(c->n_sources, 2);
	assert_string_equal(c->sources[1].raw, "lib/");
	assert_string_equal(c->dest, "/app/");
	assert_int_equal(c->n_flags, 7);
	assert_string_equal(c->flags[3].name, "link");
	assert_null(c->flags[3].value);
	assert_string_equal(c->flags[0].name, "from");
	assert_string_equal(c->flags[0].value, "builder");

	c = &df->stages[1].copies[1];
	assert_false(c->link);
	assert_string_equal(c->chown, "a b");
	assert_int_equal(c->origin, VD_DOCKERFILE_FROM_CONTEXT);

	c = &df->stages[1].copies[2];
	assert_int_equal(c->kind, VD_DOCKERFILE_ADD);
	assert_int_equal(c->n_flags, 3);
	assert_string_equal(c->flags[0].value, "sha256:24454f83");
	assert_true(c->sources[0].remote);

	/* an unknown flag is kept, "--" ends the flags */
	c = &df->stages[1].copies[3];
	assert_int_equal(c->n_flags, 1);
	assert_string_equal(c->flags[0].name, "newthing");
	assert_string_equal(c->sources[0].raw, "y");
	vd_dockerfile_free(df);

	parse_fails("FROM a\nCOPY --from=a --from=b x /\n", 32, VD_EINVAL, "line 2: COPY: duplicate flag");
	parse_fails("FROM a\nCOPY --from x /\n", 22, VD_EINVAL, "missing a value on flag: from");
	parse_fails("FROM a\nCOPY --link=maybe x /\n", 27, VD_EINVAL, "expecting boolean value");
	/* --from= with nothing is no --from at all (the context) */
	df = parse_ok("FROM a\nCOPY --from= x /\n");
	assert_int_equal(df->stages[0].copies[0].origin, VD_DOCKERFILE_FROM_CONTEXT);
	vd_dockerfile_free(df);
}

static void dockerfile__continuation_lines(void **state)
{
	vd_dockerfile *df = parse_ok("FROM alpine\n"
				     "COPY \\\n"
				     "    a.txt \\\n"
				     "    b.txt   \\   \n"
				     "    /dst/\n"
				     "copy c.txt /c\n"
				     "RUN echo \\\\\n"
				     "COPY d.txt /d\n");
	const vd_dockerfile_stage *st = &df->stages[0];

	assert_int_equal(st->n_copies, 3);
	assert_int_equal(st->copies[0].line, 2);
	assert_int_equal(st->copies[0].n_sources, 2);
	assert_string_equal(st->copies[0].sources[0].raw, "a.txt");
	assert_string_equal(st->copies[0].sources[1].raw, "b.txt");
	assert_string_equal(st->copies[0].dest, "/dst/");
	assert_int_equal(st->copies[1].line, 6);
	/* a doubled escape at the end is no continuation */
	assert_int_equal(st->copies[2].line, 8);
	vd_dockerfile_free(df);

	/* CRLF, and a continuation running into the end of the file */
	df = parse_ok("FROM alpine\r\nCOPY a.txt \\\r\n  /x/\r\nCOPY b /b \\");
	assert_int_equal(df->stages[0].n_copies, 2);
	assert_string_equal(df->stages[0].copies[0].dest, "/x/");
	assert_string_equal(df->stages[0].copies[1].dest, "/b");
	vd_dockerfile_free(df);
}

static void dockerfile__escape_directive(void **state)
{
	vd_dockerfile *df = parse_ok("# escape=`\n"
				     "FROM mcr.microsoft.com/windows/servercore:ltsc2022\n"
				     "COPY a.txt `\n"
				     "     c:\\app\\\n"
				     "RUN dir c:\\\n"
				     "COPY b.txt c:\\b\\\n");
	const vd_dockerfile_stage *st = &df->stages[0];

	assert_int_equal(df->escape, '`');
	assert_int_equal(st->n_copies, 2);
	assert_int_equal(st->copies[0].line, 3);
	assert_string_equal(st->copies[0].sources[0].raw, "a.txt");
	assert_string_equal(st->copies[0].dest, "c:\\app\\");
	/* "\" is no continuation under escape=`: line 6 stands alone */
	assert_int_equal(st->copies[1].line, 6);
	vd_dockerfile_free(df);

	/* directives only count at the very top; after a comment it is one */
	df = parse_ok("# hello\n# escape=`\nFROM a\nCOPY x \\\n /y\n");
	assert_int_equal(df->escape, '\\');
	assert_string_equal(df->stages[0].copies[0].dest, "/y");
	vd_dockerfile_free(df);

	/* a BOM, other directives, lower-case instructions, AS in any case */
	df = parse_ok("\xEF\xBB\xBF# syntax=docker/dockerfile:1\n#check=skip=all\n"
		      "from alpine As Build\ncopy a /\n");
	assert_string_equal(df->stages[0].name, "build");
	assert_int_equal(df->stages[0].copies[0].line, 4);
	vd_dockerfile_free(df);

	parse_fails("# escape=x\nFROM a\n", 18, VD_EINVAL, "line 1: invalid escape token");
	parse_fails("# escape=`\n# escape=\\\nFROM a\n", 29, VD_EINVAL,
		    "line 2: only one escape parser directive");
}

static void dockerfile__comments_in_continuations(void **state)
{
	vd_dockerfile *df = parse_ok("FROM alpine\n"
				     "# a comment\n"
				     "COPY a.txt \\\n"
				     "# inside the instruction\n"
				     "    # indented, still a comment\n"
				     "    b.txt \\\n"
				     "\n"
				     "    /dst/\n"
				     "COPY c.txt /c # not a comment here\n");
	const vd_dockerfile_stage *st = &df->stages[0];

	assert_int_equal(st->n_copies, 2);
	assert_int_equal(st->copies[0].line, 3);
	assert_int_equal(st->copies[0].n_sources, 2);
	assert_string_equal(st->copies[0].sources[1].raw, "b.txt");
	assert_string_equal(st->copies[0].dest, "/dst/");
	assert_int_equal(st->copies[1].line, 9);
	/* '#' after the start of a line is text: more sources */
	assert_int_equal(st->copies[1].n_sources, 6);
	assert_string_equal(st->copies[1].dest, "here");
	vd_dockerfile_free(df);
}

static void dockerfile__add_remote(void **state)
{
	vd_dockerfile *df = parse_ok("FROM alpine\n"
				     "ADD https://example.com/a.tar.gz /x/\n"
				     "ADD http://example.com/b.txt /x/\n"
				     "ADD git@github.com:moby/buildkit.git /bk\n"
				     "ADD https://github.com/moby/buildkit.git#v0.10.1 /bk2\n"
				     "ADD vendor.tar.gz /opt/\n"
				     "COPY https.txt /\n");
	vd_dockerfile_sources s;
	size_t i;

	for (i = 0; i < 4; i++)
		assert_true(df->stages[0].copies[i].sources[0].remote);
	assert_false(df->stages[0].copies[4].sources[0].remote);
	sources_of(df, NULL, NULL, &s);
	assert_true(s.resolved);
	assert_int_equal(s.n_refs, 2);
	assert_string_equal(s.refs[0].pattern, "vendor.tar.gz");
	assert_string_equal(s.refs[1].pattern, "https.txt");
	assert_false(reaches(&s, "a.tar.gz"));
	vd_dockerfile_sources_release(&s);
	vd_dockerfile_free(df);
}

static void dockerfile__arg_in_source(void **state)
{
	vd_dockerfile *df = parse_ok("ARG APP=src\n"
				     "ARG PY=3.11\n"
				     "FROM python:${PY}-slim\n"
				     "ARG APP_DIR=app\n"
				     "COPY requirements.txt .\n"
				     "COPY ${APP_DIR}/ /app/\n");
	vd_dockerfile_sources s;

	assert_int_equal(df->n_args, 3);
	assert_string_equal(df->args[0].name, "APP");
	assert_string_equal(df->args[0].value, "src");
	assert_int_equal(df->args[0].stage, -1);
	assert_false(df->args[0].in_copy_source);
	assert_int_equal(df->args[2].stage, 0);
	assert_int_equal(df->args[2].line, 4);
	assert_true(df->args[2].in_copy_source);
	assert_true(df->stages[0].copies[1].sources[0].variable);
	assert_false(df->stages[0].base_unresolved);

	sources_of(df, NULL, NULL, &s);
	assert_false(s.resolved);
	assert_int_equal(s.line, 6);
	assert_non_null(strstr(s.reason, "line 6"));
	assert_non_null(strstr(s.reason, "${APP_DIR}/"));
	/* what could be read is still there */
	assert_true(reaches(&s, "requirements.txt"));
	vd_dockerfile_sources_release(&s);
	vd_dockerfile_free(df);

	/* a variable in a stage that does not reach the image is harmless;
	 * '$' quoted or escaped is no variable */
	df = parse_ok("FROM alpine AS unused\n"
		      "COPY $X /x\n"
		      "FROM alpine\n"
		      "COPY 'a$b' c\\$d /\n");
	sources_of(df, NULL, NULL, &s);
	assert_true(s.resolved);
	assert_null(s.reason);
	assert_true(reaches(&s, "a$b"));
	assert_true(reaches(&s, "c$d"));
	vd_dockerfile_sources_release(&s);
	vd_dockerfile_free(df);

	/* --from with a variable: the classic builder expands it, we cannot */
	df = parse_ok("FROM alpine AS a\nFROM alpine\nARG S=a\nCOPY --from=${S} /x /y\n");
	assert_int_equal(df->stages[1].copies[0].origin, VD_DOCKERFILE_FROM_UNKNOWN);
	sources_of(df, NULL, NULL, &s);
	assert_false(s.resolved);
	assert_int_equal(s.line, 4);
	vd_dockerfile_sources_release(&s);
	vd_dockerfile_free(df);
}

static void dockerfile__from_variable(void **state)
{
	static const char text[] = "ARG VARIANT=prod\n"
				   "FROM alpine AS base-dev\n"
				   "COPY dev.txt /\n"
				   "FROM alpine AS base-prod\n"
				   "COPY prod.txt /\n"
				   "FROM base-${VARIANT}\n"
				   "COPY app.txt /\n";
	static const char *const dev[] = { "OTHER=1", "VARIANT=dev", NULL };
	static const char *const unknown[] = { "VARIANT", NULL };
	vd_dockerfile *df = parse_ok(text);
	vd_dockerfile_sources s;

	assert_int_equal(df->stages[2].parent, 1);
	sources_of(df, NULL, NULL, &s);
	assert_true(s.resolved);
	assert_true(reaches(&s, "prod.txt"));
	assert_false(reaches(&s, "dev.txt"));
	assert_true(reaches(&s, "app.txt"));
	vd_dockerfile_sources_release(&s);

	sources_of(df, NULL, dev, &s);
	assert_true(s.resolved);
	assert_true(reaches(&s, "dev.txt"));
	assert_false(reaches(&s, "prod.txt"));
	vd_dockerfile_sources_release(&s);

	sources_of(df, NULL, unknown, &s);
	assert_false(s.resolved);
	assert_int_equal(s.line, 6);
	vd_dockerfile_sources_release(&s);
	vd_dockerfile_free(df);

	/* the engine's platform args are unknown here, unless given */
	df = parse_ok("FROM alpine AS base-amd64\nCOPY a /\nFROM alpine AS base-arm64\nCOPY b /\n"
		      "FROM base-$TARGETARCH\n");
	assert_true(df->stages[2].base_unresolved);
	sources_of(df, NULL, NULL, &s);
	assert_false(s.resolved);
	assert_non_null(strstr(s.reason, "line 5"));
	vd_dockerfile_sources_release(&s);
	{
		static const char *const arm[] = { "TARGETARCH=arm64", NULL };

		sources_of(df, NULL, arm, &s);
		assert_true(s.resolved);
		assert_true(reaches(&s, "b"));
		assert_false(reaches(&s, "a"));
		vd_dockerfile_sources_release(&s);
	}
	vd_dockerfile_free(df);

	/* an image name cannot be a stage name: no doubt there */
	df = parse_ok("FROM alpine AS x\nFROM ${REGISTRY}/python:${PY}\nCOPY . /\n");
	assert_false(df->stages[1].base_unresolved);
	assert_int_equal(df->stages[1].parent, -1);
	vd_dockerfile_free(df);
}

static void dockerfile__heredocs(void **state)
{
	vd_dockerfile *df = parse_ok("FROM alpine\n"
				     "COPY <<EOF /etc/app.conf\n"
				     "FROM evil\n"
				     "COPY secret /\n"
				     "EOF\n"
				     "RUN <<-SCRIPT bash\n"
				     "\tCOPY nope /\n"
				     "\tSCRIPT\n"
				     "COPY <<\"A\" <<'B' /two/\n"
				     "A\n"
				     "B\n"
				     "RUN cat <<EOT > /x\n"
				     "not an instruction\n"
				     "EOT\n"
				     "RUN echo \"<<NOT\"\n"
				     "COPY real.txt /\n");
	const vd_dockerfile_stage *st = &df->stages[0];
	vd_dockerfile_sources s;

	assert_int_equal(df->n_stages, 1);
	assert_int_equal(st->n_copies, 3);
	assert_true(st->copies[0].sources[0].heredoc);
	assert_int_equal(st->copies[1].n_sources, 2);
	assert_true(st->copies[1].sources[1].heredoc);
	assert_int_equal(st->copies[2].line, 16);
	sources_of(df, NULL, NULL, &s);
	assert_int_equal(s.n_refs, 1);
	assert_string_equal(s.refs[0].pattern, "real.txt");
	assert_false(reaches(&s, "secret"));
	vd_dockerfile_sources_release(&s);
	vd_dockerfile_free(df);

	parse_fails("FROM a\nRUN <<EOF\necho\n", 21, VD_EINVAL, "line 2: unterminated heredoc");
}

static void dockerfile__run_mounts(void **state)
{
	vd_dockerfile *df = parse_ok(
		"FROM python:3.11 AS builder\n"
		"COPY src/ /src/\n"
		"FROM python:3.11-slim\n"
		"RUN --mount=type=bind,source=requirements.txt,target=/tmp/r.txt \\\n"
		"    --mount=type=cache,target=/root/.cache \\\n"
		"    --mount=type=secret,id=token \\\n"
		"    pip install -r /tmp/r.txt\n"
		"RUN --mount=type=bind,from=builder,source=/src,target=/src cp -r /src /app\n"
		"RUN --mount=target=/ctx ls /ctx\n");
	const vd_dockerfile_stage *st = &df->stages[1];
	vd_dockerfile_sources s;

	assert_int_equal(st->n_copies, 3);
	assert_int_equal(st->copies[0].kind, VD_DOCKERFILE_RUN_MOUNT);
	assert_int_equal(st->copies[0].line, 4);
	assert_string_equal(st->copies[0].sources[0].path, "requirements.txt");
	assert_string_equal(st->copies[0].dest, "/tmp/r.txt");
	assert_int_equal(st->copies[1].origin, VD_DOCKERFILE_FROM_STAGE);
	assert_int_equal(st->copies[1].from_stage, 0);
	/* a bind mount without source= shows the whole context */
	assert_string_equal(st->copies[2].sources[0].path, ".");

	sources_of(df, NULL, NULL, &s);
	assert_true(s.reached[0]);
	assert_true(reaches(&s, "requirements.txt"));
	assert_true(reaches(&s, "src/a.py"));
	assert_true(reaches(&s, "anything"));
	vd_dockerfile_sources_release(&s);
	vd_dockerfile_free(df);
}

static void dockerfile__onbuild(void **state)
{
	vd_dockerfile *df = parse_ok("FROM alpine AS base\n"
				     "COPY base.txt /\n"
				     "ONBUILD COPY app/ /app/\n"
				     "FROM base AS unused\n"
				     "COPY unused.txt /\n"
				     "FROM base\n"
				     "COPY final.txt /\n");
	vd_dockerfile_sources s;

	assert_true(df->stages[0].copies[1].onbuild);
	assert_int_equal(df->stages[2].parent, 0);
	sources_of(df, NULL, NULL, &s);
	assert_true(reaches(&s, "base.txt"));
	assert_int_equal(reached_by(&s, "app/x"), 3);
	assert_true(reaches(&s, "final.txt"));
	assert_false(reaches(&s, "unused.txt"));
	assert_false(s.reached[1]);
	vd_dockerfile_sources_release(&s);
	/* the trigger does not run in the stage that declares it */
	sources_of(df, "base", NULL, &s);
	assert_true(reaches(&s, "base.txt"));
	assert_false(reaches(&s, "app/x"));
	vd_dockerfile_sources_release(&s);
	vd_dockerfile_free(df);
}

static void dockerfile__unknown_instruction(void **state)
{
	vd_dockerfile *df = parse_ok("FROM alpine\nFOO bar baz\nFROMM x\nCOPY a /\n");

	assert_int_equal(df->n_stages, 1);
	assert_int_equal(df->stages[0].copies[0].line, 4);
	vd_dockerfile_free(df);
}

static void dockerfile__malformed(void **state)
{
	static const char one_mb_prefix[] = "FROM a\nCOPY ";
	char *big;
	size_t n = (size_t)1 << 20, i;
	uint32_t x = 2463534242u;

	parse_fails("", 0, VD_EINVAL, "empty Dockerfile");
	parse_fails("\n\n# only a comment\n", 19, VD_EINVAL, "no FROM");
	parse_fails("ARG A=1\n", 8, VD_EINVAL, "no FROM");
	parse_fails("COPY a b\nFROM x\n", 16, VD_EINVAL, "line 1: COPY before the first FROM");
	parse_fails("FROM a\nCOPY [\"a\", \"b\"\n", 21, VD_EINVAL, "line 2: COPY: unterminated JSON array");
	parse_fails("FROM a\nADD [\"a\", 1]\n", 19, VD_EINVAL, "line 2: ADD: JSON array must hold strings");
	parse_fails("FROM a\nCOPY only-one\n", 20, VD_EINVAL,
		    "line 2: COPY requires at least two arguments");
	parse_fails("FROM a\n\nCOPY [\"only-one\"]\n", 25, VD_EINVAL, "line 3: COPY requires");
	parse_fails("FROM a\nADD\n", 11, VD_EINVAL, "line 2: ADD requires");
	parse_fails("FROM\n", 5, VD_EINVAL, "line 1: FROM requires either one or three");
	parse_fails("FROM a b\n", 9, VD_EINVAL, "FROM requires either one or three");
	parse_fails("FROM a AS 1st\n", 14, VD_EINVAL, "invalid name for build stage");
	parse_fails("FROM a\nONBUILD FROM b\n", 22, VD_EINVAL, "isn't allowed as an ONBUILD trigger");
	parse_fails("FROM a\nCOPY a\0b /\n", 18, VD_EINVAL, "line 2: NUL byte");

	/* 1 MB on one line: docker's scanner refuses it, so do we */
	big = malloc(n + 32);
	assert_non_null(big);
	memcpy(big, one_mb_prefix, strlen(one_mb_prefix));
	memset(big + strlen(one_mb_prefix), 'a', n);
	memcpy(big + strlen(one_mb_prefix) + n, " /x\n", 4);
	parse_fails(big, strlen(one_mb_prefix) + n + 4, VD_EINVAL, "line 2: longer than 65535 bytes");

	/* binary garbage, with and without NULs and newlines: an error, never
	 * a crash (valgrind and the sanitizer build watch this) */
	for (i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		big[i] = (char)(x & 0xff);
	}
	parse_fails(big, n, VD_EINVAL, NULL);
	for (i = 0; i < n; i++)
		if (big[i] == '\0')
			big[i] = (i % 37) ? 'F' : '\n';
	parse_fails(big, n, VD_EINVAL, NULL);
	for (i = 0; i < 4096; i++) {
		static const char alphabet[] = "FROM COPY ADD RUN ARG\\`\"'[]{}$<<-=#\n\t ,";

		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		big[i] = alphabet[x % (sizeof(alphabet) - 1)];
	}
	{
		/* may parse or not; must not crash or leak */
		vd_error err = VD_ERROR_INIT;
		vd_dockerfile *df = NULL;
		vd_dockerfile_sources s;

		if (vd_dockerfile_parse(big, 4096, &df, &err) == 0) {
			(void)vd_dockerfile_final_sources(df, NULL, NULL, &s, &err);
			vd_dockerfile_sources_release(&s);
			vd_dockerfile_free(df);
		}
		vd_error_release(&err);
	}
	free(big);
}

struct mc {
	const char *pattern;
	const char *path;
	bool want;
};

static void dockerfile__source_matches(void **state)
{
	static const struct mc cases[] = {
		{ "src/", "src/a.py", true },
		{ "src/", "src/deep/b.py", true },
		{ "src", "src/a.py", true },
		{ "src", "src", true },
		{ "src", "srcx/a", false },
		{ "src", "srcx", false },
		{ "src/", "src", true },
		{ "./src/", "src/a.py", true },
		{ "/src", "src/a.py", true },
		{ "src/a.py", "src/a.py", true },
		{ "src/a.py", "src/a.pyc", false },
		{ "src/a.py", "src", false },
		{ "*.py", "a.py", true },
		{ "*.py", "d/a.py", false },       /* '*' does not cross '/' */
		{ "*.py", "pkg.py/mod.txt", true }, /* ... but a matched directory takes its subtree */
		{ "*", "anything/at/all", true },
		{ "*", ".hidden", true },
		{ "d/*.py", "d/a.py", true },
		{ "d/*.py", "d/e/a.py", false },
		{ "*/a.py", "x/a.py", true },
		{ "conf/[ab].ini", "conf/a.ini", true },
		{ "conf/[ab].ini", "conf/b.ini", true },
		{ "conf/[ab].ini", "conf/c.ini", false },
		{ "conf/[^ab].ini", "conf/c.ini", true },
		{ "conf/[^ab].ini", "conf/a.ini", false },
		{ "conf/[a-c].ini", "conf/b.ini", true },
		{ "file?.txt", "file1.txt", true },
		{ "file?.txt", "file10.txt", false },
		{ "file?.txt", "file\xc3\xa9.txt", true },   /* '?' is one rune */
		/* not UTF-8: one rune per bad byte, as Go's utf8.DecodeRune reads it
		 * (an overlong "\xc0\x80" is two) */
		{ "file?.txt", "file\xc0\x80.txt", false },
		{ "file??.txt", "file\xc0\x80.txt", true },
		{ "file?.txt", "file\xff.txt", true },
		{ "a\\*b", "a*b", true },
		{ "a\\*b", "axb", false },
		{ "[a", "[a", false },                         /* malformed: nothing */
		{ "a\\", "a", false },
		{ ".", "x", true },
		{ ".", "a/b/c", true },
		{ "./", "x", true },
		{ "/", "x", true },
		{ "", "x", true },
		{ "../../src", "src/a", true },                /* cannot leave the context */
		{ "a/../b", "b/x", true },
		{ "a/../b", "a/x", false },
		{ "src//lib/", "src/lib/x", true },
		{ "**/*.py", "a/b/c.py", true },
		{ "**/*.py", "c.py", true },
		{ "x/**", "x/y/z", true },
		{ "*.md", "README.md", true },
		{ "README*", "README.md", true },
		{ "a*b*c", "aXbYc", true },
		{ "a*b*c", "aXbY", false },
		{ "*a*a*a*a*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false },
		{ "**/a/**/a/**/a/**/a/**/a/**/a/**/b",
		  "a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/c", false },
	};
	size_t i;
	int failures = 0;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bool got = vd_dockerfile_source_matches(cases[i].pattern, cases[i].path);

		if (got != cases[i].want) {
			print_error("#%zu: source \"%s\" path \"%s\": got %d, want %d\n", i,
				    cases[i].pattern, cases[i].path, got, cases[i].want);
			failures++;
		}
	}
	assert_false(vd_dockerfile_source_matches(NULL, "x"));
	assert_null(vd_dockerfile_sources_match(NULL, "x"));
	assert_int_equal(failures, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(dockerfile__single_stage_copy_all),
		cmocka_unit_test(dockerfile__voxpersona),
		cmocka_unit_test(dockerfile__multistage),
		cmocka_unit_test(dockerfile__copy_from_index_and_image),
		cmocka_unit_test(dockerfile__json_form),
		cmocka_unit_test(dockerfile__flags),
		cmocka_unit_test(dockerfile__continuation_lines),
		cmocka_unit_test(dockerfile__escape_directive),
		cmocka_unit_test(dockerfile__comments_in_continuations),
		cmocka_unit_test(dockerfile__add_remote),
		cmocka_unit_test(dockerfile__arg_in_source),
		cmocka_unit_test(dockerfile__from_variable),
		cmocka_unit_test(dockerfile__heredocs),
		cmocka_unit_test(dockerfile__run_mounts),
		cmocka_unit_test(dockerfile__onbuild),
		cmocka_unit_test(dockerfile__unknown_instruction),
		cmocka_unit_test(dockerfile__malformed),
		cmocka_unit_test(dockerfile__source_matches),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
