/*
 * libsanhe-client: a hospital counter's connection to sanhe-engine.
 *
 * Synchronous calls, each with a deadline. Inputs and outputs are plain C
 * structs; no OpenSSL, libuv or protobuf type appears here. Every function
 * returns 0 (SANHE_OK) or a negative SANHE_E_* code (sanhe_strerror names
 * it); when the engine refused, the engine's own code and message are
 * available from sanhe_refusal_code / sanhe_refusal_name / sanhe_last_message.
 *
 * Retries: when a reply does not come within attempt_timeout_ms, or the
 * connection drops, the library reconnects (to the same engine address, then
 * the next ones in order) and resends the SAME request with the SAME request
 * id until the call's deadline. The engine is idempotent on (hospital,
 * request id), so a settle lands at most once, and the retry learns the
 * original reply. When the deadline passes after a settle, reverse or cancel
 * was sent and no reply came, the call returns SANHE_E_OUTCOME_UNKNOWN: the
 * request may or may not have landed. Never guess then: retry the call with
 * the same request id (it lands exactly once), or call sanhe_cancel with that
 * request id (docs/rules.md: it reverses the settlement if it landed, and
 * otherwise makes sure that it never will).
 *
 * Thread safety: a sanhe_client is not thread-safe; use one per thread (or
 * serialise calls on it; an asynchronous call counts as a call until its
 * callback has run). Distinct clients are independent. The library
 * blocks SIGPIPE in the calling thread while it writes (and discards one it
 * raised), so a dropped connection is an error code, never a signal.
 */
#ifndef SANHE_CLIENT_H
#define SANHE_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Error codes: libuv style, 0 or negative. */
enum sanhe_status {
    SANHE_OK = 0,
    SANHE_E_INVAL = -1,           /* a bad argument (NULL, an empty claim, a bad address) */
    SANHE_E_NOMEM = -2,           /* out of memory */
    SANHE_E_TLS_SETUP = -3,       /* the CA, certificate or key could not be loaded */
    SANHE_E_UNREACHABLE = -4,     /* no engine could be reached before the deadline; the
                                     request was never sent, so it did not land */
    SANHE_E_TIMEOUT = -5,         /* a read-only request (presettle, query, eligibility)
                                     got no reply before the deadline; nothing changed */
    SANHE_E_OUTCOME_UNKNOWN = -6, /* a settle, reverse or cancel was sent and no reply came
                                     before the deadline: it may or may not have landed.
                                     Retry with the same request id, or sanhe_cancel it */
    SANHE_E_REFUSED = -7,         /* the engine answered with a refusal: sanhe_refusal_code */
    SANHE_E_PROTOCOL = -8,        /* replies to a read-only request could not be decoded */
    SANHE_E_TLS_REJECTED = -9,    /* the TLS handshake was refused: the engine sent a fatal
                                     alert (sanhe_last_message names it: "unknown CA" for a
                                     certificate of another CA), or the engine's certificate
                                     does not verify against ca_file. Not retried: the
                                     engine refused before reading any request, so nothing
                                     landed */
};

/* The engine's refusal codes (proto/sanhe.proto ErrorCode), positive. */
enum sanhe_refusal {
    SANHE_REFUSAL_NONE = 0,
    SANHE_REFUSAL_BAD_CLAIM = 1,
    SANHE_REFUSAL_BAD_PERSON_ID = 2,
    SANHE_REFUSAL_UNKNOWN_HOSPITAL = 3,
    SANHE_REFUSAL_UNKNOWN_PERSON = 4,
    SANHE_REFUSAL_PERSON_DECEASED = 5,
    SANHE_REFUSAL_NO_POLICY = 6,
    SANHE_REFUSAL_UNKNOWN_ITEM = 7,
    SANHE_REFUSAL_NOT_FOUND = 8,
    SANHE_REFUSAL_ALREADY_REVERSED = 9,
    SANHE_REFUSAL_FORBIDDEN = 10,
    SANHE_REFUSAL_REQUEST_ID_REUSED = 11,
    SANHE_REFUSAL_BAD_REQUEST = 20,
    SANHE_REFUSAL_LIMIT_EXCEEDED = 23,
    SANHE_REFUSAL_STORAGE_FULL = 25,
    SANHE_REFUSAL_UNAVAILABLE = 26,
    SANHE_REFUSAL_INTERNAL = 27,
    /* Roster imports (docs/rosters.md). */
    SANHE_REFUSAL_IMPORT_REFUSED = 30,
    SANHE_REFUSAL_IMPORT_TOO_MANY_EXITS = 31,
    SANHE_REFUSAL_IMPORT_NO_SESSION = 32,
    SANHE_REFUSAL_LOOKUP_RATE_EXCEEDED = 35,
    SANHE_REFUSAL_QUOTA_EXCEEDED = 36,
    SANHE_REFUSAL_CLAIM_TOO_LARGE = 37,
};

/* A request id: at most 31 bytes (the engine's limit), plus the NUL. */
#define SANHE_REQUEST_ID_MAX 32

typedef struct sanhe_client sanhe_client;

struct sanhe_client_options {
    const char *engines;    /* "host:port[,host:port...]", tried in this order */
    const char *ca_file;    /* PEM: the CA that signed the engine's certificate */
    const char *cert_file;  /* PEM: this terminal's certificate (chain) */
    const char *key_file;   /* PEM: its private key */
    const char *terminal;   /* prefix of generated request ids; NULL: "sanhe" */
    int timeout_ms;         /* a call's deadline when the call passes 0; 0: 10000 */
    int attempt_timeout_ms; /* wait for one reply (or one connect) before retrying;
                               0: 3000 */
};

/* Loads the certificates and parses the addresses; connects lazily, on the
 * first call. On failure *out is NULL; the reason is in the return code
 * (SANHE_E_INVAL, SANHE_E_NOMEM, SANHE_E_TLS_SETUP). */
int sanhe_client_new(sanhe_client **out, const struct sanhe_client_options *options);

/* Fail fast (on != 0): when every engine address refuses the TCP
 * connection (nothing listens there: the engine is down, not slow), the
 * call returns SANHE_E_UNREACHABLE at once instead of retrying until its
 * deadline; the request was not sent. A silent engine (connect or reply
 * never comes) still gets the whole deadline. For a caller that has
 * somewhere else to put the request, like sanhe-counter's outbox. Off by
 * default: an engine that restarts is waited for. */
void sanhe_client_fail_fast(sanhe_client *client, int on);

/* Closes the connection and frees. NULL is fine. */
void sanhe_client_free(sanhe_client *client);

/* The name of an error code ("outcome unknown: ..."), static storage. */
const char *sanhe_strerror(int code);

/* After SANHE_E_REFUSED: the engine's code, its name ("UNKNOWN_PERSON") and
 * message. sanhe_last_message also explains other failures of the last call
 * (which address failed and how). Valid until the next call on the client. */
int sanhe_refusal_code(const sanhe_client *client);
const char *sanhe_refusal_name(const sanhe_client *client);
const char *sanhe_last_message(const sanhe_client *client);

/* Why the last call failed on the way to the engine, in a form a program
 * can word in its own language (sanhe_last_message says the same in
 * English). The number is the one the kind names, 0 when none. */
enum sanhe_why {
    SANHE_WHY_NONE = 0,
    SANHE_WHY_RESOLVE = 1,           /* the address does not resolve */
    SANHE_WHY_CONNECT_REFUSED = 2,   /* nothing listens at the address */
    SANHE_WHY_CONNECT = 3,           /* the TCP connect failed: number, an errno */
    SANHE_WHY_TLS_SETUP = 4,         /* the TLS session could not be set up */
    SANHE_WHY_TLS_ALERT = 5,         /* the engine ended the handshake with a TLS alert:
                                        number, the alert (48: unknown CA) */
    SANHE_WHY_CERT_VERIFY = 6,       /* the engine's certificate does not verify against
                                        the CA: number, OpenSSL's X509_V_ERR_* */
    SANHE_WHY_HANDSHAKE_TIMEOUT = 7, /* no TLS handshake before the attempt's deadline */
    SANHE_WHY_HANDSHAKE_FAILED = 8,  /* the TLS handshake failed another way */
    SANHE_WHY_DEADLINE = 9,          /* no reply before the deadline */
    SANHE_WHY_CLOSED = 10,           /* the connection was closed */
    SANHE_WHY_BUSY = 11,             /* the engine answered busy (shutting down, or too
                                        many connections) at every attempt */
    SANHE_WHY_BAD_REPLY = 12,        /* a reply frame is not a sanhe.Response */
    SANHE_WHY_BAD_REQUEST = 13,      /* the raw request names no operation */
};

/* The last call's enum sanhe_why; *address (when not NULL) the engine
 * address it concerns ("127.0.0.1:7000", "" when none) and *number (when
 * not NULL) its number. Valid until the next call on the client. */
int sanhe_last_why(const sanhe_client *client, const char **address, int *number);

/* A new unique request id, at most 31 bytes: the terminal name (cut to
 * fit), unix time in ms, a per-client counter and 25 random bits, the
 * numbers in base 36 ("H330424001-mi9x2k7d-1-0f3zq"). Store it before sending a settle, so that a
 * retry or a cancel can name it after a crash. */
int sanhe_request_id_new(sanhe_client *client, char out[SANHE_REQUEST_ID_MAX]);

/* The request id of the last call (generated when the caller passed NULL). */
const char *sanhe_last_request_id(const sanhe_client *client);

/* The last reply exactly as received: a packed sanhe.Response (see
 * proto/sanhe.proto), for tools that want every field. NULL when the last
 * call got no reply. Valid until the next call on the client. */
const void *sanhe_last_reply(const sanhe_client *client, size_t *len);

/* ---- Claims and breakdowns (money in fen, quantities in thousandths) ---- */

struct sanhe_line {
    const char *code;  /* catalog code */
    int64_t qty_milli; /* 1.5 units = 1500 */
    int64_t amount;    /* fen, > 0 */
};

struct sanhe_claim {
    const char *hospital; /* the terminal's hospital code */
    const char *person;   /* resident id, 18 characters */
    const char *visit;    /* "outpatient", "chronic" or "inpatient" */
    const char *date;     /* "YYYY-MM-DD", the settlement (discharge) date */
    const struct sanhe_line *lines;
    size_t line_count;
};

/* Strings are "" when the engine left the field out. */
struct sanhe_fund_share {
    char *fund;
    char *name;
    int64_t pay;
    int64_t deductible; /* applied on this claim */
    int64_t payable;
    char *reason; /* "" when the fund paid what its rule gave */
    char *category;
    char *cap_group;
};

struct sanhe_breakdown {
    int64_t total, out_of_scope, over_limit, pre_selfpay, in_scope;
    int64_t fund_total, patient_pays;
    int trial; /* 1 for a presettle: nothing was recorded */
    char *policy_region;
    int policy_year;
    struct sanhe_fund_share *funds; /* in the policy's order */
    size_t fund_count;
    /* The bill by catalog class (甲类, 乙类, 丙类): the sums of the line
     * amounts of each class; they add up to total. has_class_totals is 0
     * for a settlement recorded before the engine reported them (the three
     * are then 0). */
    int has_class_totals;
    int64_t class_a_total, class_b_total, class_c_total;
};

struct sanhe_settle_result {
    uint64_t settlement_id; /* 0 for a presettle */
    char business_day[16];
    struct sanhe_breakdown breakdown;
};

struct sanhe_reverse_result {
    uint64_t settlement_id;
    int reversed;
    char business_day[16];
};

struct sanhe_cancel_result {
    int reversed;           /* 1: the settle had landed and is now reversed;
                               0: it had not, and now never will */
    uint64_t settlement_id; /* when it had landed */
};

enum sanhe_settlement_state { SANHE_SETTLED = 0, SANHE_REVERSED = 1 };

struct sanhe_settlement {
    uint64_t settlement_id;
    char *hospital, *request_id, *person, *visit, *date;
    enum sanhe_settlement_state state;
    char business_day[16];
    int64_t settled_at_ms; /* unix time */
    char *reversal_request_id;
    char reversal_day[16];
    int64_t reversed_at_ms;
    struct sanhe_breakdown breakdown;
};

/* One annual limit of a fund that applies (proto/sanhe.proto FundLimit):
 * the rule of one visit type, in the policy year of the date asked. */
struct sanhe_fund_limit {
    char *visit;        /* "outpatient", "chronic" or "inpatient" */
    char *cap_group;    /* rules of a fund sharing it share paid */
    int year;           /* the policy (accumulator) year */
    int has_annual_cap; /* 0: no annual cap (annual_cap, remaining 0) */
    int64_t annual_cap;
    int64_t paid;      /* paid this year under the cap group */
    int64_t remaining; /* max(0, annual_cap - paid) */
    int has_claim_cap;
    int64_t claim_cap;
    char *deductible_scope;         /* "claim" (every claim) or "annual" */
    int64_t deductible_by_level[5]; /* village, township, county, municipal, provincial */
    int has_deductible;             /* the calling counter's hospital level was known */
    int64_t deductible;             /* at that level */
    int64_t deductible_met;         /* this year (annual scope; 0 for claim scope) */
};

struct sanhe_fund_status {
    char *fund, *name, *kind, *category, *reason;
    int applies;
    struct sanhe_fund_limit *limits; /* when it applies: one per visit type with a rule */
    size_t limit_count;
};

struct sanhe_accumulator {
    int year;
    char *fund, *cap_group;
    int64_t paid, payable, deductible_met;
};

struct sanhe_eligibility {
    char *person, *name, *region, *policy_name;
    int deceased;
    struct sanhe_fund_status *funds;
    size_t fund_count;
    struct sanhe_accumulator *accumulators; /* every accumulator, all years */
    size_t accumulator_count;
};

/* Free what a successful call filled in (and zero it). NULL is fine. */
void sanhe_settle_result_free(struct sanhe_settle_result *result);
void sanhe_settlement_free(struct sanhe_settlement *settlement);
void sanhe_eligibility_free(struct sanhe_eligibility *eligibility);

/* ---- Operations ----
 * request_id: NULL to have one generated (sanhe_last_request_id tells it).
 * timeout_ms: the call's deadline from now; 0 for the client's default.
 * On any error the output is left zeroed. */

/* Settles and records the claim; exactly once per request id. */
int sanhe_settle(sanhe_client *client, const struct sanhe_claim *claim, const char *request_id,
                 int timeout_ms, struct sanhe_settle_result *out);

/* The same computation, recording nothing (breakdown.trial is 1). */
int sanhe_presettle(sanhe_client *client, const struct sanhe_claim *claim, int timeout_ms,
                    struct sanhe_settle_result *out);

/* Reverses a settlement of this hospital by its id. */
int sanhe_reverse(sanhe_client *client, uint64_t settlement_id, const char *request_id,
                  int timeout_ms, struct sanhe_reverse_result *out);

/* Cancels the settle sent with request id cancel_of, whether or not it
 * landed (docs/rules.md cancel). request_id names the cancel itself. */
int sanhe_cancel(sanhe_client *client, const char *cancel_of, const char *request_id,
                 int timeout_ms, struct sanhe_cancel_result *out);

/* A settlement by id (settle_request_id NULL) or by the request id of the
 * settle that made it (settlement_id 0). */
int sanhe_query(sanhe_client *client, uint64_t settlement_id, const char *settle_request_id,
                int timeout_ms, struct sanhe_settlement *out);

/* The person's funds on date (NULL: today) and every accumulator. */
int sanhe_eligibility(sanhe_client *client, const char *person, const char *date, int timeout_ms,
                      struct sanhe_eligibility *out);

/* ---- Asynchronous form, on the caller's libuv loop ----
 * uv_loop is the caller's uv_loop_t *, as void * so that this header needs
 * no libuv. The call runs on the loop's thread pool (uv_queue_work) with
 * the same deadline, retries and results as the synchronous one, and done
 * runs on the loop's thread. Until done has run: make no other call on the
 * client, do not free it, and keep claim and its strings alive. On status
 * 0, *result is valid during done and done owns its contents: free them
 * with sanhe_settle_result_free, or copy the struct to keep them; on an
 * error result is NULL. Returns 0
 * when the call was queued (done will run), or a negative code (it will
 * not). The loop keeps running while a call is pending. */
typedef void (*sanhe_settle_cb)(sanhe_client *client, int status,
                                struct sanhe_settle_result *result, void *arg);
typedef void (*sanhe_cancel_cb)(sanhe_client *client, int status,
                                struct sanhe_cancel_result *result, void *arg);

int sanhe_settle_async(sanhe_client *client, void *uv_loop, const struct sanhe_claim *claim,
                       const char *request_id, int timeout_ms, sanhe_settle_cb done, void *arg);
int sanhe_presettle_async(sanhe_client *client, void *uv_loop, const struct sanhe_claim *claim,
                          int timeout_ms, sanhe_settle_cb done, void *arg);
int sanhe_cancel_async(sanhe_client *client, void *uv_loop, const char *cancel_of,
                       const char *request_id, int timeout_ms, sanhe_cancel_cb done, void *arg);

/* reverse, query and eligibility, the same way: done gets what the
 * synchronous call fills in (reverse: SANHE_E_OUTCOME_UNKNOWN when it was
 * sent and no reply came). The string arguments are copied: they need not
 * outlive the call. done owns a query's or an eligibility's contents: free
 * them with sanhe_settlement_free or sanhe_eligibility_free. */
typedef void (*sanhe_reverse_cb)(sanhe_client *client, int status,
                                 struct sanhe_reverse_result *result, void *arg);
typedef void (*sanhe_query_cb)(sanhe_client *client, int status, struct sanhe_settlement *result,
                               void *arg);
typedef void (*sanhe_eligibility_cb)(sanhe_client *client, int status,
                                     struct sanhe_eligibility *result, void *arg);

int sanhe_reverse_async(sanhe_client *client, void *uv_loop, uint64_t settlement_id,
                        const char *request_id, int timeout_ms, sanhe_reverse_cb done, void *arg);
int sanhe_query_async(sanhe_client *client, void *uv_loop, uint64_t settlement_id,
                      const char *settle_request_id, int timeout_ms, sanhe_query_cb done,
                      void *arg);
int sanhe_eligibility_async(sanhe_client *client, void *uv_loop, const char *person,
                            const char *date, int timeout_ms, sanhe_eligibility_cb done, void *arg);

/* ---- Pipelined asynchronous connection, on the caller's libuv loop ----
 * For a program that has many calls in flight at once (the national
 * interface gateway): one TLS connection driven by the loop itself (no
 * thread), every call written at once and matched to its reply by request
 * id, so replies may come in any order. The guarantees are the synchronous
 * call's: until a call's deadline, a broken connection is replaced (the
 * addresses in order) and every unanswered call is written again with the
 * same request id; a settle, reverse or cancel written and unanswered at
 * its deadline gives SANHE_E_OUTCOME_UNKNOWN.
 *
 * options as for sanhe_client_new (terminal is unused: every request
 * carries its own request id); in_flight_max bounds the calls not yet
 * answered (0: 4096). The pipe connects on the first call. */
typedef struct sanhe_pipe sanhe_pipe;

/* status 0: reply is the packed sanhe.Response; SANHE_E_REFUSED: reply is
 * the packed Response carrying the refusal (its error); otherwise reply is
 * NULL (SANHE_E_OUTCOME_UNKNOWN, SANHE_E_TIMEOUT, SANHE_E_UNREACHABLE).
 * reply is valid during the callback only. */
typedef void (*sanhe_raw_cb)(int status, const void *reply, size_t len, void *arg);

int sanhe_pipe_new(sanhe_pipe **out, void *uv_loop, const struct sanhe_client_options *options,
                   size_t in_flight_max);

/* Sends request (a packed sanhe.Request with a request id of at most 31
 * bytes, naming an operation). 0: done will run once, on the loop's thread;
 * SANHE_E_INVAL: not such a request; SANHE_E_UNREACHABLE: in_flight_max
 * calls are pending. Calls with the same request id are answered in order. */
int sanhe_pipe_call_raw(sanhe_pipe *pipe, const void *request, size_t len, int timeout_ms,
                        sanhe_raw_cb done, void *arg);

/* Calls not yet answered. */
size_t sanhe_pipe_in_flight(const sanhe_pipe *pipe);

/* Batching, for a caller that makes many calls at once (the load
 * generator's send tick): while corked (on != 0) a call is queued, not
 * written; uncorking (on == 0) writes every queued call together, in one
 * TLS write and one socket write. A corked call is written on the pipe's
 * next tick (20 ms) at the latest. Uncorked by default: each call is
 * written at once. */
void sanhe_pipe_cork(sanhe_pipe *pipe, int on);

/* Runs every pending call's callback at once (SANHE_E_OUTCOME_UNKNOWN for a
 * settle, reverse or cancel already written, else SANHE_E_TIMEOUT or
 * SANHE_E_UNREACHABLE), closes the connection, and frees the pipe once its
 * handles have closed (let the loop run). Not from inside a callback. */
void sanhe_pipe_free(sanhe_pipe *pipe);

/* ---- Any request: the escape hatch for bureau and admin operations ----
 * For operations this header has no call for (reconcile, load, the roster
 * imports and the monthly cross-check of docs/rosters.md): request is
 * a packed sanhe.Request (proto/sanhe.proto); the call sends it with the
 * same deadline, retries and fail-over as the others. Its request_id is
 * used as it is (at most 31 bytes); when it is absent or empty, one is
 * generated (sanhe_last_request_id). A request that may change the
 * engine's state (anything but presettle, query, eligibility and
 * reconcile) gives SANHE_E_OUTCOME_UNKNOWN when it was sent and no reply
 * came. On 0, *reply is the packed sanhe.Response (malloc'ed: free() it)
 * and *reply_len its length. A refusal is SANHE_E_REFUSED, as for every
 * call (sanhe_refusal_code; sanhe_last_reply has its bytes); on any error
 * *reply is NULL. SANHE_E_INVAL: request does not decode as a
 * sanhe.Request naming an operation. */
int sanhe_call_raw(sanhe_client *client, const void *request, size_t len, int timeout_ms,
                   void **reply, size_t *reply_len);

#ifdef __cplusplus
}
#endif

#endif
