/* voxdeploy — what config.c and config_schema.c share; not for other modules. */
#ifndef VD_CONTROLLER_CONFIG_PRIVATE_H
#define VD_CONTROLLER_CONFIG_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"
#include "controller/config/config.h"
#include "controller/model/interpolate.h"
#include "controller/model/yaml.h"

/* Read the document's root (a mapping, or null) into c, which holds the
 * defaults: every string interpolated with lookup, literal secrets refused
 * and interpolated ones registered with vd_secret_add().  VD_EINVAL
 * "FILE:LINE:COL: WHERE: message" naming the key. */
int vd_config_read(vd_yaml *y, const vd_yaml_node *root, vd_env_lookup lookup, void *ctx,
		   vd_config *c, vd_error *err);

/* The password of a URL's authority (scheme://user:password@host...) at
 * s + *at, *len bytes; false when there is none. */
bool vd_config_url_password(const char *s, size_t *at, size_t *len);

/* Every password-like span of a conninfo, at most two (a URI's userinfo
 * and ?password=; or key=value's password, quotes included): the count. */
size_t vd_config_conninfo_passwords(const char *s, size_t at[2], size_t len[2]);

#endif
