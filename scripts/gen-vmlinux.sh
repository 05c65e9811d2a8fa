#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# gen-vmlinux.sh OUT: write the running kernel's types as C (vmlinux.h) for the
# CO-RE BPF programs, from /sys/kernel/btf/vmlinux. The file is written to a
# temporary name beside OUT and renamed, so an interrupted run never leaves a
# truncated header that make would take as up to date.
set -euo pipefail

BTF=${BTF:-/sys/kernel/btf/vmlinux}

if [[ $# -ne 1 || -z "$1" ]]; then
	echo "usage: $0 OUT" >&2
	exit 2
fi
out=$1

# bpftool lives in /usr/sbin on Debian, which is not in a normal user's PATH.
bpftool=${BPFTOOL:-}
if [[ -z "$bpftool" ]]; then
	bpftool=$(command -v bpftool 2>/dev/null || true)
	for cand in /usr/sbin/bpftool /sbin/bpftool /usr/local/sbin/bpftool; do
		[[ -n "$bpftool" ]] && break
		[[ -x "$cand" ]] && bpftool=$cand
	done
fi
if [[ -z "$bpftool" || ! -x "$bpftool" ]]; then
	echo "gen-vmlinux: bpftool not found (install the bpftool package: scripts/install-deps.sh)" >&2
	exit 1
fi
if [[ ! -r "$BTF" ]]; then
	echo "gen-vmlinux: $BTF is missing or unreadable: the kernel needs CONFIG_DEBUG_INFO_BTF=y" >&2
	exit 1
fi

mkdir -p -- "$(dirname -- "$out")"
tmp=$(mktemp "$(dirname -- "$out")/.vmlinux.h.XXXXXX")
trap 'rm -f "$tmp"' EXIT
if ! "$bpftool" btf dump file "$BTF" format c >"$tmp"; then
	echo "gen-vmlinux: $bpftool failed to dump $BTF" >&2
	exit 1
fi
if [[ ! -s "$tmp" ]]; then
	echo "gen-vmlinux: $bpftool wrote nothing for $BTF" >&2
	exit 1
fi
chmod 644 "$tmp"
mv -f "$tmp" "$out"
trap - EXIT
