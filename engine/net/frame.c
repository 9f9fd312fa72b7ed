#include "frame.h"

#include <assert.h>
#include <stdlib.h>

int frame_error_reply(const char *request_id, int code, const char *message, struct sh_reply *reply)
{
    return frame_refusal_reply(request_id, code, message, NULL, reply);
}

int frame_refusal_reply(const char *request_id, int code, const char *message,
                        const struct sh_error *detail, struct sh_reply *reply)
{
    assert(code <= 0 && reply != NULL); /* 0 (no error) or an SH_E_* code */
    Sanhe__Error error = SANHE__ERROR__INIT;
    error.has_code = 1;
    error.code = (Sanhe__ErrorCode)sh_error_wire(code);
    error.message = (char *)message;
    char *args[SH_DETAIL_ARGS_MAX];
    if (detail != NULL && detail->detail > SH_D_NONE && detail->detail < SH_D_COUNT) {
        assert(detail->argc <= SH_DETAIL_ARGS_MAX);
        error.has_detail = 1;
        error.detail = (Sanhe__ErrorDetail)detail->detail;
        for (unsigned i = 0; i < detail->argc; i++)
            args[i] = (char *)detail->args[i];
        error.n_detail_args = detail->argc;
        error.detail_args = args;
    }
    Sanhe__Response response = SANHE__RESPONSE__INIT;
    response.request_id = (char *)request_id;
    response.error = code != 0 ? &error : NULL;

    reply->len = sanhe__response__get_packed_size(&response);
    reply->data = malloc(reply->len > 0 ? reply->len : 1);
    if (reply->data == NULL) {
        reply->len = 0;
        return SH_E_INTERNAL;
    }
    size_t packed = sanhe__response__pack(&response, reply->data);
    assert(packed == reply->len);
    return 0;
}

enum frame_status frame_decode(const uint8_t *buf, size_t len, uint32_t max, Sanhe__Request **out,
                               size_t *consumed)
{
    *out = NULL;
    *consumed = 0;
    if (len < FRAME_HEADER_BYTES)
        return FRAME_PARTIAL;
    uint32_t body = frame_length_get(buf);
    if (body > max)
        return FRAME_OVERSIZE;
    if (len - FRAME_HEADER_BYTES < body)
        return FRAME_PARTIAL;
    *consumed = FRAME_HEADER_BYTES + (size_t)body;
    /* Never past what was received, never past the limit. */
    assert(*consumed <= len && body <= max);
    *out = sanhe__request__unpack(NULL, body, buf + FRAME_HEADER_BYTES);
    return *out != NULL ? FRAME_REQUEST : FRAME_UNDECODABLE;
}

/* Reads a base-128 varint at *p (below end); false when malformed. */
bool frame_varint_read(const uint8_t **p, const uint8_t *end, uint64_t *out)
{
    assert(*p <= end);
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 64 && *p < end; shift += 7) {
        uint8_t b = *(*p)++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if ((b & 0x80) == 0) {
            *out = v;
            return true;
        }
    }
    return false;
}

/* Skips one field's value of the given wire type. */
bool frame_field_skip(const uint8_t **p, const uint8_t *end, unsigned wire_type)
{
    uint64_t n;
    switch (wire_type) {
    case 0:
        return frame_varint_read(p, end, &n);
    case 1:
        n = 8;
        break;
    case 2:
        if (!frame_varint_read(p, end, &n))
            return false;
        break;
    case 5:
        n = 4;
        break;
    default:
        return false;
    }
    if (n > (uint64_t)(end - *p))
        return false;
    *p += n;
    assert(*p <= end);
    return true;
}

/* Finds field `number` (length-delimited) among the fields in [p, end). */
static bool field_find(const uint8_t *p, const uint8_t *end, unsigned number, const uint8_t **value,
                       size_t *value_len)
{
    while (p < end) {
        uint64_t key, n;
        if (!frame_varint_read(&p, end, &key))
            return false;
        if (key >> 3 == number && (key & 7) == 2) {
            if (!frame_varint_read(&p, end, &n) || n > (uint64_t)(end - p))
                return false;
            *value = p;
            *value_len = (size_t)n;
            assert(*value + *value_len <= end);
            return true;
        }
        if (!frame_field_skip(&p, end, (unsigned)(key & 7)))
            return false;
    }
    return false;
}

int frame_reply_error(const uint8_t *data, size_t len)
{
    /* Response.error is field 2; Error.code is field 1, a varint. */
    const uint8_t *error;
    size_t error_len;
    if (!field_find(data, data + len, 2, &error, &error_len))
        return 0;
    const uint8_t *p = error, *end = error + error_len;
    while (p < end) {
        uint64_t key, code;
        if (!frame_varint_read(&p, end, &key))
            return 0;
        if (key == (1 << 3 | 0))
            return frame_varint_read(&p, end, &code) && code > 0 && code < 1000 ? -(int)code : 0;
        if (!frame_field_skip(&p, end, (unsigned)(key & 7)))
            return 0;
    }
    return 0;
}

const char *frame_op_name(const Sanhe__Request *request)
{
    switch (request->op_case) {
    case SANHE__REQUEST__OP_SETTLE:
        return "settle";
    case SANHE__REQUEST__OP_PRESETTLE:
        return "presettle";
    case SANHE__REQUEST__OP_REVERSE:
        return "reverse";
    case SANHE__REQUEST__OP_CANCEL:
        return "cancel";
    case SANHE__REQUEST__OP_QUERY:
        return "query";
    case SANHE__REQUEST__OP_ELIGIBILITY:
        return "eligibility";
    case SANHE__REQUEST__OP_RECONCILE:
        return "reconcile";
    case SANHE__REQUEST__OP_LOAD:
        return "load";
    case SANHE__REQUEST__OP_PERSON_UPDATE:
        return "person_update";
    case SANHE__REQUEST__OP_CROSSCHECK:
        return "crosscheck";
    case SANHE__REQUEST__OP_IMPORT_BEGIN:
        return "import_begin";
    case SANHE__REQUEST__OP_IMPORT_CHUNK:
        return "import_chunk";
    case SANHE__REQUEST__OP_IMPORT_COMMIT:
        return "import_commit";
    case SANHE__REQUEST__OP_IMPORT_ABORT:
        return "import_abort";
    case SANHE__REQUEST__OP_AUDIT:
        return "audit";
    case SANHE__REQUEST__OP_IMPORT_LOG:
        return "import_log";
    default:
        return "none";
    }
}
