#include "controller/plan/gitsync.h"
#include "controller/plan/gitwalk.h"

#include <git2.h>
#include <stdlib.h>
#include <string.h>

struct vd_git {
	git_repository *repo;
	char *workdir;
};

static int lib_ready;

/* libgit2's last error as ours, with context. */
static int git_fail(vd_error *err, int code, const char *what)
{
	const git_error *e = git_error_last();

	return vd_error_set(err, code, "%s: %s", what, e && e->message ? e->message : "libgit2 error");
}

int vd_git_open(const char *dir, vd_git **out, vd_error *err)
{
	vd_git *g;
	const char *wd;

	if (!lib_ready) {
		git_libgit2_init();
		/* git itself does not re-hash every object it reads; a third of a
		 * large diff's time went there */
		git_libgit2_opts(GIT_OPT_ENABLE_STRICT_HASH_VERIFICATION, 0);
		/* nor does it keep every object it read: the object cache
		 * filled the heap with each tree of a large diff (a tenth of
		 * its time in page faults), and a tree is read once */
		git_libgit2_opts(GIT_OPT_ENABLE_CACHING, 0);
		lib_ready = 1;
	}
	g = calloc(1, sizeof(*g));
	if (!g)
		return vd_error_set(err, VD_ENOMEM, "out of memory");
	if (git_repository_open_ext(&g->repo, dir ? dir : ".", 0, NULL) < 0) {
		free(g);
		return vd_error_set(err, VD_EINVAL, "'%s' is not in a git repository", dir ? dir : ".");
	}
	wd = git_repository_workdir(g->repo);
	g->workdir = strdup(wd ? wd : "");
	if (!g->workdir) {
		vd_git_free(g);
		return vd_error_set(err, VD_ENOMEM, "out of memory");
	}
	*out = g;
	return 0;
}

void vd_git_free(vd_git *g)
{
	if (!g)
		return;
	git_repository_free(g->repo);
	free(g->workdir);
	free(g);
}

const char *vd_git_workdir(const vd_git *g)
{
	return g->workdir;
}

static int lookup_commit(vd_git *g, const char *rev, git_commit **out, vd_error *err)
{
	git_object *obj = NULL;
	int r;

	if (!rev || !*rev)
		return vd_error_set(err, VD_EINVAL, "empty revision");
	if (git_revparse_single(&obj, g->repo, rev) < 0)
		return vd_error_set(err, VD_EINVAL, "unknown revision '%s'", rev);
	r = git_object_peel((git_object **)out, obj, GIT_OBJECT_COMMIT);
	git_object_free(obj);
	if (r < 0)
		return vd_error_set(err, VD_EINVAL, "revision '%s' is not a commit", rev);
	return 0;
}

int vd_git_resolve(vd_git *g, const char *rev, char out[VD_SHA_HEX], vd_error *err)
{
	git_commit *c = NULL;
	int r = lookup_commit(g, rev, &c, err);

	if (r)
		return r;
	git_oid_tostr(out, VD_SHA_HEX, git_commit_id(c));
	git_commit_free(c);
	return 0;
}

bool vd_git_has_commit(vd_git *g, const char *sha)
{
	git_oid oid;
	git_commit *c = NULL;

	if (!sha || git_oid_fromstrp(&oid, sha) < 0)
		return false;
	if (git_commit_lookup(&c, g->repo, &oid) < 0)
		return false;
	git_commit_free(c);
	return true;
}

const char *vd_change_status_name(enum vd_change_status s)
{
	switch (s) {
	case VD_CHANGE_ADDED: return "added";
	case VD_CHANGE_MODIFIED: return "modified";
	case VD_CHANGE_DELETED: return "deleted";
	case VD_CHANGE_RENAMED: return "renamed";
	case VD_CHANGE_COPIED: return "copied";
	case VD_CHANGE_TYPECHANGE: return "typechange";
	}
	return "modified";
}

static int add_delta(vd_changes *c, size_t *cap, const git_diff_delta *d)
{
	enum vd_change_status st;
	bool moved = d->status == GIT_DELTA_RENAMED || d->status == GIT_DELTA_COPIED;

	switch (d->status) {
	case GIT_DELTA_ADDED: st = VD_CHANGE_ADDED; break;
	case GIT_DELTA_DELETED: st = VD_CHANGE_DELETED; break;
	case GIT_DELTA_RENAMED: st = VD_CHANGE_RENAMED; break;
	case GIT_DELTA_COPIED: st = VD_CHANGE_COPIED; break;
	case GIT_DELTA_TYPECHANGE: st = VD_CHANGE_TYPECHANGE; break;
	default: st = VD_CHANGE_MODIFIED; break;
	}
	return vd_changes_add(c, cap, d->status == GIT_DELTA_DELETED ? d->old_file.path : d->new_file.path,
			  moved ? d->old_file.path : NULL, st, d->old_file.mode, d->new_file.mode);
}

static int change_cmp(const void *x, const void *y)
{
	return strcmp(((const vd_change *)x)->path, ((const vd_change *)y)->path);
}

int vd_git_diff(vd_git *g, const char *from, const char *to, vd_changes *out, vd_error *err)
{
	git_diff_options opts = GIT_DIFF_OPTIONS_INIT;
	git_diff_find_options find = GIT_DIFF_FIND_OPTIONS_INIT;
	git_commit *a = NULL, *b = NULL;
	git_tree *ta = NULL, *tb = NULL;
	git_diff *diff = NULL;
	vd_changes c = { NULL, 0 };
	size_t i, n, cap = 0;
	int r;

	r = lookup_commit(g, from, &a, err);
	if (!r)
		r = lookup_commit(g, to, &b, err);
	if (r)
		goto done;
	if (git_commit_tree(&ta, a) < 0 || git_commit_tree(&tb, b) < 0) {
		r = git_fail(err, VD_ERR, "read commit tree");
		goto done;
	}
	{
		/* the fast path (gitwalk.c); renames are not detected there, so
		 * when anything was both added and deleted, libgit2's diff */
		size_t added = 0, deleted = 0;
		int wr = vd_git_walk(g->repo, git_tree_id(ta), git_tree_id(tb), &c, &added, &deleted);

		if (wr) {
			r = wr == VD_ENOMEM ? vd_error_set(err, VD_ENOMEM, "out of memory")
					    : git_fail(err, VD_ERR, "read a tree");
			goto done;
		}
		if (!added || !deleted)
			goto sorted;  /* nothing can have been renamed */
		vd_changes_release(&c);
	}
	/* something was added and something deleted: libgit2's diff, which
	 * pairs them up as renames; submodules compared by their pointer */
	opts.flags = GIT_DIFF_INCLUDE_TYPECHANGE;
	opts.ignore_submodules = GIT_SUBMODULE_IGNORE_NONE;
	if (git_diff_tree_to_tree(&diff, g->repo, ta, tb, &opts) < 0) {
		r = git_fail(err, VD_ERR, "diff");
		goto done;
	}
	find.flags = GIT_DIFF_FIND_RENAMES;
	if (git_diff_find_similar(diff, &find) < 0) {
		r = git_fail(err, VD_ERR, "rename detection");
		goto done;
	}
	n = git_diff_num_deltas(diff);
	for (i = 0; i < n; i++) {
		if (add_delta(&c, &cap, git_diff_get_delta(diff, i))) {
			r = vd_error_set(err, VD_ENOMEM, "out of memory");
			goto done;
		}
	}
sorted:
	if (c.len)
		qsort(c.items, c.len, sizeof(*c.items), change_cmp);
	*out = c;
	c.items = NULL;
	c.len = 0;
done:
	if (r)
		vd_error_prefix(err, "diff %s..%s", from, to);
	vd_changes_release(&c);
	git_diff_free(diff);
	git_tree_free(ta);
	git_tree_free(tb);
	git_commit_free(a);
	git_commit_free(b);
	return r;
}

void vd_changes_release(vd_changes *c)
{
	size_t i;

	if (!c)
		return;
	for (i = 0; i < c->len; i++) {
		free(c->items[i].path);
		free(c->items[i].old_path);
	}
	free(c->items);
	c->items = NULL;
	c->len = 0;
}

int vd_git_read(vd_git *g, const char *commit, const char *path, vd_buf *out, vd_error *err)
{
	git_commit *c = NULL;
	git_tree *t = NULL;
	git_tree_entry *e = NULL;
	git_blob *blob = NULL;
	int r;

	r = lookup_commit(g, commit, &c, err);
	if (r)
		goto done;
	if (git_commit_tree(&t, c) < 0) {
		r = git_fail(err, VD_ERR, "read commit tree");
		goto done;
	}
	if (git_tree_entry_bypath(&e, t, path) < 0 || git_tree_entry_type(e) != GIT_OBJECT_BLOB) {
		r = vd_error_set(err, VD_ENOTFOUND, "no file '%s' in commit %.12s", path, commit);
		goto done;
	}
	if (git_blob_lookup(&blob, g->repo, git_tree_entry_id(e)) < 0) {
		r = git_fail(err, VD_ERR, "read blob");
		goto done;
	}
	if (vd_buf_put(out, git_blob_rawcontent(blob), (size_t)git_blob_rawsize(blob)))
		r = vd_error_set(err, VD_ETOOBIG, "'%s' is larger than %zu bytes", path, out->max);
done:
	git_blob_free(blob);
	git_tree_entry_free(e);
	git_tree_free(t);
	git_commit_free(c);
	return r;
}

struct cred_ctx {
	int tries;
};

/* Credentials for a fetch: a token over https, the agent or a key over ssh.
 * libgit2 asks again after a refusal; give up after a few rounds instead of
 * looping. */
static int fetch_credentials(git_credential **out, const char *url, const char *user,
			     unsigned int allowed, void *payload)
{
	struct cred_ctx *c = payload;
	const char *token = getenv("VOXDEPLOY_GIT_TOKEN");
	const char *key = getenv("VOXDEPLOY_SSH_KEY");

	if (++c->tries > 3)
		return GIT_EAUTH;
	if ((allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT) && token && *token)
		return git_credential_userpass_plaintext_new(out, user && *user ? user : "x-access-token",
							     token);
	if (allowed & GIT_CREDENTIAL_SSH_KEY) {
		if (key && *key && c->tries > 1)
			return git_credential_ssh_key_new(out, user ? user : "git", NULL, key, NULL);
		return git_credential_ssh_key_from_agent(out, user ? user : "git");
	}
	return GIT_PASSTHROUGH;
}

int vd_git_fetch(vd_git *g, const char *remote_name, char out[VD_SHA_HEX], vd_error *err)
{
	git_fetch_options opts = GIT_FETCH_OPTIONS_INIT;
	struct cred_ctx creds = { 0 };
	git_remote *remote = NULL;
	git_reference *head = NULL;
	git_oid oid;
	vd_buf ref = VD_BUF_INIT;
	const char *name = remote_name && *remote_name ? remote_name : "origin";
	int r = 0;

	if (git_remote_lookup(&remote, g->repo, name) < 0) {
		r = vd_error_set(err, VD_EINVAL, "no remote named '%s' in the repository", name);
		goto done;
	}
	if (git_repository_head(&head, g->repo) < 0 || !git_reference_is_branch(head)) {
		r = vd_error_set(err, VD_EINVAL,
				 "the checkout is not on a branch: cannot tell which branch to fetch");
		goto done;
	}
	opts.callbacks.credentials = fetch_credentials;
	opts.callbacks.payload = &creds;
	opts.prune = GIT_FETCH_PRUNE;
	if (git_remote_fetch(remote, NULL, &opts, "voxdeploy: fetch") < 0) {
		r = git_fail(err, VD_ECONNECT, "fetch");
		goto done;
	}
	if (vd_buf_printf(&ref, "refs/remotes/%s/%s", name, git_reference_shorthand(head))) {
		r = vd_error_set(err, VD_ENOMEM, "out of memory");
		goto done;
	}
	if (git_reference_name_to_id(&oid, g->repo, vd_buf_cstr(&ref)) < 0) {
		r = vd_error_set(err, VD_EINVAL, "remote '%s' has no branch '%s'", name,
				 git_reference_shorthand(head));
		goto done;
	}
	git_oid_tostr(out, VD_SHA_HEX, &oid);
done:
	if (r)
		vd_error_prefix(err, "fetch %s", name);
	vd_buf_release(&ref);
	git_reference_free(head);
	git_remote_free(remote);
	return r;
}

int vd_git_local_changes(vd_git *g, vd_changes *out, vd_error *err)
{
	git_status_options so = GIT_STATUS_OPTIONS_INIT;
	git_status_list *list = NULL;
	vd_changes c = { NULL, 0 };
	size_t i, n, cap = 0;
	int r = 0;

	so.show = GIT_STATUS_SHOW_INDEX_AND_WORKDIR;
	so.flags = GIT_STATUS_OPT_EXCLUDE_SUBMODULES;  /* no untracked, no ignored */
	if (git_status_list_new(&list, g->repo, &so) < 0)
		return git_fail(err, VD_ERR, "read the working tree's status");
	n = git_status_list_entrycount(list);
	for (i = 0; i < n; i++) {
		const git_status_entry *e = git_status_byindex(list, i);
		const git_diff_delta *d = e->index_to_workdir ? e->index_to_workdir : e->head_to_index;

		if (!d || e->status == GIT_STATUS_CURRENT)
			continue;
		if (add_delta(&c, &cap, d)) {
			r = vd_error_set(err, VD_ENOMEM, "out of memory");
			goto done;
		}
	}
	*out = c;
	c.items = NULL;
	c.len = 0;
done:
	vd_changes_release(&c);
	git_status_list_free(list);
	return r;
}

int vd_git_checkout(vd_git *g, const char *commit, bool force, vd_error *err)
{
	git_checkout_options co = GIT_CHECKOUT_OPTIONS_INIT;
	git_commit *c = NULL;
	git_reference *head = NULL, *moved = NULL;
	vd_changes local = { NULL, 0 };
	vd_buf list = VD_BUF_INIT;
	size_t i;
	int r;

	r = lookup_commit(g, commit, &c, err);
	if (r)
		goto done;
	if (!force) {
		r = vd_git_local_changes(g, &local, err);
		if (r)
			goto done;
		for (i = 0; i < local.len && i < 20; i++)
			vd_buf_printf(&list, "%s%s", i ? ", " : "", local.items[i].path);
		if (local.len > 20)
			vd_buf_printf(&list, " and %zu more", local.len - 20);
		if (local.len) {
			r = vd_error_set(err, VD_ECONFLICT,
					 "%zu tracked file%s changed locally: %s (commit or discard them, "
					 "or use --force to discard)", local.len, local.len == 1 ? " is" : "s are",
					 vd_buf_cstr(&list));
			goto done;
		}
	}
	/* SAFE keeps untracked and ignored files and refuses to overwrite one
	 * that the new commit tracks; FORCE discards local modifications of
	 * tracked files only (untracked files are never removed) */
	co.checkout_strategy = force ? GIT_CHECKOUT_FORCE : GIT_CHECKOUT_SAFE;
	if (git_checkout_tree(g->repo, (const git_object *)c, &co) < 0) {
		r = git_fail(err, VD_ECONFLICT, "check out");
		goto done;
	}
	if (git_repository_head(&head, g->repo) == 0 && git_reference_is_branch(head)) {
		if (git_reference_set_target(&moved, head, git_commit_id(c), "voxdeploy: deploy") < 0)
			r = git_fail(err, VD_ERR, "move the branch");
	} else if (git_repository_set_head_detached(g->repo, git_commit_id(c)) < 0) {
		r = git_fail(err, VD_ERR, "move HEAD");
	}
done:
	if (r)
		vd_error_prefix(err, "check out %.12s", commit);
	vd_changes_release(&local);
	vd_buf_release(&list);
	git_reference_free(moved);
	git_reference_free(head);
	git_commit_free(c);
	return r;
}
