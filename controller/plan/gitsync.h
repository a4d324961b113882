/* voxdeploy — the project's git repository through libgit2: resolve
 * revisions, diff two commits tree to tree, read files at a commit, and sync
 * the checkout (fetch + checkout, keeping untracked files such as .env).
 * Never spawns git; libgit2's headers stay inside gitsync.c. */
#ifndef VD_CONTROLLER_GITSYNC_H
#define VD_CONTROLLER_GITSYNC_H

#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"
#include "common/error.h"

typedef struct vd_git vd_git;

#define VD_SHA_HEX 41   /* 40 hex digits and a NUL */

/* Open the repository at (or above) dir.  VD_EINVAL when it is none. */
int vd_git_open(const char *dir, vd_git **out, vd_error *err);
void vd_git_free(vd_git *g);

/* The working directory of the repository (absolute, with a trailing '/'). */
const char *vd_git_workdir(const vd_git *g);

/* Resolve anything libgit2 resolves (a sha, a prefix, a branch, a tag,
 * HEAD~2, origin/main) to a commit id.  VD_EINVAL "unknown revision 'x'". */
int vd_git_resolve(vd_git *g, const char *rev, char out[VD_SHA_HEX], vd_error *err);
/* True when the commit is in the repository (a deployed commit may not be:
 * shallow clones, rewritten history). */
bool vd_git_has_commit(vd_git *g, const char *sha);

enum vd_change_status {
	VD_CHANGE_ADDED,
	VD_CHANGE_MODIFIED,
	VD_CHANGE_DELETED,
	VD_CHANGE_RENAMED,
	VD_CHANGE_COPIED,
	VD_CHANGE_TYPECHANGE,   /* file ↔ symlink ↔ submodule */
};

typedef struct vd_change {
	char *path;              /* the new path (the old one for deletions) */
	char *old_path;          /* renames and copies: where it came from; else NULL */
	enum vd_change_status status;
	bool mode_changed;       /* e.g. the executable bit */
	bool submodule;          /* a submodule pointer moved */
} vd_change;

typedef struct vd_changes {
	vd_change *items;
	size_t len;
} vd_changes;

/* The changes from commit `from` to commit `to`, tree to tree (no working
 * tree reads), renames detected.  from == to gives no changes. */
int vd_git_diff(vd_git *g, const char *from, const char *to, vd_changes *out, vd_error *err);
void vd_changes_release(vd_changes *c);
const char *vd_change_status_name(enum vd_change_status s);

/* Read a file at a commit into out (respecting out's cap).  VD_ENOTFOUND
 * when the path is not a file in that commit. */
int vd_git_read(vd_git *g, const char *commit, const char *path, vd_buf *out, vd_error *err);

/* Fetch `remote` (NULL: "origin"): file paths and file://, https (a token
 * from VOXDEPLOY_GIT_TOKEN, sent as the password), ssh (the ssh agent, or the
 * key file VOXDEPLOY_SSH_KEY).  out receives the fetched tip of the branch
 * that is checked out (refs/remotes/<remote>/<branch>).  VD_EINVAL for an
 * unknown remote or a detached HEAD, VD_ECONNECT when the fetch fails. */
int vd_git_fetch(vd_git *g, const char *remote, char out[VD_SHA_HEX], vd_error *err);

/* Tracked files with local modifications (staged or not), one per entry of
 * out (caller releases with vd_changes_release; status MODIFIED, ADDED,
 * DELETED, TYPECHANGE).  Untracked and ignored files are not listed. */
int vd_git_local_changes(vd_git *g, vd_changes *out, vd_error *err);

/* Check out `commit` and move the checked-out branch to it (a detached HEAD
 * stays detached).  Untracked and ignored files (.env) are kept; a tracked
 * file with local modifications makes it refuse — VD_ECONFLICT listing the
 * files — unless force, which discards those modifications. */
int vd_git_checkout(vd_git *g, const char *commit, bool force, vd_error *err);

#endif
