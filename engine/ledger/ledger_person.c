/*
 * The admin person update: one person's record replaced whole, as a roster
 * import leaves it, without a full Load (docs/rosters.md). It goes through
 * the normal write batch. The record is checked before anything is written,
 * so a refusal writes nothing; nothing already settled changes (the monthly
 * cross-check lists what a change means for money already paid).
 */
#include <stdlib.h>
#include <string.h>

#include "convert.h"
#include "refdata.h"
#include "roster.h"
#include "sh_person_id.h"

bool roster_person_same(const struct sh_person *a, const struct sh_person *b)
{
    if (strcmp(a->id, b->id) != 0 || strcmp(a->name, b->name) != 0 ||
        strcmp(a->region, b->region) != 0 || a->died != b->died ||
        a->enrolled_count != b->enrolled_count || a->category_count != b->category_count)
        return false;
    for (uint32_t i = 0; i < a->enrolled_count; i++)
        if (a->enrolled[i] != b->enrolled[i])
            return false;
    for (uint32_t i = 0; i < a->category_count; i++) {
        const struct sh_person_category *x = &a->categories[i], *y = &b->categories[i];
        if (strcmp(x->fund, y->fund) != 0 || strcmp(x->category, y->category) != 0 ||
            x->from != y->from || x->to != y->to)
            return false;
    }
    return true;
}

static int person_update_reply(struct ledger_op *op, bool created, bool changed)
{
    Sanhe__PersonUpdateReply pr = SANHE__PERSON_UPDATE_REPLY__INIT;
    pr.has_created = pr.has_changed = true;
    pr.created = created;
    pr.changed = changed;
    Sanhe__Response resp = SANHE__RESPONSE__INIT;
    resp.request_id = op->request->request_id;
    resp.result_case = SANHE__RESPONSE__RESULT_PERSON_UPDATE;
    resp.person_update = &pr;
    if (ledger_reply_pack(&resp, &op->reply) != 0)
        return sh_error_set(&op->err, SH_E_INTERNAL, "out of memory");
    return 0;
}

int ledger_op_person_update(struct ledger_op *op)
{
    const Sanhe__PersonUpdateRequest *u = op->request->person_update;
    if (u == NULL || u->person == NULL)
        return sh_error_set(&op->err, SH_E_BAD_REQUEST, "person update: no person");
    const char *id = u->person->id;
    if (id == NULL || !sh_person_id_valid(id)) {
        char masked[19];
        sh_person_id_mask(id != NULL ? id : "", masked);
        return sh_error_set(&op->err, SH_E_BAD_PERSON_ID,
                            "person update (%s): not a valid resident ID", masked);
    }
    struct sh_person *p = malloc(2 * sizeof *p); /* the new record and the stored one */
    if (p == NULL)
        return sh_error_set(&op->err, SH_E_INTERNAL, "out of memory");
    int rc = convert_person(u->person, 0, &p[0], &op->err);
    bool had = false, changed = true;
    if (rc == 0) {
        had = refdata_person_get(op->txn, p[0].id, &p[1]);
        rc = op->txn->ret;
    }
    if (rc == 0 && had)
        changed = !roster_person_same(&p[0], &p[1]);
    if (rc == 0 && changed) {
        refdata_person_put(op->txn, &p[0]);
        rc = op->txn->ret;
    }
    free(p);
    return rc != 0 ? rc : person_update_reply(op, !had, changed);
}
