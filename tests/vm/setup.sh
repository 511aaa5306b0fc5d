#!/bin/bash
# setup.sh [CACHE] - make the real-kernel lab ready; print the cache path.
#
# Ensures qemu-system-x86, busybox-static and cpio are installed, downloads
# Debian's kernel package (linux-image-amd64's dependency) without installing
# it, and unpacks it with dpkg -x into CACHE/root.  CACHE is the argument, else
# $VM_CACHE, else /var/tmp/libiommufd-vm.  Idempotent: a second run does no
# network access.  On success it prints nothing but the cache path.  When
# something cannot be had it exits 77 (skip) with the reason on stderr.
set -euo pipefail

cache=${1:-${VM_CACHE:-/var/tmp/libiommufd-vm}}

skip() {
	echo "vm setup: SKIP: $*" >&2
	exit 77
}

mkdir -p "$cache" 2>/dev/null || skip "cannot create cache directory $cache"
cache=$(cd "$cache" && pwd)
log="$cache/setup.log"

# Serialise concurrent setups sharing one cache (two build dirs, two CIs).
exec 9>"$cache/.lock"
flock 9

kernel_ready() {
	compgen -G "$cache/root/boot/vmlinuz-*" >/dev/null &&
		[[ -n $(find "$cache/root/lib/modules" -path '*/drivers/vfio/pci/vfio-pci.ko*' 2>/dev/null) ]]
}

# ---- host packages ----------------------------------------------------------
pkg_installed() {
	[[ $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) == "install ok installed" ]]
}

wait_dpkg() {
	# apt may be running in the background (unattended jobs, another setup).
	local waited=0
	while fuser /var/lib/dpkg/lock-frontend /var/lib/apt/lists/lock >/dev/null 2>&1; do
		((waited < 600)) || return 1
		sleep 5
		waited=$((waited + 5))
	done
}

updated=no
apt_update_once() {
	[[ $updated == yes ]] && return 0
	updated=yes
	wait_dpkg || return 1
	apt-get -o DPkg::Lock::Timeout=600 update >>"$log" 2>&1
}

need_tool() { # need_tool PACKAGE FILE
	[[ -x $2 ]] && return 0
	missing+=("$1")
}

missing=()
need_tool qemu-system-x86 /usr/bin/qemu-system-x86_64
if ! pkg_installed busybox-static; then
	missing+=(busybox-static)
fi
need_tool cpio /usr/bin/cpio
if ((${#missing[@]})); then
	if ((EUID != 0)); then
		skip "missing packages ${missing[*]} and not root to install them"
	fi
	command -v apt-get >/dev/null || skip "missing packages ${missing[*]} and no apt-get"
	apt_update_once || skip "apt-get update failed (see $log)"
	wait_dpkg || skip "dpkg is locked by another process"
	DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 \
		install -y --no-install-recommends "${missing[@]}" >>"$log" 2>&1 ||
		skip "apt-get install ${missing[*]} failed (see $log)"
fi
for f in /usr/bin/qemu-system-x86_64 /bin/busybox /usr/bin/cpio; do
	[[ -x $f ]] || skip "$f is missing after install"
done

# ---- the guest kernel --------------------------------------------------------
if ! kernel_ready; then
	command -v apt-get >/dev/null || skip "no apt-get to fetch the Debian kernel"
	resolve() {
		apt-cache depends linux-image-amd64 2>/dev/null |
			sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-amd64\)$/\1/p' | head -n1
	}
	pkg=$(resolve)
	if [[ -z $pkg ]]; then
		apt_update_once || skip "apt-get update failed (see $log)"
		pkg=$(resolve)
	fi
	[[ -n $pkg ]] || skip "cannot resolve the kernel package behind linux-image-amd64"

	dl=$(mktemp -d "$cache/download.XXXXXX")
	trap 'rm -rf "$dl"' EXIT
	# The _apt sandbox user may not be able to write here; download as the
	# current user (the .deb is only unpacked, never installed).
	if ! (cd "$dl" && apt-get -o APT::Sandbox::User="$(id -un)" download "$pkg") >>"$log" 2>&1; then
		apt_update_once || skip "apt-get update failed (see $log)"
		(cd "$dl" && apt-get -o APT::Sandbox::User="$(id -un)" download "$pkg") >>"$log" 2>&1 ||
			skip "apt-get download $pkg failed (see $log)"
	fi
	deb=$(compgen -G "$dl/*.deb" | head -n1) || true
	[[ -n $deb ]] || skip "apt-get download $pkg produced no .deb"
	rm -rf "$cache/root.new"
	dpkg -x "$deb" "$cache/root.new" || skip "dpkg -x $deb failed"
	rm -rf "$cache/root"
	mv "$cache/root.new" "$cache/root"
	basename "$deb" >"$cache/kernel-package"
	kernel_ready || skip "$pkg has no vmlinuz or no vfio-pci module"
fi

echo "$cache"
