# shellcheck shell=bash
# Setting up a Debian bookworm machine for voxdeploy, sourced by tests/run and
# deploy/demo.sh: the Debian packages that are missing, and a Docker engine
# when none answers.  Every step is skipped when already done.
#
# The caller defines note MESSAGE (progress) and step_failed MESSAGE (a step
# that failed); this file sets:
#   SUDO         (sudo) when not root and sudo exists, else empty
#   DOCKER       the docker CLI (docker.io's /usr/bin/docker when present)
#   docker_sock  the engine's unix socket (DOCKER_HOST unix://..., else
#                /var/run/docker.sock)
#   dockerd_pid, dockerd_log  set by start_engine when it started dockerd;
#                stop_dockerd stops that one again (never another)

SUDO=()
if [[ $(id -u) != 0 ]] && command -v sudo >/dev/null; then
	SUDO=(sudo)
fi
dockerd_pid=
dockerd_log=

docker_cli() {
	if [[ -n "${DOCKER:-}" ]]; then
		echo "$DOCKER"
	elif [[ -x /usr/bin/docker ]]; then
		echo /usr/bin/docker # docker.io's CLI, even if another is first in PATH
	else
		command -v docker || echo docker
	fi
}

docker_sock=/var/run/docker.sock
if [[ "${DOCKER_HOST:-}" == unix://* ]]; then
	docker_sock=${DOCKER_HOST#unix://}
fi

# install_packages PKG...: apt-get install those not installed (dpkg-query);
# nothing when all are there.  Non-zero (after step_failed) on failure.
install_packages() {
	local p missing=()
	for p in "$@"; do
		if [[ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null)" != installed ]]; then
			missing+=("$p")
		fi
	done
	if ((${#missing[@]} == 0)); then
		note "all $# installed"
		return 0
	fi
	note "installing: ${missing[*]}"
	if [[ $(id -u) != 0 && ${#SUDO[@]} == 0 ]]; then
		step_failed "packages missing (${missing[*]}) and not root (no sudo)"
		return 1
	fi
	if ! "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -q update; then
		step_failed "apt-get update"
		return 1
	fi
	if ! "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -q -y -o Acquire::Retries=3 \
		install --no-install-recommends "${missing[@]}"; then
		step_failed "apt-get install ${missing[*]}"
		return 1
	fi
}

engine_answers() {
	if [[ -n "${DOCKER_HOST:-}" && "${DOCKER_HOST}" != unix://* ]]; then
		"$DOCKER" version >/dev/null 2>&1
	else
		[[ "$(curl -s --max-time 5 --unix-socket "$docker_sock" http://localhost/_ping 2>/dev/null)" == OK ]]
	fi
}

start_engine() { # start dockerd unless an engine answers; does not wait
	if engine_answers; then
		note "a Docker engine answers on ${DOCKER_HOST:-unix://$docker_sock}; using it"
		return 0
	fi
	if [[ -n "${DOCKER_HOST:-}" && "$docker_sock" != /var/run/docker.sock ]]; then
		step_failed "no Docker engine answers at DOCKER_HOST=$DOCKER_HOST"
		return 1
	fi
	command -v dockerd >/dev/null || { step_failed "dockerd not installed"; return 1; }
	dockerd_log=$(mktemp "${TMPDIR:-/tmp}/vd-dockerd.XXXXXX.log")
	note "no engine answers; starting dockerd (log: $dockerd_log)"
	# Its own session: a Ctrl-C of the caller must not stop it before the
	# clean-up has talked to it; stop_dockerd stops it.
	"${SUDO[@]}" setsid dockerd >"$dockerd_log" 2>&1 </dev/null 9>&- &
	dockerd_pid=$!
}

wait_engine() {
	local i
	for ((i = 0; i < 120; i++)); do
		if engine_answers; then
			note "engine ready: $("$DOCKER" version --format 'server {{.Server.Version}}, API {{.Server.APIVersion}}' 2>/dev/null)"
			return 0
		fi
		if [[ -n "$dockerd_pid" ]] && ! "${SUDO[@]}" kill -0 "$dockerd_pid" 2>/dev/null; then
			break
		fi
		sleep 0.5
	done
	step_failed "no Docker engine answered /_ping within 60 s"
	if [[ -n "$dockerd_log" ]]; then
		note "last lines of the dockerd log:"
		tail -n 30 "$dockerd_log" | sed 's/^/    | /' >&2
	fi
	return 1
}

stop_dockerd() { # the dockerd start_engine started, if any
	[[ -n "$dockerd_pid" ]] || return 0
	local i
	note "stopping the dockerd this run started (pid $dockerd_pid)"
	"${SUDO[@]}" kill -TERM "$dockerd_pid" 2>/dev/null || true
	for ((i = 0; i < 60; i++)); do
		"${SUDO[@]}" kill -0 "$dockerd_pid" 2>/dev/null || break
		sleep 0.5
	done
	if "${SUDO[@]}" kill -0 "$dockerd_pid" 2>/dev/null; then
		note "dockerd did not stop in 30 s; killing it"
		"${SUDO[@]}" kill -KILL "$dockerd_pid" 2>/dev/null || true
	fi
	wait "$dockerd_pid" 2>/dev/null || true
	dockerd_pid=
}
