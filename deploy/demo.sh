#!/usr/bin/env bash
# voxdeploy at work on this machine, from nothing: on a fresh Debian bookworm
# machine (as root, or a user with sudo) it first sets up what is missing,
# then deploys a throw-away stack.
#
# Setup (each step skipped when already done, and says so):
#   1. the Debian packages (build tools and libraries, docker.io, git, curl,
#      busybox-static and PostgreSQL 15 for the demo images), with apt-get
#   2. a Docker engine: the one answering on /var/run/docker.sock (or
#      DOCKER_HOST), else dockerd started in the background (stopped again
#      at the end, unless --keep)
#   3. voxdeploy itself (meson setup once, then ninja in build/: nothing to
#      do when it is up to date) unless a binary is given
#   4. the images voxdeploy-test/busybox:1 and voxdeploy-test/postgres:local
#      (tests/fixtures/build-images makes them offline from this machine's
#      own busybox and PostgreSQL; nothing is pulled)
# The demo: a git repository with a tiny stack (a web app built from a
# Dockerfile, with a HEALTHCHECK, and PostgreSQL), then four real deploys,
# each shown with its plan (`voxdeploy plan`), the deploy's steps with their
# times, and what the app serves afterwards:
#   1. the first deploy (FULL_RESTART: everything is created)
#   2. a README change (NO_RESTART: nothing restarts)
#   3. an app change (APP_ONLY: only the app is rebuilt and swapped)
#   4. a broken app (APP_ONLY that fails its health check: rolled back by
#      itself, exit 1, the previous version still serving)
# then the journal and the final health report (`voxdeploy health`).
# Everything is removed at the end (--keep leaves it running and prints
# where).  The docker CLI is used only to clean up; voxdeploy itself talks
# to the Engine API.
#
# Usage: deploy/demo.sh [--keep] [--no-setup] [VOXDEPLOY_BINARY]
#   --no-setup  install nothing and start no engine: fail when one is missing
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
keep=0 setup=1 VD=
for a in "$@"; do
	case "$a" in
	--keep) keep=1 ;;
	--no-setup) setup=0 ;;
	-h | --help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; exit 0 ;;
	-*) echo "demo.sh: unknown option: $a (see --help)" >&2; exit 2 ;;
	*) VD=$a ;;
	esac
done
BUSYBOX=${VD_TEST_BUSYBOX_IMAGE:-voxdeploy-test/busybox:1}
POSTGRES=${VD_TEST_POSTGRES_IMAGE:-voxdeploy-test/postgres:local}

banner() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
note() { printf '   %s\n' "$*"; }
step_failed() { printf 'demo.sh: %s\n' "$*" >&2; }

# SUDO, docker_cli, install_packages, start_engine, wait_engine, stop_dockerd
# (shared with tests/run)
source "$ROOT/tests/machine.sh"
DOCKER=$(docker_cli)
export DOCKER

stop_engine_at_exit() {
	if ((keep)) && [[ -n "$dockerd_pid" ]]; then
		echo "kept: the dockerd this demo started (pid $dockerd_pid, log $dockerd_log)"
		return
	fi
	stop_dockerd
	[[ -z "$dockerd_log" ]] || rm -f "$dockerd_log"
}
trap stop_engine_at_exit EXIT

if ((setup)); then
	banner "setup 1/4: packages"
	packages=()
	build_packages packages
	engine_packages packages || exit 1
	install_packages "${packages[@]}" || exit 1
	banner "setup 2/4: Docker engine"
	start_engine || exit 1
	wait_engine || exit 1
elif ! engine_answers; then
	step_failed "no Docker engine answers (--no-setup)"
	exit 1
fi

if ((setup)); then banner "setup 3/4: voxdeploy"; fi
if [[ -z "$VD" ]]; then
	VD=$ROOT/build/controller/voxdeploy
	if [[ -f "$ROOT/build/meson-private/coredata.dat" ]]; then
		# configured already: ninja rebuilds what changed, or says there is no work
		if ! out=$(ninja -C "$ROOT/build" 2>&1); then
			printf '%s\n' "$out" >&2
			step_failed "building voxdeploy failed"
			exit 1
		fi
		note "${out##*$'\n'}"
	else
		note "building with meson and ninja in $ROOT/build"
		(cd "$ROOT" && meson setup build >/dev/null && ninja -C build)
	fi
else
	note "using $VD"
fi
if ((setup)); then banner "setup 4/4: the demo images"; fi
if "$DOCKER" image inspect "$BUSYBOX" "$POSTGRES" >/dev/null 2>&1; then
	note "$BUSYBOX and $POSTGRES are there"
else
	note "making them offline (tests/fixtures/build-images)"
	"$ROOT/tests/fixtures/build-images"
fi

P=demo$$
APP_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
DIR=$(mktemp -d "${TMPDIR:-/tmp}/voxdeploy-demo.XXXXXX")
STATE=$DIR/.state
cleanup() {
	if ((keep)); then
		echo "kept: the stack is project $P (http://127.0.0.1:$APP_PORT/), the repository $DIR"
		return
	fi
	banner "cleaning up"
	local ids
	ids=$("$DOCKER" ps -aq --filter "label=com.docker.compose.project=$P")
	[[ -z "$ids" ]] || "$DOCKER" rm -f -v $ids >/dev/null
	"$DOCKER" network rm "${P}_default" >/dev/null 2>&1 || true
	"$DOCKER" volume rm "${P}_pgdata" >/dev/null 2>&1 || true
	ids=$("$DOCKER" images -q --filter "reference=$P-app" | sort -u)
	[[ -z "$ids" ]] || "$DOCKER" rmi -f $ids >/dev/null 2>&1 || true
	rm -rf "$DIR"
}
trap 'cleanup; stop_engine_at_exit' EXIT

vd() { "$VD" -C "$DIR" --state-dir "$STATE" "$@"; }
g() { git -C "$DIR" -c user.name=demo -c user.email=demo@voxdeploy.invalid "$@"; }
put() { mkdir -p "$(dirname "$DIR/$1")"; printf '%s' "$2" >"$DIR/$1"; }
commit() { g add -A && g commit -qm "$1"; }
step() { # step TITLE: plan, deploy, what the app serves
	banner "$1"
	vd plan || true
	local rc=0
	vd deploy --actor demo --note "$1" || rc=$?
	echo "exit $rc; the app serves: $(curl -s --max-time 3 "http://127.0.0.1:$APP_PORT/version" || echo '(nothing)')"
}

banner "a demo repository in $DIR"
git init -q -b main "$DIR"
put .gitignore $'.env\n.state/\n'
put .env "DB_PASSWORD=demo-$RANDOM$RANDOM
APP_PORT=$APP_PORT
"
put Dockerfile "FROM $BUSYBOX
COPY src/ /www/
COPY start.sh /start.sh
HEALTHCHECK --interval=1s --timeout=2s --retries=2 CMD wget -q -O- http://127.0.0.1:8080/health || exit 1
CMD [\"sh\", \"/start.sh\"]
"
put start.sh $'exec httpd -f -p 8080 -h /www\n'
put src/health $'ok\n'
put src/version $'1\n'
put README.md $'# demo\n'
put docker-compose.yml "name: $P
services:
  app:
    build: .
    labels: {io.voxdeploy.test: \"1\"}
    stop_grace_period: 1s
    depends_on: {postgres: {condition: service_healthy}}
    ports: [\"127.0.0.1:\${APP_PORT}:8080\"]
  postgres:
    image: $POSTGRES
    labels: {io.voxdeploy.test: \"1\"}
    environment:
      POSTGRES_USER: demo
      POSTGRES_PASSWORD: \${DB_PASSWORD}
      POSTGRES_DB: demo
    volumes: [pgdata:/var/lib/postgresql/data]
    healthcheck:
      test: [\"CMD\", \"pg_isready\", \"-U\", \"demo\", \"-h\", \"127.0.0.1\"]
      interval: 1s
      retries: 30
volumes:
  pgdata:
"
put voxdeploy.yml 'health:
  deadline: 60s
  stable_for: 2s
  http:
    - {name: web, service: app, url: "http://127.0.0.1:${APP_PORT}/health", expect_status: [200]}
'
commit "the stack"
cat "$DIR/docker-compose.yml"

step "1. the first deploy"
put README.md $'# demo\n\nMore words.\n'
commit "docs"
step "2. a README change"
put src/version $'2\n'
commit "version 2"
step "3. an app change"
put src/version $'3\n'
put start.sh $'echo "version 3 does not start" >&2; exit 3\n'
commit "broken version 3"
step "4. a broken app"

banner "the journal (last 12 records)"
vd history -n 12
banner "the health report"
vd health || true
