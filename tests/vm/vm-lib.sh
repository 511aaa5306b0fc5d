# shellcheck shell=bash
# Sourced by vm-boot.sh, vm-result.sh and ../scenario-parity.sh.
#
# vm_run_token: an identifier of the `meson test` run this process belongs
# to, the same for every test of that run and different for the next run:
# the PID and start time of the nearest ancestor that is meson.  Tests find
# the boot log of their own run by it, never a stale one.  Prints nothing
# when there is no meson ancestor (run by hand).

vm_proc_field() { # vm_proc_field PID N: field N of /proc/PID/stat (N >= 3)
	local stat rest n=$2
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	rest=${stat##*) } # the command name may hold spaces and parentheses
	# shellcheck disable=SC2086 # split the fields
	set -- $rest
	shift $((n - 3))
	echo "$1"
}

vm_run_token() {
	local pid=$PPID cmd depth=0
	while ((pid > 1 && depth < 20)); do
		cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 0
		if [[ $cmd =~ (^|[ /])meson(\.py)?\ |mesonbuild ]]; then
			echo "$pid-$(vm_proc_field "$pid" 22)"
			return 0
		fi
		pid=$(vm_proc_field "$pid" 4) || return 0
		depth=$((depth + 1))
	done
}

# vm_wait_log LOG: under `meson test`, wait for the log of this run's vm/boot
# (vm-boot.sh publishes LOG tagged "VMTEST-RUN <token>" and announces itself
# in LOG.running): up to VM_START_WAIT (15) s for that boot to start, then up
# to VM_TIMEOUT (300) + 60 s for LOG. Returns 0 when LOG is this run's, or
# when there is no meson ancestor or no vm/boot in this run (then a note on
# stdout: LOG is read as it is, maybe from an earlier run); 1, with the
# reason on stderr, when this run's boot published nothing in time.
vm_wait_log() {
	local log=$1 token waited limit
	token=$(vm_run_token)
	[[ -n $token ]] || return 0
	waited=0
	limit=${VM_START_WAIT:-15}
	while ! vm_file_has "$log.running" "^$token " && ((waited < limit * 10)); do
		sleep 0.1
		waited=$((waited + 1))
	done
	if ! vm_file_has "$log.running" "^$token "; then
		echo "note: vm/boot is not part of this meson test run: reading $log as it is"
		return 0
	fi
	waited=0
	limit=$((${VM_TIMEOUT:-300} + 60))
	while ! vm_file_has "$log" "^VMTEST-RUN $token\$" && ((waited < limit * 10)); do
		sleep 0.1
		waited=$((waited + 1))
	done
	if ! vm_file_has "$log" "^VMTEST-RUN $token\$"; then
		echo "vm/boot of this run published no log within $limit s" >&2
		return 1
	fi
}

vm_file_has() { # vm_file_has FILE ERE: FILE exists and has a line matching ERE
	[[ -f $1 ]] && grep -q -E "$2" "$1"
}

# vm_result_lines LOG NAME: the "VMTEST NAME PASS|FAIL|SKIP ..." lines.
vm_result_lines() {
	grep -a -E "^VMTEST ${2//./\\.} (PASS|FAIL|SKIP)( |\$)" "$1" || true
}

# vm_verdict LOG NAME: FAIL if a line of NAME says FAIL, else PASS if one
# says PASS, else SKIP; nothing when NAME has no line.
vm_verdict() {
	local results
	results=$(vm_result_lines "$1" "$2" | awk '{ print $3 }')
	if [[ -z $results ]]; then
		return 0
	elif grep -qx FAIL <<<"$results"; then
		echo FAIL
	elif grep -qx PASS <<<"$results"; then
		echo PASS
	else
		echo SKIP
	fi
}

# vm_facts LOG NAME: NAME's "VMTEST-FACT NAME key=value" facts about the
# machine it ran on, sorted, on one line ("" when none).
vm_facts() {
	sed -n "s/^VMTEST-FACT ${2//./\\.} //p" "$1" | sort -u | paste -s -d ' ' -
}
