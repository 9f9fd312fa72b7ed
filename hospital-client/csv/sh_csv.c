/*
 * The CSV layer (sh_csv.h): input bytes -> iconv (the file's encoding to
 * UTF-8, which also validates UTF-8) -> pieces cut at each line end -> libcsv
 * in strict mode -> one callback per record. The pieces are what lets the
 * reader count lines (libcsv does not) and bound a record's length before
 * libcsv's buffer could grow with it.
 */
#include "sh_csv.h"

#include <csv.h>
#include <errno.h>
#include <fcntl.h>
#include <iconv.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define IN_CHUNK (64u << 10)
#define OUT_CHUNK (4 * IN_CHUNK) /* GB18030 to UTF-8 grows at most 3/2, UTF-8 not at all */

struct reader {
    struct sh_csv_options o;
    struct sh_csv_info *info;
    struct sh_error *err;
    sh_csv_record_fn fn;
    void *ctx;
    iconv_t cd;
    struct csv_parser p;
    bool last_cr;
    uint64_t line; /* line ends seen */
    size_t record_bytes;
    /* the record being built */
    char *arena;
    size_t arena_len, arena_cap;
    size_t *offs;
    size_t count;
    int rc; /* sticky: the first error or the callback's stop */
};

const char *sh_csv_encoding_name(enum sh_csv_encoding e)
{
    return e == SH_CSV_UTF8 ? "UTF-8" : e == SH_CSV_GB18030 ? "GB18030" : "auto";
}

static int fail(struct reader *r, uint64_t line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct reader *r, uint64_t line, const char *fmt, ...)
{
    if (r->rc == 0) {
        char msg[SH_ERROR_MSG_MAX];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        r->rc =
            sh_error_set(r->err, SH_E_BAD_REQUEST, "line %llu: %s", (unsigned long long)line, msg);
    }
    return r->rc;
}

/* ---- libcsv's callbacks ---------------------------------------------------------------- */

static void on_field(void *data, size_t len, void *user)
{
    struct reader *r = user;
    if (r->rc != 0)
        return;
    if (len > r->o.field_max) {
        fail(r, r->line + 1, "a field longer than %zu bytes", r->o.field_max);
        return;
    }
    if (r->count >= r->o.fields_max) {
        fail(r, r->line + 1, "more than %zu fields", r->o.fields_max);
        return;
    }
    if (r->arena_len + len + 1 > r->arena_cap) {
        size_t cap = r->arena_cap * 2;
        while (cap < r->arena_len + len + 1)
            cap *= 2;
        char *a = realloc(r->arena, cap);
        if (a == NULL) {
            r->rc = sh_error_set(r->err, SH_E_INTERNAL, "out of memory");
            return;
        }
        r->arena = a;
        r->arena_cap = cap;
    }
    r->offs[r->count++] = r->arena_len;
    if (len > 0)
        memcpy(r->arena + r->arena_len, data, len);
    r->arena[r->arena_len + len] = '\0';
    r->arena_len += len + 1;
}

static void on_record(int term, void *user)
{
    (void)term;
    struct reader *r = user;
    r->record_bytes = 0;
    if (r->rc != 0) {
        r->count = r->arena_len = 0;
        return;
    }
    const char *fields[SH_CSV_FIELDS_MAX_DEFAULT * 4];
    const char **list = fields;
    if (r->count > sizeof fields / sizeof fields[0]) {
        list = malloc(r->count * sizeof *list);
        if (list == NULL) {
            r->rc = sh_error_set(r->err, SH_E_INTERNAL, "out of memory");
            return;
        }
    }
    for (size_t i = 0; i < r->count; i++)
        list[i] = r->arena + r->offs[i];
    r->info->records++;
    int rc = r->fn(r->ctx, r->line + 1, r->count, list);
    if (list != fields)
        free(list);
    if (rc != 0)
        r->rc = rc < 0 ? rc : 1;
    r->count = r->arena_len = 0;
}

/* ---- UTF-8 pieces into libcsv ---------------------------------------------------------- */

static int parse_piece(struct reader *r, const char *s, size_t n)
{
    if (memchr(s, '\0', n) != NULL)
        return fail(r, r->line + 1, "a NUL byte (a binary file?)");
    r->record_bytes += n;
    if (r->record_bytes > r->o.record_max)
        return fail(r, r->line + 1, "a record longer than %zu bytes (a missing quote?)",
                    r->o.record_max);
    if (csv_parse(&r->p, s, n, on_field, on_record, r) != n && r->rc == 0)
        return fail(r, r->line + 1, "malformed CSV: %s", csv_strerror(csv_error(&r->p)));
    return r->rc;
}

/* Cuts UTF-8 text at each line end (LF, CRLF, CR), counting lines. */
static int feed_utf8(struct reader *r, const char *s, size_t n)
{
    size_t start = 0;
    for (size_t i = 0; i < n && r->rc == 0; i++) {
        char c = s[i];
        if (c != '\n' && c != '\r') {
            r->last_cr = false;
            continue;
        }
        parse_piece(r, s + start, i + 1 - start);
        start = i + 1;
        if (c == '\r' || !r->last_cr)
            r->line++;
        r->last_cr = c == '\r';
    }
    if (r->rc == 0 && start < n)
        parse_piece(r, s + start, n - start);
    return r->rc;
}

/* Converts in (all of it but an incomplete sequence at its end, which stays
 * in *left); last: the input ends here. */
static int feed_bytes(struct reader *r, const char *in, size_t len, size_t *left, bool last)
{
    char out[OUT_CHUNK];
    char *ip = (char *)in;
    size_t il = len;
    while (il > 0 && r->rc == 0) {
        char *op = out;
        size_t ol = sizeof out;
        size_t k = iconv(r->cd, &ip, &il, &op, &ol);
        int e = errno;
        feed_utf8(r, out, (size_t)(op - out));
        if (k != (size_t)-1 || r->rc != 0)
            continue;
        if (e == E2BIG)
            continue;
        if (e == EINVAL && !last)
            break; /* the rest of a sequence comes with the next read */
        return fail(r, r->line + 1, "%s",
                    r->info->encoding == SH_CSV_UTF8
                        ? "not valid UTF-8 (mixed encodings? GB18030 after UTF-8?)"
                        : "not valid GB18030");
    }
    *left = il;
    return r->rc;
}

/* ---- Encoding -------------------------------------------------------------------------- */

/* Whether the sample is valid UTF-8; when not, *bad is the offset of the
 * first invalid sequence. */
static bool valid_utf8_sample(const char *s, size_t n, bool whole, size_t *bad)
{
    iconv_t cd = iconv_open("UTF-8", "UTF-8");
    if (cd == (iconv_t)-1)
        return false;
    char out[OUT_CHUNK];
    char *ip = (char *)s;
    size_t il = n;
    bool ok = true;
    while (il > 0) {
        char *op = out;
        size_t ol = sizeof out;
        if (iconv(cd, &ip, &il, &op, &ol) != (size_t)-1)
            continue;
        if (errno == E2BIG)
            continue;
        ok = errno == EINVAL && !whole; /* a sequence cut by the sample's end */
        break;
    }
    *bad = (size_t)(ip - s);
    iconv_close(cd);
    return ok;
}

/* Text that is valid UTF-8, with characters beyond ASCII, up to a sequence
 * that is not: a UTF-8 file with GB18030 pasted into it. (GB18030 text
 * rarely forms two valid UTF-8 characters before its first invalid byte.) */
static bool mixed_sample(const char *s, size_t bad, uint64_t *line)
{
    size_t leads = 0;
    *line = 1;
    for (size_t i = 0; i < bad; i++) {
        unsigned char c = (unsigned char)s[i];
        leads += c >= 0xC2 && c <= 0xF4;
        *line += c == '\n' || (c == '\r' && (i + 1 >= bad || s[i + 1] != '\n'));
    }
    return leads >= 2;
}

/* Picks the encoding from the first bytes; *skip: the BOM's length. */
static int detect(struct reader *r, const char *s, size_t n, bool whole, size_t *skip)
{
    *skip = 0;
    if (n >= 2 && ((unsigned char)s[0] == 0xFF && (unsigned char)s[1] == 0xFE))
        return fail(r, 1, "%s", "UTF-16: export the file as UTF-8 or GB18030");
    if (n >= 2 && ((unsigned char)s[0] == 0xFE && (unsigned char)s[1] == 0xFF))
        return fail(r, 1, "%s", "UTF-16: export the file as UTF-8 or GB18030");
    if (n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) {
        r->info->bom = true;
        *skip = 3;
        if (r->o.encoding == SH_CSV_AUTO)
            r->o.encoding = SH_CSV_UTF8;
    } else if (n >= 4 && memcmp(s, "\x84\x31\x95\x33", 4) == 0 && r->o.encoding != SH_CSV_UTF8) {
        /* U+FEFF in GB18030: some exporters write it too. Left in, it
         * would become the first header name's first character. */
        r->info->bom = true;
        *skip = 4;
        r->o.encoding = SH_CSV_GB18030;
    }
    if (r->o.encoding == SH_CSV_AUTO) {
        size_t bad = 0;
        uint64_t line = 1;
        if (valid_utf8_sample(s, n, whole, &bad))
            r->o.encoding = SH_CSV_UTF8;
        else if (mixed_sample(s, bad, &line))
            return fail(r, line,
                        "not valid UTF-8 after UTF-8 text (mixed encodings?); if the "
                        "file is GB18030, say so: encoding = gb18030");
        else
            r->o.encoding = SH_CSV_GB18030;
    }
    r->info->encoding = r->o.encoding;
    r->cd = iconv_open("UTF-8", r->o.encoding == SH_CSV_UTF8 ? "UTF-8" : "GB18030");
    if (r->cd == (iconv_t)-1) {
        r->rc = sh_error_set(r->err, SH_E_INTERNAL, "iconv cannot convert from %s",
                             sh_csv_encoding_name(r->o.encoding));
        return r->rc;
    }
    return 0;
}

/* ---- Reading ------------------------------------------------------------------------------- */

static int reader_init(struct reader *r, const struct sh_csv_options *o, sh_csv_record_fn fn,
                       void *ctx, struct sh_csv_info *info, struct sh_error *err)
{
    memset(r, 0, sizeof *r);
    if (o != NULL)
        r->o = *o;
    if (r->o.field_max == 0)
        r->o.field_max = SH_CSV_FIELD_MAX_DEFAULT;
    if (r->o.fields_max == 0)
        r->o.fields_max = SH_CSV_FIELDS_MAX_DEFAULT;
    if (r->o.record_max == 0)
        r->o.record_max = SH_CSV_RECORD_MAX_DEFAULT;
    memset(info, 0, sizeof *info);
    r->info = info;
    r->err = err;
    r->fn = fn;
    r->ctx = ctx;
    r->cd = (iconv_t)-1;
    r->arena_cap = 4096;
    r->arena = malloc(r->arena_cap);
    r->offs = calloc(r->o.fields_max, sizeof *r->offs);
    if (r->arena == NULL || r->offs == NULL || csv_init(&r->p, CSV_STRICT | CSV_STRICT_FINI) != 0)
        return sh_error_set(err, SH_E_INTERNAL, "out of memory");
    return 0;
}

static int reader_end(struct reader *r)
{
    if (r->rc == 0 && csv_fini(&r->p, on_field, on_record, r) != 0 && r->rc == 0)
        fail(r, r->line + 1, "%s", "an unterminated quoted field at the end of the file");
    r->info->lines = r->line + (r->record_bytes > 0 ? 1 : 0);
    csv_free(&r->p);
    if (r->cd != (iconv_t)-1)
        iconv_close(r->cd);
    free(r->arena);
    free(r->offs);
    return r->rc < 0 ? r->rc : 0;
}

int sh_csv_read_buffer(const void *data, size_t len, const struct sh_csv_options *options,
                       sh_csv_record_fn fn, void *ctx, struct sh_csv_info *info,
                       struct sh_error *err)
{
    struct sh_csv_info local;
    struct reader r;
    if (reader_init(&r, options, fn, ctx, info != NULL ? info : &local, err) != 0) {
        reader_end(&r);
        return SH_E_INTERNAL;
    }
    const char *s = data;
    size_t skip = 0, left = 0;
    r.info->bytes = len;
    if (detect(&r, s, len < IN_CHUNK ? len : IN_CHUNK, len <= IN_CHUNK, &skip) == 0)
        feed_bytes(&r, s + skip, len - skip, &left, true);
    return reader_end(&r);
}

int sh_csv_read_file(const char *path, const struct sh_csv_options *options, sh_csv_record_fn fn,
                     void *ctx, struct sh_csv_info *info, struct sh_error *err)
{
    struct sh_csv_info local;
    struct reader r;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return sh_error_set(err, SH_E_INTERNAL, "%s: %s", path, strerror(errno));
    char *buf = malloc(2 * IN_CHUNK);
    if (buf == NULL || reader_init(&r, options, fn, ctx, info != NULL ? info : &local, err) != 0) {
        free(buf);
        close(fd);
        return sh_error_set(err, SH_E_INTERNAL, "out of memory");
    }
    size_t have = 0; /* bytes in buf not yet converted */
    bool first = true, eof = false;
    while (r.rc == 0 && !eof) {
        ssize_t n = read(fd, buf + have, 2 * IN_CHUNK - have);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            r.rc = sh_error_set(err, SH_E_INTERNAL, "%s: %s", path, strerror(errno));
            break;
        }
        eof = n == 0;
        have += (size_t)n;
        r.info->bytes += (uint64_t)n;
        size_t skip = 0;
        if (first && (have >= IN_CHUNK || eof)) {
            first = false;
            if (detect(&r, buf, have, eof, &skip) != 0)
                break;
        } else if (first) {
            continue; /* read on until the sample is whole */
        }
        size_t left = 0;
        feed_bytes(&r, buf + skip, have - skip, &left, eof);
        memmove(buf, buf + have - left, left);
        have = left;
    }
    free(buf);
    close(fd);
    return reader_end(&r);
}

int sh_csv_column(size_t count, const char *const *fields, const char *name)
{
    size_t want = strlen(name);
    for (size_t i = 0; i < count; i++) {
        const char *f = fields[i];
        size_t n = strlen(f);
        while (n > 0 && f[0] == ' ') {
            f++;
            n--;
        }
        while (n > 0 && f[n - 1] == ' ')
            n--;
        if (n == want && memcmp(f, name, n) == 0)
            return (int)i;
    }
    return -1;
}
