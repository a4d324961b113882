#include "controller/plan/gitwalk.h"

#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/clock.h"

/* Walk both trees side by side, descend only into subtrees whose ids
 * differ, and build a path only for what changed (libgit2's diff iterates
 * and names every entry).
 *
 * Trees are read raw from the object database and their entries ("<octal
 * mode> <name>\0<20-byte id>", in git's order) parsed in place: building
 * libgit2's entry vectors (git_tree_lookup) cost as much as inflating them.
 *
 * Which tree of a pair is read first matters.  In a pack, one version of a
 * tree is usually stored as a delta against the other, and libgit2 keeps
 * the base of a delta it has just resolved: read the delta first and the
 * other version is then found in that cache; read the base first and it is
 * inflated twice.  Which one is the delta depends on how the pack was made
 * (a fetch stores the new version as a delta against the old one, a repack
 * usually the old against the new), so each walk learns it as it goes: the
 * new tree first, and whenever the second read of a pair takes longer than
 * the first, the order flips.  The result is the same either way. */

int vd_changes_add(vd_changes *c, size_t *cap, const char *path, const char *old_path,
		   enum vd_change_status status, uint32_t old_mode, uint32_t new_mode)
{
	vd_change *ch;

	if (c->len == *cap) {
		size_t ncap = *cap ? *cap * 2 : 64;
		vd_change *n = realloc(c->items, ncap * sizeof(*n));

		if (!n)
			return VD_ENOMEM;
		c->items = n;
		*cap = ncap;
	}
	ch = &c->items[c->len];
	memset(ch, 0, sizeof(*ch));
	ch->status = status;
	if (!(ch->path = strdup(path)))
		return VD_ENOMEM;
	if (old_path && !(ch->old_path = strdup(old_path))) {
		free(ch->path);
		return VD_ENOMEM;
	}
	ch->mode_changed = status == VD_CHANGE_MODIFIED && old_mode != new_mode;
	ch->submodule = old_mode == GIT_FILEMODE_COMMIT || new_mode == GIT_FILEMODE_COMMIT;
	c->len++;
	return 0;
}

struct walk {
	git_odb *odb;
	vd_changes c;
	size_t cap;
	size_t added, deleted;
	vd_buf path;
	bool old_first;  /* read a pair's old tree first (see above) */
};

struct rawtree {
	git_odb_object *obj;
	const char *p, *end;
};

struct rawent {
	uint32_t mode;           /* normalised as git_tree_entry_filemode() does */
	const char *name;        /* NUL-terminated inside the object */
	size_t len;
	const unsigned char *id; /* GIT_OID_RAWSZ bytes */
	bool tree;
};

static uint32_t normal_mode(uint32_t m)
{
	switch (m & 0170000) {
	case 0040000:
	case 0120000:
	case 0160000:
		return m & 0170000;
	default:
		return m & 0111 ? 0100755 : 0100644;
	}
}

static int raw_open(struct walk *w, const git_oid *id, struct rawtree *t)
{
	t->obj = NULL;
	if (git_odb_read(&t->obj, w->odb, id) < 0)
		return VD_ERR;
	if (git_odb_object_type(t->obj) != GIT_OBJECT_TREE) {
		git_odb_object_free(t->obj);
		t->obj = NULL;
		return VD_ERR;
	}
	t->p = git_odb_object_data(t->obj);
	t->end = t->p + git_odb_object_size(t->obj);
	return 0;
}

/* The next entry: 1, 0 at the end, VD_ERR for a malformed tree. */
static int raw_next(struct rawtree *t, struct rawent *e)
{
	const char *p = t->p, *nul;
	uint32_t mode = 0;

	if (p >= t->end)
		return 0;
	for (; p < t->end && *p >= '0' && *p <= '7'; p++)
		mode = mode * 8 + (uint32_t)(*p - '0');
	if (p >= t->end || *p != ' ' || p == t->p)
		return VD_ERR;
	p++;
	nul = memchr(p, '\0', (size_t)(t->end - p));
	if (!nul || nul == p || (size_t)(t->end - nul - 1) < GIT_OID_RAWSZ)
		return VD_ERR;
	e->mode = normal_mode(mode);
	e->tree = e->mode == 0040000;
	e->name = p;
	e->len = (size_t)(nul - p);
	e->id = (const unsigned char *)nul + 1;
	t->p = nul + 1 + GIT_OID_RAWSZ;
	return 1;
}

/* git's tree order: names compared as if a tree's ended in '/'. */
static int raw_cmp(const struct rawent *a, const struct rawent *b)
{
	size_t n = a->len < b->len ? a->len : b->len;
	int c = memcmp(a->name, b->name, n);
	unsigned char ca, cb;

	if (c)
		return c;
	ca = a->len > n ? (unsigned char)a->name[n] : a->tree ? '/' : 0;
	cb = b->len > n ? (unsigned char)b->name[n] : b->tree ? '/' : 0;
	return (int)ca - (int)cb;
}

static int walk_all(struct walk *w, const git_oid *tree, enum vd_change_status st);
static int walk_pair(struct walk *w, const git_oid *a, const git_oid *b);

/* Into path: "dir/name" (or "name" at the root); *mark: where to cut back. */
static int path_push(struct walk *w, const char *name, size_t *mark)
{
	*mark = w->path.len;
	return (*mark && vd_buf_putc(&w->path, '/')) || vd_buf_puts(&w->path, name) ? VD_ENOMEM : 0;
}

static void path_pop(struct walk *w, size_t mark)
{
	w->path.len = mark;
	w->path.ptr[mark] = '\0';
}

static int walk_entry_all(struct walk *w, const struct rawent *e, enum vd_change_status st)
{
	size_t mark;
	int r = path_push(w, e->name, &mark);

	if (r)
		return r;
	if (e->tree) {
		git_oid id;

		git_oid_fromraw(&id, e->id);
		r = walk_all(w, &id, st);
	} else {
		r = vd_changes_add(&w->c, &w->cap, vd_buf_cstr(&w->path), NULL, st,
				   st == VD_CHANGE_DELETED ? e->mode : 0, st == VD_CHANGE_ADDED ? e->mode : 0);
		if (st == VD_CHANGE_ADDED)
			w->added++;
		else
			w->deleted++;
	}
	path_pop(w, mark);
	return r;
}

static int walk_all(struct walk *w, const git_oid *tree, enum vd_change_status st)
{
	struct rawtree t;
	struct rawent e;
	int r, more;

	if ((r = raw_open(w, tree, &t)))
		return r;
	while (!r && (more = raw_next(&t, &e)) != 0)
		r = more < 0 ? VD_ERR : walk_entry_all(w, &e, st);
	git_odb_object_free(t.obj);
	return r;
}

static int walk_both(struct walk *w, const struct rawent *ea, const struct rawent *eb)
{
	size_t mark;
	int r;

	if (ea->mode == eb->mode && !memcmp(ea->id, eb->id, GIT_OID_RAWSZ))
		return 0;
	if (ea->tree != eb->tree)  /* a file became a directory or back: what git reports */
		return (r = walk_entry_all(w, ea, VD_CHANGE_DELETED)) ? r :
		       walk_entry_all(w, eb, VD_CHANGE_ADDED);
	if ((r = path_push(w, ea->name, &mark)))
		return r;
	if (ea->tree) {
		git_oid ia, ib;

		git_oid_fromraw(&ia, ea->id);
		git_oid_fromraw(&ib, eb->id);
		r = walk_pair(w, &ia, &ib);
	} else {
		/* blob, link and gitlink: another kind is a type change */
		r = vd_changes_add(&w->c, &w->cap, vd_buf_cstr(&w->path), NULL,
				   (ea->mode & 0170000) != (eb->mode & 0170000) ? VD_CHANGE_TYPECHANGE
										: VD_CHANGE_MODIFIED,
				   ea->mode, eb->mode);
	}
	path_pop(w, mark);
	return r;
}

/* Both trees of a pair, in the order the walk has learnt. */
static int read_pair(struct walk *w, const git_oid *a, const git_oid *b, struct rawtree *ta,
		     struct rawtree *tb)
{
	struct rawtree *first = w->old_first ? ta : tb, *second = w->old_first ? tb : ta;
	uint64_t t0, t1, t2;
	int r;

	t0 = vd_now_ns();
	if ((r = raw_open(w, w->old_first ? a : b, first)))
		return r;
	t1 = vd_now_ns();
	if ((r = raw_open(w, w->old_first ? b : a, second))) {
		git_odb_object_free(first->obj);
		return r;
	}
	t2 = vd_now_ns();
	if (t2 - t1 > t1 - t0)
		w->old_first = !w->old_first;
	return 0;
}

static int walk_pair(struct walk *w, const git_oid *a, const git_oid *b)
{
	struct rawtree ta, tb;
	struct rawent ea, eb;
	int r, ma, mb;

	if ((r = read_pair(w, a, b, &ta, &tb)))
		return r;
	ma = raw_next(&ta, &ea);
	mb = raw_next(&tb, &eb);
	/* both lists are in git's tree order */
	while (!r && (ma > 0 || mb > 0)) {
		int cmp;

		if (ma < 0 || mb < 0) {
			r = VD_ERR;
			break;
		}
		cmp = ma <= 0 ? 1 : mb <= 0 ? -1 : strcmp(ea.name, eb.name);
		if (ma > 0 && mb > 0 && cmp)
			cmp = raw_cmp(&ea, &eb);
		if (cmp < 0) {
			r = walk_entry_all(w, &ea, VD_CHANGE_DELETED);
			ma = raw_next(&ta, &ea);
		} else if (cmp > 0) {
			r = walk_entry_all(w, &eb, VD_CHANGE_ADDED);
			mb = raw_next(&tb, &eb);
		} else {
			r = walk_both(w, &ea, &eb);
			ma = raw_next(&ta, &ea);
			mb = raw_next(&tb, &eb);
		}
	}
	if (!r && (ma < 0 || mb < 0))
		r = VD_ERR;
	git_odb_object_free(ta.obj);
	git_odb_object_free(tb.obj);
	return r;
}

int vd_git_walk(git_repository *repo, const git_oid *a, const git_oid *b, vd_changes *out,
		size_t *added, size_t *deleted)
{
	struct walk w = { .path = VD_BUF_INIT };
	int r;

	if (git_repository_odb(&w.odb, repo) < 0)
		return VD_ERR;
	r = walk_pair(&w, a, b);
	git_odb_free(w.odb);
	vd_buf_release(&w.path);
	if (r) {
		vd_changes_release(&w.c);
		return r;
	}
	*out = w.c;
	*added = w.added;
	*deleted = w.deleted;
	return 0;
}
