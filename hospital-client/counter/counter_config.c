/* Options from an INI file: [counter] engine, ca, cert, key, hospital,
 * hospital_name, terminal, queue, timeout_ms, lang. Flags override it. */
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "counter.h"

static int on_key(void *user, const char *section, const char *name, const char *value)
{
    struct counter_opts *o = user;
    if (strcmp(section, "counter") != 0)
        return 0;
    struct {
        const char *key;
        char *dst;
        size_t size;
    } keys[] = {{"engine", o->engines, sizeof o->engines},
                {"ca", o->ca, sizeof o->ca},
                {"cert", o->cert, sizeof o->cert},
                {"key", o->key, sizeof o->key},
                {"hospital", o->hospital, sizeof o->hospital},
                {"hospital_name", o->hospital_name, sizeof o->hospital_name},
                {"terminal", o->terminal, sizeof o->terminal},
                {"queue", o->queue, sizeof o->queue}};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (strcmp(name, keys[i].key) == 0) {
            snprintf(keys[i].dst, keys[i].size, "%s", value);
            return 1;
        }
    if (strcmp(name, "timeout_ms") == 0) {
        char *end;
        long v = strtol(value, &end, 10);
        o->timeout_ms = (int)v;
        return *end == '\0' && v > 0 && v < 3600000;
    }
    if (strcmp(name, "lang") == 0) {
        o->lang = strcmp(value, "en") == 0 ? SH_LANG_EN : SH_LANG_ZH;
        return 1;
    }
    return 0; /* an unknown key is an error: a typo must not be ignored */
}

int counter_config_load(struct counter_opts *o, const char *path)
{
    int rc = ini_parse(path, on_key, o);
    if (rc != 0) {
        if (rc < 0)
            fprintf(stderr, _("sanhe-counter: cannot read %s\n"), path);
        else
            fprintf(stderr, _("sanhe-counter: %s:%d: bad value or unknown key\n"), path, rc);
        return EXIT_USAGE;
    }
    return 0;
}

int counter_client(const struct counter_opts *o, sanhe_client **out)
{
    if (o->engines[0] == '\0' || o->ca[0] == '\0' || o->cert[0] == '\0' || o->key[0] == '\0') {
        fprintf(stderr, _("sanhe-counter: --engine, --ca, --cert and --key are required\n"));
        return EXIT_USAGE;
    }
    struct sanhe_client_options co = {.engines = o->engines,
                                      .ca_file = o->ca,
                                      .cert_file = o->cert,
                                      .key_file = o->key,
                                      .terminal = o->terminal[0]   ? o->terminal
                                                  : o->hospital[0] ? o->hospital
                                                                   : "counter",
                                      .timeout_ms = o->timeout_ms};
    int rc = sanhe_client_new(out, &co);
    /* With an outbox, an engine that is down (the connection refused) means
     * queue now: the clinic should not wait out the deadline per bill. */
    if (rc == 0 && o->queue[0] != '\0')
        sanhe_client_fail_fast(*out, 1);
    if (rc == SANHE_E_INVAL) {
        fprintf(stderr, _("sanhe-counter: bad --engine list: %s\n"), o->engines);
        return EXIT_USAGE;
    }
    if (rc < 0) {
        fprintf(stderr, _("sanhe-counter: %s\n"), counter_strerror(rc));
        return EXIT_LOCAL;
    }
    return 0;
}

int64_t counter_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t counter_deadline_ms(const struct counter_opts *o)
{
    return counter_now_ms() + (o->timeout_ms > 0 ? o->timeout_ms : COUNTER_TIMEOUT_MS_DEFAULT);
}

int counter_left_ms(int64_t deadline_ms)
{
    int64_t left = deadline_ms - counter_now_ms();
    return left < 1 ? 1 : left > INT32_MAX ? INT32_MAX : (int)left;
}
