// SPDX-License-Identifier: MIT
/*
 * The flow table's storage: entries keyed by connection or flow and
 * interned label sets, reference-counted so that connections with the same
 * owner and peer share one set of strings. Both are uthash tables (Debian's
 * uthash-dev) hashed with a seeded mixer (flows_int.h): the keys hold
 * addresses, ports and names that other hosts choose.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "flows/flows_int.h"
#include "util/hashmix.h"

uint64_t flows_hash_seed; /* hashmix_seed_once, on the first hash */

struct entry *ftable_find(struct table *t, const struct ekey *k)
{
	struct entry *e;

	HASH_FIND(hh, t->head, k, sizeof(*k), e);
	return e;
}

struct entry *ftable_add(struct table *t, const struct ekey *k)
{
	struct entry *e = calloc(1, sizeof(*e));

	if (!e)
		return NULL;
	e->key = *k;
	HASH_ADD(hh, t->head, key, sizeof(e->key), e);
	if (!e->hh.tbl) { /* uthash could not grow (HASH_NONFATAL_OOM) */
		free(e);
		return NULL;
	}
	return e;
}

void ftable_del(struct flows *f, struct table *t, struct entry *e)
{
	HASH_DEL(t->head, e);
	flows_lset_put(f, e->ls);
	free(e);
}

void ftable_free(struct table *t)
{
	struct entry *e, *tmp;

	HASH_ITER(hh, t->head, e, tmp)
	{
		HASH_DEL(t->head, e);
		free(e);
	}
}

/* ==== Interned label sets ==== */

/* The key of values v (struct lset): its length, and the bytes into key
 * when key is not NULL. */
static size_t lset_key(char *const *v, char *key)
{
	size_t n = 0, len;

	for (int i = 0; i < U_MAX; i++) {
		if (key)
			key[n] = v[i] != NULL;
		n++;
		if (!v[i])
			continue;
		len = strlen(v[i]) + 1;
		if (key)
			memcpy(key + n, v[i], len);
		n += len;
	}
	return n;
}

/* Returns a referenced set equal to v (strings copied), or NULL (ENOMEM). */
struct lset *flows_lset_get(struct flows *f, char *const *v)
{
	char stack[512], *key = stack;
	size_t keylen = lset_key(v, NULL);
	struct lset *ls;

	if (keylen > sizeof(stack)) {
		key = malloc(keylen);
		if (!key)
			return NULL;
	}
	lset_key(v, key);
	HASH_FIND(hh, f->lsets, key, keylen, ls);
	if (key != stack)
		free(key);
	if (ls) {
		ls->refs++;
		return ls;
	}
	ls = calloc(1, sizeof(*ls) + keylen);
	if (!ls)
		return NULL;
	ls->keylen = lset_key(v, ls->key);
	for (size_t i = 0, n = 0; i < U_MAX; i++) {
		if (ls->key[n++])
			ls->v[i] = ls->key + n;
		if (ls->v[i])
			n += strlen(ls->v[i]) + 1;
	}
	ls->refs = 1;
	HASH_ADD(hh, f->lsets, key, ls->keylen, ls);
	if (!ls->hh.tbl) { /* uthash could not grow (HASH_NONFATAL_OOM) */
		free(ls);
		return NULL;
	}
	return ls;
}

void flows_lset_put(struct flows *f, struct lset *ls)
{
	if (!ls || --ls->refs)
		return;
	HASH_DEL(f->lsets, ls);
	free(ls);
}

void flows_lsets_free(struct flows *f)
{
	struct lset *ls, *tmp;

	HASH_ITER(hh, f->lsets, ls, tmp)
	{
		HASH_DEL(f->lsets, ls);
		free(ls);
	}
}
