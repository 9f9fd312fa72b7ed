/*
 * Pipelined calls: a chunk of requests sent back to back, then their
 * answers, matched by request id (the engine may answer in any order).
 * A durable commit costs tens of milliseconds on a small VM; one request
 * per round trip would spend the test's time waiting for the disk, and
 * would never give the engine a group commit of more than one request.
 */
#include <stdlib.h>
#include <string.h>

#include "crash_run.h"
#include "sh_error.h"

static int pipeline_chunk(struct tc *tc, Sanhe__Request *const *reqs, Sanhe__Response **resps,
                          size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int rc = reqs[i] != NULL ? tc_send(tc, reqs[i]) : SH_E_INTERNAL;
        if (rc != 0)
            return rc;
    }
    for (size_t k = 0; k < n; k++) {
        Sanhe__Response *r;
        int rc = tc_recv(tc, &r, CRASH_REPLY_TIMEOUT_MS);
        if (rc != 0)
            return rc;
        size_t i = 0;
        while (i < n && (resps[i] != NULL || r->request_id == NULL ||
                         strcmp(reqs[i]->request_id, r->request_id) != 0))
            i++;
        if (i == n) {
            sanhe__response__free_unpacked(r, NULL);
            return SH_E_BAD_FRAME;
        }
        resps[i] = r;
    }
    return 0;
}

int crash_pipeline(struct tc *tc, Sanhe__Request *const *reqs, Sanhe__Response **resps, size_t n)
{
    int rc = 0;
    for (size_t i = 0; i < n; i++)
        resps[i] = NULL;
    for (size_t at = 0; at < n && rc == 0; at += CRASH_CHUNK) {
        size_t m = n - at < CRASH_CHUNK ? n - at : CRASH_CHUNK;
        rc = pipeline_chunk(tc, reqs + at, resps + at, m);
    }
    if (rc != 0)
        for (size_t i = 0; i < n; i++) {
            sanhe__response__free_unpacked(resps[i], NULL);
            resps[i] = NULL;
        }
    return rc;
}

int crash_run_all(struct tc *tc, Sanhe__Request **reqs, Sanhe__Response **resps, size_t n)
{
    int rc = crash_pipeline(tc, reqs, resps, n);
    for (size_t i = 0; i < n; i++)
        sanhe__request__free_unpacked(reqs[i], NULL);
    return rc;
}
