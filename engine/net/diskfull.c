/*
 * A full data file system (docs/operations.md): LMDB's commit meets ENOSPC,
 * the batch's writes are refused with STORAGE_FULL and nothing of them is
 * recorded (the transaction is aborted; what was committed before stays).
 * Reads go on. The next batch tries again, so writing resumes by itself
 * once space returns. This file only makes both moments plain in the log.
 */
#include "net_internal.h"
#include "net_log.h"

void diskfull_note_batch(struct net_server *server, int rc)
{
    struct ledger_info info;
    if (rc == SH_E_STORAGE_FULL && ledger_info(server->ledger, &info) == 0 &&
        info.enospc_count > server->enospc_seen) {
        server->enospc_seen = info.enospc_count;
        if (!server->disk_full)
            net_log(NET_LOG_ERROR,
                    "the data file system is full (ENOSPC): writes are refused with "
                    "STORAGE_FULL and nothing of them is recorded; reads go on; writing "
                    "resumes by itself once space is freed");
        server->disk_full = true;
        server->stats.enospc_batches++;
        return;
    }
    if (rc == 0 && server->disk_full) {
        server->disk_full = false;
        net_log(NET_LOG_WARN, "the data file system has room again: writes resumed");
    }
}
