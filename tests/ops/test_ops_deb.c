/*
 * The Debian package (ops/packaging.cmake): cpack builds it from this
 * build tree into a temporary directory; dpkg-deb shows the binaries, the
 * units, the conffile in /etc/sanhe, the docs, and maintainer scripts that
 * create the sanhe user and /var/lib/sanhe; the engine extracted from it
 * runs (its --version).
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

#include "ops_util.h"

static char dir[64];

static const char *at(const char *rel, char *buf)
{
    snprintf(buf, PATH_MAX, "%s/%s", dir, rel);
    return buf;
}

/* sh -c CMD with stdout and stderr into DIR/out; returns the status. */
static int sh(const char *cmd)
{
    char out[PATH_MAX];
    const char *const argv[] = {"/bin/sh", "-c", cmd, NULL};
    return fixture_run(argv, at("out", out), at("out", out));
}

static void test_deb(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/sanhe-deb-XXXXXX");
    assert_non_null(mkdtemp(dir));
    char cmd[1024], out[PATH_MAX];
    snprintf(cmd, sizeof cmd,
             "cd %s && cpack -G DEB --config %s/CPackConfig.cmake -B %s/pkg >%s/cpack.log 2>&1 && "
             "ls %s/pkg/sanhe_*.deb",
             SANHE_BINARY_DIR, SANHE_BINARY_DIR, dir, dir, dir);
    assert_int_equal(sh(cmd), 0);
    snprintf(cmd, sizeof cmd, "dpkg-deb -c %s/pkg/sanhe_*.deb", dir);
    assert_int_equal(sh(cmd), 0);
    at("out", out);
    static const char *const paths[] = {
        "./usr/bin/sanhe-engine",
        "./usr/bin/sanhe-counter",
        "./usr/bin/sanhe-bureau",
        "./usr/lib/systemd/system/sanhe-engine.service",
        "./usr/lib/systemd/system/sanhe-backup.service",
        "./usr/lib/systemd/system/sanhe-backup.timer",
        "./usr/lib/sanhe/sanhe-backup",
        "./usr/lib/sanhe/sanhe-certs",
        "./etc/sanhe/sanhe-engine.conf",
        "./usr/share/doc/sanhe/RUNBOOK.md",
        "./usr/share/doc/sanhe/copyright",
        "./usr/share/doc/sanhe/changelog.gz",
    };
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        if (!ops_file_contains(out, paths[i]))
            fprintf(stderr, "not in the package: %s\n", paths[i]);
        assert_true(ops_file_contains(out, paths[i]));
    }
    snprintf(cmd, sizeof cmd,
             "cd %s && dpkg-deb -e pkg/sanhe_*.deb control && cat control/conffiles "
             "control/postinst control/control",
             dir);
    assert_int_equal(sh(cmd), 0);
    assert_true(ops_file_contains(out, "/etc/sanhe/sanhe-engine.conf"));
    assert_true(ops_file_contains(out, "adduser --quiet --system --group --home /var/lib/sanhe"));
    assert_true(ops_file_contains(out, "install -d -o sanhe -g sanhe -m 0700 /var/lib/sanhe"));
    assert_true(ops_file_contains(out, "Depends: adduser"));
    assert_true(ops_file_contains(out, "libsystemd0"));
    snprintf(cmd, sizeof cmd,
             "cd %s && dpkg-deb -x pkg/sanhe_*.deb root && root/usr/bin/sanhe-engine --version",
             dir);
    assert_int_equal(sh(cmd), 0);
    assert_true(ops_file_contains(out, "sanhe-engine 0."));
    /* The unit as packaged is Type=notify with a watchdog and hardened. */
    snprintf(cmd, sizeof cmd, "cat %s/root/usr/lib/systemd/system/sanhe-engine.service", dir);
    assert_int_equal(sh(cmd), 0);
    assert_true(ops_file_contains(out, "Type=notify"));
    assert_true(ops_file_contains(out, "WatchdogSec="));
    assert_true(ops_file_contains(out, "ProtectSystem=strict"));
    assert_true(ops_file_contains(out, "ExecStart=/usr/bin/sanhe-engine"));
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    sh(cmd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_deb)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
