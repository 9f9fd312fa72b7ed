/*
 * sanhe-bureau's configuration: an INI file (inih), section [bureau]:
 *
 *   engine = 127.0.0.1:7443   the engine's TLS address
 *   ca = ca.crt               the bureau CA that signed the engine's certificate
 *   cert = bureau.crt         this terminal's certificate (role bureau) ...
 *   key = bureau.key          ... and its key
 *   timeout_ms = 30000        per request
 *   lang = zh                 zh or en: column names
 *   signing_key = sign.key    export: the engine's Ed25519 private key (PEM)
 *   verify_key = sign.pub     verify: its public key (default: signing_key's)
 *   data_dir = /var/lib/sanhe verify: the engine's data, opened read-only
 *
 * Relative paths are taken from the file's directory, so a config can sit
 * next to its certificates. A key it does not know is refused, named: a typo
 * must not silently leave the terminal pointing elsewhere.
 */
#include <errno.h>
#include <ini.h>
#include <stdlib.h>
#include <string.h>

#include "bureau.h"

struct parse {
    struct bureau_config *c;
    char dir[PATH_MAX];
    int problems;
};

void bureau_config_defaults(struct bureau_config *c)
{
    memset(c, 0, sizeof *c);
    snprintf(c->host, sizeof c->host, "127.0.0.1");
    c->port = 7443;
    c->timeout_ms = BUREAU_TIMEOUT_MS_DEFAULT;
    c->lang = SH_LANG_ZH;
}

static bool parse_int(const char *s, long min, long max, long *out)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
        return false;
    *out = v;
    return true;
}

int bureau_config_engine(struct bureau_config *c, const char *value, struct sh_error *err)
{
    const char *colon = strrchr(value, ':');
    long port = 0;
    if (colon == NULL || colon == value || (size_t)(colon - value) >= sizeof c->host ||
        !parse_int(colon + 1, 1, 65535, &port))
        return sh_error_set(err, SH_E_BAD_REQUEST, _("engine: \"%.64s\" is not HOST:PORT"), value);
    memcpy(c->host, value, (size_t)(colon - value));
    c->host[colon - value] = '\0';
    c->port = (int)port;
    return 0;
}

/* false when the path does not fit */
static bool set_path(const struct parse *p, char *out, const char *value)
{
    int n = value[0] == '/' || p->dir[0] == '\0' ? snprintf(out, PATH_MAX, "%s", value)
                                                 : snprintf(out, PATH_MAX, "%s/%s", p->dir, value);
    return n >= 0 && n < PATH_MAX;
}

static int on_key(void *ctx, const char *section, const char *name, const char *value)
{
    struct parse *p = ctx;
    struct bureau_config *c = p->c;
    struct sh_error err = {0};
    long v = 0;
    bool ok = strcmp(section, "bureau") == 0;
    if (!ok)
        ;
    else if (strcmp(name, "engine") == 0)
        ok = bureau_config_engine(c, value, &err) == 0;
    else if (strcmp(name, "ca") == 0)
        ok = set_path(p, c->ca, value);
    else if (strcmp(name, "cert") == 0)
        ok = set_path(p, c->cert, value);
    else if (strcmp(name, "key") == 0)
        ok = set_path(p, c->key, value);
    else if (strcmp(name, "signing_key") == 0)
        ok = set_path(p, c->signing_key, value);
    else if (strcmp(name, "verify_key") == 0)
        ok = set_path(p, c->verify_key, value);
    else if (strcmp(name, "data_dir") == 0)
        ok = set_path(p, c->data_dir, value);
    else if (strcmp(name, "timeout_ms") == 0 && (ok = parse_int(value, 100, 3600000, &v)))
        c->timeout_ms = (int)v;
    else if (strcmp(name, "lang") == 0 &&
             (ok = strcmp(value, "zh") == 0 || strcmp(value, "en") == 0))
        c->lang = strcmp(value, "en") == 0 ? SH_LANG_EN : SH_LANG_ZH;
    else if (strcmp(name, "timeout_ms") != 0 && strcmp(name, "lang") != 0)
        ok = false;
    if (!ok) {
        fprintf(stderr, _("%s: [%s] %s: unknown key or bad value \"%s\"\n"), c->path, section, name,
                value);
        p->problems++;
    }
    return 1;
}

int bureau_config_load(const char *path, struct bureau_config *c, struct sh_error *err)
{
    struct parse p = {.c = c};
    snprintf(c->path, sizeof c->path, "%s", path);
    const char *slash = strrchr(path, '/');
    if (slash != NULL)
        snprintf(p.dir, sizeof p.dir, "%.*s", (int)(slash - path), path);
    int rc = ini_parse(path, on_key, &p);
    if (rc < 0)
        return sh_error_set(err, SH_E_BAD_REQUEST, _("%s: cannot read it"), path);
    if (rc > 0)
        return sh_error_set(err, SH_E_BAD_REQUEST, _("%s:%d: not INI"), path, rc);
    if (p.problems > 0)
        return sh_error_set(err, SH_E_BAD_REQUEST, _("%s: %d problem(s)"), path, p.problems);
    return 0;
}
