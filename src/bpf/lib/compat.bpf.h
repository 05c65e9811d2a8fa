/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * Kernel-only helpers that keep one source loading on every supported kernel
 * (5.10 to today). Header-only, static __always_inline; include after
 * vmlinux.h and bpf_core_read.h.
 *
 * Three mechanisms, cheapest first:
 *
 * 1. CO-RE flavours (`struct net___old`) for a field whose type changed:
 *    libbpf picks the one the running kernel's BTF has.
 *
 * 2. Knobs in .rodata (`gs_netns_by_ino`, `gs_skb_has_netns_cookie`,
 *    `gs_skb_has_pid`), set by user space before load from a probe of the
 *    running kernel (src/kcompat.c). The verifier knows frozen .rodata
 *    values, so the branch not taken is dead code it never checks: a helper
 *    the kernel lacks may be called on the other side of such a test.
 *
 * 3. Instructions the verifier refuses wherever they appear (BPF_XCHG,
 *    BPF_OR and other fetching atomics before 5.12: "BPF_STX uses reserved
 *    fields") cannot be hidden by a knob. Every *.bpf.c is compiled twice:
 *    as is, and with -DGS_LEGACY into a build/X_legacy.skel.h whose ELF bytes
 *    user space loads instead when kcompat_has_atomics() says no (see
 *    KCOMPAT_DEFINE_SKEL_OPEN in src/kcompat.h). Write such operations with
 *    GS_XCHG()/GS_OR() below, never as __sync_* builtins. Plain adds
 *    (__sync_fetch_and_add whose result is unused, BPF_XADD) are fine on
 *    every kernel. A GS_LEGACY build must keep the same maps, programs and
 *    global variables as the normal one (the build compares the skeletons):
 *    use #ifdef GS_LEGACY inside function bodies only.
 *
 * To make a new program family portable: include this header, read netns
 * identities through gs_net_key()/gs_skb_net_key(), write xchg/or through
 * the macros, guard helpers that only some program types have (cgroup_skb)
 * with a knob set from kcompat_prog_has_helper(), and open its skeleton
 * with KCOMPAT_DEFINE_SKEL_OPEN.
 */
#ifndef GESPANN_COMPAT_BPF_H
#define GESPANN_COMPAT_BPF_H

/* Before 5.14 there is no SO_NETNS_COOKIE, so user space cannot name a
 * namespace by cookie: every netns identity is then the namespace's inode
 * number (what /proc/PID/ns/net shows), on both sides. */
const volatile bool gs_netns_by_ino = false;
/* bpf_get_netns_cookie() from cgroup_skb programs: not up to 6.12 at least (there on 6.18). */
const volatile bool gs_skb_has_netns_cookie = true;
/* bpf_get_current_pid_tgid() from cgroup_skb programs: not on 5.10 and 6.1 (there on 6.12). */
const volatile bool gs_skb_has_pid = true;

/* struct net's net_cookie was atomic64_t from 5.7 until 5.12 made it a u64
 * assigned at namespace creation (before that it was set lazily). */
struct net___old {
	atomic64_t net_cookie;
} __attribute__((preserve_access_index));

/* The netns identity the agent scopes and keys by: the cookie, or the inode
 * number where user space cannot read cookies (gs_netns_by_ino). */
static __always_inline __u64 gs_net_key(const struct net *net)
{
	if (gs_netns_by_ino)
		return BPF_CORE_READ(net, ns.inum);
	/* Matches only where the field is an atomic64_t. */
	if (bpf_core_field_exists(((struct net___old *)0)->net_cookie))
		return BPF_CORE_READ((struct net___old *)net, net_cookie.counter);
	return BPF_CORE_READ(net, net_cookie);
}

/* The same from a BTF pointer (tp_btf arguments and what is reached from
 * them, iterator contexts): direct loads, which the verifier turns into
 * fault-safe reads, instead of bpf_probe_read_kernel() calls. A NULL net
 * reads as 0. */
static __always_inline __u64 gs_net_key_btf(const struct net *net)
{
	if (gs_netns_by_ino)
		return net->ns.inum;
	if (bpf_core_field_exists(((struct net___old *)0)->net_cookie))
		return ((const struct net___old *)net)->net_cookie.counter;
	return net->net_cookie;
}

/* The netns identity of a cgroup_skb packet: the helper where the program
 * type has it, otherwise the owning socket's namespace read through
 * bpf_probe_read_kernel (the socket pointer cannot take arithmetic, so the
 * head of struct sock is copied and skc_net taken from the copy). 0 when the
 * packet has no full socket. */
/* Scratch for gs_skb_net_key(): off the stack, which the DNS paths need. */
struct gs_compat_head {
	char b[128];
};
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct gs_compat_head);
} gs_compat_scratch SEC(".maps");

static __always_inline __u64 gs_skb_net_key(struct __sk_buff *skb)
{
	__u32 off = bpf_core_field_offset(struct sock, __sk_common.skc_net), zero = 0;
	struct gs_compat_head *head;
	struct bpf_sock *sk;
	struct net *net;

	if (gs_skb_has_netns_cookie && !gs_netns_by_ino)
		return bpf_get_netns_cookie(skb);
	sk = skb->sk;
	if (!sk)
		return 0;
	sk = bpf_sk_fullsock(sk);
	if (!sk)
		return 0;
	head = bpf_map_lookup_elem(&gs_compat_scratch, &zero);
	if (!head)
		return 0;
	if (off > sizeof(head->b) - sizeof(net))
		return 0;
	if (bpf_probe_read_kernel(head->b, off + sizeof(net), sk))
		return 0;
	__builtin_memcpy(&net, head->b + off, sizeof(net));
	return gs_net_key(net);
}

/* The current task's tgid from a cgroup_skb program, 0 where the program
 * type has no bpf_get_current_pid_tgid(). */
static __always_inline __u32 gs_skb_current_pid(void)
{
	return gs_skb_has_pid ? bpf_get_current_pid_tgid() >> 32 : 0;
}

/* Atomic exchange and or: plain load/store in the GS_LEGACY build, for
 * kernels before 5.12. There the only concurrent writers these guard
 * against (refresh_live, bpf_for_each_map_elem, 5.13+) do not run, and the
 * flag bits are set under the socket's lock. */
#ifdef GS_LEGACY
#define GS_XCHG(p, v)                             \
	({                                        \
		__typeof__(*(p)) __gs_old = *(p); \
		*(p) = (v);                       \
		__gs_old;                         \
	})
#define GS_OR(p, v) ((void)(*(p) |= (v)))
#else
#define GS_XCHG(p, v) __sync_lock_test_and_set((p), (v))
#define GS_OR(p, v)   ((void)__sync_fetch_and_or((p), (v)))
#endif

#endif
