/*
 * A blocking HTTPS client of sanhe-gateway for tests and the conformance
 * runner: one keep-alive connection with a hospital's certificate, POST a
 * body, read one response (parsed by http-parser). Deadlines on everything.
 */
#ifndef GW_CLIENT_H
#define GW_CLIENT_H

#include <stddef.h>

struct gwc;

int gwc_open(struct gwc **out, int port, const char *ca, const char *cert, const char *key,
             int timeout_ms);
void gwc_close(struct gwc *c);

/* POSTs body to path; *status is the HTTP status, *reply the body
 * (malloc'ed, NUL-terminated). Reconnects once when the connection was
 * closed between calls. 0 or a negative SH_E_* code. */
int gwc_post(struct gwc *c, const char *path, const char *body, int *status, char **reply,
             int timeout_ms);

const char *gwc_error(const struct gwc *c);

#endif
