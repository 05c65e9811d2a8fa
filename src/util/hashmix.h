/* SPDX-License-Identifier: MIT */
/*
 * Hashing helpers for the user-space tables: FNV-1a over bytes and label
 * values, a murmur3 finaliser for tables that index by the low bits, and for
 * those that take keys from the network (DNS transactions, host names, the
 * flow table) a 64-bit mixer and a random seed, so crafted traffic cannot aim
 * at one bucket. The uthash tables of src/enrich and src/flows hash with
 * hashmix_key under a seed drawn once per process (hashmix_seed_once),
 * through HASH_FUNCTION.
 */
#ifndef GESPANN_HASHMIX_H
#define GESPANN_HASHMIX_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#define FNV1A_INIT 0xcbf29ce484222325ULL

static inline uint64_t fnv1a_bytes(uint64_t h, const void *p, size_t n)
{
	const unsigned char *s = p;

	for (size_t i = 0; i < n; i++) {
		h ^= s[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

/* s with its NUL, so that ("ab", "c") and ("a", "bc") differ. */
static inline uint64_t fnv1a_str(uint64_t h, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	do {
		h ^= *p;
		h *= 0x100000001b3ULL;
	} while (*p++);
	return h;
}

/* murmur3's fmix64: FNV leaves the low bits weakly mixed for short keys. */
static inline uint64_t fmix64(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

/* splitmix64's finaliser. */
static inline uint64_t hashmix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

/* A random seed; the clock and salt (e.g. the table's address) when the
 * kernel's entropy is not ready. */
static inline uint64_t hashmix_seed(const void *salt)
{
	uint64_t seed;
	struct timespec ts;

	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) == sizeof(seed))
		return seed;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return hashmix64((uint64_t)ts.tv_nsec ^ (uint64_t)(uintptr_t)salt);
}

/* *slot, drawn once (hashmix_seed) on the first call and never 0 after:
 * the seed of every table a module keeps, for uthash's HASH_FUNCTION, which
 * cannot reach a per-table one. Concurrent first calls agree on one value. */
static inline uint64_t hashmix_seed_once(uint64_t *slot)
{
	uint64_t cur = __atomic_load_n(slot, __ATOMIC_ACQUIRE), want = 0;

	if (cur)
		return cur;
	cur = hashmix_seed(slot) | 1;
	if (__atomic_compare_exchange_n(slot, &want, cur, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return cur;
	return want;
}

/* Seeded hash of a len-byte key for uthash (32 bits): the 64-bit mixer over
 * the key's 8-byte words, the tail zero-padded, as the hand-written tables
 * keyed by DNS transactions and addresses did. */
static inline uint32_t hashmix_key(uint64_t seed, const void *key, size_t len)
{
	const unsigned char *p = key;
	uint64_t h = seed ^ len, w;

	for (; len >= 8; p += 8, len -= 8) {
		memcpy(&w, p, 8);
		h = hashmix64(h ^ w);
	}
	if (len) {
		w = 0;
		memcpy(&w, p, len);
		h = hashmix64(h ^ w);
	}
	return (uint32_t)(h ^ (h >> 32));
}

#endif
