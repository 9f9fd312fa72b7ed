/*
 * sanhe-bureau verify FILE [--data DIR]: an exported file checked offline.
 * First its signature (FILE.sig, the engine's Ed25519 key), then its
 * figures against the journal: the engine's data directory is opened
 * read-only through the ledger (safe next to a running engine, or on a
 * backup), the same reconcile is run in-process as a bureau terminal, and
 * every figure and settlement must be the journal's. Exit 0 when both hold.
 */
#include <stdlib.h>
#include <string.h>

#include "bureau.h"
#include "ledger.h"

static int read_file_reply(const char *file, Sanhe__ReconcileReply **rr, bool *items,
                           struct sh_error *err)
{
    size_t len = strlen(file);
    if (len > 4 && strcmp(file + len - 4, ".csv") == 0)
        return bureau_reply_from_csv(file, rr, items, err);
    return bureau_reply_from_json(file, rr, items, err);
}

/* The journal's reconcile of the file's hospital (or whole) day. */
static int journal_reply(const struct bureau_config *c, const Sanhe__ReconcileReply *file,
                         bool items, Sanhe__Response **out, struct sh_error *err)
{
    struct ledger_config lc = {.dir = c->data_dir, .read_only = true, .utc_offset_min = 480};
    struct ledger *ledger = NULL;
    if (ledger_open(&lc, &ledger, err) != 0)
        return err->code != 0 ? err->code : SH_E_INTERNAL;
    struct sh_caller bureau;
    memset(&bureau, 0, sizeof bureau);
    snprintf(bureau.terminal, sizeof bureau.terminal, "sanhe-bureau-verify");
    bureau.role = SH_ROLE_BUREAU;
    Sanhe__ReconcileRequest q = SANHE__RECONCILE_REQUEST__INIT;
    q.day = file->day;
    q.hospital = file->hospital != NULL ? file->hospital : "";
    q.has_with_items = q.with_items = items;
    Sanhe__Request req = SANHE__REQUEST__INIT;
    req.request_id = "verify";
    req.op_case = SANHE__REQUEST__OP_RECONCILE;
    req.reconcile = &q;
    struct sh_reply reply = {0};
    int rc = ledger_read(ledger, &bureau, &req, &reply);
    ledger_close(ledger);
    *out = rc == 0 ? sanhe__response__unpack(NULL, reply.len, reply.data) : NULL;
    free(reply.data);
    if (*out == NULL)
        return sh_error_set(err, SH_E_INTERNAL, _("the ledger gave no reconcile reply"));
    if ((*out)->error != NULL)
        return bureau_refused((*out)->error, _("the ledger's reconcile"), err);
    return 0;
}

static int verify_figures(const struct bureau_config *c, const char *file)
{
    struct sh_error err = {0};
    Sanhe__ReconcileReply *rr = NULL;
    Sanhe__Response *journal = NULL;
    bool items = false;
    int rc = read_file_reply(file, &rr, &items, &err);
    if (rc == 0)
        rc = journal_reply(c, rr, items, &journal, &err);
    size_t wrong = 0;
    if (rc == 0)
        wrong = bureau_compare(rr, journal->reconcile, items);
    if (rc != 0)
        printf(_("figures: cannot check: %s\n"), err.msg);
    else if (wrong > 0)
        printf(_("figures: %zu differ from the journal (%s)\n"), wrong, c->data_dir);
    else
        printf(_("figures: the journal's (%s, day %s)\n"), c->data_dir, rr->day);
    if (rr != NULL)
        sanhe__reconcile_reply__free_unpacked(rr, NULL);
    if (journal != NULL)
        sanhe__response__free_unpacked(journal, NULL);
    return rc != 0 || wrong > 0 ? 1 : 0;
}

int bureau_verify(const struct bureau_config *c, const char *file)
{
    const char *key = c->verify_key[0] != '\0' ? c->verify_key : c->signing_key;
    if (key[0] == '\0' || c->data_dir[0] == '\0') {
        fprintf(stderr, _("sanhe-bureau: verify needs a key ([bureau] verify_key or signing_key) "
                          "and the data directory ([bureau] data_dir or --data)\n"));
        return 2;
    }
    struct sh_error err = {0};
    if (bureau_verify_file(key, file, &err) != 0) {
        printf(_("%s\nsignature: BAD: %s\n"), file, err.msg);
        return 1;
    }
    printf(_("%s\nsignature: good\n"), file);
    return verify_figures(c, file);
}
