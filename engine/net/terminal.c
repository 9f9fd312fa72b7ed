/*
 * The terminal table: a certificate's subject CN names a terminal, and the
 * terminal gives the caller's hospital and role. The ledger's table (loaded
 * by an admin) comes first; the configuration file's [terminals] section is
 * the fallback, which is how the first admin terminal gets in.
 */
#include <stdio.h>
#include <string.h>

#include "net_internal.h"
#include "net_log.h"

static bool terminal_from_config(const struct net_server *server, const char *name,
                                 struct sh_caller *out)
{
    for (size_t i = 0; i < server->terminal_count; i++) {
        const struct net_terminal *t = &server->terminals[i];
        if (strcmp(t->name, name) != 0)
            continue;
        memset(out, 0, sizeof *out);
        snprintf(out->terminal, sizeof out->terminal, "%s", t->name);
        snprintf(out->hospital, sizeof out->hospital, "%s", t->hospital);
        out->role = t->role;
        out->has_lookup_rate = t->has_lookup_rate;
        out->lookups_per_minute = t->lookups_per_minute;
        return true;
    }
    return false;
}

/* A CN alone names no terminal: the whole subject must be the table's
 * (tls_peer.c). Logged once per connection. */
static bool terminal_subject_matches(struct conn *conn, const struct sh_caller *caller)
{
    if (tls_peer_subject_matches(&conn->tls, caller->hospital, sh_role_name(caller->role),
                                 caller->terminal))
        return true;
    if (!conn->subject_refused) {
        char subject[256];
        tls_peer_subject(&conn->tls, subject, sizeof subject);
        net_log(NET_LOG_WARN,
                "conn %llu %s: certificate %s is not terminal %s's (O=%s, OU=%s, CN=%s): every "
                "request will be FORBIDDEN",
                (unsigned long long)conn->id, conn->peer, subject, caller->terminal,
                caller->hospital[0] ? caller->hospital : "(none)", sh_role_name(caller->role),
                caller->terminal);
        conn->subject_refused = true;
    }
    return false;
}

bool terminal_resolve(struct net_server *server, struct conn *conn)
{
    if (conn->cn[0] == '\0')
        return false;
    struct sh_caller caller;
    memset(&caller, 0, sizeof caller);
    bool found = ledger_terminal_find(server->ledger, conn->cn, &caller) == 0;
    if (!found)
        found = terminal_from_config(server, conn->cn, &caller);
    if (found && !terminal_subject_matches(conn, &caller))
        return false;
    if (found) {
        conn->caller = caller;
        conn->has_caller = true;
    }
    return found;
}
