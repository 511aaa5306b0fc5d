#!/bin/bash
# run-examples.sh - the main job: install what is missing, build (build/gcc),
# then run every example program that examples/meson.build builds, in name
# order, with no arguments (iommufd-liveupdate: once per backend on the fake,
# see example_runs). Where there is no /dev/iommu they run on
# libiommufd's fake kernel (LIBIOMMUFD_FAKE=1). An example that exits 77 is
# reported as skipped (it needs something this machine lacks). Exits non-zero
# if the build or any example fails.
set -uo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$top" || exit 1
dir=build/gcc

bash "$top/scripts/setup-deps.sh" || echo "run-examples: setup-deps failed; trying with what is installed" >&2

log=$(mktemp)
trap 'rm -f "$log"' EXIT
setup_args=(--werror -Db_sanitize=none -Dexamples=true)
configure() {
	if [[ -f $dir/meson-private/coredata.dat ]]; then
		meson setup --reconfigure "$dir" "${setup_args[@]}" ||
			meson setup --wipe "$dir" "${setup_args[@]}"
	else
		rm -rf "$dir"
		CC=${CC:-gcc} meson setup "$dir" "${setup_args[@]}"
	fi
}
echo "building libiommufd and its examples in $dir"
if ! configure </dev/null >"$log" 2>&1; then
	cat "$log" >&2
	echo "run-examples: meson setup $dir failed" >&2
	exit 1
fi
if ! meson compile -C "$dir" </dev/null >"$log" 2>&1; then
	cat "$log" >&2
	echo "run-examples: the build failed" >&2
	exit 1
fi

# Executables defined in examples/meson.build (or below examples/).
mapfile -t examples < <(meson introspect --targets "$dir" | python3 -c '
import json, os, sys
top = os.path.realpath(sys.argv[1])
ex = os.path.join(top, "examples") + os.sep
for t in sorted(json.load(sys.stdin), key=lambda t: t["name"]):
    if t.get("type") != "executable" or t.get("subproject"):
        continue
    if not os.path.realpath(t.get("defined_in", "")).startswith(ex):
        continue
    for f in t.get("filename", []):
        print(f)
' "$top")

if ((${#examples[@]} == 0)); then
	echo "run-examples: examples/meson.build builds no example program yet"
	exit 0
fi

if [[ ! -e /dev/iommu ]]; then
	echo "no /dev/iommu here: running the examples on libiommufd's fake kernel"
	export LIBIOMMUFD_FAKE=1
elif [[ ${LIBIOMMUFD_FAKE:-} == 1 ]]; then
	echo "LIBIOMMUFD_FAKE=1: running the examples on libiommufd's fake kernel"
else
	echo "running the examples on this machine's kernel (/dev/iommu)"
fi

# The runs of one example, one line of arguments each. On the fake kernel
# iommufd-liveupdate runs once per path a live update takes (iommufd's
# CHANGE_PROCESS, type1's vaddr update); a real kernel has one backend.
example_runs() {
	case $1 in
	iommufd-liveupdate)
		if [[ ${LIBIOMMUFD_FAKE:-} == 1 ]]; then
			printf '%s\n' "--backend iommufd" "--backend type1"
		else
			echo
		fi
		;;
	*) echo ;;
	esac
}

ok=0
bad=0
skip=0
for exe in "${examples[@]}"; do
	name=${exe##*/}
	mapfile -t runs < <(example_runs "$name")
	for args in "${runs[@]}"; do
		read -ra argv <<<"$args"
		label="$name${args:+ $args}"
		echo
		echo "=== $label"
		timeout --kill-after=10 300 "$exe" "${argv[@]}" </dev/null
		rc=$?
		case $rc in
		0) ok=$((ok + 1)); echo "=== $label: ok" ;;
		77) skip=$((skip + 1)); echo "=== $label: skipped" ;;
		124) bad=$((bad + 1)); echo "=== $label: FAILED (timed out after 300 s)" ;;
		*) bad=$((bad + 1)); echo "=== $label: FAILED (exit status $rc)" ;;
		esac
	done
done
echo
echo "examples: ok $ok, failed $bad, skipped $skip"
((bad == 0))
