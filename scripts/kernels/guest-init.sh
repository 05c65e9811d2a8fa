#!/bin/sh
# SPDX-License-Identifier: MIT
#
# guest-init.sh: /init of the initramfs that scripts/kernels/prepare.sh builds
# for the kernel test guests (busybox sh, not bash). It loads the virtio/9p
# modules listed in /modules/order, mounts the host's root read-only over
# virtio-9p (tag hostroot) at /host and the run's output directory (tag gsout,
# writable), gives /host what a running system has (proc, sys, dev, tmpfs
# /tmp and /run, bpffs, cgroup2), runs $GS_RUN (tests/kernels/guest_run.sh)
# in a chroot there, and powers off. This kernel's modules stay where
# prepare.sh extracted them ($GS_MODROOT/lib/modules/RELEASE, read with
# `modprobe -d`): the host may have no /lib/modules to mount them on.
#
# Set on the kernel command line, arriving as the environment:
#   GS_RUN     script run in the chroot with bash
#   GS_MODROOT host path of the tree holding this kernel's lib/modules
#   GS_SUITE   name of the guest, passed on to GS_RUN
#   GS_KEEP    host directories (colon-separated) the guest's own tmpfs /tmp
#              and /run must not hide: the tree, the kernel cache
# The chroot sees the results directory at /run/gespann-kt. Markers on the
# console (GSKT ...) let the host tell how far a guest got when it died.

/bin/busybox --install -s /bin
export PATH=/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev

say() { echo "GSKT $*" >/dev/console; }
die() {
	say "init-error $*"
	sync
	poweroff -f
	sleep 5
}

say "init kernel=$(uname -r)"
while read -r m; do
	[ -n "$m" ] || continue
	insmod "/modules/$m" || die "insmod $m"
done </modules/order

mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=262144,cache=loose hostroot /host ||
	die "mount hostroot"
H=/host
mount -t proc proc $H/proc || die "mount proc"
mount -t sysfs sysfs $H/sys || die "mount sys"
mount -t devtmpfs devtmpfs $H/dev || die "mount dev"
mkdir -p $H/dev/pts $H/dev/shm
mount -t devpts -o newinstance,ptmxmode=0666 devpts $H/dev/pts
mount -t tmpfs tmpfs $H/dev/shm
# A tree checked out under /tmp or /run stays visible: held aside while the
# tmpfs goes on, then bound back at its place.
keep() {
	n=0
	for d in $(echo "$GS_KEEP" | tr ':' ' '); do
		case $d in /tmp/* | /run/*) ;; *) continue ;; esac
		n=$((n + 1))
		mkdir -p "/keep/$n"
		if [ "$1" = hold ]; then
			mount -o bind "$H$d" "/keep/$n" || die "hold $d"
		else
			mkdir -p "$H$d"
			mount -o bind "/keep/$n" "$H$d" || die "restore $d"
		fi
	done
}
keep hold
mount -t tmpfs -o mode=1777 tmpfs $H/tmp || die "mount tmp"
mount -t tmpfs -o mode=755 tmpfs $H/run || die "mount run"
keep restore
mount -t bpf bpf $H/sys/fs/bpf || die "mount bpffs"
mount -t cgroup2 cgroup2 $H/sys/fs/cgroup || die "mount cgroup2"
mkdir -p $H/run/gespann-kt $H/run/lock
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144,cache=none gsout $H/run/gespann-kt ||
	die "mount gsout"

[ -d "$H$GS_MODROOT/lib/modules/$(uname -r)" ] || die "no modules in $GS_MODROOT"

# The kernel's own module requests (iptables, veth) run a helper in this
# initramfs root: pass them to the host's modprobe in the chroot.
mkdir -p /sbin
printf '#!/bin/sh\nexec /bin/chroot /host /sbin/modprobe -d "%s" "$@"\n' "$GS_MODROOT" >/sbin/modprobe
chmod 755 /sbin/modprobe
echo /sbin/modprobe >/proc/sys/kernel/modprobe

say "init chroot $GS_RUN"
chroot $H /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
	HOME=/root TERM=dumb LANG=C.UTF-8 GS_SUITE="$GS_SUITE" GS_OUT=/run/gespann-kt \
	GS_MODROOT="$GS_MODROOT" \
	/bin/bash "$GS_RUN"
say "init done rc=$?"
sync
poweroff -f
sleep 5
