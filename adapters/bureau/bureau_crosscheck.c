/*
 * sanhe-bureau crosscheck MONTH [--out DIR]: the monthly cross-check
 * (docs/rosters.md) as two files for the bureaus to act on, each signed
 * with the engine's Ed25519 key (FILE.sig) like the daily files:
 *
 *   DIR/crosscheck-MONTH.json   the four lists, amounts in fen
 *   DIR/crosscheck-MONTH.csv    one row per entry, its list first, yuan
 *
 * The files name persons by their resident id in full (the bureaus must find
 * them); what is printed on the terminal masks them.
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "bureau.h"
#include "sh_json_out.h"
#include "sh_person_id.h"

int bureau_crosscheck_fetch(const struct bureau_config *c, const char *month, Sanhe__Response **out,
                            struct sh_error *err)
{
    Sanhe__CrosscheckRequest q = SANHE__CROSSCHECK_REQUEST__INIT;
    q.month = (char *)month;
    Sanhe__Request req = SANHE__REQUEST__INIT;
    req.op_case = SANHE__REQUEST__OP_CROSSCHECK;
    req.crosscheck = &q;
    int rc = bureau_call(c, &req, out, err);
    if (rc == 0 && (*out)->error != NULL) {
        rc = bureau_refused((*out)->error, _("crosscheck"), err);
    } else if (rc == 0 && (*out)->crosscheck == NULL) {
        rc = sh_error_set(err, SH_E_BAD_FRAME, "crosscheck %s: not a crosscheck reply", month);
    }
    return rc;
}

static void csv_field(FILE *f, const char *s)
{
    fputc(',', f);
    if (s == NULL)
        return;
    bool quote = strpbrk(s, ",\"\r\n") != NULL;
    if (quote)
        fputc('"', f);
    for (const char *p = s; *p; p++) {
        if (*p == '"')
            fputc('"', f);
        fputc(*p, f);
    }
    if (quote)
        fputc('"', f);
}

static void csv_yuan(FILE *f, int64_t fen)
{
    char y[32];
    bureau_fen_plain(fen, y);
    csv_field(f, y);
}

static void csv_u64(FILE *f, uint64_t v)
{
    char s[32];
    snprintf(s, sizeof s, "%llu", (unsigned long long)v);
    csv_field(f, s);
}

static int write_csv(const Sanhe__CrosscheckReply *x, const char *path, struct sh_error *err)
{
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return sh_error_set(err, SH_E_INTERNAL, "%s: %s", path, strerror(errno));
    fputs("list,person,fund,category,from,to,died,settlement_id,hospital,request_id,date,pay,"
          "fund_total,patient_pays,count,crossed\n",
          f);
    for (size_t i = 0; i < x->n_died_in_category; i++) {
        const Sanhe__CrosscheckDied *d = x->died_in_category[i];
        fputs("died_in_category", f);
        csv_field(f, d->person);
        csv_field(f, d->fund);
        csv_field(f, d->category);
        csv_field(f, d->from);
        csv_field(f, d->to);
        csv_field(f, d->died);
        fputs(",,,,,,,,,\n", f);
    }
    for (size_t i = 0; i < x->n_paid_after_death; i++) {
        const Sanhe__CrosscheckPaidAfterDeath *a = x->paid_after_death[i];
        fputs("paid_after_death", f);
        csv_field(f, a->person);
        fputs(",,,,", f);
        csv_field(f, a->died);
        csv_u64(f, a->settlement_id);
        csv_field(f, a->hospital);
        csv_field(f, a->request_id);
        csv_field(f, a->date);
        fputc(',', f);
        csv_yuan(f, a->fund_total);
        fputs(",,,\n", f);
    }
    for (size_t i = 0; i < x->n_paid_outside_category; i++) {
        const Sanhe__CrosscheckOutsideCategory *o = x->paid_outside_category[i];
        fputs("paid_outside_category", f);
        csv_field(f, o->person);
        csv_field(f, o->fund);
        fputs(",,,,", f);
        csv_u64(f, o->settlement_id);
        csv_field(f, o->hospital);
        csv_field(f, o->request_id);
        csv_field(f, o->date);
        csv_yuan(f, o->pay);
        fputs(",,,,\n", f);
    }
    for (size_t i = 0; i < x->n_oop_warning; i++) {
        const Sanhe__CrosscheckOopWarning *w = x->oop_warning[i];
        fputs("oop_warning", f);
        csv_field(f, w->person);
        fputs(",,,,,,,,,,", f);
        csv_yuan(f, w->fund_total);
        csv_yuan(f, w->patient_pays);
        csv_u64(f, w->count);
        csv_field(f, w->crossed);
        fputc('\n', f);
    }
    bool bad = ferror(f) != 0;
    if (fclose(f) != 0 || bad)
        return sh_error_set(err, SH_E_INTERNAL, "%s: cannot write", path);
    return 0;
}

static void print_summary(const Sanhe__CrosscheckReply *x)
{
    printf("cross-check %s (to %s): %zu died in a category, %zu paid after death, %zu paid "
           "outside a category, %zu out-of-pocket warnings\n",
           x->month, x->last_day, x->n_died_in_category, x->n_paid_after_death,
           x->n_paid_outside_category, x->n_oop_warning);
    char masked[19], y[32];
    for (size_t i = 0; i < x->n_paid_after_death; i++) {
        sh_person_id_mask(x->paid_after_death[i]->person, masked);
        bureau_fen_plain(x->paid_after_death[i]->fund_total, y);
        printf("  recover  %s settlement %llu of %s, died %s, funds paid %s\n", masked,
               (unsigned long long)x->paid_after_death[i]->settlement_id,
               x->paid_after_death[i]->date, x->paid_after_death[i]->died, y);
    }
}

int bureau_crosscheck(const struct bureau_config *c, const char *month, const char *dir)
{
    struct sh_error err = {0};
    Sanhe__Response *resp = NULL;
    int rc = bureau_crosscheck_fetch(c, month, &resp, &err);
    if (rc == 0 && mkdir(dir, 0755) != 0 && errno != EEXIST)
        rc = sh_error_set(&err, SH_E_INTERNAL, "%s: %s", dir, strerror(errno));
    char path[PATH_MAX];
    if (rc == 0) {
        snprintf(path, sizeof path, "%.3000s/crosscheck-%.16s.json", dir, month);
        json_t *doc = sh_json_from_response(resp, 0);
        rc = doc != NULL && json_dump_file(doc, path, JSON_INDENT(2)) == 0
                 ? 0
                 : sh_error_set(&err, SH_E_INTERNAL, "%s: cannot write", path);
        json_decref(doc);
    }
    if (rc == 0)
        rc = bureau_sign_file(c->signing_key, path, &err);
    if (rc == 0)
        printf("%s\n", path);
    if (rc == 0) {
        snprintf(path, sizeof path, "%.3000s/crosscheck-%.16s.csv", dir, month);
        rc = write_csv(resp->crosscheck, path, &err);
    }
    if (rc == 0)
        rc = bureau_sign_file(c->signing_key, path, &err);
    if (rc == 0) {
        printf("%s\n", path);
        print_summary(resp->crosscheck);
    }
    if (resp != NULL)
        sanhe__response__free_unpacked(resp, NULL);
    if (rc != 0)
        fprintf(stderr, "sanhe-bureau: %s\n", err.msg);
    return rc == 0 ? 0 : 1;
}
