#include "fake_engine.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sanhe.pb-c.h"

#define FRAME_MAX 65536

static int read_exact(SSL *ssl, uint8_t *buf, size_t len)
{
    for (size_t done = 0; done < len;) {
        size_t n = 0;
        if (SSL_read_ex(ssl, buf + done, len - done, &n) != 1)
            return -1;
        done += n;
    }
    return 0;
}

static int send_reply(SSL *ssl, const char *request_id, uint64_t settlement_id)
{
    Sanhe__Breakdown b = SANHE__BREAKDOWN__INIT;
    b.has_total = b.has_patient_pays = 1;
    b.total = b.patient_pays = 100;
    Sanhe__SettleReply s = SANHE__SETTLE_REPLY__INIT;
    s.has_settlement_id = 1;
    s.settlement_id = settlement_id;
    s.business_day = "2026-06-15";
    s.breakdown = &b;
    Sanhe__Response r = SANHE__RESPONSE__INIT;
    r.request_id = (char *)request_id;
    r.result_case = SANHE__RESPONSE__RESULT_SETTLE;
    r.settle = &s;
    size_t n = sanhe__response__get_packed_size(&r);
    uint8_t buf[FRAME_MAX];
    if (n + 4 > sizeof buf)
        return -1;
    buf[0] = (uint8_t)(n >> 24), buf[1] = (uint8_t)(n >> 16), buf[2] = (uint8_t)(n >> 8);
    buf[3] = (uint8_t)n;
    sanhe__response__pack(&r, buf + 4);
    size_t written = 0;
    return SSL_write_ex(ssl, buf, n + 4, &written) == 1 && written == n + 4 ? 0 : -1;
}

/* The stale replies of one request, then (maybe) its own. */
static int answer(struct fake_engine *f, SSL *ssl, const char *id)
{
    char prefix[64], longer[80];
    size_t len = strlen(id);
    snprintf(prefix, sizeof prefix, "%.*s", (int)(len > 1 ? len - 1 : 0), id);
    snprintf(longer, sizeof longer, "%sx", id);
    if (send_reply(ssl, prefix, FAKE_STALE_ID) != 0 ||
        send_reply(ssl, "unrelated-request", FAKE_STALE_ID) != 0 ||
        send_reply(ssl, longer, FAKE_STALE_ID) != 0 || send_reply(ssl, NULL, FAKE_STALE_ID) != 0)
        return -1;
    return f->mode == FAKE_STALE_THEN_RIGHT ? send_reply(ssl, id, FAKE_RIGHT_ID) : 0;
}

static void serve(struct fake_engine *f, int fd)
{
    SSL *ssl = SSL_new(f->ctx);
    if (ssl == NULL || SSL_set_fd(ssl, fd) != 1 || SSL_accept(ssl) != 1) {
        SSL_free(ssl);
        return;
    }
    uint8_t h[4], buf[FRAME_MAX];
    while (!atomic_load(&f->stop) && read_exact(ssl, h, 4) == 0) {
        uint32_t n = (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
        if (n > sizeof buf || read_exact(ssl, buf, n) != 0)
            break;
        Sanhe__Request *req = sanhe__request__unpack(NULL, n, buf);
        if (req == NULL)
            break;
        atomic_fetch_add(&f->requests, 1);
        int rc = answer(f, ssl, req->request_id != NULL ? req->request_id : "");
        sanhe__request__free_unpacked(req, NULL);
        if (rc != 0)
            break;
    }
    SSL_shutdown(ssl);
    SSL_free(ssl);
}

static void *run(void *arg)
{
    struct fake_engine *f = arg;
    while (!atomic_load(&f->stop)) {
        struct pollfd p = {.fd = f->listen_fd, .events = POLLIN};
        if (poll(&p, 1, 50) <= 0)
            continue;
        int fd = accept(f->listen_fd, NULL, NULL);
        if (fd < 0)
            continue;
        /* A read that never ends would hold the test: bound every read. */
        struct timeval tv = {.tv_sec = 5};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        serve(f, fd);
        close(fd);
    }
    return NULL;
}

int fake_engine_start(struct fake_engine *f, enum fake_mode mode, const char *ca, const char *cert,
                      const char *key)
{
    memset(f, 0, sizeof *f);
    f->mode = mode;
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == NULL || SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) != 1 ||
        SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1) {
        SSL_CTX_free(ctx);
        return -1;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    f->ctx = ctx;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof a;
    f->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (f->listen_fd < 0 || bind(f->listen_fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        listen(f->listen_fd, 8) != 0 ||
        getsockname(f->listen_fd, (struct sockaddr *)&a, &alen) != 0)
        return -1;
    f->port = ntohs(a.sin_port);
    return pthread_create(&f->thread, NULL, run, f) == 0 ? 0 : -1;
}

void fake_engine_stop(struct fake_engine *f)
{
    atomic_store(&f->stop, 1);
    pthread_join(f->thread, NULL);
    close(f->listen_fd);
    SSL_CTX_free(f->ctx);
}
