# shellcheck shell=bash
# Setting up a Debian machine (12 bookworm or 13 trixie) for voxdeploy,
# sourced by tests/run and deploy/demo.sh: the Debian packages that are
# missing, named as the release names them, and a Docker engine when none
# answers.  Every step is skipped when already done.
#
# The caller defines note MESSAGE (progress) and step_failed MESSAGE (a step
# that failed); this file sets:
#   SUDO         (sudo) when not root and sudo exists, else empty
#   DOCKER       the docker CLI (docker.io's /usr/bin/docker when present)
#   docker_sock  the engine's unix socket (DOCKER_HOST unix://..., else
#                /var/run/docker.sock)
#   dockerd_pid, dockerd_log  set by start_engine when it started dockerd;
#                stop_dockerd stops that one again (never another)
# and offers build_packages / engine_packages / browser_packages ARRAY (the
# package lists) and
# pg_major (the PostgreSQL major the fixture images are made of).

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

pkg_installed() {
	[[ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" == installed ]]
}

apt_updated=0
apt_update_once() { # apt-get update, once per run (a fresh machine has no lists)
	((apt_updated)) && return 0
	if [[ $(id -u) != 0 && ${#SUDO[@]} == 0 ]]; then
		step_failed "apt-get update needs root (no sudo)"
		return 1
	fi
	if ! "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -q update; then
		step_failed "apt-get update"
		return 1
	fi
	apt_updated=1
}

apt_has() { # apt offers the package (the lists are read as they are)
	[[ -n "$(apt-cache show --no-all-versions "$1" 2>/dev/null)" ]]
}

# pg_major: the PostgreSQL major of this machine: the newest server
# installed, else the one the release's "postgresql" package depends on (15
# on bookworm, 17 on trixie).  Prints it; non-zero when there is none.
pg_major() {
	local d n v=0
	for d in /usr/lib/postgresql/*/bin/postgres; do
		n=${d#/usr/lib/postgresql/}
		n=${n%%/*}
		if [[ -x "$d" && "$n" =~ ^[0-9]+$ ]] && ((n > v)); then
			v=$n
		fi
	done
	if ((v == 0)); then
		apt_has postgresql || apt_update_once >&2 || return 1
		v=$(apt-cache depends postgresql 2>/dev/null |
			sed -n 's/^ *Depends: postgresql-\([0-9][0-9]*\)$/\1/p' | head -n1)
	fi
	if [[ -z "$v" || "$v" == 0 ]]; then
		step_failed "no PostgreSQL server installed and apt offers none (package postgresql)"
		return 1
	fi
	echo "$v"
}

# build_packages ARRAY: append what building voxdeploy and its unit tests needs.
build_packages() {
	# shellcheck disable=SC2178 # a nameref to the caller's array
	local -n into=$1
	into+=(gcc libc6-dev meson ninja-build pkg-config python3 git ca-certificates curl iproute2
		libcurl4-openssl-dev libyajl-dev libgit2-dev libpq-dev libcmocka-dev libfyaml-dev
		libarchive-dev libmicrohttpd-dev)
}

# browser_packages ARRAY: append headless Chromium and its WebDriver, which
# the status page's integration test (it_page) drives; the same names on
# bookworm and trixie.
browser_packages() {
	# shellcheck disable=SC2178 # a nameref to the caller's array
	local -n into=$1
	into+=(chromium chromium-driver)
}

# engine_packages ARRAY: append the engine, its CLI, compose, what the
# fixture images are made of (busybox, this release's PostgreSQL), and
# debootstrap for the swarm tests' nodes.  Names by
# release: docker.io's CLI is a package of its own from trixie on
# (docker-cli); "docker-compose" is 1.29 on bookworm and v2 on trixie.
engine_packages() {
	# shellcheck disable=SC2178 # a nameref to the caller's array
	local -n into=$1
	local pg
	pg=$(pg_major) || return 1
	# debootstrap: the bare Debian the swarm tests' nested engines run on
	# (tests/swarm/cluster)
	into+=(docker.io iptables busybox-static "postgresql-$pg" "postgresql-client-$pg" tzdata docker-compose
		debootstrap)
	if pkg_installed docker-cli || { [[ ! -x /usr/bin/docker ]] && { apt_has docker-cli ||
		{ apt_update_once && apt_has docker-cli; }; }; }; then
		into+=(docker-cli)
		# its docker build speaks BuildKit only through buildx (it_build's
		# differential builds with DOCKER_BUILDKIT=1)
		if apt_has docker-buildx; then
			into+=(docker-buildx)
		fi
	fi
}

# install_packages PKG...: apt-get install those not installed (dpkg-query);
# nothing when all are there.  Non-zero (after step_failed) on failure.
install_packages() {
	local p missing=()
	for p in "$@"; do
		pkg_installed "$p" || missing+=("$p")
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
	apt_update_once || return 1
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
	# Docker 26 (trixie) fails every container start where it cannot turn
	# IPv6 off on the container's interface (a read-only /proc/sys, as in a
	# container); the variable makes that a warning, as before Docker 26.
	"${SUDO[@]}" env DOCKER_ALLOW_IPV6_ON_IPV4_INTERFACE=1 setsid dockerd >"$dockerd_log" 2>&1 </dev/null 9>&- &
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
