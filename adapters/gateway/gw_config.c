/* The INI file (adapters/gateway/sanhe-gateway.conf.example documents every key). */
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw.h"

struct load_ctx {
    struct gw_config *c;
    char *msg;
    size_t size;
    int bad;
};

static int number(const char *v, long min, long max, long *out)
{
    char *end = NULL;
    long n = strtol(v, &end, 10);
    if (end == v || *end != '\0' || n < min || n > max)
        return -1;
    *out = n;
    return 0;
}

#define STR(field) snprintf(c->field, sizeof c->field, "%s", v)

static int gateway_key(struct gw_config *c, const char *k, const char *v)
{
    long n = 0;
    if (strcmp(k, "listen") == 0) {
        const char *colon = strrchr(v, ':');
        if (colon == NULL || number(colon + 1, 0, 65535, &n) != 0)
            return -1;
        snprintf(c->listen_host, sizeof c->listen_host, "%.*s", (int)(colon - v), v);
        c->listen_port = (int)n;
        return 0;
    }
    struct {
        const char *name;
        char *dst;
        size_t size;
    } strs[] = {
        {"port_file", c->port_file, sizeof c->port_file},
        {"ca", c->ca_file, sizeof c->ca_file},
        {"cert", c->cert_file, sizeof c->cert_file},
        {"key", c->key_file, sizeof c->key_file},
        {"data_dir", c->data_dir, sizeof c->data_dir},
        {"signature_key", c->signature_key, sizeof c->signature_key},
    };
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
        if (strcmp(k, strs[i].name) == 0) {
            snprintf(strs[i].dst, strs[i].size, "%s", v);
            return 0;
        }
    struct {
        const char *name;
        long min, max;
        size_t *sz;
        int *in;
    } nums[] = {
        {"header_bytes_max", 256, 1 << 20, &c->header_bytes_max, NULL},
        {"body_bytes_max", 1024, 64 << 20, &c->body_bytes_max, NULL},
        {"connections_max", 1, 100000, &c->connections_max, NULL},
        {"map_mb_max", 1, 1 << 20, &c->map_bytes_max, NULL},
        {"header_timeout_ms", 10, 3600000, NULL, &c->header_timeout_ms},
        {"body_timeout_ms", 10, 3600000, NULL, &c->body_timeout_ms},
        {"idle_timeout_ms", 10, 86400000, NULL, &c->idle_timeout_ms},
        {"engine_timeout_ms", 10, 600000, NULL, &c->engine_timeout_ms},
        {"signature_skew_s", 1, 86400, NULL, &c->signature_skew_s},
    };
    for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++)
        if (strcmp(k, nums[i].name) == 0) {
            if (number(v, nums[i].min, nums[i].max, &n) != 0)
                return -1;
            if (nums[i].sz != NULL)
                *nums[i].sz = strcmp(k, "map_mb_max") == 0 ? (size_t)n << 20 : (size_t)n;
            else
                *nums[i].in = (int)n;
            return 0;
        }
    return -1;
}

static int pair_add(struct gw_pair *pairs, size_t *count, const char *key, const char *v)
{
    if (*count >= GW_MAP_MAX || strlen(key) >= sizeof pairs[0].key)
        return -1;
    struct gw_pair *p = &pairs[(*count)++];
    snprintf(p->key, sizeof p->key, "%s", key);
    const char *comma = strchr(v, ',');
    size_t n = comma != NULL ? (size_t)(comma - v) : strlen(v);
    if (n == 0 || n >= sizeof p->value)
        return -1;
    snprintf(p->value, sizeof p->value, "%.*s", (int)n, v);
    snprintf(p->extra, sizeof p->extra, "%s", comma != NULL ? comma + 1 : "");
    return 0;
}

static int on_key(void *user, const char *section, const char *k, const char *v)
{
    struct load_ctx *x = user;
    struct gw_config *c = x->c;
    int rc = -1;
    if (strcmp(section, "gateway") == 0) {
        rc = gateway_key(c, k, v);
    } else if (strcmp(section, "engine") == 0) {
        rc = 0;
        if (strcmp(k, "ca") == 0)
            STR(engine_ca_file);
        else if (strcmp(k, "terminal_dir") == 0)
            STR(terminal_dir);
        else if (strcmp(k, "terminal_prefix") == 0)
            STR(terminal_prefix);
        else
            rc = -1;
    } else if (strncmp(section, "region ", 7) == 0 && strcmp(k, "engine") == 0 &&
               c->region_count < GW_REGIONS_MAX && strlen(section + 7) < GW_CODE_MAX &&
               strlen(v) < sizeof c->regions[0].engines) {
        struct gw_region *r = &c->regions[c->region_count++];
        snprintf(r->admdvs, sizeof r->admdvs, "%s", section + 7);
        snprintf(r->engines, sizeof r->engines, "%s", v);
        rc = 0;
    } else if (strcmp(section, "fund_pay_type") == 0) {
        rc = pair_add(c->fund_types, &c->fund_type_count, k, v);
    } else if (strcmp(section, "med_type") == 0) {
        rc = pair_add(c->med_types, &c->med_type_count, k, v);
    } else if (strncmp(section, "idetinfo ", 9) == 0) {
        char key[96];
        snprintf(key, sizeof key, "%s/%s", section + 9, k);
        rc = pair_add(c->idet, &c->idet_count, key, v);
    }
    if (rc != 0 && !x->bad) {
        x->bad = 1;
        snprintf(x->msg, x->size, "[%s] %s = %s: unknown key or bad value", section, k, v);
    }
    return rc == 0;
}

static void defaults(struct gw_config *c)
{
    memset(c, 0, sizeof *c);
    snprintf(c->listen_host, sizeof c->listen_host, "127.0.0.1");
    c->listen_port = 8443;
    c->header_bytes_max = 16384;
    c->body_bytes_max = 1 << 20;
    c->connections_max = 1024;
    c->header_timeout_ms = 10000;
    c->body_timeout_ms = 30000;
    c->idle_timeout_ms = 60000;
    c->engine_timeout_ms = 10000;
    c->map_bytes_max = (size_t)1 << 30;
    c->signature_skew_s = 300;
    snprintf(c->terminal_prefix, sizeof c->terminal_prefix, "gw-");
}

int gw_config_load(struct gw_config *c, const char *path, char *msg, size_t size)
{
    defaults(c);
    struct load_ctx x = {.c = c, .msg = msg, .size = size};
    int rc = ini_parse(path, on_key, &x);
    if (rc < 0) {
        snprintf(msg, size, "%s: cannot read", path);
        return -1;
    }
    if (rc > 0) {
        if (!x.bad)
            snprintf(msg, size, "%s: line %d: not INI", path, rc);
        return -1;
    }
    /* The standard visit types when the file names none. */
    if (c->med_type_count == 0) {
        pair_add(c->med_types, &c->med_type_count, "11", "outpatient");
        pair_add(c->med_types, &c->med_type_count, "14", "chronic");
        pair_add(c->med_types, &c->med_type_count, "21", "inpatient");
    }
    const char *missing = c->ca_file[0] == '\0'          ? "[gateway] ca"
                          : c->cert_file[0] == '\0'      ? "[gateway] cert"
                          : c->key_file[0] == '\0'       ? "[gateway] key"
                          : c->data_dir[0] == '\0'       ? "[gateway] data_dir"
                          : c->terminal_dir[0] == '\0'   ? "[engine] terminal_dir"
                          : c->engine_ca_file[0] == '\0' ? "[engine] ca"
                          : c->region_count == 0         ? "a [region CODE] section"
                                                         : NULL;
    if (missing != NULL) {
        snprintf(msg, size, "%s: %s is required", path, missing);
        return -1;
    }
    return 0;
}

static const struct gw_pair *pair_find(const struct gw_pair *p, size_t n, const char *key)
{
    for (size_t i = 0; key != NULL && i < n; i++)
        if (strcmp(p[i].key, key) == 0)
            return &p[i];
    return NULL;
}

const char *gw_config_fund_type(const struct gw_config *c, const char *fund)
{
    const struct gw_pair *p = pair_find(c->fund_types, c->fund_type_count, fund);
    return p != NULL ? p->value : "999997"; /* other */
}

const char *gw_config_visit(const struct gw_config *c, const char *med_type)
{
    const struct gw_pair *p = pair_find(c->med_types, c->med_type_count, med_type);
    return p != NULL ? p->value : "";
}

const char *gw_config_med_type(const struct gw_config *c, const char *visit)
{
    for (size_t i = 0; visit != NULL && i < c->med_type_count; i++)
        if (strcmp(c->med_types[i].value, visit) == 0)
            return c->med_types[i].key;
    return NULL;
}

const struct gw_pair *gw_config_idet(const struct gw_config *c, const char *fund,
                                     const char *category)
{
    char key[96];
    snprintf(key, sizeof key, "%s/%s", fund != NULL ? fund : "", category != NULL ? category : "");
    return pair_find(c->idet, c->idet_count, key);
}

const struct gw_region *gw_config_region(const struct gw_config *c, const char *admdvs)
{
    const struct gw_region *any = NULL;
    for (size_t i = 0; i < c->region_count; i++) {
        if (admdvs != NULL && strcmp(c->regions[i].admdvs, admdvs) == 0)
            return &c->regions[i];
        if (strcmp(c->regions[i].admdvs, "*") == 0)
            any = &c->regions[i];
    }
    return any;
}
