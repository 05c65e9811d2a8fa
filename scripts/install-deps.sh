#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# install-deps.sh: install the Debian packages Gespann needs to build, run and
# test, and nothing else. Idempotent and quick when everything is present (one
# dpkg-query call); `apt-get update` runs only when something must be installed.
#
#   scripts/install-deps.sh           install what is missing (root)
#   scripts/install-deps.sh --check   only report what is missing; exit 1 if any
#
# Everything `make test` calls is here, except the kernel matrix's host tools
# (qemu-system-x86, cpio, kmod, xz-utils, zstd, bsdextrautils, the archive
# keyring): scripts/kernels/prepare.sh installs those on its first run, so
# `make run` does not pull in qemu.
# iputils-ping is for the namespace helpers (tests/lib/netns.sh) to check links;
# procps for their sysctl, and ps/pgrep in tests and here;
# libclang-rt-14-dev holds libFuzzer and the sanitizer runtimes (make fuzz), only
# a Recommends of clang-14, which this script does not install.
# The node group (the exporter scenarios' statsd daemon and OTLP receiver) and
# the python group (test helpers, ground truth) are wanted only when their
# commands are not on PATH: a machine that brings its own Node.js or Python
# outside dpkg keeps it, and Debian's is not installed over it.
# The prometheus and victoria-metrics packages (servers the tests start) may
# start a daemon from their maintainer scripts on some systems; a temporary policy-rc.d
# forbids that during the install, and a daemon that appears anyway is stopped.
set -euo pipefail

# One line per group: "name: packages...".
GROUPS_SPEC=(
	"toolchain: clang llvm make gcc pkg-config protobuf-c-compiler libclang-rt-14-dev"
	"bpf: libbpf-dev bpftool libelf-dev zlib1g-dev"
	"libraries: libyaml-dev libmicrohttpd-dev libcmocka-dev libprotobuf-c-dev libcurl4-openssl-dev uthash-dev libseccomp-dev libgnutls28-dev libcrypt-dev libsnappy-dev"
	"network: iproute2 iptables iputils-ping procps"
	"test tools: prometheus curl libcap2-bin openssl apache2-utils dnsmasq-base bind9-dnsutils victoria-metrics"
	"node: nodejs npm"
	"python: python3"
)
# Groups wanted only when one of these commands is missing from PATH.
declare -A GROUP_UNLESS_ON_PATH=(
	[node]="node npm"
	[python]="python3"
)

usage() {
	echo "usage: $0 [--check]" >&2
	exit 2
}

check_only=0
case "${1:-}" in
"") ;;
--check) check_only=1 ;;
-h | --help) usage ;;
*) usage ;;
esac
[[ $# -le 1 ]] || usage

# on_path GROUP: the group's commands are all on PATH, so it is not wanted.
on_path() {
	local cmds=${GROUP_UNLESS_ON_PATH[$1]:-} c
	[[ -n "$cmds" ]] || return 1
	for c in $cmds; do
		command -v "$c" >/dev/null 2>&1 || return 1
	done
}

# Decided once, before anything is installed: a group installed by this run
# reports its packages, not "on PATH".
declare -A not_wanted=()
all_pkgs=()
for spec in "${GROUPS_SPEC[@]}"; do
	if on_path "${spec%%:*}"; then
		not_wanted[${spec%%:*}]=1
		continue
	fi
	read -r -a pkgs <<<"${spec#*: }"
	all_pkgs+=("${pkgs[@]}")
done

# One dpkg-query for everything; unknown packages print nothing on stdout.
declare -A installed=()
while read -r pkg want flag status; do
	if [[ "$want $flag $status" == "install ok installed" ]]; then
		installed[$pkg]=1
	fi
done < <(dpkg-query -W -f='${Package} ${Status}\n' "${all_pkgs[@]}" 2>/dev/null || true)

missing=()
for pkg in "${all_pkgs[@]}"; do
	[[ -n "${installed[$pkg]:-}" ]] || missing+=("$pkg")
done

# group_report GROUP_SPEC WORD: "name     WORD (pkgs)" where pkgs are the
# group's missing packages, or all of them when nothing is missing.
group_report() {
	local spec=$1 name pkgs miss=() p
	name=${spec%%:*}
	if [[ -n "${not_wanted[$name]:-}" ]]; then
		printf 'deps: %-11s ok (%s on PATH)\n' "$name" "${GROUP_UNLESS_ON_PATH[$name]}"
		return 0
	fi
	read -r -a pkgs <<<"${spec#*: }"
	for p in "${pkgs[@]}"; do
		[[ -n "${installed[$p]:-}" ]] || miss+=("$p")
	done
	if ((${#miss[@]} == 0)); then
		printf 'deps: %-11s ok (%s)\n' "$name" "${pkgs[*]}"
	else
		printf 'deps: %-11s %s (%s)\n' "$name" "$2" "${miss[*]}"
	fi
}

if ((check_only)); then
	for spec in "${GROUPS_SPEC[@]}"; do
		group_report "$spec" missing
	done
	((${#missing[@]} == 0)) || exit 1
	exit 0
fi

if ((${#missing[@]} == 0)); then
	for spec in "${GROUPS_SPEC[@]}"; do
		group_report "$spec" missing
	done
	exit 0
fi

if ((EUID != 0)); then
	echo "install-deps: missing packages: ${missing[*]}" >&2
	echo "install-deps: installing them needs root; run: sudo $0" >&2
	exit 1
fi

# Keep services from starting during the install (see the header).
policy=/usr/sbin/policy-rc.d
created_policy=0
log=$(mktemp /tmp/install-deps.XXXXXX)
# shellcheck disable=SC2317  # called from the trap
cleanup() {
	if ((created_policy)); then
		rm -f "$policy"
	fi
	rm -f "$log"
}
trap cleanup EXIT
if [[ ! -e "$policy" ]]; then
	printf '#!/bin/sh\n# temporary, from gespann scripts/install-deps.sh\nexit 101\n' >"$policy"
	chmod 755 "$policy"
	created_policy=1
fi

prom_before=$(pgrep -x prometheus 2>/dev/null || true)

export DEBIAN_FRONTEND=noninteractive
apt_opts=(-qq -y -o Dpkg::Use-Pty=0 -o APT::Install-Recommends=false)
# apt's chatter goes to a log that is shown only when a step fails.
apt_run() {
	if ! apt-get "${apt_opts[@]}" "$@" >"$log" 2>&1; then
		cat "$log" >&2
		echo "install-deps: apt-get $1 failed" >&2
		exit 1
	fi
}
echo "install-deps: apt-get update" >&2
apt_run update
echo "install-deps: installing ${missing[*]}" >&2
apt_run install "${missing[@]}"

# A prometheus daemon that was not running before was started by the install:
# stop it through its service manager, or by pid if there is none.
prom_after=$(pgrep -x prometheus 2>/dev/null || true)
new_pids=()
for pid in $prom_after; do
	grep -qxF "$pid" <<<"$prom_before" || new_pids+=("$pid")
done
if ((${#new_pids[@]} > 0)); then
	echo "install-deps: stopping the prometheus daemon the package started" >&2
	if [[ -d /run/systemd/system ]]; then
		systemctl stop prometheus.service 2>/dev/null || true
	elif [[ -x /etc/init.d/prometheus ]]; then
		/etc/init.d/prometheus stop >/dev/null 2>&1 || true
	fi
	for pid in "${new_pids[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
fi

# Re-query: report what this run installed, and fail if something is still absent.
installed=()
while read -r pkg want flag status; do
	if [[ "$want $flag $status" == "install ok installed" ]]; then
		installed[$pkg]=1
	fi
done < <(dpkg-query -W -f='${Package} ${Status}\n' "${all_pkgs[@]}" 2>/dev/null || true)

rc=0
for spec in "${GROUPS_SPEC[@]}"; do
	name=${spec%%:*}
	if [[ -n "${not_wanted[$name]:-}" ]]; then
		printf 'deps: %-11s ok (%s on PATH)\n' "$name" "${GROUP_UNLESS_ON_PATH[$name]}"
		continue
	fi
	read -r -a pkgs <<<"${spec#*: }"
	done_now=() still=()
	for p in "${pkgs[@]}"; do
		if [[ " ${missing[*]} " == *" $p "* ]]; then
			if [[ -n "${installed[$p]:-}" ]]; then
				done_now+=("$p")
			else
				still+=("$p")
			fi
		fi
	done
	if ((${#still[@]} > 0)); then
		printf 'deps: %-11s FAILED (%s)\n' "$name" "${still[*]}"
		rc=1
	elif ((${#done_now[@]} > 0)); then
		printf 'deps: %-11s installed (%s)\n' "$name" "${done_now[*]}"
	else
		printf 'deps: %-11s ok (%s)\n' "$name" "${pkgs[*]}"
	fi
done
exit "$rc"
