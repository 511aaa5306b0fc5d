#!/bin/bash
# run.sh [options] PROGRAM... [--examples EXAMPLE...]
# - boot the real-kernel lab once and run PROGRAMs (and EXAMPLEs).
#
# Runs setup.sh, builds an initramfs with the programs, boots Debian's kernel
# under qemu-system-x86_64 (TCG, q35, intel-iommu, edu), saves the serial
# console to a log and prints the VMTEST lines.  EXAMPLEs (examples/'s
# programs) are run in the guest by run-example.sh, after the PROGRAMs, each
# reporting "VMTEST example-<name> ...".
#
# Options:
#   --log FILE      keep the console log in FILE (default: a temporary file)
#   --cache DIR     the cache setup.sh fills (default: $VM_CACHE or its default)
#   --workdir DIR   where to build the initramfs (default: a temporary dir)
#   --timeout SECS  host limit for the whole boot (default: $VM_TIMEOUT or 300)
#   --record        always exit 0 once the log is written; a skip or a broken
#                   lab is recorded in the log as VMTEST-SKIP / VMTEST-ERROR
#                   (for vm-boot.sh, meson's vm/boot; vm-result.sh reads the log)
#   --verbose       stream the console while it runs; keep kernel messages
# Exit: 0 all scenarios PASS or SKIP, 1 a FAIL or a broken boot, 77 skip.
# Environment: VM_APPEND adds kernel arguments, VM_QEMU_ARGS adds QEMU ones,
# VM_EDU_BUS=root|port (default port) places edu on the root bus or behind a
# PCIe root port, VM_TIMEOUT, VM_CACHE.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
log=
cache=
workdir=
timeout_s=${VM_TIMEOUT:-300}
record=no
verbose=no

usage() {
	sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "${BASH_SOURCE[0]}" >&2
	exit 2
}

while (($#)); do
	case $1 in
	--log) log=$2; shift 2 ;;
	--cache) cache=$2; shift 2 ;;
	--workdir) workdir=$2; shift 2 ;;
	--timeout) timeout_s=$2; shift 2 ;;
	--record) record=yes; shift ;;
	--verbose) verbose=yes; shift ;;
	--help | -h) usage ;;
	--) shift; break ;;
	--examples) break ;;
	-*) usage ;;
	*) break ;;
	esac
done
(($#)) || usage

cleanup=()
trap 'rm -rf "${cleanup[@]}"' EXIT
if [[ -z $workdir ]]; then
	workdir=$(mktemp -d "${TMPDIR:-/tmp}/vm-run.XXXXXX")
	cleanup+=("$workdir")
fi
mkdir -p "$workdir"
if [[ -z $log ]]; then
	log=$workdir/console.log
fi
mkdir -p "$(dirname "$log")"
: >"$log"

# Record a line in the log and end: a skip exits 77, an error 1 (0 with --record).
finish_early() { # finish_early SKIP|ERROR REASON
	echo "VMTEST-$1 $2" >>"$log"
	echo "VMTEST-DONE" >>"$log"
	echo "vm: $1: $2" >&2
	[[ $record == yes ]] && exit 0
	[[ $1 == SKIP ]] && exit 77
	exit 1
}

set +e
cache=$("$here/setup.sh" ${cache:+"$cache"} 2>"$workdir/setup.err")
rc=$?
set -e
if ((rc != 0)); then
	reason=$(sed -n 's/^vm setup: SKIP: //p' "$workdir/setup.err" | tail -n1)
	cat "$workdir/setup.err" >&2
	if ((rc == 77)); then
		finish_early SKIP "${reason:-setup.sh skipped}"
	fi
	finish_early ERROR "setup.sh failed with status $rc"
fi

kernel=$(compgen -G "$cache/root/boot/vmlinuz-*" | head -n1) || true
[[ -n $kernel ]] || finish_early SKIP "no kernel in $cache"

"$here/mkinitramfs.sh" "$cache" "$workdir/initramfs.cpio.gz" "$@" ||
	finish_early ERROR "mkinitramfs.sh failed"

append="console=ttyS0 intel_iommu=on panic=-1 quiet"
[[ $verbose == yes ]] && append="console=ttyS0 intel_iommu=on panic=-1 vmtest.verbose=1"
append+=${VM_APPEND:+ $VM_APPEND}
# shellcheck disable=SC2206 # VM_QEMU_ARGS is meant to be split into words
extra=(${VM_QEMU_ARGS:-})

# edu sits behind a PCIe root port by default: alone on its bus it can be
# reset (secondary bus reset), which a device on the root bus cannot.
# VM_EDU_BUS=root puts it on the root bus (0000:00:01.0), as in VM-LAB.md.
# shellcheck disable=SC2054 # the commas belong to QEMU options
case ${VM_EDU_BUS:-port} in
root) edu=(-device edu) ;;
port) edu=(-device pcie-root-port,id=vmtest-rp0,chassis=1,slot=0 -device edu,bus=vmtest-rp0) ;;
*) finish_early ERROR "VM_EDU_BUS must be root or port, not $VM_EDU_BUS" ;;
esac

# shellcheck disable=SC2054 # the commas belong to QEMU options
qemu=(
	qemu-system-x86_64
	-machine q35,accel=tcg,kernel-irqchip=split -cpu max -smp 2 -m 1G
	-nodefaults -display none -serial stdio -no-reboot
	-device intel-iommu,intremap=on,caching-mode=on
	"${edu[@]}"
	"${extra[@]}"
	-kernel "$kernel" -initrd "$workdir/initramfs.cpio.gz" -append "$append"
)

start=$(date +%s.%N)
set +e
if [[ $verbose == yes ]]; then
	timeout --kill-after=10 "$timeout_s" "${qemu[@]}" </dev/null 2>"$workdir/qemu.err" | tee -a "$log"
	rc=${PIPESTATUS[0]}
else
	timeout --kill-after=10 "$timeout_s" "${qemu[@]}" </dev/null >>"$log" 2>"$workdir/qemu.err"
	rc=$?
fi
set -e
end=$(date +%s.%N)
# The serial console ends lines with CR LF.
sed -i 's/\r$//' "$log"
# QEMU's own messages (vIOMMU faults among them) go after the console, kept
# apart so that they cannot split a result line.
sed 's/^/qemu: /' "$workdir/qemu.err" >>"$log"
secs=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')

if ! grep -q '^VMTEST-DONE' "$log"; then
	if ((rc == 124 || rc == 137)); then
		why="QEMU killed after ${timeout_s} s without VMTEST-DONE"
	else
		why="QEMU exited with status $rc without VMTEST-DONE"
	fi
	echo "VMTEST-ERROR $why" >>"$log"
	echo "VMTEST-DONE" >>"$log"
	echo "vm: $why; console log tail:" >&2
	tail -n 30 "$log" >&2
fi
echo "VMTEST-INFO host boot-to-done ${secs} s (qemu status $rc)" >>"$log"

if [[ $record == yes ]]; then
	# Under ninja: one line; vm-result.sh reports each scenario.
	count() { grep -c -E "^VMTEST [^ ]+ $1( |\$)" "$log" || true; }
	echo "vm: $(count PASS) PASS, $(count FAIL) FAIL, $(count SKIP) SKIP in ${secs} s; log: $log"
	grep -a '^VMTEST-ERROR' "$log" || true
	exit 0
fi
grep -a -E '^VMTEST([- ]|$)' "$log" || true
if grep -q -E '^VMTEST-ERROR|^VMTEST [^ ]+ FAIL' "$log"; then
	exit 1
fi
if grep -q -E '^VMTEST-PROG [^ ]+ exit [1-9]' "$log"; then
	exit 1
fi
exit 0
