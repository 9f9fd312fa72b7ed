/*
 * What the generator draws claims from: catalog item codes (with a unit
 * price of the generator's own) and resident ids.
 *
 * The built-in dataset is a pure function of its size, so a run needs no
 * file: `--make-dataset N FILE` writes it as reference data for
 * `sanhe-engine load` (the Haiyan policy given with --policy, six hospitals,
 * one per level and two county ones, 300 catalog items, N persons with a mix
 * of categories, a counter terminal per hospital), and a run with no
 * --dataset draws from the same catalog and the first --persons gen:N ids.
 *
 * sanhe-datagen (bench/datagen) writes a whole region from the same
 * functions: person i is lg_person_id(i) (dead when lg_person_deceased(i)),
 * item i of `--catalog gen:M` is lg_item_gen(i), and the six hospitals and
 * terminals of lg_bench_hospitals are among its hospitals. Generated persons
 * are never held in an array: lg_persons_at makes the id of the one drawn.
 */
#ifndef DATASET_H
#define DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "sh_types.h"

#include <stdbool.h>

#define LG_PERSONS_MAX 10000000u     /* built-in persons: ids stay distinct up to 22.5 M */
#define LG_MAKE_PERSONS_MAX 1000000u /* --make-dataset: a JSON file, kept small */
#define LG_CATALOG_BUILTIN 300u
#define LG_CATALOG_GEN_MAX 1000000u /* --catalog gen:M: codes have 6 digits per class */
#define LG_BENCH_HOSPITALS 6u

struct lg_item {
    char code[SH_ID_MAX];
    int64_t unit_price; /* fen per unit, > 0: a line is qty x this */
};

struct lg_catalog {
    struct lg_item *items;
    size_t n;
};

/* Persons to draw from: ids (a dataset, a file), or, when ids is NULL, the
 * built-in persons gen_first .. gen_first + n - 1, made when drawn. */
struct lg_persons {
    char (*ids)[SH_PERSON_ID_LEN + 1];
    size_t n;
    uint64_t gen_first;
};

/* The six hospitals bench/latency.sh uses (one per level, two county), each
 * with a counter terminal "counter-h" + the code's digits. */
struct lg_bench_hospital {
    const char *code, *name, *level;
    bool assist; /* designated for medical assistance */
};
extern const struct lg_bench_hospital lg_bench_hospitals[LG_BENCH_HOSPITALS];

/* "counter-h330424001" for H330424001: the name ops/certs.sh certifies. */
void lg_terminal_name(const char *hospital, char out[SH_CODE_MAX]);

/* Person i of the built-in dataset: region 330424, a birth date and a
 * sequence number that no other i shares, and a valid check character. */
void lg_person_id(uint64_t index, char out[SH_PERSON_ID_LEN + 1]);

/* True for the 0.1 % of built-in persons sanhe-datagen writes as dead
 * (claims for them are refused, so a run does not draw them). */
bool lg_person_deceased(uint64_t index);

/* The built-in persons 0..n-1 in ascending id order (LMDB's key order, so
 * a writer appends): lg_person_order_next gives their indexes one by one. */
struct lg_person_order {
    uint64_t n;
    uint32_t day, seq;
};
void lg_person_order_init(struct lg_person_order *o, uint64_t n);
bool lg_person_order_next(struct lg_person_order *o, uint64_t *index);

/* The k-th person to draw (k < p->n): ids[k], or the built-in id of index
 * gen_first + k made in out (a living neighbour when that one is dead). */
const char *lg_persons_at(const struct lg_persons *p, size_t k, char out[SH_PERSON_ID_LEN + 1]);

/* The generator's unit price of an item code (fen, 100..30099). */
int64_t lg_unit_price(const char *code);

/* The built-in catalog: A0001..A0120, B0001..B0120, C0001..C0060. */
int lg_catalog_builtin(struct lg_catalog *out);

/* Item i of a generated catalog (--catalog gen:M is items 0..M-1): of each
 * five, two class A, two class B, one class C, coded A000001, A000002,
 * B000001, B000002, C000001, ...; unit price from 0.10 to 5000 yuan, mostly
 * cheap (drugs), a few dear (materials). */
void lg_item_gen(uint32_t index, struct lg_item *out);

/* Replaces or keeps *catalog by spec: NULL keeps it (the built-in one when
 * it is empty), "gen:M" (1..LG_CATALOG_GEN_MAX) makes items 0..M-1. */
int lg_catalog_select(const char *spec, struct lg_catalog *catalog, char *err, size_t cap);

/* Reads catalog codes and the ids of living persons from a case-format
 * JSON document (a --make-dataset file, or any cases/ file). */
int lg_dataset_read(const char *path, struct lg_catalog *catalog, struct lg_persons *persons,
                    char *err, size_t cap);

/* Narrows or replaces persons by spec:
 *   NULL     as they are (with no dataset: gen:10000)
 *   gen:N    the first N built-in persons (N <= LG_PERSONS_MAX, made when drawn)
 *   A-B      persons A..B (0-based, inclusive) of the dataset (built-in ids without one)
 *   FILE     one resident id per line */
int lg_persons_select(const char *spec, struct lg_persons *persons, char *err, size_t cap);

void lg_catalog_free(struct lg_catalog *c);
void lg_persons_free(struct lg_persons *p);

/* --make-dataset: writes the built-in dataset with n persons to out_path. */
int lg_dataset_make(size_t n, const char *policy_path, const char *out_path, char *err, size_t cap);

#endif
