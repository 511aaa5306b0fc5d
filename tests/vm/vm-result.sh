#!/bin/bash
# vm-result.sh LOG NAME       - one scenario's result from a vm-boot log
# vm-result.sh LOG boot [NAME...] - the lab's own result
#
# LOG is the console log that vm-boot.sh publishes (or run.sh --log wrote).
# For a scenario it exits 0 on "VMTEST NAME PASS", 77 on SKIP (or when the
# whole lab was skipped), 1 on FAIL, on a missing line or on a broken lab.
# "boot" checks the lab itself: the guest reached VMTEST-DONE, no
# VMTEST-ERROR, no program timed out or died by a signal, and, when NAMEs are
# given (the scenarios meson declares), every result line is one of them.
#
# Under `meson test`, a scenario first waits for the log of its own run: up
# to VM_START_WAIT (15) s for vm/boot of this run to start (else it reads the
# log as it is, from an earlier run), then up to VM_TIMEOUT (300) + 60 s for
# the log to be published.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=vm-lib.sh
source "$here/vm-lib.sh"

(($# >= 2)) || {
	echo "usage: $0 LOG NAME | $0 LOG boot [NAME...]" >&2
	exit 2
}
log=$1
name=$2
shift 2

if [[ $name != boot ]]; then
	vm_wait_log "$log" || exit 1
fi

if [[ ! -f $log ]]; then
	echo "no log $log: vm-boot did not run" >&2
	exit 1
fi
if ! grep -q '^VMTEST-DONE' "$log"; then
	echo "$log is incomplete (no VMTEST-DONE)" >&2
	tail -n 40 "$log" >&2
	exit 1
fi
grep -a '^VMTEST-INFO' "$log" || true

skip=$(sed -n 's/^VMTEST-SKIP //p' "$log" | head -n1)
if [[ -n $skip ]]; then
	echo "SKIP: $skip"
	exit 77
fi
error=$(sed -n 's/^VMTEST-ERROR //p' "$log" | head -n1)

show_debug() {
	grep -a -E '^(dmesg|qemu): ' "$log" || true
}

if [[ $name == boot ]]; then
	status=0
	if [[ -n $error ]]; then
		echo "lab error: $error"
		tail -n 60 "$log"
		exit 1
	fi
	# 124: killed by the guest's timeout; >= 128: died by a signal.
	while read -r prog rc; do
		if ((rc == 124 || rc >= 128)); then
			echo "program $prog exited with status $rc (timeout or signal)"
			status=1
		fi
	done < <(sed -n 's/^VMTEST-PROG \([^ ]*\) exit \([0-9]*\)$/\1 \2/p' "$log")
	started=$(grep -c '^VMTEST-PROG [^ ]* start$' "$log" || true)
	ended=$(grep -c '^VMTEST-PROG [^ ]* exit ' "$log" || true)
	if ((started != ended)); then
		echo "$started programs started but $ended ended"
		status=1
	fi
	if (($#)); then
		declare -A declared=()
		for n in "$@"; do declared[$n]=1; done
		while read -r n; do
			if [[ -z ${declared[$n]:-} ]]; then
				echo "scenario $n is reported but not declared in tests/vm/meson.build"
				status=1
			fi
		done < <(sed -n 's/^VMTEST \([^ ]*\) .*/\1/p' "$log" | sort -u)
	fi
	((status == 0)) || show_debug
	exit "$status"
fi

lines=$(vm_result_lines "$log" "$name")
if [[ -z $lines ]]; then
	echo "no result line for $name${error:+ (lab error: $error)}"
	tail -n 40 "$log"
	exit 1
fi
echo "$lines"
case $(vm_verdict "$log" "$name") in
FAIL)
	show_debug
	exit 1
	;;
PASS) exit 0 ;;
*) exit 77 ;;
esac
