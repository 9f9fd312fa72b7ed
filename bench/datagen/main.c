/*
 * sanhe-datagen: a synthetic pooling region for the benchmark, written
 * straight into an engine data directory (not over the network).
 *
 *   sanhe-datagen --dir DATA_DIR --persons N [--items M] [--policy FILE]
 *                 [--year YYYY] [--seed S]
 *
 * DATA_DIR      an existing empty directory; afterwards an engine data_dir,
 *               laid out as `sanhe-engine load` leaves it (check it with
 *               `sanhe-engine check`, serve it with `sanhe-engine serve`).
 * --persons N   10000..10000000. Person i is lg_person_id(i) of
 *               bench/loadgen/dataset.c, the id `sanhe-loadgen --persons
 *               gen:N` draws. About 97 % are enrolled in the year; 5 %
 *               hold dibao, 1 % tekun, 2 % dibao_edge, 1 % an entitled-
 *               person category; 0.1 % are dead (and not drawn by the
 *               loadgen). Names are 居民NNNNNNN.
 * --items M     catalog items (30000; 1..200000): lg_item_gen(0..M-1), the
 *               items `sanhe-loadgen --catalog gen:M` draws, with price caps
 *               and item self-pay shares on some of classes A and B.
 * --policy FILE the policy loaded with them (tests/policies/haiyan-2026.json);
 *               the persons' region is its region.
 * --year YYYY   the enrolment year (default: the policy's year).
 * --seed S      varies categories and enrolment (1); never ids, codes,
 *               prices or who is dead, which the loadgen recomputes.
 *
 * Hospitals: every level, scaled mildly with N (1 provincial, 1 + N/2M
 * municipal, 2 + N/500k county, 100 + N/10k village clinics and a tenth of
 * that township centres), among them the six of bench/latency.sh
 * (H330424201 H330424101 H330424001 H330424002 H330400001 H330100001);
 * terminals: counter-h330424201 ... at those six, role counter, so
 * `ops/certs.sh terminal DIR counter-hNNN HNNN counter` certificates work.
 *
 * Prints, at the end:
 *   sanhe-datagen: N persons, H hospitals, M items, 1 policies, 6 terminals in T s (P persons/s)
 * Exit status: 0 done, 1 failed, 2 usage.
 */
#include <getopt.h>
#include <stdio.h>
#include <time.h>

#include "datagen.h"
#include "lg_util.h"

#define PERSONS_MIN 10000u

static int usage(FILE *out, int code)
{
    fputs("usage: sanhe-datagen --dir DATA_DIR --persons N [--items M] [--policy FILE]\n"
          "                     [--year YYYY] [--seed S]\n"
          "Writes a synthetic region (N persons 10000..10000000, M items 1..200000,\n"
          "default 30000) into the empty directory DATA_DIR as an engine data_dir.\n"
          "See the header of bench/datagen/main.c.\n",
          out);
    return code;
}

enum { O_DIR = 256, O_PERSONS, O_ITEMS, O_POLICY, O_YEAR, O_SEED, O_HELP };

static const struct option long_options[] = {{"dir", 1, 0, O_DIR},     {"persons", 1, 0, O_PERSONS},
                                             {"items", 1, 0, O_ITEMS}, {"policy", 1, 0, O_POLICY},
                                             {"year", 1, 0, O_YEAR},   {"seed", 1, 0, O_SEED},
                                             {"help", 0, 0, O_HELP},   {0, 0, 0, 0}};

static int number(const char *arg, uint64_t lo, uint64_t hi, uint64_t *out, const char *name)
{
    if (lg_parse_u64(arg, lo, hi, out))
        return 0;
    fprintf(stderr, "sanhe-datagen: %s %s: want a number in %llu..%llu\n", name, arg,
            (unsigned long long)lo, (unsigned long long)hi);
    return 2;
}

/* 0, 1 after --help, 2 after a usage error. */
static int parse(int argc, char **argv, struct dg_options *o)
{
    uint64_t v = 0;
    int c, rc = 0;
    while (rc == 0 && (c = getopt_long(argc, argv, "", long_options, NULL)) != -1) {
        switch (c) {
        case O_DIR:
            o->dir = optarg;
            break;
        case O_PERSONS:
            rc = number(optarg, PERSONS_MIN, DG_PERSONS_MAX, &o->persons, "--persons");
            break;
        case O_ITEMS:
            rc = number(optarg, 1, DG_ITEMS_MAX, &v, "--items");
            o->items = (uint32_t)v;
            break;
        case O_POLICY:
            o->policy_path = optarg;
            break;
        case O_YEAR:
            rc = number(optarg, 1901, 9998, &v, "--year");
            o->year = (int32_t)v;
            break;
        case O_SEED:
            rc = number(optarg, 0, UINT64_MAX, &o->seed, "--seed");
            break;
        case O_HELP:
            return usage(stdout, 1);
        default:
            return usage(stderr, 2);
        }
    }
    if (rc == 0 && (optind != argc || o->dir == NULL || o->persons == 0))
        return usage(stderr, 2);
    return rc;
}

static double seconds_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

int main(int argc, char **argv)
{
    struct dg_options o = {.items = 30000,
                           .policy_path = SANHE_SOURCE_DIR "/tests/policies/haiyan-2026.json",
                           .seed = 1,
                           .progress = stderr};
    int rc = parse(argc, argv, &o);
    if (rc != 0)
        return rc == 1 ? 0 : 2;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    struct dg_counts n;
    char err[512];
    if (dg_generate(&o, &n, err, sizeof err) != 0) {
        fprintf(stderr, "sanhe-datagen: %s\n", err);
        return 1;
    }
    double s = seconds_since(&t0);
    printf("sanhe-datagen: %llu persons, %u hospitals, %u items, %u policies, %u terminals in "
           "%.1f s (%.0f persons/s)\n",
           (unsigned long long)n.persons, n.hospitals, n.items, n.policies, n.terminals, s,
           s > 0 ? (double)n.persons / s : 0.0);
    return 0;
}
