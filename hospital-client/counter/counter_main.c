/* sanhe-counter: options (getopt_long, anywhere on the line), the command,
 * the exit code. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "counter.h"

static const char usage_text[] =
    N_("usage: sanhe-counter [OPTIONS] COMMAND [ARGS]   (options may come anywhere)\n"
       "\n"
       "Commands:\n"
       "  settle FILE            settle a bill (JSON claim or CSV) and print the receipt\n"
       "  presettle FILE         the same computation as a trial: nothing is recorded\n"
       "  reverse SETTLEMENT_ID  reverse a settlement of this hospital; prints the reversal\n"
       "                         receipt\n"
       "  cancel REQUEST_ID      cancel a settle whose outcome is unknown (reverses it if it\n"
       "                         landed, otherwise makes sure it never will)\n"
       "  query SETTLEMENT_ID | query --request-id R\n"
       "  eligibility PERSON [DATE]  the person's funds and what each paid this year\n"
       "  flush                  send the --queue outbox in order, exactly once each;\n"
       "                         with --daemon, again every --interval-ms (default 30000)\n"
       "                         until killed (kill -9 is safe: every step is durable)\n"
       "  queue                  list the outbox: waiting, answered and refused entries\n"
       "\n"
       "Options (after a --config INI file's [counter] section, which takes the same\n"
       "names: engine, ca, cert, key, hospital, hospital_name, terminal, queue,\n"
       "timeout_ms, lang):\n"
       "  --config FILE          read options from FILE first\n"
       "  --engine H:P[,H:P]     engine addresses, tried in order (fail-over)\n"
       "  --ca FILE --cert FILE --key FILE   the CA and this terminal's certificate, key\n"
       "  --terminal-hospital CODE  this counter's hospital (also names request ids)\n"
       "  --hospital-name NAME   printed on receipts\n"
       "  --queue DIR            store-and-forward outbox (LMDB) for settle, flush, queue;\n"
       "                         an engine that refuses the connection queues at once\n"
       "  --request-id R         the request id of settle/reverse (default: generated);\n"
       "                         for query: the settle's request id\n"
       "  --timeout-ms N         deadline of the whole command, retries included\n"
       "                         (default 10000)\n"
       "  --lang zh|en           language (default: the locale's, else zh); messages come\n"
       "                         from the gettext catalog (SANHE_LOCALEDIR overrides where)\n"
       "  --json                 print the engine's reply as JSON instead\n"
       "  --daemon --interval-ms N   flush: keep flushing every N ms until killed\n"
       "\n"
       "CSV bills: a header row naming hospital,person,visit,date,code,qty,amount (any\n"
       "order), then one fee line a row; qty has at most 3 decimals, amount is integer fen.\n"
       "\n"
       "Exit codes:\n"
       "  0  done (settle: the receipt is printed)\n"
       "  1  refused by the engine (its code and message on stderr)\n"
       "  2  usage: bad command line, config or bill file\n"
       "  3  cannot reach the engine, or a settle's outcome is unknown (cancel it or retry\n"
       "     with the same --request-id); flush: entries still wait\n"
       "  4  queued: the settle waits in the --queue outbox for `flush`\n"
       "  5  local failure: certificates, memory, the queue database\n"
       "  6  the engine refused this terminal's certificate in the TLS handshake (the\n"
       "     alert is named), or the engine's certificate does not verify: not sent\n");

enum opt_id {
    OPT_CONFIG = 1000,
    OPT_ENGINE,
    OPT_CA,
    OPT_CERT,
    OPT_KEY,
    OPT_HOSPITAL,
    OPT_HOSPITAL_NAME,
    OPT_QUEUE,
    OPT_REQUEST_ID,
    OPT_TIMEOUT,
    OPT_INTERVAL,
    OPT_LANG,
    OPT_JSON,
    OPT_DAEMON,
    OPT_HELP,
};

static const struct option long_options[] = {
    {"config", required_argument, NULL, OPT_CONFIG},
    {"engine", required_argument, NULL, OPT_ENGINE},
    {"ca", required_argument, NULL, OPT_CA},
    {"cert", required_argument, NULL, OPT_CERT},
    {"key", required_argument, NULL, OPT_KEY},
    {"terminal-hospital", required_argument, NULL, OPT_HOSPITAL},
    {"hospital-name", required_argument, NULL, OPT_HOSPITAL_NAME},
    {"queue", required_argument, NULL, OPT_QUEUE},
    {"request-id", required_argument, NULL, OPT_REQUEST_ID},
    {"timeout-ms", required_argument, NULL, OPT_TIMEOUT},
    {"interval-ms", required_argument, NULL, OPT_INTERVAL},
    {"lang", required_argument, NULL, OPT_LANG},
    {"json", no_argument, NULL, OPT_JSON},
    {"daemon", no_argument, NULL, OPT_DAEMON},
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0},
};

/* The commands, their arguments (min, max) and what they take. */
static const struct command {
    const char *name;
    int args_min, args_max;
    const char *args; /* for the one-line error */
} commands[] = {
    {"settle", 1, 1, N_("FILE")},
    {"presettle", 1, 1, N_("FILE")},
    {"reverse", 1, 1, N_("SETTLEMENT_ID")},
    {"cancel", 1, 1, N_("REQUEST_ID")},
    {"query", 0, 1, N_("SETTLEMENT_ID | --request-id R")},
    {"eligibility", 1, 2, N_("PERSON [DATE]")},
    {"flush", 0, 0, ""},
    {"queue", 0, 0, ""},
};

#define COMMAND_COUNT (sizeof commands / sizeof commands[0])

static char *string_option(struct counter_opts *o, int id, size_t *size)
{
    switch (id) {
    case OPT_ENGINE:
        return *size = sizeof o->engines, o->engines;
    case OPT_CA:
        return *size = sizeof o->ca, o->ca;
    case OPT_CERT:
        return *size = sizeof o->cert, o->cert;
    case OPT_KEY:
        return *size = sizeof o->key, o->key;
    case OPT_HOSPITAL:
        return *size = sizeof o->hospital, o->hospital;
    case OPT_HOSPITAL_NAME:
        return *size = sizeof o->hospital_name, o->hospital_name;
    case OPT_QUEUE:
        return *size = sizeof o->queue, o->queue;
    case OPT_REQUEST_ID:
        return *size = sizeof o->request_id, o->request_id;
    default:
        return NULL;
    }
}

/* A usage error is the one line that said what is wrong: no usage dump. */
static int usage_error(void) { return EXIT_USAGE; }

/* One option; 0, or EXIT_USAGE (said why). */
static int take_option(struct counter_opts *o, int id, const char *arg, bool *lang_set)
{
    size_t size = 0;
    char *dst = string_option(o, id, &size);
    if (dst != NULL) {
        if (strlen(arg) >= size) {
            fprintf(stderr, _("sanhe-counter: %s: too long\n"), arg);
            return EXIT_USAGE;
        }
        snprintf(dst, size, "%s", arg);
        return 0;
    }
    if (id == OPT_CONFIG)
        return counter_config_load(o, arg);
    if (id == OPT_LANG) {
        if (strcmp(arg, "zh") != 0 && strcmp(arg, "en") != 0) {
            fprintf(stderr, _("sanhe-counter: --lang %s: use zh or en\n"), arg);
            return EXIT_USAGE;
        }
        o->lang = strcmp(arg, "en") == 0 ? SH_LANG_EN : SH_LANG_ZH;
        *lang_set = true;
        return 0;
    }
    if (id == OPT_TIMEOUT || id == OPT_INTERVAL) {
        char *end;
        long v = strtol(arg, &end, 10);
        if (*end != '\0' || end == arg || v <= 0 || v > 3600000) {
            fprintf(stderr, _("sanhe-counter: %s %s: give milliseconds, 1 to 3600000\n"),
                    id == OPT_TIMEOUT ? "--timeout-ms" : "--interval-ms", arg);
            return EXIT_USAGE;
        }
        *(id == OPT_INTERVAL ? &o->interval_ms : &o->timeout_ms) = (int)v;
        return 0;
    }
    if (id == OPT_JSON)
        o->json = true;
    else if (id == OPT_DAEMON)
        o->daemon = true;
    return 0;
}

/* Edit distance (insert, delete, substitute, swap), for "did you mean". */
static size_t distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 31 || lb > 31)
        return 99;
    size_t d[32][32];
    for (size_t i = 0; i <= la; i++)
        d[i][0] = i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = j;
    for (size_t i = 1; i <= la; i++)
        for (size_t j = 1; j <= lb; j++) {
            size_t best = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            best = d[i - 1][j] + 1 < best ? d[i - 1][j] + 1 : best;
            best = d[i][j - 1] + 1 < best ? d[i][j - 1] + 1 : best;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    return d[la][lb];
}

/* The closest of names (NULL-terminated by count), if close enough. */
static const char *closest(const char *word, const char *const *names, size_t count)
{
    const char *best = NULL;
    size_t best_d = 3; /* two edits at most */
    for (size_t i = 0; i < count; i++) {
        size_t d = distance(word, names[i]);
        if (d < best_d)
            best = names[i], best_d = d;
    }
    return best;
}

static int unknown_option(const char *arg)
{
    const char *names[sizeof long_options / sizeof long_options[0]];
    size_t n = 0;
    for (; long_options[n].name != NULL; n++)
        names[n] = long_options[n].name;
    const char *word = arg;
    while (*word == '-')
        word++;
    char bare[64];
    snprintf(bare, sizeof bare, "%.*s", (int)strcspn(word, "="), word);
    const char *near = closest(bare, names, n);
    if (near != NULL)
        fprintf(stderr, _("sanhe-counter: unknown option %s; did you mean --%s?\n"), arg, near);
    else
        fprintf(stderr, _("sanhe-counter: unknown option %s\n"), arg);
    return usage_error();
}

/* Every option, wherever it is; *first the index of the first operand. */
static int parse_options(struct counter_opts *o, int argc, char **argv, int *first, bool *help)
{
    bool lang_set = false;
    int lang_arg = -1;
    o->lang = sh_i18n_lang_default();
    /* The language is chosen before any message: --lang wherever it is. */
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], "--lang") == 0 && strcmp(argv[i + 1], "en") == 0)
            lang_arg = SH_LANG_EN;
        else if (strcmp(argv[i], "--lang") == 0 && strcmp(argv[i + 1], "zh") == 0)
            lang_arg = SH_LANG_ZH;
    sh_i18n_init(lang_arg >= 0 ? (enum sh_lang)lang_arg : o->lang);
    opterr = 0; /* our messages, in the catalog's language */
    int id;
    while ((id = getopt_long(argc, argv, "", long_options, NULL)) != -1) {
        if (id == '?' || id == ':') {
            const char *arg = argv[optind - 1];
            /* A known option without its value has optopt set to it. */
            if (optopt >= OPT_CONFIG) {
                fprintf(stderr, _("sanhe-counter: option %s needs a value\n"), arg);
                return usage_error();
            }
            return unknown_option(arg);
        }
        if (id == OPT_HELP) {
            *help = true;
            continue;
        }
        int rc = take_option(o, id, optarg, &lang_set);
        if (rc != 0)
            return rc;
    }
    /* --lang wins over a config file's lang, wherever each came. */
    if (lang_set && lang_arg >= 0)
        o->lang = (enum sh_lang)lang_arg;
    sh_i18n_init(o->lang);
    *first = optind;
    return 0;
}

static const struct command *find_command(const char *name)
{
    for (size_t i = 0; i < COMMAND_COUNT; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

static int unknown_command(const char *name)
{
    const char *names[COMMAND_COUNT];
    for (size_t i = 0; i < COMMAND_COUNT; i++)
        names[i] = commands[i].name;
    const char *near = closest(name, names, COMMAND_COUNT);
    if (near != NULL)
        fprintf(stderr,
                _("sanhe-counter: unknown command \"%s\"; did you mean \"%s\"? (--help lists "
                  "the commands)\n"),
                name, near);
    else
        fprintf(stderr, _("sanhe-counter: unknown command \"%s\" (--help lists the commands)\n"),
                name);
    return usage_error();
}

static int run(const struct counter_opts *o, int argc, char **argv)
{
    if (argc == 0) {
        fprintf(stderr, "%s\n", _("sanhe-counter: no command given"));
        return usage_error();
    }
    const struct command *c = find_command(argv[0]);
    if (c == NULL)
        return unknown_command(argv[0]);
    int n = argc - 1;
    bool query_by_rid = strcmp(c->name, "query") == 0 && o->request_id[0] != '\0';
    if (n < c->args_min || n > c->args_max ||
        (strcmp(c->name, "query") == 0 && n == 0 && !query_by_rid)) {
        fprintf(stderr, _("sanhe-counter: %s takes %s\n"), c->name,
                c->args[0] ? _(c->args) : _("no arguments"));
        return usage_error();
    }
    const char *name = c->name;
    if (strcmp(name, "settle") == 0 || strcmp(name, "presettle") == 0)
        return cmd_settle(o, argv[1], strcmp(name, "presettle") == 0);
    if (strcmp(name, "reverse") == 0)
        return cmd_reverse(o, argv[1]);
    if (strcmp(name, "cancel") == 0)
        return cmd_cancel(o, argv[1]);
    if (strcmp(name, "query") == 0)
        return query_by_rid ? cmd_query(o, NULL, o->request_id) : cmd_query(o, argv[1], NULL);
    if (strcmp(name, "eligibility") == 0)
        return cmd_eligibility(o, argv[1], n == 2 ? argv[2] : NULL);
    if (strcmp(name, "flush") == 0)
        return cmd_flush(o);
    return cmd_queue_list(o);
}

int main(int argc, char **argv)
{
    static struct counter_opts o; /* zeroed: defaults are empty strings */
    int first = 0;
    bool help = false;
    int rc = parse_options(&o, argc, argv, &first, &help);
    if (rc != 0)
        return rc;
    if (help) {
        fputs(_(usage_text), stdout);
        return EXIT_OK;
    }
    return run(&o, argc - first, argv + first);
}
