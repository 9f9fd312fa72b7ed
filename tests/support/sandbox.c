#include "sandbox.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PATH_LEN 4096

const char *sandbox_path(const struct sandbox *sb, const char *rel, char *buf)
{
    snprintf(buf, PATH_LEN, "%s/%s", sb->dir, rel);
    return buf;
}

/* ops/certs.sh VERB DIR ARGS... */
static int certs(const struct sandbox *sb, const char *const args[], struct sh_error *err)
{
    char dir[PATH_LEN], log[PATH_LEN];
    const char *argv[8] = {sb->certs_script, args[0], sandbox_path(sb, "certs", dir)};
    for (int i = 1; i < 5 && args[i] != NULL; i++)
        argv[i + 2] = args[i];
    if (proc_run(argv, NULL, sandbox_path(sb, "certs.log", log)) != 0)
        return sh_error_set(err, SH_E_INTERNAL, "%s %s failed: see %s", sb->certs_script, args[0],
                            log);
    return 0;
}

int sandbox_create(struct sandbox *sb, const char *prefix, const char *engine_path,
                   const char *certs_script, struct sh_error *err)
{
    memset(sb, 0, sizeof *sb);
    sb->engine.pid = -1;
    sb->engine_path = engine_path;
    sb->certs_script = certs_script;
    const char *tmp = getenv("TMPDIR");
    snprintf(sb->dir, sizeof sb->dir, "%s/%s-XXXXXX", tmp ? tmp : "/tmp", prefix);
    if (mkdtemp(sb->dir) == NULL)
        return sh_error_set(err, SH_E_INTERNAL, "mkdtemp %s failed", sb->dir);
    const char *ca[] = {"ca", NULL}, *engine[] = {"engine", NULL};
    int rc = certs(sb, ca, err);
    return rc == 0 ? certs(sb, engine, err) : rc;
}

int sandbox_add_terminal(struct sandbox *sb, const char *name, const char *hospital,
                         const char *role, struct sh_error *err)
{
    if (sb->terminal_count == SANDBOX_TERMINALS_MAX)
        return sh_error_set(err, SH_E_LIMIT_EXCEEDED, "more than %d terminals",
                            SANDBOX_TERMINALS_MAX);
    struct sandbox_terminal *t = &sb->terminals[sb->terminal_count];
    snprintf(t->name, sizeof t->name, "%s", name);
    snprintf(t->hospital, sizeof t->hospital, "%s", hospital != NULL ? hospital : "");
    snprintf(t->role, sizeof t->role, "%s", role);
    const char *args[] = {"terminal", t->name, hospital != NULL ? hospital : "-", role, NULL};
    int rc = certs(sb, args, err);
    if (rc == 0)
        sb->terminal_count++;
    return rc;
}

static int write_config(const struct sandbox *sb, const char *extra, struct sh_error *err)
{
    char path[PATH_LEN];
    FILE *out = fopen(sandbox_path(sb, "engine.conf", path), "w");
    if (out == NULL)
        return sh_error_set(err, SH_E_INTERNAL, "cannot write %s", path);
    fprintf(out, "; written by a sanhe sandbox\n"
                 "[engine]\ndata_dir = data\nlisten = 127.0.0.1:0\nport_file = port\n"
                 "stats_file = stats.json\ndurable = true\n"
                 "[tls]\nca = certs/ca.crt\ncert = certs/engine.crt\nkey = certs/engine.key\n"
                 "[log]\nlevel = warn\n");
    if (extra != NULL)
        fputs(extra, out);
    /* The terminals are identities of the sandbox, not reference data, so
     * they go in the config: one may act as a hospital that the reference
     * data does not know (to be told UNKNOWN_HOSPITAL). */
    fputs("\n[terminals]\n", out);
    for (size_t i = 0; i < sb->terminal_count; i++)
        fprintf(out, "%s = %s %s\n", sb->terminals[i].name, sb->terminals[i].hospital,
                sb->terminals[i].role);
    return fclose(out) == 0 ? 0 : sh_error_set(err, SH_E_INTERNAL, "cannot write %s", path);
}

int sandbox_start(struct sandbox *sb, const char *extra, struct sh_error *err)
{
    char conf[PATH_LEN], port[PATH_LEN], out[PATH_LEN], log[PATH_LEN];
    int rc = write_config(sb, extra, err);
    if (rc < 0)
        return rc;
    if (engine_proc_start(&sb->engine, sb->engine_path, sandbox_path(sb, "engine.conf", conf),
                          sandbox_path(sb, "port", port), sandbox_path(sb, "engine.out", out),
                          sandbox_path(sb, "engine.err", log), SANDBOX_TIMEOUT_MS) != 0)
        return sh_error_set(err, SH_E_UNAVAILABLE, "%s did not start: see %s", sb->engine_path,
                            log);
    return 0;
}

int sandbox_connect(const struct sandbox *sb, const char *name, struct tc **out,
                    struct sh_error *err)
{
    char ca[PATH_LEN], cert[PATH_LEN], key[PATH_LEN], rel[128];
    snprintf(rel, sizeof rel, "certs/%s.crt", name);
    sandbox_path(sb, rel, cert);
    snprintf(rel, sizeof rel, "certs/%s.key", name);
    sandbox_path(sb, rel, key);
    int rc = tc_connect(out, "127.0.0.1", sb->engine.port, sandbox_path(sb, "certs/ca.crt", ca),
                        cert, key, SANDBOX_TIMEOUT_MS);
    return rc == 0 ? 0 : sh_error_set(err, rc, "cannot connect as %s", name);
}

int sandbox_destroy(struct sandbox *sb, bool keep)
{
    int rc = sb->engine.pid > 0 ? engine_proc_stop(&sb->engine, SANDBOX_TIMEOUT_MS) : 0;
    if (!keep && sb->dir[0] != '\0') {
        const char *const argv[] = {"/bin/rm", "-rf", sb->dir, NULL};
        proc_run(argv, NULL, NULL);
    }
    return rc;
}
