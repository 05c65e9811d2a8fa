#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# prepare.sh: everything `make test-kernels` downloads, made ready once and
# cached. For each Debian suite asked for (default: bullseye bookworm trixie)
# it fetches the suite's current linux-image-*-amd64 package (the one the
# linux-image-amd64 meta package points at, security updates included),
# extracts the kernel and its modules, runs depmod on them, and builds a small
# initramfs: busybox-static, the virtio/9p module chain that kernel needs to
# mount the host's root over virtio-9p, and scripts/kernels/guest-init.sh as
# /init. It also installs qemu-system-x86 when it is missing.
#
#   scripts/kernels/prepare.sh                    all three suites
#   scripts/kernels/prepare.sh bookworm           one suite
#   KERNEL_CACHE=/var/cache/gespann-kernels scripts/kernels/prepare.sh
#   KERNEL_REFRESH=1 scripts/kernels/prepare.sh   look for newer kernels again
#
# The packages come through apt-get with a private sources list, lists and
# cache directory under $KERNEL_CACHE/apt/SUITE, from the mirror the machine's
# own apt sources use, checked against the Debian archive keyring. The
# machine's apt configuration is never changed. A suite is ready when
# $KERNEL_CACHE/SUITE/ready exists; that file holds the kernel release.
# Needs root (qemu install), apt-get, dpkg-deb, depmod, cpio, xz and zstd
# (column, for run.sh's table, is installed here too).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
KERNEL_CACHE=${KERNEL_CACHE:-$ROOT/build/kernels}
KERNEL_REFRESH=${KERNEL_REFRESH:-0}
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
# Busybox for the initramfs comes from the host's own release.
BUSYBOX_SUITE=bookworm

log() { printf 'prepare: %s\n' "$*" >&2; }
die() {
	log "error: $*"
	exit 1
}

# ==== Host tools ====

# qemu and cpio are Debian packages; install them only when missing.
ensure_host_tools() {
	local missing=()
	command -v qemu-system-x86_64 >/dev/null || missing+=(qemu-system-x86)
	command -v cpio >/dev/null || missing+=(cpio)
	command -v depmod >/dev/null || missing+=(kmod)
	command -v xz >/dev/null || missing+=(xz-utils)
	command -v zstd >/dev/null || missing+=(zstd)
	command -v column >/dev/null || missing+=(bsdextrautils)
	[[ -r "$KEYRING" ]] || missing+=(debian-archive-keyring)
	[[ ${#missing[@]} -eq 0 ]] && return 0
	[[ $EUID -eq 0 ]] || die "missing ${missing[*]} and not root to install them"
	log "installing ${missing[*]}"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# ==== Private apt ====

# The mirror the machine's apt uses: the first URI of a Debian archive
# ("/debian") in sources.list or sources.list.d (one-line or deb822 format).
host_mirror() {
	local uri
	uri=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null |
		grep -Eo '(https?)://[^ ]+/debian/?( |$)' | sed 's:/* *$::' | head -1 || true)
	echo "${uri:-http://deb.debian.org/debian}"
}

# apt_opts SUITE: the options that make apt-get and apt-cache use only the
# private state of SUITE (printed one per line, for mapfile).
apt_opts() {
	local d=$KERNEL_CACHE/apt/$1
	printf '%s\n' -o "Dir::Etc::SourceList=$d/sources.list" -o Dir::Etc::SourceParts=/dev/null \
		-o "Dir::State::Lists=$d/lists" -o "Dir::Cache=$d/cache" \
		-o Dir::Etc::Preferences=/dev/null -o Dir::Etc::PreferencesParts=/dev/null \
		-o APT::Architecture=amd64 -o APT::Architectures::=amd64 -o APT::Sandbox::User=root \
		-o Acquire::Retries=3
}

# apt_update SUITE: a sources list with SUITE and SUITE-security, then update.
apt_update() {
	local suite=$1 d=$KERNEL_CACHE/apt/$1 mirror opts
	mirror=$(host_mirror)
	mkdir -p "$d/lists/partial" "$d/cache/archives/partial"
	{
		echo "deb [signed-by=$KEYRING] $mirror $suite main"
		echo "deb [signed-by=$KEYRING] ${mirror}-security $suite-security main"
	} >"$d/sources.list"
	mapfile -t opts < <(apt_opts "$suite")
	log "$suite: apt-get update from $mirror"
	apt-get "${opts[@]}" -qq update
}

# apt_fetch SUITE PKG DESTDIR: download PKG's candidate .deb into DESTDIR and
# print its path.
apt_fetch() {
	local suite=$1 pkg=$2 dest=$3 opts debs
	mapfile -t opts < <(apt_opts "$suite")
	mkdir -p "$dest"
	rm -f "$dest/${pkg}"_*.deb
	(cd "$dest" && apt-get "${opts[@]}" -qq download "$pkg") >&2
	debs=("$dest/${pkg}"_*.deb)
	[[ -f "${debs[0]}" ]] || die "$suite: apt-get download $pkg left no .deb"
	echo "${debs[0]}"
}

# kernel_package SUITE: the versioned image package linux-image-amd64 depends on.
kernel_package() {
	local opts pkg
	mapfile -t opts < <(apt_opts "$1")
	pkg=$(apt-cache "${opts[@]}" show --no-all-versions linux-image-amd64 |
		sed -n 's/^Depends: \(linux-image-[^ ,]*\).*/\1/p' | head -1)
	[[ -n "$pkg" ]] || die "$1: no linux-image-amd64 in the package lists"
	echo "$pkg"
}

# ==== Kernel tree ====

# The directories of modules the guests never load: dropped to keep the cache small.
PRUNE=(drivers/gpu drivers/media drivers/net/wireless drivers/infiniband drivers/staging
	drivers/scsi drivers/iio drivers/input sound fs/ocfs2 fs/btrfs fs/xfs drivers/md
	drivers/usb drivers/bluetooth net/bluetooth drivers/hid drivers/isdn drivers/net/ethernet)

# extract_kernel DEB DIR: kernel and modules into DIR/root, depmod; prints the release.
extract_kernel() {
	local deb=$1 dir=$2 release p
	rm -rf "$dir/root"
	mkdir -p "$dir/root"
	dpkg-deb -x "$deb" "$dir/root"
	release=$(find "$dir/root/lib/modules" "$dir/root/usr/lib/modules" -mindepth 1 -maxdepth 1 -type d \
		-printf '%f\n' 2>/dev/null | head -1)
	[[ -n "$release" ]] || die "no /lib/modules/RELEASE in $deb"
	# Newer packages ship usr/lib/modules: keep one path for the guest.
	if [[ -d "$dir/root/usr/lib/modules/$release" && ! -d "$dir/root/lib/modules/$release" ]]; then
		mkdir -p "$dir/root/lib/modules"
		mv "$dir/root/usr/lib/modules/$release" "$dir/root/lib/modules/"
	fi
	for p in "${PRUNE[@]}"; do
		rm -rf "$dir/root/lib/modules/$release/kernel/$p"
	done
	depmod -b "$dir/root" "$release"
	cp "$dir/root/boot/vmlinuz-$release" "$dir/vmlinuz"
	cp "$dir/root/boot/config-$release" "$dir/config"
	echo "$release"
}

# mod_path MODDIR NAME: the path of module NAME relative to MODDIR, from modules.dep.
mod_path() {
	awk -F: -v n="$2" '{
		f = $1; sub(/.*\//, "", f); sub(/\.ko(\.xz|\.zst|\.gz)?$/, "", f); gsub("-", "_", f)
		m = n; gsub("-", "_", m)
		if (f == m) { print $1; exit }
	}' "$1/modules.dep"
}

# mod_order MODDIR NAME...: module files to insmod, dependencies first,
# each once. A name that is built in (modules.builtin) is skipped.
mod_order() {
	local dir=$1 n path deps d
	shift
	for n in "$@"; do
		path=$(mod_path "$dir" "$n")
		if [[ -z "$path" ]]; then
			if grep -qE "/${n//_/[_-]}\.ko$" "$dir/modules.builtin" 2>/dev/null; then
				continue
			fi
			die "module $n is neither in modules.dep nor built in"
		fi
		deps=$(awk -F': *' -v p="$path" '$1 == p { print $2; exit }' "$dir/modules.dep")
		# modules.dep lists the deepest dependency last.
		for d in $(echo "$deps" | tr ' ' '\n' | tac); do
			mod_order_file "$dir" "$d"
		done
		mod_order_file "$dir" "$path"
	done
}

# mod_order_file MODDIR PATH: print PATH once (MOD_SEEN tracks what was printed).
declare -A MOD_SEEN=()
mod_order_file() {
	[[ -n "${MOD_SEEN[$2]:-}" ]] && return 0
	MOD_SEEN[$2]=1
	echo "$2"
}

# ==== Initramfs ====

# The busybox-static binary, extracted once from the host release's package.
busybox_bin() {
	local d=$KERNEL_CACHE/busybox deb
	if [[ ! -x "$d/bin/busybox" ]]; then
		[[ -d "$KERNEL_CACHE/apt/$BUSYBOX_SUITE/lists" ]] || apt_update "$BUSYBOX_SUITE"
		deb=$(apt_fetch "$BUSYBOX_SUITE" busybox-static "$KERNEL_CACHE/debs")
		rm -rf "$d.tmp"
		dpkg-deb -x "$deb" "$d.tmp"
		rm -rf "$d"
		mkdir -p "$d/bin"
		mv "$d.tmp/bin/busybox" "$d/bin/busybox"
		rm -rf "$d.tmp"
	fi
	echo "$d/bin/busybox"
}

# build_initramfs DIR RELEASE: DIR/initramfs.cpio.gz with busybox, the 9p
# module chain (uncompressed: busybox insmod reads plain ELF) and /init.
build_initramfs() {
	local dir=$1 release=$2 moddir stage bb f order
	moddir=$dir/root/lib/modules/$release
	stage=$dir/initramfs.d
	bb=$(busybox_bin)
	rm -rf "$stage"
	mkdir -p "$stage"/{bin,sbin,proc,sys,dev,host,modules,tmp}
	cp "$bb" "$stage/bin/busybox"
	ln -s busybox "$stage/bin/sh"
	cp "$ROOT/scripts/kernels/guest-init.sh" "$stage/init"
	chmod 755 "$stage/init"
	MOD_SEEN=()
	order=$(mod_order "$moddir" virtio_pci 9pnet_virtio 9p)
	: >"$stage/modules/order"
	for f in $order; do
		local base
		base=$(basename "$f")
		case "$f" in
		*.ko.xz) xz -dc "$moddir/$f" >"$stage/modules/${base%.xz}" ;;
		*.ko.zst) zstd -qdc "$moddir/$f" >"$stage/modules/${base%.zst}" ;;
		*.ko.gz) gzip -dc "$moddir/$f" >"$stage/modules/${base%.gz}" ;;
		*) cp "$moddir/$f" "$stage/modules/$base" ;;
		esac
		echo "${base%.ko*}.ko" >>"$stage/modules/order"
	done
	(cd "$stage" && find . -print0 | cpio --null -o -H newc --quiet) | gzip -1 >"$dir/initramfs.cpio.gz.tmp"
	mv "$dir/initramfs.cpio.gz.tmp" "$dir/initramfs.cpio.gz"
	log "$(basename "$dir"): initramfs modules: $(tr '\n' ' ' <"$stage/modules/order")"
	rm -rf "$stage"
}

# ==== Per suite ====

prepare_suite() {
	local suite=$1 dir=$KERNEL_CACHE/$1 pkg deb release
	if [[ -f "$dir/ready" && "$KERNEL_REFRESH" != 1 ]]; then
		# The initramfs follows guest-init.sh; rebuild it (a second) when that changed.
		if [[ "$ROOT/scripts/kernels/guest-init.sh" -nt "$dir/initramfs.cpio.gz" ]]; then
			build_initramfs "$dir" "$(cat "$dir/ready")"
		fi
		log "$suite: cached $(cat "$dir/ready")"
		return 0
	fi
	apt_update "$suite"
	pkg=$(kernel_package "$suite")
	if [[ -f "$dir/ready" && "$(cat "$dir/package" 2>/dev/null)" == "$pkg" ]]; then
		log "$suite: $pkg is still current"
		touch "$dir/ready"
		return 0
	fi
	log "$suite: downloading $pkg"
	deb=$(apt_fetch "$suite" "$pkg" "$KERNEL_CACHE/debs")
	rm -f "$dir/ready"
	mkdir -p "$dir"
	release=$(extract_kernel "$deb" "$dir")
	build_initramfs "$dir" "$release"
	echo "$pkg" >"$dir/package"
	rm -f "$deb"
	echo "$release" >"$dir/ready"
	log "$suite: ready, kernel $release"
}

main() {
	local suites=("$@") s
	[[ ${#suites[@]} -gt 0 ]] || suites=(bullseye bookworm trixie)
	ensure_host_tools
	mkdir -p "$KERNEL_CACHE"
	for s in "${suites[@]}"; do
		[[ "$s" =~ ^[a-z]+$ ]] || die "bad suite name '$s'"
		prepare_suite "$s"
	done
}

main "$@"
