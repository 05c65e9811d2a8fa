// SPDX-License-Identifier: MIT
/*
 * The flow table's storage: entries keyed by connection or flow (chained
 * hash, grown by doubling) and interned label sets, reference-counted so
 * that connections with the same owner and peer share one set of strings.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "flows/flows_int.h"
#include "util/hashmix.h"

static int ftable_grow(struct table *t)
{
	size_t nb = t->nb ? t->nb * 2 : 1024;
	struct entry **b = calloc(nb, sizeof(*b));

	if (!b)
		return -ENOMEM;
	for (size_t i = 0; i < t->nb; i++) {
		struct entry *e = t->b[i], *next;

		for (; e; e = next) {
			next = e->next;
			e->next = b[e->hash & (nb - 1)];
			b[e->hash & (nb - 1)] = e;
		}
	}
	free(t->b);
	t->b = b;
	t->nb = nb;
	return 0;
}

struct entry *ftable_find(struct table *t, const struct ekey *k, uint64_t h)
{
	if (!t->nb)
		return NULL;
	for (struct entry *e = t->b[h & (t->nb - 1)]; e; e = e->next)
		if (e->hash == h && !memcmp(&e->key, k, sizeof(*k)))
			return e;
	return NULL;
}

struct entry *ftable_add(struct table *t, const struct ekey *k, uint64_t h)
{
	struct entry *e;

	if (t->n + 1 > t->nb * 2 && ftable_grow(t))
		return NULL;
	if (!t->nb && ftable_grow(t))
		return NULL;
	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->key = *k;
	e->hash = h;
	e->next = t->b[h & (t->nb - 1)];
	t->b[h & (t->nb - 1)] = e;
	t->n++;
	return e;
}

void ftable_del(struct flows *f, struct table *t, struct entry *e)
{
	struct entry **pp = &t->b[e->hash & (t->nb - 1)];

	for (; *pp; pp = &(*pp)->next) {
		if (*pp == e) {
			*pp = e->next;
			t->n--;
			flows_lset_put(f, e->ls);
			free(e);
			return;
		}
	}
}

/* ==== Interned label sets ==== */

static uint64_t lset_hash(char *const *v)
{
	uint64_t h = FNV1A_INIT;

	for (int i = 0; i < U_MAX; i++) {
		if (v[i])
			h = fnv1a_bytes(h, v[i], strlen(v[i]));
		h = fnv1a_bytes(h, "\x1f", 1);
	}
	return h;
}

static bool lset_equal(char *const *a, char *const *b)
{
	for (int i = 0; i < U_MAX; i++) {
		if (!a[i] != !b[i])
			return false;
		if (a[i] && strcmp(a[i], b[i]))
			return false;
	}
	return true;
}

/* Returns a referenced set equal to v (strings copied), or NULL (ENOMEM). */
struct lset *flows_lset_get(struct flows *f, char *const *v)
{
	uint64_t h = lset_hash(v);
	struct lset *ls;
	size_t slot;

	if (f->ls_n + 1 > f->ls_nb * 2) {
		size_t nb = f->ls_nb ? f->ls_nb * 2 : 1024;
		struct lset **b = calloc(nb, sizeof(*b));

		if (!b)
			return NULL;
		for (size_t i = 0; i < f->ls_nb; i++) {
			struct lset *s = f->ls_b[i], *next;

			for (; s; s = next) {
				next = s->next;
				s->next = b[s->hash & (nb - 1)];
				b[s->hash & (nb - 1)] = s;
			}
		}
		free(f->ls_b);
		f->ls_b = b;
		f->ls_nb = nb;
	}
	slot = h & (f->ls_nb - 1);
	for (ls = f->ls_b[slot]; ls; ls = ls->next) {
		if (ls->hash == h && lset_equal(ls->v, v)) {
			ls->refs++;
			return ls;
		}
	}
	ls = calloc(1, sizeof(*ls));
	if (!ls)
		return NULL;
	for (int i = 0; i < U_MAX; i++) {
		if (!v[i])
			continue;
		ls->v[i] = strdup(v[i]);
		if (!ls->v[i]) {
			for (int j = 0; j < i; j++)
				free(ls->v[j]);
			free(ls);
			return NULL;
		}
	}
	ls->hash = h;
	ls->refs = 1;
	ls->next = f->ls_b[slot];
	f->ls_b[slot] = ls;
	f->ls_n++;
	return ls;
}

void flows_lset_put(struct flows *f, struct lset *ls)
{
	struct lset **pp;

	if (!ls || --ls->refs)
		return;
	for (pp = &f->ls_b[ls->hash & (f->ls_nb - 1)]; *pp; pp = &(*pp)->next) {
		if (*pp == ls) {
			*pp = ls->next;
			break;
		}
	}
	for (int i = 0; i < U_MAX; i++)
		free(ls->v[i]);
	free(ls);
	f->ls_n--;
}

void ftable_free(struct table *t)
{
	for (size_t i = 0; i < t->nb; i++) {
		struct entry *e = t->b[i], *next;

		for (; e; e = next) {
			next = e->next;
			free(e);
		}
	}
	free(t->b);
	t->b = NULL;
	t->nb = t->n = 0;
}

void flows_lsets_free(struct flows *f)
{
	for (size_t i = 0; i < f->ls_nb; i++) {
		struct lset *s = f->ls_b[i], *next;

		for (; s; s = next) {
			next = s->next;
			for (int u = 0; u < U_MAX; u++)
				free(s->v[u]);
			free(s);
		}
	}
	free(f->ls_b);
	f->ls_b = NULL;
	f->ls_nb = f->ls_n = 0;
}
