/*
 * SIGHUP without a stop (docs/operations.md): a new TLS context replaces
 * the old for new handshakes (an open connection's SSL holds its own
 * reference to the context it began on, so it is not disturbed); the
 * terminal table and the limits are swapped in place; then every open
 * connection whose terminal is now disabled, or whose certificate the new
 * CRL lists, is closed the graceful way (its writes in flight are
 * committed and answered first).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net_internal.h"
#include "net_log.h"

static bool reload_is_disabled(void *ctx, const char *cn)
{
    const struct net_server *server = ctx;
    for (size_t i = 0; i < server->terminal_count; i++) {
        if (server->terminals[i].disabled && strcmp(server->terminals[i].name, cn) == 0)
            return true;
    }
    return false;
}

int reload_tls_setup(struct net_server *server, SSL_CTX *ctx, const char *crl_file,
                     size_t *revoked_count, struct sh_error *err)
{
    server->revocation.disabled = reload_is_disabled;
    server->revocation.ctx = server;
    return tls_crl_install(ctx, crl_file, &server->revocation, revoked_count, err);
}

static SSL_CTX *reload_tls_ctx(struct net_server *server, const struct net_config *config,
                               size_t *revoked, struct sh_error *err)
{
    SSL_CTX *ctx = tls_ctx_create(config->tls_ca, config->tls_cert, config->tls_key, err);
    if (ctx != NULL && reload_tls_setup(server, ctx, config->tls_crl, revoked, err) != 0) {
        tls_ctx_free(ctx);
        ctx = NULL;
    }
    return ctx;
}

#define LIMIT(field)                                                                               \
    {                                                                                              \
#field, offsetof(struct net_limits, field)                                                 \
    }

static const struct {
    const char *name;
    size_t offset;
} reload_limits[] = {
    LIMIT(frame_max_bytes),
    LIMIT(connections_max),
    LIMIT(inflight_max),
    LIMIT(batch_max),
    LIMIT(output_max_bytes),
    LIMIT(handshake_timeout_ms),
    LIMIT(idle_timeout_ms),
    LIMIT(reads_queued_per_terminal_max),
    LIMIT(reads_queued_total_max),
    LIMIT(lookups_per_minute),
    LIMIT(reads_queued_per_terminal_max_bytes),
    LIMIT(lookups_burst),
    LIMIT(lookup_answer_after_audit),
};

static uint32_t limit_at(const struct net_limits *l, size_t offset)
{
    uint32_t v;
    memcpy(&v, (const char *)l + offset, sizeof v);
    return v;
}

static void reload_swap_limits(struct net_server *server, const struct net_limits *fresh)
{
    struct net_limits next = *fresh;
    if (next.inflight_max == 0)
        next.inflight_max = 1;
    for (size_t i = 0; i < sizeof reload_limits / sizeof reload_limits[0]; i++) {
        uint32_t was = limit_at(&server->limits, reload_limits[i].offset);
        uint32_t now = limit_at(&next, reload_limits[i].offset);
        if (was == now)
            continue;
        if (strcmp(reload_limits[i].name, "batch_max") == 0) {
            net_log(NET_LOG_WARN, "reload: [limits] batch_max %u -> %u takes effect at restart",
                    was, now);
            next.batch_max = was;
            continue;
        }
        net_log_always("reload: [limits] %s %u -> %u", reload_limits[i].name, was, now);
    }
    server->limits = next;
}

static const struct net_terminal *terminal_named(const struct net_terminal *t, size_t n,
                                                 const char *name)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(t[i].name, name) == 0)
            return &t[i];
    }
    return NULL;
}

static void reload_log_terminals(const struct net_server *server, const struct net_config *config)
{
    for (size_t i = 0; i < config->terminal_count; i++) {
        const struct net_terminal *t = &config->terminals[i];
        const struct net_terminal *was =
            terminal_named(server->terminals, server->terminal_count, t->name);
        if (was == NULL)
            net_log_always("reload: terminal %s added (hospital %s, role %s%s)", t->name,
                           t->hospital[0] ? t->hospital : "-", sh_role_name(t->role),
                           t->disabled ? ", disabled" : "");
        else if (was->disabled != t->disabled)
            net_log_always("reload: terminal %s %s", t->name,
                           t->disabled ? "disabled" : "enabled again");
        else if (was->role != t->role || strcmp(was->hospital, t->hospital) != 0)
            net_log_always("reload: terminal %s now hospital %s, role %s", t->name,
                           t->hospital[0] ? t->hospital : "-", sh_role_name(t->role));
    }
    for (size_t i = 0; i < server->terminal_count; i++) {
        if (terminal_named(config->terminals, config->terminal_count, server->terminals[i].name) ==
            NULL)
            net_log_always("reload: terminal %s removed from the configuration",
                           server->terminals[i].name);
    }
}

static int reload_swap_terminals(struct net_server *server, const struct net_config *config)
{
    struct net_terminal *fresh = NULL;
    if (config->terminal_count > 0) {
        fresh = calloc(config->terminal_count, sizeof *fresh);
        if (fresh == NULL)
            return SH_E_INTERNAL;
        memcpy(fresh, config->terminals, config->terminal_count * sizeof *fresh);
    }
    reload_log_terminals(server, config);
    free(server->terminals);
    server->terminals = fresh;
    server->terminal_count = config->terminal_count;
    return 0;
}

/* Open connections of terminals now disabled or revoked: closed. */
static size_t reload_close_revoked(struct net_server *server)
{
    size_t closed = 0;
    for (struct conn *c = server->conns; c != NULL; c = c->next) {
        if (c->state != CONN_OPEN || c->tls.ssl == NULL)
            continue;
        X509 *cert = SSL_get0_peer_certificate(c->tls.ssl);
        const char *why = NULL;
        if (c->cn[0] != '\0' && reload_is_disabled(server, c->cn))
            why = "terminal disabled in the terminal table (reload)";
        else if (tls_crl_lists(server->tls_ctx, cert))
            why = "terminal's certificate revoked by the CRL (reload)";
        if (why == NULL)
            continue;
        net_log(NET_LOG_WARN, "conn %llu %s: terminal %s: %s", (unsigned long long)c->id, c->peer,
                c->cn[0] ? c->cn : "-", why);
        conn_finish(c, why);
        closed++;
    }
    return closed;
}

int net_server_reload(struct net_server *server, const struct net_config *config,
                      struct sh_error *err)
{
    size_t revoked = 0;
    SSL_CTX *ctx = reload_tls_ctx(server, config, &revoked, err);
    if (ctx == NULL)
        return err != NULL && err->code != 0 ? err->code : SH_E_INTERNAL;
    if (reload_swap_terminals(server, config) != 0) {
        tls_ctx_free(ctx);
        return sh_error_set(err, SH_E_INTERNAL, "out of memory");
    }
    tls_ctx_free(server->tls_ctx); /* open connections keep their own reference */
    server->tls_ctx = ctx;
    net_log_always("reload: TLS context reloaded (CA %s, certificate %s, CRL %s: %zu revoked)",
                   config->tls_ca, config->tls_cert,
                   config->tls_crl != NULL && config->tls_crl[0] ? config->tls_crl : "none",
                   revoked);
    reload_swap_limits(server, &config->limits);
    size_t closed = reload_close_revoked(server);
    net_log_always("reload: %zu connection%s of disabled or revoked terminals closed", closed,
                   closed == 1 ? "" : "s");
    return 0;
}
