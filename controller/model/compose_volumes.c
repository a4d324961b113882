/* A service's volumes: the short syntax "[SOURCE:]TARGET[:OPTIONS]" and
 * the long one, one mount per target (a later one replaces an earlier
 * one in its place, as compose does). */
#include "controller/model/compose_private.h"

#include <ctype.h>
#include <string.h>

bool compose_valid_volume_name(const char *s)
{
	if (!isalnum((unsigned char)*s))
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_' && *s != '.' && *s != '-')
			return false;
	return true;
}

static bool is_propagation(const char *o)
{
	static const char *const v[] = { "shared", "rshared", "slave", "rslave", "private", "rprivate" };
	size_t i;

	for (i = 0; i < 6; i++)
		if (!strcmp(o, v[i]))
			return true;
	return false;
}

static int volume_source(loadctx *lc, const vd_yaml_node *it, const char *where, const char *src,
			 vd_compose_mount *m)
{
	if (src[0] == '.' || src[0] == '/' || src[0] == '~') {
		if (m->type == VD_COMPOSE_MOUNT_VOLUME && !m->short_syntax)
			return compose_err(lc, it, where, "volume source '%s' must be a volume name", src);
		m->type = VD_COMPOSE_MOUNT_BIND;
		if (!(m->source = compose_resolve_path(lc, src)))
			return compose_oom(lc);
		return 0;
	}
	if (m->type == VD_COMPOSE_MOUNT_BIND && !m->short_syntax) {
		if (!(m->source = compose_resolve_path(lc, src)))
			return compose_oom(lc);
		return 0;
	}
	if (!compose_valid_volume_name(src))
		return compose_err(lc, it, where, "invalid volume name '%s'", src);
	m->type = VD_COMPOSE_MOUNT_VOLUME;
	if (!(m->source = compose_dup(lc, src)))
		return compose_oom(lc);
	return 0;
}

static int volume_short(loadctx *lc, const vd_yaml_node *it, const char *where, vd_compose_mount *m)
{
	char *s = vd_yaml_strdup(lc->y, it->s), *parts[4] = { NULL }, *save = NULL, *o;
	size_t n = 0;
	char *c;
	int r;

	if (!s)
		return compose_oom(lc);
	m->short_syntax = true;
	m->type = VD_COMPOSE_MOUNT_VOLUME;
	for (c = s;; c++) {
		if (n == 4)
			return compose_err(lc, it, where, "invalid volume '%s': too many ':'", it->s);
		parts[n++] = c;
		c = strchr(c, ':');
		if (!c)
			break;
		*c = '\0';
	}
	if (n == 4)
		return compose_err(lc, it, where, "invalid volume '%s': too many ':'", it->s);
	if (n == 1) {
		m->target = parts[0];
	} else {
		if (!*parts[0])
			return compose_err(lc, it, where, "invalid volume '%s': empty source", it->s);
		m->target = parts[1];
		if ((r = volume_source(lc, it, where, parts[0], m)))
			return r;
		if (m->type == VD_COMPOSE_MOUNT_BIND)
			m->create_host_path = true;
	}
	if (m->target[0] != '/')
		return compose_err(lc, it, where, "invalid volume '%s': target must be an absolute path", it->s);
	/* compose cleans a short-syntax target as Go's path.Clean does:
	 * "/var/www/html/" is "/var/www/html" */
	if (!(m->target = compose_resolve_path(lc, m->target)))
		return compose_oom(lc);
	if (n == 3) {
		for (o = strtok_r(parts[2], ",", &save); o; o = strtok_r(NULL, ",", &save)) {
			if (!strcmp(o, "ro"))
				m->read_only = true;
			else if (!strcmp(o, "rw"))
				m->read_only = false;
			else if (!strcmp(o, "z") || !strcmp(o, "Z"))
				m->selinux = compose_dup(lc, o);
			else if (!strcmp(o, "nocopy") && m->type == VD_COMPOSE_MOUNT_VOLUME)
				m->nocopy = true;
			else if (is_propagation(o) && m->type == VD_COMPOSE_MOUNT_BIND)
				m->propagation = compose_dup(lc, o);
			else
				return compose_err(lc, it, where, "invalid volume '%s': unknown option '%s'", it->s, o);
		}
	}
	return 0;
}

static int t_propagation(loadctx *lc, const vd_yaml_node *v, const char *where, const compose_key *k,
			 void *obj)
{
	char **out = COMPOSE_FIELD(char *, obj, k);
	int r = compose_t_str(lc, v, where, k->name, out);

	if (!r && *out && !is_propagation(*out))
		r = compose_err(lc, v, where, "invalid propagation '%s'", *out);
	return r;
}

static const char *const selinux_labels[] = { "z", "Z", NULL };

static const compose_key bind_keys[] = {
	{ "create_host_path", K_BOOL(vd_compose_mount, create_host_path) },
	{ "propagation", K_READ_AT(t_propagation, vd_compose_mount, propagation, char *) },
	{ "selinux", K_STR(vd_compose_mount, selinux), .oneof = selinux_labels },
};

static const compose_key volume_opt_keys[] = {
	{ "nocopy", K_BOOL(vd_compose_mount, nocopy) },
};

static const compose_key tmpfs_keys[] = {
	{ "size", K_BYTES(vd_compose_mount, tmpfs_size) },
};

static const compose_table bind_table = COMPOSE_TABLE(bind_keys);
static const compose_table volume_opt_table = COMPOSE_TABLE(volume_opt_keys);
static const compose_table tmpfs_table = COMPOSE_TABLE(tmpfs_keys);

/* A long-syntax mount, once read; its type's options are read after. */
struct mount_in {
	char *type;
	char *source;
	char *target;
	bool read_only;
	const vd_yaml_node *opts[3];   /* bind, volume, tmpfs: by vd_compose_mount_type */
};

static const compose_key mount_keys[] = {
	{ "type", K_STR(struct mount_in, type) },
	{ "source", K_STR(struct mount_in, source) },
	{ "target", K_STR(struct mount_in, target) },
	{ "read_only", K_BOOL(struct mount_in, read_only) },
	{ "bind", K_MAP(struct mount_in, opts[VD_COMPOSE_MOUNT_BIND]) },
	{ "volume", K_MAP(struct mount_in, opts[VD_COMPOSE_MOUNT_VOLUME]) },
	{ "tmpfs", K_MAP(struct mount_in, opts[VD_COMPOSE_MOUNT_TMPFS]) },
};

static const compose_table mount_table = COMPOSE_TABLE(mount_keys, .x_keys = true);

/* The types in vd_compose_mount_type's order; a type's options are under
 * its name. */
static const char *const mount_types[] = { "bind", "volume", "tmpfs", NULL };
static const compose_table *const mount_opts[] = { &bind_table, &volume_opt_table, &tmpfs_table };

static int volume_long(loadctx *lc, const vd_yaml_node *it, const char *where, vd_compose_mount *m)
{
	const char *w = compose_sub_where(lc, where, "volumes");
	struct mount_in in = { 0 };
	size_t t, j;
	int r;

	if (!w)
		return compose_oom(lc);
	if ((r = compose_read_keys(lc, it, w, &mount_table, &in)))
		return r;
	m->target = in.target;
	m->read_only = in.read_only;
	if (!in.type)
		return compose_err(lc, it, w, "'type' is required");
	for (t = 0; mount_types[t] && strcmp(in.type, mount_types[t]); t++)
		;
	if (!mount_types[t])
		return compose_err(lc, it, w, "unsupported volume type '%s' (bind, volume or tmpfs)", in.type);
	m->type = (vd_compose_mount_type)t;
	if (!m->target || m->target[0] != '/')
		return compose_err(lc, it, w, "'target' must be an absolute path");
	if (!(m->target = compose_resolve_path(lc, m->target)))   /* cleaned, as compose mounts it */
		return compose_oom(lc);
	if (m->type == VD_COMPOSE_MOUNT_BIND && (!in.source || !*in.source))
		return compose_err(lc, it, w, "a bind mount needs a 'source'");
	if (m->type == VD_COMPOSE_MOUNT_TMPFS && in.source && *in.source)
		return compose_err(lc, it, w, "a tmpfs mount takes no 'source'");
	if (in.source && *in.source && (r = volume_source(lc, it, w, in.source, m)))
		return r;
	for (j = 0; j < 3; j++)
		if (in.opts[j] && j != m->type)
			return compose_err(lc, it, w, "options that do not match type '%s'", in.type);
	/* only the type's own options are left */
	if (in.opts[m->type])
		r = compose_read_section(lc, in.opts[m->type], w, mount_types[m->type], mount_opts[m->type], m);
	return r;
}

/* The service's mounts while they are read. */
struct mounts {
	vd_compose_mount *v;
	size_t n;
	compose_strmap by_target;   /* target → index + 1 */
};

/* compose's unicity: one mount per target, the later one wins */
static int mount_add(loadctx *lc, const vd_yaml_node *it, struct mounts *ms, vd_compose_mount *m)
{
	uintptr_t at;

	m->pos = compose_pos_of(lc, it);
	at = (uintptr_t)vd_strmap_get(&ms->by_target, m->target);
	if (at) {
		ms->v[at - 1] = *m;
		return 0;
	}
	ms->v[ms->n++] = *m;
	return vd_strmap_put(&ms->by_target, m->target, (void *)(uintptr_t)ms->n) ? compose_oom(lc) : 0;
}

static int mount_short(loadctx *lc, const vd_yaml_node *it, const char *where, void *ctx)
{
	vd_compose_mount m = { 0 };
	int r = volume_short(lc, it, where, &m);

	return r ? r : mount_add(lc, it, ctx, &m);
}

static int mount_long(loadctx *lc, const vd_yaml_node *it, const char *where, void *ctx)
{
	vd_compose_mount m = { 0 };
	int r = volume_long(lc, it, where, &m);

	return r ? r : mount_add(lc, it, ctx, &m);
}

static const compose_list mount_list = {
	"a list", true, COMPOSE_ROOM(struct mounts, v, 0), mount_short, mount_long,
};

int compose_t_volumes(loadctx *lc, const vd_yaml_node *v, const char *where, const compose_key *k, void *obj)
{
	vd_compose_service *s = obj;
	struct mounts ms = { NULL, 0, { 0 } };
	int r = compose_read_list(lc, v, where, k->name, &mount_list, &ms);

	s->volumes = ms.v;
	s->n_volumes = ms.n;
	vd_strmap_release(&ms.by_target);
	return r;
}
