/*
 * One engine per data directory (engine/app/datalock.c): a second serve,
 * a load and a check on a live directory are refused with exit 3 and a
 * message naming the holder; after a kill -9 the lock is gone (nothing
 * stale) and check and serve work again.
 *
 * On the code before the lock, the second serve started and served (the
 * `timeout 60` would end it with 124, not 3), and load and check ran.
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include <cmocka.h>

#include "engine_proc.h"
#include "ops_util.h"

static void test_second_engine_refused(void **state)
{
    (void)state;
    struct engine_fixture f;
    assert_int_equal(fixture_start(&f, NULL), 0);
    char out[PATH_MAX];
    assert_int_equal(ops_engine(&f, "serve", NULL, "serve2"), 3);
    assert_true(
        ops_file_contains(fixture_path(&f, "serve2.out", out), "in use by another sanhe-engine"));
    char pid[32];
    snprintf(pid, sizeof pid, "(pid %d", (int)f.pid);
    assert_true(ops_file_contains(out, pid));
    assert_int_equal(ops_engine(&f, "check", NULL, "check"), 3);
    assert_true(ops_file_contains(fixture_path(&f, "check.out", out), "sanhe-engine check"));
    char terminals[PATH_MAX];
    assert_int_equal(ops_engine(&f, "load", fixture_path(&f, "terminals.json", terminals), "load"),
                     3);
    /* The first engine is untouched by all that. */
    assert_int_equal(fixture_settle_once(&f, "lock-1"), 0);
    assert_int_equal(fixture_check(&f), 0);
    assert_int_equal(fixture_stop(&f), 0);
}

static void test_crash_leaves_no_stale_lock(void **state)
{
    (void)state;
    struct engine_fixture f;
    assert_int_equal(fixture_start(&f, NULL), 0);
    assert_int_equal(fixture_settle_once(&f, "lock-2"), 0);
    ops_engine_kill(&f);
    char lockf[PATH_MAX];
    assert_int_equal(access(fixture_path(&f, "data/sanhe.lock", lockf), F_OK), 0);
    assert_int_equal(ops_engine(&f, "check", NULL, "check"), 0);
    char conf[PATH_MAX], port[PATH_MAX], eout[PATH_MAX], eerr[PATH_MAX];
    struct engine_proc p;
    unlink(fixture_path(&f, "port", port));
    assert_int_equal(engine_proc_start(&p, SANHE_ENGINE_PATH, fixture_path(&f, "engine.conf", conf),
                                       port, fixture_path(&f, "engine2.out", eout),
                                       fixture_path(&f, "engine2.err", eerr), 15000),
                     0);
    assert_int_equal(engine_proc_stop(&p, 15000), 0);
    fixture_stop(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_second_engine_refused),
        cmocka_unit_test(test_crash_leaves_no_stale_lock),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
