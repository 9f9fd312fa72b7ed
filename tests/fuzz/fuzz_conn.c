/*
 * fuzz_conn: the connection layer on top of the frame decoder. A real
 * server (net_server_create on a libuv loop, TLS 1.3, a real ledger from
 * fuzz_ledger.c) listens on 127.0.0.1; each input is one connection of
 * counter-h1, handshaken by an OpenSSL client over memory BIOs, and then a
 * list of chunks, each [op u8][length u16 BE][bytes]:
 *   op 0: the bytes as plaintext through the client's TLS (SSL_write): any
 *         frames, whole or cut anywhere, in as many records as chunks;
 *   op 1: the bytes raw on the socket, past TLS (a broken record layer);
 *   op 2: run the server and read its replies;
 *   op 3: run the server without reading (its replies pile up: the output
 *         budgets and the pause of input, conn_limits.c), the client's
 *         receive buffer being small;
 *   op 4: the client shuts its side (no more chunks are sent);
 * (op mod 5). The server must answer only well-formed frames, each a
 * Response that decodes; it must never crash nor leak; and once the client
 * has gone, the connection must be freed, every buffer it held given back
 * to the engine's totals (in_total_bytes, out_total_bytes) and nothing left
 * in flight. The limits are small so that every bound is met: a 64 KiB
 * frame, 4 KiB of unsent replies, 16 writes in flight.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ftw.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "frame.h"
#include "fuzz.h"
#include "net.h"
#include "net_internal.h"
#include "net_log.h"

#define CONN_CHUNKS_MAX 64
#define CONN_PUMP_ROUNDS 64
#define CONN_CLOSE_ROUNDS 20000 /* each up to 0.1 ms of sleep: 2 s at most */
#define CONN_PLAIN_MAX (1u << 20)

static struct {
    char dir[256];
    uv_loop_t loop;
    struct net_server *server;
    SSL_CTX *client_ctx;
    int port;
    unsigned inputs;
    unsigned replies;
} fc;

/* The client side of one input. */
struct client {
    int fd;
    SSL *ssl;
    BIO *rbio, *wbio; /* network side: what arrived, what is to be sent */
    uint8_t *plain;   /* decrypted replies not yet parsed */
    size_t plain_len;
    bool broken; /* raw bytes were sent, or TLS failed: no more TLS */
    bool shut;
};

static void run_cmd(const char *const argv[])
{
    pid_t pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0) {
            dup2(null, 1);
            dup2(null, 2);
        }
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 0)
        fuzz_fail("fuzz_conn: %s %s failed", argv[0], argv[1]);
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* The certificates' directory goes with the process. */
static void certs_remove(void) { nftw(fc.dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS); }

static void make_certs(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(fc.dir, sizeof fc.dir, "%s/sanhe-fuzz-conn-XXXXXX", tmp != NULL ? tmp : "/tmp");
    if (mkdtemp(fc.dir) == NULL)
        fuzz_fail("fuzz_conn: mkdtemp");
    atexit(certs_remove);
    const char *const ca[] = {SANHE_CERTS_SCRIPT, "ca", fc.dir, NULL};
    const char *const engine[] = {SANHE_CERTS_SCRIPT, "engine", fc.dir, NULL};
    const char *const term[] = {SANHE_CERTS_SCRIPT, "terminal", fc.dir, "counter-h1",
                                "H330424001",       "counter",  NULL};
    run_cmd(ca);
    run_cmd(engine);
    run_cmd(term);
}

static void path_of(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/%s", fc.dir, name);
}

static void server_start(void)
{
    char ca[320], cert[320], key[320];
    path_of(ca, sizeof ca, "ca.crt");
    path_of(cert, sizeof cert, "engine.crt");
    path_of(key, sizeof key, "engine.key");
    static const struct net_terminal terminals[] = {
        {.name = "counter-h1", .hospital = "H330424001", .role = SH_ROLE_COUNTER},
    };
    struct net_config nc = {
        .listen_host = "127.0.0.1",
        .listen_port = 0,
        .tls_ca = ca,
        .tls_cert = cert,
        .tls_key = key,
        .limits =
            {
                .frame_max_bytes = 64 * 1024,
                .connections_max = 8,
                .inflight_max = 16,
                .batch_max = 64,
                .output_max_bytes = 4096,
                .handshake_timeout_ms = 10000,
                .idle_timeout_ms = 60000,
                .frame_timeout_ms = 60000,
                .reads_queued_per_terminal_max = 8,
                .reads_queued_total_max = 16,
                .reads_queued_per_terminal_max_bytes = 64 * 1024,
                .lookups_per_minute = 0,
            },
        .terminals = terminals,
        .terminal_count = 1,
        .worker_threads = 4,
    };
    if (uv_loop_init(&fc.loop) != 0)
        fuzz_fail("fuzz_conn: uv_loop_init");
    struct sh_error err = {0};
    if (net_server_create(&fc.loop, &nc, fuzz_ledger(), &fc.server, &err) != 0)
        fuzz_fail("fuzz_conn: net_server_create: %s", err.msg);
    fc.port = net_server_port(fc.server);
}

static void client_ctx_make(void)
{
    char ca[320], cert[320], key[320];
    path_of(ca, sizeof ca, "ca.crt");
    path_of(cert, sizeof cert, "counter-h1.crt");
    path_of(key, sizeof key, "counter-h1.key");
    fc.client_ctx = SSL_CTX_new(TLS_client_method());
    if (fc.client_ctx == NULL ||
        SSL_CTX_set_min_proto_version(fc.client_ctx, TLS1_3_VERSION) != 1 ||
        SSL_CTX_load_verify_locations(fc.client_ctx, ca, NULL) != 1 ||
        SSL_CTX_use_certificate_chain_file(fc.client_ctx, cert) != 1 ||
        SSL_CTX_use_PrivateKey_file(fc.client_ctx, key, SSL_FILETYPE_PEM) != 1)
        fuzz_fail("fuzz_conn: the client's TLS context");
    SSL_CTX_set_verify(fc.client_ctx, SSL_VERIFY_PEER, NULL);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    signal(SIGPIPE, SIG_IGN);
    if (getenv("SANHE_FUZZ_VERBOSE") == NULL)
        net_log_set_level(NET_LOG_ERROR); /* a line per connection otherwise */
    make_certs();
    server_start();
    client_ctx_make();
    return 0;
}

/* ---- The client ----------------------------------------------------------------------- */

/* What the client's TLS wrote goes on the socket (blocking for the rest of
 * it only while the server runs: the socket buffer is large enough for
 * what one chunk makes). */
static void client_flush(struct client *c)
{
    char buf[16384];
    int n;
    while ((n = BIO_read(c->wbio, buf, sizeof buf)) > 0) {
        ssize_t off = 0;
        for (int spins = 0; off < n && spins < 100000; spins++) {
            ssize_t w = send(c->fd, buf + off, (size_t)(n - off), MSG_NOSIGNAL);
            if (w > 0)
                off += w;
            else if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
                return; /* the server closed: what is left is lost */
            else
                uv_run(&fc.loop, UV_RUN_NOWAIT);
        }
    }
}

/* Every complete reply in plain: a length prefix the engine's limit
 * allows, then a Response that decodes. */
static void client_parse(struct client *c)
{
    size_t pos = 0;
    while (c->plain_len - pos >= 4) {
        uint32_t len = frame_length_get(c->plain + pos);
        if (len > CONN_PLAIN_MAX)
            fuzz_fail("fuzz_conn: a reply frame of %u bytes", len);
        if (c->plain_len - pos - 4 < len)
            break;
        Sanhe__Response *r = sanhe__response__unpack(NULL, len, c->plain + pos + 4);
        if (r == NULL)
            fuzz_fail("fuzz_conn: a reply of %u bytes does not decode", len);
        if ((r->error != NULL) == (r->result_case != SANHE__RESPONSE__RESULT__NOT_SET) &&
            r->result_case != SANHE__RESPONSE__RESULT__NOT_SET)
            fuzz_fail("fuzz_conn: a reply with both an error and a result");
        sanhe__response__free_unpacked(r, NULL);
        fc.replies++;
        pos += 4 + len;
    }
    memmove(c->plain, c->plain + pos, c->plain_len - pos);
    c->plain_len -= pos;
}

/* What arrived goes to the client's TLS, and its plaintext to plain. */
static void client_read(struct client *c)
{
    uint8_t buf[16384];
    ssize_t n;
    while ((n = recv(c->fd, buf, sizeof buf, MSG_DONTWAIT)) > 0)
        BIO_write(c->rbio, buf, (int)n);
    if (c->broken)
        return; /* the stream is not TLS any more: only drained */
    for (;;) {
        if (c->plain_len == CONN_PLAIN_MAX)
            fuzz_fail("fuzz_conn: a reply frame that never ends");
        int got = SSL_read(c->ssl, c->plain + c->plain_len, (int)(CONN_PLAIN_MAX - c->plain_len));
        if (got <= 0) {
            int e = SSL_get_error(c->ssl, got);
            if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
                c->broken = true; /* closed, or an alert for our bad bytes */
            ERR_clear_error();
            break;
        }
        c->plain_len += (size_t)got;
        client_parse(c);
    }
    client_flush(c); /* key updates, alerts */
}

static void pump(struct client *c, bool read_replies)
{
    for (int i = 0; i < CONN_PUMP_ROUNDS; i++) {
        uv_run(&fc.loop, UV_RUN_NOWAIT);
        if (read_replies)
            client_read(c);
        bool idle = handoff_idle(fc.server) && read_pool_idle(fc.server);
        if (idle && i >= 2)
            break;
        if (!idle) {
            struct timespec ts = {0, 100000};
            nanosleep(&ts, NULL);
        }
    }
}

static bool client_connect(struct client *c)
{
    memset(c, 0, sizeof *c);
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (c->fd < 0)
        fuzz_fail("fuzz_conn: socket");
    int small = 4096; /* so that unread replies fill it soon (backpressure) */
    setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)fc.port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(c->fd, (struct sockaddr *)&sa, sizeof sa) != 0)
        fuzz_fail("fuzz_conn: connect: %s", strerror(errno));
    fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
    c->plain = malloc(CONN_PLAIN_MAX);
    c->ssl = SSL_new(fc.client_ctx);
    c->rbio = BIO_new(BIO_s_mem());
    c->wbio = BIO_new(BIO_s_mem());
    if (c->plain == NULL || c->ssl == NULL || c->rbio == NULL || c->wbio == NULL)
        fuzz_fail("fuzz_conn: out of memory");
    SSL_set_bio(c->ssl, c->rbio, c->wbio);
    SSL_set_connect_state(c->ssl);
    for (int i = 0; i < 2000; i++) {
        int rc = SSL_do_handshake(c->ssl);
        client_flush(c);
        if (rc == 1)
            return true;
        int e = SSL_get_error(c->ssl, rc);
        if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
            fuzz_fail("fuzz_conn: the handshake failed");
        uv_run(&fc.loop, UV_RUN_NOWAIT);
        uint8_t buf[16384];
        ssize_t n;
        while ((n = recv(c->fd, buf, sizeof buf, MSG_DONTWAIT)) > 0)
            BIO_write(c->rbio, buf, (int)n);
    }
    fuzz_fail("fuzz_conn: the handshake did not end");
}

static void client_close(struct client *c)
{
    close(c->fd);
    SSL_free(c->ssl); /* frees both BIOs */
    free(c->plain);
}

/* The client has gone: the server must let go of the connection. */
static void expect_closed(void)
{
    /* Its writes and reads may still be answered (to nobody), and the audit
     * records of its lookups go with the next group commit. */
    for (int i = 0;
         i < CONN_CLOSE_ROUNDS &&
         (fc.server->conns != NULL || !handoff_idle(fc.server) || !read_pool_idle(fc.server));
         i++) {
        uv_run(&fc.loop, UV_RUN_NOWAIT);
        struct timespec ts = {0, 100000};
        nanosleep(&ts, NULL);
    }
    if (fc.server->conns != NULL)
        fuzz_fail("fuzz_conn: a connection is still open 2 s after its client left");
    if (fc.server->in_total_bytes != 0 || fc.server->out_total_bytes != 0)
        fuzz_fail("fuzz_conn: the engine's totals hold %llu input, %llu output bytes of no "
                  "connection",
                  (unsigned long long)fc.server->in_total_bytes,
                  (unsigned long long)fc.server->out_total_bytes);
    if (!handoff_idle(fc.server) || !read_pool_idle(fc.server))
        fuzz_fail("fuzz_conn: work in flight 2 s after the last connection left");
}

static void chunk_run(struct client *c, unsigned op, const uint8_t *data, size_t len)
{
    switch (op % 5) {
    case 0:
        if (!c->broken && !c->shut && len > 0) {
            if (SSL_write(c->ssl, data, (int)len) <= 0) {
                c->broken = true;
                ERR_clear_error();
            }
            client_flush(c);
        }
        break;
    case 1:
        if (!c->shut && len > 0) {
            c->broken = true;
            if (send(c->fd, data, len, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
                break; /* closed, or full: the bytes are dropped */
        }
        break;
    case 2:
        pump(c, true);
        break;
    case 3:
        pump(c, false);
        break;
    default:
        if (!c->shut)
            shutdown(c->fd, SHUT_WR);
        c->shut = true;
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct client c;
    client_connect(&c);
    size_t pos = 0;
    for (int n = 0; n < CONN_CHUNKS_MAX && size - pos >= 3; n++) {
        unsigned op = data[pos];
        size_t len = (size_t)data[pos + 1] << 8 | data[pos + 2];
        pos += 3;
        if (len > size - pos)
            len = size - pos;
        chunk_run(&c, op, data + pos, len);
        pos += len;
    }
    pump(&c, true);
    client_close(&c);
    expect_closed();
    fc.inputs++;
    return 0;
}
