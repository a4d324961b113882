/* Test helper: real git repositories made with libgit2. */
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

#include "gitrepo.h"
#include "testutil.h"

static void init_in_dir(struct repo *rp)
{
	git_libgit2_init();
	assert_int_equal(git_repository_init(&rp->r, rp->dir, 0), 0);
	rp->n = 0;
}

void repo_init(struct repo *rp)
{
	snprintf(rp->dir, sizeof(rp->dir), "/tmp/vd-git-XXXXXX");
	assert_non_null(mkdtemp(rp->dir));
	init_in_dir(rp);
}

void repo_init_at(struct repo *rp, const char *dir)
{
	assert_true(strlen(dir) < sizeof(rp->dir));
	snprintf(rp->dir, sizeof(rp->dir), "%s", dir);
	assert_int_equal(mkdir(rp->dir, 0700), 0);
	init_in_dir(rp);
}

void repo_free(struct repo *rp)
{
	git_repository_free(rp->r);
	assert_int_equal(tu_rm_rf(rp->dir), 0);
}

void repo_close(struct repo *rp)
{
	git_repository_free(rp->r);
	git_libgit2_shutdown();
}

static void mkparents(const char *full)
{
	char tmp[8192], *p;

	snprintf(tmp, sizeof(tmp), "%s", full);
	for (p = strchr(tmp + 1, '/'); p; p = strchr(p + 1, '/')) {
		*p = '\0';
		mkdir(tmp, 0755);
		*p = '/';
	}
}

/* Write (content != NULL) or delete (content == NULL) path, stage it. */
void repo_putf(struct repo *rp, const char *path, const char *fmt, ...)
{
	char *text = NULL;
	va_list ap;

	va_start(ap, fmt);
	assert_true(vasprintf(&text, fmt, ap) >= 0);
	va_end(ap);
	repo_put(rp, path, text, 0100644);
	free(text);
}

void repo_put(struct repo *rp, const char *path, const char *content, int mode)
{
	char full[8192];
	git_index *idx;

	snprintf(full, sizeof(full), "%s/%s", rp->dir, path);
	assert_int_equal(git_repository_index(&idx, rp->r), 0);
	if (content) {
		FILE *f;

		mkparents(full);
		unlink(full);
		f = fopen(full, "w");
		assert_non_null(f);
		fputs(content, f);
		fclose(f);
		chmod(full, (mode_t)mode);
		assert_int_equal(git_index_add_bypath(idx, path), 0);
	} else {
		unlink(full);
		assert_int_equal(git_index_remove_bypath(idx, path), 0);
	}
	assert_int_equal(git_index_write(idx), 0);
	git_index_free(idx);
}

void repo_put_link(struct repo *rp, const char *path, const char *target)
{
	char full[8192];
	git_index *idx;

	snprintf(full, sizeof(full), "%s/%s", rp->dir, path);
	unlink(full);
	assert_int_equal(symlink(target, full), 0);
	assert_int_equal(git_repository_index(&idx, rp->r), 0);
	assert_int_equal(git_index_add_bypath(idx, path), 0);
	assert_int_equal(git_index_write(idx), 0);
	git_index_free(idx);
}

/* A submodule pointer is a gitlink entry: add one by hand. */
void repo_put_gitlink(struct repo *rp, const char *path, const char *sha)
{
	git_index_entry e;
	git_index *idx;

	memset(&e, 0, sizeof(e));
	e.path = path;
	e.mode = GIT_FILEMODE_COMMIT;
	assert_int_equal(git_oid_fromstr(&e.id, sha), 0);
	assert_int_equal(git_repository_index(&idx, rp->r), 0);
	assert_int_equal(git_index_add(idx, &e), 0);
	assert_int_equal(git_index_write(idx), 0);
	git_index_free(idx);
}

void repo_commit(struct repo *rp, char out[VD_SHA_HEX])
{
	git_signature *sig;
	git_index *idx;
	git_oid tree_id;
	git_tree *tree;
	git_commit *parent = NULL;
	char msg[32];

	assert_int_equal(git_signature_new(&sig, "t", "t@example.invalid", 1700000000 + rp->n, 0), 0);
	assert_int_equal(git_repository_index(&idx, rp->r), 0);
	assert_int_equal(git_index_write_tree(&tree_id, idx), 0);
	assert_int_equal(git_tree_lookup(&tree, rp->r, &tree_id), 0);
	if (rp->n)
		assert_int_equal(git_commit_lookup(&parent, rp->r, &rp->head), 0);
	snprintf(msg, sizeof(msg), "commit %d", rp->n);
	assert_int_equal(git_commit_create_v(&rp->head, rp->r, "HEAD", sig, sig, NULL, msg, tree,
					     parent ? 1 : 0, parent), 0);
	rp->n++;
	git_oid_tostr(out, VD_SHA_HEX, &rp->head);
	git_commit_free(parent);
	git_tree_free(tree);
	git_index_free(idx);
	git_signature_free(sig);
}

