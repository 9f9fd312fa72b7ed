# The mutants of tests/mutation/run.sh, one call each:
#   mutant ID FILE SED-EDIT "BUILD TARGETS" CTEST-REGEX
# FILE is relative to the top of the tree; SED-EDIT is one sed expression
# applied with sed -i -e (basic regular expressions: escape [ ] * and write
# a literal & in a replacement as \&); the targets are rebuilt, then the
# tests matching the ctest regex run. Each mutant is a plausible bug, not a
# syntax game: a dropped input, a bound off by one, a sign, a skipped step.

RULES_T="test_rules test_rules_property sanhe-conformance"
RULES_R='^(unit/test_rules|unit/test_rules_property|conformance/in-process)$'
LEDGER_T="test_ledger test_ledger_batch test_ledger_check test_ledger_retry test_ledger_rollback test_journal sanhe-conformance"
LEDGER_R='^(unit/test_ledger|unit/test_ledger_batch|unit/test_ledger_check|unit/test_ledger_retry|unit/test_ledger_rollback|unit/test_journal|conformance/in-process)$'
CLIENT_T="test_client_lib test_client_async test_client_stale test_counter test_flaky sanhe-counter"
CLIENT_R='^client/'

# ---- The survivors of the last count (issue 23) ----------------------------------------------

# The journal's hash leaves the previous entry's hash out: a chain that links nothing.
mutant journal-hash-no-prev engine/ledger/journal.c \
    's/EVP_DigestUpdate(ctx, prev, LEDGER_HASH_LEN) == 1 \&\&/1 \&\&/' \
    "$LEDGER_T" "$LEDGER_R"
# The payload hash leaves the visit type out: a retry changing only it is replayed.
mutant payload-hash-no-visit engine/ledger/requests.c \
    '/hash_u32(&h, (uint32_t)(claim->visit != NULL/d' \
    "$LEDGER_T" "$LEDGER_R"
# A request failing after its writes: the rebuilt batch replays none of the earlier ones...
mutant rollback-replays-nothing engine/ledger/ledger_batch.c \
    's/for (size_t i = 0; i < b->log_len \&\& rc == 0; i++) {/for (size_t i = 0; i < b->log_len \&\& rc != 0; i++) {/' \
    "$LEDGER_T" "$LEDGER_R"
# ... or all but the first ...
mutant rollback-skips-the-first engine/ledger/ledger_batch.c \
    's/for (size_t i = 0; i < b->log_len \&\& rc == 0; i++) {/for (size_t i = 1; i < b->log_len \&\& rc == 0; i++) {/' \
    "$LEDGER_T" "$LEDGER_R"
# ... or the batch is not rebuilt at all, keeping the failed request's writes.
mutant rollback-never-rebuilds engine/ledger/ledger_batch.c \
    's/if (f->spoiled \&\& batch_rebuild(b, false) != 0)/if (0 \&\& batch_rebuild(b, false) != 0)/' \
    "$LEDGER_T" "$LEDGER_R"
# A request that wrote and then refused, its transaction still healthy, is not seen as spoiled.
mutant rollback-ignores-writes engine/ledger/ledger_batch.c \
    's/f->spoiled = b->txn.ret != 0 || b->txn.writes != writes;/f->spoiled = b->txn.ret != 0 || b->txn.writes < writes;/' \
    "$LEDGER_T" "$LEDGER_R"
# The client takes a reply whose request id is a prefix of the pending one...
mutant client-reply-prefix hospital-client/lib/call.c \
    's/strcmp(r->request_id, c->request_id) == 0/strncmp(r->request_id, c->request_id, strlen(r->request_id)) == 0/' \
    "$CLIENT_T" "$CLIENT_R"
# ... or any reply at all.
mutant client-reply-any hospital-client/lib/call.c \
    's/if (r->request_id != NULL \&\& strcmp(r->request_id, c->request_id) == 0) {/if (r != NULL) {/' \
    "$CLIENT_T" "$CLIENT_R"

# The library forgets why the engine ended the handshake (its TLS alert): the
# counter can only show the library's English words.
mutant transport-why-dropped hospital-client/lib/call.c \
    '/sanhe_set_why(c, SANHE_WHY_TLS_ALERT, sanhe_conn_alert_number(c->conn), c->current);/d' \
    "$CLIENT_T" "$CLIENT_R"

# ---- The rules core (docs/rules.md) ----------------------------------------------------------

mutant rnd-truncates engine/core/sh_rules.c \
    's|return (n + d / 2) / d;|return n / d;|' "$RULES_T" "$RULES_R"
mutant whole-band-bound-upper engine/core/sh_rules.c \
    's/if (end <= b->upto)/if (end < b->upto)/' "$RULES_T" "$RULES_R"
mutant tiered-slice-from-lo engine/core/sh_rules.c \
    's/sh_fen slice = min_fen(end, b->upto) - max_fen(start, lo);/sh_fen slice = min_fen(end, b->upto) - lo;/' \
    "$RULES_T" "$RULES_R"
mutant annual-deductible-ignores-met engine/core/sh_rules.c \
    's/d = max_fen(0, d - acc.deductible_met);/d = max_fen(0, d);/' "$RULES_T" "$RULES_R"
mutant annual-cap-ignores-paid engine/core/sh_rules.c \
    's/max_fen(0, rule->annual_cap - acc.paid)/rule->annual_cap/' "$RULES_T" "$RULES_R"
mutant reason-claim-cap-on-equal engine/core/sh_rules.c \
    's/else if (claim_cap < raw)/else if (claim_cap <= raw)/' "$RULES_T" "$RULES_R"
mutant base-not-reduced engine/core/sh_rules.c \
    's/out->in_scope - paid, \&out->funds\[f\]);/out->in_scope, \&out->funds[f]);/' \
    "$RULES_T" "$RULES_R"
mutant price-cap-ignored engine/core/sh_rules.c \
    's/sh_fen over = cap >= 0 ? max_fen(0, line->amount - cap) : 0;/sh_fen over = cap >= 0 ? max_fen(0, cap - line->amount) : 0;/' \
    "$RULES_T" "$RULES_R"
mutant item-selfpay-ignored engine/core/sh_rules.c \
    's/int32_t bp = item->selfpay_bp >= 0 ? item->selfpay_bp : class_b_selfpay_bp;/int32_t bp = class_b_selfpay_bp;/' \
    "$RULES_T" "$RULES_R"
mutant deceased-on-the-day engine/core/sh_rules.c \
    's/claim->date > in->person->died/claim->date >= in->person->died/' "$RULES_T" "$RULES_R"

# ---- The ledger (docs/storage.md) ------------------------------------------------------------

mutant reversal-adds-again engine/ledger/ledger_reverse.c \
    's/settlement_apply_deltas(txn, rec, -1);/settlement_apply_deltas(txn, rec, 1);/' \
    "$LEDGER_T" "$LEDGER_R"
mutant zero-accumulator-kept engine/ledger/accum.c \
    's/if (next\[0\] == 0 \&\& next\[1\] == 0 \&\& next\[2\] == 0) {/if (0) {/' \
    "$LEDGER_T" "$LEDGER_R"
mutant check-ignores-links engine/ledger/ledger_check_journal.c \
    's/if (memcmp(e.prev_hash, w->prev, LEDGER_HASH_LEN) != 0)/if (0)/' \
    "$LEDGER_T" "$LEDGER_R"
mutant check-ignores-last-hash engine/ledger/ledger_check_journal.c \
    's/|| memcmp(last, w->prev, LEDGER_HASH_LEN) != 0)/|| memcmp(last, w->prev, 1) != 0)/' \
    "$LEDGER_T" "$LEDGER_R"
mutant cancelled-id-reused engine/ledger/requests.c \
    's/if (rec->kind == SANHE__REQUEST_KIND__REQUEST_KIND_CANCELLED) {/if (0) {/' \
    "$LEDGER_T" "$LEDGER_R"

# ---- The wire and the error codes ------------------------------------------------------------

mutant frame-limit-off-by-one engine/net/frame.c \
    's/if (body > max)/if (body > max + 1)/' \
    "test_net_frames test_net_limits sanhe-engine" '^net/test_net_(frames|limits)$'
mutant error-name-drift engine/core/sh_error.c \
    's/{SH_E_TIMEOUT, "TIMEOUT"}/{SH_E_TIMEOUT, "TIME_OUT"}/' \
    "test_error_codes" '^unit/test_error_codes$'

# ---- Refusal details (docs/errors.md#refusal-details) ------------------------------------

# The engine drops the detail from its refusals: the counter falls back to the English message.
mutant refusal-detail-dropped engine/ledger/ledger_reply.c \
    "s/bool own = op->err.code == code \&\& op->err.msg\[0\] != '\\\\0';/bool own = false;/" \
    "sanhe-engine sanhe-counter test_counter" '^client/counter$'
