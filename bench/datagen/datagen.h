/*
 * sanhe-datagen's generator: a synthetic pooling region written straight
 * into an engine data directory through the ledger's own write path (admin
 * Load requests in group-commit batches, as `sanhe-engine load` does), so
 * the result is exactly what the engine would have stored.
 *
 * Everything is a pure function of the options: the same options give the
 * same region. Person ids, item codes and unit prices come from
 * bench/loadgen/dataset.h, so `sanhe-loadgen --persons gen:N --catalog
 * gen:M` draws from the region without reading it.
 */
#ifndef DATAGEN_H
#define DATAGEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "dataset.h"
#include "sanhe.pb-c.h"

#define DG_PERSONS_MAX LG_PERSONS_MAX
#define DG_ITEMS_MAX 200000u
#define DG_POLICY_BYTES_MAX (1u << 20)
#define DG_NAME_MAX 64

struct dg_options {
    const char *dir;         /* an existing, empty directory */
    uint64_t persons;        /* 1..DG_PERSONS_MAX */
    uint32_t items;          /* 1..DG_ITEMS_MAX */
    const char *policy_path; /* a sanhe.policy/1 document */
    int32_t year;            /* the enrolment year; 0: the policy's */
    uint64_t seed;           /* varies categories and enrolment, not ids */
    FILE *progress;          /* a line per million persons, or NULL */
};

struct dg_counts {
    uint64_t persons;
    uint32_t hospitals, items, policies, terminals;
};

/* Writes the region; 0, or -1 with the reason in err. */
int dg_generate(const struct dg_options *opt, struct dg_counts *out, char *err, size_t cap);

/* ---- The parts (dg_persons.c, dg_refdata.c) ------------------------------------ */

/* What a person of the region is, by index: about 3 % not enrolled in the
 * year, 5 % dibao, 1 % tekun, 2 % dibao_edge (assistance), 1 % an
 * entitled-person category, 0.1 % dead (lg_person_deceased). */
struct dg_traits {
    bool enrolled, deceased;
    const char *assist, *youfu; /* category codes of the policy, or NULL */
    unsigned died_month;        /* 1..12, when deceased */
};
void dg_person_traits(uint64_t index, uint64_t seed, struct dg_traits *out);

/* The messages persons point into, shared by all of them. */
struct dg_person_shared {
    char region[16];
    int32_t enrolled_yes[2], enrolled_no[1];
    char from[11];
    char died[12][11];
    Sanhe__PersonCategory assist[3], youfu[4];
};
void dg_person_shared_init(struct dg_person_shared *sh, const char *region, int32_t year);

/* One person's message and the strings it points to. */
struct dg_person_row {
    Sanhe__Person msg;
    Sanhe__PersonCategory *cats[2];
    char id[SH_PERSON_ID_LEN + 1];
    char name[24];
};
void dg_person_fill(struct dg_person_row *row, uint64_t index, uint64_t seed,
                    struct dg_person_shared *sh);

/* Hospitals for a region of n persons: every level, village clinics most
 * numerous, lg_bench_hospitals among them. */
struct dg_hospital_row {
    Sanhe__Hospital msg;
    char code[SH_CODE_MAX], name[DG_NAME_MAX], region[8];
};
uint32_t dg_hospital_count(uint64_t persons);
void dg_hospital_fill(struct dg_hospital_row *row, uint64_t persons, uint32_t index);

struct dg_item_row {
    Sanhe__CatalogItem msg;
    char code[SH_ID_MAX], name[DG_NAME_MAX];
};
void dg_item_fill(struct dg_item_row *row, uint32_t index);

struct dg_terminal_row {
    Sanhe__Terminal msg;
    char name[SH_CODE_MAX];
};
void dg_terminal_fill(struct dg_terminal_row *row, uint32_t index);

#endif
