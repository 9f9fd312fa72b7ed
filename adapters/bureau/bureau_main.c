/*
 * sanhe-bureau: the insurance bureau's command line (see bureau.h).
 *
 *   sanhe-bureau [OPTIONS] day DATE [--hospital H]...
 *   sanhe-bureau [OPTIONS] reconcile --hospital H --day DATE [--figures F.json]
 *                                    [--items F.csv|F.json]
 *   sanhe-bureau [OPTIONS] export DATE [--out DIR]
 *   sanhe-bureau [OPTIONS] verify FILE [--data DIR]
 *   sanhe-bureau [OPTIONS] report DATE [--out FILE.html] [--books DIR]
 *   sanhe-bureau [OPTIONS] crosscheck MONTH [--out DIR]
 *   sanhe-bureau [OPTIONS] audit [--person ID | --terminal T] [--day DATE] [--limit N]
 */
#include <stdlib.h>
#include <string.h>

#include "bureau.h"
#include "sh_date.h"

static const char usage_text[] =
    N_("usage: sanhe-bureau [OPTIONS] day DATE [--hospital H]...\n"
       "       sanhe-bureau [OPTIONS] reconcile --hospital H --day DATE\n"
       "                    [--figures FILE.json] [--items FILE.csv|FILE.json]\n"
       "       sanhe-bureau [OPTIONS] export DATE [--out DIR]\n"
       "       sanhe-bureau [OPTIONS] verify FILE [--data DIR]\n"
       "       sanhe-bureau [OPTIONS] report DATE [--out FILE.html] [--books DIR]\n"
       "       sanhe-bureau [OPTIONS] report YYYY-MM [--out FILE.html] [--books DIR]\n"
       "       sanhe-bureau [OPTIONS] crosscheck MONTH [--out DIR]\n"
       "       sanhe-bureau [OPTIONS] audit [--person ID | --terminal T] [--day DATE]\n"
       "                    [--limit N]\n"
       "\n"
       "day        the day's settlements per hospital and fund, with totals (net of\n"
       "           reversals; counts of settlements and reversals); every hospital with\n"
       "           activity that day, or those named; with a counter's certificate, its\n"
       "           own hospital\n"
       "reconcile  one hospital-day: the engine's settlements, reversals and net, and with\n"
       "           the hospital's figures (JSON: count, total, fund_total, patient_pays,\n"
       "           funds {id: fen}; count is the day's entries, settlements plus reversals)\n"
       "           and/or list (CSV settlement_id,total,fund_total, or JSON) whether they\n"
       "           balance, and exactly what differs. Amounts in files are integer fen;\n"
       "           exit status 1 when not balanced.\n"
       "export     the day's files into DIR (default sanhe-DATE): per hospital and a\n"
       "           summary, JSON (fen) and CSV (yuan), each signed with the engine's\n"
       "           Ed25519 key into FILE.sig\n"
       "verify     checks FILE's signature, then its figures against the journal of the\n"
       "           engine's data directory, opened read-only (offline)\n"
       "report     the day as a static HTML page (default sanhe-DATE.html): totals per\n"
       "           hospital and fund, a chart by hour and by fund; with --books DIR each\n"
       "           hospital's figures DIR/HOSPITAL.json are reconciled, unbalanced marked;\n"
       "           exit status 1 when one does not balance. With a month (YYYY-MM): a\n"
       "           table of its days, each fund's trend, and the hospital-days that did\n"
       "           not balance (books in DIR/YYYY-MM-DD/HOSPITAL.json), linked to the day\n"
       "           pages written beside it\n"
       "crosscheck the monthly cross-check of MONTH (YYYY-MM; docs/rosters.md) into DIR\n"
       "           (default .): crosscheck-MONTH.json (fen) and .csv (yuan), signed\n"
       "audit      the person lookups of a day (default today): time, terminal, hospital,\n"
       "           masked resident id, operation, outcome; then each terminal's lookups\n"
       "           and settles, FLAGGED when lookups far outnumber settles (exit status 1)\n"
       "\n"
       "options:\n"
       "  -c, --config FILE   INI, section [bureau]: engine = HOST:PORT, ca, cert, key,\n"
       "                      timeout_ms, lang, signing_key, verify_key, data_dir\n"
       "                      (relative paths from the file's directory)\n"
       "      --engine HOST:PORT, --ca FILE, --cert FILE, --key FILE, --signing-key FILE,\n"
       "      --verify-key FILE, --data DIR   override the config\n"
       "      --lang zh|en    language (default: the locale's, else zh)\n"
       "  -h, --help          this text\n"
       "\n"
       "exit status: 0 success, 1 failure or not balanced, 2 usage.\n");

static void usage(FILE *out) { fputs(_(usage_text), out); }

struct args {
    const char *command;
    const char *date; /* or verify's FILE */
    const char *out;
    const char *books;
    char *hospitals[BUREAU_HOSPITALS_MAX];
    size_t n_hospitals;
    struct reconcile_args rec;
    struct audit_args audit;
    const char *limit;
};

/* The value after argv[*i], for an option that takes one; NULL at the end. */
static const char *value_of(int argc, char **argv, int *i)
{
    return *i + 1 < argc ? argv[++*i] : NULL;
}

/* A global option at argv[*i]: 1 taken, 0 not one, -1 bad. */
static int global_option(struct bureau_config *c, int argc, char **argv, int *i)
{
    const char *a = argv[*i];
    struct sh_error err = {0};
    char *dest = strcmp(a, "--ca") == 0            ? c->ca
                 : strcmp(a, "--cert") == 0        ? c->cert
                 : strcmp(a, "--key") == 0         ? c->key
                 : strcmp(a, "--signing-key") == 0 ? c->signing_key
                 : strcmp(a, "--verify-key") == 0  ? c->verify_key
                 : strcmp(a, "--data") == 0        ? c->data_dir
                                                   : NULL;
    const char *v;
    if (strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0)
        return value_of(argc, argv, i) != NULL ? 1 : -1; /* read first, in main */
    if (dest != NULL) {
        if ((v = value_of(argc, argv, i)) == NULL)
            return -1;
        snprintf(dest, PATH_MAX, "%s", v);
        return 1;
    }
    if (strcmp(a, "--engine") == 0) {
        v = value_of(argc, argv, i);
        if (v != NULL && bureau_config_engine(c, v, &err) == 0)
            return 1;
        fprintf(stderr, _("sanhe-bureau: %s\n"), v != NULL ? err.msg : "--engine HOST:PORT");
        return -1;
    }
    if (strcmp(a, "--lang") == 0) {
        v = value_of(argc, argv, i);
        if (v == NULL || (strcmp(v, "zh") != 0 && strcmp(v, "en") != 0))
            return -1;
        c->lang = strcmp(v, "en") == 0 ? SH_LANG_EN : SH_LANG_ZH;
        return 1;
    }
    return 0;
}

/* A command's option at argv[*i]: 1 taken, 0 not one, -1 bad. */
static int command_option(struct args *a, int argc, char **argv, int *i)
{
    const char *opt = argv[*i];
    const char **dest = strcmp(opt, "--day") == 0        ? &a->rec.day
                        : strcmp(opt, "--figures") == 0  ? &a->rec.figures
                        : strcmp(opt, "--items") == 0    ? &a->rec.items
                        : strcmp(opt, "--out") == 0      ? &a->out
                        : strcmp(opt, "--books") == 0    ? &a->books
                        : strcmp(opt, "--person") == 0   ? &a->audit.person
                        : strcmp(opt, "--terminal") == 0 ? &a->audit.terminal
                        : strcmp(opt, "--limit") == 0    ? &a->limit
                                                         : NULL;
    if (strcmp(opt, "--hospital") == 0) {
        const char *v = value_of(argc, argv, i);
        if (v == NULL || a->n_hospitals == BUREAU_HOSPITALS_MAX)
            return -1;
        a->hospitals[a->n_hospitals++] = (char *)v;
        a->rec.hospital = v;
        return 1;
    }
    if (dest == NULL)
        return 0;
    *dest = value_of(argc, argv, i);
    return *dest != NULL ? 1 : -1;
}

/* 0 go on, 1 exit 0 (help), 2 usage. */
static int parse(struct bureau_config *c, struct args *a, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return 1;
        }
        const char *arg = argv[i];
        int took = global_option(c, argc, argv, &i);
        if (took == 0)
            took = command_option(a, argc, argv, &i);
        if (took < 0) {
            fprintf(stderr, _("sanhe-bureau: option %s needs a value (or a good one)\n"), arg);
            return 2;
        }
        if (took > 0)
            continue;
        if (argv[i][0] == '-') {
            fprintf(stderr, _("sanhe-bureau: unknown option %s (--help lists them)\n"), arg);
            return 2;
        }
        if (a->command == NULL)
            a->command = argv[i];
        else if (a->date == NULL)
            a->date = argv[i];
        else {
            fprintf(stderr, _("sanhe-bureau: unexpected argument %s (--help)\n"), arg);
            return 2;
        }
    }
    if (a->command == NULL)
        fprintf(stderr, "%s\n", _("sanhe-bureau: no command given (--help lists them)"));
    return a->command == NULL ? 2 : 0;
}

/* Reads -c CONFIG (wherever it is) before the options that override it. */
static int read_config(struct bureau_config *c, int argc, char **argv)
{
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) {
            struct sh_error err = {0};
            if (bureau_config_load(argv[i + 1], c, &err) != 0) {
                fprintf(stderr, _("sanhe-bureau: %s\n"), err.msg);
                return 2;
            }
            return 0;
        }
    return 0;
}

/* "YYYY-MM": a month of the calendar. */
static bool is_month(const char *s)
{
    char day[16];
    if (strlen(s) != 7)
        return false;
    snprintf(day, sizeof day, "%s-01", s);
    return sh_date_parse(day) != 0;
}

static int run(const struct bureau_config *c, const struct args *a)
{
    if (strcmp(a->command, "day") == 0) {
        if (a->date == NULL || sh_date_parse(a->date) == 0 || a->rec.day || a->rec.figures ||
            a->rec.items) {
            fprintf(stderr, _("sanhe-bureau: day DATE (YYYY-MM-DD) [--hospital H]...\n"));
            return 2;
        }
        return bureau_day(c, a->date, (char **)a->hospitals, a->n_hospitals);
    }
    if (strcmp(a->command, "reconcile") == 0) {
        if (a->rec.hospital == NULL || a->n_hospitals != 1 || a->rec.day == NULL ||
            a->date != NULL) {
            fprintf(stderr, _("sanhe-bureau: reconcile --hospital H --day DATE [--figures F] "
                              "[--items F]\n"));
            return 2;
        }
        return bureau_reconcile_cmd(c, &a->rec);
    }
    if (strcmp(a->command, "export") == 0 && a->date != NULL && sh_date_parse(a->date) != 0 &&
        a->n_hospitals == 0) {
        char dir[PATH_MAX];
        snprintf(dir, sizeof dir, "sanhe-%s", a->date);
        return bureau_export(c, a->date, a->out != NULL ? a->out : dir);
    }
    if (strcmp(a->command, "crosscheck") == 0) {
        if (a->date == NULL || strlen(a->date) != 7 || a->n_hospitals != 0) {
            fprintf(stderr, _("sanhe-bureau: crosscheck MONTH (YYYY-MM) [--out DIR]\n"));
            return 2;
        }
        return bureau_crosscheck(c, a->date, a->out != NULL ? a->out : ".");
    }
    if (strcmp(a->command, "audit") == 0) {
        struct audit_args aa = a->audit;
        aa.day = a->rec.day;
        char *end = NULL;
        unsigned long limit = a->limit != NULL ? strtoul(a->limit, &end, 10) : 0;
        if (a->date != NULL || a->n_hospitals != 0 || (aa.person != NULL && aa.terminal != NULL) ||
            (aa.day != NULL && sh_date_parse(aa.day) == 0) ||
            (a->limit != NULL && (end == a->limit || *end != '\0' || limit > 10000))) {
            fprintf(stderr, _("sanhe-bureau: audit [--person ID | --terminal T] [--day DATE] "
                              "[--limit N (at most 10000)]\n"));
            return 2;
        }
        aa.limit = (uint32_t)limit;
        return bureau_audit(c, &aa);
    }
    if (strcmp(a->command, "verify") == 0 && a->date != NULL && a->n_hospitals == 0)
        return bureau_verify(c, a->date);
    if (strcmp(a->command, "report") == 0 && a->date != NULL && is_month(a->date) &&
        a->n_hospitals == 0) {
        char path[PATH_MAX];
        snprintf(path, sizeof path, "sanhe-%s.html", a->date);
        return bureau_report_month(c, a->date, a->out != NULL ? a->out : path, a->books);
    }
    if (strcmp(a->command, "report") == 0 && a->date != NULL && sh_date_parse(a->date) != 0 &&
        a->n_hospitals == 0) {
        char path[PATH_MAX];
        snprintf(path, sizeof path, "sanhe-%s.html", a->date);
        return bureau_report(c, a->date, a->out != NULL ? a->out : path, a->books);
    }
    if (strcmp(a->command, "export") == 0 || strcmp(a->command, "verify") == 0 ||
        strcmp(a->command, "report") == 0) {
        fprintf(stderr, _("sanhe-bureau: export DATE [--out DIR] | verify FILE [--data DIR] | "
                          "report DATE|YYYY-MM [--out FILE] [--books DIR]\n"));
        return 2;
    }
    fprintf(stderr,
            _("sanhe-bureau: unknown command \"%s\" (day, reconcile, export, verify, "
              "report, crosscheck, audit)\n"),
            a->command);
    return 2;
}

int main(int argc, char **argv)
{
    struct bureau_config c;
    bureau_config_defaults(&c);
    c.lang = sh_i18n_lang_default();
    /* --lang before any message, wherever it is. */
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], "--lang") == 0)
            c.lang = strcmp(argv[i + 1], "en") == 0 ? SH_LANG_EN : SH_LANG_ZH;
    sh_i18n_init(c.lang);
    struct args a;
    memset(&a, 0, sizeof a);
    int rc = read_config(&c, argc, argv);
    if (rc == 0)
        rc = parse(&c, &a, argc, argv);
    sh_i18n_init(c.lang); /* a config file's lang, unless --lang said otherwise */
    if (rc == 1)
        return 0;
    if (rc == 2) /* what is wrong was said, in one line: no usage dump */
        return 2;
    return run(&c, &a);
}
