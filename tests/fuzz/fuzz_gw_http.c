/*
 * fuzz_gw_http: bytes a client sends over a gateway connection, after TLS,
 * through sanhe-gateway's request reader (gw_http_in_feed, the same code
 * the server runs: http-parser, its callbacks, the header and body limits,
 * the x-tif-* headers).
 *
 * The input: one byte choosing the header limit, one the body limit, four
 * seeding the chunk sizes, then the stream. The stream is read twice, once
 * in one piece and once in chunks cut where the seed says (as TCP may cut
 * it), answering each request at once as the server does (resume, then the
 * bytes the paused parser had not taken). Both readings must give the same
 * requests, and a refusal at the same point: what a request is may not
 * depend on how the bytes arrived. Each request must keep the limits (header bytes, body
 * bytes, a NUL-terminated path and body, a POST), each refusal must carry
 * one of the statuses docs/gateway.md lists, with a message.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define HEAD 6
#define REQUESTS_MAX 64
#define TRANSCRIPT_MAX 4096

struct transcript {
    char text[TRANSCRIPT_MAX];
    size_t len;
    unsigned requests;
    int status;
};

static void fail(const char *what, const struct transcript *t)
{
    fprintf(stderr, "fuzz_gw_http: %s\ntranscript: %.*s\n", what, (int)t->len, t->text);
    abort();
}

__attribute__((format(printf, 2, 3))) static void note(struct transcript *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(t->text + t->len, sizeof t->text - t->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        t->len += (size_t)n < sizeof t->text - t->len ? (size_t)n : sizeof t->text - t->len - 1;
}

static uint64_t body_hash(const char *b, size_t n)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)b[i]) * 1099511628211ULL;
    return h;
}

static bool terminated(const char *s, size_t size) { return memchr(s, '\0', size) != NULL; }

static void check_request(struct gw_http_in *in, const struct gw_request *r, struct transcript *t)
{
    if (r->body == NULL || r->body_len > in->body_bytes_max || r->body[r->body_len] != '\0')
        fail("a body over its limit or not terminated", t);
    if (in->header_bytes > in->header_bytes_max)
        fail("header bytes over the limit", t);
    if (in->parser.method != HTTP_POST)
        fail("a request that is not a POST", t);
    if (!terminated(r->path, sizeof r->path) || !terminated(r->tif_paasid, sizeof r->tif_paasid) ||
        !terminated(r->tif_timestamp, sizeof r->tif_timestamp) ||
        !terminated(r->tif_nonce, sizeof r->tif_nonce) ||
        !terminated(r->tif_signature, sizeof r->tif_signature))
        fail("a text field not terminated", t);
    note(t, "req %zu %s %016llx %s|%s|%s|%s|", r->body_len, r->path,
         (unsigned long long)body_hash(r->body, r->body_len), r->tif_paasid, r->tif_timestamp,
         r->tif_nonce, r->tif_signature);
}

static bool status_known(int s)
{
    return s == 400 || s == 404 || s == 405 || s == 413 || s == 431 || s == 503;
}

/* Feeds one piece as the server does; false once the connection is over. */
static bool feed(struct gw_http_in *in, const char *p, size_t n, struct transcript *t)
{
    while (n > 0) {
        size_t used = 0;
        enum gw_http_event ev = gw_http_in_feed(in, p, n, &used);
        if (used > n)
            fail("took more bytes than given", t);
        if (ev == GW_HTTP_REFUSED) {
            if (!status_known(in->status) || in->msg == NULL || in->req != NULL)
                fail("a refusal without a known status and message", t);
            /* The status is not compared: a request both over a limit and
             * malformed further on is refused either way, but which comes
             * first depends on where the reads were cut (the parser calls
             * back once a piece, and stops at a bad byte before calling
             * back for the piece it is in). */
            t->status = in->status;
            note(t, "refused\n");
            return false;
        }
        if (ev == GW_HTTP_MORE) {
            if (used != n)
                fail("bytes left without a request", t);
            return true;
        }
        struct gw_request *r = gw_http_in_take(in);
        if (r == NULL)
            fail("out of memory", t);
        check_request(in, r, t);
        gw_request_free(r);
        bool keep = gw_http_in_resume(in);
        note(t, "keep %d\n", keep);
        if (!keep || ++t->requests >= REQUESTS_MAX)
            return false;
        p += used;
        n -= used;
    }
    return true;
}

static void read_stream(const uint8_t *head, const char *s, size_t n, uint32_t seed,
                        struct transcript *t)
{
    static const size_t header_max[] = {64, 512, 16384};
    static const size_t body_max[] = {8, 1024, 1 << 20};
    struct gw_http_in in;
    gw_http_in_init(&in, header_max[head[0] % 3], body_max[head[1] % 3]);
    memset(t, 0, sizeof *t);
    size_t at = 0;
    bool open = true;
    while (open && at < n) {
        size_t piece = n - at;
        if (seed != 0) {
            seed ^= seed << 13; /* xorshift32: chunk sizes of 1 to 64 bytes */
            seed ^= seed >> 17;
            seed ^= seed << 5;
            size_t want = 1 + seed % 64;
            piece = want < piece ? want : piece;
        }
        open = feed(&in, s + at, piece, t);
        at += piece;
    }
    if (open)
        note(t, "open %d\n", in.in_body);
    gw_request_free(in.req);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < HEAD)
        return 0;
    uint32_t seed = (uint32_t)data[2] | (uint32_t)data[3] << 8 | (uint32_t)data[4] << 16 |
                    (uint32_t)data[5] << 24;
    const char *s = (const char *)data + HEAD;
    size_t n = size - HEAD;
    static struct transcript whole, chunked;
    read_stream(data, s, n, 0, &whole);
    read_stream(data, s, n, seed | 1, &chunked);
    if (whole.len != chunked.len || memcmp(whole.text, chunked.text, whole.len) != 0) {
        fprintf(stderr, "in one piece:\n%.*s\nin chunks:\n", (int)whole.len, whole.text);
        fail("the chunked reading differs from the reading in one piece", &chunked);
    }
    return 0;
}
