#!/bin/bash
# version-matrix-examples.sh [--kernels "6.1 6.2 ..."] EXAMPLE... - does every
# example program work, or refuse clearly, on every kernel the fake emulates?
#
# Runs each EXAMPLE (a path to a program of examples/) on libiommufd's fake
# kernel (LIBIOMMUFD_FAKE=1) emulating each kernel version in turn
# (LIBIOMMUFD_FAKE_KERNEL=M.N), and prints a matrix, example by version:
#
#   pass          it exited 0
#   skip          it exited 77 and printed a line naming what the kernel
#                 lacks: a uAPI or config name (IOMMU_*, VFIO_*, CONFIG_*)
#                 or a kernel version ("Linux 6.7"); that line is the reason
#   FAIL          any other exit, or a 77 that does not say what is missing
#
# Exit 0 when nothing failed, 1 otherwise (each FAIL is named with its
# example, version and the tail of its output).
#
# Kernels (default): 6.1 (no iommufd: VFIO type1 only), 6.2 (iommufd, no
# device files), 6.6, 6.7 (dirty tracking), 6.13 (map file), 6.14 (change
# process), 6.17 (the newest the fake knows).
set -uo pipefail

# run-tests.sh's valgrind stage wraps every unit test in valgrind, which would
# then check bash itself (its parser leaks by design) and fail on that. A
# fresh bash from exec runs outside valgrind (no --trace-children), and the
# examples are C built with the library, checked by the other stages.
if [[ -z ${VERSION_MATRIX_EXAMPLES_EXECED:-} ]]; then
	VERSION_MATRIX_EXAMPLES_EXECED=1 exec /bin/bash "${BASH_SOURCE[0]}" "$@"
fi

kernels="6.1 6.2 6.6 6.7 6.13 6.14 6.17"
per_run_timeout=${EXAMPLE_TIMEOUT:-60}

usage() {
	sed -n '2,/^set -uo/{/^#/s/^# \{0,1\}//p}' "${BASH_SOURCE[0]}" >&2
	exit 2
}

while (($#)); do
	case $1 in
	--kernels) kernels=$2; shift 2 ;;
	--help | -h) usage ;;
	--) shift; break ;;
	-*) usage ;;
	*) break ;;
	esac
done
(($#)) || usage

# What names the missing piece in an example's output.
names_missing='Linux [0-9]+\.[0-9]+|(IOMMU|VFIO|CONFIG)_[A-Z0-9_]+'

# The example's own choices, not the caller's, decide each run.
unset LIBIOMMUFD_BACKEND LIBIOMMUFD_LOG

work=$(mktemp -d "${TMPDIR:-/tmp}/version-matrix-examples.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT

# Every run at once: each is its own process with its own fake kernel, and
# the matrix must stay well under a minute under ASan and valgrind alike.
read -ra vers <<<"$kernels"
names=()
for ex in "$@"; do
	if [[ ! -x $ex ]]; then
		echo "$ex: no such program" >&2
		exit 1
	fi
	# Each runs in a scratch directory, whatever it leaves behind.
	ex=$(realpath "$ex")
	name=$(basename "$ex")
	names+=("$name")
	for v in "${vers[@]}"; do
		(
			cd "$work" || exit 1
			LIBIOMMUFD_FAKE=1 LIBIOMMUFD_FAKE_KERNEL=$v \
				timeout -k 5 "$per_run_timeout" "$ex" \
				</dev/null >"$work/$name@$v.out" 2>&1
			echo $? >"$work/$name@$v.rc"
		) &
	done
done
wait

failures=0
declare -A cell
reasons=()
for name in "${names[@]}"; do
	for v in "${vers[@]}"; do
		out=$work/$name@$v.out
		rc=$(cat "$work/$name@$v.rc" 2>/dev/null || echo "?")
		case $rc in
		0)
			cell[$name@$v]=pass
			;;
		77)
			# The SKIPPED line when it names the missing piece, else
			# the first line that does.
			line=$(grep -E 'SKIPPED' "$out" | grep -E -m1 "$names_missing")
			[[ -n $line ]] || line=$(grep -E -m1 "$names_missing" "$out")
			if [[ -n $line ]]; then
				cell[$name@$v]=skip
				reasons+=("$name @ $v: skip: $line")
			else
				cell[$name@$v]=FAIL
				failures=$((failures + 1))
				reasons+=("$name @ $v: FAIL: exit 77 without naming the missing feature or kernel version")
				sed 's/^/    | /' "$out" | tail -n 15 >&2
			fi
			;;
		*)
			cell[$name@$v]=FAIL
			failures=$((failures + 1))
			reasons+=("$name @ $v: FAIL: exit $rc")
			echo "=== $name on the fake Linux $v: exit $rc; its output ends:" >&2
			sed 's/^/    | /' "$out" | tail -n 15 >&2
			;;
		esac
	done
done

printf '%-20s' "example"
for v in "${vers[@]}"; do
	printf ' %-5s' "$v"
done
printf '\n'
for name in "${names[@]}"; do
	printf '%-20s' "$name"
	for v in "${vers[@]}"; do
		printf ' %-5s' "${cell[$name@$v]}"
	done
	printf '\n'
done
for r in "${reasons[@]}"; do
	echo "  $r"
done
if ((failures)); then
	echo "version-matrix-examples: $failures run(s) failed"
	exit 1
fi
echo "version-matrix-examples: every example passes or names what it lacks at every kernel"
exit 0
