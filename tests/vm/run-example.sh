#!/bin/busybox sh
# shellcheck shell=dash
# run-example.sh --bdf BDF --group N - the examples as lab scenarios (guest side).
#
# /init runs this like any test program.  It runs every example program
# mkinitramfs.sh put under /tests/examples (examples/meson.build's
# executables), in name order, with the arguments each one takes:
#     iommufd-dma, iommufd-dirty,
#     iommufd-liveupdate           --bdf BDF
#     iommufd-info                 --json
#     others (iommufd-ioas)        none
# Each example's output (stdout and stderr) goes to the console indented by
# four spaces, then one line
#     VMTEST example-<name> PASS|FAIL|SKIP [reason]
# from its exit status: 0 PASS, 77 SKIP (the example's last line is the
# reason), anything else FAIL.  iommufd-info --json passes only if its
# stdout is also one JSON object (brackets balanced outside strings; busybox
# has no JSON parser) that names the edu device's address.
# Each example gets an equal share of vmtest.timeout (default 120 s, the
# limit /init puts on this whole program).  Exit 1 if any example failed.

bdf=
while [ $# -gt 0 ]; do
	case $1 in
	--bdf) bdf=$2; shift 2 ;;
	--group) shift 2 ;;
	*) echo "usage: $0 --bdf BDF [--group N]" >&2; exit 2 ;;
	esac
done
[ -n "$bdf" ] || { echo "usage: $0 --bdf BDF [--group N]" >&2; exit 2; }

dir=${0%/*}/examples
timeout_s=120
read -r cmdline </proc/cmdline
# shellcheck disable=SC2086 # split the command line into words
for arg in $cmdline; do
	case $arg in
	vmtest.timeout=*) timeout_s=${arg#*=} ;;
	esac
done
count=0
for exe in "$dir"/*; do
	[ -x "$exe" ] && count=$((count + 1))
done
if [ $count -eq 0 ]; then
	echo "run-example: no example programs in $dir" >&2
	exit 1
fi
# Leave a few seconds to spare under /init's limit.
each=$(((timeout_s - 5) / count))
[ $each -ge 5 ] || each=5

out=/tmp/run-example.out
err=/tmp/run-example.err

# json_check FILE: nothing if FILE looks like iommufd-info's JSON document
# for this guest (an object, brackets balanced outside strings, edu's
# address as a string in it), else why not.
json_check() {
	awk -v want="\"$bdf\"" '
	{ text = text $0 "\n" }
	END {
		sub(/^[ \t\n]+/, "", text); sub(/[ \t\n]+$/, "", text)
		if (substr(text, 1, 1) != "{" || substr(text, length(text), 1) != "}") {
			print "its output is not one JSON object"; exit
		}
		depth = 0; instr = 0
		for (i = 1; i <= length(text); i++) {
			c = substr(text, i, 1)
			if (instr) {
				if (c == "\\") i++
				else if (c == "\"") instr = 0
			} else if (c == "\"") instr = 1
			else if (c == "{" || c == "[") depth++
			else if (c == "}" || c == "]") {
				if (--depth < 0) break
			}
		}
		if (instr || depth != 0) { print "its JSON brackets do not balance"; exit }
		if (index(text, want) == 0) print "its JSON does not name " want
	}' "$1"
}

bad=0
for exe in "$dir"/*; do
	[ -x "$exe" ] || continue
	name=${exe##*/}
	case $name in
	iommufd-dma | iommufd-dirty | iommufd-liveupdate) set -- --bdf "$bdf" ;;
	iommufd-info) set -- --json ;;
	*) set -- ;;
	esac
	echo "    \$ $name${*:+ $*}"
	if [ "$name" = iommufd-info ]; then
		# stdout is the JSON document alone; stderr kept apart.
		timeout "$each" "$exe" "$@" </dev/null >"$out" 2>"$err"
		rc=$?
	else
		timeout "$each" "$exe" "$@" </dev/null >"$out" 2>&1
		rc=$?
		: >"$err"
	fi
	sed 's/^/    /' "$out" "$err"
	last=$(cat "$out" "$err" | grep -v '^[[:space:]]*$' | tail -n 1 | sed 's/^[[:space:]]*//' | cut -c1-200)
	why=
	if [ $rc -eq 0 ] && [ "$name" = iommufd-info ]; then
		why=$(json_check "$out")
	fi
	case $rc in
	0)
		if [ -n "$why" ]; then
			echo "VMTEST example-$name FAIL exit 0 but $why"
			bad=1
		else
			echo "VMTEST example-$name PASS"
		fi
		;;
	77) echo "VMTEST example-$name SKIP ${last:-exit 77}" ;;
	124 | 143) echo "VMTEST example-$name FAIL killed after ${each} s"; bad=1 ;;
	*) echo "VMTEST example-$name FAIL exit $rc${last:+: $last}"; bad=1 ;;
	esac
done
rm -f "$out" "$err"
exit $bad
