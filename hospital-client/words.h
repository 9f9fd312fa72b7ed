/*
 * The engine's refusals (Error.detail) and libsanhe-client's transport
 * failures (sanhe_why) worded in the catalog's language (words.c).
 */
#ifndef SH_WORDS_H
#define SH_WORDS_H

#include <stddef.h>

#include "sanhe.pb-c.h"
#include "sanhe/client.h"

#define SH_WORDS_ARGS_MAX 4 /* the most arguments a detail has */

/* The refusal's detail worded into out: 0, or -1 when e has no detail, one
 * this build does not know, or another count of arguments (out is then
 * unchanged: show the engine's English message). */
int sh_words_refusal(const Sanhe__Error *e, char *out, size_t size);

/* A transport failure (enum sanhe_why, its address and number) worded into
 * out: 0, or -1 for SANHE_WHY_NONE or a kind this build does not know. */
int sh_words_why(int kind, const char *address, int number, char *out, size_t size);

/* The same for the client's last call (sanhe_last_why). */
int sh_words_last_why(const sanhe_client *c, char *out, size_t size);

#endif
