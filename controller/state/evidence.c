#include "controller/state/evidence.h"
#include "common/log.h"
#include "controller/state/journal.h"
#include "controller/state/state.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define EVIDENCE_DIR "evidence"
/* a log of 200 lines is small; this only bounds a corrupt file */
#define EVIDENCE_FILE_MAX ((size_t)4 << 20)

int vd_evidence_dir(const char *state_dir, const char *deploy_id, vd_buf *out, vd_error *err)
{
	if (!vd_journal_id_ok(deploy_id))
		return vd_error_set(err, VD_EINVAL,
				    "'%s' is no deploy id (they look like 20261127T003000Z-1a2b3c; see voxdeploy history)",
				    deploy_id ? deploy_id : "");
	vd_buf_clear(out);
	if (vd_buf_printf(out, "%s/" EVIDENCE_DIR "/%s", state_dir, deploy_id))
		return vd_error_set(err, VD_ENOMEM, "out of memory");
	return 0;
}

/* A service name is a file name here: compose's characters only. */
static bool service_ok(const char *s)
{
	size_t i;

	if (!s || !*s || *s == '.' || strlen(s) > 200)
		return false;
	for (i = 0; s[i]; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '.' || s[i] == '_' || s[i] == '-'))
			return false;
	return true;
}

static int save_redacted(const char *dir, const char *name, const char *text, size_t len,
			 vd_error *err)
{
	vd_buf raw = VD_BUF_INIT, clean = VD_BUF_INIT;
	int r;

	if (vd_buf_put(&raw, text, len) || vd_secret_redact(vd_buf_cstr(&raw), &clean))
		r = vd_error_set(err, VD_ENOMEM, "out of memory");
	else
		r = vd_state_write_file(dir, name, clean.ptr ? clean.ptr : "", clean.len, err);
	vd_buf_release(&raw);
	vd_buf_release(&clean);
	return r;
}

int vd_evidence_save(const char *state_dir, const char *deploy_id, const char *service,
		     const char *log, size_t log_len, const char *inspect_json, vd_error *err)
{
	vd_buf top = VD_BUF_INIT, dir = VD_BUF_INIT, name = VD_BUF_INIT;
	int r;

	if (!service_ok(service))
		return vd_error_set(err, VD_EINVAL, "'%s' is no service name", service ? service : "");
	if ((r = vd_evidence_dir(state_dir, deploy_id, &dir, err)))
		goto done;
	if (vd_buf_printf(&top, "%s/" EVIDENCE_DIR, state_dir)) {
		r = vd_error_set(err, VD_ENOMEM, "out of memory");
		goto done;
	}
	if ((mkdir(state_dir, 0700) && errno != EEXIST) ||
	    (mkdir(vd_buf_cstr(&top), 0700) && errno != EEXIST)) {
		r = vd_error_set(err, VD_EIO, "cannot create %s: %s", vd_buf_cstr(&top), strerror(errno));
		goto done;
	}
	if (vd_buf_printf(&name, "%s.log", service)) {
		r = vd_error_set(err, VD_ENOMEM, "out of memory");
		goto done;
	}
	if ((r = save_redacted(vd_buf_cstr(&dir), vd_buf_cstr(&name), log ? log : "", log ? log_len : 0,
			       err)) ||
	    !inspect_json)
		goto done;
	vd_buf_clear(&name);
	if (vd_buf_printf(&name, "%s.json", service)) {
		r = vd_error_set(err, VD_ENOMEM, "out of memory");
		goto done;
	}
	r = save_redacted(vd_buf_cstr(&dir), vd_buf_cstr(&name), inspect_json, strlen(inspect_json), err);
done:
	if (r)
		vd_error_prefix(err, "keep the evidence of %s", service ? service : "?");
	vd_buf_release(&top);
	vd_buf_release(&dir);
	vd_buf_release(&name);
	return r;
}

void vd_evidence_release(vd_evidence *e)
{
	size_t i;

	if (!e)
		return;
	for (i = 0; i < e->len; i++) {
		free(e->items[i].service);
		free(e->items[i].log);
		free(e->items[i].inspect);
	}
	free(e->items);
	e->items = NULL;
	e->len = 0;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The file's text, or NULL when it is not there. */
static int read_text(const char *dir, const char *service, const char *ext, char **out, vd_error *err)
{
	vd_buf name = VD_BUF_INIT, text = VD_BUF_INIT;
	int r;

	*out = NULL;
	if (vd_buf_printf(&name, "%s%s", service, ext))
		return vd_error_set(err, VD_ENOMEM, "out of memory");
	r = vd_state_read_file(dir, vd_buf_cstr(&name), EVIDENCE_FILE_MAX, &text, err);
	if (r == VD_ENOTFOUND) {
		vd_error_release(err);
		r = 0;
	} else if (!r && !(*out = strdup(vd_buf_cstr(&text)))) {
		r = vd_error_set(err, VD_ENOMEM, "out of memory");
	}
	vd_buf_release(&name);
	vd_buf_release(&text);
	return r;
}

int vd_evidence_load(const char *state_dir, const char *deploy_id, vd_evidence *out, vd_error *err)
{
	vd_buf dir = VD_BUF_INIT;
	char **names = NULL;
	size_t n = 0, cap = 0, i;
	struct dirent *de;
	DIR *d = NULL;
	int r;

	*out = (vd_evidence)VD_EVIDENCE_INIT;
	if ((r = vd_evidence_dir(state_dir, deploy_id, &dir, err)))
		goto done;
	if (!(d = opendir(vd_buf_cstr(&dir)))) {
		r = vd_error_set(err, errno == ENOENT ? VD_ENOTFOUND : VD_EIO, "no evidence kept for deploy %s%s%s",
				 deploy_id, errno == ENOENT ? "" : ": ", errno == ENOENT ? "" : strerror(errno));
		goto done;
	}
	/* one item per <service>.log */
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);
		char *svc;

		if (l <= 4 || strcmp(de->d_name + l - 4, ".log"))
			continue;
		if (!(svc = strndup(de->d_name, l - 4)) || !service_ok(svc)) {
			free(svc);
			continue;
		}
		if (n == cap) {
			char **m = realloc(names, (cap = cap ? cap * 2 : 8) * sizeof(*names));

			if (!m) {
				free(svc);
				r = vd_error_set(err, VD_ENOMEM, "out of memory");
				goto done;
			}
			names = m;
		}
		names[n++] = svc;
	}
	if (!n) {
		r = vd_error_set(err, VD_ENOTFOUND, "no evidence kept for deploy %s", deploy_id);
		goto done;
	}
	qsort(names, n, sizeof(*names), by_name);
	if (!(out->items = calloc(n, sizeof(*out->items)))) {
		r = vd_error_set(err, VD_ENOMEM, "out of memory");
		goto done;
	}
	for (i = 0; i < n; i++) {
		vd_evidence_item *it = &out->items[out->len++];

		it->service = names[i];
		names[i] = NULL;
		if ((r = read_text(vd_buf_cstr(&dir), it->service, ".log", &it->log, err)) ||
		    (r = read_text(vd_buf_cstr(&dir), it->service, ".json", &it->inspect, err)))
			goto done;
		if (!it->log && !(it->log = strdup(""))) {
			r = vd_error_set(err, VD_ENOMEM, "out of memory");
			goto done;
		}
	}
done:
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	if (d)
		closedir(d);
	if (r)
		vd_evidence_release(out);
	vd_buf_release(&dir);
	return r;
}

/* Newest first: ids begin with their UTC time. */
static int newest_first(const void *a, const void *b)
{
	return strcmp(*(char *const *)b, *(char *const *)a);
}

int vd_evidence_list(const char *state_dir, char ***ids, size_t *n, vd_error *err)
{
	vd_buf top = VD_BUF_INIT;
	struct dirent *de;
	size_t cap = 0;
	DIR *d;
	int r = 0;

	*ids = NULL;
	*n = 0;
	if (vd_buf_printf(&top, "%s/" EVIDENCE_DIR, state_dir))
		return vd_error_set(err, VD_ENOMEM, "out of memory");
	if (!(d = opendir(vd_buf_cstr(&top)))) {
		if (errno != ENOENT)
			r = vd_error_set(err, VD_EIO, "cannot read %s: %s", vd_buf_cstr(&top), strerror(errno));
		vd_buf_release(&top);
		return r;
	}
	while (!r && (de = readdir(d))) {
		if (!vd_journal_id_ok(de->d_name))
			continue;
		if (*n == cap) {
			char **m = realloc(*ids, (cap = cap ? cap * 2 : 16) * sizeof(**ids));

			if (!m) {
				r = vd_error_set(err, VD_ENOMEM, "out of memory");
				break;
			}
			*ids = m;
		}
		if (!((*ids)[*n] = strdup(de->d_name)))
			r = vd_error_set(err, VD_ENOMEM, "out of memory");
		else
			(*n)++;
	}
	closedir(d);
	vd_buf_release(&top);
	if (*n)
		qsort(*ids, *n, sizeof(**ids), newest_first);
	return r;
}

const char *vd_evidence_tail(const char *text, size_t n)
{
	size_t len = text ? strlen(text) : 0;
	size_t i = len;

	if (!text)
		return "";
	/* a last line without its '\n' counts as a line too */
	if (i && text[i - 1] == '\n')
		i--;
	while (i > 0) {
		if (text[i - 1] == '\n' && --n == 0)
			return text + i;
		i--;
	}
	return text;
}

static void remove_tree(const char *dir)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	vd_buf p = VD_BUF_INIT;

	if (!d)
		return;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		vd_buf_clear(&p);
		if (!vd_buf_printf(&p, "%s/%s", dir, de->d_name))
			unlink(vd_buf_cstr(&p));
	}
	closedir(d);
	vd_buf_release(&p);
	rmdir(dir);
}

void vd_evidence_prune(const char *state_dir, size_t keep)
{
	vd_error err = VD_ERROR_INIT;
	vd_buf dir = VD_BUF_INIT;
	char **ids = NULL;
	size_t n = 0, i;

	if (vd_evidence_list(state_dir, &ids, &n, &err))
		vd_error_release(&err);
	for (i = 0; i < n; i++) {
		if (i >= keep && !vd_evidence_dir(state_dir, ids[i], &dir, &err))
			remove_tree(vd_buf_cstr(&dir));
		vd_error_release(&err);
		free(ids[i]);
	}
	free(ids);
	vd_buf_release(&dir);
}
