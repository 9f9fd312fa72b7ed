/*
 * A running sanhe-gateway in front of one or more sandboxed sanhe-engines
 * (tests/support), driven by the real curl command-line client.
 *
 * Every engine shares the first sandbox's CA and engine certificate, so one
 * [engine] section of the gateway reaches them all; each has the counter
 * terminal counter-HOSPITAL of every hospital of its case file, and its
 * reference data loaded from that case file. The hospitals' HIS
 * certificates (his-HOSPITAL, for curl) are in the first sandbox.
 */
#ifndef GW_FIXTURE_H
#define GW_FIXTURE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "sandbox.h"
#include "sanhe.pb-c.h"

#define GWFX_ENGINES_MAX 2
#define GWFX_TIMEOUT_MS 30000

struct gwfx {
    struct sandbox sb[GWFX_ENGINES_MAX];
    size_t engine_count;
    struct engine_proc gw;
    char ca[4096];
    unsigned seq; /* msgid sequence */
};

struct gwfx_reply {
    int curl_rc; /* curl's exit status (0: a reply came) */
    int status;  /* HTTP status */
    char *body;  /* the reply's bytes, NUL-terminated */
    size_t len;
    json_t *doc;    /* body decoded by gw_json_load (numbers keep their text), or NULL */
    char msgid[40]; /* the envelope's (gwfx_txn) */
    double seconds; /* curl's run time */
};

/* One more engine, loaded with the case file's reference data. 0 or -1. */
int gwfx_engine(struct gwfx *f, const char *case_path);

/* A HIS certificate his-NAME with O=HOSPITAL (0 or -1). */
int gwfx_his(struct gwfx *f, const char *name, const char *hospital);

/* Starts the gateway: [gateway] with extra_gateway keys (may be NULL), the
 * [engine] section, and regions: "ADMDVS=ENGINE_INDEX,..." ("*=0": every
 * region to engine 0), then more INI text (may be NULL). 0 or -1. */
int gwfx_gateway(struct gwfx *f, const char *extra_gateway, const char *regions, const char *extra);

/* curl POSTs body to https://127.0.0.1:PORT{path} with his-HIS's certificate,
 * plus extra curl arguments (NULL-terminated, may be NULL). */
int gwfx_post(struct gwfx *f, const char *his, const char *path, const char *body, size_t len,
              const char *const extra[], struct gwfx_reply *r);

/* A fresh msgid of hospital (the code and 18 digits). */
void gwfx_msgid(struct gwfx *f, const char *hospital, char out[40]);

/* The envelope of a call, input (JSON text) inserted as it is. malloc'ed. */
char *gwfx_envelope(const char *infno, const char *msgid, const char *hospital, const char *region,
                    const char *inf_time, const char *input);

/* One call of the hospital (certificate his-HOSPITAL) at /INFNO with a
 * fresh msgid (or msgid when not NULL). region may be "". */
int gwfx_txn(struct gwfx *f, const char *hospital, const char *infno, const char *msgid,
             const char *region, const char *inf_time, const char *input, struct gwfx_reply *r);

void gwfx_reply_free(struct gwfx_reply *r);

/* The reply's infcode (-9999 when there is none). */
int gwfx_infcode(const struct gwfx_reply *r);

/* A member by a path of keys ("output", "setlinfo", "medfee_sumamt", NULL). */
const json_t *gwfx_get(const json_t *doc, ...);
/* A money member as fen, from its exact text; INT64_MIN when it is not a
 * number with exactly two decimals. */
long long gwfx_fen(const json_t *obj, const char *key);
/* A string member, "" when absent. */
const char *gwfx_str(const json_t *obj, const char *key);

/* A request to engine i as counter-HOSPITAL, over TLS (tests/support). */
int gwfx_engine_call(struct gwfx *f, size_t i, const char *hospital, const Sanhe__Request *req,
                     Sanhe__Response **resp);

/* True when the file holds an 18-character resident id in clear. */
bool gwfx_file_has_id(const char *path);

/* Stops the gateway (0 when it exited cleanly) and the engines, checks each
 * engine's data offline (sanhe-engine check), removes the directories. */
int gwfx_finish(struct gwfx *f);

/* dir/rel of the first sandbox into buf (4096 bytes). */
const char *gwfx_path(const struct gwfx *f, const char *rel, char *buf);

#endif
