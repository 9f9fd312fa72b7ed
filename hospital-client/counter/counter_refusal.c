/*
 * An engine refusal in the cashier's language. The engine's Error carries,
 * beside its English message, a detail (sanhe.ErrorDetail) and its
 * arguments: the line, item code, field, value or limit it is about
 * (docs/errors.md). The counter words each detail through gettext; the
 * English message is shown only when the engine sent no detail (an older
 * engine) or one this counter does not know.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "counter.h"
#include "i18n.h"
#include "sanhe.pb-c.h"
#include "words.h"

int refusal_detail_format(const Sanhe__Error *e, char *out, size_t size)
{
    return sh_words_refusal(e, out, size);
}

void print_refusal_detail(sanhe_client *c)
{
    size_t len = 0;
    const void *bytes = sanhe_last_reply(c, &len);
    Sanhe__Response *r = bytes != NULL ? sanhe__response__unpack(NULL, len, bytes) : NULL;
    char text[1024];
    if (r != NULL && refusal_detail_format(r->error, text, sizeof text) == 0)
        fprintf(stderr, _("  reason: %s\n"), text);
    else
        print_detail(sanhe_last_message(c));
    if (r != NULL)
        sanhe__response__free_unpacked(r, NULL);
}

void refusal_detail_keep(json_t *rec, const Sanhe__Error *e)
{
    if (!e->has_detail)
        return;
    json_t *args = json_array();
    for (size_t i = 0; i < e->n_detail_args; i++)
        json_array_append_new(args,
                              json_string(e->detail_args[i] != NULL ? e->detail_args[i] : ""));
    json_object_set_new(rec, "detail", json_integer((json_int_t)e->detail));
    json_object_set_new(rec, "detail_args", args);
}

bool refusal_detail_kept(const json_t *rec, char *out, size_t size)
{
    const json_t *args = json_object_get(rec, "detail_args");
    if (!json_is_integer(json_object_get(rec, "detail")) || !json_is_array(args) ||
        json_array_size(args) > SH_DETAIL_ARGS_COUNTER)
        return false;
    char *strs[SH_DETAIL_ARGS_COUNTER];
    Sanhe__Error e = SANHE__ERROR__INIT;
    e.has_detail = true;
    e.detail = (Sanhe__ErrorDetail)json_integer_value(json_object_get(rec, "detail"));
    e.n_detail_args = json_array_size(args);
    e.detail_args = strs;
    for (size_t i = 0; i < e.n_detail_args; i++) {
        const char *a = json_string_value(json_array_get(args, i));
        strs[i] = (char *)(a != NULL ? a : "");
    }
    return refusal_detail_format(&e, out, size) == 0;
}
