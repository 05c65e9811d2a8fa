#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# deps.sh: the Debian packages the benchmarks need on top of scripts/install-deps.sh
# (which `make bench` runs first): the standard load generators and servers the
# side-by-side runs use, and bcc's libbpf-tools as the peer tracer. Installs only
# what is missing; quick (one dpkg-query) when everything is there.
#
#   bench/deps.sh           install what is missing (root)
#   bench/deps.sh --check   report what is missing; exit 1 if anything is
#
# nginx starts a daemon from its maintainer scripts on some systems: a temporary
# policy-rc.d forbids that during the install (the benchmark runs its own nginx
# with its own configuration, on loopback inside a namespace it creates).
set -euo pipefail

PKGS=(wrk iperf3 nginx libbpf-tools curl python3)

check_only=0
case "${1:-}" in
"") ;;
--check) check_only=1 ;;
*)
	echo "usage: $0 [--check]" >&2
	exit 2
	;;
esac

missing=()
for pkg in "${PKGS[@]}"; do
	status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
	[[ "$status" == "install ok installed" ]] || missing+=("$pkg")
done
# python3 may come from elsewhere (pyenv): only the command matters.
if command -v python3 >/dev/null 2>&1; then
	kept=()
	for p in "${missing[@]}"; do [[ "$p" == python3 ]] || kept+=("$p"); done
	missing=("${kept[@]}")
fi

if ((${#missing[@]} == 0)); then
	echo "bench deps: ok (${PKGS[*]})"
	exit 0
fi
if ((check_only)); then
	echo "bench deps: missing ${missing[*]}"
	exit 1
fi
if ((EUID != 0)); then
	echo "bench deps: missing ${missing[*]}; installing them needs root" >&2
	exit 1
fi

policy=/usr/sbin/policy-rc.d
created_policy=0
log=$(mktemp /tmp/bench-deps.XXXXXX)
# shellcheck disable=SC2317  # called from the trap
cleanup() {
	((created_policy)) && rm -f "$policy"
	rm -f "$log"
}
trap cleanup EXIT
if [[ ! -e "$policy" ]]; then
	printf '#!/bin/sh\n# temporary, from gespann bench/deps.sh\nexit 101\n' >"$policy"
	chmod 755 "$policy"
	created_policy=1
fi
nginx_before=$(pgrep -x nginx 2>/dev/null || true)

export DEBIAN_FRONTEND=noninteractive
apt_opts=(-qq -y -o Dpkg::Use-Pty=0 -o APT::Install-Recommends=false)
echo "bench deps: installing ${missing[*]}" >&2
if ! { apt-get "${apt_opts[@]}" update && apt-get "${apt_opts[@]}" install "${missing[@]}"; } >"$log" 2>&1; then
	cat "$log" >&2
	echo "bench deps: apt-get failed" >&2
	exit 1
fi

# An nginx master that was not there before came from the package's scripts.
for pid in $(pgrep -x nginx 2>/dev/null || true); do
	if ! grep -qxF "$pid" <<<"$nginx_before"; then
		echo "bench deps: stopping nginx $pid started by the package" >&2
		kill "$pid" 2>/dev/null || true
	fi
done
echo "bench deps: installed ${missing[*]}"
