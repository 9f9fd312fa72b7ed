/*
 * The write quotas' refusals in the log (docs/limits.md#write-quotas). The
 * ledger refuses on the writer thread (or a reader's, for a presettle's
 * claim size) and calls this: one line for a hospital's first refusal of
 * each kind, then one per 1,000, so that a storm of refused writes costs
 * the log no more than it costs the store.
 */
#include "net_internal.h"
#include "net_log.h"

#define QUOTA_LOG_EVERY 1000

void quota_log_refusal(void *ctx, const struct ledger_quota_event *e)
{
    (void)ctx;
    if (e->refused % QUOTA_LOG_EVERY != 1 && e->refused != 0)
        return;
    const char *code = e->kind == LEDGER_QUOTA_CLAIM_LINES ? "CLAIM_TOO_LARGE" : "QUOTA_EXCEEDED";
    net_log(NET_LOG_WARN,
            "%s: hospital %s (terminal %s) past its %s quota: %llu of %llu; "
            "%llu refused since start",
            code, e->caller->hospital, e->caller->terminal, ledger_quota_name(e->kind),
            (unsigned long long)e->used, (unsigned long long)e->limit,
            (unsigned long long)e->refused);
}
