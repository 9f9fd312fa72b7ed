#include "mix.h"

#include <stdio.h>
#include <string.h>

#include "lg_util.h"

const char *const lg_op_names[LG_OP_COUNT + 1] = {"settle", "presettle",   "reverse", "cancel",
                                                  "query",  "eligibility", NULL};
const char *const lg_visit_names[LG_VISIT_COUNT + 1] = {"outpatient", "chronic", "inpatient", NULL};

static int name_index(const char *const *names, const char *name, size_t len)
{
    for (int i = 0; names[i] != NULL; i++)
        if (strlen(names[i]) == len && strncmp(names[i], name, len) == 0)
            return i;
    return -1;
}

/* One "name=weight" of length len at item. */
static int parse_item(const char *item, size_t len, struct lg_weights *out, char *err, size_t cap)
{
    const char *eq = memchr(item, '=', len);
    int i = eq != NULL ? name_index(out->names, item, (size_t)(eq - item)) : -1;
    char number[16];
    uint64_t w = 0;
    if (eq != NULL && (size_t)(item + len - eq - 1) < sizeof number) {
        memcpy(number, eq + 1, (size_t)(item + len - eq - 1));
        number[item + len - eq - 1] = '\0';
    } else {
        number[0] = '\0';
    }
    if (i < 0 || !lg_parse_u64(number, 0, 1000000, &w)) {
        snprintf(err, cap, "bad mix item \"%.*s\" (want NAME=WEIGHT, NAME one of %s...)", (int)len,
                 item, out->names[0]);
        return -1;
    }
    out->w[i] = (uint32_t)w;
    return 0;
}

int lg_weights_parse(const char *spec, const char *const *names, struct lg_weights *out, char *err,
                     size_t cap)
{
    memset(out, 0, sizeof *out);
    out->names = names;
    while (names[out->n] != NULL && out->n < LG_WEIGHTS_MAX)
        out->n++;
    const char *p = spec;
    while (*p != '\0') {
        size_t len = strcspn(p, ",");
        if (parse_item(p, len, out, err, cap) != 0)
            return -1;
        p += len;
        if (*p == ',')
            p++;
    }
    for (size_t i = 0; i < out->n; i++)
        out->total += out->w[i];
    if (out->total == 0) {
        snprintf(err, cap, "the mix \"%s\" has no positive weight", spec);
        return -1;
    }
    return 0;
}

size_t lg_weights_pick(const struct lg_weights *w, uint64_t *rng)
{
    uint64_t r = lg_rng_below(rng, w->total);
    for (size_t i = 0; i < w->n; i++) {
        if (r < w->w[i])
            return i;
        r -= w->w[i];
    }
    return w->n - 1; /* unreachable when total is the sum */
}

void lg_weights_format(const struct lg_weights *w, char *buf, size_t cap)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < w->n && used < cap; i++) {
        if (w->w[i] == 0)
            continue;
        int n =
            snprintf(buf + used, cap - used, "%s%s=%u", used > 0 ? "," : "", w->names[i], w->w[i]);
        if (n < 0)
            break;
        used += (size_t)n;
    }
}

int lg_op_is_write(enum lg_op op)
{
    return op == LG_OP_SETTLE || op == LG_OP_REVERSE || op == LG_OP_CANCEL;
}
