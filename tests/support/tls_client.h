/*
 * A small blocking TLS client for tests: connects to sanhe-engine with a
 * terminal certificate, sends sanhe.Request frames (or any bytes), reads
 * sanhe.Response frames. Every call has a deadline; none blocks forever.
 * The TLS and the frames are libsanhe-client's own connection layer
 * (hospital-client/lib/conn.h); this only speaks the tests' codes.
 *
 * Return codes: 0, or a negative SH_E_* code:
 *   SH_E_TIMEOUT      nothing (or not all of it) arrived in time
 *   SH_E_UNAVAILABLE  the connection is closed or broken (TCP or TLS; a
 *                     refused client certificate usually shows up here, on
 *                     the first read: in TLS 1.3 the server checks the
 *                     client's certificate after the client thinks the
 *                     handshake is done)
 *   SH_E_BAD_FRAME    a frame arrived that is not a sanhe.Response
 *   SH_E_INTERNAL     out of memory, bad arguments, local TLS setup failed
 * tc_last_error says more, for a test's failure message.
 *
 * The process ignores SIGPIPE from the first tc_connect on, so that writing
 * to a connection the server has closed is an error, not a crash.
 */
#ifndef TLS_CLIENT_H
#define TLS_CLIENT_H

#include <stddef.h>

#include "sanhe.pb-c.h"
#include "sh_error.h"

struct tc;

/* Connects and handshakes (TLS 1.3, server verified against ca, whose
 * certificate must name host). cert and key may be NULL: no client
 * certificate. On failure *out is NULL. */
int tc_connect(struct tc **out, const char *host, int port, const char *ca, const char *cert,
               const char *key, int timeout_ms);

/* One frame: 4-byte big-endian length, then the packed request. */
int tc_send(struct tc *tc, const Sanhe__Request *request);

/* Bytes as they are, inside TLS (for malformed frames). */
int tc_send_raw(struct tc *tc, const void *data, size_t len);

/* The next Response frame (free with sanhe__response__free_unpacked). */
int tc_recv(struct tc *tc, Sanhe__Response **out, int timeout_ms);

/* tc_send then tc_recv (for a client that does not pipeline). */
int tc_call(struct tc *tc, const Sanhe__Request *request, Sanhe__Response **out, int timeout_ms);

/* Whatever plaintext arrives next (at most cap bytes, at least 1): for
 * protocols other than sanhe's frames (the gateway's HTTPS). */
int tc_recv_some(struct tc *tc, void *buf, size_t cap, size_t *got, int timeout_ms);

/* Waits for the server to end the connection: 0 when it did (close_notify
 * or EOF, any bytes before it discarded), SH_E_TIMEOUT otherwise. */
int tc_wait_closed(struct tc *tc, int timeout_ms);

/* Why the last call failed. */
const char *tc_last_error(const struct tc *tc);

/* Sends close_notify (when possible), closes the socket, frees. NULL is fine. */
void tc_close(struct tc *tc);

#endif
