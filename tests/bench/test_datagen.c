/*
 * sanhe-datagen's generator: a 20 000-person, 2 000-item region in a
 * temporary directory, read back through the ledger: persons by category
 * (exact counts: the generator is deterministic), their ids, the bench
 * terminals, two settlements to the fen of docs/rules.md, ledger_check, and the
 * persons table counted in LMDB itself. Also the id order the generator
 * writes in, and what sanhe-loadgen draws with gen:N and --catalog gen:M.
 */
#include "test_ledger_fixture.h"

#include <lmdb.h>

#include "datagen.h"
#include "lg_util.h"
#include "sh_person_id.h"

#define N_PERSONS 20000u
#define N_ITEMS 2000u
#define DATE "2026-06-15"

/* ---- The order persons are written in --------------------------------------------- */

static void check_order(uint64_t n)
{
    uint8_t *seen = calloc(n, 1);
    assert_non_null(seen);
    struct lg_person_order order;
    lg_person_order_init(&order, n);
    char prev[SH_PERSON_ID_LEN + 1] = "", id[SH_PERSON_ID_LEN + 1];
    uint64_t index, count = 0;
    while (lg_person_order_next(&order, &index)) {
        assert_true(index < n);
        assert_int_equal(seen[index], 0);
        seen[index] = 1;
        lg_person_id(index, id);
        assert_true(sh_person_id_valid(id));
        assert_true(strcmp(prev, id) < 0); /* ascending: LMDB appends */
        memcpy(prev, id, sizeof id);
        count++;
    }
    assert_int_equal(count, n);
    free(seen);
}

static void test_person_order(void **state)
{
    (void)state;
    check_order(N_PERSONS);
    check_order(123457); /* days with five sequence numbers, some with four */
    check_order(1);
}

/* ---- What the loadgen draws --------------------------------------------------------- */

static void test_loadgen_draws(void **state)
{
    (void)state;
    struct lg_persons p = {0};
    char err[128], out[SH_PERSON_ID_LEN + 1], id[SH_PERSON_ID_LEN + 1];
    assert_int_equal(lg_persons_select("gen:10000000", &p, err, sizeof err), 0);
    assert_null(p.ids); /* made when drawn: no 10-million-entry array */
    assert_int_equal(p.n, 10000000);
    lg_person_id(9999999, id);
    assert_string_equal(lg_persons_at(&p, 9999999, out), id);
    assert_int_not_equal(lg_persons_select("gen:10000001", &p, err, sizeof err), 0);
    uint64_t dead = 0;
    while (!lg_person_deceased(dead))
        dead++;
    lg_person_id(dead, id);
    assert_string_not_equal(lg_persons_at(&p, dead, out), id); /* a living neighbour */
    assert_false(lg_person_deceased(p.gen_first + dead + 1));
    lg_person_id(dead + 1, id);
    assert_string_equal(out, id);
    lg_persons_free(&p);

    struct lg_catalog c = {0};
    assert_int_equal(lg_catalog_select("gen:2000", &c, err, sizeof err), 0);
    assert_int_equal(c.n, 2000);
    static const char *const codes[] = {"A000001", "A000002", "B000001", "B000002", "C000001"};
    static const int64_t prices[] = {1938, 1772, 13926, 2521, 16295};
    for (int i = 0; i < 5; i++) {
        assert_string_equal(c.items[i].code, codes[i]);
        assert_int_equal(c.items[i].unit_price, prices[i]);
    }
    assert_string_equal(c.items[1999].code, "C000400");
    lg_catalog_free(&c);
    assert_int_equal(lg_catalog_select(NULL, &c, err, sizeof err), 0);
    assert_int_equal(c.n, LG_CATALOG_BUILTIN); /* the default is unchanged */
    lg_catalog_free(&c);
}

/* ---- The region --------------------------------------------------------------------- */

struct tally {
    unsigned enrolled, deceased, dibao, tekun, edge, youfu, none, unknown;
};

static void tally_fund(struct tally *t, const Sanhe__FundStatus *f, bool *category)
{
    if (strcmp(f->fund, "coop") == 0) {
        t->enrolled += f->applies;
        return;
    }
    if (!f->applies)
        return;
    *category = true;
    if (strcmp(f->fund, "youfu") == 0)
        t->youfu++;
    else if (strcmp(f->category, "dibao") == 0)
        t->dibao++;
    else if (strcmp(f->category, "tekun") == 0)
        t->tekun++;
    else if (strcmp(f->category, "dibao_edge") == 0)
        t->edge++;
}

static void tally_person(struct fx *f, const struct sh_caller *admin, uint64_t i, struct tally *t)
{
    char id[SH_PERSON_ID_LEN + 1];
    lg_person_id(i, id);
    assert_true(sh_person_id_valid(id));
    struct sh_reply reply = {0};
    Sanhe__Request *req = rq_eligibility(id, DATE);
    assert_int_equal(ledger_read(f->ledger, admin, req, &reply), 0);
    sanhe__request__free_unpacked(req, NULL);
    Sanhe__Response *resp = fx_unpack(reply);
    if (resp->error != NULL) {
        t->unknown++;
    } else {
        const Sanhe__EligibilityReply *e = resp->eligibility;
        bool category = false;
        t->deceased += e->deceased;
        for (size_t k = 0; k < e->n_funds; k++)
            tally_fund(t, e->funds[k], &category);
        t->none += !category;
    }
    sanhe__response__free_unpacked(resp, NULL);
}

/* Every person by eligibility: exact counts, and each near its share. */
static void check_persons(struct fx *f)
{
    struct sh_caller admin = fx_role(SH_ROLE_ADMIN);
    struct tally t = {0};
    for (uint64_t i = 0; i < N_PERSONS; i++)
        tally_person(f, &admin, i, &t);
    assert_int_equal(t.unknown, 0);
    assert_int_equal(t.enrolled, 19397); /* ~97 % */
    assert_int_equal(t.dibao, 1009);     /* ~5 % */
    assert_int_equal(t.tekun, 190);      /* ~1 % */
    assert_int_equal(t.edge, 415);       /* ~2 % */
    assert_int_equal(t.youfu, 201);      /* ~1 % */
    assert_int_equal(t.deceased, 21);    /* ~0.1 % */
    assert_int_equal(t.none, 18208);
    assert_in_range(t.enrolled, N_PERSONS * 96 / 100, N_PERSONS * 98 / 100);
    assert_in_range(t.dibao, N_PERSONS * 45 / 1000, N_PERSONS * 55 / 1000);
    assert_in_range(t.tekun, N_PERSONS * 8 / 1000, N_PERSONS * 12 / 1000);
    assert_in_range(t.edge, N_PERSONS * 17 / 1000, N_PERSONS * 23 / 1000);
    assert_in_range(t.youfu, N_PERSONS * 8 / 1000, N_PERSONS * 12 / 1000);
    /* Beyond the region: unknown. */
    struct tally beyond = {0};
    tally_person(f, &admin, N_PERSONS, &beyond);
    assert_int_equal(beyond.unknown, 1);
}

static void check_terminals(struct fx *f)
{
    for (unsigned i = 0; i < LG_BENCH_HOSPITALS; i++) {
        char name[SH_CODE_MAX];
        struct sh_caller c;
        lg_terminal_name(lg_bench_hospitals[i].code, name);
        assert_int_equal(ledger_terminal_find(f->ledger, name, &c), 0);
        assert_string_equal(c.hospital, lg_bench_hospitals[i].code);
        assert_int_equal(c.role, SH_ROLE_COUNTER);
    }
    struct sh_caller c;
    assert_string_equal(lg_bench_hospitals[0].code, "H330424201");
    assert_int_equal(ledger_terminal_find(f->ledger, "counter-h330424201", &c), 0);
}

/* An outpatient bill at the village clinic (level village: coop pays 60 %
 * of in_scope, no deductible). By docs/rules.md step 1:
 *   A000001 2 x 19.38   3876  class A, no cap            in_scope 3876
 *   A000003 1 x 15.21   1521  cap 13.68: over 153         in_scope 1368
 *   B000011 3 x 10.63   3189  own share 30 %: pre 957     in_scope 2232
 *   B000001 1 x 139.26 13926  policy share 10 %: pre 1393 in_scope 12533
 *   C000001 1 x 162.95 16295  out of scope
 * total 38807 = 16295 + 153 + 2350 + 20009. */
static Sanhe__Request *village_bill(const char *rid, uint64_t person)
{
    char id[SH_PERSON_ID_LEN + 1];
    lg_person_id(person, id);
    Sanhe__Claim *c = claim_new("H330424201", id, "outpatient", DATE);
    claim_line(c, "A000001", 2000, 3876);
    claim_line(c, "A000003", 1000, 1521);
    claim_line(c, "B000011", 3000, 3189);
    claim_line(c, "B000001", 1000, 13926);
    claim_line(c, "C000001", 1000, 16295);
    return rq_settle(rid, c);
}

static void check_bill(const Sanhe__Breakdown *b, int64_t coop, int64_t assist)
{
    assert_int_equal(b->total, 38807);
    assert_int_equal(b->out_of_scope, 16295);
    assert_int_equal(b->over_limit, 153);
    assert_int_equal(b->pre_selfpay, 2350);
    assert_int_equal(b->in_scope, 20009);
    assert_int_equal(b->n_funds, 3);
    assert_string_equal(b->funds[0]->fund, "coop");
    assert_int_equal(b->funds[0]->pay, coop);
    assert_string_equal(b->funds[1]->fund, "youfu");
    assert_int_equal(b->funds[1]->pay, 0);
    assert_string_equal(b->funds[1]->reason, "no_category");
    assert_string_equal(b->funds[2]->fund, "assist");
    assert_int_equal(b->funds[2]->pay, assist);
    assert_int_equal(b->fund_total, coop + assist);
    assert_int_equal(b->patient_pays, 38807 - coop - assist);
}

static void check_settle(struct fx *f, const char *rid, uint64_t person, int64_t coop,
                         int64_t assist)
{
    struct sh_caller counter;
    assert_int_equal(ledger_terminal_find(f->ledger, "counter-h330424201", &counter), 0);
    Sanhe__Response *resp = fx_call(f, &counter, village_bill(rid, person));
    if (resp->error != NULL)
        fail_msg("settle refused: %s", resp->error->message);
    check_bill(resp->settle->breakdown, coop, assist);
    sanhe__response__free_unpacked(resp, NULL);
}

/* The persons table itself: exactly the region's persons, valid ids. */
static void check_lmdb(const char *dir)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    MDB_cursor *cur;
    MDB_val k, v;
    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_maxdbs(env, 32), 0);
    assert_int_equal(mdb_env_open(env, dir, MDB_RDONLY, 0600), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, "persons", 0, &dbi), 0);
    assert_int_equal(mdb_cursor_open(txn, dbi, &cur), 0);
    unsigned count = 0;
    for (int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT), count++) {
        char id[SH_PERSON_ID_LEN + 1] = "";
        assert_int_equal(k.mv_size, SH_PERSON_ID_LEN);
        memcpy(id, k.mv_data, SH_PERSON_ID_LEN);
        assert_true(sh_person_id_valid(id));
    }
    assert_int_equal(count, N_PERSONS);
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    mdb_env_close(env);
}

static void test_region(void **state)
{
    (void)state;
    struct fx f = {0};
    const char *tmp = getenv("TMPDIR");
    snprintf(f.dir, sizeof f.dir, "%s/sanhe-datagen-XXXXXX", tmp != NULL ? tmp : "/tmp");
    assert_non_null(mkdtemp(f.dir));
    char policy[512], err[256];
    const char *data = getenv("SANHE_TEST_DATA");
    snprintf(policy, sizeof policy, "%s/policies/haiyan-2026.json", data != NULL ? data : "tests");
    struct dg_options o = {
        .dir = f.dir, .persons = N_PERSONS, .items = N_ITEMS, .policy_path = policy, .seed = 1};
    struct dg_counts n;
    if (dg_generate(&o, &n, err, sizeof err) != 0)
        fail_msg("dg_generate: %s", err);
    assert_int_equal(n.persons, N_PERSONS);
    assert_int_equal(n.hospitals, 116); /* 102 village, 10 township, 2 county, 1, 1 */
    assert_int_equal(n.items, N_ITEMS);
    assert_int_equal(n.policies, 1);
    assert_int_equal(n.terminals, 6);
    assert_int_not_equal(dg_generate(&o, &n, err, sizeof err), 0); /* not empty any more */

    f.cfg = (struct ledger_config){.dir = f.dir, .utc_offset_min = 480};
    f.now_ms = FX_NOW_MS;
    fx_open_ledger(&f);
    check_persons(&f);
    check_terminals(&f);
    check_settle(&f, "r-plain", 0, 12005, 0);     /* rnd(20009 x 6000, 10000) */
    check_settle(&f, "r-dibao", 39, 12005, 4002); /* dibao: 50 % of 20009 - 12005 */
    assert_int_equal(fx_check(&f), 0);
    ledger_close(f.ledger);
    check_lmdb(f.dir);
    fx_remove_tree(f.dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_person_order),
        cmocka_unit_test(test_loadgen_draws),
        cmocka_unit_test(test_region),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
