/* Replies: a packed sanhe.Response in malloc'd memory. */
#include <assert.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger_internal.h"

int ledger_reply_pack(const Sanhe__Response *response, struct sh_reply *out)
{
    size_t len = sanhe__response__get_packed_size(response);
    out->data = malloc(len > 0 ? len : 1);
    out->len = 0;
    if (out->data == NULL)
        return SH_E_INTERNAL;
    out->len = sanhe__response__pack(response, out->data);
    assert(out->len == len);
    return 0;
}

int ledger_reply_copy(const uint8_t *data, size_t len, struct sh_reply *out)
{
    out->data = malloc(len > 0 ? len : 1);
    out->len = 0;
    if (out->data == NULL)
        return SH_E_INTERNAL;
    memcpy(out->data, data, len);
    out->len = len;
    return 0;
}

/* The refusal's detail (docs/errors.md) into error; args is the caller's. */
static void reply_detail(const struct sh_error *err, Sanhe__Error *error,
                         char *args[SH_DETAIL_ARGS_MAX])
{
    if (err->detail <= SH_D_NONE || err->detail >= SH_D_COUNT)
        return;
    assert(err->argc <= SH_DETAIL_ARGS_MAX);
    error->has_detail = true;
    error->detail = (Sanhe__ErrorDetail)err->detail;
    for (unsigned i = 0; i < err->argc; i++)
        args[i] = (char *)err->args[i];
    error->n_detail_args = err->argc;
    error->detail_args = args;
}

static int reply_refusal(const Sanhe__Request *request, int code, const char *message,
                         const struct sh_error *err, struct sh_reply *out)
{
    Sanhe__Response response = SANHE__RESPONSE__INIT;
    Sanhe__Error error = SANHE__ERROR__INIT;
    char *args[SH_DETAIL_ARGS_MAX];
    response.request_id = request != NULL ? request->request_id : NULL;
    error.has_code = true;
    error.code = (Sanhe__ErrorCode)sh_error_wire(code < 0 ? code : SH_E_INTERNAL);
    assert(error.code > 0); /* an error reply always carries a refusal */
    error.message = (char *)(message != NULL ? message : "");
    if (err != NULL)
        reply_detail(err, &error, args);
    response.error = &error;
    return ledger_reply_pack(&response, out);
}

int ledger_reply_error(const Sanhe__Request *request, int code, const char *message,
                       struct sh_reply *out)
{
    return reply_refusal(request, code, message, NULL, out);
}

int ledger_reply_failure(const struct ledger_op *op, int code, struct sh_reply *out)
{
    char msg[SH_ERROR_MSG_MAX];
    const struct store_txn *txn = op->txn;
    if (op->err.code != 0 && op->err.msg[0] != '\0') {
        snprintf(msg, sizeof msg, "%s", op->err.msg);
    } else if (txn != NULL && txn->mdb_rc != 0) {
        snprintf(msg, sizeof msg, "storage: %s; nothing was recorded", mdb_strerror(txn->mdb_rc));
    } else if (code == SH_E_STORAGE_FULL) {
        snprintf(msg, sizeof msg, "the store reached its size limit; nothing was recorded");
    } else {
        snprintf(msg, sizeof msg, "%s; nothing was recorded", sh_error_name(code));
    }
    /* The detail belongs to the refusal op->err describes, and only to it. */
    bool own = op->err.code == code && op->err.msg[0] != '\0';
    return reply_refusal(op->request, code, msg, own ? &op->err : NULL, out);
}
