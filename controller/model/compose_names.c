/* The names of the model, kept whole by the redactor (common/log.h): a
 * password that is also the name of a service, an image or a path must not
 * turn them into "***". */
#include "common/log.h"
#include "controller/model/compose.h"
#include "controller/model/compose_private.h"

void compose_keep_names(const vd_compose *c)
{
	size_t i, j;

	vd_secret_keep("project", c->name);
	for (i = 0; i < c->n_services; i++) {
		const vd_compose_service *s = &c->services[i];

		vd_secret_keep("service", s->name);
		vd_secret_keep("image", s->image);
		vd_secret_keep("container", s->container_name);
		for (j = 0; j < s->n_volumes; j++) {
			vd_secret_keep("path", s->volumes[j].target);
			vd_secret_keep(s->volumes[j].type == VD_COMPOSE_MOUNT_BIND ? "path" : "volume",
				       s->volumes[j].source);
		}
	}
	for (i = 0; i < c->n_networks; i++) {
		vd_secret_keep("network", c->networks[i].key);
		vd_secret_keep("network", c->networks[i].name);
	}
	for (i = 0; i < c->n_volumes; i++) {
		vd_secret_keep("volume", c->volumes[i].key);
		vd_secret_keep("volume", c->volumes[i].name);
	}
}
