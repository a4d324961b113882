#include "controller/state/state.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define STATE_FILE "current.json"
#define STATE_MAX ((size_t)1 << 20)

char *vd_state_dir(const char *explicit_dir)
{
	const char *env = getenv("VOXDEPLOY_STATE_DIR");

	if (explicit_dir && *explicit_dir)
		return strdup(explicit_dir);
	return strdup(env && *env ? env : VD_STATE_DIR_DEFAULT);
}

void vd_state_release(vd_state *st)
{
	if (!st)
		return;
	free(st->project);
	free(st->commit);
	free(st->deploy_id);
	free(st->deployed_at);
	vd_kvs_release(&st->images);
	vd_kvs_release(&st->containers);
	memset(st, 0, sizeof(*st));
}

static int dup_field(yajl_val v, const char *key, char **out)
{
	const char *s = vd_json_str(v, key);

	*out = NULL;
	if (!s)
		return 0;
	*out = strdup(s);
	return *out ? 0 : VD_ENOMEM;
}

static int parse(const char *json, vd_state *out, vd_error *err)
{
	vd_state st;
	yajl_val v = vd_json_parse(json, err);
	int r = 0;

	memset(&st, 0, sizeof(st));
	if (!v)
		return vd_error_prefix(err, "state file");
	if (!YAJL_IS_OBJECT(v)) {
		r = vd_error_set(err, VD_EINVAL, "state file: expected an object");
		goto done;
	}
	if (dup_field(v, "project", &st.project) || dup_field(v, "commit", &st.commit) ||
	    dup_field(v, "deploy_id", &st.deploy_id) || dup_field(v, "deployed_at", &st.deployed_at) ||
	    vd_kvs_from_json(vd_json_get(v, "images"), &st.images) ||
	    vd_kvs_from_json(vd_json_get(v, "containers"), &st.containers)) {
		r = vd_error_set(err, VD_ENOMEM, "out of memory");
		goto done;
	}
	if (st.commit && (strlen(st.commit) != 40 || strspn(st.commit, "0123456789abcdef") != 40)) {
		r = vd_error_set(err, VD_EINVAL, "state file: commit '%s' is not a full commit id",
				 st.commit);
		goto done;
	}
	*out = st;
	memset(&st, 0, sizeof(st));
done:
	vd_state_release(&st);
	yajl_tree_free(v);
	return r;
}

int vd_state_read_file(const char *dir, const char *name, size_t max, vd_buf *out, vd_error *err)
{
	vd_buf path = VD_BUF_INIT;
	char chunk[8192];
	size_t n;
	FILE *f;
	int r = 0;

	vd_buf_release(out);
	vd_buf_init(out, max);
	if (vd_buf_printf(&path, "%s/%s", dir, name))
		return vd_error_set(err, VD_ENOMEM, "out of memory");
	f = fopen(vd_buf_cstr(&path), "re");
	if (!f) {
		r = errno == ENOENT ? VD_ENOTFOUND : VD_EIO;
		vd_error_set(err, r, "cannot read %s: %s", vd_buf_cstr(&path), strerror(errno));
		goto done;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (vd_buf_put(out, chunk, n)) {
			r = vd_error_set(err, VD_EINVAL, "%s is larger than %zu bytes", vd_buf_cstr(&path), max);
			break;
		}
	}
	if (!r && ferror(f))
		r = vd_error_set(err, VD_EIO, "cannot read %s", vd_buf_cstr(&path));
	fclose(f);
done:
	vd_buf_release(&path);
	return r;
}

int vd_state_load(const char *dir, vd_state *out, vd_error *err)
{
	vd_buf text = VD_BUF_INIT;
	int r;

	if (!(r = vd_state_read_file(dir, STATE_FILE, STATE_MAX, &text, err)) &&
	    (r = parse(vd_buf_cstr(&text), out, err)))
		vd_error_prefix(err, "%s/%s", dir, STATE_FILE);
	vd_buf_release(&text);
	return r;
}

static int to_json(const vd_state *st, vd_buf *out)
{
	yajl_gen g = vd_jgen_new();

	if (!g)
		return VD_ENOMEM;
	yajl_gen_map_open(g);
	vd_jgen_kstr(g, "project", st->project);
	vd_jgen_kstr(g, "commit", st->commit);
	vd_jgen_kstr(g, "deploy_id", st->deploy_id);
	vd_jgen_kstr(g, "deployed_at", st->deployed_at);
	vd_jgen_kkvs(g, "images", &st->images);
	vd_jgen_kkvs(g, "containers", &st->containers);
	yajl_gen_map_close(g);
	return vd_jgen_finish(g, out);
}

int vd_state_write_file(const char *dir, const char *name, const char *data, size_t len,
			vd_error *err)
{
	vd_buf tmp = VD_BUF_INIT, final = VD_BUF_INIT;
	int fd = -1, r = 0;
	size_t off = 0;

	if (mkdir(dir, 0700) && errno != EEXIST) {
		r = vd_error_set(err, VD_EIO, "cannot create directory %s: %s", dir, strerror(errno));
		goto done;
	}
	if (vd_buf_printf(&tmp, "%s/.%s.%d", dir, name, (int)getpid()) ||
	    vd_buf_printf(&final, "%s/%s", dir, name)) {
		r = vd_error_set(err, VD_ENOMEM, "out of memory");
		goto done;
	}
	fd = open(vd_buf_cstr(&tmp), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		r = vd_error_set(err, VD_EIO, "cannot write %s: %s", vd_buf_cstr(&tmp), strerror(errno));
		goto done;
	}
	while (off < len) {
		ssize_t w = write(fd, data + off, len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			r = vd_error_set(err, VD_EIO, "cannot write %s: %s", vd_buf_cstr(&tmp), strerror(errno));
			goto done;
		}
		off += (size_t)w;
	}
	/* the new file is either wholly there or not at all */
	if (fsync(fd) || close(fd)) {
		fd = -1;
		r = vd_error_set(err, VD_EIO, "cannot write %s: %s", vd_buf_cstr(&tmp), strerror(errno));
		goto done;
	}
	fd = -1;
	if (rename(vd_buf_cstr(&tmp), vd_buf_cstr(&final))) {
		r = vd_error_set(err, VD_EIO, "cannot replace %s: %s", vd_buf_cstr(&final), strerror(errno));
		goto done;
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0)
		fsync(fd);
done:
	if (fd >= 0)
		close(fd);
	if (r && tmp.len)
		unlink(vd_buf_cstr(&tmp));
	vd_buf_release(&tmp);
	vd_buf_release(&final);
	return r;
}

int vd_state_save(const char *dir, const vd_state *st, vd_error *err)
{
	vd_buf json = VD_BUF_INIT;
	int r;

	if (to_json(st, &json) || vd_buf_putc(&json, '\n'))
		r = vd_error_set(err, VD_ENOMEM, "out of memory");
	else
		r = vd_state_write_file(dir, STATE_FILE, json.ptr, json.len, err);
	vd_buf_release(&json);
	return r;
}

static int merge(vd_kvs *out, const vd_kvs *old, const vd_kvs *now)
{
	size_t i;

	for (i = 0; i < old->len; i++)
		if (!now || !vd_kvs_get(now, old->items[i].key))
			if (vd_kvs_add(out, old->items[i].key, old->items[i].value))
				return VD_ENOMEM;
	for (i = 0; now && i < now->len; i++)
		if (vd_kvs_add(out, now->items[i].key, now->items[i].value))
			return VD_ENOMEM;
	return 0;
}

int vd_state_update(const char *dir, const char *project, const char *commit,
		    const char *deploy_id, const vd_kvs *images, const vd_kvs *containers,
		    vd_error *err)
{
	vd_state st, old;
	char when[32];
	time_t now = time(NULL);
	struct tm tm;
	int rc;

	memset(&st, 0, sizeof(st));
	memset(&old, 0, sizeof(old));
	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	rc = vd_state_load(dir, &old, err);
	if (rc && rc != VD_ENOTFOUND)
		return rc;
	vd_error_release(err);
	st.project = strdup(project);
	st.commit = strdup(commit);
	st.deploy_id = strdup(deploy_id);
	st.deployed_at = strdup(when);
	if (!st.project || !st.commit || !st.deploy_id || !st.deployed_at ||
	    merge(&st.images, &old.images, images) || merge(&st.containers, &old.containers, containers))
		rc = vd_error_set(err, VD_ENOMEM, "out of memory");
	else
		rc = vd_state_save(dir, &st, err);
	vd_state_release(&st);
	vd_state_release(&old);
	return rc;
}
