/*
 * The sanhe-engine command line and configuration: --help and --version,
 * unknown keys and bad values refused (exit 2, named), the example
 * configuration accepted.
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "net_fixture.h"

static char dir[64];

static int group_setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/sanhe-conf-XXXXXX");
    return mkdtemp(dir) != NULL ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    const char *const argv[] = {"/bin/rm", "-rf", dir, NULL};
    return fixture_run(argv, NULL, NULL) == 0 ? 0 : -1;
}

static const char *path_of(const char *name, char *buf)
{
    snprintf(buf, PATH_MAX, "%s/%s", dir, name);
    return buf;
}

static bool file_contains(const char *path, const char *text)
{
    char line[1024];
    bool found = false;
    FILE *in = fopen(path, "r");
    while (in != NULL && !found && fgets(line, sizeof line, in) != NULL)
        found = strstr(line, text) != NULL;
    if (in != NULL)
        fclose(in);
    return found;
}

/* Runs sanhe-engine ARGS...; returns the exit status. */
static int engine(const char *a1, const char *a2, const char *a3)
{
    char out[PATH_MAX], err[PATH_MAX];
    unlink(path_of("out", out));
    unlink(path_of("err", err));
    const char *const argv[] = {SANHE_ENGINE_PATH, a1, a2, a3, NULL};
    return fixture_run(argv, out, err);
}

static void write_conf(const char *text)
{
    char path[PATH_MAX];
    FILE *f = fopen(path_of("engine.conf", path), "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_help_and_version(void **state)
{
    (void)state;
    char out[PATH_MAX];
    assert_int_equal(engine("--help", NULL, NULL), 0);
    assert_true(file_contains(path_of("out", out), "frame_max_bytes"));
    assert_true(file_contains(out, "sanhe-engine load"));
    assert_int_equal(engine("--version", NULL, NULL), 0);
    assert_true(file_contains(out, "sanhe-engine 0."));
    assert_int_equal(engine("--bogus", NULL, NULL), 2);
}

static void test_unknown_key_refused(void **state)
{
    (void)state;
    char conf[PATH_MAX], err[PATH_MAX];
    write_conf("[engine]\ndata_dir = data\n[limits]\nframe_max = 5\n[nosuch]\nx = 1\n");
    assert_int_equal(engine("check", "-c", path_of("engine.conf", conf)), 2);
    assert_true(file_contains(path_of("err", err), "[limits] frame_max: unknown key"));
    assert_true(file_contains(err, "[nosuch] x: unknown key"));
}

static void test_bad_values_refused(void **state)
{
    (void)state;
    char conf[PATH_MAX], err[PATH_MAX];
    write_conf("[engine]\ndata_dir = data\nlisten = nowhere\ndurable = perhaps\n"
               "[limits]\ninflight_max = -3\n[log]\nlevel = loud\n"
               "[terminals]\nt1 = H1 cashier\n");
    assert_int_equal(engine("check", "-c", path_of("engine.conf", conf)), 2);
    path_of("err", err);
    assert_true(file_contains(err, "[engine] listen"));
    assert_true(file_contains(err, "[engine] durable"));
    assert_true(file_contains(err, "[limits] inflight_max"));
    assert_true(file_contains(err, "[log] level"));
    assert_true(file_contains(err, "[terminals] t1"));
}

/* Every key of the example is known: check gets past the configuration
 * (and fails, 1, only on the data directory, which does not exist here). */
static void test_example_accepted(void **state)
{
    (void)state;
    char err[PATH_MAX];
    assert_int_equal(engine("check", "-c", SANHE_SOURCE_DIR "/ops/sanhe-engine.conf.example"), 1);
    assert_false(file_contains(path_of("err", err), "unknown key"));
    assert_true(file_contains(err, "no data directory at /var/lib/sanhe"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_help_and_version),
        cmocka_unit_test(test_unknown_key_refused),
        cmocka_unit_test(test_bad_values_refused),
        cmocka_unit_test(test_example_accepted),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
