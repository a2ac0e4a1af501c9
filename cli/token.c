/* token.c: `compactctl token issue` and `token jwks`: bearer tokens for
 * tests and operators, signed with a P-256 private key (common/auth/sign.h),
 * and the key set the services verify them with.
 *
 * The token goes to stdout and nowhere else; nothing here logs it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "identity.h"
#include "sign.h"

#define TOKEN_TTL_DEFAULT 3600
#define TOKEN_TTL_MAX (30 * 24 * 3600)

static const struct option token_issue_opts[] = {
    {"key", required_argument, NULL, 'k'},      {"kid", required_argument, NULL, 'i'},
    {"subject", required_argument, NULL, 's'},  {"role", required_argument, NULL, 'r'},
    {"entity", required_argument, NULL, 'e'},   {"group", required_argument, NULL, 'g'},
    {"ttl", required_argument, NULL, 't'},      {"issuer", required_argument, NULL, 'I'},
    {"audience", required_argument, NULL, 'A'}, {0},
};

typedef struct token_draft {
    const char *key, *kid, *subject, *role, *entity, *issuer, *audience;
    const char *groups[AUTH_GROUPS_MAX];
    size_t ngroups;
    long ttl;
} token_draft;

static const char *env_or(const char *name, const char *fallback)
{
    const char *v = getenv(name);
    return v && *v ? v : fallback;
}

static int token_flag(cli_ctx *ctx, void *draft, int c, char *v)
{
    token_draft *d = draft;
    char *end = NULL;
    switch (c) {
    case 'k':
        d->key = v;
        return 0;
    case 'i':
        d->kid = v;
        return 0;
    case 's':
        d->subject = v;
        return 0;
    case 'r':
        d->role = v;
        return 0;
    case 'e':
        d->entity = v;
        return 0;
    case 'I':
        d->issuer = v;
        return 0;
    case 'A':
        d->audience = v;
        return 0;
    case 'g':
        if (d->ngroups == AUTH_GROUPS_MAX)
            return cli_usage_error(ctx, "--group: at most %d groups", AUTH_GROUPS_MAX);
        d->groups[d->ngroups++] = v;
        return 0;
    case 't':
        d->ttl = strtol(v, &end, 10);
        if (*v == '\0' || *end != '\0' || d->ttl < 1 || d->ttl > TOKEN_TTL_MAX)
            return cli_usage_error(ctx, "--ttl: expected seconds from 1 to %d", TOKEN_TTL_MAX);
        return 0;
    }
    return -1;
}

static int token_cmd_issue(cli_ctx *ctx, int argc, char **argv)
{
    token_draft d = {.key = env_or("COMPACT_AUTH_SIGNING_KEY_FILE", NULL),
                     .kid = env_or("COMPACT_AUTH_KID", "dev"),
                     .issuer = env_or("COMPACT_AUTH_ISSUER", "compact"),
                     .audience = env_or("COMPACT_AUTH_AUDIENCE", "compact"),
                     .ttl = TOKEN_TTL_DEFAULT};
    auth_signer *s = NULL;
    char err[512], *token = NULL;
    int rc = cli_parse_flags(ctx, argc, argv, token_issue_opts, token_flag, &d);

    if (rc != -1)
        return rc;
    if (optind < argc)
        return cli_usage_error(ctx, "unexpected argument \"%s\"", argv[optind]);
    if (d.key == NULL)
        return cli_usage_error(ctx, "--key: the private key file is required (or "
                                    "COMPACT_AUTH_SIGNING_KEY_FILE)");
    if (d.subject == NULL || d.subject[0] == '\0')
        return cli_usage_error(ctx, "--subject: required (who the token is for)");
    if (auth_role_parse(d.role) == 0)
        return cli_usage_error(ctx, "--role: one of secretariat, committee, wg-chair, "
                                    "focal-point, viewer, service");
    if (auth_role_parse(d.role) == AUTH_ROLE_FOCAL_POINT && (d.entity == NULL || !*d.entity))
        return cli_usage_error(ctx, "--entity: a focal-point token names its entity");
    if (auth_role_parse(d.role) == AUTH_ROLE_WG_CHAIR && d.ngroups == 0)
        return cli_usage_error(ctx, "--group: a wg-chair token names its groups");
    if (auth_signer_load(d.key, d.kid, &s, err, sizeof err) != 0) {
        fprintf(stderr, "compactctl: %s\n", err);
        return CLI_EXIT_FAIL;
    }
    int64_t now = (int64_t)time(NULL);
    auth_claims c = {.issuer = d.issuer,
                     .audience = d.audience,
                     .subject = d.subject,
                     .role = d.role,
                     .entity_id = d.entity,
                     .group_ids = d.groups,
                     .ngroups = d.ngroups,
                     .issued_at = now,
                     .expires = now + d.ttl};
    rc = auth_sign(s, &c, &token);
    auth_signer_free(s);
    if (rc != 0) {
        fprintf(stderr, "compactctl: signing failed: %s\n", strerror(-rc));
        return CLI_EXIT_FAIL;
    }
    printf("%s\n", token);
    free(token);
    return CLI_EXIT_OK;
}

static const struct option token_jwks_opts[] = {{0}};

static int token_cmd_jwks(cli_ctx *ctx, int argc, char **argv)
{
    int c;
    while ((c = cli_getopt(ctx, argc, argv, token_jwks_opts)) != -1)
        return cli_getopt_stop(ctx, c);
    if (optind >= argc)
        return cli_usage_error(ctx, "expected one or more KID=PRIVATE_KEY_FILE");
    printf("{\"keys\": [");
    for (int i = optind; i < argc; i++) {
        char *eq = strchr(argv[i], '='), err[512], *jwk = NULL;
        auth_signer *s = NULL;
        if (eq == NULL || eq == argv[i])
            return cli_usage_error(ctx, "\"%s\": expected KID=PRIVATE_KEY_FILE", argv[i]);
        *eq = '\0';
        if (auth_signer_load(eq + 1, argv[i], &s, err, sizeof err) != 0 ||
            auth_signer_public_jwk(s, &jwk) != 0) {
            fprintf(stderr, "\ncompactctl: %s\n", err);
            auth_signer_free(s);
            return CLI_EXIT_FAIL;
        }
        printf("%s\n  %s", i > optind ? "," : "", jwk);
        free(jwk);
        auth_signer_free(s);
    }
    printf("\n]}\n");
    return CLI_EXIT_OK;
}

const cli_command token_commands[] = {
    {.group = "token",
     .verb = "issue",
     .fn = token_cmd_issue,
     .summary = "sign a bearer token (tests and operators)",
     .usage = "token issue --key FILE [--kid KID] --subject WHO --role ROLE\n"
              "            [--entity ENTITY_ID] [--group GROUP_ID]... [--ttl SECONDS]\n"
              "            [--issuer ISS] [--audience AUD]\n\n"
              "Prints an ES256 JWT signed with the P-256 private key FILE (default\n"
              "COMPACT_AUTH_SIGNING_KEY_FILE) under key id KID (COMPACT_AUTH_KID, \"dev\").\n"
              "ROLE: secretariat, committee, wg-chair (needs --group), focal-point\n"
              "(needs --entity), viewer, service. TTL default 3600 s. Issuer and\n"
              "audience default to COMPACT_AUTH_ISSUER / COMPACT_AUTH_AUDIENCE or\n"
              "\"compact\". Use it with --token or COMPACT_TOKEN.\n"},
    {.group = "token",
     .verb = "jwks",
     .fn = token_cmd_jwks,
     .summary = "the key set (public keys) of private keys, for COMPACT_AUTH_KEYS_FILE",
     .usage = "token jwks KID=PRIVATE_KEY_FILE...\n\n"
              "Prints the JSON Web Key Set of the public halves of the keys, each\n"
              "under its key id: the services' COMPACT_AUTH_KEYS_FILE.\n"},
    {0},
};
