/* test_auth.c: bearer tokens (ES256 JWTs) signed and verified, every way a
 * token must be refused, the verifier's cache, the key file and its
 * rotation, and rule tables: lookup, coverage, scopes, verified flags. */
#include <errno.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "compact/membership/v1/membership.pb-c.h"
#include "compact/projects/v1/projects.pb-c.h"
#include "compact/workgroups/v1/workgroups.pb-c.h"
#include "google/protobuf/field_mask.pb-c.h"
#include "jwt.h"
#include "keys.h"
#include "log.h"
#include "rule.h"
#include "sign.h"

#define NOW 1750000000

typedef struct fixture {
    char dir[64];
    char key_a[128], key_b[128], keys_file[128];
    auth_signer *a, *b; /* b: another key, same kid "k1" as a in some tests */
} fixture;

static void write_private_key(const char *path)
{
    EVP_PKEY *k = EVP_EC_gen("P-256");
    FILE *f = fopen(path, "w");
    assert_non_null(k);
    assert_non_null(f);
    assert_int_equal(PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL), 1);
    fclose(f);
    EVP_PKEY_free(k);
}

static void write_text(const char *path, const char *text)
{
    char tmp[256];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    assert_int_equal(rename(tmp, path), 0); /* a new inode: the change is seen */
}

/* {"keys":[jwk of each signer]} into the keys file. */
static void write_keys(fixture *fx, auth_signer *const *signers, size_t n)
{
    char text[4096] = "{\"keys\":[";
    for (size_t i = 0; i < n; i++) {
        char *jwk = NULL;
        assert_int_equal(auth_signer_public_jwk(signers[i], &jwk), 0);
        strcat(text, i ? "," : "");
        strcat(text, jwk);
        free(jwk);
    }
    strcat(text, "]}");
    write_text(fx->keys_file, text);
}

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof *fx);
    char err[256];
    snprintf(fx->dir, sizeof fx->dir, "/tmp/test_auth.XXXXXX");
    assert_non_null(mkdtemp(fx->dir));
    snprintf(fx->key_a, sizeof fx->key_a, "%s/a.pem", fx->dir);
    snprintf(fx->key_b, sizeof fx->key_b, "%s/b.pem", fx->dir);
    snprintf(fx->keys_file, sizeof fx->keys_file, "%s/keys.json", fx->dir);
    write_private_key(fx->key_a);
    write_private_key(fx->key_b);
    assert_int_equal(auth_signer_load(fx->key_a, "k1", &fx->a, err, sizeof err), 0);
    assert_int_equal(auth_signer_load(fx->key_b, "k2", &fx->b, err, sizeof err), 0);
    write_keys(fx, &fx->a, 1);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    char cmd[128];
    auth_signer_free(fx->a);
    auth_signer_free(fx->b);
    snprintf(cmd, sizeof cmd, "rm -rf %s", fx->dir);
    assert_int_equal(system(cmd), 0);
    free(fx);
    return 0;
}

static auth_verifier *verifier(fixture *fx, size_t cache_max)
{
    auth_keys *k = NULL;
    auth_verifier *v = NULL;
    char err[256];
    assert_int_equal(auth_keys_load(fx->keys_file, &k, err, sizeof err), 0);
    auth_verifier_options o = {.keys = k,
                               .issuer = "compact",
                               .audience = "compact",
                               .clock_skew_seconds = 30,
                               .cache_max = cache_max};
    assert_int_equal(auth_verifier_new(&o, &v), 0);
    return v;
}

/* noinline: optimised, GCC 12 takes the returned pointer for one to `t` itself. */
__attribute__((noinline)) static char *token(auth_signer *s, const char *role, int64_t exp)
{
    const char *groups[] = {"wg_a"};
    auth_claims c = {.issuer = "compact",
                     .audience = "compact",
                     .subject = "alice@un.org",
                     .role = role,
                     .entity_id = "ent_unoct",
                     .group_ids = groups,
                     .ngroups = 1,
                     .issued_at = NOW,
                     .expires = exp};
    char *t = NULL;
    assert_int_equal(auth_sign(s, &c, &t), 0);
    return t;
}

static auth_status verify(auth_verifier *v, const char *t, int64_t now)
{
    auth_identity *id = NULL;
    auth_status st = auth_verify_token(v, t, strlen(t), now, &id);
    assert_true((st == AUTH_OK) == (id != NULL));
    auth_identity_unref(id);
    return st;
}

/* ---- tokens ---------------------------------------------------------------- */

static void test_valid_token(void **state)
{
    fixture *fx = *state;
    auth_verifier *v = verifier(fx, 0);
    char *t = token(fx->a, "wg-chair", NOW + 600);
    char bearer[4096];
    auth_identity *id = NULL;

    snprintf(bearer, sizeof bearer, "bearer   %s ", t);
    assert_int_equal(auth_verify_bearer(v, bearer, strlen(bearer), NOW, &id), AUTH_OK);
    assert_string_equal(id->subject, "alice@un.org");
    assert_int_equal(id->role, AUTH_ROLE_WG_CHAIR);
    assert_string_equal(id->entity_id, "ent_unoct");
    assert_int_equal(id->ngroups, 1);
    assert_true(auth_identity_has_group(id, "wg_a"));
    assert_false(auth_identity_has_group(id, "wg_b"));
    auth_identity_unref(id);
    free(t);
    auth_verifier_free(v);
}

static void test_missing_and_not_bearer(void **state)
{
    fixture *fx = *state;
    auth_verifier *v = verifier(fx, 0);
    auth_identity *id = NULL;
    assert_int_equal(auth_verify_bearer(v, NULL, 0, NOW, &id), AUTH_MISSING);
    assert_int_equal(auth_verify_bearer(v, "Basic abc", 9, NOW, &id), AUTH_MISSING);
    assert_int_equal(auth_verify_bearer(v, "Bearer ", 7, NOW, &id), AUTH_MISSING);
    assert_int_equal(verify(v, "a.b", NOW), AUTH_MALFORMED);
    assert_int_equal(verify(v, "a.b.c.d", NOW), AUTH_MALFORMED);
    assert_int_equal(verify(v, "!!.b.c", NOW), AUTH_MALFORMED);
    assert_null(id);
    auth_verifier_free(v);
}

static void test_expired_and_not_yet_valid(void **state)
{
    fixture *fx = *state;
    auth_verifier *v = verifier(fx, 0);
    char *t = token(fx->a, "viewer", NOW);
    char *payload = NULL, *nbf = NULL;

    assert_int_equal(verify(v, t, NOW + 30), AUTH_OK); /* within the skew */
    auth_verifier_free(v);
    v = verifier(fx, 0);
    assert_int_equal(verify(v, t, NOW + 31), AUTH_EXPIRED);
    assert_int_equal(asprintf(&payload,
                              "{\"iss\":\"compact\",\"aud\":\"compact\",\"sub\":\"s\",\"role\":"
                              "\"viewer\",\"exp\":%d,\"nbf\":%d}",
                              NOW + 600, NOW + 100) > 0,
                     1);
    assert_int_equal(auth_sign_raw(fx->a, "{\"alg\":\"ES256\",\"kid\":\"k1\"}", payload, &nbf), 0);
    assert_int_equal(verify(v, nbf, NOW), AUTH_NOT_YET_VALID);
    assert_int_equal(verify(v, nbf, NOW + 70), AUTH_OK);
    free(payload);
    free(nbf);
    free(t);
    auth_verifier_free(v);
}

static void test_issuer_audience_claims(void **state)
{
    fixture *fx = *state;
    auth_verifier *v = verifier(fx, 0);
    static const struct {
        const char *payload;
        auth_status want;
    } cases[] = {
        {"{\"iss\":\"other\",\"aud\":\"compact\",\"sub\":\"s\",\"role\":\"viewer\",\"exp\":%d}",
         AUTH_WRONG_ISSUER},
        {"{\"iss\":\"compact\",\"aud\":\"other\",\"sub\":\"s\",\"role\":\"viewer\",\"exp\":%d}",
         AUTH_WRONG_AUDIENCE},
        {"{\"iss\":\"compact\",\"aud\":[\"x\",\"compact\"],\"sub\":\"s\",\"role\":\"viewer\","
         "\"exp\":%d}",
         AUTH_OK},
        {"{\"iss\":\"compact\",\"aud\":\"compact\",\"sub\":\"s\",\"role\":\"root\",\"exp\":%d}",
         AUTH_BAD_CLAIMS},
        {"{\"iss\":\"compact\",\"aud\":\"compact\",\"role\":\"viewer\",\"exp\":%d}",
         AUTH_BAD_CLAIMS},
        {"{\"iss\":\"compact\",\"aud\":\"compact\",\"sub\":\"s\",\"role\":\"viewer\",\"exp\":\"%"
         "d\"}",
         AUTH_BAD_CLAIMS},
        {"{\"iss\":\"compact\",\"aud\":\"compact\",\"sub\":\"s\",\"role\":\"focal-point\","
         "\"exp\":%d}",
         AUTH_BAD_CLAIMS}, /* a focal point names its entity */
        {"{\"iss\":\"compact\",\"aud\":\"compact\",\"sub\":\"s\",\"role\":\"wg-chair\","
         "\"entity_id\":\"ent_x\",\"exp\":%d}",
         AUTH_BAD_CLAIMS}, /* a chair names its groups */
        {"{\"iss\":\"compact\",\"aud\":\"compact\",\"sub\":\"s\",\"role\":\"viewer\","
         "\"group_ids\":[1],\"exp\":%d}",
         AUTH_BAD_CLAIMS},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char payload[512], *t = NULL;
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
        snprintf(payload, sizeof payload, cases[i].payload, NOW + 600);
#pragma GCC diagnostic pop
        assert_int_equal(auth_sign_raw(fx->a, "{\"alg\":\"ES256\",\"kid\":\"k1\"}", payload, &t),
                         0);
        assert_int_equal(verify(v, t, NOW), cases[i].want);
        free(t);
    }
    auth_verifier_free(v);
}

static void test_algorithms_refused(void **state)
{
    fixture *fx = *state;
    auth_verifier *v = verifier(fx, 0);
    char *good = token(fx->a, "secretariat", NOW + 600);
    const char *payload = strchr(good, '.') + 1;
    const char *sig = strrchr(good, '.');
    char forged[4096];

    /* alg none: the good payload, no signature */
    snprintf(forged, sizeof forged, "%s.%.*s.", "eyJhbGciOiJub25lIiwia2lkIjoiazEifQ",
             (int)(sig - payload), payload);
    assert_int_equal(verify(v, forged, NOW), AUTH_ALGORITHM);
    /* HS256, with the good token's signature bytes */
    snprintf(forged, sizeof forged, "%s.%.*s%s", "eyJhbGciOiJIUzI1NiIsImtpZCI6ImsxIn0",
             (int)(sig - payload), payload, sig);
    assert_int_equal(verify(v, forged, NOW), AUTH_ALGORITHM);
    /* crit */
    char *t = NULL;
    assert_int_equal(
        auth_sign_raw(fx->a, "{\"alg\":\"ES256\",\"kid\":\"k1\",\"crit\":[\"x\"]}", "{}", &t), 0);
    assert_int_equal(verify(v, t, NOW), AUTH_ALGORITHM);
    free(t);
    free(good);
    auth_verifier_free(v);
}

static void test_tampered_and_other_key(void **state)
{
    fixture *fx = *state;
    auth_verifier *v = verifier(fx, 0);
    char *t = token(fx->a, "viewer", NOW + 600);
    char *changed = strdup(t);
    char *payload = strchr(changed, '.') + 1;

    /* One character of the payload: a different claim set, same signature. */
    payload[5] = payload[5] == 'A' ? 'B' : 'A';
    assert_int_not_equal(verify(v, changed, NOW), AUTH_OK);
    /* One character of the signature. */
    strcpy(changed, t);
    char *sig = strrchr(changed, '.') + 1;
    sig[10] = sig[10] == 'A' ? 'B' : 'A';
    assert_int_equal(verify(v, changed, NOW), AUTH_BAD_SIGNATURE);
    /* A signature one byte short. */
    strcpy(changed, t);
    changed[strlen(changed) - 2] = '\0';
    assert_int_not_equal(verify(v, changed, NOW), AUTH_OK);
    free(changed);
    free(t);

    /* Signed by a key the services do not trust: unknown kid... */
    t = token(fx->b, "secretariat", NOW + 600);
    assert_int_equal(verify(v, t, NOW), AUTH_UNKNOWN_KEY);
    free(t);
    /* ...or a trusted kid claimed by another key. */
    auth_signer *liar = NULL;
    char err[128];
    assert_int_equal(auth_signer_load(fx->key_b, "k1", &liar, err, sizeof err), 0);
    t = token(liar, "secretariat", NOW + 600);
    assert_int_equal(verify(v, t, NOW), AUTH_BAD_SIGNATURE);
    free(t);
    auth_signer_free(liar);
    auth_verifier_free(v);
}

static void test_cache(void **state)
{
    fixture *fx = *state;
    auth_verifier *v = verifier(fx, 2);
    auth_verifier_stats st;
    char *t1 = token(fx->a, "viewer", NOW + 100);
    char *t2 = token(fx->a, "committee", NOW + 600);
    char *t3 = token(fx->a, "secretariat", NOW + 600);

    assert_int_equal(verify(v, t1, NOW), AUTH_OK);
    assert_int_equal(verify(v, t1, NOW), AUTH_OK);
    auth_verifier_get_stats(v, &st);
    assert_int_equal(st.hits, 1);
    assert_int_equal(st.misses, 1);
    assert_int_equal(verify(v, t2, NOW), AUTH_OK);
    assert_int_equal(verify(v, t3, NOW), AUTH_OK);
    auth_verifier_get_stats(v, &st);
    assert_int_equal(st.cached, 2); /* bounded: t1, the oldest, went */
    /* A cached token still expires. */
    assert_int_equal(verify(v, t2, NOW + 1000), AUTH_EXPIRED);
    auth_verifier_get_stats(v, &st);
    assert_int_equal(st.cached, 1);
    free(t1);
    free(t2);
    free(t3);
    auth_verifier_free(v);
}

static void test_rotation(void **state)
{
    fixture *fx = *state;
    auth_verifier *v = verifier(fx, 0);
    char *ta = token(fx->a, "viewer", NOW + 600);
    char *tb = token(fx->b, "viewer", NOW + 600);
    auth_signer *both[] = {fx->a, fx->b};

    assert_int_equal(verify(v, ta, NOW), AUTH_OK);
    assert_int_equal(verify(v, tb, NOW), AUTH_UNKNOWN_KEY);
    write_keys(fx, both, 2); /* k2 added */
    assert_int_equal(verify(v, tb, NOW + 1), AUTH_OK);
    write_keys(fx, &fx->b, 1); /* k1 removed: its cached token goes too */
    assert_int_equal(verify(v, ta, NOW + 2), AUTH_UNKNOWN_KEY);
    assert_int_equal(verify(v, tb, NOW + 2), AUTH_OK);
    write_text(fx->keys_file, "{\"keys\": [half"); /* a bad file keeps the keys */
    assert_int_equal(verify(v, tb, NOW + 3), AUTH_OK);
    free(ta);
    free(tb);
    auth_verifier_free(v);
}

static void test_key_file_refused(void **state)
{
    static const char *bad[] = {
        "[]",
        "{\"keys\":[]}",
        "{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"r\",\"n\":\"x\",\"e\":\"AQAB\"}]}",
        /* a point off the curve */
        "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"k\","
        "\"x\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\","
        "\"y\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE\"}]}",
    };
    fixture *fx = *state;
    char err[256], *jwk = NULL, text[1024];
    auth_keys *k = NULL;

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(auth_keys_parse(bad[i], strlen(bad[i]), &k, err, sizeof err), -EINVAL);
        assert_true(err[0] != '\0');
    }
    assert_int_equal(auth_signer_public_jwk(fx->a, &jwk), 0);
    snprintf(text, sizeof text, "{\"keys\":[%s,%s]}", jwk, jwk);
    assert_int_equal(auth_keys_parse(text, strlen(text), &k, err, sizeof err), -EINVAL);
    assert_non_null(strstr(err, "twice"));
    snprintf(text, sizeof text, "{\"keys\":[%s]}", jwk);
    assert_int_equal(auth_keys_parse(text, strlen(text), &k, err, sizeof err), 0);
    assert_true(auth_keys_has(k, "k1"));
    auth_keys_free(k);
    free(jwk);
    assert_int_equal(auth_keys_load("/nonexistent/keys.json", &k, err, sizeof err), -ENOENT);
}

/* ---- rules ----------------------------------------------------------------- */

static int project_check_calls;

static int takes_part(void *arg, const auth_identity *id, const ProtobufCMessage *req, char *why,
                      size_t whylen)
{
    project_check_calls++;
    return arg != NULL;
}

static const auth_rule membership_rules[] = {
    {.method = "CreateEntity", .roles = AUTH_ROLE_SECRETARIAT},
    {.method = "GetEntity", .roles = AUTH_ANYONE, .flags = AUTH_RULE_READ},
    {.method = "ListEntities", .roles = AUTH_ANYONE, .flags = AUTH_RULE_READ},
    {.method = "UpdateEntity",
     .roles = AUTH_ROLE_SECRETARIAT,
     .scoped = AUTH_ROLE_FOCAL_POINT,
     .entity = "entity.id"},
    {.method = "WithdrawEntity", .roles = AUTH_ROLE_SECRETARIAT},
    {.method = "BatchGetEntities", .roles = AUTH_ANYONE, .flags = AUTH_RULE_READ},
    {.method = "CountEntities", .roles = AUTH_ANYONE, .flags = AUTH_RULE_READ},
    {.method = "AdmitEntity", .roles = AUTH_ROLE_SECRETARIAT | AUTH_ROLE_SERVICE},
    {.method = NULL},
};

static auth_identity *who(unsigned role, const char *entity, const char *group)
{
    const char *groups[] = {group};
    return auth_identity_new("s", role, entity, groups, group ? 1 : 0, NOW + 60);
}

static void test_rules_cover(void **state)
{
    char err[256];
    auth_rule partial[3];
    assert_int_equal(auth_rules_check(membership_rules,
                                      &compact__membership__v1__membership__descriptor, err,
                                      sizeof err),
                     0);
    memcpy(partial, membership_rules, sizeof partial);
    partial[2].method = NULL;
    assert_int_equal(auth_rules_check(partial, &compact__membership__v1__membership__descriptor,
                                      err, sizeof err),
                     -EINVAL);
    assert_non_null(strstr(err, "ListEntities: no rule"));
    auth_rule typo[sizeof membership_rules / sizeof membership_rules[0]];
    memcpy(typo, membership_rules, sizeof typo);
    typo[3].entity = "entity.idd";
    assert_int_equal(
        auth_rules_check(typo, &compact__membership__v1__membership__descriptor, err, sizeof err),
        -EINVAL);
    assert_non_null(strstr(err, "UpdateEntity"));
    assert_null(auth_rules_find(membership_rules, "Nothing"));
}

static void test_rules_roles_and_entity_scope(void **state)
{
    const auth_rule *update = auth_rules_find(membership_rules, "UpdateEntity");
    Compact__Membership__V1__Entity e = COMPACT__MEMBERSHIP__V1__ENTITY__INIT;
    Compact__Membership__V1__UpdateEntityRequest req =
        COMPACT__MEMBERSHIP__V1__UPDATE_ENTITY_REQUEST__INIT;
    char *paths[] = {"name"};
    Google__Protobuf__FieldMask mask = GOOGLE__PROTOBUF__FIELD_MASK__INIT;
    char why[256];
    auth_identity *sec = who(AUTH_ROLE_SECRETARIAT, NULL, NULL);
    auth_identity *fp = who(AUTH_ROLE_FOCAL_POINT, "ent_own", NULL);
    auth_identity *viewer = who(AUTH_ROLE_VIEWER, "ent_own", NULL);

    e.id = "ent_own";
    req.entity = &e;
    mask.n_paths = 1;
    mask.paths = paths;
    req.update_mask = &mask;
    assert_int_equal(auth_rule_allows(update, sec, &req.base, NULL, why, sizeof why), 0);
    assert_int_equal(auth_rule_allows(update, fp, &req.base, NULL, why, sizeof why), 0);
    assert_int_equal(auth_rule_allows(update, viewer, &req.base, NULL, why, sizeof why), -EACCES);
    assert_non_null(strstr(why, "role viewer may not call UpdateEntity"));
    e.id = "ent_other";
    assert_int_equal(auth_rule_allows(update, fp, &req.base, NULL, why, sizeof why), -EACCES);
    assert_non_null(strstr(why, "entity.id"));
    e.id = "";
    assert_int_equal(auth_rule_allows(update, fp, &req.base, NULL, why, sizeof why), -EACCES);
    /* Verified flags: set, or named by the mask, or "*": the secretariat's alone. */
    e.id = "ent_own";
    paths[0] = "verified";
    assert_int_equal(auth_rule_allows(update, fp, &req.base, NULL, why, sizeof why), -EACCES);
    assert_non_null(strstr(why, "update_mask: only the secretariat"));
    assert_int_equal(auth_rule_allows(update, sec, &req.base, NULL, why, sizeof why), 0);
    paths[0] = "*";
    assert_int_equal(auth_rule_allows(update, fp, &req.base, NULL, why, sizeof why), -EACCES);
    paths[0] = "name";
    e.verified = 1;
    assert_int_equal(auth_rule_allows(update, fp, &req.base, NULL, why, sizeof why), -EACCES);
    assert_non_null(strstr(why, "entity.verified"));
    assert_int_equal(auth_rule_allows(NULL, sec, &req.base, NULL, why, sizeof why), -EACCES);
    auth_identity_unref(sec);
    auth_identity_unref(fp);
    auth_identity_unref(viewer);
}

static void test_rules_group_repeated_check_empty(void **state)
{
    static const auth_rule rules[] = {
        {.method = "CreateProject",
         .roles = AUTH_ROLE_SECRETARIAT,
         .scoped = AUTH_ROLE_FOCAL_POINT | AUTH_ROLE_WG_CHAIR,
         .entity = "project.participants[].entity_id",
         .group = "project.working_group_ids[]"},
        {.method = "UpdateProject",
         .roles = AUTH_ROLE_SECRETARIAT,
         .scoped = AUTH_ROLE_FOCAL_POINT,
         .check = takes_part},
        {.method = NULL},
    };
    static const auth_rule notices = {.method = "ListNotices",
                                      .roles = AUTH_ROLE_SECRETARIAT,
                                      .scoped = AUTH_ROLE_VIEWER,
                                      .entity = "reader_entity_id",
                                      .flags = AUTH_RULE_READ | AUTH_RULE_EMPTY_OK};
    Compact__Projects__V1__Participant p1 = COMPACT__PROJECTS__V1__PARTICIPANT__INIT,
                                       p2 = COMPACT__PROJECTS__V1__PARTICIPANT__INIT;
    Compact__Projects__V1__Participant *ps[] = {&p1, &p2};
    char *groups[] = {"wg_x", "wg_mine"};
    Compact__Projects__V1__Project prj = COMPACT__PROJECTS__V1__PROJECT__INIT;
    Compact__Projects__V1__CreateProjectRequest create =
        COMPACT__PROJECTS__V1__CREATE_PROJECT_REQUEST__INIT;
    Compact__Projects__V1__UpdateProjectRequest update =
        COMPACT__PROJECTS__V1__UPDATE_PROJECT_REQUEST__INIT;
    Compact__Workgroups__V1__ListNoticesRequest list =
        COMPACT__WORKGROUPS__V1__LIST_NOTICES_REQUEST__INIT;
    auth_identity *fp = who(AUTH_ROLE_FOCAL_POINT, "ent_b", NULL);
    auth_identity *chair = who(AUTH_ROLE_WG_CHAIR, "ent_c", "wg_mine");
    auth_identity *viewer = who(AUTH_ROLE_VIEWER, "ent_v", NULL);
    char why[256];

    p1.entity_id = "ent_a";
    p2.entity_id = "ent_b";
    prj.n_participants = 2;
    prj.participants = ps;
    prj.n_working_group_ids = 2;
    prj.working_group_ids = groups;
    create.project = &prj;
    assert_int_equal(auth_rule_allows(&rules[0], fp, &create.base, NULL, why, sizeof why), 0);
    assert_int_equal(auth_rule_allows(&rules[0], chair, &create.base, NULL, why, sizeof why), 0);
    p2.entity_id = "ent_z";
    groups[1] = "wg_other";
    assert_int_equal(auth_rule_allows(&rules[0], fp, &create.base, NULL, why, sizeof why), -EACCES);
    assert_int_equal(auth_rule_allows(&rules[0], chair, &create.base, NULL, why, sizeof why),
                     -EACCES);
    assert_non_null(strstr(why, "project.working_group_ids[]"));

    update.project = &prj;
    project_check_calls = 0;
    assert_int_equal(auth_rule_allows(&rules[1], fp, &update.base, (void *)1, why, sizeof why), 0);
    assert_int_equal(auth_rule_allows(&rules[1], fp, &update.base, NULL, why, sizeof why), -EACCES);
    assert_int_equal(project_check_calls, 2);

    list.reader_entity_id = "";
    assert_int_equal(auth_rule_allows(&notices, viewer, &list.base, NULL, why, sizeof why), 0);
    list.reader_entity_id = "ent_v";
    assert_int_equal(auth_rule_allows(&notices, viewer, &list.base, NULL, why, sizeof why), 0);
    list.reader_entity_id = "ent_w";
    assert_int_equal(auth_rule_allows(&notices, viewer, &list.base, NULL, why, sizeof why),
                     -EACCES);
    auth_identity_unref(fp);
    auth_identity_unref(chair);
    auth_identity_unref(viewer);
}

int main(void)
{
    log_init("test", LOG_LEVEL_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_valid_token, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_and_not_bearer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expired_and_not_yet_valid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_issuer_audience_claims, setup, teardown),
        cmocka_unit_test_setup_teardown(test_algorithms_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tampered_and_other_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cache, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rotation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_key_file_refused, setup, teardown),
        cmocka_unit_test(test_rules_cover),
        cmocka_unit_test(test_rules_roles_and_entity_scope),
        cmocka_unit_test(test_rules_group_repeated_check_empty),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
