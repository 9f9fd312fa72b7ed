/*
 * Framing: a 4-byte big-endian length, then one protobuf message
 * (sanhe.Request from a terminal, sanhe.Response from the engine).
 */
#ifndef FRAME_H
#define FRAME_H

#include <stddef.h>
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

/* A packed Response carrying only request_id (may be NULL) and an error.
 * Returns 0, or SH_E_INTERNAL when out of memory (reply left empty). */
int frame_error_reply(const char *request_id, int code, const char *message,
                      struct sh_reply *reply);

/* The error code of a packed Response without unpacking it all: 0 when it
 * carries no error (or cannot be read), else the negative SH_E_* code. */
int frame_reply_error(const uint8_t *data, size_t len);

/* "settle", "query", ... or "none": names the operation in log lines. */
const char *frame_op_name(const Sanhe__Request *request);

#endif
