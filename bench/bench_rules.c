/*
 * bench-rules: the rules core alone, on one core. A Haiyan-like 2026 policy
 * (three funds, as policies/haiyan-2026.json) built in C, a person holding a
 * category in two funds, and a typical 20-line inpatient claim, settled in a
 * loop with accumulators that change every iteration so that nothing can be
 * hoisted out of it. Prints the median ns per settle over several runs.
 *
 *   bench-rules [--json FILE] [iterations per run] [runs]
 *
 * --json writes one object of kind "rules_core" (bench/run.sh's baseline):
 * achieved_per_s is settles per second of one core at the median run. It is
 * a closed loop of whole runs, so there is no offered rate and no latency
 * distribution of single settles: those fields are null.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sh_rules.h"

#define DEFAULT_ITERATIONS 1000000L
#define DEFAULT_RUNS 7
#define MAX_RUNS 99
#define N_LINES 20

struct bench {
    struct sh_policy policy;
    struct sh_hospital hospital;
    struct sh_person person;
    struct sh_item items[9];
    struct sh_line lines[N_LINES];
    const struct sh_item *line_items[N_LINES];
    struct sh_claim claim;
    struct sh_acc accs[4];
};

static struct bench B;

/* Bounded, and safe where GCC cannot tell that dst and src differ. */
static void set_str(char *dst, size_t cap, const char *src)
{
    size_t n = strnlen(src, cap - 1);
    memmove(dst, src, n);
    dst[n] = '\0';
}

/* Ratios by level: village, township, county, municipal, provincial. */
static void set_ratios(struct sh_band *b, int32_t v, int32_t t, int32_t c, int32_t m, int32_t p)
{
    b->ratio_bp[SH_LEVEL_VILLAGE] = v;
    b->ratio_bp[SH_LEVEL_TOWNSHIP] = t;
    b->ratio_bp[SH_LEVEL_COUNTY] = c;
    b->ratio_bp[SH_LEVEL_MUNICIPAL] = m;
    b->ratio_bp[SH_LEVEL_PROVINCIAL] = p;
}

/* One unbounded band at ratio for every level; annual_cap and cap_group
 * optional (SH_NO_CAP, NULL for the fund's id). */
static struct sh_rule *flat_rule(const struct sh_fund *f, struct sh_ruleset *rs, int visit,
                                 int32_t ratio, sh_fen annual_cap, const char *group)
{
    struct sh_rule *r = &rs->visit[visit];
    memset(r, 0, sizeof *r);
    r->present = true;
    r->claim_cap = SH_NO_CAP;
    r->annual_cap = annual_cap;
    set_str(r->cap_group, sizeof r->cap_group, group != NULL ? group : f->id);
    r->band_count = 1;
    r->bands[0].upto = SH_UNBOUNDED;
    set_ratios(&r->bands[0], ratio, ratio, ratio, ratio, ratio);
    return r;
}

static struct sh_fund *add_fund(struct sh_policy *p, const char *id, enum sh_fund_kind kind)
{
    struct sh_fund *f = &p->funds[p->fund_count++];
    set_str(f->id, sizeof f->id, id);
    f->kind = kind;
    return f;
}

static struct sh_ruleset *add_ruleset(struct sh_fund *f, const char *category)
{
    struct sh_ruleset *rs = &f->rulesets[f->ruleset_count++];
    set_str(rs->category, sizeof rs->category, category);
    return rs;
}

static void build_coop(struct sh_policy *p)
{
    struct sh_fund *f = add_fund(p, "coop", SH_FUND_INSURANCE);
    struct sh_ruleset *rs = add_ruleset(f, "default");
    struct sh_rule *r = flat_rule(f, rs, SH_VISIT_OUTPATIENT, 0, 150000, "outpatient");
    set_ratios(&r->bands[0], 6000, 5000, 4000, 3000, 0);
    r = flat_rule(f, rs, SH_VISIT_CHRONIC, 6000, 800000, "chronic");
    for (int l = 0; l < SH_LEVEL_COUNT; l++)
        r->deductible[l] = 50000;
    r->deductible_annual = true;
    r = flat_rule(f, rs, SH_VISIT_INPATIENT, 0, 30000000, "inpatient");
    r->deductible[SH_LEVEL_TOWNSHIP] = 30000;
    r->deductible[SH_LEVEL_COUNTY] = 80000;
    r->deductible[SH_LEVEL_MUNICIPAL] = 150000;
    r->deductible[SH_LEVEL_PROVINCIAL] = 200000;
    r->band_count = 3;
    r->bands[0].upto = 1000000;
    set_ratios(&r->bands[0], 0, 8500, 7500, 6500, 5500);
    r->bands[1].upto = 5000000;
    set_ratios(&r->bands[1], 0, 9000, 8000, 7000, 6000);
    r->bands[2].upto = SH_UNBOUNDED;
    set_ratios(&r->bands[2], 0, 9000, 8500, 7500, 6500);
}

static void build_youfu(struct sh_policy *p)
{
    static const struct {
        const char *category;
        int32_t out, chronic, in; /* bp; chronic 0 = no chronic rule */
        sh_fen out_cap, cap;
    } cats[] = {
        {"disabled_1_6", 10000, 10000, 10000, SH_NO_CAP, SH_NO_CAP},
        {"martyr_family", 7000, 9000, 9000, 300000, 4000000},
        {"veteran", 5000, 8000, 8000, 200000, 3000000},
        {"demobilized_ill", 2500, 0, 7000, 100000, 2000000},
    };
    struct sh_fund *f = add_fund(p, "youfu", SH_FUND_CATEGORY);
    for (size_t i = 0; i < sizeof cats / sizeof cats[0]; i++) {
        struct sh_ruleset *rs = add_ruleset(f, cats[i].category);
        flat_rule(f, rs, SH_VISIT_OUTPATIENT, cats[i].out, cats[i].out_cap,
                  cats[i].out_cap != SH_NO_CAP ? "outpatient" : NULL);
        if (cats[i].chronic != 0)
            flat_rule(f, rs, SH_VISIT_CHRONIC, cats[i].chronic, cats[i].cap, NULL);
        flat_rule(f, rs, SH_VISIT_INPATIENT, cats[i].in, cats[i].cap, NULL);
    }
}

static void build_assist(struct sh_policy *p)
{
    struct sh_fund *f = add_fund(p, "assist", SH_FUND_CATEGORY);
    struct sh_ruleset *rs = add_ruleset(f, "tekun");
    flat_rule(f, rs, SH_VISIT_OUTPATIENT, 5000, 100000, "outpatient");
    flat_rule(f, rs, SH_VISIT_CHRONIC, 10000, SH_NO_CAP, NULL);
    flat_rule(f, rs, SH_VISIT_INPATIENT, 10000, SH_NO_CAP, NULL);

    rs = add_ruleset(f, "dibao");
    flat_rule(f, rs, SH_VISIT_OUTPATIENT, 5000, 50000, "outpatient");
    flat_rule(f, rs, SH_VISIT_CHRONIC, 7000, 5000000, NULL);
    struct sh_rule *r = flat_rule(f, rs, SH_VISIT_INPATIENT, 7000, 5000000, NULL);
    r->band_count = 2;
    r->bands[0].upto = 2000000;
    r->bands[1].upto = SH_UNBOUNDED;
    set_ratios(&r->bands[1], 8000, 8000, 8000, 8000, 8000);

    static const struct {
        const char *category;
        int32_t ratio;
        sh_fen out_cap, ded, cap;
    } rest[] = {
        {"dibao_edge", 6000, 40000, 150000, 4000000},
        {"low_income", 5000, 30000, 300000, 3000000},
        {"illness_expense", 4000, SH_NO_CAP, 500000, 2000000},
    };
    for (size_t i = 0; i < sizeof rest / sizeof rest[0]; i++) {
        rs = add_ruleset(f, rest[i].category);
        if (rest[i].out_cap != SH_NO_CAP)
            flat_rule(f, rs, SH_VISIT_OUTPATIENT, 5000, rest[i].out_cap, "outpatient");
        r = flat_rule(f, rs, SH_VISIT_INPATIENT, rest[i].ratio, rest[i].cap, NULL);
        for (int l = 0; l < SH_LEVEL_COUNT; l++)
            r->deductible[l] = rest[i].ded;
        r->deductible_annual = true;
    }
}

static void build_policy(struct sh_policy *p)
{
    memset(p, 0, sizeof *p);
    set_str(p->region, sizeof p->region, "330424");
    p->year = 2026;
    p->effective_from = 20260101;
    p->effective_to = 20261231;
    p->class_b_selfpay_bp = 1000;
    p->rounding_unit = 1;
    build_coop(p);
    build_youfu(p);
    build_assist(p);
}

static void build_refdata(struct bench *b)
{
    set_str(b->hospital.code, sizeof b->hospital.code, "H330424001");
    set_str(b->hospital.region, sizeof b->hospital.region, "330424");
    b->hospital.level = SH_LEVEL_COUNTY;
    b->hospital.fund_count = 3;
    set_str(b->hospital.funds[0], SH_ID_MAX, "coop");
    set_str(b->hospital.funds[1], SH_ID_MAX, "youfu");
    set_str(b->hospital.funds[2], SH_ID_MAX, "assist");

    struct sh_person *p = &b->person;
    set_str(p->id, sizeof p->id, "330424195801110114");
    set_str(p->region, sizeof p->region, "330424");
    p->enrolled_count = 2;
    p->enrolled[0] = 2025;
    p->enrolled[1] = 2026;
    p->category_count = 2;
    set_str(p->categories[0].fund, SH_ID_MAX, "assist");
    set_str(p->categories[0].category, SH_ID_MAX, "dibao");
    p->categories[0].from = 20260101;
    set_str(p->categories[1].fund, SH_ID_MAX, "youfu");
    set_str(p->categories[1].category, SH_ID_MAX, "veteran");
    p->categories[1].from = 20200101;

    static const struct {
        const char *code;
        char cls;
        int32_t selfpay;
        sh_fen cap;
    } cat[] = {
        {"A001", 'A', SH_SELFPAY_POLICY, 1200},
        {"A002", 'A', SH_SELFPAY_POLICY, SH_NO_CAP},
        {"A003", 'A', SH_SELFPAY_POLICY, SH_NO_CAP},
        {"A004", 'A', SH_SELFPAY_POLICY, 2500},
        {"B001", 'B', SH_SELFPAY_POLICY, SH_NO_CAP},
        {"B002", 'B', 3000, 800000},
        {"B003", 'B', 0, SH_NO_CAP},
        {"C001", 'C', SH_SELFPAY_POLICY, SH_NO_CAP},
        {"C002", 'C', SH_SELFPAY_POLICY, SH_NO_CAP},
    };
    for (size_t i = 0; i < sizeof cat / sizeof cat[0]; i++) {
        set_str(b->items[i].code, sizeof b->items[i].code, cat[i].code);
        b->items[i].cls = (enum sh_item_class)cat[i].cls;
        b->items[i].selfpay_bp = cat[i].selfpay;
        b->items[i].price_cap = cat[i].cap;
    }
}

/* A week in a county hospital: an operation, bed days, drugs, tests. */
static void build_claim(struct bench *b)
{
    static const struct {
        int item; /* index into items */
        int64_t qty_milli;
        sh_fen amount;
    } lines[N_LINES] = {
        {2, 1000, 1250000}, {1, 7000, 420000}, {0, 14000, 18200}, {3, 3000, 8100},
        {3, 1500, 3900},    {4, 10000, 56300}, {4, 2500, 14080},  {5, 1000, 900000},
        {6, 4000, 26800},   {7, 2000, 388000}, {8, 3000, 60000},  {1, 1000, 60000},
        {0, 6000, 7800},    {4, 1000, 5630},   {6, 1500, 10050},  {3, 1000, 2600},
        {2, 500, 80000},    {7, 1000, 194000}, {4, 333, 1877},    {1, 2500, 150000},
    };
    struct sh_claim *c = &b->claim;
    set_str(c->hospital, sizeof c->hospital, b->hospital.code);
    set_str(c->person, sizeof c->person, b->person.id);
    c->visit = SH_VISIT_INPATIENT;
    c->date = 20260610;
    c->line_count = N_LINES;
    c->lines = b->lines;
    for (int i = 0; i < N_LINES; i++) {
        const struct sh_item *it = &b->items[lines[i].item];
        set_str(b->lines[i].code, sizeof b->lines[i].code, it->code);
        b->lines[i].qty_milli = lines[i].qty_milli;
        b->lines[i].amount = lines[i].amount;
        b->line_items[i] = it;
    }
    /* The person's accumulators of the year, some of them of other visits. */
    static const char *const keys[4][2] = {
        {"coop", "outpatient"}, {"coop", "inpatient"}, {"youfu", "youfu"}, {"assist", "assist"}};
    for (int i = 0; i < 4; i++) {
        set_str(b->accs[i].fund, SH_ID_MAX, keys[i][0]);
        set_str(b->accs[i].cap_group, SH_ID_MAX, keys[i][1]);
    }
}

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static long parse_arg(const char *s, long lo, long hi, const char *what)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || v < lo || v > hi) {
        fprintf(stderr, "bench-rules: %s must be %ld..%ld\n", what, lo, hi);
        exit(2);
    }
    return v;
}

/* One run: ns per settle. The accumulators move every iteration, within
 * what a year of claims gives, so each settle does the full work. */
static double run_once(long iterations, sh_fen *sink)
{
    struct sh_rules_input in = {
        .claim = &B.claim,
        .hospital = &B.hospital,
        .person = &B.person,
        .policy = &B.policy,
        .items = B.line_items,
        .accs = B.accs,
        .acc_count = 4,
    };
    struct sh_breakdown out;
    struct sh_error err;
    sh_fen acc = 0;
    double t0 = now_ns();
    for (long i = 0; i < iterations; i++) {
        B.accs[1].paid = (sh_fen)(i % 30000) * 1000; /* coop inpatient: up to its cap */
        B.accs[1].payable = (sh_fen)(i % 4000) * 10000;
        B.accs[3].paid = (sh_fen)(i % 5000) * 1000; /* assist: up to its cap */
        B.accs[3].deductible_met = (sh_fen)(i % 7);
        if (sh_rules_settle(&in, &out, &err) != 0) {
            fprintf(stderr, "bench-rules: settle refused: %s\n", err.msg);
            exit(1);
        }
        acc += out.fund_total + out.funds[2].pay;
    }
    double t1 = now_ns();
    *sink += acc;
    return (t1 - t0) / (double)iterations;
}

struct result {
    int runs;
    long iterations;
    double median, min, max; /* ns per settle */
};

static int write_json(const char *path, const struct result *r)
{
    json_t *o = json_pack(
        "{s:s, s:{s:i}, s:i, s:i, s:n, s:f, s:f, s:f, s:f, s:i, s:i, s:I, s:n, s:n, s:n, s:n, "
        "s:n, s:{}, s:i}",
        "kind", "rules_core", "op_mix", "settle", 100, "persons", 1, "connections", 0,
        "offered_per_s", "achieved_per_s", 1e9 / r->median, "ns_per_settle", r->median,
        "ns_per_settle_min", r->min, "ns_per_settle_max", r->max, "lines_per_claim", N_LINES,
        "runs", r->runs, "iterations", (json_int_t)r->iterations, "p50_us", "p90_us", "p99_us",
        "p999_us", "max_us", "errors", "errors_total", 0);
    size_t flags = JSON_INDENT(1) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(9);
    int rc = o != NULL ? json_dump_file(o, path, flags) : -1;
    json_decref(o);
    if (rc != 0)
        fprintf(stderr, "bench-rules: cannot write %s\n", path);
    return rc;
}

/* [--json FILE] [iterations] [runs], --json anywhere; exits 2 on a bad one. */
static void parse_args(int argc, char **argv, const char **json, long *iterations, int *runs)
{
    const char *pos[2] = {NULL, NULL};
    int npos = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0 && i + 1 < argc) {
            *json = argv[++i];
        } else if (npos < 2 && argv[i][0] != '-') {
            pos[npos++] = argv[i];
        } else {
            fprintf(stderr, "usage: bench-rules [--json FILE] [iterations per run] [runs]\n");
            exit(2);
        }
    }
    *iterations =
        pos[0] != NULL ? parse_arg(pos[0], 1, 1000000000L, "iterations") : DEFAULT_ITERATIONS;
    *runs = pos[1] != NULL ? (int)parse_arg(pos[1], 1, MAX_RUNS, "runs") : DEFAULT_RUNS;
}

int main(int argc, char **argv)
{
    const char *json = NULL;
    long iterations;
    int runs;
    parse_args(argc, argv, &json, &iterations, &runs);
    build_policy(&B.policy);
    build_refdata(&B);
    build_claim(&B);

    struct sh_rules_input in = {&B.claim,     &B.hospital, &B.person, &B.policy,
                                B.line_items, B.accs,      4};
    struct sh_breakdown out;
    struct sh_error err;
    if (sh_rules_settle(&in, &out, &err) != 0) {
        fprintf(stderr, "bench-rules: settle refused: %s\n", err.msg);
        return 1;
    }
    printf("claim: %u lines, total %lld fen; coop %lld, youfu %lld, assist %lld, patient %lld\n",
           B.claim.line_count, (long long)out.total, (long long)out.funds[0].pay,
           (long long)out.funds[1].pay, (long long)out.funds[2].pay, (long long)out.patient_pays);

    double ns[MAX_RUNS];
    sh_fen sink = 0;
    run_once(iterations / 10 + 1, &sink); /* warm up */
    for (int r = 0; r < runs; r++)
        ns[r] = run_once(iterations, &sink);
    qsort(ns, (size_t)runs, sizeof ns[0], cmp_double);
    double median = ns[runs / 2];
    printf("%d runs of %ld settles: median %.1f ns/settle (min %.1f, max %.1f), %.0f settles/s\n",
           runs, iterations, median, ns[0], ns[runs - 1], 1e9 / median);
    printf("(checksum %lld)\n", (long long)sink);
    struct result res = {runs, iterations, median, ns[0], ns[runs - 1]};
    return json != NULL && write_json(json, &res) != 0 ? 1 : 0;
}
