/*
 * A throwaway sanhe-engine: a temporary directory with its own CA, engine
 * certificate and terminal certificates (ops/certs.sh), a config listening
 * on 127.0.0.1 port 0 with those terminals, and the engine running on it.
 * For the conformance runner's server mode and the demo.
 */
#ifndef SANDBOX_H
#define SANDBOX_H

#include <stdbool.h>

#include "engine_proc.h"
#include "sh_error.h"
#include "tls_client.h"

#define SANDBOX_TERMINALS_MAX 256
#define SANDBOX_TIMEOUT_MS 10000

struct sandbox_terminal {
    char name[64];
    char hospital[64]; /* "" for none */
    char role[16];
};

struct sandbox {
    char dir[256];
    const char *engine_path;  /* the sanhe-engine binary */
    const char *certs_script; /* ops/certs.sh */
    struct engine_proc engine;
    size_t terminal_count;
    struct sandbox_terminal terminals[SANDBOX_TERMINALS_MAX];
};

/* A fresh directory (under TMPDIR, prefix names it) with a CA and an engine
 * certificate. */
int sandbox_create(struct sandbox *sb, const char *prefix, const char *engine_path,
                   const char *certs_script, struct sh_error *err);

/* A terminal certificate, and the terminal in the config the engine will
 * start with. hospital may be NULL (bureau, admin). */
int sandbox_add_terminal(struct sandbox *sb, const char *name, const char *hospital,
                         const char *role, struct sh_error *err);

/* Writes the config (durable; extra is more INI text, may be NULL) and
 * starts the engine. */
int sandbox_start(struct sandbox *sb, const char *extra, struct sh_error *err);

/* dir/rel into buf (4096 bytes). */
const char *sandbox_path(const struct sandbox *sb, const char *rel, char *buf);

/* Connects over TLS as a terminal added before. */
int sandbox_connect(const struct sandbox *sb, const char *name, struct tc **out,
                    struct sh_error *err);

/* Stops the engine (SIGTERM; 0 when it exited cleanly), then removes the
 * directory unless keep. */
int sandbox_destroy(struct sandbox *sb, bool keep);

#endif
