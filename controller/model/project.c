#include "controller/model/project.h"
#include "controller/model/yaml.h"

#include <ctype.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

char *vd_project_normalize(const char *name)
{
	char *out = malloc(strlen(name) + 1), *o = out;
	const char *p;

	if (!out)
		return NULL;
	for (p = name; *p; p++) {
		char c = (char)tolower((unsigned char)*p);

		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-') {
			if (o == out && (c == '_' || c == '-'))
				continue;
			*o++ = c;
		}
	}
	*o = '\0';
	return out;
}

/* A name given with -p or COMPOSE_PROJECT_NAME must already be normal. */
static int name_valid(const char *name)
{
	const char *p;

	if (!name || !((name[0] >= 'a' && name[0] <= 'z') || (name[0] >= '0' && name[0] <= '9')))
		return 0;
	for (p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' || *p == '-'))
			return 0;
	return 1;
}

static char *absolute(const char *base, const char *path)
{
	char *out = NULL;

	if (path[0] == '/')
		return strdup(path);
	if (asprintf(&out, "%s/%s", base, path) < 0)
		return NULL;
	return out;
}

int vd_project_resolve(const char *dir, const char *const *files, size_t n_files,
		       const char *explicit_name, vd_project *out, vd_error *err)
{
	static const char *const defaults[] = {
		"compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml",
	};
	char cwd[PATH_MAX], real[PATH_MAX];
	vd_project p = { NULL, NULL, 0, NULL };
	const char *env = getenv("COMPOSE_PROJECT_NAME");
	char *from_file = NULL;
	size_t i;
	int r = 0;

	if (!getcwd(cwd, sizeof(cwd)))
		return vd_error_set(err, VD_EIO, "cannot read the current directory");
	if (!realpath(dir ? dir : ".", real))
		return vd_error_set(err, VD_EINVAL, "project directory '%s' does not exist",
				    dir ? dir : ".");
	p.dir = strdup(real);
	p.files = calloc(n_files + 1, sizeof(char *));
	if (!p.dir || !p.files)
		goto nomem;
	for (i = 0; i < n_files; i++) {
		if (!(p.files[i] = absolute(cwd, files[i])))
			goto nomem;
		p.n_files++;
		if (access(p.files[i], R_OK)) {
			r = vd_error_set(err, VD_EINVAL, "compose file '%s' cannot be read", files[i]);
			goto fail;
		}
	}
	for (i = 0; !n_files && i < sizeof(defaults) / sizeof(defaults[0]); i++) {
		char *f = absolute(p.dir, defaults[i]);

		if (!f)
			goto nomem;
		if (!access(f, R_OK)) {
			p.files[p.n_files++] = f;
			break;
		}
		free(f);
	}
	if (explicit_name || (env && *env)) {
		const char *n = explicit_name ? explicit_name : env;

		if (!name_valid(n)) {
			r = vd_error_set(err, VD_EINVAL,
					 "project name '%s' is invalid: use lower-case letters, digits, "
					 "'_' and '-', starting with a letter or digit", n);
			goto fail;
		}
		p.name = strdup(n);
	} else {
		for (i = p.n_files; i-- > 0 && !from_file;)
			from_file = vd_yaml_peek_scalar(p.files[i], "name");  /* the last file's name wins */
		p.name = vd_project_normalize(from_file ? from_file : basename(real));
		free(from_file);
		if (p.name && !*p.name) {
			r = vd_error_set(err, VD_EINVAL,
					 "cannot derive a project name from '%s': give one with -p", real);
			goto fail;
		}
	}
	if (!p.name)
		goto nomem;
	*out = p;
	return 0;
nomem:
	r = vd_error_set(err, VD_ENOMEM, "out of memory");
fail:
	vd_project_release(&p);
	return r;
}

void vd_project_release(vd_project *p)
{
	size_t i;

	if (!p)
		return;
	for (i = 0; i < p->n_files; i++)
		free(p->files[i]);
	free(p->files);
	free(p->dir);
	free(p->name);
	memset(p, 0, sizeof(*p));
}
