/*
 * Reference data documents (the case-file shape: policies, hospitals,
 * catalog, persons, and optionally terminals [{name, hospital, role}]) as one
 * admin Load request.
 */
#ifndef SH_JSON_LOAD_H
#define SH_JSON_LOAD_H

#include <jansson.h>

#include "sanhe.pb-c.h"
#include "sh_error.h"

/* Fills *out (initialised here) from doc; every array absent from doc is
 * left empty. On failure the message names the array and index. Free with
 * sh_json_load_free in both cases. */
int sh_json_to_load(const json_t *doc, Sanhe__LoadRequest *out, struct sh_error *err);
void sh_json_load_free(Sanhe__LoadRequest *msg);

#endif
