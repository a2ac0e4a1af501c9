/* audit.c: `compactctl audit ID`, who changed an aggregate and when
 * (compact.audit.v1.Audit on the service that owns it). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "compact/audit/v1/audit.pb-c.h"
#include "pbjson.h"

static const struct {
    const char *prefix, *service;
} audit_owners[] = {
    {"ent_", "membership"}, {"wg_", "workgroups"}, {"wpi_", "workgroups"}, {"ntc_", "workgroups"},
    {"sub_", "workgroups"}, {"prj_", "projects"},  {"rep_", "committee"},  {"mtg_", "committee"},
    {"dec_", "committee"},  {"cfp_", "committee"},
};

static const struct option audit_opts[] = {
    {"service", required_argument, NULL, 's'},
    {0},
};

static const char *audit_owner(const char *id)
{
    for (size_t i = 0; i < sizeof audit_owners / sizeof audit_owners[0]; i++)
        if (strncmp(id, audit_owners[i].prefix, strlen(audit_owners[i].prefix)) == 0)
            return audit_owners[i].service;
    return NULL;
}

static int audit_print(cli_ctx *ctx, const Compact__Audit__V1__ListChangesResponse *r,
                       output_table *t, json_t *all)
{
    for (size_t i = 0; i < r->n_changes; i++) {
        const Compact__Audit__V1__Change *c = r->changes[i];
        const Compact__Events__V1__Actor *a = c->actor;
        char when[40], seq[24];
        if (ctx->json) {
            json_array_append_new(all, pbjson_from_message(&c->base));
            continue;
        }
        snprintf(seq, sizeof seq, "%llu", (unsigned long long)c->aggregate_sequence);
        const char *cells[] = {output_time(c->occur_time, when, sizeof when),
                               seq,
                               c->type,
                               a && a->subject[0] ? a->subject : "-",
                               a && a->role[0] ? a->role : "-",
                               a && a->entity_id[0] ? a->entity_id : "-",
                               a ? a->peer : ""};
        if (output_table_add(t, cells) != 0)
            return output_oom();
    }
    return 0;
}

static int audit_cmd(cli_ctx *ctx, int argc, char **argv)
{
    const char *service = NULL;
    int c;
    while ((c = cli_getopt(ctx, argc, argv, audit_opts)) != -1) {
        if (c != 's')
            return cli_getopt_stop(ctx, c);
        service = optarg;
    }
    if (argc - optind != 1)
        return cli_usage_error(ctx, "expected one aggregate ID");
    const char *id = argv[optind];
    if (service == NULL && (service = audit_owner(id)) == NULL)
        return cli_usage_error(ctx, "%s: which service owns it? (--service NAME)", id);
    static const char *const headers[] = {"TIME", "SEQ",    "CHANGE", "SUBJECT",
                                          "ROLE", "ENTITY", "PEER"};
    output_table *t = ctx->json ? NULL : output_table_new(headers, 7);
    json_t *all = ctx->json ? json_array() : NULL;
    Compact__Audit__V1__ListChangesRequest req = COMPACT__AUDIT__V1__LIST_CHANGES_REQUEST__INIT;
    char token[64] = "";
    int rc = 0;
    if ((ctx->json && all == NULL) || (!ctx->json && t == NULL))
        return output_oom();
    req.aggregate_id = (char *)id;
    req.page_size = 1000;
    do {
        call_result res;
        req.page_token = token;
        rc = cli_call(ctx, service, &compact__audit__v1__audit__descriptor, "ListChanges",
                      &req.base, &res);
        if (rc != 0)
            break;
        const Compact__Audit__V1__ListChangesResponse *r = (const void *)res.reply;
        rc = audit_print(ctx, r, t, all);
        snprintf(token, sizeof token, "%s", r->next_page_token);
        call_result_clear(&res);
    } while (rc == 0 && token[0] != '\0');
    if (rc == 0)
        rc = ctx->json ? output_json(json_incref(all)) : output_table_print(t, stdout);
    json_decref(all);
    output_table_free(t);
    return rc;
}

const cli_command audit_commands[] = {
    {.group = "audit",
     .fn = audit_cmd,
     .summary = "who changed an aggregate, and when",
     .usage = "audit [--service NAME] ID\n\n"
              "Lists every change of the entity, group, project, meeting, decision\n"
              "... ID, oldest first: when, its sequence, what, and who (the token's\n"
              "subject, role and entity, the address it came from). The service is\n"
              "known from the id's prefix, or given. Secretariat and committee only.\n"},
    {0},
};
