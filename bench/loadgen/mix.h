/*
 * Weighted choices: the operation mix (--mix settle=80,presettle=10,...)
 * and the visit mix (--visits outpatient=60,...). Weights are integers;
 * a name left out weighs 0.
 */
#ifndef MIX_H
#define MIX_H

#include <stddef.h>
#include <stdint.h>

#define LG_WEIGHTS_MAX 8

enum lg_op {
    LG_OP_SETTLE = 0,
    LG_OP_PRESETTLE,
    LG_OP_REVERSE, /* by settlement id, of an earlier settle of this run */
    LG_OP_CANCEL,  /* by request id, of an earlier settle: reverses it */
    LG_OP_QUERY,   /* by settlement id, of an earlier settle */
    LG_OP_ELIGIBILITY,
    LG_OP_COUNT
};

enum lg_visit { LG_VISIT_OUTPATIENT = 0, LG_VISIT_CHRONIC, LG_VISIT_INPATIENT, LG_VISIT_COUNT };

struct lg_weights {
    const char *const *names; /* names[i] for weight i */
    size_t n;
    uint32_t w[LG_WEIGHTS_MAX];
    uint64_t total;
};

extern const char *const lg_op_names[LG_OP_COUNT + 1];
extern const char *const lg_visit_names[LG_VISIT_COUNT + 1];

/* "name=weight,name=weight"; names from the NULL-terminated names. Returns
 * 0, or -1 with why in err. */
int lg_weights_parse(const char *spec, const char *const *names, struct lg_weights *out, char *err,
                     size_t cap);

/* An index drawn with the weights (total must be > 0). */
size_t lg_weights_pick(const struct lg_weights *w, uint64_t *rng);

/* The spec again, canonical ("settle=80,presettle=10"), zero weights left out. */
void lg_weights_format(const struct lg_weights *w, char *buf, size_t cap);

/* True when an op writes (settle, reverse, cancel): it waits for a group commit. */
int lg_op_is_write(enum lg_op op);

#endif
