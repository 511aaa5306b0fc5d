#!/bin/bash
# mkinitramfs.sh CACHE OUT PROGRAM... [--examples EXAMPLE...]
# - build the guest's initramfs (cpio.gz).
#
# CACHE is what setup.sh printed (the kernel package unpacked in CACHE/root).
# The image holds busybox, /init (init.sh beside this script), the vfio
# modules of that kernel in load order, the test programs under /tests (run
# in the order given) and every shared library they need plus the dynamic
# loader, each at its host path.  The EXAMPLEs (examples/meson.build's
# programs) go to /tests/examples, not run by /init itself: the program
# run-example.sh (added to the run order after the PROGRAMs) runs them.
set -euo pipefail

usage() {
	echo "usage: $0 CACHE OUT PROGRAM... [--examples EXAMPLE...]" >&2
	exit 2
}
(($# >= 3)) || usage
cache=$1
out=$2
shift 2
programs=()
examples=()
while (($#)) && [[ $1 != --examples ]]; do
	programs+=("$1")
	shift
done
if (($#)); then
	shift
	examples=("$@")
	(($#)) || usage
fi
((${#programs[@]} + ${#examples[@]})) || usage

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
busybox=${BUSYBOX:-/bin/busybox}

die() {
	echo "mkinitramfs: $*" >&2
	exit 1
}

moddir=$(compgen -G "$cache/root/lib/modules/*/kernel" | head -n1) || true
[[ -n $moddir ]] || die "no kernel modules under $cache/root/lib/modules (run setup.sh)"
[[ -x $busybox ]] || die "$busybox is missing (install busybox-static)"

stage=$(mktemp -d "${TMPDIR:-/tmp}/vm-initramfs.XXXXXX")
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage"/{bin,dev,proc,sys,tmp,modules,tests}

# Copy FILE to the same path inside the image, following symlinks.
copy_at_path() {
	local dst="$stage$1"
	[[ -e $dst ]] && return 0
	mkdir -p "$(dirname "$dst")"
	cp -L "$1" "$dst"
}

# Copy the shared libraries and dynamic loader an ELF file needs.
copy_libs() {
	local line path
	# "ldd" fails with "not a dynamic executable" for static files: fine.
	while read -r line; do
		case $line in
		*"=> not found"*) die "$1: missing library: ${line%% *}" ;;
		*"=> /"*) path=${line#*=> } ;;
		/*) path=$line ;;
		*) continue ;; # linux-vdso.so.1 and the like
		esac
		path=${path%% (*}
		copy_at_path "$path"
		libdirs[$(dirname "$path")]=1
	done < <(ldd "$1" 2>/dev/null || true)
}

declare -A libdirs=()
cp "$busybox" "$stage/bin/busybox"
copy_libs "$busybox"

# Load order matters: 6.1 ships no modules.dep for these.
n=0
for m in virt/lib/irqbypass drivers/vfio/vfio drivers/vfio/vfio_iommu_type1 \
	drivers/vfio/vfio_virqfd drivers/vfio/pci/vfio-pci-core drivers/vfio/pci/vfio-pci; do
	n=$((n + 1))
	name=$(printf '%02d-%s.ko' "$n" "$(basename "$m")")
	if [[ -f $moddir/$m.ko ]]; then
		cp "$moddir/$m.ko" "$stage/modules/$name"
	elif [[ -f $moddir/$m.ko.xz ]]; then
		# busybox insmod cannot decompress: do it here.
		xz -dc "$moddir/$m.ko.xz" >"$stage/modules/$name"
	elif [[ -f $moddir/$m.ko.zst ]]; then
		zstd -qdc "$moddir/$m.ko.zst" >"$stage/modules/$name"
	elif [[ -f $moddir/$m.ko.gz ]]; then
		gzip -dc "$moddir/$m.ko.gz" >"$stage/modules/$name"
	else
		# Not every kernel splits these out (vfio_virqfd is in vfio.ko on
		# newer ones); init.sh loads whatever is there.
		echo "mkinitramfs: note: no module $m in $moddir" >&2
	fi
done

: >"$stage/tests/ORDER"
if ((${#examples[@]})); then
	programs+=("$here/run-example.sh")
	mkdir -p "$stage/tests/examples"
fi
for prog in "${programs[@]}"; do
	[[ -f $prog && -x $prog ]] || die "$prog is not an executable file"
	name=$(basename "$prog")
	[[ -e $stage/tests/$name ]] && die "two test programs named $name"
	cp -L "$prog" "$stage/tests/$name"
	copy_libs "$prog"
	echo "$name" >>"$stage/tests/ORDER"
done
for prog in "${examples[@]}"; do
	[[ -f $prog && -x $prog ]] || die "$prog is not an executable file"
	name=$(basename "$prog")
	[[ -e $stage/tests/examples/$name ]] && die "two examples named $name"
	cp -L "$prog" "$stage/tests/examples/$name"
	copy_libs "$prog"
done

# The guest has no ld.so.cache: tell the loader where the libraries went.
(IFS=:; echo "${!libdirs[*]}") >"$stage/tests/LIBPATH"

cp "$here/init.sh" "$stage/init"
chmod 755 "$stage/init" "$stage/bin/busybox"

mkdir -p "$(dirname "$out")"
(cd "$stage" && find . -print0 | cpio --quiet --null -o -H newc -R 0:0 | gzip -1) >"$out.tmp"
mv "$out.tmp" "$out"
