#!/usr/bin/env bash
# The manual page lists everything the binary has: every command and option
# of `voxdeploy --help` and of each `voxdeploy COMMAND --help`, every exit
# code, every environment variable the sources read (getenv) and every file
# name they use.  Prints what is missing; exit 1 when anything is.
#
# usage: tests/check-manpage.sh VOXDEPLOY_BINARY MANPAGE SOURCE_ROOT
set -euo pipefail

vd=$1 man=$2 src=$3
# the page as text: font changes dropped, \- as -
text=$(sed -e 's/\\f[BIRP]//g' -e 's/\\-/-/g' -e 's/\\(em/--/g' "$man")
missing=()
has() { grep -qF -- "$1" <<<"$text"; }

help=$("$vd" --help)
commands=$(awk '/^commands:/ {on = 1; next} on && /^[^ ]/ {on = 0} on && NF {print $1}' <<<"$help")
[[ -n "$commands" ]] || { echo "check-manpage: no commands in voxdeploy --help" >&2; exit 1; }

# options: global, then each command's
opts() { grep -oE '(^|[][ |,(])--?[a-zA-Z][a-zA-Z-]*' | sed -E 's/^[][ |,(]//' | sort -u; }
for o in $(opts <<<"$help"); do
	has "$o" || missing+=("global option $o")
done
for c in $commands; do
	grep -qE "^\.(TP|B|SS).*\b$c\b|^\.B $c\b|^$c\b" <(sed -e 's/\\f[BIRP]//g' -e 's/\\-/-/g' "$man") ||
		missing+=("command $c")
	for o in $("$vd" "$c" --help | opts); do
		has "$o" || missing+=("$c option $o")
	done
done

# exit codes: "exit codes: 0 done ..., 1 ..., 75 ..." in --help
for code in $(sed -n '/^exit codes:/,$p' <<<"$help" | grep -oE '(^|[:,] *)[0-9]+ ' | grep -oE '[0-9]+'); do
	grep -qE "^\.B $code\$" "$man" || missing+=("exit code $code")
done

# environment variables the sources read
for v in $(grep -rhoE 'getenv\("[A-Z_]+"\)' "$src"/common "$src"/controller "$src"/docker_api "$src"/health |
	sed -E 's/getenv\("([A-Z_]+)"\)/\1/' | sort -u); do
	has "$v" || missing+=("environment variable $v")
done

# files: the state files and the names looked for in the project
for f in journal.jsonl current.json lock voxdeploy.yml voxdeploy.yaml .env compose.yaml compose.yml \
	docker-compose.yml docker-compose.yaml; do
	grep -rqF "\"$f\"" "$src"/controller || continue # no longer used
	has "$f" || missing+=("file $f")
done

if ((${#missing[@]})); then
	printf 'doc/voxdeploy.1 lacks: %s\n' "${missing[@]}"
	exit 1
fi
echo "doc/voxdeploy.1 lists every command, option, exit code, environment variable and file"
