/* voxdeploy — the catalogue of database dumps in $STATE_DIR/backups
 * (state/backups.h): files only, no engine. */
#include "controller/state/backups.h"
#include "common/buf.h"
#include "common/json.h"
#include "common/log.h"
#include "controller/state/state.h"

#include <dirent.h>
#include <stdbool.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DIR_NAME "backups"

static int oom(vd_error *err)
{
	return vd_error_set(err, VD_ENOMEM, "out of memory");
}

/* --- files ---------------------------------------------------------------- */

char *vd_backup_dir(const char *state_dir)
{
	char *s = NULL;

	return asprintf(&s, "%s/%s", state_dir, DIR_NAME) < 0 ? NULL : s;
}

char *vd_backup_path(const char *state_dir, const char *id, const char *ext)
{
	char *s = NULL;

	return asprintf(&s, "%s/%s/%s%s", state_dir, DIR_NAME, id, ext) < 0 ? NULL : s;
}

void vd_backup_info_json(yajl_gen g, const vd_backup_info *b)
{
	yajl_gen_map_open(g);
	vd_jgen_kstr(g, "id", b->id);
	vd_jgen_kstr(g, "deploy_id", b->deploy_id[0] ? b->deploy_id : NULL);
	vd_jgen_kstr(g, "service", b->service);
	vd_jgen_kstr(g, "database", b->database);
	vd_jgen_kstr(g, "created", b->created);
	vd_jgen_kint(g, "bytes", (long long)b->bytes);
	vd_jgen_str(g, "seconds");
	yajl_gen_double(g, (double)b->ms / 1000.0);
	yajl_gen_map_close(g);
}

int vd_backup_write_info(const char *state_dir, const vd_backup_info *b, vd_error *err)
{
	yajl_gen g = vd_jgen_new();
	vd_buf json = VD_BUF_INIT;
	char *dir = vd_backup_dir(state_dir), name[VD_BACKUP_ID_MAX + 8];
	int r;

	if (!g || !dir) {
		if (g)
			yajl_gen_free(g);
		free(dir);
		return oom(err);
	}
	vd_backup_info_json(g, b);
	snprintf(name, sizeof(name), "%s.json", b->id);
	r = vd_jgen_finish(g, &json);
	r = r ? oom(err) : vd_state_write_file(dir, name, json.ptr, json.len, err);
	vd_buf_release(&json);
	free(dir);
	return r;
}

static void copy_field(char *dst, size_t size, yajl_val v, const char *key)
{
	const char *s = vd_json_str(v, key);

	snprintf(dst, size, "%s", s ? s : "");
}

static int read_info(const char *path, vd_backup_info *out)
{
	vd_error err = VD_ERROR_INIT;
	yajl_val v, secs;
	char *text = NULL;
	size_t len = 0;
	FILE *f = fopen(path, "re");
	int r = -1;

	memset(out, 0, sizeof(*out));
	if (!f)
		return -1;
	if (getdelim(&text, &len, '\0', f) < 0) {
		fclose(f);
		free(text);
		return -1;
	}
	fclose(f);
	v = vd_json_parse(text, &err);
	free(text);
	vd_error_release(&err);
	if (!v)
		return -1;
	copy_field(out->id, sizeof(out->id), v, "id");
	copy_field(out->deploy_id, sizeof(out->deploy_id), v, "deploy_id");
	copy_field(out->service, sizeof(out->service), v, "service");
	copy_field(out->database, sizeof(out->database), v, "database");
	copy_field(out->created, sizeof(out->created), v, "created");
	out->bytes = (uint64_t)vd_json_int(v, "bytes", 0);
	secs = vd_json_get(v, "seconds");
	out->ms = secs && YAJL_IS_NUMBER(secs) ? (uint64_t)(YAJL_GET_DOUBLE(secs) * 1000.0 + 0.5) : 0;
	if (out->id[0] && out->service[0])
		r = 0;
	yajl_tree_free(v);
	return r;
}

static int newest_first(const void *a, const void *b)
{
	const vd_backup_info *x = a, *y = b;
	int c = strcmp(y->created, x->created);

	return c ? c : strcmp(y->id, x->id);
}

int vd_backup_list(const char *state_dir, vd_backup_info **items, size_t *n, vd_error *err)
{
	char *dir = vd_backup_dir(state_dir);
	size_t cap = 16;
	struct dirent *e;
	DIR *dh;

	*n = 0;
	*items = calloc(cap, sizeof(**items));
	if (!dir || !*items) {
		free(dir);
		free(*items);
		*items = NULL;
		return oom(err);
	}
	dh = opendir(dir);
	while (dh && (e = readdir(dh)) != NULL) {
		size_t len = strlen(e->d_name);
		char *path = NULL;

		if (len < 6 || strcmp(e->d_name + len - 5, ".json") || e->d_name[0] == '.')
			continue;
		if (*n == cap) {
			vd_backup_info *more = realloc(*items, 2 * cap * sizeof(**items));

			if (!more)
				break;
			*items = more;
			cap *= 2;
		}
		if (asprintf(&path, "%s/%s", dir, e->d_name) > 0 && !read_info(path, &(*items)[*n]))
			(*n)++;
		free(path);
	}
	if (dh)
		closedir(dh);
	free(dir);
	qsort(*items, *n, sizeof(**items), newest_first);
	return 0;
}

size_t vd_backup_newest_per_service(vd_backup_info *items, size_t n)
{
	size_t i, j, kept = 0;

	for (i = 0; i < n; i++) {
		bool seen = false;

		for (j = 0; j < kept && !seen; j++)
			seen = !strcmp(items[j].service, items[i].service);
		if (!seen)
			items[kept++] = items[i];
	}
	return kept;
}

int vd_backup_find(const char *state_dir, const char *id, vd_backup_info *out, vd_error *err)
{
	vd_backup_info *all = NULL;
	vd_buf known = VD_BUF_INIT;
	size_t n = 0, i;
	int r = vd_backup_list(state_dir, &all, &n, err);

	if (r)
		return r;
	for (i = 0; i < n; i++)
		if (!strcmp(all[i].id, id)) {
			*out = all[i];
			free(all);
			return 0;
		}
	for (i = 0; i < n && i < 5; i++)
		vd_buf_printf(&known, "%s%s", i ? ", " : "", all[i].id);
	r = vd_error_set(err, VD_ENOTFOUND, "no backup %s in %s/%s (%s%s)", id, state_dir, DIR_NAME,
			 n ? "the newest: " : "there are none", vd_buf_cstr(&known));
	vd_buf_release(&known);
	free(all);
	return r;
}

static void remove_files(const char *state_dir, const char *id)
{
	static const char *const exts[] = { ".dump", ".json", ".dump.partial" };
	size_t i;

	for (i = 0; i < sizeof(exts) / sizeof(exts[0]); i++) {
		char *p = vd_backup_path(state_dir, id, exts[i]);

		if (p)
			unlink(p);
		free(p);
	}
}

int vd_backup_prune(const char *state_dir, const char *service, int64_t keep, vd_error *err)
{
	vd_backup_info *all = NULL;
	size_t n = 0, i;
	int64_t seen = 0;
	int r = vd_backup_list(state_dir, &all, &n, err);

	if (r)
		return r;
	for (i = 0; i < n; i++)
		if (!strcmp(all[i].service, service) && ++seen > keep) {
			vd_log_info("backup: removing %s (keep %lld per service)", all[i].id,
				    (long long)keep);
			remove_files(state_dir, all[i].id);
		}
	free(all);
	return 0;
}

size_t vd_backup_clean_partial(const char *state_dir)
{
	char *dir = vd_backup_dir(state_dir);
	struct dirent *e;
	size_t removed = 0;
	DIR *dh = dir ? opendir(dir) : NULL;

	while (dh && (e = readdir(dh)) != NULL) {
		size_t len = strlen(e->d_name);
		char *path = NULL;

		if (len < 9 || strcmp(e->d_name + len - 8, ".partial"))
			continue;
		if (asprintf(&path, "%s/%s", dir, e->d_name) > 0 && !unlink(path)) {
			vd_log_warn("backup: removed %s, left by a dump that did not finish", path);
			removed++;
		}
		free(path);
	}
	if (dh)
		closedir(dh);
	free(dir);
	return removed;
}

