/*
 * The writer's map of catalog items (engine/ledger/item_cache.h): what is
 * put is found, a later put replaces, unusable codes are never kept, clear
 * forgets everything, and past ITEM_CACHE_MAX items the map starts over
 * rather than grow.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "item_cache.h"

static struct sh_item item_of(const char *code, int64_t cap)
{
    struct sh_item it;
    memset(&it, 0, sizeof it);
    snprintf(it.code, sizeof it.code, "%s", code);
    snprintf(it.name, sizeof it.name, "name of %s", code);
    it.cls = SH_CLASS_B;
    it.selfpay_bp = 1000;
    it.price_cap = cap;
    return it;
}

static void put_then_get_and_replace(void **state)
{
    (void)state;
    struct item_cache *c = item_cache_new();
    assert_non_null(c);
    struct sh_item out;
    assert_false(item_cache_get(c, "X1", &out)); /* empty, before any table */
    struct sh_item a = item_of("X1", 100);
    item_cache_put(c, &a);
    assert_true(item_cache_get(c, "X1", &out));
    assert_memory_equal(&out, &a, sizeof a);
    assert_false(item_cache_get(c, "X2", &out));
    assert_false(item_cache_get(c, "", &out));
    struct sh_item a2 = item_of("X1", 250);
    item_cache_put(c, &a2);
    assert_int_equal(item_cache_count(c), 1);
    assert_true(item_cache_get(c, "X1", &out));
    assert_int_equal(out.price_cap, 250);
    item_cache_clear(c);
    assert_int_equal(item_cache_count(c), 0);
    assert_false(item_cache_get(c, "X1", &out));
    item_cache_free(c);
}

static void unusable_codes_are_never_kept(void **state)
{
    (void)state;
    struct item_cache *c = item_cache_new();
    struct sh_item empty = item_of("", 1);
    item_cache_put(c, &empty);
    struct sh_item unterminated = item_of("Y", 1);
    memset(unterminated.code, 'Y', sizeof unterminated.code);
    item_cache_put(c, &unterminated);
    assert_int_equal(item_cache_count(c), 0);
    item_cache_free(c);
}

/* Many items through the growth of the table, then past the bound. */
static void grows_then_starts_over_at_the_bound(void **state)
{
    (void)state;
    struct item_cache *c = item_cache_new();
    char code[16];
    for (unsigned i = 0; i < ITEM_CACHE_MAX; i++) {
        snprintf(code, sizeof code, "I%05u", i);
        struct sh_item it = item_of(code, (int64_t)i);
        item_cache_put(c, &it);
    }
    assert_int_equal(item_cache_count(c), ITEM_CACHE_MAX);
    struct sh_item out;
    for (unsigned i = 0; i < ITEM_CACHE_MAX; i += 997) {
        snprintf(code, sizeof code, "I%05u", i);
        assert_true(item_cache_get(c, code, &out));
        assert_int_equal(out.price_cap, (int64_t)i);
        assert_string_equal(out.code, code);
    }
    struct sh_item one_more = item_of("J", 7);
    item_cache_put(c, &one_more);
    assert_int_equal(item_cache_count(c), 1);
    assert_false(item_cache_get(c, "I00000", &out));
    assert_true(item_cache_get(c, "J", &out));
    item_cache_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(put_then_get_and_replace),
        cmocka_unit_test(unusable_codes_are_never_kept),
        cmocka_unit_test(grows_then_starts_over_at_the_bound),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
