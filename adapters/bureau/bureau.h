/*
 * sanhe-bureau, the insurance bureau's command line. It talks TLS 1.3 to
 * sanhe-engine as a `bureau` terminal and asks the reconcile operation
 * (proto/sanhe.proto, ReconcileRequest) for a day's figures.
 *
 *   bureau_main.c       arguments and commands
 *   bureau_config.c     the INI configuration ([bureau] section) and overrides
 *   bureau_conn.c       one request and its answer, through libsanhe-client
 *   bureau_table.c      text tables whose columns line up with Chinese text
 *   bureau_labels.c     column names, Chinese or English
 *   bureau_day.c        `day`: a table per hospital and fund, with totals
 *   bureau_reconcile.c  `reconcile`: one hospital-day against its books
 *   bureau_input.c      the hospital's figures (JSON) and list (CSV or JSON)
 *   bureau_export.c     `export`: the day's files, signed (bureau_sign.c, bureau_file_*.c)
 *   bureau_verify.c     `verify`: a file's signature and figures against the journal,
 *                       offline (bureau_compare.c)
 *   bureau_report*.c    `report`: the day as a static HTML page with inline SVG charts
 *
 * The connection is libsanhe-client's (sanhe_call_raw): a deadline per
 * request, reconnects and resends with the same request id, and the
 * engine's refusals as replies.
 */
#ifndef BUREAU_H
#define BUREAU_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "receipt.h" /* enum sh_lang, sh_yuan_format */
#include "sanhe.pb-c.h"
#include "sh_error.h"

#define BUREAU_TIMEOUT_MS_DEFAULT 30000
#define BUREAU_HOSPITALS_MAX 256

struct bureau_config {
    char path[PATH_MAX]; /* the file read, "" for none */
    char host[256];
    int port;
    char ca[PATH_MAX];
    char cert[PATH_MAX];
    char key[PATH_MAX];
    int timeout_ms;
    enum sh_lang lang;
    char signing_key[PATH_MAX]; /* export: the engine's Ed25519 private key (PEM) */
    char verify_key[PATH_MAX];  /* verify: its public key (PEM); "" = signing_key's */
    char data_dir[PATH_MAX];    /* verify: the engine's data directory, opened read-only */
};

/* ---- bureau_config.c ---- */
void bureau_config_defaults(struct bureau_config *c);
/* Reads [bureau] engine = HOST:PORT, ca, cert, key, timeout_ms, lang from
 * path; relative paths are taken from the file's directory. Unknown keys
 * are refused, named. */
int bureau_config_load(const char *path, struct bureau_config *c, struct sh_error *err);
/* "HOST:PORT" into c; BAD_REQUEST when it is not one. */
int bureau_config_engine(struct bureau_config *c, const char *value, struct sh_error *err);

/* ---- bureau_conn.c ---- */
/* A refusal as the bureau's error: "WHAT: the engine refused (CODE):
 * reason" (no "WHAT: " when what is NULL or empty), its detail worded
 * (words.c), else the engine's English message.
 * Returns the refusal's code. */
int bureau_refused(const Sanhe__Error *e, const char *what, struct sh_error *err);
/* One request over a fresh connection, within c->timeout_ms; *out is freed
 * by the caller (sanhe__response__free_unpacked). A refusal is a Response
 * with an error. A request without a request_id gets a generated one. */
int bureau_call(const struct bureau_config *c, const Sanhe__Request *req, Sanhe__Response **out,
                struct sh_error *err);
/* A reconcile request, answered with a ReconcileReply (else err says why,
 * naming the engine's refusal). */
int bureau_reconcile(const struct bureau_config *c, const Sanhe__ReconcileRequest *q,
                     Sanhe__Response **out, struct sh_error *err);

/* ---- bureau_table.c ---- */
#define TABLE_COLS_MAX 24
#define TABLE_CELL_MAX 256

struct table {
    size_t cols, rows, cap;
    bool right[TABLE_COLS_MAX];                    /* right-aligned (numbers) */
    char (*cells)[TABLE_COLS_MAX][TABLE_CELL_MAX]; /* rows; row 0 the header */
    size_t rule_before;                            /* a rule above this row (0: none) */
};

int table_init(struct table *t, size_t cols);
/* A new row; returns its index, or -1 when out of memory. */
long table_row(struct table *t);
void table_set(struct table *t, size_t row, size_t col, const char *text);
void table_set_fen(struct table *t, size_t row, size_t col, int64_t fen);
void table_set_u64(struct table *t, size_t row, size_t col, uint64_t v);
void table_print(FILE *out, const struct table *t);
void table_free(struct table *t);
/* Terminal columns of UTF-8 text (CJK and full-width take two). */
int text_width(const char *s);

/* ---- bureau_labels.c ---- */
enum label {
    L_HOSPITAL,
    L_NAME,
    L_SETTLED,
    L_REVERSED,
    L_TOTAL,
    L_FUND_TOTAL,
    L_PATIENT,
    L_ALL,
    L_DAY_TITLE,
    L_NO_ACTIVITY,
    L_KIND,
    L_SETTLEMENTS,
    L_REVERSALS,
    L_NET,
    L_COUNT,
    L_BALANCED,
    L_UNBALANCED,
    L_FIGURE,
    L_ENGINE,
    L_HOSPITAL_SIDE,
    L_ONLY_ENGINE,
    L_ONLY_HOSPITAL,
    L_DIFFERING,
    L_SETTLEMENT_ID,
    L_FUND,
    L_AMOUNTS_IN_YUAN,
    L_DAY,
    L_RECONCILIATION,
    L_NOT_RECONCILED,
    L_BALANCED_SHORT,
    L_UNBALANCED_SHORT,
    L_BY_HOUR,
    L_BY_FUND,
    L_HOUR,
    L_MONTH_TITLE,
    L_TREND,
    L_UNBALANCED_DAYS,
    L_ALL_BALANCED,
    L_ENTRIES,
    L_COUNT_LABELS
};
const char *label(enum sh_lang lang, enum label which);
/* A fund's name as the policy gives it (FundAmount.name in names, the half
 * of the language), else its id. */
void bureau_fund_title(const Sanhe__Totals *names, const char *fund, enum sh_lang lang, char *out,
                       size_t size);
/* A compared figure ("count", "total", "fund_total", "patient_pays",
 * "fund:ID") in words. */
void bureau_figure_label(const char *figure, const Sanhe__Totals *names, enum sh_lang lang,
                         char *out, size_t size);

/* ---- bureau_input.c ---- */
/* The hospital's net figures: a JSON object {"count", "total", "fund_total",
 * "patient_pays", "funds": {"coop": fen, ...}}, amounts in fen (integers). */
int bureau_read_figures(const char *path, Sanhe__Totals **out, struct sh_error *err);
/* The hospital's list of settlements: CSV rows settlement_id,total,fund_total
 * (fen; a first row that is not numbers is a header) or a JSON array of
 * {"settlement_id", "total", "fund_total"}; by the file's extension. */
int bureau_read_items(const char *path, Sanhe__ReconcileItem ***items, size_t *n,
                      struct sh_error *err);
void bureau_free_figures(Sanhe__Totals *t);
void bureau_free_items(Sanhe__ReconcileItem **items, size_t n);

/* ---- bureau_sign.c ---- */
/* The whole file, NUL-terminated (not counted in len); -1 when unreadable. */
int bureau_read_all(const char *path, unsigned char **data, size_t *len);
/* Writes FILE.sig: Ed25519 over FILE's bytes, in hex. */
int bureau_sign_file(const char *key_path, const char *file, struct sh_error *err);
/* Checks FILE against FILE.sig with the key's public half. */
int bureau_verify_file(const char *key_path, const char *file, struct sh_error *err);

/* ---- bureau_file_json.c, bureau_file_csv.c: a day's figures as files ---- */
/* A reconcile reply as JSON (fen); its only_engine list as "items" when with_items. */
json_t *bureau_reply_to_json(const Sanhe__ReconcileReply *rr, bool with_items);
int bureau_reply_from_json(const char *path, Sanhe__ReconcileReply **out, bool *has_items,
                           struct sh_error *err);
int bureau_reply_to_csv(const Sanhe__ReconcileReply *rr, bool with_items, const char *path,
                        enum sh_lang lang, struct sh_error *err);
int bureau_reply_from_csv(const char *path, Sanhe__ReconcileReply **out, bool *has_items,
                          struct sh_error *err);
/* Fen as "-1234.56" and back (exactly two decimals). */
void bureau_fen_plain(int64_t fen, char out[32]);
bool bureau_plain_fen(const char *s, int64_t *out);

/* ---- bureau_compare.c ---- */
/* Prints each figure of file that is not the journal's; returns how many. */
size_t bureau_compare(const Sanhe__ReconcileReply *file, const Sanhe__ReconcileReply *journal,
                      bool items);

/* ---- bureau_report.c, bureau_report_svg.c: the daily HTML page ---- */
/* s with & < > " ' escaped (text and attribute values). */
void bureau_html_text(FILE *out, const char *s);
/* <!DOCTYPE ...><body>: a page's head, with the style of every page. */
void bureau_html_head(FILE *out, const char *title, enum sh_lang lang);
/* Charts of a whole-day reply asked with_hours (bureau_report_svg.c). */
void bureau_svg_by_hour(FILE *out, const Sanhe__ReconcileReply *day, const char *title,
                        enum sh_lang lang);
void bureau_svg_by_fund(FILE *out, const Sanhe__ReconcileReply *day, const char *title,
                        enum sh_lang lang);
/* Pieces for other charts: a fund's amount in t (0 when absent); a round
 * axis maximum at least max fen; the y axis from 0 to axis; the legend of
 * net's funds; the colour of the i-th fund. */
int64_t bureau_fund_in(const Sanhe__Totals *t, const char *fund);
int64_t bureau_axis_max(int64_t max);
void bureau_svg_y_axis(FILE *out, int64_t axis, int x0, int x1, int top, int plot_h);
void bureau_svg_legend(FILE *out, const Sanhe__Totals *net, int x0, int y, enum sh_lang lang);
const char *bureau_svg_colour(size_t i);

/* A hospital-day's reconciliation against its books (report pages). */
struct book_result {
    int state;             /* -1 no books, 0 balanced, 1 not */
    Sanhe__Response *resp; /* the reply with the differences (free it) */
};
/* books_dir/HOSPITAL.json reconciled for day, when the file exists. */
void bureau_book_of(const struct bureau_config *c, const char *books_dir, const char *day,
                    const char *hospital, struct book_result *b);

/* ---- bureau_month.c: the month page ---- */
/* month "YYYY-MM"; books_dir/DAY/HOSPITAL.json per day; writes path and
 * the day pages of the days with activity beside it (sanhe-DAY.html),
 * which the month page links. 0, or 1 (failure or a day not balanced). */
int bureau_report_month(const struct bureau_config *c, const char *month, const char *path,
                        const char *books_dir);

/* ---- the commands: exit status 0 ok, 1 failure or not balanced ---- */
int bureau_report(const struct bureau_config *c, const char *day, const char *path,
                  const char *books_dir);
int bureau_export(const struct bureau_config *c, const char *day, const char *dir);
/* crosscheck MONTH: the monthly cross-check's files, signed (bureau_crosscheck.c). */
int bureau_crosscheck(const struct bureau_config *c, const char *month, const char *dir);
/* The engine's cross-check reply for month (the caller frees *out). */
int bureau_crosscheck_fetch(const struct bureau_config *c, const char *month, Sanhe__Response **out,
                            struct sh_error *err);
/* The month page's cross-check section (bureau_report_crosscheck.c): the
 * engine asked for month; a reply refused is said on the page and on
 * stderr, and returns 1. */
int bureau_report_crosscheck(FILE *out, const struct bureau_config *c, const char *month);
int bureau_verify(const struct bureau_config *c, const char *file);
/* audit: who looked up whom (bureau_audit.c; docs/limits.md). */
struct audit_args {
    const char *person;   /* NULL: any */
    const char *terminal; /* NULL: any */
    const char *day;      /* NULL: today */
    uint32_t limit;       /* 0: the engine's default */
};
int bureau_audit(const struct bureau_config *c, const struct audit_args *a);
int bureau_day(const struct bureau_config *c, const char *day, char **hospitals, size_t n);
struct reconcile_args {
    const char *hospital, *day, *figures, *items;
};
int bureau_reconcile_cmd(const struct bureau_config *c, const struct reconcile_args *a);

#endif
