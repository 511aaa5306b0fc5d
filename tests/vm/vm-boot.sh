#!/bin/bash
# vm-boot.sh LOG [--declared NAME...] -- PROGRAM... [--examples EXAMPLE...]
#
# meson's vm/boot test: boots the lab once (run.sh --record) and publishes
# the console log as LOG, tagged with this meson run's token (vm-lib.sh) so
# that the scenario tests of the same run (vm-result.sh LOG NAME), which
# start alongside, wait for this log and never read an older one.  Its own
# result is the lab's: vm-result.sh LOG boot NAME...
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=vm-lib.sh
source "$here/vm-lib.sh"

usage() {
	echo "usage: $0 LOG [--declared NAME...] -- PROGRAM... [--examples EXAMPLE...]" >&2
	exit 2
}
(($# >= 3)) || usage
log=$1
shift
declared=()
if [[ $1 == --declared ]]; then
	shift
	while (($#)) && [[ $1 != -- ]]; do
		declared+=("$1")
		shift
	done
fi
[[ ${1:-} == -- ]] || usage
shift
(($#)) || usage

token=$(vm_run_token)
token=${token:-manual-$$}
mkdir -p "$(dirname "$log")"
rm -f "$log"
echo "$token $(date +%s)" >"$log.running"

"$here/run.sh" --record --log "$log.tmp" --workdir "$log.d" "$@"

{
	cat "$log.tmp"
	echo "VMTEST-RUN $token"
} >"$log.new"
mv "$log.new" "$log"
rm -f "$log.tmp"

exec "$here/vm-result.sh" "$log" boot "${declared[@]}"
