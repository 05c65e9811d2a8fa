// SPDX-License-Identifier: MIT
/*
 * Address classification for dst_class, dst_zone and src_zone: a
 * longest-prefix match over the configured networks, then over the built-in
 * classes.
 *
 * Each address family has two binary tries (configured, built-in), one node
 * per prefix bit, kept in one array and linked by index. A lookup walks at
 * most 32 or 128 nodes, remembering the last node that ends a prefix: no
 * per-lookup scan of the (up to 256) configured networks, and no allocation.
 * 256 IPv6 /128 networks make at most 32768 nodes (12 bytes each).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "enrich/netclass.h"

#define NETCLASS_NONE UINT32_MAX

static const char class_localhost[] = "localhost";
static const char class_internal[] = "internal";
static const char class_external[] = "external";

struct netclass_node {
	uint32_t child[2]; /* node index, or NETCLASS_NONE */
	int32_t entry;	   /* index into entries[] of the prefix ending here, or -1 */
};

/* What a matching prefix gives; cls NULL: the built-in class. */
struct netclass_entry {
	const char *cls;
	const char *zone;
};

/* The tries, by family (0: IPv4, 1: IPv6) and tier (0: configured, 1: built-in). */
struct netclass {
	struct netclass_node *nodes;
	size_t n_nodes, cap_nodes;
	uint32_t root[2][2];
	struct netclass_entry *entries;
	size_t n_entries;
	struct config_network *nets; /* the configured entries' strings */
};

static const struct {
	uint16_t family;
	uint8_t prefix;
	uint8_t addr[16];
	const char *cls;
} builtin[] = {
	{ AF_INET, 8, { 127 }, class_localhost },
	{ AF_INET6, 128, { [15] = 1 }, class_localhost },
	{ AF_INET, 8, { 10 }, class_internal },
	{ AF_INET, 12, { 172, 16 }, class_internal },
	{ AF_INET, 16, { 192, 168 }, class_internal },
	{ AF_INET, 10, { 100, 64 }, class_internal },
	{ AF_INET, 16, { 169, 254 }, class_internal },
	{ AF_INET, 15, { 198, 18 }, class_internal }, /* benchmarking, RFC 2544 */
	{ AF_INET6, 7, { 0xfc }, class_internal },
	{ AF_INET6, 10, { 0xfe, 0x80 }, class_internal },
};

static int node_new(struct netclass *nc, uint32_t *out)
{
	if (nc->n_nodes == nc->cap_nodes) {
		size_t cap = nc->cap_nodes ? nc->cap_nodes * 2 : 64;
		struct netclass_node *nodes = reallocarray(nc->nodes, cap, sizeof(*nodes));

		if (!nodes)
			return -ENOMEM;
		nc->nodes = nodes;
		nc->cap_nodes = cap;
	}
	nc->nodes[nc->n_nodes] = (struct netclass_node){ { NETCLASS_NONE, NETCLASS_NONE }, -1 };
	*out = (uint32_t)nc->n_nodes++;
	return 0;
}

static bool bit_at(const uint8_t *addr, unsigned int i)
{
	return (addr[i / 8] >> (7 - i % 8)) & 1;
}

/* Insert a prefix; the first entry for an exact prefix stays (config rejects duplicates). */
static int trie_insert(struct netclass *nc, uint32_t root, const uint8_t *addr, unsigned int prefix,
		       int32_t entry)
{
	uint32_t n = root, next;
	unsigned int i;
	int err;

	for (i = 0; i < prefix; i++) {
		bool b = bit_at(addr, i);

		if (nc->nodes[n].child[b] == NETCLASS_NONE) {
			err = node_new(nc, &next);
			if (err)
				return err;
			nc->nodes[n].child[b] = next;
		}
		n = nc->nodes[n].child[b];
	}
	if (nc->nodes[n].entry < 0)
		nc->nodes[n].entry = entry;
	return 0;
}

/* The entry of the longest prefix of addr in the trie, or -1. */
static int32_t trie_match(const struct netclass *nc, uint32_t root, const uint8_t *addr,
			  unsigned int bits)
{
	uint32_t n = root;
	int32_t best = nc->nodes[n].entry;
	unsigned int i;

	for (i = 0; i < bits; i++) {
		n = nc->nodes[n].child[bit_at(addr, i)];
		if (n == NETCLASS_NONE)
			break;
		if (nc->nodes[n].entry >= 0)
			best = nc->nodes[n].entry;
	}
	return best;
}

static int family_index(uint16_t family)
{
	if (family == AF_INET)
		return 0;
	if (family == AF_INET6)
		return 1;
	return -1;
}

struct netclass *netclass_new(const struct config_network *nets, size_t n)
{
	size_t n_builtin = sizeof(builtin) / sizeof(builtin[0]), i;
	struct netclass *nc;
	int f, t, err = 0;

	if ((n && !nets) || n > CONFIG_MAX_NETWORKS) {
		errno = EINVAL;
		return NULL;
	}
	for (i = 0; i < n; i++) {
		f = family_index(nets[i].family);
		if (f < 0 || nets[i].prefix > (f ? 128 : 32)) {
			errno = EINVAL;
			return NULL;
		}
	}
	nc = calloc(1, sizeof(*nc));
	if (!nc)
		goto nomem;
	nc->entries = calloc(n + n_builtin, sizeof(*nc->entries));
	nc->nets = calloc(n ? n : 1, sizeof(*nc->nets));
	if (!nc->entries || !nc->nets)
		goto nomem;
	if (n)
		memcpy(nc->nets, nets, n * sizeof(*nets));
	for (f = 0; f < 2; f++) {
		for (t = 0; t < 2; t++) {
			err = node_new(nc, &nc->root[f][t]);
			if (err)
				goto nomem;
		}
	}
	for (i = 0; i < n; i++) {
		struct netclass_entry *e = &nc->entries[nc->n_entries];

		e->cls = nc->nets[i].class_name[0] ? nc->nets[i].class_name : NULL;
		e->zone = nc->nets[i].zone;
		err = trie_insert(nc, nc->root[family_index(nets[i].family)][0], nc->nets[i].addr,
				  nc->nets[i].prefix, (int32_t)nc->n_entries);
		if (err)
			goto nomem;
		nc->n_entries++;
	}
	for (i = 0; i < n_builtin; i++) {
		struct netclass_entry *e = &nc->entries[nc->n_entries];

		e->cls = builtin[i].cls;
		e->zone = "";
		err = trie_insert(nc, nc->root[family_index(builtin[i].family)][1], builtin[i].addr,
				  builtin[i].prefix, (int32_t)nc->n_entries);
		if (err)
			goto nomem;
		nc->n_entries++;
	}
	return nc;

nomem:
	netclass_free(nc);
	errno = ENOMEM;
	return NULL;
}

void netclass_free(struct netclass *nc)
{
	if (!nc)
		return;
	free(nc->nodes);
	free(nc->entries);
	free(nc->nets);
	free(nc);
}

void netclass_lookup(const struct netclass *nc, uint16_t family, const uint8_t addr[16],
		     const char **cls, const char **zone)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	const char *c = class_external, *z = "";
	int32_t user, base;
	int f;

	f = family_index(family);
	if (f == 1 && !memcmp(addr, mapped, sizeof(mapped))) {
		addr += 12;
		f = 0;
	}
	if (nc && addr && f >= 0) {
		user = trie_match(nc, nc->root[f][0], addr, f ? 128 : 32);
		if (user >= 0)
			z = nc->entries[user].zone;
		if (user >= 0 && nc->entries[user].cls) {
			c = nc->entries[user].cls;
		} else {
			base = trie_match(nc, nc->root[f][1], addr, f ? 128 : 32);
			if (base >= 0)
				c = nc->entries[base].cls;
		}
	}
	if (cls)
		*cls = c;
	if (zone)
		*zone = z;
}
