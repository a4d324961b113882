#include "controller/rollout/decide.h"
#include "controller/model/interpolate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The state file first; the engine only when it says nothing. */
static int deployed_commit(const vd_decide_options *o, vd_decision *d, vd_error *err)
{
	vd_docker *docker = NULL;
	int rc;

	rc = vd_plan_deployed_commit(o->state_dir, NULL, o->project->name, &d->deployed,
				     &d->deployed_source, err);
	if (!rc && !d->deployed && o->engine) {
		rc = o->engine(o->engine_ctx, &docker, err);
		if (!rc)
			rc = vd_plan_deployed_commit(o->state_dir, docker, o->project->name, &d->deployed,
						     &d->deployed_source, err);
	}
	return rc ? vd_error_prefix(err, "cannot tell the deployed commit") : 0;
}

int vd_decide(vd_git *git, const vd_decide_options *o, vd_decision *out, vd_error *err)
{
	vd_plan_options po = { NULL, NULL, NULL, o->forced, o->forced_type, NULL, NULL };
	char to[VD_SHA_HEX];
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = vd_git_resolve(git, o->to ? o->to : "HEAD", to, err)) ||
	    (rc = vd_dotenv_load_project(o->project->dir, &out->dotenv, err)) ||
	    (rc = vd_config_load_commit(git, to, o->project, vd_env_lookup_process_then, &out->dotenv,
					&out->config, err)) ||
	    (rc = vd_config_rules(out->config, &out->rules, err)))
		return rc;
	po.to = to;
	po.rules = out->rules;
	if (o->from) {
		po.from = o->from;
	} else {
		if ((rc = deployed_commit(o, out, err)))
			return rc;
		po.from = out->deployed;
		po.from_source = out->deployed_source;
	}
	if (!o->rules_only && out->config->image_aware) {
		rc = vd_reach_new(git, to, o->project, vd_env_lookup_process_then, &out->dotenv,
				  out->config->app_service, &out->reach, err);
		if (rc)
			return rc;
		po.reach = out->reach;
	}
	return vd_plan_make(git, &po, &out->plan, err);
}

void vd_decision_release(vd_decision *d)
{
	if (!d)
		return;
	vd_plan_release(&d->plan);
	vd_reach_free(d->reach);
	vd_rules_free(d->rules);
	vd_config_free(d->config);
	vd_kvs_release(&d->dotenv);
	free(d->deployed);
	memset(d, 0, sizeof(*d));
}
