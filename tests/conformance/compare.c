#include <stdio.h>
#include <string.h>

#include "runner.h"

static void print_value(FILE *f, const json_t *v)
{
    if (v == NULL) {
        fputs("(absent)", f);
        return;
    }
    char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    fputs(text != NULL ? text : "?", f);
    free(text);
}

static int report(const char *prefix, const char *path, const json_t *expect, const json_t *actual)
{
    printf("%s  %s: expected ", prefix, path[0] != '\0' ? path : "(reply)");
    print_value(stdout, expect);
    fputs(", got ", stdout);
    print_value(stdout, actual);
    fputc('\n', stdout);
    return 1;
}

static int compare_object(const json_t *expect, const json_t *actual, const char *path,
                          const char *prefix)
{
    if (!json_is_object(actual))
        return report(prefix, path, expect, actual);
    int diffs = 0;
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)expect, key, value)
    {
        char sub[512];
        snprintf(sub, sizeof sub, "%s%s%s", path, path[0] != '\0' ? "." : "", key);
        diffs += compare_expect(value, json_object_get(actual, key), sub, prefix);
    }
    return diffs;
}

static int compare_array(const json_t *expect, const json_t *actual, const char *path,
                         const char *prefix)
{
    if (!json_is_array(actual) || json_array_size(actual) != json_array_size(expect))
        return report(prefix, path, expect, actual);
    int diffs = 0;
    for (size_t i = 0; i < json_array_size(expect); i++) {
        char sub[512];
        snprintf(sub, sizeof sub, "%s[%zu]", path, i);
        diffs += compare_expect(json_array_get(expect, i), json_array_get(actual, i), sub, prefix);
    }
    return diffs;
}

int compare_expect(const json_t *expect, const json_t *actual, const char *path, const char *prefix)
{
    if (json_is_object(expect))
        return compare_object(expect, actual, path, prefix);
    if (json_is_array(expect))
        return compare_array(expect, actual, path, prefix);
    /* A null expectation (a reason, a category) matches an absent value. */
    if (json_is_null(expect) && (actual == NULL || json_is_null(actual)))
        return 0;
    if (actual == NULL || !json_equal((json_t *)expect, (json_t *)actual))
        return report(prefix, path, expect, actual);
    return 0;
}
