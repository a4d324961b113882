/* Unit tests of controller/plan/gitsync on real repositories that the test makes
 * with libgit2 in a temporary directory: revisions, tree-to-tree diffs with
 * renames, deletions, mode and type changes, submodule pointers, odd paths,
 * and reading files at a commit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "controller/plan/gitsync.h"
#include "gitrepo.h"
#include "testutil.h"

#include <git2.h>

static const vd_change *find(const vd_changes *c, const char *path)
{
	size_t i;

	for (i = 0; i < c->len; i++)
		if (!strcmp(c->items[i].path, path))
			return &c->items[i];
	return NULL;
}

static void gitsync__resolve(void **state)
{
	struct repo rp;
	char a[VD_SHA_HEX], b[VD_SHA_HEX], out[VD_SHA_HEX], prefix[13];
	vd_error err = VD_ERROR_INIT;
	vd_git *g;

	repo_init(&rp);
	repo_put(&rp, "README.md", "hello\n", 0644);
	repo_commit(&rp, a);
	repo_put(&rp, "README.md", "hello again\n", 0644);
	repo_commit(&rp, b);
	assert_int_equal(vd_git_open(rp.dir, &g, &err), 0);
	assert_int_equal(vd_git_resolve(g, "HEAD", out, &err), 0);
	assert_string_equal(out, b);
	assert_int_equal(vd_git_resolve(g, "HEAD~1", out, &err), 0);
	assert_string_equal(out, a);
	snprintf(prefix, sizeof(prefix), "%.12s", a);
	assert_int_equal(vd_git_resolve(g, prefix, out, &err), 0);
	assert_string_equal(out, a);
	assert_int_equal(vd_git_resolve(g, "no-such-branch", out, &err), VD_EINVAL);
	assert_string_equal(vd_error_msg(&err), "unknown revision 'no-such-branch'");
	assert_true(vd_git_has_commit(g, a));
	assert_false(vd_git_has_commit(g, "0123456789012345678901234567890123456789"));
	assert_false(vd_git_has_commit(g, "not-hex"));
	vd_git_free(g);
	/* not a repository */
	assert_int_equal(vd_git_open("/", &g, &err), VD_EINVAL);
	assert_non_null(strstr(vd_error_msg(&err), "is not in a git repository"));
	repo_free(&rp);
	vd_error_release(&err);
}

static void gitsync__diff_kinds(void **state)
{
	struct repo rp;
	char a[VD_SHA_HEX], b[VD_SHA_HEX];
	vd_error err = VD_ERROR_INIT;
	vd_changes c;
	const vd_change *ch;
	vd_git *g;

	repo_init(&rp);
	repo_put(&rp, "src/main.py", "print('a long enough file to be detected as a rename')\n"
				 "x = 1\ny = 2\nz = 3\n", 0644);
	repo_put(&rp, "deploy.sh", "#!/bin/sh\necho deploy\n", 0644);
	repo_put(&rp, "gone.md", "bye\n", 0644);
	repo_put(&rp, "link", "a plain file\n", 0644);
	repo_put(&rp, "same.txt", "unchanged\n", 0644);
	repo_commit(&rp, a);
	repo_put(&rp, "src/main.py", NULL, 0);
	repo_put(&rp, "docs/main.py", "print('a long enough file to be detected as a rename')\n"
				  "x = 1\ny = 2\nz = 3\n", 0644);
	repo_put(&rp, "deploy.sh", "#!/bin/sh\necho deploy\n", 0755);
	repo_put(&rp, "gone.md", NULL, 0);
	repo_put(&rp, "new file with spaces\nand a newline.txt", "x\n", 0644);
	repo_put_link(&rp, "link", "same.txt");
	repo_put_gitlink(&rp, "vendor/lib", "0123456789abcdef0123456789abcdef01234567");
	repo_commit(&rp, b);

	assert_int_equal(vd_git_open(rp.dir, &g, &err), 0);
	assert_int_equal(vd_git_diff(g, a, b, &c, &err), 0);
	assert_int_equal(c.len, 6);
	ch = find(&c, "docs/main.py");
	assert_non_null(ch);
	assert_int_equal(ch->status, VD_CHANGE_RENAMED);
	assert_string_equal(ch->old_path, "src/main.py");
	ch = find(&c, "deploy.sh");
	assert_non_null(ch);
	assert_int_equal(ch->status, VD_CHANGE_MODIFIED);
	assert_true(ch->mode_changed);
	ch = find(&c, "gone.md");
	assert_non_null(ch);
	assert_int_equal(ch->status, VD_CHANGE_DELETED);
	ch = find(&c, "new file with spaces\nand a newline.txt");
	assert_non_null(ch);
	assert_int_equal(ch->status, VD_CHANGE_ADDED);
	ch = find(&c, "link");
	assert_non_null(ch);
	assert_int_equal(ch->status, VD_CHANGE_TYPECHANGE);
	ch = find(&c, "vendor/lib");
	assert_non_null(ch);
	assert_true(ch->submodule);
	assert_null(find(&c, "same.txt"));
	assert_string_equal(vd_change_status_name(VD_CHANGE_RENAMED), "renamed");
	vd_changes_release(&c);

	/* from == to: nothing */
	assert_int_equal(vd_git_diff(g, b, b, &c, &err), 0);
	assert_int_equal(c.len, 0);
	vd_changes_release(&c);
	/* unknown revision */
	assert_int_equal(vd_git_diff(g, "nope", b, &c, &err), VD_EINVAL);
	assert_non_null(strstr(vd_error_msg(&err), "unknown revision 'nope'"));
	vd_git_free(g);
	repo_free(&rp);
	vd_error_release(&err);
}

/* Without additions and deletions together the diff takes its own tree
 * walk: the same answers as libgit2's diff. */
static void gitsync__diff_fast_walk(void **state)
{
	struct repo rp;
	char a[VD_SHA_HEX], b[VD_SHA_HEX], c2[VD_SHA_HEX];
	vd_error err = VD_ERROR_INIT;
	vd_changes c;
	const vd_change *ch;
	vd_git *g;
	size_t i;

	repo_init(&rp);
	repo_put(&rp, "a/deep/one.py", "1\n", 0644);
	repo_put(&rp, "a/deep/two.py", "2\n", 0644);
	repo_put(&rp, "a.c", "c\n", 0644);
	repo_put(&rp, "a-b", "ab\n", 0644);
	repo_put(&rp, "run.sh", "#!/bin/sh\n", 0644);
	repo_put(&rp, "link", "plain\n", 0644);
	repo_put(&rp, "same/x", "x\n", 0644);
	repo_put_gitlink(&rp, "vendor/lib", "0123456789abcdef0123456789abcdef01234567");
	repo_commit(&rp, a);
	repo_put(&rp, "a/deep/two.py", "two\n", 0644);          /* modified deep down */
	repo_put(&rp, "run.sh", "#!/bin/sh\n", 0755);           /* mode only */
	repo_put_link(&rp, "link", "a.c");                     /* file -> symlink */
	repo_put_gitlink(&rp, "vendor/lib", "89abcdef0123456789abcdef0123456789abcdef");
	repo_put(&rp, "a/new.py", "new\n", 0644);               /* added, no deletion */
	repo_commit(&rp, b);
	assert_int_equal(vd_git_open(rp.dir, &g, &err), 0);
	assert_int_equal(vd_git_diff(g, a, b, &c, &err), 0);
	assert_int_equal(c.len, 5);
	for (i = 1; i < c.len; i++)  /* sorted by path */
		assert_true(strcmp(c.items[i - 1].path, c.items[i].path) < 0);
	assert_int_equal(find(&c, "a/deep/two.py")->status, VD_CHANGE_MODIFIED);
	assert_false(find(&c, "a/deep/two.py")->mode_changed);
	ch = find(&c, "run.sh");
	assert_int_equal(ch->status, VD_CHANGE_MODIFIED);
	assert_true(ch->mode_changed);
	assert_int_equal(find(&c, "link")->status, VD_CHANGE_TYPECHANGE);
	assert_true(find(&c, "vendor/lib")->submodule);
	assert_int_equal(find(&c, "a/new.py")->status, VD_CHANGE_ADDED);
	assert_null(find(&c, "same/x"));
	vd_changes_release(&c);
	/* deletions only, and a file that became a directory (deleted + added:
	 * the rename-aware path answers) */
	repo_put(&rp, "a.c", NULL, 0);
	repo_put(&rp, "a-b", NULL, 0);
	repo_put(&rp, "a-b/inside", "now a dir\n", 0644);
	repo_commit(&rp, c2);
	assert_int_equal(vd_git_diff(g, b, c2, &c, &err), 0);
	assert_int_equal(find(&c, "a.c")->status, VD_CHANGE_DELETED);
	assert_non_null(find(&c, "a-b"));
	assert_non_null(find(&c, "a-b/inside"));
	vd_changes_release(&c);
	vd_git_free(g);
	repo_free(&rp);
	vd_error_release(&err);
}

/* "status path" lines of a diff, in its (sorted) order. */
static void diff_text(vd_git *g, const char *from, const char *to, vd_buf *out)
{
	vd_error err = VD_ERROR_INIT;
	vd_changes c;

	assert_int_equal(vd_git_diff(g, from, to, &c, &err), 0);
	vd_buf_clear(out);
	for (size_t i = 0; i < c.len; i++)
		vd_buf_printf(out, "%s %s\n", vd_change_status_name(c.items[i].status), c.items[i].path);
	vd_changes_release(&c);
	vd_error_release(&err);
}

/* From a pack, where one version of each tree is a delta against the other
 * (the walk learns which to read first, and flips as it goes), the diffs
 * are those of the same repository's loose objects, both ways round. */
static void gitsync__diff_from_a_pack(void **state)
{
	struct repo rp;
	char c[3][VD_SHA_HEX], path[64], text[64];
	vd_buf loose[6], packed = VD_BUF_INIT;
	vd_error err = VD_ERROR_INIT;
	git_packbuilder *pb;
	vd_git *g;
	size_t i, k;
	int d, f;

	repo_init(&rp);
	for (d = 0; d < 12; d++)
		for (f = 0; f < 40; f++) {
			snprintf(path, sizeof(path), "dir%02d/sub/file%02d.py", d, f);
			snprintf(text, sizeof(text), "%d %d\n", d, f);
			repo_put(&rp, path, text, 0644);
		}
	repo_commit(&rp, c[0]);
	for (d = 0; d < 12; d += 2) {  /* half the directories, one file each */
		snprintf(path, sizeof(path), "dir%02d/sub/file%02d.py", d, d);
		repo_put(&rp, path, "changed\n", 0644);
	}
	repo_commit(&rp, c[1]);
	for (d = 1; d < 12; d += 3) {  /* others, and an addition */
		snprintf(path, sizeof(path), "dir%02d/sub/file%02d.py", d, 39 - d);
		repo_put(&rp, path, "again\n", 0755);
	}
	repo_put(&rp, "dir05/new.md", "new\n", 0644);
	repo_commit(&rp, c[2]);
	assert_int_equal(vd_git_open(rp.dir, &g, &err), 0);
	for (k = 0, i = 0; i < 3; i++)
		for (size_t j = 0; j < 3; j++)
			if (i != j && k < 6) {
				loose[k] = (vd_buf)VD_BUF_INIT;
				diff_text(g, c[i], c[j], &loose[k++]);
			}
	assert_non_null(strstr(vd_buf_cstr(&loose[0]), "modified dir00/sub/file00.py\n"));
	vd_git_free(g);

	/* every object into one pack, with deltas (the packed backend is read
	 * before the loose one) */
	assert_int_equal(git_packbuilder_new(&pb, rp.r), 0);
	assert_int_equal(git_packbuilder_insert_commit(pb, &rp.head), 0);
	for (i = 0; i < 2; i++) {
		git_oid id;

		assert_int_equal(git_oid_fromstr(&id, c[i]), 0);
		assert_int_equal(git_packbuilder_insert_commit(pb, &id), 0);
	}
	assert_int_equal(git_packbuilder_write(pb, NULL, 0, NULL, NULL), 0);
	git_packbuilder_free(pb);

	assert_int_equal(vd_git_open(rp.dir, &g, &err), 0);
	for (k = 0, i = 0; i < 3; i++)
		for (size_t j = 0; j < 3; j++)
			if (i != j && k < 6) {
				diff_text(g, c[i], c[j], &packed);
				assert_string_equal(vd_buf_cstr(&packed), vd_buf_cstr(&loose[k]));
				vd_buf_release(&loose[k++]);
			}
	vd_buf_release(&packed);
	vd_git_free(g);
	repo_free(&rp);
	vd_error_release(&err);
}

static void gitsync__odd_paths_and_reads(void **state)
{
	struct repo rp;
	char a[VD_SHA_HEX], b[VD_SHA_HEX], longpath[3000];
	vd_error err = VD_ERROR_INIT;
	vd_buf buf = VD_BUF_INIT;
	vd_changes c;
	vd_git *g;
	size_t i;

	repo_init(&rp);
	repo_put(&rp, "Dockerfile", "FROM base\nCOPY . .\n", 0644);
	repo_commit(&rp, a);
	/* a deep path of 100-byte segments, and a non-UTF-8 name */
	longpath[0] = '\0';
	for (i = 0; i < 25; i++) {
		char seg[128];

		memset(seg, 'a' + (char)(i % 26), 100);
		seg[100] = '\0';
		strcat(longpath, seg);
		strcat(longpath, "/");
	}
	strcat(longpath, "leaf.py");
	repo_put(&rp, longpath, "x\n", 0644);
	repo_put(&rp, "bin\xff\xfe.dat", "x\n", 0644);
	repo_put(&rp, "Dockerfile", "FROM base\nCOPY src/ /app/\n", 0644);
	repo_commit(&rp, b);
	assert_int_equal(vd_git_open(rp.dir, &g, &err), 0);
	assert_int_equal(vd_git_diff(g, a, b, &c, &err), 0);
	assert_int_equal(c.len, 3);
	assert_non_null(find(&c, longpath));
	assert_non_null(find(&c, "bin\xff\xfe.dat"));
	vd_changes_release(&c);
	/* files read from the commit, not the working tree */
	repo_put(&rp, "Dockerfile", "changed in the work tree only\n", 0644);
	assert_int_equal(vd_git_read(g, a, "Dockerfile", &buf, &err), 0);
	assert_string_equal(vd_buf_cstr(&buf), "FROM base\nCOPY . .\n");
	vd_buf_clear(&buf);
	assert_int_equal(vd_git_read(g, b, "Dockerfile", &buf, &err), 0);
	assert_string_equal(vd_buf_cstr(&buf), "FROM base\nCOPY src/ /app/\n");
	assert_int_equal(vd_git_read(g, a, "missing.txt", &buf, &err), VD_ENOTFOUND);
	/* a directory is not a file */
	assert_int_equal(vd_git_read(g, b, "aaaa", &buf, &err), VD_ENOTFOUND);
	/* the cap holds */
	vd_buf_release(&buf);
	vd_buf_init(&buf, 4);
	assert_int_equal(vd_git_read(g, b, "Dockerfile", &buf, &err), VD_ETOOBIG);
	vd_buf_release(&buf);
	vd_git_free(g);
	repo_free(&rp);
	vd_error_release(&err);
}

/* DIR/REL's text, NULL when there is none; good until the next call. */
static const char *slurp_file(const char *dir, const char *rel)
{
	static char *text;
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	free(text);
	text = tu_read_file(path);
	return text;
}

/* A server checkout cloned from an upstream repository: fetch the new tip,
 * check it out, keep .env and ignored files, refuse local modifications
 * unless forced. */
static void gitsync__fetch_and_checkout(void **state)
{
	struct repo up;
	char c1[VD_SHA_HEX], c2[VD_SHA_HEX], tip[VD_SHA_HEX], head[VD_SHA_HEX];
	char server[] = "/tmp/vd-server-XXXXXX";
	git_repository *cloned = NULL;
	vd_error err = VD_ERROR_INIT;
	vd_changes local;
	vd_git *g;

	repo_init(&up);
	repo_put(&up, ".gitignore", "logs/\n", 0644);
	repo_put(&up, "src/app.py", "v1\n", 0644);
	repo_put(&up, "README.md", "v1\n", 0644);
	repo_commit(&up, c1);
	assert_non_null(mkdtemp(server));
	rmdir(server);
	assert_int_equal(git_clone(&cloned, up.dir, server, NULL), 0);
	git_repository_free(cloned);
	/* what lives only on the server */
	tu_write_str(server, ".env", "DB_PASSWORD=secret\n");
	tu_mkdir(server, "logs", 0755);
	tu_write_str(server, "logs/bot.log", "log\n");

	repo_put(&up, "src/app.py", "v2\n", 0644);
	repo_put(&up, "src/new.py", "new\n", 0644);
	repo_commit(&up, c2);

	assert_int_equal(vd_git_open(server, &g, &err), 0);
	assert_int_equal(vd_git_fetch(g, NULL, tip, &err), 0);
	assert_string_equal(tip, c2);
	assert_int_equal(vd_git_checkout(g, tip, false, &err), 0);
	assert_int_equal(vd_git_resolve(g, "HEAD", head, &err), 0);
	assert_string_equal(head, c2);
	assert_string_equal(slurp_file(server, "src/app.py"), "v2\n");
	assert_string_equal(slurp_file(server, "src/new.py"), "new\n");
	assert_string_equal(slurp_file(server, ".env"), "DB_PASSWORD=secret\n");
	assert_string_equal(slurp_file(server, "logs/bot.log"), "log\n");
	assert_int_equal(vd_git_local_changes(g, &local, &err), 0);
	assert_int_equal(local.len, 0);
	vd_changes_release(&local);

	/* a local edit of a tracked file: refused, named, then forced */
	tu_write_str(server, "README.md", "edited on the server\n");
	assert_int_equal(vd_git_checkout(g, c1, false, &err), VD_ECONFLICT);
	assert_non_null(strstr(vd_error_msg(&err), "1 tracked file is changed locally: README.md"));
	assert_string_equal(slurp_file(server, "src/app.py"), "v2\n");  /* nothing changed */
	assert_int_equal(vd_git_checkout(g, c1, true, &err), 0);
	assert_string_equal(slurp_file(server, "README.md"), "v1\n");
	assert_string_equal(slurp_file(server, "src/app.py"), "v1\n");
	assert_null(slurp_file(server, "src/new.py"));
	assert_string_equal(slurp_file(server, ".env"), "DB_PASSWORD=secret\n");

	/* bad input */
	assert_int_equal(vd_git_fetch(g, "nowhere", tip, &err), VD_EINVAL);
	assert_non_null(strstr(vd_error_msg(&err), "no remote named 'nowhere'"));
	assert_int_equal(vd_git_checkout(g, "nope", false, &err), VD_EINVAL);
	vd_git_free(g);

	/* an unreachable remote */
	assert_int_equal(git_repository_open(&cloned, server), 0);
	assert_int_equal(git_remote_set_url(cloned, "origin", "/nonexistent/repo"), 0);
	git_repository_free(cloned);
	assert_int_equal(vd_git_open(server, &g, &err), 0);
	assert_int_equal(vd_git_fetch(g, "origin", tip, &err), VD_ECONNECT);
	vd_git_free(g);
	repo_free(&up);
	assert_int_equal(tu_rm_rf(server), 0);
	vd_error_release(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(gitsync__resolve),
		cmocka_unit_test(gitsync__diff_kinds),
		cmocka_unit_test(gitsync__diff_fast_walk),
		cmocka_unit_test(gitsync__diff_from_a_pack),
		cmocka_unit_test(gitsync__odd_paths_and_reads),
		cmocka_unit_test(gitsync__fetch_and_checkout),
	};
	int r = cmocka_run_group_tests(tests, NULL, NULL);

	git_libgit2_shutdown();
	return r;
}
