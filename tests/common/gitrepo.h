/* Test helper: real git repositories made with libgit2, in a temporary
 * directory or a given one, for the unit tests and the integration tests
 * alike. */
#ifndef VD_TESTS_GITREPO_H
#define VD_TESTS_GITREPO_H

#include <git2.h>

#include "controller/plan/gitsync.h"

struct repo {
	char dir[256];
	git_repository *r;
	git_oid head;
	int n;
};

void repo_init(struct repo *rp);
/* A repository in dir, which must not exist yet. */
void repo_init_at(struct repo *rp, const char *dir);
/* Remove the repository and its directory. */
void repo_free(struct repo *rp);
/* Let go of the repository and leave its directory. */
void repo_close(struct repo *rp);
/* Write (content != NULL) or delete (content == NULL) path, stage it. */
void repo_put(struct repo *rp, const char *path, const char *content, int mode);
/* A regular file (0644) from a printf format, staged. */
void repo_putf(struct repo *rp, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void repo_put_link(struct repo *rp, const char *path, const char *target);
/* A submodule pointer: a gitlink entry. */
void repo_put_gitlink(struct repo *rp, const char *path, const char *sha);
/* Commit what is staged; out receives the commit id. */
void repo_commit(struct repo *rp, char out[VD_SHA_HEX]);

#endif
