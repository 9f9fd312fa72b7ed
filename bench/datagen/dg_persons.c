/* The region's persons: ids from lg_person_id, everything else from a hash
 * of the index (and the seed), so any person can be made alone. */
#include <stdio.h>
#include <string.h>

#include "datagen.h"
#include "lg_util.h"

/* Per mille of persons, in the policy's category codes. */
#define ASSIST_DIBAO 50u
#define ASSIST_TEKUN 10u
#define ASSIST_EDGE 20u
#define YOUFU_ANY 10u
#define NOT_ENROLLED 30u
#define CATEGORY_YEARS 5 /* categories granted this many years before the year */

static const char *const assist_codes[3] = {"dibao", "tekun", "dibao_edge"};
static const char *const youfu_codes[4] = {"veteran", "martyr_family", "disabled_1_6",
                                           "demobilized_ill"};

static const char *assist_of(uint64_t r)
{
    if (r < ASSIST_DIBAO)
        return assist_codes[0];
    if (r < ASSIST_DIBAO + ASSIST_TEKUN)
        return assist_codes[1];
    return r < ASSIST_DIBAO + ASSIST_TEKUN + ASSIST_EDGE ? assist_codes[2] : NULL;
}

void dg_person_traits(uint64_t index, uint64_t seed, struct dg_traits *out)
{
    uint64_t h = lg_hash64(index ^ (seed * 0x9E3779B97F4A7C15ull));
    out->assist = assist_of(h % 1000u);
    out->youfu = (h >> 10) % 1000u < YOUFU_ANY ? youfu_codes[(h >> 20) % 4u] : NULL;
    out->enrolled = (h >> 30) % 1000u >= NOT_ENROLLED;
    out->deceased = lg_person_deceased(index); /* not seeded: the loadgen skips them */
    out->died_month = 1u + (unsigned)((h >> 40) % 12u);
}

static void category_init(Sanhe__PersonCategory *c, const char *fund, const char *code, char *from)
{
    sanhe__person_category__init(c);
    c->fund = (char *)(uintptr_t)fund; /* protobuf-c's fields are not const; only read */
    c->category = (char *)(uintptr_t)code;
    c->from = from;
}

void dg_person_shared_init(struct dg_person_shared *sh, const char *region, int32_t year)
{
    memset(sh, 0, sizeof *sh);
    lg_copy(sh->region, sizeof sh->region, region);
    sh->enrolled_yes[0] = year - 1;
    sh->enrolled_yes[1] = year;
    sh->enrolled_no[0] = year - 1;
    snprintf(sh->from, sizeof sh->from, "%04u-01-01", (unsigned)(year - CATEGORY_YEARS) % 10000u);
    for (unsigned m = 0; m < 12; m++)
        snprintf(sh->died[m], sizeof sh->died[m], "%04u-%02u-15", (unsigned)(year - 1) % 10000u,
                 (m + 1) % 100u);
    for (unsigned i = 0; i < 3; i++)
        category_init(&sh->assist[i], "assist", assist_codes[i], sh->from);
    for (unsigned i = 0; i < 4; i++)
        category_init(&sh->youfu[i], "youfu", youfu_codes[i], sh->from);
}

static Sanhe__PersonCategory *shared_category(Sanhe__PersonCategory *set, size_t n,
                                              const char *const *codes, const char *code)
{
    for (size_t i = 0; i < n; i++)
        if (codes[i] == code)
            return &set[i];
    return NULL;
}

void dg_person_fill(struct dg_person_row *row, uint64_t index, uint64_t seed,
                    struct dg_person_shared *sh)
{
    struct dg_traits t;
    dg_person_traits(index, seed, &t);
    Sanhe__Person *p = &row->msg;
    sanhe__person__init(p);
    lg_person_id(index, row->id);
    snprintf(row->name, sizeof row->name, "居民%07llu", (unsigned long long)(index % 10000000u));
    p->id = row->id;
    p->name = row->name;
    p->region = sh->region;
    p->enrolled = t.enrolled ? sh->enrolled_yes : sh->enrolled_no;
    p->n_enrolled = t.enrolled ? 2 : 1;
    if (t.assist != NULL)
        row->cats[p->n_categories++] = shared_category(sh->assist, 3, assist_codes, t.assist);
    if (t.youfu != NULL)
        row->cats[p->n_categories++] = shared_category(sh->youfu, 4, youfu_codes, t.youfu);
    p->categories = row->cats;
    if (t.deceased)
        p->died = sh->died[t.died_month - 1];
}
