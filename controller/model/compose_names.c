/* The names of the model, kept whole by the redactor (common/log.h): a
 * password that is also the name of a service, an image or a path must not
 * turn them into "***". */
#include <stdlib.h>

#include "common/log.h"
#include "controller/model/compose.h"
#include "controller/model/compose_private.h"
#include "controller/model/spec.h"

/* A name made from the model (the image a built service is tagged as, the
 * container compose names): kept like the others; a name lost to a full
 * memory only leaves the redactor stricter. */
static void keep_made(const char *kind, char *name)
{
	vd_secret_keep(kind, name);
	free(name);
}

void compose_keep_names(const vd_compose *c)
{
	size_t i, j;

	vd_secret_keep("project", c->name);
	vd_secret_keep("path", c->working_dir);
	for (i = 0; i < c->n_services; i++) {
		const vd_compose_service *s = &c->services[i];

		vd_secret_keep("service", s->name);
		keep_made("image", vd_spec_image_ref(c, s));
		keep_made("container", vd_spec_container_name(c, s));
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
	for (i = 0; i < c->n_secrets; i++) {
		vd_secret_keep("secret", c->secrets[i].key);
		vd_secret_keep("secret", c->secrets[i].name);
		vd_secret_keep("path", c->secrets[i].file);
	}
}
