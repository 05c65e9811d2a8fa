/* SPDX-License-Identifier: MIT */
/*
 * Hashing helpers for the user-space tables that take keys from the network
 * (DNS transactions, host names): a 64-bit mixer and a per-table random
 * seed, so crafted traffic cannot aim at one bucket.
 */
#ifndef GESPANN_HASHMIX_H
#define GESPANN_HASHMIX_H

#include <stdint.h>
#include <sys/random.h>
#include <time.h>

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

#endif
