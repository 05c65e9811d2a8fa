#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# check-prereqs.sh: tell whether this kernel and this user can run Gespann, as a
# table FEATURE / STATUS / DETAIL. STATUS is ok, missing (the kernel or system
# does not have it) or unavailable (present in principle, not usable here).
# A required feature that is not ok makes the script exit 1; the others are
# warnings (the agent switches the matching probe off).
#
# Needs only bash, grep, awk, zcat and bpftool (which may be in /usr/sbin).
set -euo pipefail

BTF=/sys/kernel/btf/vmlinux

# Tracepoints the probes attach to; the first is required.
TRACEPOINTS=(inet_sock_set_state inet_sk_error_report tcp_send_reset tcp_receive_reset
	tcp_retransmit_skb tcp_destroy_sock sock_send_length sock_recv_length)

rows_feature=()
rows_status=()
rows_detail=()
required_bad=()
optional_bad=()

# row FEATURE STATUS DETAIL [required]
row() {
	local detail=$3
	if [[ "${4:-}" == required ]]; then
		detail+=" (required)"
		[[ "$2" == ok ]] || required_bad+=("$1")
	else
		[[ "$2" == ok ]] || optional_bad+=("$1")
	fi
	rows_feature+=("$1")
	rows_status+=("$2")
	rows_detail+=("$detail")
}

# ---- tools and data gathered once ----

bpftool=$(command -v bpftool 2>/dev/null || true)
for cand in /usr/sbin/bpftool /sbin/bpftool /usr/local/sbin/bpftool; do
	[[ -n "$bpftool" ]] && break
	[[ -x "$cand" ]] && bpftool=$cand
done

kconfig_src=""
kconfig_text=""
osrelease=$(</proc/sys/kernel/osrelease)
if [[ -r /proc/config.gz ]]; then
	kconfig_src=/proc/config.gz
	kconfig_text=$(zcat /proc/config.gz 2>/dev/null | grep -E '^CONFIG_' || true)
elif [[ -r "/boot/config-$osrelease" ]]; then
	kconfig_src=/boot/config-$osrelease
	kconfig_text=$(grep -E '^CONFIG_' "$kconfig_src" || true)
fi

# kconfig NAME: prints y, m or a value, or nothing when not set.
kconfig() {
	awk -F= -v k="CONFIG_$1" '$1 == k { print $2; exit }' <<<"$kconfig_text"
}

probe_text=""
if [[ -n "$bpftool" ]]; then
	probe_text=$("$bpftool" feature probe kernel 2>/dev/null || true)
fi

# Only the type names we look for, not the whole (large) raw dump.
btf_types=""
if [[ -n "$bpftool" && -r "$BTF" ]]; then
	btf_types=$("$bpftool" btf dump file "$BTF" format raw 2>/dev/null |
		grep -oE "^\[[0-9]+\] (TYPEDEF 'btf_trace_[A-Za-z0-9_]+'|ENUM 'sk_rst_reason')" || true)
fi

btf_has_tp() {
	grep -qF "TYPEDEF 'btf_trace_$1'" <<<"$btf_types"
}

# mount_of FSTYPE: first mount point of that file system type.
mount_of() {
	awk -v t="$1" '$3 == t { print $2; exit }' /proc/mounts
}

# ---- kernel ----

IFS=. read -r kmaj kmin _ <<<"$osrelease"
kmin=${kmin%%[!0-9]*}
if ((kmaj > 5 || (kmaj == 5 && kmin >= 8))); then
	row kernel ok "$osrelease"
else
	row kernel unavailable "$osrelease: 5.8 or newer is needed (ring buffer)"
fi

# ---- BTF ----

if [[ -r "$BTF" ]]; then
	row btf ok "$BTF" required
elif [[ -e "$BTF" ]]; then
	row btf unavailable "$BTF is not readable" required
else
	row btf missing "no $BTF: the kernel needs CONFIG_DEBUG_INFO_BTF=y" required
fi

# ---- privileges ----

capeff=$(awk '$1 == "CapEff:" { print $2 }' /proc/self/status)
capeff=${capeff:-0}
cap() { echo $(((16#$capeff >> $1) & 1)); }
cap_sys_admin=$(cap 21)
cap_perfmon=$(cap 38)
cap_bpf=$(cap 39)
caps="CAP_SYS_ADMIN=$cap_sys_admin CAP_PERFMON=$cap_perfmon CAP_BPF=$cap_bpf"
privileged=0
if ((cap_sys_admin || (cap_bpf && cap_perfmon))); then
	privileged=1
	if ((EUID == 0)); then
		row privileges ok "root, $caps" required
	else
		row privileges ok "uid $EUID, $caps" required
	fi
else
	row privileges missing "uid $EUID, $caps: run as root or with CAP_BPF+CAP_PERFMON" required
fi

# ---- bpffs ----

bpffs=$(mount_of bpf)
if [[ -n "$bpffs" ]]; then
	row bpffs ok "mounted at $bpffs"
else
	row bpffs missing "not mounted (mount -t bpf bpf /sys/fs/bpf)"
fi

# ---- map types ----

# bpftool probes unprivileged what it cannot load, so say why a probe failed.
unpriv=""
((privileged)) || unpriv=", probed without privileges"

# map_row FEATURE MAP_TYPE [required]
map_row() {
	if [[ -z "$bpftool" ]]; then
		row "$1" unavailable "bpftool not found, cannot probe" "${3:-}"
	elif grep -qxF "eBPF map_type $2 is available" <<<"$probe_text"; then
		row "$1" ok "map_type $2 is available" "${3:-}"
	else
		row "$1" unavailable "map_type $2 is NOT available (bpftool feature probe kernel$unpriv)" "${3:-}"
	fi
}
map_row "map ringbuf" ringbuf required
map_row "map sk_storage" sk_storage
map_row "map hash" hash

# ---- raw tracepoints / tp_btf ----

if [[ -z "$bpftool" ]]; then
	row "raw_tp / tp_btf" unavailable "bpftool not found, cannot probe"
elif ! btf_has_tp inet_sock_set_state; then
	row "raw_tp / tp_btf" missing "btf_trace_inet_sock_set_state not in kernel BTF"
elif ! grep -qxF "eBPF program_type raw_tracepoint is available" <<<"$probe_text"; then
	row "raw_tp / tp_btf" unavailable "program_type raw_tracepoint is NOT available${unpriv}"
else
	row "raw_tp / tp_btf" ok "raw_tracepoint available, btf_trace_* types in BTF"
fi

# ---- tracepoints ----

for tp in "${TRACEPOINTS[@]}"; do
	req=""
	[[ "$tp" == inet_sock_set_state ]] && req=required
	if [[ -z "$bpftool" ]]; then
		row "tp $tp" unavailable "bpftool not found, cannot read BTF" $req
	elif btf_has_tp "$tp"; then
		row "tp $tp" ok "btf_trace_$tp in BTF" $req
	else
		row "tp $tp" missing "btf_trace_$tp not in BTF" $req
	fi
	if [[ "$tp" == tcp_send_reset ]]; then
		if grep -qF "ENUM 'sk_rst_reason'" <<<"$btf_types"; then
			row "tp tcp_send_reset reason" ok "enum sk_rst_reason in BTF"
		else
			row "tp tcp_send_reset reason" missing "enum sk_rst_reason not in BTF (before 6.10)"
		fi
	fi
done

# ---- kprobes, fentry ----

no_config="no kernel config (/proc/config.gz, /boot/config-$osrelease)"
if [[ -z "$kconfig_src" ]]; then
	row kprobes unavailable "$no_config"
elif [[ "$(kconfig KPROBE_EVENTS)" == y ]]; then
	row kprobes ok "CONFIG_KPROBE_EVENTS=y"
else
	row kprobes unavailable "CONFIG_KPROBE_EVENTS is not set"
fi

# The config says whether fentry can exist; the bpftool probe whether a
# tracing program loads here (it can fail even when the config allows it).
if [[ -z "$kconfig_src" ]]; then
	row "fentry / fexit" unavailable "$no_config"
elif [[ "$(kconfig FUNCTION_TRACER)" != y ]]; then
	row "fentry / fexit" unavailable "CONFIG_FUNCTION_TRACER is not set"
elif [[ "$(kconfig DYNAMIC_FTRACE_WITH_DIRECT_CALLS)" != y ]]; then
	row "fentry / fexit" unavailable "CONFIG_DYNAMIC_FTRACE_WITH_DIRECT_CALLS is not set"
elif [[ -z "$bpftool" ]]; then
	row "fentry / fexit" unavailable "bpftool not found, cannot probe"
elif ! grep -qxF "eBPF program_type tracing is available" <<<"$probe_text"; then
	row "fentry / fexit" unavailable "config allows it, but program_type tracing does not load${unpriv}"
else
	row "fentry / fexit" ok "CONFIG_FUNCTION_TRACER, DIRECT_CALLS, program_type tracing"
fi

# ---- cgroups, tracefs ----

cg2=$(mount_of cgroup2)
if [[ -n "$cg2" ]]; then
	row "cgroup v2" ok "mounted at $cg2"
else
	row "cgroup v2" missing "no cgroup2 mount in /proc/mounts"
fi

if [[ -z "$kconfig_src" ]]; then
	row CONFIG_CGROUP_BPF unavailable "$no_config"
elif [[ "$(kconfig CGROUP_BPF)" == y ]]; then
	row CONFIG_CGROUP_BPF ok "set in $kconfig_src"
else
	row CONFIG_CGROUP_BPF missing "not set in $kconfig_src"
fi

tracefs=$(mount_of tracefs)
if [[ -n "$tracefs" ]]; then
	row tracefs ok "mounted at $tracefs"
else
	row tracefs missing "not mounted (mount -t tracefs nodev /sys/kernel/tracing)"
fi

# ---- table ----

wf=7 ws=6
for i in "${!rows_feature[@]}"; do
	((${#rows_feature[i]} > wf)) && wf=${#rows_feature[i]}
	((${#rows_status[i]} > ws)) && ws=${#rows_status[i]}
done
printf "%-${wf}s  %-${ws}s  %s\n" FEATURE STATUS DETAIL
for i in "${!rows_feature[@]}"; do
	printf "%-${wf}s  %-${ws}s  %s\n" "${rows_feature[i]}" "${rows_status[i]}" "${rows_detail[i]}"
done
# join_list ITEM...: "a, b, c"
join_list() {
	local out=$1
	shift
	for x in "$@"; do
		out+=", $x"
	done
	echo "$out"
}

echo
if ((${#optional_bad[@]} > 0)); then
	echo "warning: not available (the matching probes are switched off): $(join_list "${optional_bad[@]}")"
fi
if ((${#required_bad[@]} > 0)); then
	echo "error: required feature(s) not available: $(join_list "${required_bad[@]}")"
	exit 1
fi
echo "all required features are available"
