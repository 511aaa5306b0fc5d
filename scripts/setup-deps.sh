#!/bin/bash
# setup-deps.sh - install the Debian packages libiommufd needs to build, test
# and run its real-kernel lab.  Idempotent: when everything is installed it
# does nothing and touches no network.  Uses sudo only when not root.
set -euo pipefail

packages=(
	# build
	build-essential gcc pkg-config clang meson ninja-build python3
	# tests
	check libudev-dev libglib2.0-dev umockdev libumockdev-dev valgrind
	# the man-page check lints with groff
	groff-base
	# the real-kernel lab (tests/vm/setup.sh fetches the guest kernel itself)
	qemu-system-x86 busybox-static cpio xz-utils
)

installed() {
	[[ $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) == "install ok installed" ]]
}

if ! command -v dpkg-query >/dev/null || ! command -v apt-get >/dev/null; then
	echo "setup-deps: this is not a Debian-like system (no dpkg-query/apt-get);" \
		"install by hand: ${packages[*]}" >&2
	exit 1
fi

missing=()
for p in "${packages[@]}"; do
	installed "$p" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
	exit 0
fi

sudo=()
if ((EUID != 0)); then
	if ! command -v sudo >/dev/null; then
		echo "setup-deps: missing ${missing[*]}; not root and no sudo" >&2
		exit 1
	fi
	sudo=(sudo -n)
fi

echo "setup-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt_opts=(-o DPkg::Lock::Timeout=600 -o Dpkg::Use-Pty=0)
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get "${apt_opts[@]}" update -q </dev/null
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get "${apt_opts[@]}" \
	install -y -q --no-install-recommends "${missing[@]}" </dev/null

still=()
for p in "${missing[@]}"; do
	installed "$p" || still+=("$p")
done
if ((${#still[@]})); then
	echo "setup-deps: still missing after apt-get install: ${still[*]}" >&2
	exit 1
fi
