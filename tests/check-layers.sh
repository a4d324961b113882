#!/bin/sh
# The house's rule: a folder includes only the folders before it, in this
# order (common ← docker_api ← health ← controller's floors ← the commands).
# A folder's <module>_private.h is included only inside that folder.
# Prints every include that breaks either; exits 1 when there is one.
root=${1:-.}
order="common docker_api health controller/state controller/model controller/plan controller/config controller/rollout controller/serve controller"
rank() {
	i=0
	for f in $order; do
		i=$((i + 1))
		[ "$f" = "$1" ] && { echo $i; return; }
	done
	echo 0
}
bad=0
cd "$root" || exit 2
for dir in $order; do
	r=$(rank "$dir")
	for file in "$dir"/*.c "$dir"/*.h; do
		[ -f "$file" ] || continue
		for inc in $(sed -n 's/^#include "\(.*\)\/[^/]*\.h"$/\1/p' "$file"); do
			ir=$(rank "$inc")
			if [ "$ir" = 0 ]; then
				echo "$file includes from $inc/, which is not a folder of the house"
				bad=1
			elif [ "$ir" -gt "$r" ]; then
				echo "$file includes from $inc/, a floor above its own"
				bad=1
			fi
		done
		# a folder's private headers are its own
		for inc in $(sed -n 's/^#include "\(.*\)\/[^/]*_private\.h"$/\1/p' "$file"); do
			if [ "$inc" != "$dir" ]; then
				echo "$file includes a private header of $inc/"
				bad=1
			fi
		done
	done
done
[ $bad = 0 ] && echo "every include points to its own folder or one before it"
exit $bad
