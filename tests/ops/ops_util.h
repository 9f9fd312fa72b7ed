/* Small helpers of the tests/ops programs (on top of tests/net's fixture). */
#ifndef OPS_UTIL_H
#define OPS_UTIL_H

#include <stdbool.h>

#include "net_fixture.h"

/* True when the file contains text. */
bool ops_file_contains(const char *path, const char *text);

/* Runs `timeout 60 sanhe-engine CMD -c DIR/engine.conf [ARG]` with stdout
 * and stderr into DIR/NAME.out; returns the exit status. */
int ops_engine(const struct engine_fixture *f, const char *cmd, const char *arg, const char *name);

/* Appends text to DIR/engine.conf. */
int ops_conf_append(const struct engine_fixture *f, const char *text);

/* SIGKILL, reaped; the fixture counts the engine as halted. */
void ops_engine_kill(struct engine_fixture *f);

/* Waits (at most timeout_ms) until the engine's log contains text. */
bool ops_log_wait(const struct engine_fixture *f, const char *text, int timeout_ms);

void ops_sleep_ms(int ms);

/* Replaces the first occurrence of from by to in DIR/engine.conf. */
int ops_conf_replace(const struct engine_fixture *f, const char *from, const char *to);

/* Runs ops/certs.sh ARGS... (in the fixture's certs directory); 0 on success. */
int ops_certs(const struct engine_fixture *f, const char *cmd, const char *name);

/* One call on an open connection; returns the response's error (0 for
 * none), or 1 when the connection failed. */
int ops_call(struct tc *tc, Sanhe__Request *request);

#endif
