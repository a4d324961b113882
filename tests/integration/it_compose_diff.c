/* Differential test: the containers voxdeploy creates from a compose file
 * (controller/model/spec + docker_api) against the ones the installed
 * compose creates from the same file (`up --no-start`), inspected and
 * compared field by field after normalisation.  The compose is Debian's
 * `docker-compose`: 1.29 on bookworm, v2 on trixie; VD_TEST_COMPOSE names
 * another command (e.g. "docker compose" or a v2 binary).
 *
 * For every case under tests/integration/compose/<case>/: copy it to a
 * temporary directory (bind mounts create host directories), run
 * `docker-compose -p <P1> up --no-start`, inspect its containers, keep its
 * built images under voxdeploy's names, `docker-compose down -v --rmi local`
 * (the two projects share container names and subnets), create the project
 * with voxdeploy under <P2>, inspect, compare, remove everything.
 *
 * Normalisation: the project names become "{P}"; generated hostnames (the
 * id's first 12 digits), anonymous volume names and the engine's short-id
 * alias are replaced or dropped.
 *
 * The intended differences.  voxdeploy follows the current compose
 * specification, compose v2: against v2 only D2's config-hash, version and
 * voxdeploy's own labels, D6 and D8 apply; against 1.29 all of them — each
 * is applied below where its comment says so:
 *  D1 names: 1.29 names containers <project>_<service>_1; compose v2 and
 *     voxdeploy use '-'.  Built images: <project>_<service> by 1.29 and by
 *     voxdeploy with 1.29's labels (deploy.compose_hash "1.29", set here
 *     against 1.29), else <project>-<service>.
 *  D2 labels: 1.29 does not set com.docker.compose.image or .depends_on;
 *     com.docker.compose.version is "1.29.2" vs VD_SPEC_COMPOSE_VERSION;
 *     config-hash is 1.29's own hash (v2's is voxdeploy's too: compared
 *     against v2); 1.29 writes config_files as given
 *     relative to the project ("docker-compose.yml"), v2 absolute paths;
 *     io.voxdeploy.commit and .deploy-id are voxdeploy's own.
 *  D3 aliases: compose v2 adds the container name to each endpoint's
 *     Aliases; 1.29 only the service name and the declared aliases.
 *  D4 deploy.resources: 1.29 ignores deploy.resources without
 *     --compatibility; v2 applies limits.memory/cpus and
 *     reservations.memory.
 *  D5 short-syntax named volumes: 1.29 sends them in HostConfig.Binds
 *     ("proj_vol:/dst:rw"), v2 as HostConfig.Mounts of type volume.  The
 *     mounts the container gets (inspect .Mounts) are compared instead, and
 *     Binds of host paths exactly.
 *  D6 Config.Volumes: 1.29 lists every short-syntax target there (binds and
 *     named volumes too); voxdeploy only anonymous ones (v2 none; the engine
 *     makes an anonymous volume either way).  Compared for anonymous
 *     targets only against 1.29, not at all against v2.
 *  D7 secondary networks: 1.29 connects a container to its non-primary
 *     networks only when it starts it, so after --no-start only the primary
 *     one is there; voxdeploy connects all before start (as v2).  The
 *     primary endpoint is compared; the others must match the model.
 *  D8 AttachStdout/AttachStderr: v2 sets them true, 1.29 false (detached);
 *     not compared.
 *  D9 Env order: 1.29 orders a service's environment by its own dict
 *     merge; compared as sets.
 *  D10 mount options the engine only reports differently for the two APIs
 *     (.Mounts[].Mode "rw" for Binds, "" for Mounts): Mode not compared.
 * Against v2 (2.26) only:
 *  D11 expose: v2 sends `expose` entries as written ("3000", "5000-5001")
 *     and the engine keeps them so; voxdeploy sends "3000/tcp",
 *     "5000/tcp", "5001/tcp" (as 1.29, and as the engine writes ports it
 *     derives).  Compared after that normalisation.
 *  D12 extra_hosts and ulimits: v2 holds them in Go maps and sends them in
 *     the maps' (random) order; voxdeploy keeps the file's order (as 1.29).
 *     Compared as sets.
 * Keys 1.29 rejects (`${VAR:+alt}`, long-syntax ports' host_ip) are left out
 * of the corpus; the unit tests cover them.
 */
#include "itest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/json.h"
#include "controller/model/compose.h"
#include "controller/model/interpolate.h"
#include "controller/model/project.h"
#include "controller/model/spec.h"
#include "docker_api/image.h"
#include "docker_api/network.h"
#include "docker_api/volume.h"
#include "testutil.h"

#ifndef VD_COMPOSE_CORPUS
#define VD_COMPOSE_CORPUS "tests/integration/compose"
#endif

static char corpus_dir[1024];
static const char *compose = "docker-compose";   /* VD_TEST_COMPOSE */
static int compose_major;                         /* 1 or 2; 0: none answers */

/* The installed compose's major version. */
static int find_compose(void)
{
	if (getenv("VD_TEST_COMPOSE") && *getenv("VD_TEST_COMPOSE"))
		compose = getenv("VD_TEST_COMPOSE");
	return itest_compose_major(compose);
}

/* Run a shell command in dir; its output into out (may be NULL). */
static int run_in(const char *dir, const char *cmd, vd_buf *out)
{
	char *full = NULL, line[512];
	FILE *p;
	int rc;

	if (asprintf(&full, "cd '%s' && %s 2>&1", dir, cmd) < 0)
		return -1;
	if (!(p = popen(full, "r"))) {
		free(full);
		return -1;
	}
	while (fgets(line, sizeof(line), p))
		if (out)
			vd_buf_puts(out, line);
	rc = pclose(p);
	free(full);
	return rc;
}

/* ------------------------------------------------------------------ normalising */

typedef struct diffctx {
	const char *p1, *p2;     /* compose's and voxdeploy's project names */
	const char *id12;        /* the container's short id (hostname, alias) */
	const char *case_name;
	const char *service;
	int failures;
	vd_buf report;
} diffctx;

/* s with both project names replaced by {P} (and the short id by {ID}). */
static char *norm_str(const diffctx *d, const char *s)
{
	vd_buf b = VD_BUF_INIT;
	size_t l1 = strlen(d->p1), l2 = strlen(d->p2);

	if (d->id12 && !strcmp(s, d->id12))
		return strdup("{ID}");
	while (*s) {
		if (!strncmp(s, d->p1, l1)) {
			vd_buf_puts(&b, "{P}");
			s += l1;
		} else if (!strncmp(s, d->p2, l2)) {
			vd_buf_puts(&b, "{P}");
			s += l2;
		} else {
			vd_buf_putc(&b, *s++);
		}
	}
	return vd_buf_detach(&b);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Canonical text: sorted object keys, normalised strings; null, [] and {}
 * are all "null" (the engine reports an unset list either way). */
static void canon(const diffctx *d, vd_buf *out, yajl_val v, bool sort_arrays)
{
	size_t i, n;
	char **parts;

	if (!v || YAJL_IS_NULL(v) || (YAJL_IS_ARRAY(v) && !v->u.array.len) ||
	    (YAJL_IS_OBJECT(v) && !v->u.object.len)) {
		vd_buf_puts(out, "null");
		return;
	}
	if (YAJL_IS_STRING(v)) {
		char *s = norm_str(d, v->u.string);

		vd_buf_printf(out, "\"%s\"", s);
		free(s);
		return;
	}
	if (YAJL_IS_NUMBER(v)) {
		vd_buf_puts(out, v->u.number.r);
		return;
	}
	if (YAJL_IS_TRUE(v) || YAJL_IS_FALSE(v)) {
		vd_buf_puts(out, YAJL_IS_TRUE(v) ? "true" : "false");
		return;
	}
	n = YAJL_IS_OBJECT(v) ? v->u.object.len : v->u.array.len;
	parts = calloc(n, sizeof(*parts));
	for (i = 0; i < n; i++) {
		vd_buf b = VD_BUF_INIT;

		if (YAJL_IS_OBJECT(v)) {
			char *k = norm_str(d, v->u.object.keys[i]);

			vd_buf_printf(&b, "\"%s\":", k);
			free(k);
			canon(d, &b, v->u.object.values[i], sort_arrays);
		} else {
			canon(d, &b, v->u.array.values[i], sort_arrays);
		}
		parts[i] = vd_buf_detach(&b);
	}
	if (YAJL_IS_OBJECT(v) || sort_arrays)
		qsort(parts, n, sizeof(*parts), cmp_str);
	vd_buf_putc(out, YAJL_IS_OBJECT(v) ? '{' : '[');
	for (i = 0; i < n; i++) {
		vd_buf_printf(out, "%s%s", i ? "," : "", parts[i]);
		free(parts[i]);
	}
	vd_buf_putc(out, YAJL_IS_OBJECT(v) ? '}' : ']');
	free(parts);
}

static char *canon_of(const diffctx *d, yajl_val v, bool sort_arrays)
{
	vd_buf b = VD_BUF_INIT;

	canon(d, &b, v, sort_arrays);
	return vd_buf_detach(&b);
}

static void expect_text(diffctx *d, const char *field, const char *want, const char *got)
{
	if (!strcmp(want, got))
		return;
	d->failures++;
	vd_buf_printf(&d->report, "  %s/%s %s:\n    compose:   %s\n    voxdeploy: %s\n", d->case_name,
		      d->service, field, want, got);
}

static void compare_value(diffctx *d, const char *field, yajl_val a, yajl_val b, bool sorted)
{
	char *x = canon_of(d, a, sorted), *y = canon_of(d, b, sorted);

	expect_text(d, field, x, y);
	free(x);
	free(y);
}

/* Compare inspect field `path` ("Config/Env") of both containers. */
static void compare_path(diffctx *d, yajl_val ca, yajl_val va, const char *path, bool sorted)
{
	const char *keys[4] = { NULL, NULL, NULL, NULL };
	char buf[128], *save = NULL, *t;
	int n = 0;

	snprintf(buf, sizeof(buf), "%s", path);
	for (t = strtok_r(buf, "/", &save); t && n < 3; t = strtok_r(NULL, "/", &save))
		keys[n++] = t;
	compare_value(d, path, vd_json_at(ca, keys[0], keys[1], keys[2], (const char *)NULL),
		      vd_json_at(va, keys[0], keys[1], keys[2], (const char *)NULL), sorted);
}

/* The n strings in sorted order joined by commas; frees them and the
 * array. */
static char *join_sorted(char **parts, size_t n)
{
	vd_buf b = VD_BUF_INIT;
	size_t i;

	if (n)
		qsort(parts, n, sizeof(*parts), cmp_str);
	for (i = 0; i < n; i++) {
		vd_buf_printf(&b, "%s%s", i ? "," : "", parts[i]);
		free(parts[i]);
	}
	free(parts);
	return vd_buf_detach(&b);
}

/* s's comma-separated parts in sorted order (caller frees). */
static char *sorted_commas(const char *s)
{
	char **parts = calloc(strlen(s) + 2, sizeof(*parts)), *copy = strdup(s), *save = NULL, *t;
	size_t n = 0;

	if (!parts || !copy)
		abort();
	for (t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
		if (!(parts[n++] = strdup(t)))
			abort();
	free(copy);
	return join_sorted(parts, n);
}

/* Labels without the ones D2 lists (against v2 only the first three:
 * config-hash is compose v2's own hash, compared). */
static char *labels_text(const diffctx *d, yajl_val labels)
{
	static const char *const skip_all[] = {
		VD_SPEC_LABEL_PREFIX "version", "io.voxdeploy.commit", "io.voxdeploy.deploy-id",
		VD_SPEC_LABEL_PREFIX "config-hash", VD_SPEC_LABEL_PREFIX "image", VD_SPEC_LABEL_PREFIX "depends_on",
		VD_SPEC_LABEL_PREFIX "project.config_files", NULL,
	};
	size_t n_skip = compose_major >= 2 ? 3 : 7;   /* v2: config-hash and on compared */
	char **parts;
	size_t i, j, n = 0;

	parts = calloc((YAJL_IS_OBJECT(labels) ? labels->u.object.len : 0) + 1, sizeof(*parts));
	for (i = 0; YAJL_IS_OBJECT(labels) && i < labels->u.object.len; i++) {
		bool skipped = false;
		char *k, *v;

		for (j = 0; j < n_skip; j++)
			skipped |= !strcmp(labels->u.object.keys[i], skip_all[j]);
		if (skipped || !YAJL_IS_STRING(labels->u.object.values[i]))
			continue;
		k = norm_str(d, labels->u.object.keys[i]);
		v = norm_str(d, labels->u.object.values[i]->u.string);
		if (!strcmp(labels->u.object.keys[i], VD_SPEC_LABEL_PREFIX "depends_on")) {
			char *sorted = sorted_commas(v);   /* v2 writes it in its map's (random) order */

			free(v);
			v = sorted;
		}
		if (asprintf(&parts[n++], "%s=%s", k, v) < 0)
			abort();
		free(k);
		free(v);
	}
	return join_sorted(parts, n);
}

/* D5/D10: the mounts the container gets, from inspect .Mounts. */
static char *mounts_text(const diffctx *d, yajl_val mounts)
{
	vd_buf b = VD_BUF_INIT;
	char **parts = calloc(vd_json_len(mounts) + 1, sizeof(*parts));
	size_t i, n = vd_json_len(mounts);

	for (i = 0; i < n; i++) {
		yajl_val m = vd_json_idx(mounts, i);
		const char *type = vd_json_str(m, "Type"), *name = vd_json_str(m, "Name");
		char *nname = NULL, *src = norm_str(d, vd_json_str(m, "Source") ? vd_json_str(m, "Source") : "");

		if (name && strlen(name) == 64 && !strchr(name, '_'))
			nname = strdup("{ANON}");
		else
			nname = norm_str(d, name ? name : "");
		if (asprintf(&parts[i], "%s|%s|%s|%s|rw=%d|%s", type ? type : "", nname,
			     type && !strcmp(type, "bind") ? src : "", vd_json_str(m, "Destination"),
			     vd_json_bool(m, "RW", false),
			     vd_json_str(m, "Propagation") ? vd_json_str(m, "Propagation") : "") < 0)
			abort();
		free(nname);
		free(src);
	}
	qsort(parts, n, sizeof(*parts), cmp_str);
	for (i = 0; i < n; i++) {
		vd_buf_printf(&b, "%s%s\n", i ? "  " : "", parts[i]);
		free(parts[i]);
	}
	free(parts);
	return vd_buf_detach(&b);
}

/* D5: Binds of host paths only (named volumes are D5's difference). */
static char *host_binds_text(const diffctx *d, yajl_val binds)
{
	size_t i, n = vd_json_len(binds), k = 0;
	char **parts = calloc(n + 1, sizeof(*parts));

	for (i = 0; i < n; i++) {
		yajl_val v = vd_json_idx(binds, i);

		if (YAJL_IS_STRING(v) && v->u.string[0] == '/')
			parts[k++] = norm_str(d, v->u.string);
	}
	return join_sorted(parts, k);
}

/* D6: Config.Volumes targets that are anonymous volumes in the model. */
static char *anon_volumes_text(const vd_compose_service *s, yajl_val vols)
{
	vd_buf b = VD_BUF_INIT;
	size_t i, j;

	for (i = 0; YAJL_IS_OBJECT(vols) && i < vols->u.object.len; i++)
		for (j = 0; j < s->n_volumes; j++)
			if (s->volumes[j].type == VD_COMPOSE_MOUNT_VOLUME && !s->volumes[j].source &&
			    s->volumes[j].short_syntax && !strcmp(s->volumes[j].target, vols->u.object.keys[i]))
				vd_buf_printf(&b, "%s,", vols->u.object.keys[i]);
	return vd_buf_detach(&b);
}

/* D11: ExposedPorts keys as "PORT/proto", one per port, sorted. */
static char *exposed_text(yajl_val ports)
{
	char **parts = NULL;
	size_t i, k = 0, cap = 0;

	for (i = 0; YAJL_IS_OBJECT(ports) && i < ports->u.object.len; i++) {
		const char *key = ports->u.object.keys[i], *slash = strchr(key, '/');
		unsigned lo = 0, hi = 0, p;

		if (sscanf(key, "%u-%u", &lo, &hi) != 2)
			hi = lo;
		for (p = lo; p <= hi && p - lo < 1000; p++) {
			if (k == cap && !(parts = realloc(parts, (cap = cap * 2 + 8) * sizeof(*parts))))
				abort();
			if (asprintf(&parts[k++], "%u/%s", p, slash ? slash + 1 : "tcp") < 0)
				abort();
		}
	}
	return join_sorted(parts, k);
}

/* An endpoint's aliases without the short id (engine) and, D3, the
 * container name. */
static char *aliases_text(const diffctx *d, yajl_val ep, const char *cname)
{
	yajl_val al = vd_json_get(ep, "Aliases");
	const char *ip = vd_json_str(vd_json_get(ep, "IPAMConfig"), "IPv4Address");
	size_t i, k = 0, n = vd_json_len(al);
	char **parts = calloc(n + 1, sizeof(*parts)), *names;
	vd_buf b = VD_BUF_INIT;

	for (i = 0; i < n; i++) {
		yajl_val v = vd_json_idx(al, i);

		if (!YAJL_IS_STRING(v) || !strcmp(v->u.string, d->id12) ||
		    (compose_major < 2 && !strcmp(v->u.string, cname)))
			continue;
		parts[k++] = norm_str(d, v->u.string);
	}
	names = join_sorted(parts, k);
	vd_buf_printf(&b, "%s ip=%s", names ? names : "", ip ? ip : "");
	free(names);
	return vd_buf_detach(&b);
}

static void compare_containers(diffctx *d, const vd_compose *c, const vd_compose_service *s,
			       yajl_val ca, yajl_val va)
{
	static const char *const plain[] = {
		"Config/Cmd", "Config/Entrypoint", "Config/WorkingDir", "Config/User",
		"Config/Healthcheck", "Config/Tty", "Config/OpenStdin",
		"Config/StopSignal", "Config/StopTimeout", "Config/Domainname",
		"HostConfig/PortBindings", "HostConfig/RestartPolicy", "HostConfig/NetworkMode",
		"HostConfig/LogConfig", "HostConfig/CapAdd",
		"HostConfig/CapDrop", "HostConfig/Dns", "HostConfig/SecurityOpt",
		"HostConfig/Privileged", "HostConfig/Init", "HostConfig/ReadonlyRootfs",
		"HostConfig/Sysctls", "HostConfig/Devices", "HostConfig/Tmpfs", "HostConfig/ShmSize",
		"HostConfig/IpcMode", "HostConfig/PidMode", "HostConfig/Links",
		"HostConfig/PidsLimit", "HostConfig/MemorySwap", "HostConfig/Runtime", NULL,
	};
	bool deploy_res = s->limits.memory || s->limits.cpus || s->reservations.memory;
	const char *cid = vd_json_str(ca, "Id"), *vid = vd_json_str(va, "Id");
	char cid12[13], vid12[13], *x, *y, *vname;
	yajl_val cnets, vnets;
	size_t i;

	snprintf(cid12, sizeof(cid12), "%s", cid);
	snprintf(vid12, sizeof(vid12), "%s", vid);
	for (i = 0; plain[i]; i++) {
		d->id12 = NULL;
		compare_path(d, ca, va, plain[i], false);
	}
	/* D9, D12 */
	compare_path(d, ca, va, "Config/Env", true);
	compare_path(d, ca, va, "HostConfig/ExtraHosts", compose_major >= 2);
	compare_path(d, ca, va, "HostConfig/Ulimits", compose_major >= 2);
	/* D11 */
	x = exposed_text(vd_json_at(ca, "Config", "ExposedPorts", (const char *)NULL));
	y = exposed_text(vd_json_at(va, "Config", "ExposedPorts", (const char *)NULL));
	expect_text(d, "Config/ExposedPorts", x, y);
	free(x);
	free(y);
	/* generated hostnames are the ids */
	d->id12 = cid12;
	x = canon_of(d, vd_json_at(ca, "Config", "Hostname", (const char *)NULL), false);
	d->id12 = vid12;
	y = canon_of(d, vd_json_at(va, "Config", "Hostname", (const char *)NULL), false);
	expect_text(d, "Config/Hostname", x, y);
	free(x);
	free(y);
	d->id12 = NULL;

	/* D1: names and built images */
	x = norm_str(d, vd_json_str(ca, "Name") + 1);
	y = norm_str(d, vd_json_str(va, "Name") + 1);
	if (!s->container_name) {
		char want[256];

		snprintf(want, sizeof(want), compose_major < 2 ? "{P}_%s_1" : "{P}-%s-1", s->name);
		expect_text(d, "Name (compose's)", want, x);
		snprintf(want, sizeof(want), "{P}-%s-1", s->name);
		expect_text(d, "Name", want, y);
	} else {
		expect_text(d, "Name", x, y);
	}
	free(x);
	free(y);
	x = norm_str(d, vd_json_at(ca, "Config", "Image", (const char *)NULL)->u.string);
	y = norm_str(d, vd_json_at(va, "Config", "Image", (const char *)NULL)->u.string);
	if (!s->image) {
		char want[256];

		snprintf(want, sizeof(want), compose_major < 2 ? "{P}_%s" : "{P}-%s", s->name);
		expect_text(d, "Config/Image (compose's)", want, x);
		/* with 1.29's labels voxdeploy names built images as 1.29 does */
		expect_text(d, "Config/Image", want, y);
	} else {
		expect_text(d, "Config/Image", x, y);
	}
	free(x);
	free(y);
	expect_text(d, "Image (id)", vd_json_str(ca, "Image"), vd_json_str(va, "Image"));

	/* D2 */
	x = labels_text(d, vd_json_at(ca, "Config", "Labels", (const char *)NULL));
	y = labels_text(d, vd_json_at(va, "Config", "Labels", (const char *)NULL));
	expect_text(d, "Config/Labels", x, y);
	free(x);
	free(y);

	/* D5, D6, D10 */
	x = mounts_text(d, vd_json_get(ca, "Mounts"));
	y = mounts_text(d, vd_json_get(va, "Mounts"));
	expect_text(d, "Mounts", x, y);
	free(x);
	free(y);
	x = host_binds_text(d, vd_json_at(ca, "HostConfig", "Binds", (const char *)NULL));
	y = host_binds_text(d, vd_json_at(va, "HostConfig", "Binds", (const char *)NULL));
	expect_text(d, "HostConfig/Binds (host paths)", x, y);
	free(x);
	free(y);
	if (compose_major < 2) {
		x = anon_volumes_text(s, vd_json_at(ca, "Config", "Volumes", (const char *)NULL));
		y = anon_volumes_text(s, vd_json_at(va, "Config", "Volumes", (const char *)NULL));
		expect_text(d, "Config/Volumes (anonymous)", x, y);
		free(x);
		free(y);
	}

	/* D4 */
	{
		static const char *const res[] = { "Memory", "NanoCpus", "MemoryReservation", NULL };

		for (i = 0; res[i]; i++) {
			yajl_val cv = vd_json_at(ca, "HostConfig", res[i], (const char *)NULL);
			yajl_val vv = vd_json_at(va, "HostConfig", res[i], (const char *)NULL);
			char field[64];

			snprintf(field, sizeof(field), "HostConfig/%s", res[i]);
			if (compose_major < 2 && deploy_res && cv && YAJL_IS_NUMBER(cv) &&
			    !strcmp(cv->u.number.r, "0"))
				continue; /* 1.29 left deploy.resources out */
			compare_value(d, field, cv, vv, false);
		}
	}

	/* D3, D7: endpoints */
	cnets = vd_json_at(ca, "NetworkSettings", "Networks", (const char *)NULL);
	vnets = vd_json_at(va, "NetworkSettings", "Networks", (const char *)NULL);
	vname = vd_spec_container_name(c, s);
	for (i = 0; YAJL_IS_OBJECT(cnets) && i < cnets->u.object.len; i++) {
		const char *net = cnets->u.object.keys[i];
		char *nnet = norm_str(d, net), field[256];
		yajl_val vep = NULL;
		size_t j;

		for (j = 0; YAJL_IS_OBJECT(vnets) && j < vnets->u.object.len; j++) {
			char *o = norm_str(d, vnets->u.object.keys[j]);

			if (!strcmp(o, nnet))
				vep = vnets->u.object.values[j];
			free(o);
		}
		snprintf(field, sizeof(field), "network %s", nnet);
		if (!vep) {
			expect_text(d, field, "connected", "missing");
		} else {
			d->id12 = cid12;
			x = aliases_text(d, cnets->u.object.values[i], vd_json_str(ca, "Name") + 1);
			d->id12 = vid12;
			y = aliases_text(d, vep, vname);
			d->id12 = NULL;
			expect_text(d, field, x, y);
			free(x);
			free(y);
		}
		free(nnet);
	}
	if (!s->network_mode) {
		char want[32], got[32];

		snprintf(want, sizeof(want), "%zu networks", s->n_networks);
		snprintf(got, sizeof(got), "%zu networks",
			 YAJL_IS_OBJECT(vnets) ? vnets->u.object.len : (size_t)0);
		expect_text(d, "NetworkSettings/Networks (count, D7)", want, got);
	}
	free(vname);
}

/* ------------------------------------------------------------------ one case */

static yajl_val inspect_raw(vd_docker *dk, const char *id)
{
	vd_error err = VD_ERROR_INIT;
	vd_buf out = VD_BUF_INIT;
	char path[256];
	yajl_val v;

	snprintf(path, sizeof(path), "/containers/%s/json", id);
	itest_ok(vd_docker_get(dk, path, NULL, &out, &err), &err);
	v = vd_json_parse(vd_buf_cstr(&out), &err);
	assert_non_null(v);
	vd_buf_release(&out);
	return v;
}

/* The inspected containers of a project, by service. */
typedef struct inspected {
	char *service;
	yajl_val v;
} inspected;

static size_t inspect_project(const char *project, inspected **out)
{
	vd_docker *dk = itest_docker();
	vd_error err = VD_ERROR_INIT;
	char label[256];
	const char *pairs[] = { "label", label, NULL };
	vd_container_array cl = { NULL, 0 };
	size_t i;

	snprintf(label, sizeof(label), VD_SPEC_LABEL_PREFIX "project=%s", project);
	itest_ok(vd_container_list(dk, true, pairs, &cl, &err), &err);
	*out = calloc(cl.len + 1, sizeof(**out));
	for (i = 0; i < cl.len; i++) {
		(*out)[i].service = strdup(vd_kvs_get(&cl.items[i].labels, VD_SPEC_LABEL_PREFIX "service"));
		(*out)[i].v = inspect_raw(dk, cl.items[i].id);
	}
	i = cl.len;
	vd_container_array_release(&cl);
	return i;
}

static void inspected_free(inspected *l, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(l[i].service);
		yajl_tree_free(l[i].v);
	}
	free(l);
}

/* voxdeploy's project and its images go, pass or fail (volumes too: the
 * product never removes one; the test does). */
static void remove_vox_project(const vd_compose *c, const char *project)
{
	vd_docker *dk = itest_docker();
	vd_error err = VD_ERROR_INIT;
	char label[256];
	const char *pairs[] = { "label", label, NULL };
	vd_container_array cl = { NULL, 0 };
	vd_network_array nl = { NULL, 0 };
	vd_volume_array vl = { NULL, 0 };
	size_t i;

	snprintf(label, sizeof(label), VD_SPEC_LABEL_PREFIX "project=%s", project);
	if (!vd_container_list(dk, true, pairs, &cl, &err))
		for (i = 0; i < cl.len; i++)
			vd_container_remove(dk, cl.items[i].id, true, true, &err);
	if (!vd_network_list(dk, pairs, &nl, &err))
		for (i = 0; i < nl.len; i++)
			vd_network_remove(dk, nl.items[i].id, &err);
	if (!vd_volume_list(dk, pairs, &vl, &err))
		for (i = 0; i < vl.len; i++) {
			char path[512];

			snprintf(path, sizeof(path), "/volumes/%s", vl.items[i].name);
			vd_docker_delete(dk, path, NULL, &err);
		}
	for (i = 0; c && i < c->n_services; i++)
		if (c->services[i].build) {
			char *ref = vd_spec_image_ref(c, &c->services[i]);

			vd_image_remove(dk, ref, true, false, &err);
			free(ref);
		}
	vd_container_array_release(&cl);
	vd_network_array_release(&nl);
	vd_volume_array_release(&vl);
	vd_error_release(&err);
}

/* 1.29's config-hash holds the project's name (in its network and volume
 * names): voxdeploy's hash of compose's own project must be the label
 * compose wrote on each of its containers. */
static int hashes_v1(const char *dir, const char *p1, const vd_kvs *dotenv, const inspected *cl, size_t nc,
		     vd_buf *report)
{
	vd_error err = VD_ERROR_INIT;
	vd_project proj = { 0 };
	vd_compose *c1 = NULL;
	size_t i;
	int failures = 0;

	itest_ok(vd_project_resolve(dir, NULL, 0, p1, &proj, &err), &err);
	itest_ok(vd_compose_load_project(&proj, vd_env_lookup_process_then, (void *)dotenv, &c1, &err), &err);
	for (i = 0; i < nc; i++) {
		const vd_compose_service *s = vd_compose_service_find(c1, cl[i].service);
		yajl_val labels = vd_json_at(cl[i].v, "Config", "Labels", (const char *)NULL);
		const char *want = vd_json_str(labels, VD_SPEC_LABEL_PREFIX "config-hash");
		vd_kvs env = { NULL, 0 };
		char got[65];

		assert_non_null(s);
		itest_ok(vd_compose_service_env(s, vd_env_lookup_process_then, (void *)dotenv, &env, &err), &err);
		itest_ok(vd_spec_compose_hash_v1(c1, s, &env, vd_json_str(cl[i].v, "Image"), got, &err), &err);
		if (!want || strcmp(want, got)) {
			failures++;
			vd_buf_printf(report, "  %s config-hash (1.29's):\n    compose:   %s\n    voxdeploy: %s\n",
				      s->name, want ? want : "(none)", got);
		}
		vd_kvs_release(&env);
	}
	vd_compose_free(c1);
	vd_project_release(&proj);
	vd_error_release(&err);
	return failures;
}

/* What a case made, for its teardown to remove pass or fail. */
static struct {
	char dir[64];
	char p1[96], p2[96];
	vd_compose *c;
} cur;

static int case_teardown(void **state)
{
	char cmd[256];

	if (cur.p1[0] && cur.dir[0]) {
		snprintf(cmd, sizeof(cmd), "%s -p %s down -v --rmi local", compose, cur.p1);
		run_in(cur.dir, cmd, NULL);
	}
	if (cur.p2[0])
		remove_vox_project(cur.c, cur.p2);
	if (cur.dir[0])
		tu_rm_rf(cur.dir);
	vd_compose_free(cur.c);
	memset(&cur, 0, sizeof(cur));
	return 0;
}

static void run_case(void **state)
{
	const char *name = *state;
	vd_docker *dk = itest_docker();
	vd_error err = VD_ERROR_INIT;
	char *dir = cur.dir, *p1 = cur.p1, *p2 = cur.p2, cmd[2048];
	vd_buf out = VD_BUF_INIT;
	vd_kvs dotenv = { NULL, 0 }, extra = { NULL, 0 };
	vd_project proj = { 0 };
	vd_compose *c = NULL;
	vd_spec_options opts = VD_SPEC_OPTIONS_INIT;
	inspected *cl = NULL, *vl = NULL;
	size_t nc = 0, nv = 0, i, j;
	diffctx d = { 0 };
	int rc;

	if (!compose_major) {
		fprintf(stderr, "it_compose_diff: case %s skipped: %s does not answer "
				"(apt-get install docker-compose; tests/run installs it)\n",
			name, compose);
		skip();
	}
	snprintf(p1, sizeof(cur.p1), "%sc%s", itest_project(), name);
	snprintf(p2, sizeof(cur.p2), "%sv%s", itest_project(), name);
	snprintf(dir, sizeof(cur.dir), "/tmp/vd-compose-diff.XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(cmd, sizeof(cmd), "cp -a '%s/%s/.' '%s/'", corpus_dir, name, dir);
	assert_int_equal(system(cmd), 0);

	/* compose 1.29 */
	snprintf(cmd, sizeof(cmd), "%s -p %s up --no-start", compose, p1);
	rc = run_in(dir, cmd, &out);
	if (rc) {
		fail_msg("case %s: %s up --no-start failed:\n%s", name, compose, vd_buf_cstr(&out));
	}
	nc = inspect_project(p1, &cl);

	/* voxdeploy's model of the same directory */
	snprintf(cmd, sizeof(cmd), "%s/.env", dir);
	itest_ok(vd_dotenv_load(cmd, false, vd_env_lookup_process_then, NULL, &dotenv, &err), &err);
	itest_ok(vd_project_resolve(dir, NULL, 0, p2, &proj, &err), &err);
	itest_ok(vd_compose_load_project(&proj, vd_env_lookup_process_then, &dotenv, &c, &err), &err);
	c->hash_compose = compose_major < 2 ? 1 : 2;   /* the installed compose's config-hash */
	cur.c = c;

	/* built images: keep compose's under voxdeploy's name before `down` */
	for (i = 0; i < c->n_services; i++) {
		const vd_compose_service *s = &c->services[i];
		char *ref;

		if (!s->build)
			continue;
		for (j = 0; j < nc && strcmp(cl[j].service, s->name); j++)
			;
		assert_true(j < nc);
		ref = vd_spec_image_ref(c, s);
		itest_ok(vd_image_tag(dk, vd_json_str(cl[j].v, "Image"), ref, "latest", &err), &err);
		free(ref);
	}
	snprintf(cmd, sizeof(cmd), "%s -p %s down -v --rmi local", compose, p1);
	vd_buf_clear(&out);
	if (run_in(dir, cmd, &out))
		fprintf(stderr, "case %s: %s down: %s\n", name, compose, vd_buf_cstr(&out));

	/* voxdeploy */
	assert_int_equal(vd_kvs_add(&extra, "io.voxdeploy.test", "1"), 0);
	opts.extra_labels = &extra;
	opts.lookup = vd_env_lookup_process_then;
	opts.lookup_ctx = &dotenv;
	itest_ok(vd_spec_ensure_networks(dk, c, &opts, &err), &err);
	itest_ok(vd_spec_ensure_volumes(dk, c, &opts, &err), &err);
	for (i = 0; i < c->n_services; i++) {
		const vd_compose_service *s = vd_compose_ordered(c, i);
		vd_image_info img = { 0 };
		char *ref = vd_spec_image_ref(c, s), *id = NULL;

		itest_ok(vd_image_inspect(dk, ref, &img, &err), &err);
		opts.image_id = img.id;
		opts.commit = "0123456789abcdef0123456789abcdef01234567";
		opts.deploy_id = "it-compose-diff";
		rc = vd_spec_create(dk, c, s, NULL, &opts, &id, &err);
		vd_image_info_release(&img);
		free(ref);
		free(id);
		if (rc)
			fail_msg("case %s: %s", name, vd_error_msg(&err));
	}
	nv = inspect_project(p2, &vl);

	/* compare */
	d.p1 = p1;
	d.p2 = p2;
	d.case_name = name;
	vd_buf_init(&d.report, VD_BUF_DEFAULT_MAX);
	if (compose_major < 2)
		d.failures += hashes_v1(dir, p1, &dotenv, cl, nc, &d.report);
	if (nc != c->n_services || nv != c->n_services) {
		d.failures++;
		vd_buf_printf(&d.report, "  %s: %zu services, compose made %zu containers, voxdeploy %zu\n",
			      name, c->n_services, nc, nv);
	}
	for (i = 0; i < nc; i++) {
		const vd_compose_service *s = vd_compose_service_find(c, cl[i].service);

		for (j = 0; j < nv && strcmp(vl[j].service, cl[i].service); j++)
			;
		if (!s || j == nv) {
			d.failures++;
			vd_buf_printf(&d.report, "  %s/%s: no voxdeploy container\n", name, cl[i].service);
			continue;
		}
		d.service = s->name;
		compare_containers(&d, c, s, cl[i].v, vl[j].v);
	}

	if (d.failures) {
		/* cmocka truncates long messages: the whole report goes to stderr */
		fprintf(stderr, "case %s: %d differences:\n%s", name, d.failures, vd_buf_cstr(&d.report));
		fail_msg("case %s: %d differences:\n%s", name, d.failures, vd_buf_cstr(&d.report));
	}
	fprintf(stderr, "case %s: %zu services equal\n", name, c->n_services);

	vd_buf_release(&d.report);
	inspected_free(cl, nc);
	inspected_free(vl, nv);
	vd_project_release(&proj);
	vd_kvs_release(&dotenv);
	vd_kvs_release(&extra);
	vd_buf_release(&out);
	vd_error_release(&err);
}

int main(void)
{
	/* names, ports and subnets the corpus takes from the environment, unique
	 * to this run where another run could collide */
	char buf[64];
	int n = (int)(getpid() % 200) + 20;

	snprintf(corpus_dir, sizeof(corpus_dir), "%s", VD_COMPOSE_CORPUS);
	compose_major = find_compose();
	fprintf(stderr, "it_compose_diff: against %s, compose %d\n", compose, compose_major);
	snprintf(buf, sizeof(buf), "vdcd%d_app", (int)getpid());
	setenv("APP_CONTAINER", buf, 1);
	snprintf(buf, sizeof(buf), "vdcd%d_postgres", (int)getpid());
	setenv("PG_CONTAINER", buf, 1);
	snprintf(buf, sizeof(buf), "vdcd%d_minio", (int)getpid());
	setenv("MINIO_CONTAINER", buf, 1);
	snprintf(buf, sizeof(buf), "10.231.%d.0/24", n);
	setenv("NET_SUBNET", buf, 1);
	snprintf(buf, sizeof(buf), "10.231.%d.10", n);
	setenv("PG_IP", buf, 1);
	snprintf(buf, sizeof(buf), "10.232.%d.0/24", n);
	setenv("FRONT_SUBNET", buf, 1);
	snprintf(buf, sizeof(buf), "10.232.%d.1", n);
	setenv("FRONT_GW", buf, 1);
	snprintf(buf, sizeof(buf), "10.232.%d.20", n);
	setenv("FRONT_IP", buf, 1);
	snprintf(buf, sizeof(buf), "vdcd%d-back", (int)getpid());
	setenv("BACK_NAME", buf, 1);
	snprintf(buf, sizeof(buf), "vdcd%d-named-data", (int)getpid());
	setenv("NAMED_VOLUME", buf, 1);

	const struct CMUnitTest tests[] = {
		{ "voxpersona", run_case, NULL, case_teardown, (void *)"voxpersona" },
		{ "ports", run_case, NULL, case_teardown, (void *)"ports" },
		{ "volumes", run_case, NULL, case_teardown, (void *)"volumes" },
		{ "command", run_case, NULL, case_teardown, (void *)"command" },
		{ "healthcheck", run_case, NULL, case_teardown, (void *)"healthcheck" },
		{ "networks", run_case, NULL, case_teardown, (void *)"networks" },
		{ "resources", run_case, NULL, case_teardown, (void *)"resources" },
		{ "security", run_case, NULL, case_teardown, (void *)"security" },
		{ "runtime", run_case, NULL, case_teardown, (void *)"runtime" },
		{ "environment", run_case, NULL, case_teardown, (void *)"environment" },
		{ "keys", run_case, NULL, case_teardown, (void *)"keys" },
	};

	return cmocka_run_group_tests(tests, NULL, itest_group_teardown);
}
