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
 */
#ifndef DATASET_H
#define DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "sh_types.h"

#define LG_PERSONS_MAX 1000000u
#define LG_CATALOG_BUILTIN 300u

struct lg_item {
    char code[SH_ID_MAX];
    int64_t unit_price; /* fen per unit, > 0: a line is qty x this */
};

struct lg_catalog {
    struct lg_item *items;
    size_t n;
};

struct lg_persons {
    char (*ids)[SH_PERSON_ID_LEN + 1];
    size_t n;
};

/* Person i of the built-in dataset: region 330424, a birth date and a
 * sequence number that no other i shares, and a valid check character. */
void lg_person_id(uint64_t index, char out[SH_PERSON_ID_LEN + 1]);

/* The generator's unit price of an item code (fen, 100..30099). */
int64_t lg_unit_price(const char *code);

/* The built-in catalog: A0001..A0120, B0001..B0120, C0001..C0060. */
int lg_catalog_builtin(struct lg_catalog *out);

/* Reads catalog codes and the ids of living persons from a case-format
 * JSON document (a --make-dataset file, or any cases/ file). */
int lg_dataset_read(const char *path, struct lg_catalog *catalog, struct lg_persons *persons,
                    char *err, size_t cap);

/* Narrows or replaces persons by spec:
 *   NULL     as they are (with no dataset: gen:10000)
 *   gen:N    the first N built-in persons
 *   A-B      persons A..B (0-based, inclusive) of the dataset (built-in ids without one)
 *   FILE     one resident id per line */
int lg_persons_select(const char *spec, struct lg_persons *persons, char *err, size_t cap);

void lg_catalog_free(struct lg_catalog *c);
void lg_persons_free(struct lg_persons *p);

/* --make-dataset: writes the built-in dataset with n persons to out_path. */
int lg_dataset_make(size_t n, const char *policy_path, const char *out_path, char *err,
                    size_t cap);

#endif
