/* One load run against a running engine (the default mode). */
#ifndef RUN_H
#define RUN_H

#include "options.h"
#include "report.h"

/* Connects, sends on schedule, drains, closes. Returns 0 when the run
 * happened (errors and all: they are in the result), -1 when it could not
 * (no connection, bad dataset; why is in res->failure). */
int lg_run(const struct lg_options *opt, struct lg_result *res);

#endif
