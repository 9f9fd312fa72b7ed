/*
 * dg_generate: the region into the data directory through the ledger.
 *
 * First batch: one Load with the policy, hospitals, catalog and terminals.
 * Then the persons, DG_CHUNK persons per Load and DG_LOADS per batch (one
 * durable commit), in ascending id order so that LMDB only ever writes at
 * the right edge of the persons B-tree. A batch's Loads stay alive until
 * its commit (the ledger may apply them again in a grown map), then their
 * buffers take the next batch.
 */
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "datagen.h"
#include "ledger.h"
#include "lg_util.h"

#define DG_CHUNK 20000u
#define DG_LOADS 10u
#define DG_BYTES_PER_PERSON 160u /* what a person takes in the store, roughly */
#define DG_MAP_SLACK (256ull << 20)

struct dg_slot {
    Sanhe__Request request;
    Sanhe__LoadRequest load;
    char request_id[SH_CODE_MAX];
    struct dg_person_row *rows;
    Sanhe__Person **ptrs;
};

struct dg_run {
    const struct dg_options *opt;
    struct ledger *ledger;
    struct sh_caller admin;
    struct dg_person_shared shared;
    char *policy_text;
    char region[16];
    int32_t year;
    struct dg_counts counts;
    uint64_t loads;
    char *err;
    size_t cap;
};

static int fail(struct dg_run *r, const char *what, const char *detail)
{
    snprintf(r->err, r->cap, "%s: %s", what, detail);
    return -1;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- Before writing: the directory and the policy ----------------------------------- */

static int check_dir(struct dg_run *r)
{
    DIR *d = opendir(r->opt->dir);
    if (d == NULL)
        return fail(r, r->opt->dir, strerror(errno));
    int entries = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        entries += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return entries == 0 ? 0 : fail(r, r->opt->dir, "not empty (the region needs a new store)");
}

/* The policy's text (loaded as is) and its region and year (the persons'). */
static int read_policy(struct dg_run *r)
{
    json_error_t jerr;
    json_t *doc = json_load_file(r->opt->policy_path, 0, &jerr);
    if (doc == NULL)
        return fail(r, r->opt->policy_path, jerr.text);
    const char *region = json_string_value(json_object_get(doc, "region"));
    json_int_t year = json_integer_value(json_object_get(doc, "year"));
    bool ok = region != NULL && lg_copy(r->region, sizeof r->region, region) && year > 1900 &&
              year < 9999;
    r->year = r->opt->year != 0 ? r->opt->year : (int32_t)year;
    r->policy_text = ok ? json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(doc);
    if (!ok)
        return fail(r, r->opt->policy_path, "no region or year: not a sanhe.policy/1 document");
    if (r->policy_text == NULL || strlen(r->policy_text) > DG_POLICY_BYTES_MAX)
        return fail(r, r->opt->policy_path, "too large (1 MiB at most)");
    return 0;
}

static int open_ledger(struct dg_run *r)
{
    struct ledger_config lc = {
        .dir = r->opt->dir,
        .map_size_initial = r->opt->persons * DG_BYTES_PER_PERSON + DG_MAP_SLACK,
        .durable = true,
        .utc_offset_min = 480,
    };
    struct sh_error err = {0};
    if (ledger_open(&lc, &r->ledger, &err) != 0)
        return fail(r, "ledger_open", err.msg);
    return 0;
}

/* ---- Applying Loads ------------------------------------------------------------------- */

/* One Load in the batch; a refusal names the first bad record. */
static int apply_load(struct dg_run *r, struct ledger_batch *b, Sanhe__Request *req)
{
    struct sh_reply reply = {0};
    int rc = ledger_batch_apply(b, &r->admin, req, &reply);
    Sanhe__Response *resp = rc == 0 ? sanhe__response__unpack(NULL, reply.len, reply.data) : NULL;
    free(reply.data);
    if (resp == NULL)
        rc = fail(r, "load", rc != 0 ? sh_error_name(rc) : "no reply");
    else if (resp->error != NULL)
        rc = fail(r, "load refused", resp->error->message != NULL ? resp->error->message : "");
    sanhe__response__free_unpacked(resp, NULL);
    return rc;
}

static void request_init(struct dg_run *r, Sanhe__Request *req, Sanhe__LoadRequest *load,
                         char *request_id)
{
    snprintf(request_id, SH_CODE_MAX, "datagen-%llu", (unsigned long long)r->loads++);
    sanhe__request__init(req);
    req->request_id = request_id;
    req->op_case = SANHE__REQUEST__OP_LOAD;
    req->load = load;
}

static int commit(struct dg_run *r, struct ledger_batch *b)
{
    int rc = ledger_batch_commit(b);
    return rc == 0 ? 0 : fail(r, "commit", sh_error_name(rc));
}

/* ---- The first batch: policy, hospitals, catalog, terminals ------------------------- */

struct dg_refdata {
    struct dg_hospital_row *hospitals;
    struct dg_item_row *items;
    struct dg_terminal_row terminals[LG_BENCH_HOSPITALS];
    Sanhe__Hospital **hospital_ptrs;
    Sanhe__CatalogItem **item_ptrs;
    Sanhe__Terminal *terminal_ptrs[LG_BENCH_HOSPITALS];
};

static int refdata_alloc(struct dg_refdata *d, uint32_t hospitals, uint32_t items)
{
    d->hospitals = calloc(hospitals, sizeof *d->hospitals);
    d->hospital_ptrs = calloc(hospitals, sizeof *d->hospital_ptrs);
    d->items = calloc(items, sizeof *d->items);
    d->item_ptrs = calloc(items, sizeof *d->item_ptrs);
    return d->hospitals && d->hospital_ptrs && d->items && d->item_ptrs ? 0 : -1;
}

static void refdata_free(struct dg_refdata *d)
{
    free(d->hospitals);
    free(d->hospital_ptrs);
    free(d->items);
    free(d->item_ptrs);
}

static void refdata_fill(struct dg_run *r, struct dg_refdata *d, Sanhe__LoadRequest *load)
{
    uint32_t nh = r->counts.hospitals, ni = r->counts.items;
    for (uint32_t i = 0; i < nh; i++) {
        dg_hospital_fill(&d->hospitals[i], r->opt->persons, i);
        d->hospital_ptrs[i] = &d->hospitals[i].msg;
    }
    for (uint32_t i = 0; i < ni; i++) {
        dg_item_fill(&d->items[i], i);
        d->item_ptrs[i] = &d->items[i].msg;
    }
    for (uint32_t i = 0; i < LG_BENCH_HOSPITALS; i++) {
        dg_terminal_fill(&d->terminals[i], i);
        d->terminal_ptrs[i] = &d->terminals[i].msg;
    }
    sanhe__load_request__init(load);
    load->hospitals = d->hospital_ptrs;
    load->n_hospitals = nh;
    load->items = d->item_ptrs;
    load->n_items = ni;
    load->terminals = d->terminal_ptrs;
    load->n_terminals = LG_BENCH_HOSPITALS;
    load->policies_json = &r->policy_text;
    load->n_policies_json = 1;
}

static int write_refdata(struct dg_run *r)
{
    r->counts.hospitals = dg_hospital_count(r->opt->persons);
    r->counts.items = r->opt->items;
    struct dg_refdata d = {0};
    Sanhe__LoadRequest load;
    Sanhe__Request req;
    char request_id[SH_CODE_MAX];
    struct ledger_batch *b = NULL;
    int rc = refdata_alloc(&d, r->counts.hospitals, r->counts.items);
    if (rc != 0)
        rc = fail(r, "reference data", "out of memory");
    if (rc == 0) {
        refdata_fill(r, &d, &load);
        request_init(r, &req, &load, request_id);
        rc = ledger_batch_begin(r->ledger, now_ms(), &b);
        rc = rc != 0 ? fail(r, "batch", sh_error_name(rc)) : apply_load(r, b, &req);
    }
    if (b != NULL)
        rc = rc == 0 ? commit(r, b) : (ledger_batch_abort(b), rc);
    refdata_free(&d);
    r->counts.policies = rc == 0 ? 1 : 0;
    r->counts.terminals = rc == 0 ? LG_BENCH_HOSPITALS : 0;
    return rc;
}

/* ---- Persons --------------------------------------------------------------------------- */

static int slots_alloc(struct dg_slot *slots)
{
    for (unsigned s = 0; s < DG_LOADS; s++) {
        slots[s].rows = calloc(DG_CHUNK, sizeof *slots[s].rows);
        slots[s].ptrs = calloc(DG_CHUNK, sizeof *slots[s].ptrs);
        if (slots[s].rows == NULL || slots[s].ptrs == NULL)
            return -1;
    }
    return 0;
}

static void slots_free(struct dg_slot *slots)
{
    for (unsigned s = 0; s < DG_LOADS; s++) {
        free(slots[s].rows);
        free(slots[s].ptrs);
    }
}

/* The next persons in id order into a slot's Load; false when none is left. */
static bool slot_fill(struct dg_run *r, struct dg_slot *slot, struct lg_person_order *order)
{
    size_t n = 0;
    uint64_t index;
    while (n < DG_CHUNK && lg_person_order_next(order, &index)) {
        dg_person_fill(&slot->rows[n], index, r->opt->seed, &r->shared);
        slot->ptrs[n] = &slot->rows[n].msg;
        n++;
    }
    sanhe__load_request__init(&slot->load);
    slot->load.persons = slot->ptrs;
    slot->load.n_persons = n;
    request_init(r, &slot->request, &slot->load, slot->request_id);
    return n > 0;
}

static void progress(struct dg_run *r, uint64_t before)
{
    if (r->opt->progress != NULL && r->counts.persons / 1000000u != before / 1000000u)
        fprintf(r->opt->progress, "sanhe-datagen: %llu persons\n",
                (unsigned long long)r->counts.persons);
}

/* One batch of up to DG_LOADS Loads; *more is false when the persons ran out. */
static int write_batch(struct dg_run *r, struct dg_slot *slots, struct lg_person_order *order,
                       bool *more)
{
    struct ledger_batch *b;
    int rc = ledger_batch_begin(r->ledger, now_ms(), &b);
    if (rc != 0)
        return fail(r, "batch", sh_error_name(rc));
    uint64_t before = r->counts.persons, added = 0;
    for (unsigned s = 0; rc == 0 && s < DG_LOADS && (*more = slot_fill(r, &slots[s], order)); s++) {
        rc = apply_load(r, b, &slots[s].request);
        added += slots[s].load.n_persons;
    }
    if (rc != 0) {
        ledger_batch_abort(b);
        return rc;
    }
    rc = commit(r, b);
    r->counts.persons += rc == 0 ? added : 0;
    progress(r, before);
    return rc;
}

static int write_persons(struct dg_run *r)
{
    struct dg_slot slots[DG_LOADS];
    memset(slots, 0, sizeof slots);
    struct lg_person_order order;
    lg_person_order_init(&order, r->opt->persons);
    dg_person_shared_init(&r->shared, r->region, r->year);
    int rc = slots_alloc(slots) == 0 ? 0 : fail(r, "persons", "out of memory");
    for (bool more = true; rc == 0 && more;)
        rc = write_batch(r, slots, &order, &more);
    slots_free(slots);
    return rc;
}

int dg_generate(const struct dg_options *opt, struct dg_counts *out, char *err, size_t cap)
{
    struct dg_run r = {.opt = opt, .err = err, .cap = cap};
    lg_copy(r.admin.terminal, sizeof r.admin.terminal, "sanhe-datagen");
    r.admin.role = SH_ROLE_ADMIN;
    memset(out, 0, sizeof *out);
    if (opt->persons == 0 || opt->persons > DG_PERSONS_MAX || opt->items == 0 ||
        opt->items > DG_ITEMS_MAX)
        return fail(&r, "options", "persons or items out of range");
    int rc = check_dir(&r);
    if (rc == 0)
        rc = read_policy(&r);
    if (rc == 0)
        rc = open_ledger(&r);
    if (rc == 0)
        rc = write_refdata(&r);
    if (rc == 0)
        rc = write_persons(&r);
    if (r.ledger != NULL)
        ledger_close(r.ledger);
    free(r.policy_text);
    *out = r.counts;
    return rc;
}
