/*
 * A compact explicit binary encoding for the small records the ledger decodes
 * on every claim (catalog items, persons, hospitals, terminals) and for the
 * journal's canonical bytes. Integers are big-endian and fixed-width,
 * strings are a u16 length then the bytes (no NUL). Every record starts with
 * a format version byte so that the layout can change later.
 *
 * Writer and reader are sticky like store_txn: after the first overflow or
 * short read every call is a no-op and `bad` is set; check once at the end.
 */
#ifndef STORE_CODEC_H
#define STORE_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct store_w {
    uint8_t *p;
    size_t len;
    size_t cap;
    bool bad;
};

struct store_r {
    const uint8_t *p;
    size_t len;
    size_t pos;
    bool bad;
};

void store_w_init(struct store_w *w, void *buf, size_t cap);
void store_w_u8(struct store_w *w, uint8_t v);
void store_w_u32(struct store_w *w, uint32_t v);
void store_w_u64(struct store_w *w, uint64_t v);
void store_w_i64(struct store_w *w, int64_t v);
void store_w_bytes(struct store_w *w, const void *data, size_t n);
void store_w_str(struct store_w *w, const char *s); /* NULL is "" */

void store_r_init(struct store_r *r, const void *data, size_t len);
uint8_t store_r_u8(struct store_r *r);
uint32_t store_r_u32(struct store_r *r);
uint64_t store_r_u64(struct store_r *r);
int64_t store_r_i64(struct store_r *r);
void store_r_bytes(struct store_r *r, void *out, size_t n);
/* Copies a string into out (cap bytes with the NUL); too long -> bad. */
void store_r_str(struct store_r *r, char *out, size_t cap);
/* True when everything was read and nothing went wrong. */
bool store_r_done(const struct store_r *r);

#endif
