/*
 * The terminal table: a certificate's subject CN names a terminal, and the
 * terminal gives the caller's hospital and role. The ledger's table (loaded
 * by an admin) comes first; the configuration file's [terminals] section is
 * the fallback, which is how the first admin terminal gets in.
 */
#include <stdio.h>
#include <string.h>

#include "net_internal.h"

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
        return true;
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
    if (found) {
        conn->caller = caller;
        conn->has_caller = true;
    }
    return found;
}
