/*
 * The accumulator check: per person, policy year, fund and cap group, the
 * engine's paid and payable (eligibility) against the sums, over the
 * settlements the clients were told of and did not undo, of each fund's
 * pay and payable. Whatever order the engine committed the claims in, the
 * paid total is the sum of the pays it answered: a settlement lost after
 * its answer, or applied twice, leaves a difference here.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crash_req.h"
#include "crash_verify.h"
#include "sh_error.h"

struct acc_sum {
    int person;
    int32_t year;
    char fund[32];
    char cap_group[32];
    int64_t paid, payable;
    bool seen; /* the engine has it */
};

struct acc_sums {
    struct acc_sum *items;
    size_t count, cap;
};

static int person_index(const char *id)
{
    for (int p = 0; id != NULL && p < CRASH_PERSONS; p++)
        if (strcmp(crash_persons[p], id) == 0)
            return p;
    return -1;
}

static struct acc_sum *acc_find(struct acc_sums *s, int person, int32_t year, const char *fund,
                                const char *cap_group, bool create)
{
    for (size_t i = 0; i < s->count; i++) {
        struct acc_sum *a = &s->items[i];
        if (a->person == person && a->year == year && strcmp(a->fund, fund) == 0 &&
            strcmp(a->cap_group, cap_group) == 0)
            return a;
    }
    if (!create)
        return NULL;
    if (s->count == s->cap) {
        size_t cap = s->cap > 0 ? s->cap * 2 : 64;
        struct acc_sum *items = realloc(s->items, cap * sizeof *items);
        if (items == NULL)
            return NULL;
        s->items = items;
        s->cap = cap;
    }
    struct acc_sum *a = &s->items[s->count++];
    memset(a, 0, sizeof *a);
    a->person = person;
    a->year = year;
    snprintf(a->fund, sizeof a->fund, "%s", fund);
    snprintf(a->cap_group, sizeof a->cap_group, "%s", cap_group);
    return a;
}

/* Adds one settlement's fund shares (those that applied a rule name the
 * accumulator they touched by their cap group). */
static bool add_settlement(struct acc_sums *s, const Sanhe__Request *req, const Sanhe__Breakdown *b)
{
    int person = person_index(req->settle->claim->person);
    for (size_t f = 0; person >= 0 && f < b->n_funds; f++) {
        const Sanhe__FundShare *share = b->funds[f];
        if (share->cap_group == NULL || share->fund == NULL)
            continue;
        struct acc_sum *a =
            acc_find(s, person, b->policy_year, share->fund, share->cap_group, true);
        if (a == NULL)
            return false;
        a->paid += share->pay;
        a->payable += share->payable;
    }
    return person >= 0;
}

static bool expected_sums(struct crash_client *clients, int n, struct acc_sums *s,
                          struct crash_verdict *v)
{
    for (int k = 0; k < n; k++) {
        const struct crash_client *c = &clients[k];
        for (size_t i = 0; i < c->count; i++) {
            const struct crash_op *op = &c->ops[i];
            if (op->kind != CRASH_SETTLE || !op->landed || op->undone)
                continue;
            if (op->reply == NULL || op->reply->settle == NULL ||
                !add_settlement(s, op->request, op->reply->settle->breakdown)) {
                crash_verdict_fail(v, "%s %s: no breakdown to sum", c->hospital, op->rid);
                return false;
            }
        }
    }
    return true;
}

/* One engine accumulator against its expected sum (0 when none). */
static void compare_one(struct acc_sums *s, int p, const Sanhe__Accumulator *acc,
                        struct crash_verdict *v)
{
    struct acc_sum *a = acc_find(s, p, acc->year, acc->fund != NULL ? acc->fund : "",
                                 acc->cap_group != NULL ? acc->cap_group : "", false);
    int64_t paid = a != NULL ? a->paid : 0, payable = a != NULL ? a->payable : 0;
    if (a != NULL)
        a->seen = true;
    v->accumulators++;
    v->mismatches += acc->paid != paid || acc->payable != payable;
    if (acc->paid != paid || acc->payable != payable)
        crash_verdict_fail(v,
                           "person %d, %d %s/%s: the engine has paid %" PRId64 ", payable %" PRId64
                           "; the answered settlements sum to %" PRId64 " and %" PRId64,
                           p, acc->year, acc->fund, acc->cap_group, acc->paid, acc->payable, paid,
                           payable);
}

static void compare(struct acc_sums *s, Sanhe__Response **resps, struct crash_verdict *v)
{
    for (int p = 0; p < CRASH_PERSONS; p++) {
        const Sanhe__EligibilityReply *e = resps[p] != NULL ? resps[p]->eligibility : NULL;
        if (e == NULL) {
            crash_verdict_fail(v, "no eligibility of person %d", p);
            continue;
        }
        for (size_t i = 0; i < e->n_accumulators; i++)
            compare_one(s, p, e->accumulators[i], v);
    }
    for (size_t i = 0; i < s->count; i++) {
        const struct acc_sum *a = &s->items[i];
        v->mismatches += !a->seen && (a->paid != 0 || a->payable != 0);
        if (!a->seen && (a->paid != 0 || a->payable != 0))
            crash_verdict_fail(v,
                               "person %d, %d %s/%s: the engine has no accumulator; the "
                               "answered settlements sum to paid %" PRId64,
                               a->person, a->year, a->fund, a->cap_group, a->paid);
    }
}

bool crash_verify_accumulators(struct tc *tc, struct crash_client *clients, int n,
                               struct crash_verdict *v)
{
    struct acc_sums sums = {0};
    Sanhe__Request *reqs[CRASH_PERSONS];
    Sanhe__Response *resps[CRASH_PERSONS];
    for (int p = 0; p < CRASH_PERSONS; p++) {
        char rid[32];
        snprintf(rid, sizeof rid, "elig-%d", p);
        reqs[p] = crash_req_eligibility(rid, crash_persons[p]);
    }
    int rc = crash_run_all(tc, reqs, resps, CRASH_PERSONS);
    if (rc != 0)
        crash_verdict_fail(v, "eligibility queries failed: %s", sh_error_name(rc));
    else if (expected_sums(clients, n, &sums, v))
        compare(&sums, resps, v);
    for (int p = 0; p < CRASH_PERSONS; p++)
        sanhe__response__free_unpacked(resps[p], NULL);
    free(sums.items);
    return v->failure[0] == '\0';
}
