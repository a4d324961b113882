#!/usr/bin/env bash
# Assemble the voxdeploy sidecar image without a registry or apt: the same
# image deploy/Dockerfile makes, from a voxdeploy binary built on this machine
# (Debian bookworm) and the shared libraries it links.
#
# Usage: deploy/build-offline-image.sh [options] [BINARY]
#   BINARY            default: build/controller/voxdeploy
#   -t, --tag IMAGE   the image to make (default voxdeploy:offline)
#   --docker-gid N    the group that owns the Docker socket (default: the
#                     socket's group, else 999) — as DOCKER_GID in the Dockerfile
#   --uid N           the user's uid (default 10001) — as VOXDEPLOY_UID
#   --label K=V       an extra image label (repeatable)
#
# What goes in the root file system (a tar fed to `docker import`):
#   /usr/bin/voxdeploy, every library `ldd` lists and the dynamic loader at
#   their paths; /etc/passwd and /etc/group with root and the non-root user
#   `voxdeploy` (primary group: the socket's gid); /etc/nsswitch.conf; the CA
#   bundle /etc/ssl/certs/ca-certificates.crt; the manual page and the bash
#   completion; /var/lib/voxdeploy owned by the user; /tmp.
# Then a two-line build FROM it adds what `import` cannot set (HEALTHCHECK);
# the engine's classic builder does it offline.
# The result has the Dockerfile's ENTRYPOINT, CMD, USER, ENV, WORKDIR, EXPOSE,
# VOLUME and HEALTHCHECK.  Differences from the Dockerfile's image: the
# libraries are this machine's (same Debian packages when it runs bookworm),
# there is no shell, no apt and no dpkg database, and the binary is whatever
# build it is given (the tests give it their debug build).
#
# Needs: the docker CLI (this is a build tool; voxdeploy itself never runs
# it), ldd, tar.  Env: DOCKER (the CLI; default /usr/bin/docker when present).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [[ -z "${DOCKER:-}" ]]; then
	if [[ -x /usr/bin/docker ]]; then DOCKER=/usr/bin/docker; else DOCKER=docker; fi
fi
binary=$ROOT/build/controller/voxdeploy tag=voxdeploy:offline gid='' uid=10001 labels=()
while (($#)); do
	case "$1" in
	-t | --tag) tag=$2; shift 2 ;;
	--docker-gid) gid=$2; shift 2 ;;
	--uid) uid=$2; shift 2 ;;
	--label) labels+=("$2"); shift 2 ;;
	-h | --help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; exit 0 ;;
	-*) echo "build-offline-image: unknown option $1" >&2; exit 2 ;;
	*) binary=$1; shift ;;
	esac
done
say() { printf 'build-offline-image: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

[[ -x "$binary" ]] || die "no voxdeploy binary at $binary (build it first: meson setup build && ninja -C build)"
if [[ -z "$gid" ]]; then
	sock=/var/run/docker.sock
	[[ "${DOCKER_HOST:-}" != unix://* ]] || sock=${DOCKER_HOST#unix://}
	gid=$(stat -c %g "$sock" 2>/dev/null || echo 999)
fi
[[ "$gid" =~ ^[0-9]+$ && "$uid" =~ ^[0-9]+$ ]] || die "--docker-gid and --uid take numbers"
((uid != 0)) || die "the image's user is not root (--uid 0)"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/vd-offline-image.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
R=$WORK/rootfs
mkdir -p "$R"/{usr/bin,etc/ssl/certs,tmp,var/lib/voxdeploy,run/secrets,usr/share/man/man1,usr/share/bash-completion/completions}
chmod 1777 "$R/tmp"

# the binary, its libraries and the loader, each at its own path
install -m 0755 "$binary" "$R/usr/bin/voxdeploy"
mapfile -t libs < <(ldd "$binary" | awk '/=> \// { print $3 } /^[[:space:]]*\// { print $1 }' | sort -u)
((${#libs[@]} > 0)) || die "ldd listed no libraries for $binary"
for lib in "${libs[@]}"; do
	mkdir -p "$R$(dirname "$lib")"
	cp -L "$lib" "$R$lib"
done
# merged /usr: the loader's path in ELF headers is /lib64/..., which is a
# link to usr/lib64 on Debian; keep the same links
for d in lib lib64; do
	if [[ -L /$d && -d "$R/$d" && ! -L "$R/$d" ]]; then
		mkdir -p "$R/usr/$d"
		cp -a "$R/$d/." "$R/usr/$d/"
		rm -rf "${R:?}/$d"
		ln -s "usr/$d" "$R/$d"
	fi
done
say "${#libs[@]} libraries from ldd"

cat >"$R/etc/passwd" <<PASSWD
root:x:0:0:root:/root:/usr/sbin/nologin
voxdeploy:x:$uid:$gid:voxdeploy:/var/lib/voxdeploy:/usr/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
PASSWD
if ((gid == 0)); then
	printf 'root:x:0:\nnogroup:x:65534:\n' >"$R/etc/group"
else
	printf 'root:x:0:\ndocker-socket:x:%s:voxdeploy\nnogroup:x:65534:\n' "$gid" >"$R/etc/group"
fi
printf 'passwd: files\ngroup: files\nhosts: files dns\n' >"$R/etc/nsswitch.conf"
[[ -f /etc/ssl/certs/ca-certificates.crt ]] || die "no CA bundle (apt-get install ca-certificates)"
cp -L /etc/ssl/certs/ca-certificates.crt "$R/etc/ssl/certs/"
cp "$ROOT/doc/voxdeploy.1" "$R/usr/share/man/man1/"
if [[ -f "$ROOT/deploy/voxdeploy.bash-completion" ]]; then
	cp "$ROOT/deploy/voxdeploy.bash-completion" "$R/usr/share/bash-completion/completions/voxdeploy"
fi

# numeric owners: root everywhere but the state directory
tar --numeric-owner --owner=0 --group=0 -C "$R" --exclude=./var/lib/voxdeploy -cf "$WORK/rootfs.tar" .
tar --numeric-owner --owner="$uid" --group="$gid" --mode=0750 -C "$R" -rf "$WORK/rootfs.tar" ./var/lib/voxdeploy

base="${tag%:*}:rootfs-$$"
[[ "$tag" == *:* ]] || base="$tag:rootfs-$$"
say "importing the root file system as $base"
"$DOCKER" import "$WORK/rootfs.tar" "$base" >/dev/null

mkdir -p "$WORK/ctx"
{
	echo "FROM $base"
	for l in "${labels[@]}"; do
		echo "LABEL ${l%%=*}=\"${l#*=}\""
	done
	echo 'LABEL org.opencontainers.image.title="voxdeploy" io.voxdeploy.image="offline"'
	echo 'ENV VOXDEPLOY_STATE_DIR=/var/lib/voxdeploy PATH=/usr/bin'
	echo 'USER voxdeploy'
	echo 'WORKDIR /var/lib/voxdeploy'
	echo 'VOLUME /var/lib/voxdeploy'
	echo 'EXPOSE 9180'
	echo 'HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \'
	echo '  CMD ["voxdeploy", "serve", "--check", "--listen", "127.0.0.1:9180", "--token-file", "/run/secrets/voxdeploy_token"]'
	echo 'ENTRYPOINT ["voxdeploy"]'
	echo 'CMD ["serve", "--listen", "0.0.0.0:9180", "--token-file", "/run/secrets/voxdeploy_token"]'
} >"$WORK/ctx/Dockerfile"
say "adding the image configuration (HEALTHCHECK, USER, ENTRYPOINT, CMD) as $tag"
rc=0
DOCKER_BUILDKIT=0 "$DOCKER" build -q -t "$tag" "$WORK/ctx" >/dev/null || rc=$?
"$DOCKER" rmi "$base" >/dev/null 2>&1 || true
((rc == 0)) || die "docker build failed"
"$DOCKER" run --rm --entrypoint voxdeploy "$tag" version >/dev/null 2>&1 ||
	"$DOCKER" run --rm --entrypoint voxdeploy "$tag" --help >/dev/null ||
	die "$tag does not run voxdeploy"
say "made $tag (user voxdeploy $uid:$gid)"
echo "$tag"
