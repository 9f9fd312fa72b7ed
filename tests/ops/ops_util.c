#include "ops_util.h"

#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

void ops_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

bool ops_file_contains(const char *path, const char *text)
{
    char line[4096];
    bool found = false;
    FILE *in = fopen(path, "r");
    while (in != NULL && !found && fgets(line, sizeof line, in) != NULL)
        found = strstr(line, text) != NULL;
    if (in != NULL)
        fclose(in);
    return found;
}

int ops_engine(const struct engine_fixture *f, const char *cmd, const char *arg, const char *name)
{
    char conf[PATH_MAX], out[PATH_MAX], rel[128];
    snprintf(rel, sizeof rel, "%s.out", name);
    fixture_path(f, rel, out);
    unlink(out);
    const char *const argv[] = {"/usr/bin/timeout",
                                "60",
                                SANHE_ENGINE_PATH,
                                cmd,
                                "-c",
                                fixture_path(f, "engine.conf", conf),
                                arg,
                                NULL};
    return fixture_run(argv, out, out);
}

int ops_conf_append(const struct engine_fixture *f, const char *text)
{
    char path[PATH_MAX];
    FILE *out = fopen(fixture_path(f, "engine.conf", path), "a");
    if (out == NULL)
        return -1;
    fputs(text, out);
    return fclose(out);
}

void ops_engine_kill(struct engine_fixture *f)
{
    if (f->pid > 0) {
        kill(f->pid, SIGKILL);
        waitpid(f->pid, NULL, 0);
    }
    f->pid = -1;
    f->halted = true;
    f->exit_status = 0;
}

bool ops_log_wait(const struct engine_fixture *f, const char *text, int timeout_ms)
{
    for (int waited = 0; waited <= timeout_ms; waited += 50) {
        if (fixture_log_contains(f, text))
            return true;
        ops_sleep_ms(50);
    }
    return false;
}

int ops_conf_replace(const struct engine_fixture *f, const char *from, const char *to)
{
    char path[PATH_MAX], text[16384];
    FILE *in = fopen(fixture_path(f, "engine.conf", path), "r");
    if (in == NULL)
        return -1;
    size_t n = fread(text, 1, sizeof text - 1, in);
    fclose(in);
    text[n] = '\0';
    char *at = strstr(text, from);
    if (at == NULL)
        return -1;
    FILE *out = fopen(path, "w");
    if (out == NULL)
        return -1;
    fprintf(out, "%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
    return fclose(out);
}

int ops_certs(const struct engine_fixture *f, const char *cmd, const char *name)
{
    char certs[PATH_MAX], log[PATH_MAX];
    const char *const argv[] = {SANHE_CERTS_SCRIPT, cmd, fixture_path(f, "certs", certs), name,
                                NULL};
    return fixture_run(argv, fixture_path(f, "certs.log", log), log);
}

int ops_call(struct tc *tc, Sanhe__Request *request)
{
    Sanhe__Response *resp = NULL;
    int rc = tc_call(tc, request, &resp, FIXTURE_TIMEOUT_MS);
    int out = rc != 0 ? 1 : response_error(resp);
    sanhe__response__free_unpacked(resp, NULL);
    request_free(request);
    return out;
}
