/*
 * Reference data records in the store: persons (key: resident id),
 * hospitals (code), catalog items (code) and terminals (certificate name),
 * each in the explicit encoding of store_codec.h, version byte first.
 * A get returns true when found; a record that does not decode sets the
 * transaction's error (SH_E_INTERNAL), since only the ledger writes them.
 */
#ifndef REFDATA_H
#define REFDATA_H

#include "ledger_internal.h"

struct ledger_terminal {
    char name[LEDGER_TERMINAL_NAME_MAX];
    char hospital[SH_CODE_MAX];
    enum sh_role role;
    bool has_lookup_rate; /* its own lookups_per_minute */
    uint32_t lookups_per_minute;
};

bool refdata_person_get(struct store_txn *txn, const char *id, struct sh_person *out);
void refdata_person_put(struct store_txn *txn, const struct sh_person *person);
/* A person record as a scan of db persons finds it (key: the resident id). */
bool refdata_person_decode(struct store_txn *txn, const MDB_val *key, const MDB_val *val,
                           struct sh_person *out);
bool refdata_hospital_get(struct store_txn *txn, const char *code, struct sh_hospital *out);
void refdata_hospital_put(struct store_txn *txn, const struct sh_hospital *hospital);
bool refdata_item_get(struct store_txn *txn, const char *code, struct sh_item *out);
void refdata_item_put(struct store_txn *txn, const struct sh_item *item);
bool refdata_terminal_get(struct store_txn *txn, const char *name, struct ledger_terminal *out);
void refdata_terminal_put(struct store_txn *txn, const struct ledger_terminal *terminal);

#endif
