/*
 * sanhe-bureau export DATE [--out DIR]: the day's files for the bureau's
 * records, each signed with the engine's Ed25519 key (FILE.sig):
 *
 *   DIR/HOSPITAL.json, DIR/HOSPITAL.csv   a hospital's settlements, reversals,
 *                                         net, and its list of the day's settlements
 *   DIR/summary.json, DIR/summary.csv     every hospital's totals and the sums
 *
 * The figures are the engine's reconcile replies, written as they came.
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "bureau.h"

/* Writes base.json and base.csv from rr and signs both. */
static int write_pair(const struct bureau_config *c, const char *dir, const char *base,
                      const Sanhe__ReconcileReply *rr, bool items, struct sh_error *err)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%.3000s/%.200s.json", dir, base);
    json_t *doc = bureau_reply_to_json(rr, items);
    int rc = doc != NULL && json_dump_file(doc, path, JSON_INDENT(2)) == 0
                 ? 0
                 : sh_error_set(err, SH_E_INTERNAL, _("%s: cannot write"), path);
    json_decref(doc);
    if (rc == 0)
        rc = bureau_sign_file(c->signing_key, path, err);
    if (rc == 0)
        printf("%s\n", path);
    snprintf(path, sizeof path, "%.3000s/%.200s.csv", dir, base);
    if (rc == 0)
        rc = bureau_reply_to_csv(rr, items, path, c->lang, err);
    if (rc == 0)
        rc = bureau_sign_file(c->signing_key, path, err);
    if (rc == 0)
        printf("%s\n", path);
    return rc;
}

/* One hospital's day with every settlement of it (with_items and an empty
 * list: the engine names them all as its own). */
static int export_hospital(const struct bureau_config *c, const char *dir, const char *day,
                           const char *hospital, struct sh_error *err)
{
    if (hospital[0] == '.' || strchr(hospital, '/') != NULL)
        return sh_error_set(err, SH_E_BAD_REQUEST, _("hospital code \"%.40s\" cannot name a file"),
                            hospital);
    Sanhe__ReconcileRequest q = SANHE__RECONCILE_REQUEST__INIT;
    q.day = (char *)day;
    q.hospital = (char *)hospital;
    q.has_with_items = q.with_items = true;
    Sanhe__Response *resp = NULL;
    int rc = bureau_reconcile(c, &q, &resp, err);
    if (rc == 0)
        rc = write_pair(c, dir, hospital, resp->reconcile, true, err);
    if (resp != NULL)
        sanhe__response__free_unpacked(resp, NULL);
    return rc;
}

int bureau_export(const struct bureau_config *c, const char *day, const char *dir)
{
    struct sh_error err = {0};
    if (c->signing_key[0] == '\0') {
        fprintf(stderr, _("sanhe-bureau: export: no signing key ([bureau] signing_key or "
                          "--signing-key)\n"));
        return 2;
    }
    if (mkdir(dir, 0750) != 0 && errno != EEXIST) {
        fprintf(stderr, _("sanhe-bureau: export: %s: %s\n"), dir, strerror(errno));
        return 1;
    }
    Sanhe__ReconcileRequest q = SANHE__RECONCILE_REQUEST__INIT;
    q.day = (char *)day;
    q.hospital = "";
    Sanhe__Response *resp = NULL;
    int rc = bureau_reconcile(c, &q, &resp, &err);
    const Sanhe__ReconcileReply *all = rc == 0 ? resp->reconcile : NULL;
    for (size_t i = 0; rc == 0 && i < all->n_hospitals; i++)
        rc = export_hospital(c, dir, day, all->hospitals[i]->hospital, &err);
    if (rc == 0)
        rc = write_pair(c, dir, "summary", all, false, &err);
    if (rc != 0)
        fprintf(stderr, _("sanhe-bureau: export %s: %s\n"), day, err.msg);
    if (resp != NULL)
        sanhe__response__free_unpacked(resp, NULL);
    return rc == 0 ? 0 : 1;
}
