/*
 * Framing: a 4-byte big-endian length, then one protobuf message
 * (sanhe.Request from a terminal, sanhe.Response from the engine).
 */
#ifndef FRAME_H
#define FRAME_H

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

#include "ledger.h"
#include "sanhe.pb-c.h"

#define FRAME_HEADER_BYTES 4

static inline uint32_t frame_length_get(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static inline void frame_length_put(uint8_t *p, uint32_t len)
{
    p[0] = (uint8_t)(len >> 24);
    p[1] = (uint8_t)(len >> 16);
    p[2] = (uint8_t)(len >> 8);
    p[3] = (uint8_t)len;
}

/* What frame_decode found at the front of the input. */
enum frame_status {
    FRAME_PARTIAL = 0,      /* the frame is not complete yet: nothing taken */
    FRAME_REQUEST = 1,      /* one request decoded */
    FRAME_OVERSIZE = -1,    /* the length prefix exceeds the limit */
    FRAME_UNDECODABLE = -2, /* the frame's bytes are not a sanhe.Request */
};

/*
 * Decodes the frame at the front of buf (len bytes received so far): the
 * length prefix, the limit (checked on the prefix alone, so that a peer can
 * never make the engine wait for, or buffer, more than max bytes), then
 * sanhe__request__unpack. On FRAME_REQUEST *out is the request (free it with
 * sanhe__request__free_unpacked); on FRAME_REQUEST and FRAME_UNDECODABLE
 * *consumed is the frame's size with its header, else 0. Pure: no I/O, no
 * state, so the fuzz target (tests/fuzz) runs exactly the server's decoder.
 */
enum frame_status frame_decode(const uint8_t *buf, size_t len, uint32_t max, Sanhe__Request **out,
                               size_t *consumed);

/* A packed Response carrying only request_id (may be NULL) and an error;
 * code 0 gives no error at all (the bench_echo reply). Returns 0, or
 * SH_E_INTERNAL when out of memory (reply left empty). */
int frame_error_reply(const char *request_id, int code, const char *message,
                      struct sh_reply *reply);
/* The same with the refusal's detail (docs/errors.md) of detail, when it
 * has one (detail may be NULL). */
int frame_refusal_reply(const char *request_id, int code, const char *message,
                        const struct sh_error *detail, struct sh_reply *reply);

/* The error code of a packed Response without unpacking it all: 0 when it
 * carries no error (or cannot be read), else the negative SH_E_* code. */
int frame_reply_error(const uint8_t *data, size_t len);

/* "settle", "query", ... or "none": names the operation in log lines. */
const char *frame_op_name(const Sanhe__Request *request);

/* The protobuf wire format's base-128 varint at *p (below end), and the
 * skip of one field's value of a wire type; false when malformed. Shared by
 * the frame decoder and the string check (frame_strings.c). */
bool frame_varint_read(const uint8_t **p, const uint8_t *end, uint64_t *out);
bool frame_field_skip(const uint8_t **p, const uint8_t *end, unsigned wire_type);

/* frame_strings.c: every string field of a decoded request's body (the
 * frame without its header) is valid UTF-8, free of NUL and control
 * characters and within its length. 0, or -1 with err BAD_REQUEST, its
 * message naming the field ("settle.claim.lines[2].code holds a NUL byte
 * (at byte 4)") and its detail the field path and what is wrong
 * (docs/errors.md); id_echoable is false when the request id itself is not
 * fit to be sent back. */
int frame_strings_check(const uint8_t *body, size_t len, struct sh_error *err, bool *id_echoable);

#endif
