/* sanhe-counter: options, the command, the exit code. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "counter.h"

static const char usage_text[] =
    "usage: sanhe-counter [OPTIONS] COMMAND [ARGS]\n"
    "\n"
    "Commands:\n"
    "  settle FILE            settle a bill (JSON claim or CSV) and print the receipt\n"
    "  presettle FILE         the same computation as a trial: nothing is recorded\n"
    "  reverse SETTLEMENT_ID  reverse a settlement of this hospital\n"
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
    "  --queue DIR            store-and-forward outbox (LMDB) for settle, flush, queue\n"
    "  --request-id R         the request id of settle/reverse (default: generated);\n"
    "                         for query: the settle's request id\n"
    "  --timeout-ms N         deadline of each call, retries included (default 10000)\n"
    "  --lang zh|en           receipt language (default zh)\n"
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
    "  5  local failure: certificates, memory, the queue database\n";

/* --name VALUE options that fill a string. */
static char *string_option(struct counter_opts *o, const char *name, size_t *size)
{
    struct {
        const char *name;
        char *dst;
        size_t size;
    } opts[] = {{"--engine", o->engines, sizeof o->engines},
                {"--ca", o->ca, sizeof o->ca},
                {"--cert", o->cert, sizeof o->cert},
                {"--key", o->key, sizeof o->key},
                {"--terminal-hospital", o->hospital, sizeof o->hospital},
                {"--hospital-name", o->hospital_name, sizeof o->hospital_name},
                {"--queue", o->queue, sizeof o->queue},
                {"--request-id", o->request_id, sizeof o->request_id}};
    for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++)
        if (strcmp(name, opts[i].name) == 0) {
            *size = opts[i].size;
            return opts[i].dst;
        }
    return NULL;
}

/* Options before the command; returns the index of the command, or -1. */
static int parse_options(struct counter_opts *o, int argc, char **argv)
{
    int i = 1;
    for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
        size_t size;
        char *dst = string_option(o, argv[i], &size);
        bool has_value = i + 1 < argc;
        if (strcmp(argv[i], "--json") == 0)
            o->json = true;
        else if (strcmp(argv[i], "--daemon") == 0)
            o->daemon = true;
        else if (strcmp(argv[i], "--help") == 0)
            return -2;
        else if (!has_value)
            return -1;
        else if (dst != NULL)
            snprintf(dst, size, "%s", argv[++i]);
        else if (strcmp(argv[i], "--config") == 0) {
            if (counter_config_load(o, argv[++i]) != 0)
                return -1;
        } else if (strcmp(argv[i], "--lang") == 0)
            o->lang = strcmp(argv[++i], "en") == 0 ? SH_LANG_EN : SH_LANG_ZH;
        else if (strcmp(argv[i], "--timeout-ms") == 0 || strcmp(argv[i], "--interval-ms") == 0) {
            char *end;
            bool interval = strcmp(argv[i], "--interval-ms") == 0;
            long v = strtol(argv[++i], &end, 10);
            if (*end != '\0' || v <= 0 || v > 3600000)
                return -1;
            *(interval ? &o->interval_ms : &o->timeout_ms) = (int)v;
        } else
            return -1;
    }
    return i < argc ? i : -1;
}

static int run(const struct counter_opts *o, int argc, char **argv)
{
    const char *cmd = argv[0];
    if ((strcmp(cmd, "settle") == 0 || strcmp(cmd, "presettle") == 0) && argc == 2)
        return cmd_settle(o, argv[1], strcmp(cmd, "presettle") == 0);
    if (strcmp(cmd, "reverse") == 0 && argc == 2)
        return cmd_reverse(o, argv[1]);
    if (strcmp(cmd, "cancel") == 0 && argc == 2)
        return cmd_cancel(o, argv[1]);
    if (strcmp(cmd, "query") == 0 && argc == 3 && strcmp(argv[1], "--request-id") == 0)
        return cmd_query(o, NULL, argv[2]);
    if (strcmp(cmd, "query") == 0 && argc == 2)
        return o->request_id[0] ? cmd_query(o, NULL, o->request_id) : cmd_query(o, argv[1], NULL);
    if (strcmp(cmd, "query") == 0 && argc == 1 && o->request_id[0])
        return cmd_query(o, NULL, o->request_id);
    if (strcmp(cmd, "eligibility") == 0 && (argc == 2 || argc == 3))
        return cmd_eligibility(o, argv[1], argc == 3 ? argv[2] : NULL);
    if (strcmp(cmd, "flush") == 0 && argc == 1)
        return cmd_flush(o);
    if (strcmp(cmd, "queue") == 0 && argc == 1)
        return cmd_queue_list(o);
    fputs(usage_text, stderr);
    return EXIT_USAGE;
}

int main(int argc, char **argv)
{
    static struct counter_opts o; /* zeroed: defaults are empty strings */
    int cmd = parse_options(&o, argc, argv);
    if (cmd == -2) {
        fputs(usage_text, stdout);
        return EXIT_OK;
    }
    if (cmd < 0) {
        fputs(usage_text, stderr);
        return EXIT_USAGE;
    }
    return run(&o, argc - cmd, argv + cmd);
}
