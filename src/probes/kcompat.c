// SPDX-License-Identifier: MIT
/*
 * Kernel compatibility probes (see kcompat.h). Each loads a program of a few
 * instructions, or asks for a socket option, and closes it again: the
 * kernel's own answer, whatever its version string or the wording of its
 * verifier says.
 */
#include <errno.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "probes/kcompat.h"

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

static bool loads(enum bpf_prog_type type, const struct bpf_insn *insns, size_t n)
{
	int fd = bpf_prog_load(type, "gs_kcompat", "GPL", insns, n, NULL);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

bool kcompat_has_atomics(void)
{
	/* u64 on the stack; exchange it, then or into it. */
	const struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_1, .imm = 0 },
		{ .code = BPF_STX | BPF_MEM | BPF_DW,
		  .dst_reg = BPF_REG_10,
		  .src_reg = BPF_REG_1,
		  .off = -8 },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_1, .imm = 1 },
		{ .code = BPF_STX | BPF_ATOMIC | BPF_DW,
		  .dst_reg = BPF_REG_10,
		  .src_reg = BPF_REG_1,
		  .off = -8,
		  .imm = BPF_XCHG },
		{ .code = BPF_STX | BPF_ATOMIC | BPF_DW,
		  .dst_reg = BPF_REG_10,
		  .src_reg = BPF_REG_1,
		  .off = -8,
		  .imm = BPF_OR | BPF_FETCH },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};

	return loads(BPF_PROG_TYPE_SOCKET_FILTER, insns, sizeof(insns) / sizeof(insns[0]));
}

bool kcompat_prog_has_helper(enum bpf_prog_type type, enum bpf_func_id id)
{
	/* r1 is the context at entry: enough for helpers taking one. */
	const struct bpf_insn insns[] = {
		{ .code = BPF_JMP | BPF_CALL, .imm = id },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 1 },
		{ .code = BPF_JMP | BPF_EXIT },
	};

	return loads(type, insns, sizeof(insns) / sizeof(insns[0]));
}

bool kcompat_skb_has_current_task(void)
{
	/* bpf_get_current_comm(buf on the stack, 16): it takes a buffer. */
	const struct bpf_insn comm[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_X,
		  .dst_reg = BPF_REG_1,
		  .src_reg = BPF_REG_10 },
		{ .code = BPF_ALU64 | BPF_ADD | BPF_K, .dst_reg = BPF_REG_1, .imm = -16 },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_2, .imm = 16 },
		{ .code = BPF_JMP | BPF_CALL, .imm = BPF_FUNC_get_current_comm },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 1 },
		{ .code = BPF_JMP | BPF_EXIT },
	};

	return kcompat_prog_has_helper(BPF_PROG_TYPE_CGROUP_SKB, BPF_FUNC_get_current_pid_tgid) &&
	       kcompat_prog_has_helper(BPF_PROG_TYPE_CGROUP_SKB, BPF_FUNC_get_current_cgroup_id) &&
	       loads(BPF_PROG_TYPE_CGROUP_SKB, comm, sizeof(comm) / sizeof(comm[0]));
}

bool kcompat_prog_reads_task(enum bpf_prog_type type)
{
	/* bpf_probe_read_kernel(buf on the stack, 16, NULL) */
	const struct bpf_insn rd[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_X,
		  .dst_reg = BPF_REG_1,
		  .src_reg = BPF_REG_10 },
		{ .code = BPF_ALU64 | BPF_ADD | BPF_K, .dst_reg = BPF_REG_1, .imm = -16 },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_2, .imm = 16 },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_3, .imm = 0 },
		{ .code = BPF_JMP | BPF_CALL, .imm = BPF_FUNC_probe_read_kernel },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 1 },
		{ .code = BPF_JMP | BPF_EXIT },
	};

	return kcompat_prog_has_helper(type, BPF_FUNC_get_current_task) &&
	       loads(type, rd, sizeof(rd) / sizeof(rd[0]));
}

bool kcompat_has_netns_cookie(void)
{
	uint64_t cookie;

	return kcompat_netns_id_here(false, &cookie) == 0;
}

int kcompat_netns_id_here(bool by_ino, uint64_t *id)
{
	socklen_t len = sizeof(*id);
	struct stat st;
	int fd, err = 0;

	if (by_ino) {
		if (stat("/proc/thread-self/ns/net", &st))
			return -errno;
		*id = st.st_ino;
		return 0;
	}
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, id, &len))
		err = -errno;
	close(fd);
	return err;
}
