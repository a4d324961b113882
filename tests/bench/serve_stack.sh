# Sourced by serve.sh and page.sh: wrk (installed with apt when missing), a
# project of one sleeping busybox container labelled as compose labels it
# (in $dir, made here, with serve.report_ttl 1h), and a clean-up on exit
# that stops the serve started as $serve_pid and removes both.
# Needs docker, image, project and bench (the directory's name part).
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

