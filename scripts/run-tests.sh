#!/bin/bash
# run-tests.sh - the whole test suite: install what is missing, then
#   (a) gcc build, every suite (unit, doc, vm);
#   (b) clang build, suite unit;
#   (c) ASan+UBSan build (gcc), suite unit;
#   (d) valgrind over the gcc build's suite unit, libcheck not forking;
#   (e) clang ThreadSanitizer build, the concurrency test (test-threads);
#   (f) clang -Dfuzz=true ASan+UBSan build: each libFuzzer target in fuzz/ runs
#       on a copy of its seed corpus for FUZZ_TIME seconds (default 30; one
#       test per target), printing libFuzzer's "Done N runs in T second(s)".
# Build directories live under build/ in the source tree and are reused.
# Every (build, test) pair counts once; a build that fails counts as one
# failure. The last line printed is "N passed, N failed[, N skipped]" and the
# exit status is non-zero when anything failed.
set -uo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$top" || exit 1

passed=0
failed=0
skipped=0
failures=()
stage_lines=()

say() { printf '\n=== %s\n' "$*"; }

# fail_stage STAGE REASON: one failure for something that is not a test.
fail_stage() {
	failed=$((failed + 1))
	failures+=("$1: $2")
	stage_lines+=("$1: $2")
	echo "*** $1: $2" >&2
}

# configure DIR MESON-SETUP-ARGS...: set up DIR, or reconfigure it when it is
# already a build directory (wiping it when reconfiguring fails).
configure() {
	local dir=$1
	shift
	if [[ -f $dir/meson-private/coredata.dat ]]; then
		meson setup --reconfigure "$dir" "$@" </dev/null ||
			meson setup --wipe "$dir" "$@" </dev/null
	else
		rm -rf "$dir"
		meson setup "$dir" "$@" </dev/null
	fi
}

# build STAGE DIR MESON-SETUP-ARGS...: configure and compile; 0 on success.
build() {
	local stage=$1 dir=$2
	shift 2
	say "$stage: meson setup $dir $*"
	if ! configure "$dir" "$@"; then
		fail_stage "$stage" "meson setup $dir failed"
		return 1
	fi
	say "$stage: meson compile -C $dir"
	if ! meson compile -C "$dir" </dev/null; then
		fail_stage "$stage" "build in $dir failed"
		return 1
	fi
}

# count STAGE JSON RC: add the results of one `meson test` run.
count() {
	local stage=$1 json=$2 rc=$3 out p f s line
	out=$(python3 - "$stage" "$json" <<'PY'
import json, sys
stage, path = sys.argv[1], sys.argv[2]
good = {"OK", "EXPECTEDFAIL"}
skip = {"SKIP"}
p = f = s = 0
bad = []
try:
    with open(path, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            line = line.strip()
            if not line:
                continue
            try:
                r = json.loads(line)
            except ValueError:
                continue
            res = r.get("result", "")
            if res in good:
                p += 1
            elif res in skip:
                s += 1
            else:  # FAIL, TIMEOUT, ERROR, UNEXPECTEDPASS, INTERRUPT, ...
                f += 1
                bad.append("%s/%s (%s)" % (stage, r.get("name", "?"), res))
except OSError:
    pass
print(p, f, s)
for b in bad:
    print(b)
PY
	) || out="0 0 0"
	read -r p f s <<<"$(head -n1 <<<"$out")"
	while IFS= read -r line; do
		[[ -n $line ]] && failures+=("$line")
	done < <(tail -n +2 <<<"$out")
	if ((rc != 0 && f == 0)); then
		# meson test itself failed (no log, a setup error, ...).
		f=1
		failures+=("$stage: meson test exited $rc with no failing test in its log")
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	skipped=$((skipped + s))
	stage_lines+=("$stage: ok $p, failed $f, skipped $s")
	say "$stage: ok $p, failed $f, skipped $s"
}

# run_tests STAGE DIR MESON-TEST-ARGS...
run_tests() {
	local stage=$1 dir=$2 logbase json rc
	shift 2
	logbase="run-tests-$stage"
	rm -f "$dir/meson-logs/$logbase"*.json
	say "$stage: meson test -C $dir $*"
	meson test -C "$dir" --no-rebuild --print-errorlogs --logbase "$logbase" "$@" </dev/null
	rc=$?
	json=$(compgen -G "$dir/meson-logs/$logbase*.json" | head -n1) || json=
	count "$stage" "${json:-/nonexistent}" "$rc"
}

say "setup: scripts/setup-deps.sh"
if ! bash "$top/scripts/setup-deps.sh"; then
	fail_stage setup "scripts/setup-deps.sh failed; trying with what is installed"
fi

# Don't let a caller's environment change what each stage means.
unset ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS CK_FORK CK_RUN_SUITE CK_RUN_CASE \
	LIBIOMMUFD_FAKE LIBIOMMUFD_LOG

# (a) gcc, every suite
if CC=gcc build gcc build/gcc --werror -Dbuildtype=debugoptimized -Db_sanitize=none; then
	gcc_ok=yes
	run_tests gcc build/gcc
else
	gcc_ok=no
fi

# (b) clang, unit tests only
if CC=clang build clang build/clang --werror -Dbuildtype=debug -Db_sanitize=none; then
	run_tests clang build/clang --suite unit --no-suite doc
fi

# (c) ASan + UBSan
if CC=gcc build asan build/asan --werror -Dbuildtype=debug \
	-Db_sanitize=address,undefined -Db_lundef=false; then
	ASAN_OPTIONS=detect_leaks=1 \
		UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		run_tests asan build/asan --suite unit --no-suite doc -t 3
fi

# (d) valgrind on the gcc build. libcheck forks each test unless CK_FORK=no;
# valgrind does not follow the children, so without it leaks go unseen.
if [[ $gcc_ok == yes ]]; then
	if command -v valgrind >/dev/null; then
		CK_FORK=no run_tests valgrind build/gcc --suite unit --no-suite doc -t 10 \
			--wrapper 'valgrind --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,indirect --track-fds=yes -q'
	else
		fail_stage valgrind "valgrind is not installed"
	fi
fi

# (e) ThreadSanitizer over the tests that run threads on one IOAS. Static
# libraries only: clang links the TSan runtime into executables, never into a
# shared library, which then fails src/meson.build's -Wl,--no-undefined. Only
# what the stage runs is built, to keep it short. No suppressions: a report
# is a failure.
tsan_tests=(threads)
tsan_dir=build/tsan
say "tsan: meson setup $tsan_dir"
if CC=clang configure "$tsan_dir" --werror -Dbuildtype=debug \
	-Db_sanitize=thread -Db_lundef=false -Ddefault_library=static \
	-Dexamples=false -Dbench=false -Dvm_tests=disabled; then
	tsan_targets=()
	for t in "${tsan_tests[@]}"; do
		tsan_targets+=("tests/test-$t")
	done
	say "tsan: meson compile -C $tsan_dir ${tsan_targets[*]}"
	if meson compile -C "$tsan_dir" "${tsan_targets[@]}" </dev/null; then
		TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
			run_tests tsan "$tsan_dir" --suite unit "${tsan_tests[@]}"
	else
		fail_stage tsan "build in $tsan_dir failed"
	fi
else
	fail_stage tsan "meson setup $tsan_dir failed"
fi

# (f) libFuzzer targets: every fuzz/fuzz-*.c (fuzz/meson.build must declare
# it) runs for FUZZ_TIME seconds on a copy of its seed corpus
# fuzz/corpus/<target>
# (so nothing is written into fuzz/corpus/); one test per target, passed
# when it exits 0 (no crash, leak, timeout or sanitizer report).
fuzz_time=${FUZZ_TIME:-30}
if ! [[ $fuzz_time =~ ^[1-9][0-9]*$ ]]; then
	fail_stage fuzz "FUZZ_TIME=$fuzz_time is not a number of seconds; using 30"
	fuzz_time=30
fi
if CC=clang build fuzz build/fuzz --werror -Dbuildtype=debugoptimized \
	-Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false \
	-Ddefault_library=static -Dtests=disabled -Dexamples=false -Dbench=false; then
	fp=0 ff=0
	for src in fuzz/fuzz-*.c; do
		t=$(basename "$src" .c)
		bin=build/fuzz/fuzz/$t
		work=build/fuzz/fuzz-run/$t
		rm -rf "$work"
		mkdir -p "$work/corpus" "$work/artifacts"
		for seeds in "fuzz/corpus/$t"; do
			if [[ -d $seeds ]]; then
				cp -r "$seeds/." "$work/corpus/"
				break
			fi
		done
		say "fuzz: $t for ${fuzz_time}s"
		if [[ ! -x $bin ]]; then
			rc=127
			echo "$bin was not built" >"$work/log"
		else
			ASAN_OPTIONS=detect_leaks=1 \
				UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
				"$bin" -max_total_time=$fuzz_time -rss_limit_mb=2048 \
				-timeout=25 -print_final_stats=1 \
				-artifact_prefix="$work/artifacts/" "$work/corpus" \
				</dev/null >"$work/log" 2>&1
			rc=$?
		fi
		done_line=$(grep -E '^Done [0-9]+ runs in [0-9]+ second' "$work/log" | tail -n1)
		if ((rc == 0)); then
			fp=$((fp + 1))
			echo "fuzz/$t: ok: ${done_line:-no Done line}"
			stage_lines+=("fuzz/$t (${fuzz_time}s, $(find "$work/corpus" -type f | wc -l) corpus files): ${done_line:-?}")
		else
			ff=$((ff + 1))
			tail -n 40 "$work/log" >&2
			failures+=("fuzz/$t (exit $rc; log and crash input in $work)")
			stage_lines+=("fuzz/$t: FAILED, exit $rc")
		fi
	done
	passed=$((passed + fp))
	failed=$((failed + ff))
	stage_lines+=("fuzz: ok $fp, failed $ff, skipped 0")
	say "fuzz: ok $fp, failed $ff, skipped 0"
fi

say "summary"
for line in "${stage_lines[@]}"; do
	echo "  $line"
done
if ((${#failures[@]})); then
	echo "failures:"
	for line in "${failures[@]}"; do
		echo "  $line"
	done
fi
if ((skipped)); then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
((failed == 0))
