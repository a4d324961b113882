/* The containers of the project's services that `logs` and `stats` show:
 * found by the compose labels, one per service (the one that has the
 * service's place — not a deploy's -voxdeploy-old/-new twin), ordered by
 * service. */
#include "controller/cli.h"
#include "docker_api/container.h"

#include <stdlib.h>
#include <string.h>

#define LABEL_PROJECT "com.docker.compose.project"
#define LABEL_SERVICE "com.docker.compose.service"

void vd_cli_services_release(vd_cli_service *s, size_t n)
{
	size_t i;

	for (i = 0; s && i < n; i++) {
		free(s[i].service);
		free(s[i].id);
		free(s[i].name);
	}
	free(s);
}

static int by_service(const void *a, const void *b)
{
	const vd_cli_service *x = a, *y = b;
	int c = strcmp(x->service, y->service);

	return c ? c : strcmp(x->name, y->name);
}

static bool wanted(char *const *services, size_t n, const char *service)
{
	size_t i;

	if (!n)
		return true;
	for (i = 0; i < n; i++)
		if (!strcmp(services[i], service))
			return true;
	return false;
}

int vd_cli_services(vd_docker *d, const char *project, char *const *services, size_t n_services,
		    bool running_only, vd_cli_service **out, size_t *n_out, vd_error *err)
{
	vd_container_array list = { NULL, 0 };
	char label[512];
	const char *pairs[] = { "label", label, NULL };
	vd_cli_service *s = NULL;
	vd_buf known = VD_BUF_INIT;
	size_t i, n = 0;
	int r;

	*out = NULL;
	*n_out = 0;
	snprintf(label, sizeof(label), LABEL_PROJECT "=%s", project);
	if ((r = vd_container_list(d, true, pairs, &list, err)))
		return r;
	if (!(s = calloc(list.len + 1, sizeof(*s)))) {
		r = vd_error_set(err, VD_ENOMEM, "out of memory");
		goto done;
	}
	for (i = 0; i < list.len; i++) {
		const vd_container_summary *c = &list.items[i];
		const char *svc = vd_kvs_get(&c->labels, LABEL_SERVICE);
		bool running = c->state && !strcmp(c->state, "running");

		if (!svc || strstr(c->name, "-voxdeploy-") || !wanted(services, n_services, svc) ||
		    (running_only && !running))
			continue;
		s[n].service = strdup(svc);
		s[n].id = strdup(c->id);
		s[n].name = strdup(c->name);
		s[n].running = running;
		if (!s[n].service || !s[n].id || !s[n].name) {
			n++;
			r = vd_error_set(err, VD_ENOMEM, "out of memory");
			goto done;
		}
		n++;
	}
	qsort(s, n, sizeof(*s), by_service);
	/* every service asked for must have a container */
	for (i = 0; i < n_services; i++) {
		size_t j;

		for (j = 0; j < n && strcmp(s[j].service, services[i]); j++)
			;
		if (j < n)
			continue;
		for (j = 0; j < list.len; j++) {
			const char *svc = vd_kvs_get(&list.items[j].labels, LABEL_SERVICE);

			if (svc && !strstr(vd_buf_cstr(&known), svc))
				vd_buf_printf(&known, "%s%s", known.len ? ", " : "", svc);
		}
		r = vd_error_set(err, VD_EINVAL, "no %scontainer of service '%s' in project %s (%s%s)",
				 running_only ? "running " : "", services[i], project,
				 known.len ? "its services: " : "it has no containers", vd_buf_cstr(&known));
		goto done;
	}
	*out = s;
	*n_out = n;
	s = NULL;
done:
	vd_cli_services_release(s, n);
	vd_container_array_release(&list);
	vd_buf_release(&known);
	return r;
}
