/*
 * The CSV layer (hospital-client/csv): encodings, line ends, line numbers
 * and the refusals of malformed files, each naming its line.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sh_csv.h"

#define RECORDS_MAX 16

struct got {
    size_t n;
    uint64_t lines[RECORDS_MAX];
    size_t counts[RECORDS_MAX];
    char first[RECORDS_MAX][64];
    char last[RECORDS_MAX][64];
};

static int on_record(void *ctx, uint64_t line, size_t count, const char *const *fields)
{
    struct got *g = ctx;
    if (g->n == RECORDS_MAX)
        return 1;
    g->lines[g->n] = line;
    g->counts[g->n] = count;
    snprintf(g->first[g->n], sizeof g->first[0], "%s", count > 0 ? fields[0] : "");
    snprintf(g->last[g->n], sizeof g->last[0], "%s", count > 0 ? fields[count - 1] : "");
    g->n++;
    return 0;
}

static int count_record(void *ctx, uint64_t line, size_t count, const char *const *fields)
{
    uint64_t *n = ctx;
    (*n)++;
    /* every record of "i,名字i" has two fields, the second the name of the first */
    char want[64];
    snprintf(want, sizeof want, "名字%s", fields[0]);
    if (*n > 1 && (count != 2 || strcmp(fields[1], want) != 0 || line != *n))
        return SH_E_INTERNAL;
    return 0;
}

static int count_lines(void *ctx, uint64_t line, size_t count, const char *const *fields)
{
    (void)line;
    (void)count;
    (void)fields;
    (*(uint64_t *)ctx)++;
    return 0;
}

static int read_text(const char *text, size_t len, struct got *g, struct sh_csv_info *info,
                     struct sh_error *err)
{
    memset(g, 0, sizeof *g);
    memset(err, 0, sizeof *err);
    return sh_csv_read_buffer(text, len, NULL, on_record, g, info, err);
}

static void utf8_bom_crlf(void **state)
{
    (void)state;
    static const char text[] = "\xEF\xBB\xBF身份证号,姓名\r\n1,甲\r\n2,\"乙,\"\"丙\"\"\"\r\n";
    struct got g;
    struct sh_csv_info info;
    struct sh_error err;
    assert_int_equal(read_text(text, sizeof text - 1, &g, &info, &err), 0);
    assert_int_equal(info.encoding, SH_CSV_UTF8);
    assert_true(info.bom);
    assert_int_equal(g.n, 3);
    assert_string_equal(g.first[0], "身份证号"); /* the BOM is not part of the first name */
    assert_int_equal(g.lines[2], 3);
    assert_string_equal(g.last[2], "乙,\"丙\"");
}

static void gb18030_detected_and_converted(void **state)
{
    (void)state;
    /* "姓名\n张三\n" in GB18030 (GBK range) */
    static const char text[] = "\xD0\xD5\xC3\xFB\n\xD5\xC5\xC8\xFD\n";
    struct got g;
    struct sh_csv_info info;
    struct sh_error err;
    assert_int_equal(read_text(text, sizeof text - 1, &g, &info, &err), 0);
    assert_int_equal(info.encoding, SH_CSV_GB18030);
    assert_int_equal(g.n, 2);
    assert_string_equal(g.first[0], "姓名");
    assert_string_equal(g.first[1], "张三");
}

/* GB18030 with its byte-order mark (U+FEFF as 84 31 95 33): the mark is
 * not part of the first name. Before the reader knew it, the first name
 * came out as "\xEF\xBB\xBF姓名" and a mapping's header was not found. */
static void gb18030_bom_skipped(void **state)
{
    (void)state;
    static const char text[] = "\x84\x31\x95\x33\xD0\xD5\xC3\xFB,a\r\n\xD5\xC5\xC8\xFD,1\r\n";
    struct got g;
    struct sh_csv_info info;
    struct sh_error err;
    assert_int_equal(read_text(text, sizeof text - 1, &g, &info, &err), 0);
    assert_int_equal(info.encoding, SH_CSV_GB18030);
    assert_true(info.bom);
    assert_int_equal(g.n, 2);
    assert_string_equal(g.first[0], "姓名");
    assert_string_equal(g.first[1], "张三");
    assert_int_equal(g.lines[1], 2);
}

static void cr_only_lines_counted(void **state)
{
    (void)state;
    static const char text[] = "a,b\r1,2\r\r3,4\r";
    struct got g;
    struct sh_csv_info info;
    struct sh_error err;
    assert_int_equal(read_text(text, sizeof text - 1, &g, &info, &err), 0);
    assert_int_equal(g.n, 3); /* the empty line is skipped */
    assert_int_equal(g.lines[1], 2);
    assert_int_equal(g.lines[2], 4);
}

static void last_line_without_newline_is_a_record(void **state)
{
    (void)state;
    static const char text[] = "a,b\n1,2";
    struct got g;
    struct sh_csv_info info;
    struct sh_error err;
    assert_int_equal(read_text(text, sizeof text - 1, &g, &info, &err), 0);
    assert_int_equal(g.n, 2);
    assert_int_equal(g.lines[1], 2);
    assert_string_equal(g.last[1], "2");
}

static void refusals_name_their_line(void **state)
{
    (void)state;
    struct got g;
    struct sh_csv_info info;
    struct sh_error err;
    /* a NUL byte: binary junk */
    static const char nul[] = "a,b\n1,2\n3,\0\n";
    assert_int_equal(read_text(nul, sizeof nul - 1, &g, &info, &err), SH_E_BAD_REQUEST);
    assert_non_null(strstr(err.msg, "line 3: a NUL byte"));
    /* UTF-8 first, then a GB18030 name on line 3: mixed encodings */
    static const char mixed[] = "姓名\n张三\n\xD5\xC5\xC8\xFD\n";
    assert_int_equal(read_text(mixed, sizeof mixed - 1, &g, &info, &err), SH_E_BAD_REQUEST);
    assert_non_null(strstr(err.msg, "line 3: not valid UTF-8"));
    /* the same past the first 64 KiB, when the sample was plain UTF-8 */
    size_t big = (80u << 10) + 16;
    char *text = malloc(big);
    assert_non_null(text);
    memset(text, 'x', big);
    for (size_t i = 0; i + 1 < 80u << 10; i += 64)
        text[i + 63] = '\n';
    memcpy(text + (80u << 10), "\xD5\xC5\xC8\xFD\n", 5);
    size_t used = (80u << 10) + 5;
    uint64_t n = 0; /* every record, not just the first RECORDS_MAX */
    assert_int_equal(sh_csv_read_buffer(text, used, NULL, count_lines, &n, &info, &err),
                     SH_E_BAD_REQUEST);
    assert_int_equal(n, 1280);
    assert_non_null(strstr(err.msg, "line 1281: not valid UTF-8"));
    free(text);
    /* an unterminated quote at the end: a truncated file */
    static const char trunc[] = "a,b\n1,\"2\n";
    assert_int_equal(read_text(trunc, sizeof trunc - 1, &g, &info, &err), SH_E_BAD_REQUEST);
    assert_non_null(strstr(err.msg, "unterminated quoted field"));
    /* a quote inside an unquoted field (strict mode) */
    static const char quote[] = "a,b\n1,x\"y\"\n";
    assert_int_equal(read_text(quote, sizeof quote - 1, &g, &info, &err), SH_E_BAD_REQUEST);
    assert_non_null(strstr(err.msg, "line 2: malformed CSV"));
    /* UTF-16 */
    static const char utf16[] = "\xFF\xFE"
                                "a\0,\0b\0";
    assert_int_equal(read_text(utf16, sizeof utf16 - 1, &g, &info, &err), SH_E_BAD_REQUEST);
    assert_non_null(strstr(err.msg, "line 1: UTF-16"));
}

static void an_endless_line_is_refused_early(void **state)
{
    (void)state;
    size_t len = 8u << 20; /* 8 MiB without a line end */
    char *text = malloc(len);
    assert_non_null(text);
    memset(text, 'x', len);
    memcpy(text, "a,b\n", 4);
    struct got g;
    struct sh_csv_info info;
    struct sh_error err;
    assert_int_equal(read_text(text, len, &g, &info, &err), SH_E_BAD_REQUEST);
    assert_non_null(strstr(err.msg, "line 2: a record longer than"));
    free(text);
    /* the same through a file, streamed */
    char path[] = "/tmp/sanhe-test-csv-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "wb");
    assert_non_null(f);
    fputs("a,b\n1,2\n", f);
    for (int i = 0; i < 1024; i++)
        fputs("yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy"
              "yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy",
              f);
    fclose(f);
    memset(&g, 0, sizeof g);
    struct sh_csv_options o = {.record_max = 1000};
    assert_int_equal(sh_csv_read_file(path, &o, on_record, &g, &info, &err), SH_E_BAD_REQUEST);
    assert_non_null(strstr(err.msg, "line 3: a record longer than 1000 bytes"));
    assert_int_equal(g.n, 2);
    remove(path);
}

/* A 2 GiB line, streamed through a FIFO by a child that writes it block by
 * block: the reader refuses it at its record limit (64 KiB by default)
 * and stops reading, so the writer's next write fails with EPIPE long
 * before 2 GiB. A reader that read on to the line's end would take the
 * whole 2 GiB (the child exits 1 then), and one that kept it whole would
 * need 2 GiB of memory. */
#define LONG_LINE_BYTES (2ull << 30)
#define LONG_LINE_READ_MAX (64ull << 20) /* generous: pipe buffers, read-ahead */

static int long_line_writer(const char *fifo)
{
    signal(SIGPIPE, SIG_IGN);
    int fd = open(fifo, O_WRONLY);
    if (fd < 0)
        return 2;
    static char block[1 << 16];
    memset(block, 'y', sizeof block);
    memcpy(block, "a,b\n1,", 6);
    unsigned long long sent = 0;
    while (sent < LONG_LINE_BYTES) {
        ssize_t n = write(fd, block, sizeof block);
        if (n < 0)
            break; /* EPIPE: the reader has stopped */
        sent += (unsigned long long)n;
        memset(block, 'y', 6);
    }
    close(fd);
    return sent < LONG_LINE_READ_MAX ? 0 : 1;
}

static void a_2gib_line_is_refused_without_reading_it(void **state)
{
    (void)state;
    char dir[] = "/tmp/sanhe-test-csv-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char fifo[64];
    snprintf(fifo, sizeof fifo, "%s/line", dir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(long_line_writer(fifo));
    struct got g;
    memset(&g, 0, sizeof g);
    struct sh_csv_info info;
    struct sh_error err = {0};
    assert_int_equal(sh_csv_read_file(fifo, NULL, on_record, &g, &info, &err), SH_E_BAD_REQUEST);
    assert_non_null(strstr(err.msg, "line 2: a record longer than"));
    assert_int_equal(g.n, 1);
    assert_true(info.bytes < LONG_LINE_READ_MAX);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    remove(fifo);
    rmdir(dir);
}

static void a_file_larger_than_the_sample_reads_whole(void **state)
{
    (void)state;
    char path[] = "/tmp/sanhe-test-csv-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "wb");
    assert_non_null(f);
    fputs("id,name\n", f);
    for (int i = 0; i < 20000; i++)
        fprintf(f, "%d,名字%d\n", i, i); /* UTF-8, ~300 KB: several reads */
    fclose(f);
    uint64_t n = 0;
    struct sh_csv_info info;
    struct sh_error err = {0};
    assert_int_equal(sh_csv_read_file(path, NULL, count_record, &n, &info, &err), 0);
    assert_int_equal(n, 20001);
    assert_int_equal(info.records, 20001);
    assert_int_equal(info.encoding, SH_CSV_UTF8);
    remove(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(utf8_bom_crlf),
        cmocka_unit_test(gb18030_detected_and_converted),
        cmocka_unit_test(gb18030_bom_skipped),
        cmocka_unit_test(cr_only_lines_counted),
        cmocka_unit_test(last_line_without_newline_is_a_record),
        cmocka_unit_test(refusals_name_their_line),
        cmocka_unit_test(an_endless_line_is_refused_early),
        cmocka_unit_test(a_file_larger_than_the_sample_reads_whole),
        cmocka_unit_test(a_2gib_line_is_refused_without_reading_it),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
