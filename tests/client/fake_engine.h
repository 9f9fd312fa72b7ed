/*
 * A fake engine on 127.0.0.1 (port 0) for the client's stale-reply tests:
 * TLS 1.3 with the sandbox's engine certificate, verifying the terminal's
 * against the sandbox CA, and answering each request with replies that are
 * NOT its own (a request id that is a prefix of it, one it is a prefix of,
 * an unrelated one), and then, in FAKE_STALE_THEN_RIGHT mode, its own.
 */
#ifndef FAKE_ENGINE_H
#define FAKE_ENGINE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

/* The settlement id of the right reply, and of every stale one. */
#define FAKE_RIGHT_ID 42
#define FAKE_STALE_ID 666

enum fake_mode { FAKE_STALE_THEN_RIGHT, FAKE_STALE_ONLY };

struct fake_engine {
    int listen_fd, port;
    enum fake_mode mode;
    void *ctx; /* SSL_CTX */
    pthread_t thread;
    atomic_int stop;
    atomic_int requests; /* requests read */
};

/* cert, key: the engine's; ca: the terminals' CA. 0 or -1. */
int fake_engine_start(struct fake_engine *f, enum fake_mode mode, const char *ca, const char *cert,
                      const char *key);
void fake_engine_stop(struct fake_engine *f);

#endif
