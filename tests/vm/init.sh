#!/bin/busybox sh
# shellcheck shell=dash
# /init of the real-kernel lab's guest (busybox ash, not bash).
#
# Loads the vfio modules, binds QEMU's edu device (PCI 1234:11e8) to vfio-pci
# and runs every program listed in /tests/ORDER as
#     PROGRAM --bdf BDF --group N
# Programs print "VMTEST <name> PASS|FAIL|SKIP [reason]" lines and exit
# non-zero when a scenario failed.  This script adds:
#     VMTEST-INFO ...            facts about the guest
#     VMTEST-PROG <prog> exit N  each program's exit status
#     VMTEST-ERROR <reason>      the lab itself is broken (no test ran)
#     VMTEST-DONE                always last; then the guest powers off
# Kernel command line: vmtest.timeout=SECS (per program, default 120),
# vmtest.verbose=1 (leave kernel messages on the console).

/bin/busybox mkdir -p /proc /sys /dev
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sysfs /sys
/bin/busybox mount -t devtmpfs devtmpfs /dev
# The image has no /dev/console node: take the console now.
exec </dev/console >/dev/console 2>&1
/bin/busybox --install -s /bin
export PATH=/bin
mkdir -p /tmp

timeout_s=120
verbose=0
read -r cmdline </proc/cmdline
# shellcheck disable=SC2086 # split the command line into words
for arg in $cmdline; do
	case $arg in
	vmtest.timeout=*) timeout_s=${arg#*=} ;;
	vmtest.verbose=*) verbose=${arg#*=} ;;
	esac
done
# Kernel messages (DMAR faults are expected in some scenarios) must not be
# interleaved with result lines; failures print them from dmesg instead.
[ "$verbose" = 1 ] || echo 1 >/proc/sys/kernel/printk

finish() {
	echo "VMTEST-INFO uptime $(cut -d' ' -f1 /proc/uptime)"
	echo "VMTEST-DONE"
	poweroff -f
	# Fall back to a panic: with -no-reboot and panic=-1 QEMU exits.
	echo o >/proc/sysrq-trigger
	exit 1
}

show_dmesg() {
	dmesg | grep -i -e DMAR -e vfio | tail -n 40 | sed 's/^/dmesg: /'
}

lab_error() {
	echo "VMTEST-ERROR $*"
	show_dmesg
	finish
}

echo "VMTEST-INFO kernel $(uname -r) uptime $(cut -d' ' -f1 /proc/uptime)"

for m in /modules/*.ko; do
	[ -e "$m" ] || continue
	insmod "$m" || lab_error "insmod ${m##*/} failed"
done

bdf=
for d in /sys/bus/pci/devices/*; do
	if [ "$(cat "$d/vendor")" = 0x1234 ] && [ "$(cat "$d/device")" = 0x11e8 ]; then
		bdf=${d##*/}
		break
	fi
done
[ -n "$bdf" ] || lab_error "no edu device (PCI 1234:11e8): is -device edu given?"
dev=/sys/bus/pci/devices/$bdf
[ -e "$dev/iommu_group" ] ||
	lab_error "$bdf has no IOMMU group: need -device intel-iommu and intel_iommu=on"
group=$(readlink "$dev/iommu_group")
group=${group##*/}

if [ -e "$dev/driver" ]; then
	echo "$bdf" >"$dev/driver/unbind"
fi
echo vfio-pci >"$dev/driver_override"
echo "$bdf" >/sys/bus/pci/drivers_probe
n=0
while [ ! -c "/dev/vfio/$group" ] && [ $n -lt 50 ]; do
	sleep 0.1
	n=$((n + 1))
done
drv=$(readlink "$dev/driver")
[ "${drv##*/}" = vfio-pci ] || lab_error "$bdf did not bind to vfio-pci (driver: ${drv:-none})"
[ -c "/dev/vfio/$group" ] || lab_error "/dev/vfio/$group did not appear"
[ -c /dev/vfio/vfio ] || lab_error "/dev/vfio/vfio did not appear"
reset=none
[ -r "$dev/reset_method" ] && reset=$(cat "$dev/reset_method")
echo "VMTEST-INFO edu $bdf group $group reset ${reset:-none} uptime $(cut -d' ' -f1 /proc/uptime)"

LD_LIBRARY_PATH=$(cat /tests/LIBPATH)
export LD_LIBRARY_PATH
bad=0
while read -r name; do
	[ -n "$name" ] || continue
	echo "VMTEST-PROG $name start"
	timeout "$timeout_s" "/tests/$name" --bdf "$bdf" --group "$group" </dev/null
	rc=$?
	echo "VMTEST-PROG $name exit $rc"
	[ $rc -eq 0 ] || bad=1
done </tests/ORDER

[ $bad -eq 0 ] || show_dmesg
finish
