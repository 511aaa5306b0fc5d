#!/bin/bash
# scenario-parity.sh [options] LOG PROGRAM NAME - does the fake kernel agree
# with the real one on scenario NAME?
#
# Runs PROGRAM (tests/vm/vm-scenarios) on libiommufd's fake kernel emulating
# the lab's kernel (LIBIOMMUFD_FAKE=1 LIBIOMMUFD_FAKE_KERNEL=VERSION), with
# the fake's edu address and group, and compares NAME's outcome (PASS, FAIL
# or SKIP) with the one the real kernel reported in the lab's console LOG
# (tests/vm/vm-boot.sh publishes it; under `meson test` this waits for the
# log of its own run, as tests/vm/vm-result.sh does).
#
#   exit 0   both outcomes are the same (both FAIL too: vm/NAME reports that)
#   exit 1   they differ; or a side has no result for NAME (a broken lab,
#            a crashed program)
#   exit 77  the lab did not boot (no qemu, no kernel: the reason is
#            printed), or the two machines differ by design for NAME: a
#            scenario prints "VMTEST-FACT NAME key=value" about the machine
#            it ran on (edu's reset method), and outcomes are only compared
#            between machines with the same facts
#
# Options (defaults: the default fake machine and the lab's 6.1):
#   --bdf BDF          edu on the fake (0000:00:04.0)
#   --group N          its IOMMU group (1)
#   --kernel M.N       the kernel the fake emulates (6.1)
#   --expect-backend B passed to PROGRAM (type1: what AUTO must pick on 6.1)
#   --fake-log FILE    keep the fake run's output in FILE
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=vm/vm-lib.sh
source "$here/vm/vm-lib.sh"

bdf=0000:00:04.0
group=1
kernel=6.1
expect=type1
fake_log=

usage() {
	sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "${BASH_SOURCE[0]}" >&2
	exit 2
}

while (($#)); do
	case $1 in
	--bdf) bdf=$2; shift 2 ;;
	--group) group=$2; shift 2 ;;
	--kernel) kernel=$2; shift 2 ;;
	--expect-backend) expect=$2; shift 2 ;;
	--fake-log) fake_log=$2; shift 2 ;;
	--help | -h) usage ;;
	--) shift; break ;;
	-*) usage ;;
	*) break ;;
	esac
done
(($# == 3)) || usage
log=$1
prog=$2
name=$3

tmp=$(mktemp -d "${TMPDIR:-/tmp}/scenario-parity.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
[[ -n $fake_log ]] || fake_log=$tmp/fake.log

# ---- the fake kernel's outcome (milliseconds: no need to share a run) -------
set +e
LIBIOMMUFD_FAKE=1 LIBIOMMUFD_FAKE_KERNEL=$kernel TMPDIR=$tmp \
	timeout --kill-after=5 120 "$prog" --bdf "$bdf" --group "$group" \
	${expect:+--expect-backend "$expect"} </dev/null >"$fake_log" 2>&1
rc=$?
set -e
echo "fake kernel $kernel: $(basename "$prog") exited with status $rc"
fake_lines=$(vm_result_lines "$fake_log" "$name")
fake=$(vm_verdict "$fake_log" "$name")
fake_facts=$(vm_facts "$fake_log" "$name")
if [[ -z $fake ]]; then
	echo "FAIL: the fake kernel's run reported nothing for $name; its output:"
	cat "$fake_log"
	exit 1
fi

# ---- the real kernel's outcome, from this meson run's boot ------------------
vm_wait_log "$log" || exit 1
if [[ ! -f $log ]]; then
	echo "FAIL: no log $log: vm-boot did not run (fake: $fake)"
	exit 1
fi
skip=$(sed -n 's/^VMTEST-SKIP //p' "$log" | head -n1)
if [[ -n $skip ]]; then
	echo "$fake_lines"
	echo "SKIP: the real kernel lab did not run: $skip (nothing to compare)"
	exit 77
fi
real_lines=$(vm_result_lines "$log" "$name")
real=$(vm_verdict "$log" "$name")
real_facts=$(vm_facts "$log" "$name")
if [[ -z $real ]]; then
	error=$(sed -n 's/^VMTEST-ERROR //p' "$log" | head -n1)
	echo "$fake_lines"
	echo "FAIL: the real kernel reported nothing for $name${error:+ (lab error: $error)}"
	exit 1
fi

echo "real kernel ${real_facts:+[$real_facts] }$real_lines"
echo "fake kernel ${fake_facts:+[$fake_facts] }$fake_lines"
if [[ $real == "$fake" ]]; then
	echo "agree: $real"
	exit 0
fi
if [[ $real_facts != "$fake_facts" ]]; then
	echo "SKIP: not comparable: the machines differ by design for $name" \
		"(real: ${real_facts:-no facts}, $real; fake: ${fake_facts:-no facts}, $fake)"
	exit 77
fi
echo "FAIL: the fake kernel says $fake where the real kernel says $real"
exit 1
