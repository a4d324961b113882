#!/usr/bin/env bash
# The real path, end to end: CI's ssh one-liner -> a real sshd -> `docker exec`
# into the voxdeploy sidecar (the image deploy/build-offline-image.sh makes)
# running in the engine next to a test stack -> deploys from the project's
# git remote.
#
# Usage: tests/integration/e2e_ssh.sh VOXDEPLOY_BINARY SOURCE_ROOT
#
#   - sshd on 127.0.0.1 (a free port), a host key and a client key made now,
#     the host key pinned in known_hosts (StrictHostKeyChecking yes);
#   - an origin repository (bare) and the server's checkout cloned from it,
#     owned by the sidecar's user; a stack like it_deploy's: an app built from
#     a Dockerfile (busybox httpd + HEALTHCHECK) and PostgreSQL with a named
#     volume, on a network the test made, which the sidecar joins, so its
#     probes reach `postgres` and `app` by name;
#   - the ssh command is the line of deploy/github-actions/deploy.yml that
#     holds `voxdeploy deploy --fetch`, run as it is with the workflow's
#     variables set (only the container name `voxdeploy` becomes this run's
#     unique sidecar name: the engine is shared);
#   - first deploy (exit 0, every service created), an app change (exit 0,
#     APP_ONLY: only the app container is new), a broken app (exit 1, the
#     previous version serving); the sidecar's /healthz, /v1/report and
#     /metrics through its published port, with and without the token.
# Prints cmocka's summary lines so that tests/run counts every check; exits
# non-zero when one failed.  Everything made is labelled io.voxdeploy.test=1
# and removed at the end, pass or fail.
set -uo pipefail

VD=${1:?usage: e2e_ssh.sh VOXDEPLOY_BINARY SOURCE_ROOT}
SRC=${2:?usage: e2e_ssh.sh VOXDEPLOY_BINARY SOURCE_ROOT}
if [[ -z "${DOCKER:-}" ]]; then
	if [[ -x /usr/bin/docker ]]; then DOCKER=/usr/bin/docker; else DOCKER=docker; fi
fi
BUSYBOX=${VD_TEST_BUSYBOX_IMAGE:-voxdeploy-test/busybox:1}
POSTGRES=${VD_TEST_POSTGRES_IMAGE:-voxdeploy-test/postgres:local}
N=vde2e$$x$RANDOM
SIDECAR=$N-voxdeploy
NET=$N-net
IMAGE=voxdeploy-test/sidecar:$N
STATE_VOL=$N-state
TOKEN=e2e-token-$RANDOM$RANDOM$RANDOM-abcdef
DB_PASSWORD=e2e-db-s3cret-$RANDOM$RANDOM

passed=0 failed=0 failures=()
ok() { passed=$((passed + 1)); echo "[       OK ] $1"; }
bad() { failed=$((failed + 1)); failures+=("$1"); echo "[  ERROR   ] $1${2:+: $2}"; }
check() { # check NAME COMMAND...: one counted check
	local name=$1
	shift
	if "$@"; then ok "$name"; else bad "$name"; fi
}
summary() {
	local f
	echo "[==========] $((passed + failed)) test(s) run."
	echo "[  PASSED  ] $passed test(s)."
	if ((failed)); then
		echo "[  FAILED  ] $failed test(s), listed below:"
		for f in "${failures[@]}"; do echo "[  FAILED  ] $f"; done
	fi
}

T=$(mktemp -d "${TMPDIR:-/tmp}/vd-e2e.XXXXXX")
chmod 755 "$T"
sshd_pid=
cleanup() {
	local ids
	[[ -z "$sshd_pid" ]] || { kill "$sshd_pid" 2>/dev/null; wait "$sshd_pid" 2>/dev/null; }
	if [[ -n "${KEEP_E2E:-}" ]]; then echo "kept $T"; return; fi
	"$DOCKER" rm -f -v "$SIDECAR" >/dev/null 2>&1
	ids=$("$DOCKER" ps -aq --filter "label=com.docker.compose.project=$N" 2>/dev/null)
	[[ -z "$ids" ]] || "$DOCKER" rm -f -v $ids >/dev/null 2>&1
	"$DOCKER" network rm "$NET" >/dev/null 2>&1
	"$DOCKER" volume rm -f "${N}_pgdata" "$STATE_VOL" >/dev/null 2>&1
	ids=$("$DOCKER" images -q --filter "reference=$N-app" 2>/dev/null | sort -u)
	[[ -z "$ids" ]] || "$DOCKER" rmi -f $ids >/dev/null 2>&1
	"$DOCKER" rmi -f "$IMAGE" >/dev/null 2>&1
	rm -rf "$T"
}
finish() {
	local rc=$?
	cleanup
	if ((rc != 0 && failed == 0)); then bad "e2e_ssh stopped early (status $rc)"; fi
	summary
	((failed == 0)) || exit 1
	exit 0
}
trap finish EXIT
trap 'exit 130' INT TERM
die() { bad "$1" "${2:-}"; exit 1; }

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

echo "[==========] e2e: ssh -> docker exec -> voxdeploy sidecar ($N)"
for p in /usr/sbin/sshd ssh ssh-keygen git curl python3 "$DOCKER"; do
	command -v "$p" >/dev/null || die "needs $p (openssh-server, openssh-client, git, curl)"
done
"$DOCKER" image inspect "$BUSYBOX" "$POSTGRES" >/dev/null 2>&1 || die "fixture images missing (tests/fixtures/build-images)"

# ------------------------------------------------------------------ sshd
SSH_PORT=$(free_port)
ME=$(id -un)
ssh-keygen -q -t ed25519 -N '' -f "$T/hostkey" || die "host key"
ssh-keygen -q -t ed25519 -N '' -f "$T/id_ed25519" || die "client key"
cp "$T/id_ed25519.pub" "$T/authorized_keys"
chmod 600 "$T/authorized_keys"
cat >"$T/sshd_config" <<EOF
ListenAddress 127.0.0.1:$SSH_PORT
HostKey $T/hostkey
PidFile $T/sshd.pid
AuthorizedKeysFile $T/authorized_keys
AllowUsers $ME
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
UsePAM no
StrictModes no
LogLevel ERROR
EOF
if [[ $(id -u) == 0 ]]; then mkdir -p /run/sshd; fi
/usr/sbin/sshd -D -e -f "$T/sshd_config" 2>"$T/sshd.log" &
sshd_pid=$!
# the workflow's ssh set-up: the key, the pinned host key, no prompts
echo "[127.0.0.1]:$SSH_PORT $(cut -d' ' -f1,2 "$T/hostkey.pub")" >"$T/known_hosts"
cat >"$T/ssh_config" <<EOF
Host *
  Port $SSH_PORT
  IdentityFile $T/id_ed25519
  IdentitiesOnly yes
  UserKnownHostsFile $T/known_hosts
  StrictHostKeyChecking yes
  BatchMode yes
  ConnectTimeout 10
EOF
ssh() { command ssh -F "$T/ssh_config" "$@"; }
for i in $(seq 50); do
	ssh "$ME@127.0.0.1" true 2>/dev/null && break
	sleep 0.2
done
check "sshd answers with the pinned host key" ssh "$ME@127.0.0.1" true
# a host key that is not the pinned one is refused
cp "$T/known_hosts" "$T/known_hosts.good"
ssh-keygen -q -t ed25519 -N '' -f "$T/otherkey"
echo "[127.0.0.1]:$SSH_PORT $(cut -d' ' -f1,2 "$T/otherkey.pub")" >"$T/known_hosts"
if ssh "$ME@127.0.0.1" true 2>/dev/null; then bad "a wrong host key is refused"; else ok "a wrong host key is refused"; fi
cp "$T/known_hosts.good" "$T/known_hosts"

# ------------------------------------------------------------------ the sidecar image
SOCK_GID=$(stat -c %g /var/run/docker.sock)
if [[ $(id -u) == 0 ]]; then VD_UID=10001; else VD_UID=$(id -u); fi
"$SRC/deploy/build-offline-image.sh" -t "$IMAGE" --docker-gid "$SOCK_GID" --uid "$VD_UID" \
	--label io.voxdeploy.test=1 "$VD" >/dev/null 2>"$T/image.log" || die "build-offline-image.sh" "$(cat "$T/image.log")"
ok "deploy/build-offline-image.sh made $IMAGE"

# ------------------------------------------------------------------ repositories and stack
APP_PORT=$(free_port)
SIDECAR_PORT=$(free_port)
ORIGIN=$T/origin.git
DEV=$T/dev
P=$T/server/$N
# the test's own git (a developer pushing): repositories the sidecar's user owns
printf '[safe]\n\tdirectory = *\n[user]\n\tname = e2e\n\temail = e2e@voxdeploy.invalid\n' >"$T/gitconfig"
export GIT_CONFIG_GLOBAL=$T/gitconfig GIT_CONFIG_NOSYSTEM=1
git init -q --bare -b main "$ORIGIN" || die "git init"
git init -q -b main "$DEV"
put() { mkdir -p "$(dirname "$DEV/$1")"; printf '%s' "$2" >"$DEV/$1"; }
put .gitignore $'.env\n'
put Dockerfile "FROM $BUSYBOX
COPY src/ /www/
COPY start.sh /start.sh
HEALTHCHECK --interval=1s --timeout=2s --retries=2 CMD wget -q -O- http://127.0.0.1:8080/health || exit 1
CMD [\"sh\", \"/start.sh\"]
"
put start.sh $'exec httpd -f -p 8080 -h /www\n'
put src/health $'ok\n'
put src/version $'1\n'
put README.md $'# e2e stack\n'
put docker-compose.yml "name: $N
services:
  app:
    build: .
    stop_grace_period: 1s
    depends_on:
      postgres:
        condition: service_healthy
    ports: [\"127.0.0.1:\${APP_PORT}:8080\"]
    labels: [io.voxdeploy.test=1]
  postgres:
    image: $POSTGRES
    environment:
      POSTGRES_USER: vd
      POSTGRES_PASSWORD: \${DB_PASSWORD}
      POSTGRES_DB: vd
    volumes: [pgdata:/var/lib/postgresql/data]
    healthcheck:
      test: [\"CMD\", \"pg_isready\", \"-U\", \"vd\", \"-h\", \"127.0.0.1\"]
      interval: 1s
      timeout: 3s
      retries: 30
    labels: [io.voxdeploy.test=1]
networks:
  default:
    name: $NET
    external: true
volumes:
  pgdata:
    labels: {io.voxdeploy.test: \"1\"}
"
# the sidecar is on the project network: services by name
put voxdeploy.yml 'health:
  deadline: 60s
  stable_for: 1s
  postgres:
    - name: db
      service: postgres
      conninfo: "host=postgres user=vd password=${DB_PASSWORD} dbname=vd"
  http:
    - name: web
      service: app
      url: "http://app:8080/health"
      expect_status: [200]
deploy:
  retain_images: 3
'
git -C "$DEV" add -A && git -C "$DEV" commit -qm "the stack" && git -C "$DEV" push -q "$ORIGIN" main || die "first push"
mkdir -p "$T/server"
git clone -q "$ORIGIN" "$P" || die "clone"
printf 'DB_PASSWORD=%s\nAPP_PORT=%s\n' "$DB_PASSWORD" "$APP_PORT" >"$P/.env"
own() { [[ $(id -u) != 0 ]] || chown -R "$VD_UID:$SOCK_GID" "$ORIGIN" "$P"; }
own
"$DOCKER" network create --label io.voxdeploy.test=1 "$NET" >/dev/null || die "network"
"$DOCKER" volume create --label io.voxdeploy.test=1 "$STATE_VOL" >/dev/null || die "state volume"
printf '%s\n' "$TOKEN" >"$T/token"
chmod 644 "$T/token"

# a sanitizer build: the host's leak suppressions are not in the image
san_env=()
# (grep reads all of ldd's output: with -q and pipefail, ldd could die of SIGPIPE)
if ldd "$VD" 2>/dev/null | grep libasan >/dev/null; then san_env=(-e ASAN_OPTIONS=detect_leaks=0); fi
# the sidecar as deploy/compose.sidecar.yml runs it
"$DOCKER" run -d --name "$SIDECAR" --label io.voxdeploy.test=1 "${san_env[@]}" \
	-v /var/run/docker.sock:/var/run/docker.sock \
	-v "$P:$P" -v "$ORIGIN:$ORIGIN" \
	-v "$STATE_VOL:/var/lib/voxdeploy" \
	-v "$T/token:/run/secrets/voxdeploy_token:ro" \
	-w "$P" --network "$NET" -p "127.0.0.1:$SIDECAR_PORT:9180" \
	"$IMAGE" >/dev/null || die "docker run the sidecar"
for i in $(seq 50); do
	curl -s -o /dev/null "http://127.0.0.1:$SIDECAR_PORT/healthz" && break
	sleep 0.2
done
check "the sidecar runs as its non-root user" test "$("$DOCKER" inspect -f '{{.Config.User}}' "$SIDECAR")" = voxdeploy

# ------------------------------------------------------------------ the one-liner
LINE=$(grep -m1 'voxdeploy deploy --fetch' "$SRC/deploy/github-actions/deploy.yml" | sed 's/^[[:space:]]*//')
WANT='ssh "$SERVER_USER@$SERVER_IP" docker exec voxdeploy voxdeploy deploy --fetch --to "$SHA" --type "$TYPE" --actor "$ACTOR" --note "$RUN_URL" --json'
check "the workflow holds the one-liner" test "$LINE" = "$WANT"
LINE=${LINE/docker exec voxdeploy /docker exec $SIDECAR }
SERVER_USER=$ME SERVER_IP=127.0.0.1 TYPE=auto ACTOR=e2e-tester
RUN_URL=https://ci.example.invalid/actions/runs/1

container_id() { "$DOCKER" inspect -f '{{.Id}}' "$N-$1-1" 2>/dev/null; }
deploy_now() { # the one-liner as CI runs it; its exit code, stdout in $T/deploy.jsonl
	SHA=$(git -C "$DEV" rev-parse HEAD)
	eval "$LINE" >"$T/deploy.jsonl" 2>"$T/deploy.err"
}
result() { tail -n 1 "$T/deploy.jsonl"; }
served_version() { curl -s --max-time 5 "http://127.0.0.1:$APP_PORT/version"; }

# 1. the first deploy: every service created
deploy_now
rc=$?
if [[ $rc == 0 ]]; then ok "first deploy: exit 0"; else bad "first deploy: exit 0" "exit $rc: $(result) $(tail -5 "$T/deploy.err")"; fi
check "first deploy: FULL_RESTART" grep -q '"result":"done".*"type":"FULL_RESTART"' "$T/deploy.jsonl"
APP1=$(container_id app)
PG1=$(container_id postgres)
check "first deploy: app and postgres containers exist" test -n "$APP1" -a -n "$PG1"
check "first deploy: the app serves version 1" test "$(served_version)" = 1
check "first deploy: the deployed commit is the target" \
	test "$("$DOCKER" inspect -f '{{ index .Config.Labels "io.voxdeploy.commit" }}' "$N-app-1")" = "$SHA"

# 2. an app change: APP_ONLY, only the app is recreated
put src/version $'2\n'
git -C "$DEV" commit -qam "version 2" && git -C "$DEV" push -q "$ORIGIN" main && own
deploy_now
rc=$?
if [[ $rc == 0 ]]; then ok "app change: exit 0"; else bad "app change: exit 0" "exit $rc: $(result) $(tail -5 "$T/deploy.err")"; fi
check "app change: APP_ONLY" grep -q '"result":"done".*"type":"APP_ONLY"' "$T/deploy.jsonl"
APP2=$(container_id app)
check "app change: a new app container" test -n "$APP2" -a "$APP2" != "$APP1"
check "app change: postgres untouched" test "$(container_id postgres)" = "$PG1"
check "app change: the app serves version 2" test "$(served_version)" = 2

# 3. a broken app: exit 1, the previous version restored and serving
put src/version $'3\n'
put start.sh $'echo broken >&2; exit 3\n'
git -C "$DEV" commit -qam "broken version 3" && git -C "$DEV" push -q "$ORIGIN" main && own
deploy_now
rc=$?
if [[ $rc == 1 ]]; then ok "broken app: exit 1"; else bad "broken app: exit 1" "exit $rc: $(result) $(tail -5 "$T/deploy.err")"; fi
check "broken app: the result says failed" grep -q '"result":"failed"' "$T/deploy.jsonl"
check "broken app: the previous container serves again" test "$(container_id app)" = "$APP2"
check "broken app: version 2 is served" test "$(served_version)" = 2

# 4. bad input: exit 2, nothing changed (the workflow validates first; this is
# what reaches the server if it did not)
TYPE=sideways deploy_now
rc=$?
if [[ $rc == 2 ]]; then ok "bad --type: exit 2"; else bad "bad --type: exit 2" "exit $rc"; fi
check "bad --type: the app container is the same" test "$(container_id app)" = "$APP2"
TYPE=auto

# ------------------------------------------------------------------ the sidecar's endpoint
get() { # get PATH [TOKEN]: status code, body in $T/body
	curl -s -o "$T/body" -w '%{http_code}' --max-time 90 ${2:+-H "Authorization: Bearer $2"} \
		"http://127.0.0.1:$SIDECAR_PORT$1"
}
# the image's HEALTHCHECK command, run now rather than after its interval
mapfile -t hc < <("$DOCKER" inspect -f '{{range .Config.Healthcheck.Test}}{{println .}}{{end}}' "$SIDECAR" | sed '/^$/d')
check "the image's HEALTHCHECK is serve --check" test "${hc[0]:-} ${hc[2]:-} ${hc[3]:-}" = "CMD serve --check"
check "the image's HEALTHCHECK passes" "$DOCKER" exec "$SIDECAR" "${hc[@]:1}"
check "/healthz without the token: 401" test "$(get /healthz)" = 401
check "/healthz with a wrong token: 401" test "$(get /healthz wrong-token-0123456789)" = 401
check "/healthz with the token: 200" test "$(get /healthz "$TOKEN")" = 200
code=$(get "/v1/report?fresh=1" "$TOKEN")
if [[ $code == 200 ]]; then ok "/v1/report: 200"; else bad "/v1/report: 200" "$code $(cat "$T/body")"; fi
check "/v1/report: healthy" grep -q '"verdict":"healthy"' "$T/body"
for probe in '"service":"app"' '"service":"postgres"' '"probe":"container"' '"probe":"db"' '"probe":"web"'; do
	check "/v1/report shows $probe" grep -q "$probe" "$T/body"
done
check "/v1/report carries no secret" bash -c '! grep -qF -- "$1" "$2" && ! grep -qF -- "$3" "$2"' _ "$DB_PASSWORD" "$T/body" "$TOKEN"
check "/metrics: 200" test "$(get /metrics "$TOKEN")" = 200
check "/metrics: the APP_ONLY deploy" grep -q 'voxdeploy_deploys_total{type="APP_ONLY",result="done"} 1' "$T/body"
check "/metrics: the failed deploy" grep -q 'voxdeploy_deploys_total{type="APP_ONLY",result="failed"} 1' "$T/body"
check "/metrics: probes" grep -q 'voxdeploy_probe_up{service="postgres",probe="db"} 1' "$T/body"
check "/v1/deployments: the journal" bash -c '[[ $(curl -s -H "Authorization: Bearer $1" "$2") == *"e2e-tester"* ]]' _ \
	"$TOKEN" "http://127.0.0.1:$SIDECAR_PORT/v1/deployments?limit=200"
exit 0
