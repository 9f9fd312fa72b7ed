/*
 * sanhe-bureau audit [--person ID | --terminal T] [--day DATE] [--limit N]:
 * who looked up which person (docs/limits.md). One line per record, oldest
 * first, persons masked as the engine stores them; then every terminal of
 * the day with its lookups and settles, those whose lookups far outnumber
 * their settles marked FLAGGED. Exit status 1 when a terminal is flagged.
 */
#include <inttypes.h>
#include <string.h>
#include <time.h>

#include "bureau.h"

static void audit_time(int64_t ms, char out[32])
{
    time_t s = (time_t)(ms / 1000);
    struct tm tm;
    if (gmtime_r(&s, &tm) == NULL || strftime(out, 24, "%Y-%m-%dT%H:%M:%S", &tm) == 0) {
        snprintf(out, 32, "%" PRId64, ms);
        return;
    }
    size_t n = strlen(out);
    snprintf(out + n, 32 - n, ".%03dZ", (int)(ms % 1000));
}

static void audit_print(const Sanhe__AuditReply *ar)
{
    for (size_t i = 0; i < ar->n_entries; i++) {
        const Sanhe__AuditEntry *e = ar->entries[i];
        char when[32];
        audit_time(e->time_ms, when);
        printf("%s  %-20s %-12s %s  %-11s %s\n", when, e->terminal ? e->terminal : "",
               e->hospital && e->hospital[0] ? e->hospital : "-", e->person ? e->person : "",
               e->op ? e->op : "", e->outcome == 0 ? "OK" : sh_error_name(-(int)e->outcome));
    }
    if (ar->truncated)
        printf(_("(more records matched: --limit N shows more)\n"));
    printf(_("terminal              lookups    settles\n"));
    for (size_t i = 0; i < ar->n_terminals; i++) {
        const Sanhe__AuditTerminal *t = ar->terminals[i];
        printf("%-20s %8" PRIu64 " %10" PRIu64 "%s\n", t->terminal ? t->terminal : "", t->lookups,
               t->settles, t->flagged ? _("  FLAGGED: lookups far outnumber settles") : "");
    }
}

int bureau_audit(const struct bureau_config *c, const struct audit_args *a)
{
    Sanhe__AuditRequest q = SANHE__AUDIT_REQUEST__INIT;
    q.person = (char *)a->person;
    q.terminal = (char *)a->terminal;
    q.day = (char *)a->day;
    q.has_limit = a->limit != 0;
    q.limit = a->limit;
    Sanhe__Request req = SANHE__REQUEST__INIT;
    req.op_case = SANHE__REQUEST__OP_AUDIT;
    req.audit = &q;
    Sanhe__Response *resp = NULL;
    struct sh_error err = {0};
    int rc = bureau_call(c, &req, &resp, &err);
    if (rc == 0 && resp->error != NULL) {
        rc = bureau_refused(resp->error, _("audit"), &err);
    } else if (rc == 0 && resp->audit == NULL) {
        rc = sh_error_set(&err, SH_E_BAD_FRAME, "audit: not an audit reply");
    }
    if (rc != 0) {
        fprintf(stderr, _("sanhe-bureau: %s\n"), err.msg);
        if (resp != NULL)
            sanhe__response__free_unpacked(resp, NULL);
        return 1;
    }
    audit_print(resp->audit);
    bool flagged = false;
    for (size_t i = 0; i < resp->audit->n_terminals; i++)
        flagged = flagged || resp->audit->terminals[i]->flagged;
    sanhe__response__free_unpacked(resp, NULL);
    return flagged ? 1 : 0;
}
