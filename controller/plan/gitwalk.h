/* voxdeploy — the fast tree-to-tree walk behind vd_git_diff (private to
 * gitsync.c and gitwalk.c). */
#ifndef VD_CONTROLLER_GITWALK_H
#define VD_CONTROLLER_GITWALK_H

#include <git2.h>
#include <stddef.h>
#include <stdint.h>

#include "controller/plan/gitsync.h"

/* Appends one change to c (*cap: its capacity); 0 or VD_ENOMEM. */
int vd_changes_add(vd_changes *c, size_t *cap, const char *path, const char *old_path,
		   enum vd_change_status status, uint32_t old_mode, uint32_t new_mode);

/* The files that differ between trees a and b of repo, in no particular
 * order and without rename detection; *added and *deleted count the files
 * added and deleted.  0, VD_ENOMEM, or VD_ERR for an unreadable or malformed
 * tree. */
int vd_git_walk(git_repository *repo, const git_oid *a, const git_oid *b, vd_changes *out,
		size_t *added, size_t *deleted);

#endif
