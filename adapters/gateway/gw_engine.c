/*
 * The engines, by insured region: a patient is settled by the engine of
 * the region where they are insured, wherever the hospital is. The engine
 * knows a counter terminal by its certificate, so the gateway talks to each
 * engine as each hospital (its counter certificate: terminal_dir /
 * terminal_prefix + hospital code + .crt and .key), over one pipelined
 * connection per (region's engine, hospital), opened on first use.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gw.h"

#define PIPES_MAX 4096

struct gw_pipe_entry {
    const struct gw_region *region;
    char hospital[GW_HOSPITAL_MAX + 1];
    sanhe_pipe *pipe;
};

struct gw_engines {
    uv_loop_t *loop;
    const struct gw_config *cfg;
    struct gw_pipe_entry *pipes;
    size_t count;
};

int gw_engines_new(struct gw_engines **out, uv_loop_t *loop, const struct gw_config *c)
{
    struct gw_engines *e = calloc(1, sizeof *e);
    if (e == NULL || (e->pipes = calloc(PIPES_MAX, sizeof *e->pipes)) == NULL) {
        free(e);
        return -1;
    }
    e->loop = loop;
    e->cfg = c;
    *out = e;
    return 0;
}

void gw_engines_free(struct gw_engines *e)
{
    if (e == NULL)
        return;
    for (size_t i = 0; i < e->count; i++)
        sanhe_pipe_free(e->pipes[i].pipe);
    free(e->pipes);
    free(e);
}

/* Codes become file names: letters, digits, '.', '_' and '-' only. */
static bool plain(const char *s)
{
    if (s[0] == '\0' || s[0] == '.')
        return false;
    for (; *s; s++)
        if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
              *s == '.' || *s == '_' || *s == '-'))
            return false;
    return true;
}

sanhe_pipe *gw_engines_pipe(struct gw_engines *e, const char *region, const char *hospital,
                            char *msg, size_t size)
{
    const struct gw_region *r = gw_config_region(e->cfg, region);
    if (r == NULL) {
        snprintf(msg, size, "参保地%s未配置结算引擎", region != NULL ? region : "");
        return NULL;
    }
    for (size_t i = 0; i < e->count; i++)
        if (e->pipes[i].region == r && strcmp(e->pipes[i].hospital, hospital) == 0)
            return e->pipes[i].pipe;
    char cert[1024], key[1024];
    snprintf(cert, sizeof cert, "%s/%s%s.crt", e->cfg->terminal_dir, e->cfg->terminal_prefix,
             hospital);
    snprintf(key, sizeof key, "%s/%s%s.key", e->cfg->terminal_dir, e->cfg->terminal_prefix,
             hospital);
    if (!plain(hospital) || e->count >= PIPES_MAX || access(cert, R_OK) != 0 ||
        access(key, R_OK) != 0) {
        snprintf(msg, size, "机构%s没有结算引擎的终端证书", plain(hospital) ? hospital : "?");
        return NULL;
    }
    struct sanhe_client_options o = {.engines = r->engines,
                                     .ca_file = e->cfg->engine_ca_file,
                                     .cert_file = cert,
                                     .key_file = key,
                                     .timeout_ms = e->cfg->engine_timeout_ms};
    sanhe_pipe *p = NULL;
    if (sanhe_pipe_new(&p, e->loop, &o, 0) != 0) {
        snprintf(msg, size, "机构%s的终端证书无法使用", hospital);
        return NULL;
    }
    struct gw_pipe_entry *pe = &e->pipes[e->count++];
    pe->region = r;
    snprintf(pe->hospital, sizeof pe->hospital, "%s", hospital);
    pe->pipe = p;
    return p;
}

size_t gw_engines_regions(const struct gw_engines *e, const char **out, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < e->cfg->region_count && n < max; i++) {
        const struct gw_region *r = &e->cfg->regions[i];
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++)
            seen = strcmp(e->cfg->regions[j].engines, r->engines) == 0;
        if (!seen)
            out[n++] = r->admdvs;
    }
    return n;
}
