#include <assert.h>
#include "crash_env.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* Four hospitals of tests/cases/02, all designated for the three funds. */
const char *const crash_hospitals[CRASH_CLIENTS] = {"H330424001", "H330424002", "H330424101",
                                                    "H330424201"};

#define CRASH_CASE SANHE_CASES_DIR "/02-three-funds-in-order.json"

const char *crash_terminal(int i, char buf[32])
{
    snprintf(buf, 32, "counter-%d", i);
    return buf;
}

static void print_file(const char *path)
{
    FILE *in = fopen(path, "r");
    char line[1024];
    while (in != NULL && fgets(line, sizeof line, in) != NULL)
        fprintf(stderr, "  | %s", line);
    if (in != NULL)
        fclose(in);
}

/* Reference data goes in offline, before the first start, as an operator
 * would; the data directory is the one the config names (dir/data). */
static int load_reference(struct crash_env *env)
{
    char data[PATH_MAX], out[PATH_MAX], err[PATH_MAX];
    const char *const argv[] = {SANHE_ENGINE_PATH, "load",
                                "--data",          sandbox_path(&env->sb, "data", data),
                                CRASH_CASE,        NULL};
    if (proc_run(argv, sandbox_path(&env->sb, "load.out", out),
                 sandbox_path(&env->sb, "load.err", err)) != 0) {
        fprintf(stderr, "crash: sanhe-engine load %s failed:\n", CRASH_CASE);
        print_file(err);
        return -1;
    }
    return 0;
}

static int add_terminals(struct crash_env *env, struct sh_error *err)
{
    char name[32];
    for (int i = 0; i < CRASH_CLIENTS; i++)
        if (sandbox_add_terminal(&env->sb, crash_terminal(i, name), crash_hospitals[i], "counter",
                                 err) != 0)
            return -1;
    return sandbox_add_terminal(&env->sb, CRASH_BUREAU, NULL, "bureau", err);
}

int crash_env_create(struct crash_env *env, const char *prefix)
{
    struct sh_error err = {0};
    env->keep = getenv("SANHE_TEST_KEEP") != NULL;
    if (sandbox_create(&env->sb, prefix, SANHE_ENGINE_PATH, SANHE_CERTS_SCRIPT, &err) != 0 ||
        add_terminals(env, &err) != 0) {
        fprintf(stderr, "crash: sandbox: %s\n", err.msg);
        return -1;
    }
    return load_reference(env);
}

int crash_env_start(struct crash_env *env)
{
    struct sh_error err = {0};
    /* SANHE_CRASH_MAP_MB: a small first map, so that the store grows (by
     * itself) again and again under the kills (tests/fault/soak.sh). */
    char extra[1024] = "";
    size_t at = 0;
    const char *map_mb = getenv("SANHE_CRASH_MAP_MB");
    if (map_mb != NULL && map_mb[0] != '\0')
        at += (size_t)snprintf(extra, sizeof extra, "[engine]\nmap_size_initial_mb = %s\n", map_mb);
    /* The storm settles far more in a minute than a village clinic's day
     * may (docs/limits.md#write-quotas): the daily quotas are off, so that
     * every round runs until its kill. */
    static const char *const levels[] = {"village", "township", "county", "municipal",
                                         "provincial"};
    at += (size_t)snprintf(extra + at, sizeof extra - at, "[limits]\n");
    for (size_t i = 0; i < sizeof levels / sizeof levels[0] && at < sizeof extra; i++)
        at += (size_t)snprintf(extra + at, sizeof extra - at,
                               "settlements_per_day_%s = 0\nstored_mb_per_day_%s = 0\n"
                               "unknown_cancels_per_day_%s = 0\n",
                               levels[i], levels[i], levels[i]);
    assert(at < sizeof extra);
    if (sandbox_start(&env->sb, extra, &err) == 0)
        return 0;
    char log[PATH_MAX];
    fprintf(stderr, "crash: %s\n", err.msg);
    print_file(sandbox_path(&env->sb, "engine.err", log));
    return -1;
}

int crash_env_kill(struct crash_env *env) { return engine_proc_kill(&env->sb.engine); }

int crash_env_stop(struct crash_env *env)
{
    int rc = engine_proc_stop(&env->sb.engine, SANDBOX_TIMEOUT_MS);
    if (rc != 0) {
        char log[PATH_MAX];
        fprintf(stderr, "crash: the engine stopped with %d:\n", rc);
        print_file(sandbox_path(&env->sb, "engine.err", log));
    }
    return rc;
}

int crash_env_check(struct crash_env *env)
{
    char conf[PATH_MAX], out[PATH_MAX];
    sandbox_path(&env->sb, "check.out", out);
    remove(out);
    const char *const argv[] = {SANHE_ENGINE_PATH, "check", "-c",
                                sandbox_path(&env->sb, "engine.conf", conf), NULL};
    int rc = proc_run(argv, out, out);
    if (rc != 0) {
        fprintf(stderr, "crash: sanhe-engine check exited with %d:\n", rc);
        print_file(out);
    }
    return rc;
}

int crash_env_connect(const struct crash_env *env, const char *name, int attempts, struct tc **out)
{
    struct sh_error err = {0};
    int rc = -1;
    for (int attempt = 0; attempt < attempts && rc != 0; attempt++) {
        rc = sandbox_connect(&env->sb, name, out, &err);
        if (rc != 0 && attempt + 1 < attempts)
            nanosleep(&(struct timespec){0, 100 * 1000000L}, NULL);
    }
    return rc;
}

void crash_env_destroy(struct crash_env *env)
{
    if (env->keep)
        fprintf(stderr, "crash: kept %s\n", env->sb.dir);
    sandbox_destroy(&env->sb, env->keep);
}
