/* libsanhe-client internals: the client handle and the retrying call. */
#ifndef SANHE_CLIENT_INTERNAL_H
#define SANHE_CLIENT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conn.h"
#include "sanhe.pb-c.h"
#include "sanhe/client.h"

#define SANHE_ADDRESSES_MAX 8
#define SANHE_MSG_MAX 512

struct sanhe_address {
    char host[256];
    char port[8];
};

struct sanhe_client {
    SSL_CTX *ctx;
    struct sanhe_address addresses[SANHE_ADDRESSES_MAX];
    size_t address_count;
    size_t current;          /* the address of the open (or last good) connection */
    struct sanhe_conn *conn; /* NULL between connections */
    char terminal[48];
    int timeout_ms, attempt_timeout_ms;
    bool fail_fast;   /* sanhe_client_fail_fast */
    uint64_t counter; /* of generated request ids */
    /* What the last call left behind. */
    char request_id[SANHE_REQUEST_ID_MAX];
    int refusal;
    char refusal_name[32];
    char message[SANHE_MSG_MAX];
    struct sanhe_conn_why why; /* sanhe_last_why; kind 0 when none */
    uint8_t *reply;
    size_t reply_len;
};

/* Starts a call: clears what the last one left, picks the request id (the
 * caller's, or a new one) into client->request_id. */
int sanhe_call_begin(sanhe_client *client, const char *request_id);

/* Sends req (its request_id set from client->request_id), retrying as the
 * public header describes, until a reply or the deadline. changes_state:
 * settle, reverse, cancel (a lost reply is then SANHE_E_OUTCOME_UNKNOWN).
 * On 0, *out is the reply (free with sanhe__response__free_unpacked); a
 * refusal is turned into SANHE_E_REFUSED here. */
int sanhe_call(sanhe_client *client, Sanhe__Request *req, bool changes_state, int timeout_ms,
               Sanhe__Response **out);

/* Formats client->message, and forgets the last why. */
void sanhe_set_message(sanhe_client *client, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Sets the last why (sanhe_last_why): kind, number, the address at index
 * address (or none when it is past the list). */
void sanhe_set_why(sanhe_client *client, int kind, int number, size_t address);

/* Protobuf <-> public structs (convert.c). */
int sanhe_claim_to_pb(const struct sanhe_claim *claim, Sanhe__Claim *pb, Sanhe__Line **lines,
                      Sanhe__Line ***line_ptrs);
int sanhe_breakdown_from_pb(const Sanhe__Breakdown *pb, struct sanhe_breakdown *out);
void sanhe_breakdown_free(struct sanhe_breakdown *b);
int sanhe_settlement_from_pb(const Sanhe__Settlement *pb, struct sanhe_settlement *out);
int sanhe_eligibility_from_pb(const Sanhe__EligibilityReply *pb, struct sanhe_eligibility *out);
void sanhe_day_copy(char out[16], const char *day);

#endif
