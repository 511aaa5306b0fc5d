# shellcheck shell=bash
# Sourced by vm-boot.sh and vm-result.sh.
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
