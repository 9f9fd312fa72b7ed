/* The region's hospitals, catalog and terminals. */
#include <stdio.h>
#include <string.h>

#include "datagen.h"
#include "lg_util.h"

/* ---- Hospitals ---------------------------------------------------------------------
 * A code is H + a six-digit region + a three-digit serial; the serial
 * range tells the level within a county (001-099 county hospitals, 101-199
 * township health centres, 201-999 village clinics), as lg_bench_hospitals
 * has it. A region that is full continues in the next county of the city. */

static const char *const counties[] = {"330424", "330481", "330482", "330483",
                                       "330421", "330402", "330411"};
#define COUNTIES (sizeof counties / sizeof counties[0])

struct level_plan {
    const char *level, *kind;
    const char *const *regions; /* NULL: the one region of region_one */
    const char *region_one;
    unsigned first, per_region;
    bool assist;
};

/* Highest level first, so a code's index is stable as n grows within a level. */
static const struct level_plan plans[] = {
    {"provincial", "省级医院", NULL, "330100", 1, 99, false},
    {"municipal", "市级医院", NULL, "330400", 1, 99, true},
    {"county", "县级医院", counties, NULL, 1, 99, true},
    {"township", "乡镇卫生院", counties, NULL, 101, 99, true},
    {"village", "村卫生室", counties, NULL, 201, 799, true},
};
#define LEVELS (sizeof plans / sizeof plans[0])

/* Per level, mildly growing with the region: a county of 500 000 has
 * about 150 village clinics, 15 township centres and 3 county hospitals;
 * ten million persons have 1100, 110 and 22. Always within the plan. */
static uint32_t level_count(size_t level, uint64_t persons)
{
    uint64_t villages = 100u + persons / 10000u;
    uint64_t n[LEVELS] = {1, 1 + persons / 2000000u, 2 + persons / 500000u, villages / 10u,
                          villages};
    const struct level_plan *p = &plans[level];
    uint64_t room = (uint64_t)p->per_region * (p->regions != NULL ? COUNTIES : 1);
    return (uint32_t)(n[level] < room ? n[level] : room);
}

uint32_t dg_hospital_count(uint64_t persons)
{
    uint32_t total = 0;
    for (size_t l = 0; l < LEVELS; l++)
        total += level_count(l, persons);
    return total;
}

static char *const funds_assist[] = {"coop", "youfu", "assist"};

void dg_hospital_fill(struct dg_hospital_row *row, uint64_t persons, uint32_t index)
{
    size_t l = 0;
    while (l + 1 < LEVELS && index >= level_count(l, persons))
        index -= level_count(l++, persons);
    const struct level_plan *p = &plans[l];
    const char *region = p->regions != NULL ? p->regions[index / p->per_region] : p->region_one;
    unsigned serial = p->first + index % p->per_region;
    snprintf(row->code, sizeof row->code, "H%.6s%03u", region, serial % 1000u);
    snprintf(row->name, sizeof row->name, "%s %.6s-%03u", p->kind, region, serial % 1000u);
    lg_copy(row->region, sizeof row->region, region);
    Sanhe__Hospital *h = &row->msg;
    sanhe__hospital__init(h);
    h->code = row->code;
    h->name = row->name;
    h->region = row->region;
    h->level = (char *)(uintptr_t)p->level;
    h->funds = (char **)(uintptr_t)funds_assist;
    h->n_funds = p->assist ? 3 : 2; /* a provincial hospital: no assistance */
}

/* ---- Catalog -------------------------------------------------------------------------
 * Codes and unit prices are lg_item_gen's. Of classes A and B, one item in
 * ten has a price cap below the unit price (the excess is over_limit), one
 * in ten a cap above it; of class B, three in ten have their own self-pay
 * share (30 %, 0 %, 20 %), the rest the policy's. */

void dg_item_fill(struct dg_item_row *row, uint32_t index)
{
    struct lg_item it;
    lg_item_gen(index, &it);
    uint64_t h = lg_hash64((uint64_t)index ^ 0xCA7A1060ull);
    char cls = it.code[0];
    static const char *const kinds[] = {"甲类", "乙类", "丙类"};
    static char *const classes[] = {"A", "B", "C"};
    lg_copy(row->code, sizeof row->code, it.code);
    snprintf(row->name, sizeof row->name, "%s项目 %s", kinds[cls - 'A'], it.code);
    Sanhe__CatalogItem *m = &row->msg;
    sanhe__catalog_item__init(m);
    m->code = row->code;
    m->name = row->name;
    m->class_ = classes[cls - 'A'];
    if (cls != 'C' && h % 10u < 2u) {
        m->has_price_cap = true;
        m->price_cap = h % 10u == 0 ? it.unit_price * 9 / 10 : it.unit_price * 3 / 2;
    }
    static const int32_t own_share[] = {3000, 0, 2000};
    if (cls == 'B' && (h >> 8) % 10u < 3u) {
        m->has_selfpay_bp = true;
        m->selfpay_bp = own_share[(h >> 8) % 10u];
    }
}

/* ---- Terminals: a counter at each of the bench hospitals -------------------------- */

void dg_terminal_fill(struct dg_terminal_row *row, uint32_t index)
{
    const struct lg_bench_hospital *bh = &lg_bench_hospitals[index % LG_BENCH_HOSPITALS];
    lg_terminal_name(bh->code, row->name);
    Sanhe__Terminal *t = &row->msg;
    sanhe__terminal__init(t);
    t->name = row->name;
    t->hospital = (char *)(uintptr_t)bh->code;
    t->role = "counter";
}
