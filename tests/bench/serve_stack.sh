# Sourced by serve.sh and page.sh: wrk (installed with apt when missing), a
# project of one sleeping busybox container labelled as compose labels it
# (in $dir, made here, with serve.report_ttl 1h), and a clean-up on exit
# that stops the serve started as $serve_pid and removes both.
# Needs docker, image, project and bench (the directory's name part).
# serve_up starts `voxdeploy serve` on a free loopback port over
# $dir/.state: $serve_pid, and $base its URL.
if ! command -v wrk >/dev/null; then
	echo "bench: installing wrk" >&2
	sudo=()
	[ "$(id -u)" = 0 ] || sudo=(sudo)
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -q -y install --no-install-recommends wrk >&2 ||
		{ "${sudo[@]}" apt-get -q update >&2 &&
			"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -q -y install --no-install-recommends wrk >&2; }
fi

dir=$(mktemp -d "${TMPDIR:-/tmp}/vd-bench-$bench.XXXXXX")
serve_pid=
cleanup() {
	if [ -n "$serve_pid" ]; then
		kill -TERM "$serve_pid" 2>/dev/null || true
		wait "$serve_pid" 2>/dev/null || true
	fi
	ids=$($docker ps -aq --filter "label=com.docker.compose.project=$project")
	[ -z "$ids" ] || $docker rm -f $ids >/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT

cat >"$dir/compose.yml" <<EOF
name: $project
services:
  web:
    image: $image
    command: ["sleep", "3600"]
EOF
cat >"$dir/voxdeploy.yml" <<EOF
serve:
  report_ttl: 1h
EOF
$docker run -d --name "${project}-web-1" \
	--label io.voxdeploy.test=1 \
	--label "com.docker.compose.project=$project" \
	--label "com.docker.compose.service=web" \
	"$image" sleep 3600 >/dev/null


serve_up() {
	"$vd" -C "$dir" --state-dir "$dir/.state" serve --listen 127.0.0.1:0 >"$dir/serve.out" 2>"$dir/serve.err" &
	serve_pid=$!
	port=
	for _ in $(seq 1 100); do
		port=$(sed -n 's/.*(port \([0-9]*\)).*/\1/p' "$dir/serve.out")
		[ -n "$port" ] && break
		sleep 0.1
	done
	[ -n "$port" ] || { echo "bench: serve did not start:" >&2; cat "$dir/serve.err" >&2; exit 1; }
	base="http://127.0.0.1:$port"
}
