/*
 * sanhe-import [options] [--dry-run] [--effective DATE] [--force] SOURCE FILE.csv
 * sanhe-import [options] log [--limit N]
 *
 * SOURCE names a mapping file (MAPPINGS/SOURCE.ini, or --mapping FILE).
 * The file is read twice: first every row is checked (a file with a bad row
 * is refused whole, each bad row named with its line, before anything is
 * sent), then it is streamed to the engine in chunks of an import session,
 * whose commit applies it, or with --dry-run reports what it would change.
 * docs/rosters.md describes the sources, the mapping files and the
 * guarantees.
 */
#include <errno.h>
#include <getopt.h>
#include <ini.h>
#include <inttypes.h>
#include <libgen.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "import.h"
#include "sh_date.h"

enum { EXIT_OK = 0, EXIT_REFUSED = 1, EXIT_USAGE = 2, EXIT_ENGINE = 3 };

struct options {
    char config[PATH_MAX];
    char engine[256];
    char ca[PATH_MAX], cert[PATH_MAX], key[PATH_MAX];
    char mappings[PATH_MAX];
    const char *mapping;
    const char *effective;
    int timeout_ms;
    bool dry_run, force;
    unsigned examples;
    unsigned limit;
};

/* ---- Config --------------------------------------------------------------------------------- */

struct cfg_parse {
    struct options *o;
    char dir[PATH_MAX];
    bool bad;
};

static void set_path(struct cfg_parse *p, char *out, const char *v)
{
    int n = v[0] == '/' || p->dir[0] == '\0' ? snprintf(out, PATH_MAX, "%s", v)
                                             : snprintf(out, PATH_MAX, "%s/%s", p->dir, v);
    if (n < 0 || n >= PATH_MAX) {
        fprintf(stderr, "sanhe-import: %s: path too long\n", v);
        p->bad = true;
    }
}

static int cfg_key(void *ctx, const char *section, const char *name, const char *value)
{
    struct cfg_parse *p = ctx;
    struct options *o = p->o;
    bool ok = strcmp(section, "import") == 0;
    if (!ok)
        ;
    else if (strcmp(name, "engine") == 0)
        snprintf(o->engine, sizeof o->engine, "%s", value);
    else if (strcmp(name, "ca") == 0)
        set_path(p, o->ca, value);
    else if (strcmp(name, "cert") == 0)
        set_path(p, o->cert, value);
    else if (strcmp(name, "key") == 0)
        set_path(p, o->key, value);
    else if (strcmp(name, "mappings") == 0)
        set_path(p, o->mappings, value);
    else if (strcmp(name, "timeout_ms") == 0)
        o->timeout_ms = (int)strtol(value, NULL, 10);
    else
        ok = false;
    if (!ok) {
        fprintf(stderr, "sanhe-import: %s: [%s] %s: unknown key\n", o->config, section, name);
        p->bad = true;
    }
    return ok;
}

static int config_load(struct options *o, bool required)
{
    struct cfg_parse p = {.o = o};
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s", o->config);
    snprintf(p.dir, sizeof p.dir, "%s", dirname(tmp));
    FILE *f = fopen(o->config, "r");
    if (f == NULL) {
        if (!required)
            return 0;
        fprintf(stderr, "sanhe-import: %s: %s\n", o->config, strerror(errno));
        return -1;
    }
    int rc = ini_parse_file(f, cfg_key, &p);
    fclose(f);
    if (rc != 0 || p.bad) {
        if (rc > 0 && !p.bad)
            fprintf(stderr, "sanhe-import: %s: line %d: not INI\n", o->config, rc);
        return -1;
    }
    return 0;
}

/* ---- Reading the file ---------------------------------------------------------------------- */

struct bad_row {
    uint32_t line;
    char why[SH_ERROR_MSG_MAX];
};

struct check {
    const struct import_map *map;
    struct import_header header;
    bool have_header;
    uint64_t rows;
    struct bad_row *bad; /* the first IMPORT_ERRORS_SHOWN */
    uint64_t bad_count;
    struct sh_error *err;
    /* the second pass: chunks */
    struct import_row *chunk;
    size_t chunk_n;
    int (*flush)(void *ctx);
    void *flush_ctx;
};

static void bad_add(struct check *c, uint32_t line, const char *why)
{
    if (c->bad_count < IMPORT_ERRORS_SHOWN) {
        c->bad[c->bad_count].line = line;
        snprintf(c->bad[c->bad_count].why, sizeof c->bad[0].why, "%s", why);
    }
    c->bad_count++;
}

static int on_record(void *ctx, uint64_t line, size_t count, const char *const *fields)
{
    struct check *c = ctx;
    if (!c->have_header) {
        c->have_header = true;
        return import_header_parse(c->map, count, fields, &c->header, c->err);
    }
    if (line > UINT32_MAX)
        return sh_error_set(c->err, SH_E_LIMIT_EXCEEDED, "more than %u lines", UINT32_MAX);
    c->rows++;
    char why[SH_ERROR_MSG_MAX];
    struct import_row local;
    struct import_row *row = c->chunk != NULL ? &c->chunk[c->chunk_n] : &local;
    const char *fault =
        import_row_parse(c->map, &c->header, count, fields, (uint32_t)line, row, why, sizeof why);
    if (fault != NULL) {
        bad_add(c, (uint32_t)line, fault);
        return 0;
    }
    if (c->chunk != NULL && ++c->chunk_n == IMPORT_CHUNK_ROWS)
        return c->flush(c->flush_ctx);
    return 0;
}

static int file_sha256(const char *path, uint8_t out[32], struct sh_error *err)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return sh_error_set(err, SH_E_INTERNAL, "%s: %s", path, strerror(errno));
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int rc = md != NULL && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 ? 0 : SH_E_INTERNAL;
    static uint8_t buf[1 << 16];
    size_t n;
    while (rc == 0 && (n = fread(buf, 1, sizeof buf, f)) > 0)
        if (EVP_DigestUpdate(md, buf, n) != 1)
            rc = SH_E_INTERNAL;
    unsigned int len = 0;
    if (rc == 0 && (ferror(f) || EVP_DigestFinal_ex(md, out, &len) != 1 || len != 32))
        rc = SH_E_INTERNAL;
    EVP_MD_CTX_free(md);
    fclose(f);
    return rc != 0 ? sh_error_set(err, rc, "%s: cannot hash it", path) : 0;
}

/* ---- Reports ------------------------------------------------------------------------------ */

static const char *source_name(Sanhe__ImportSource s)
{
    switch (s) {
    case SANHE__IMPORT_SOURCE__IMPORT_ENROLMENT:
        return "enrolment";
    case SANHE__IMPORT_SOURCE__IMPORT_CATEGORY:
        return "category roster";
    case SANHE__IMPORT_SOURCE__IMPORT_DEATHS:
        return "death records";
    case SANHE__IMPORT_SOURCE__IMPORT_HOSPITALS:
        return "hospitals";
    case SANHE__IMPORT_SOURCE__IMPORT_CATALOG:
        return "catalog";
    default:
        return "?";
    }
}

static int bad_cmp(const void *a, const void *b)
{
    const struct bad_row *x = a, *y = b;
    return x->line < y->line ? -1 : x->line > y->line;
}

static void print_refused(const char *file, struct check *c)
{
    uint64_t kept = c->bad_count < IMPORT_ERRORS_SHOWN ? c->bad_count : IMPORT_ERRORS_SHOWN;
    qsort(c->bad, kept, sizeof *c->bad, bad_cmp);
    printf("REFUSED: %s: %" PRIu64 " of %" PRIu64 " rows are bad; nothing was changed\n", file,
           c->bad_count, c->rows);
    uint64_t shown = c->bad_count < IMPORT_ERRORS_SHOWN ? c->bad_count : IMPORT_ERRORS_SHOWN;
    for (uint64_t i = 0; i < shown; i++)
        printf("  line %u: %s\n", c->bad[i].line, c->bad[i].why);
    if (shown < c->bad_count)
        printf("  ... and %" PRIu64 " more\n", c->bad_count - shown);
}

static void print_counts(const Sanhe__ImportCounts *k)
{
    if (k == NULL)
        return;
    printf("  rows                 %" PRIu64 "\n", k->rows);
    printf("  persons added        %" PRIu64 "\n", k->persons_added);
    printf("  years enrolled       %" PRIu64 "\n", k->enrolled);
    printf("  categories begun     %" PRIu64 "\n", k->categories_begun);
    printf("  categories ended     %" PRIu64 "\n", k->categories_ended);
    printf("  categories changed   %" PRIu64 "\n", k->categories_changed);
    printf("  exits                %" PRIu64 "\n", k->exits);
    printf("  deaths recorded      %" PRIu64 "\n", k->deaths_recorded);
    printf("  deaths changed       %" PRIu64 "\n", k->deaths_changed);
    printf("  hospitals            %" PRIu64 "\n", k->hospitals);
    printf("  catalog items        %" PRIu64 "\n", k->items);
    printf("  unchanged            %" PRIu64 "\n", k->unchanged);
}

static void print_change(const Sanhe__ImportChange *x)
{
    char line[16] = "-";
    if (x->line != 0)
        snprintf(line, sizeof line, "%u", x->line);
    printf("  %-17s line %-7s %s", x->kind, line, x->person != NULL ? x->person : "");
    if (x->code != NULL)
        printf("%s", x->code);
    if (x->has_year)
        printf(" %d", x->year);
    if (x->fund != NULL)
        printf(" %s %s %s..%s", x->fund, x->category != NULL ? x->category : "",
               x->from != NULL ? x->from : "", x->to != NULL ? x->to : "open");
    if (x->died != NULL)
        printf(" died %s", x->died);
    if (x->previous != NULL)
        printf(" (was %s)", x->previous);
    putchar('\n');
}

static void counts_add(Sanhe__ImportCounts *sum, const Sanhe__ImportCounts *k)
{
    if (k == NULL)
        return;
    sum->rows += k->rows;
    sum->persons_added += k->persons_added;
    sum->enrolled += k->enrolled;
    sum->categories_begun += k->categories_begun;
    sum->categories_ended += k->categories_ended;
    sum->categories_changed += k->categories_changed;
    sum->exits += k->exits;
    sum->deaths_recorded += k->deaths_recorded;
    sum->deaths_changed += k->deaths_changed;
    sum->hospitals += k->hospitals;
    sum->items += k->items;
    sum->unchanged += k->unchanged;
}

static void time_str(int64_t ms, char out[32])
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%d %H:%M:%S", &tm);
}

static void print_record(const Sanhe__ImportRecord *r)
{
    char at[32];
    time_str(r->committed_ms != 0 ? r->committed_ms : r->at_ms, at);
    char sha[17] = "";
    for (size_t i = 0; i < 8 && i < r->sha256.len; i++)
        snprintf(sha + 2 * i, 3, "%02x", r->sha256.data[i]);
    const char *state = r->state == SANHE__IMPORT_STATE__IMPORT_COMMITTED  ? "committed"
                        : r->state == SANHE__IMPORT_STATE__IMPORT_APPLYING ? "applying"
                                                                           : "staging";
    printf("#%-5" PRIu64 " %s  %-15s %-8s %-10s %s sha256:%s... rows %" PRIu64 "  %s  %s\n",
           r->import_id, at, source_name(r->source), r->fund != NULL ? r->fund : "-",
           r->effective != NULL ? r->effective : "-", r->file_name != NULL ? r->file_name : "?",
           sha, r->counts != NULL ? r->counts->rows : r->rows_staged,
           r->terminal != NULL ? r->terminal : "?", state);
    const Sanhe__ImportCounts *k = r->counts;
    if (k != NULL)
        printf("       +%" PRIu64 " persons, %" PRIu64 " years, %" PRIu64 " begun, %" PRIu64
               " ended, %" PRIu64 " changed, %" PRIu64 " exits, %" PRIu64 "+%" PRIu64
               " deaths, %" PRIu64 " hospitals, %" PRIu64 " items, %" PRIu64 " unchanged\n",
               k->persons_added, k->enrolled, k->categories_begun, k->categories_ended,
               k->categories_changed, k->exits, k->deaths_recorded, k->deaths_changed, k->hospitals,
               k->items, k->unchanged);
}

/* ---- The session ----------------------------------------------------------------------------- */

struct session {
    struct import_conn conn;
    uint64_t id;
    uint64_t seq;
    struct check *check;
    int rc;
};

static int refusal_of(const Sanhe__Response *r, char *msg, size_t cap)
{
    snprintf(msg, cap, "%s: %s", sh_error_name(-(int)r->error->code),
             r->error->message != NULL ? r->error->message : "");
    return -(int)r->error->code;
}

static int send_chunk(void *ctx)
{
    struct session *s = ctx;
    struct check *c = s->check;
    if (c->chunk_n == 0)
        return 0;
    Sanhe__ImportRow **rows = calloc(c->chunk_n, sizeof *rows);
    if (rows == NULL)
        return sh_error_set(c->err, SH_E_INTERNAL, "out of memory");
    for (size_t i = 0; i < c->chunk_n; i++)
        rows[i] = &c->chunk[i].msg;
    Sanhe__ImportChunkRequest q = SANHE__IMPORT_CHUNK_REQUEST__INIT;
    q.has_session_id = q.has_seq = true;
    q.session_id = s->id;
    q.seq = s->seq;
    q.n_rows = c->chunk_n;
    q.rows = rows;
    Sanhe__Request req = SANHE__REQUEST__INIT;
    req.op_case = SANHE__REQUEST__OP_IMPORT_CHUNK;
    req.import_chunk = &q;
    Sanhe__Response *resp = NULL;
    int rc = import_call(&s->conn, &req, &resp);
    free(rows);
    c->chunk_n = 0;
    if (rc != 0)
        return sh_error_set(c->err, rc, "%s", s->conn.err.msg);
    if (resp->error != NULL) {
        char msg[SH_ERROR_MSG_MAX];
        rc = refusal_of(resp, msg, sizeof msg);
        sh_error_set(c->err, rc, "%s", msg);
    } else if (resp->import_chunk != NULL) {
        s->seq++;
        for (size_t i = 0; i < resp->import_chunk->n_errors; i++)
            bad_add(c, resp->import_chunk->errors[i]->line, resp->import_chunk->errors[i]->reason);
    }
    sanhe__response__free_unpacked(resp, NULL);
    return rc;
}

static void session_abort(struct session *s)
{
    for (int i = 0; i < 10000; i++) { /* each drops a bounded number of rows */
        Sanhe__ImportAbortRequest q = SANHE__IMPORT_ABORT_REQUEST__INIT;
        q.has_session_id = true;
        q.session_id = s->id;
        Sanhe__Request req = SANHE__REQUEST__INIT;
        req.op_case = SANHE__REQUEST__OP_IMPORT_ABORT;
        req.import_abort = &q;
        Sanhe__Response *resp = NULL;
        if (import_call(&s->conn, &req, &resp) != 0)
            return;
        bool more =
            resp->error == NULL && resp->import_abort != NULL && resp->import_abort->dropped > 0;
        sanhe__response__free_unpacked(resp, NULL);
        if (!more)
            return;
    }
}

/* Commits (or dry-runs) until done; prints the diff. Returns the exit code. */
static int session_commit(struct session *s, const struct options *o, const char *file)
{
    Sanhe__ImportCounts sum = SANHE__IMPORT_COUNTS__INIT;
    Sanhe__Response *last = NULL;
    Sanhe__Response **kept = NULL; /* dry-run slices, for their examples */
    size_t kept_n = 0;
    uint8_t after[64];
    size_t after_len = 0;
    int code = EXIT_OK;
    for (;;) {
        Sanhe__ImportCommitRequest q = SANHE__IMPORT_COMMIT_REQUEST__INIT;
        q.has_session_id = q.has_dry_run = q.has_examples = true;
        q.session_id = s->id;
        q.dry_run = o->dry_run;
        q.examples = o->examples;
        if (after_len > 0) {
            q.has_after = true;
            q.after.data = after;
            q.after.len = after_len;
        }
        Sanhe__Request req = SANHE__REQUEST__INIT;
        req.op_case = SANHE__REQUEST__OP_IMPORT_COMMIT;
        req.import_commit = &q;
        Sanhe__Response *resp = NULL;
        if (import_call(&s->conn, &req, &resp) != 0) {
            fprintf(stderr, "sanhe-import: %s: %s\n", file, s->conn.err.msg);
            code = EXIT_ENGINE;
            break;
        }
        if (resp->error != NULL) {
            char msg[SH_ERROR_MSG_MAX];
            refusal_of(resp, msg, sizeof msg);
            printf("REFUSED: %s: %s\n", file, msg);
            sanhe__response__free_unpacked(resp, NULL);
            code = EXIT_REFUSED;
            break;
        }
        const Sanhe__ImportCommitReply *cr = resp->import_commit;
        if (o->dry_run)
            counts_add(&sum, cr->counts);
        Sanhe__Response **k = realloc(kept, (kept_n + 1) * sizeof *kept);
        if (k == NULL) {
            sanhe__response__free_unpacked(resp, NULL);
            code = EXIT_ENGINE;
            break;
        }
        kept = k;
        kept[kept_n++] = resp;
        last = resp;
        if (cr->done)
            break;
        if (o->dry_run) {
            if (!cr->has_next || cr->next.len > sizeof after)
                break;
            memcpy(after, cr->next.data, cr->next.len);
            after_len = cr->next.len;
        }
    }
    if (code == EXIT_OK && last != NULL) {
        const Sanhe__ImportCommitReply *cr = last->import_commit;
        printf("%s: %s\n", o->dry_run ? "dry run (nothing was changed)" : "imported", file);
        print_counts(o->dry_run ? &sum : cr->counts);
        printf("first rows of each change:\n");
        size_t per_kind[16] = {0};
        for (size_t i = 0; i < kept_n; i++)
            for (size_t j = 0; j < kept[i]->import_commit->n_examples; j++) {
                const Sanhe__ImportChange *x = kept[i]->import_commit->examples[j];
                size_t h = 0;
                for (const char *p = x->kind; p != NULL && *p; p++)
                    h = h * 31 + (unsigned char)*p;
                if (per_kind[h % 16]++ < o->examples)
                    print_change(x);
            }
        if (cr->refusal != NULL) {
            printf("a commit would be REFUSED: %s\n", cr->refusal);
            code = EXIT_REFUSED;
        }
        if (cr->record != NULL)
            printf("recorded as import #%" PRIu64 "\n", cr->record->import_id);
    }
    for (size_t i = 0; i < kept_n; i++)
        sanhe__response__free_unpacked(kept[i], NULL);
    free(kept);
    return code;
}

static int session_begin(struct session *s, const struct import_map *map, const char *file,
                         const uint8_t sha[32], uint64_t rows, const char *effective,
                         const struct options *o, bool *resumed)
{
    char base[PATH_MAX];
    snprintf(base, sizeof base, "%s", file);
    Sanhe__ImportBeginRequest q = SANHE__IMPORT_BEGIN_REQUEST__INIT;
    q.has_source = q.has_sha256 = q.has_rows = q.has_force = q.has_exit_share_max_bp = true;
    q.source = map->source;
    q.file_name = basename(base);
    q.sha256.data = (uint8_t *)sha;
    q.sha256.len = 32;
    q.rows = rows;
    q.force = o->force;
    q.exit_share_max_bp = map->exit_share_bp;
    if (map->source == SANHE__IMPORT_SOURCE__IMPORT_CATEGORY) {
        q.fund = (char *)map->fund;
        q.effective = (char *)effective;
    }
    Sanhe__Request req = SANHE__REQUEST__INIT;
    req.op_case = SANHE__REQUEST__OP_IMPORT_BEGIN;
    req.import_begin = &q;
    Sanhe__Response *resp = NULL;
    if (import_call(&s->conn, &req, &resp) != 0) {
        fprintf(stderr, "sanhe-import: %s\n", s->conn.err.msg);
        return EXIT_ENGINE;
    }
    int code = -1;
    if (resp->error != NULL) {
        char msg[SH_ERROR_MSG_MAX];
        refusal_of(resp, msg, sizeof msg);
        printf("REFUSED: %s: %s\n", file, msg);
        code = EXIT_REFUSED;
    } else if (resp->import_begin->already != NULL) {
        printf("%s was imported already; nothing was changed:\n", file);
        print_record(resp->import_begin->already);
        code = EXIT_OK;
    } else {
        s->id = resp->import_begin->session_id;
        *resumed = resp->import_begin->resumed != NULL;
        if (*resumed)
            printf("%s: import #%" PRIu64 " was left half applied; finishing it\n", file, s->id);
    }
    sanhe__response__free_unpacked(resp, NULL);
    return code;
}

/* ---- Commands ------------------------------------------------------------------------------ */

static int cmd_import(struct options *o, const char *source, const char *file)
{
    struct import_map map;
    struct sh_error err = {0};
    char mpath[PATH_MAX];
    int n = o->mapping != NULL ? snprintf(mpath, sizeof mpath, "%s", o->mapping)
                               : snprintf(mpath, sizeof mpath, "%s/%s.ini",
                                          o->mappings[0] ? o->mappings : ".", source);
    if (n < 0 || (size_t)n >= sizeof mpath) {
        fprintf(stderr, "sanhe-import: the mapping's path is too long\n");
        return EXIT_USAGE;
    }
    if (import_map_load(mpath, &map, &err) != 0) {
        fprintf(stderr, "sanhe-import: %s\n", err.msg);
        return EXIT_USAGE;
    }
    char effective[SH_DATE_STR_LEN] = "";
    if (map.source == SANHE__IMPORT_SOURCE__IMPORT_CATEGORY) {
        uint32_t e = o->effective != NULL ? import_date_parse(o->effective) : 0;
        if (e == 0) {
            fprintf(stderr, "sanhe-import: a category roster needs --effective DATE\n");
            return EXIT_USAGE;
        }
        sh_date_format(e, effective);
    }
    struct sh_csv_options co = {.encoding = map.encoding};
    struct sh_csv_info info;
    struct check c = {.map = &map, .err = &err};
    c.bad = calloc(IMPORT_ERRORS_SHOWN, sizeof *c.bad);
    c.chunk = NULL;
    if (c.bad == NULL)
        return EXIT_ENGINE;
    /* pass 1: every row checked before anything is sent */
    int rc = sh_csv_read_file(file, &co, on_record, &c, &info, &err);
    if (rc == 0 && !c.have_header)
        rc = sh_error_set(&err, SH_E_BAD_REQUEST, "line 1: the file is empty (no header)");
    if (rc != 0) {
        printf("REFUSED: %s: %s; nothing was changed\n", file, err.msg);
        free(c.bad);
        return EXIT_REFUSED;
    }
    /* A file with bad rows still goes to the engine, as far as staging:
     * the engine finds what only it can (an unknown category, a duplicate
     * or contradicting row anywhere in the file), so that the report names
     * every bad row; the session is then aborted and nothing changes. */
    uint64_t bad_here = c.bad_count;
    uint8_t sha[32];
    if (file_sha256(file, sha, &err) != 0) {
        fprintf(stderr, "sanhe-import: %s\n", err.msg);
        free(c.bad);
        return EXIT_USAGE;
    }
    printf("%s: %s, %s%s, %" PRIu64 " rows\n", file, source_name(map.source),
           sh_csv_encoding_name(info.encoding), info.bom ? " with BOM" : "", c.rows);
    struct session s = {.check = &c};
    if (import_connect(&s.conn, o->engine, o->ca, o->cert, o->key, o->timeout_ms) != 0) {
        fprintf(stderr, "sanhe-import: %s\n", s.conn.err.msg);
        if (bad_here > 0)
            print_refused(file, &c);
        free(c.bad);
        return bad_here > 0 ? EXIT_REFUSED : EXIT_USAGE;
    }
    bool resumed = false;
    int code = session_begin(&s, &map, file, sha, c.rows, effective, o, &resumed);
    if (code < 0 && !resumed) {
        /* pass 2: the rows, in chunks */
        struct check c2 = {
            .map = &map, .err = &err, .bad = c.bad, .flush = send_chunk, .flush_ctx = &s};
        c2.chunk = calloc(IMPORT_CHUNK_ROWS, sizeof *c2.chunk);
        s.check = &c2;
        rc = c2.chunk == NULL ? SH_E_INTERNAL
                              : sh_csv_read_file(file, &co, on_record, &c2, NULL, &err);
        if (rc == 0)
            rc = send_chunk(&s);
        free(c2.chunk);
        if (rc != 0 && bad_here == 0) {
            fprintf(stderr, "sanhe-import: %s: %s\n", file, err.msg);
            session_abort(&s);
            code = EXIT_ENGINE;
        } else if (c2.bad_count > 0 || bad_here > 0) {
            c2.rows = c.rows;
            print_refused(file, &c2);
            session_abort(&s);
            code = EXIT_REFUSED;
        }
    } else if (code < 0 && bad_here > 0) {
        print_refused(file, &c); /* a half-applied import of this file: not this one */
        code = EXIT_REFUSED;
    }
    if (code > 0 && bad_here > 0 && s.id == 0) {
        print_refused(file, &c); /* the engine could not be asked */
        code = EXIT_REFUSED;
    }
    if (code < 0) {
        code = session_commit(&s, o, file);
        if (o->dry_run || code == EXIT_REFUSED)
            session_abort(&s);
    }
    import_disconnect(&s.conn);
    free(c.bad);
    return code;
}

static int cmd_log(struct options *o)
{
    struct import_conn conn;
    if (import_connect(&conn, o->engine, o->ca, o->cert, o->key, o->timeout_ms) != 0) {
        fprintf(stderr, "sanhe-import: %s\n", conn.err.msg);
        return EXIT_USAGE;
    }
    Sanhe__ImportLogRequest q = SANHE__IMPORT_LOG_REQUEST__INIT;
    q.has_limit = true;
    q.limit = o->limit;
    Sanhe__Request req = SANHE__REQUEST__INIT;
    req.op_case = SANHE__REQUEST__OP_IMPORT_LOG;
    req.import_log = &q;
    Sanhe__Response *resp = NULL;
    int code = EXIT_OK;
    if (import_call(&conn, &req, &resp) != 0) {
        fprintf(stderr, "sanhe-import: %s\n", conn.err.msg);
        code = EXIT_ENGINE;
    } else if (resp->error != NULL) {
        char msg[SH_ERROR_MSG_MAX];
        refusal_of(resp, msg, sizeof msg);
        fprintf(stderr, "sanhe-import: log: %s\n", msg);
        code = EXIT_REFUSED;
    } else {
        for (size_t i = 0; i < resp->import_log->n_imports; i++)
            print_record(resp->import_log->imports[i]);
        if (resp->import_log->n_imports == 0)
            printf("no imports\n");
    }
    if (resp != NULL)
        sanhe__response__free_unpacked(resp, NULL);
    import_disconnect(&conn);
    return code;
}

static void usage(FILE *f)
{
    fputs("usage: sanhe-import [OPTIONS] [--dry-run] [--effective DATE] [--force] SOURCE FILE.csv\n"
          "       sanhe-import [OPTIONS] log [--limit N]\n"
          "Imports a roster file into sanhe-engine as an admin terminal (docs/rosters.md).\n"
          "SOURCE names its mapping file, MAPPINGS/SOURCE.ini (or --mapping FILE), whose\n"
          "[source] kind is enrolment, category, veterans, deaths, hospitals or catalog.\n"
          "Every row is checked first: a file with a bad row is refused whole, naming\n"
          "each bad row by line, and changes nothing. --dry-run shows what the file would\n"
          "change and changes nothing. Importing the same file again changes nothing.\n"
          "Options:\n"
          "  -c, --config FILE   INI, section [import]: engine, ca, cert, key, mappings,\n"
          "                      timeout_ms (default /etc/sanhe/sanhe-import.conf)\n"
          "  --engine HOST:PORT  --ca FILE  --cert FILE  --key FILE  --mapping FILE\n"
          "  --effective DATE    a category roster's effective date (2026-03-01, 20260301,\n"
          "                      2026/3/1)\n"
          "  --force             apply a category roster that ends more spans than its\n"
          "                      mapping's exit_share_max allows\n"
          "  --examples N        changes shown per kind (default 5)\n"
          "Exit status: 0 imported, shown (dry run) or imported already; 1 refused;\n"
          "2 bad usage, config or mapping; 3 the engine could not be reached or failed.\n",
          f);
}

int main(int argc, char **argv)
{
    struct options o = {.examples = 5, .limit = 100};
    snprintf(o.config, sizeof o.config, "/etc/sanhe/sanhe-import.conf");
    snprintf(o.engine, sizeof o.engine, "127.0.0.1:7443");
    bool config_given = false;
    char engine[256] = "", ca[PATH_MAX] = "", cert[PATH_MAX] = "", key[PATH_MAX] = "";
    static const struct option longs[] = {{"config", required_argument, NULL, 'c'},
                                          {"engine", required_argument, NULL, 'E'},
                                          {"ca", required_argument, NULL, 'A'},
                                          {"cert", required_argument, NULL, 'C'},
                                          {"key", required_argument, NULL, 'K'},
                                          {"mapping", required_argument, NULL, 'm'},
                                          {"effective", required_argument, NULL, 'e'},
                                          {"dry-run", no_argument, NULL, 'n'},
                                          {"force", no_argument, NULL, 'f'},
                                          {"examples", required_argument, NULL, 'x'},
                                          {"limit", required_argument, NULL, 'l'},
                                          {"help", no_argument, NULL, 'h'},
                                          {NULL, 0, NULL, 0}};
    int ch;
    while ((ch = getopt_long(argc, argv, "+c:h", longs, NULL)) != -1) {
        switch (ch) {
        case 'c':
            snprintf(o.config, sizeof o.config, "%s", optarg);
            config_given = true;
            break;
        case 'E':
            snprintf(engine, sizeof engine, "%s", optarg);
            break;
        case 'A':
            snprintf(ca, sizeof ca, "%s", optarg);
            break;
        case 'C':
            snprintf(cert, sizeof cert, "%s", optarg);
            break;
        case 'K':
            snprintf(key, sizeof key, "%s", optarg);
            break;
        case 'm':
            o.mapping = optarg;
            break;
        case 'e':
            o.effective = optarg;
            break;
        case 'n':
            o.dry_run = true;
            break;
        case 'f':
            o.force = true;
            break;
        case 'x':
            o.examples = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 'l':
            o.limit = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 'h':
            usage(stdout);
            return EXIT_OK;
        default:
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (config_load(&o, config_given) != 0)
        return EXIT_USAGE;
    if (engine[0])
        snprintf(o.engine, sizeof o.engine, "%s", engine);
    if (ca[0])
        snprintf(o.ca, sizeof o.ca, "%s", ca);
    if (cert[0])
        snprintf(o.cert, sizeof o.cert, "%s", cert);
    if (key[0])
        snprintf(o.key, sizeof o.key, "%s", key);
    if (o.examples == 0 || o.examples > 100)
        o.examples = 5;
    int rest = argc - optind;
    if (rest >= 1 && strcmp(argv[optind], "log") == 0) {
        /* log's own options may follow it */
        optind++;
        while ((ch = getopt_long(argc, argv, "+", longs, NULL)) != -1)
            if (ch == 'l')
                o.limit = (unsigned)strtoul(optarg, NULL, 10);
        return cmd_log(&o);
    }
    if (rest != 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    return cmd_import(&o, argv[optind], argv[optind + 1]);
}
