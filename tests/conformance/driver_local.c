/* The in-process driver: a ledger on a fresh temporary directory. */
#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ledger.h"
#include "runner.h"

struct driver {
    struct ledger *ledger;
    char dir[256];
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void remove_tree(const char *dir) { nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS); }

static int call_as(struct driver *d, const struct sh_caller *caller, const Sanhe__Request *req,
                   Sanhe__Response **out, struct sh_error *err)
{
    struct sh_reply reply = {0};
    int rc = ledger_handle(d->ledger, caller, req, now_ms(), &reply);
    if (rc < 0)
        return sh_error_set(err, rc, "ledger_handle failed");
    *out = sanhe__response__unpack(NULL, reply.len, reply.data);
    free(reply.data);
    if (*out == NULL)
        return sh_error_set(err, SH_E_INTERNAL, "the reply does not decode as a Response");
    return 0;
}

static int local_load(struct driver *d, const Sanhe__LoadRequest *load, struct sh_error *err)
{
    struct sh_caller admin = {.terminal = "conformance-admin", .role = SH_ROLE_ADMIN};
    Sanhe__Request req = SANHE__REQUEST__INIT;
    req.request_id = "load";
    req.op_case = SANHE__REQUEST__OP_LOAD;
    req.load = (Sanhe__LoadRequest *)load;
    Sanhe__Response *resp = NULL;
    int rc = call_as(d, &admin, &req, &resp, err);
    if (rc == 0 && resp->error != NULL)
        rc = sh_error_set(err, -(int)resp->error->code, "load refused: %s",
                          resp->error->message ? resp->error->message : "");
    if (resp != NULL)
        sanhe__response__free_unpacked(resp, NULL);
    return rc;
}

static int local_open(struct driver **out, const Sanhe__LoadRequest *load,
                      const struct case_identities *ids, struct sh_error *err)
{
    (void)ids;
    struct driver *d = calloc(1, sizeof *d);
    if (d == NULL)
        return sh_error_set(err, SH_E_INTERNAL, "out of memory");
    const char *tmp = getenv("TMPDIR");
    snprintf(d->dir, sizeof d->dir, "%s/sanhe-conformance-XXXXXX", tmp ? tmp : "/tmp");
    if (mkdtemp(d->dir) == NULL) {
        free(d);
        return sh_error_set(err, SH_E_INTERNAL, "mkdtemp failed");
    }
    struct ledger_config cfg = {.dir = d->dir, .durable = false, .utc_offset_min = 480};
    int rc = ledger_open(&cfg, &d->ledger, err);
    if (rc == 0)
        rc = local_load(d, load, err);
    if (rc < 0) {
        if (d->ledger != NULL)
            ledger_close(d->ledger);
        remove_tree(d->dir);
        free(d);
        return rc;
    }
    *out = d;
    return 0;
}

static int local_call(struct driver *d, const char *hospital, const Sanhe__Request *req,
                      Sanhe__Response **out, struct sh_error *err)
{
    if (hospital == case_admin) {
        struct sh_caller admin = {.terminal = "conformance-admin", .role = SH_ROLE_ADMIN};
        return call_as(d, &admin, req, out, err);
    }
    struct sh_caller caller = {.role = hospital != NULL ? SH_ROLE_COUNTER : SH_ROLE_BUREAU};
    snprintf(caller.terminal, sizeof caller.terminal, "conformance-%s",
             hospital != NULL ? hospital : "bureau");
    if (hospital != NULL)
        snprintf(caller.hospital, sizeof caller.hospital, "%s", hospital);
    return call_as(d, &caller, req, out, err);
}

static void local_close(struct driver *d)
{
    ledger_close(d->ledger);
    if (!server_options.keep)
        remove_tree(d->dir);
    free(d);
}

const struct driver_ops driver_local = {
    .name = "in-process",
    .open = local_open,
    .call = local_call,
    .close = local_close,
};
