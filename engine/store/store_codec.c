#include "store_codec.h"

#include <assert.h>
#include <string.h>

#include "store_keys.h"

void store_w_init(struct store_w *w, void *buf, size_t cap)
{
    assert(buf != NULL || cap == 0);
    w->p = buf;
    w->len = 0;
    w->cap = cap;
    w->bad = false;
}

static uint8_t *store_w_take(struct store_w *w, size_t n)
{
    if (w->bad || w->cap - w->len < n) {
        w->bad = true;
        return NULL;
    }
    uint8_t *at = w->p + w->len;
    w->len += n;
    return at;
}

void store_w_u8(struct store_w *w, uint8_t v)
{
    uint8_t *at = store_w_take(w, 1);
    if (at != NULL)
        *at = v;
}

void store_w_u32(struct store_w *w, uint32_t v)
{
    uint8_t *at = store_w_take(w, 4);
    if (at != NULL)
        store_be32_put(at, v);
}

void store_w_u64(struct store_w *w, uint64_t v)
{
    uint8_t *at = store_w_take(w, 8);
    if (at != NULL)
        store_be64_put(at, v);
}

void store_w_i64(struct store_w *w, int64_t v) { store_w_u64(w, (uint64_t)v); }

void store_w_bytes(struct store_w *w, const void *data, size_t n)
{
    uint8_t *at = store_w_take(w, n);
    if (at != NULL && n > 0)
        memcpy(at, data, n);
}

void store_w_str(struct store_w *w, const char *s)
{
    size_t n = s != NULL ? strlen(s) : 0;
    if (n > UINT16_MAX) {
        w->bad = true;
        return;
    }
    uint8_t *at = store_w_take(w, 2);
    if (at == NULL)
        return;
    at[0] = (uint8_t)(n >> 8);
    at[1] = (uint8_t)n;
    store_w_bytes(w, s, n);
}

void store_r_init(struct store_r *r, const void *data, size_t len)
{
    r->p = data;
    r->len = len;
    r->pos = 0;
    r->bad = false;
}

static const uint8_t *store_r_take(struct store_r *r, size_t n)
{
    if (r->bad || r->len - r->pos < n) {
        r->bad = true;
        return NULL;
    }
    const uint8_t *at = r->p + r->pos;
    r->pos += n;
    return at;
}

uint8_t store_r_u8(struct store_r *r)
{
    const uint8_t *at = store_r_take(r, 1);
    return at != NULL ? *at : 0;
}

uint32_t store_r_u32(struct store_r *r)
{
    const uint8_t *at = store_r_take(r, 4);
    return at != NULL ? store_be32_get(at) : 0;
}

uint64_t store_r_u64(struct store_r *r)
{
    const uint8_t *at = store_r_take(r, 8);
    return at != NULL ? store_be64_get(at) : 0;
}

int64_t store_r_i64(struct store_r *r) { return (int64_t)store_r_u64(r); }

void store_r_bytes(struct store_r *r, void *out, size_t n)
{
    const uint8_t *at = store_r_take(r, n);
    if (at != NULL && n > 0)
        memcpy(out, at, n);
    else if (n > 0)
        memset(out, 0, n);
}

void store_r_str(struct store_r *r, char *out, size_t cap)
{
    assert(cap > 0);
    out[0] = '\0';
    const uint8_t *hdr = store_r_take(r, 2);
    if (hdr == NULL)
        return;
    size_t n = (size_t)hdr[0] << 8 | hdr[1];
    if (n >= cap) {
        r->bad = true;
        return;
    }
    const uint8_t *at = store_r_take(r, n);
    if (at == NULL)
        return;
    memcpy(out, at, n);
    out[n] = '\0';
    if (memchr(out, '\0', n) != NULL) /* a NUL inside: not a string we wrote */
        r->bad = true;
}

bool store_r_done(const struct store_r *r) { return !r->bad && r->pos == r->len; }
