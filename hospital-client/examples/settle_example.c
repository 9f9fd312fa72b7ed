/*
 * settle_example ENGINES CA CERT KEY HOSPITAL PERSON: settles a two-line
 * outpatient bill with libsanhe-client and prints what each fund pays.
 * Shows the one rule a counter must follow: keep the request id, and when
 * the outcome is unknown, retry it or cancel it, never settle it anew.
 */
#include <stdio.h>
#include <string.h>

#include "sanhe/client.h"

static void print_result(const struct sanhe_settle_result *r)
{
    const struct sanhe_breakdown *b = &r->breakdown;
    printf("settlement %llu on %s: total %lld fen\n", (unsigned long long)r->settlement_id,
           r->business_day, (long long)b->total);
    for (size_t i = 0; i < b->fund_count; i++)
        printf("  %-10s pays %lld fen%s%s\n", b->funds[i].fund, (long long)b->funds[i].pay,
               b->funds[i].reason[0] ? ", " : "", b->funds[i].reason);
    printf("  patient pays %lld fen\n", (long long)b->patient_pays);
}

int main(int argc, char **argv)
{
    if (argc != 7) {
        fprintf(stderr,
                "usage: settle_example HOST:PORT[,HOST:PORT] CA CERT KEY HOSPITAL PERSON\n");
        return 2;
    }
    struct sanhe_client_options o = {.engines = argv[1],
                                     .ca_file = argv[2],
                                     .cert_file = argv[3],
                                     .key_file = argv[4],
                                     .terminal = "example"};
    sanhe_client *client;
    int rc = sanhe_client_new(&client, &o);
    if (rc < 0) {
        fprintf(stderr, "settle_example: %s\n", sanhe_strerror(rc));
        return 1;
    }
    struct sanhe_line lines[] = {{"A001", 1000, 12000}, {"B001", 2000, 8000}};
    struct sanhe_claim claim = {.hospital = argv[5],
                                .person = argv[6],
                                .visit = "outpatient",
                                .date = "2026-03-02",
                                .lines = lines,
                                .line_count = 2};
    char request_id[SANHE_REQUEST_ID_MAX];
    sanhe_request_id_new(client, request_id); /* keep it: a retry or cancel names it */
    struct sanhe_settle_result r;
    rc = sanhe_settle(client, &claim, request_id, 0, &r);
    if (rc == SANHE_E_OUTCOME_UNKNOWN) {
        /* Not a failure to report as "not settled": cancel makes it certain. */
        struct sanhe_cancel_result c;
        int crc = sanhe_cancel(client, request_id, NULL, 0, &c);
        printf("outcome of %s unknown; cancel: %s\n", request_id,
               crc == 0 ? (c.reversed ? "it had landed, now reversed" : "it never will land")
                        : sanhe_strerror(crc));
    } else if (rc == SANHE_E_REFUSED)
        printf("refused: %s: %s\n", sanhe_refusal_name(client), sanhe_last_message(client));
    else if (rc < 0)
        printf("error: %s (%s)\n", sanhe_strerror(rc), sanhe_last_message(client));
    else {
        print_result(&r);
        sanhe_settle_result_free(&r);
    }
    sanhe_client_free(client);
    return rc == 0 ? 0 : 1;
}
