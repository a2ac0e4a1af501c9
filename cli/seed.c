/* seed.c: `compactctl seed`, loads the seed data of every service.
 *
 * Design
 * ------
 * The services are seeded in dependency order (membership, workgroups,
 * projects, then analytics' exchange rates), each from one file under the
 * seed directory; a service without its file is skipped. A file is a JSON array of entries
 *     {"method": "<RPC name>", "request": {<the request in proto3 JSON>}}
 * sent one after the other to that service. membership's file may instead
 * hold bare CreateEntityRequest (or Entity) objects, which mean CreateEntity.
 *
 * Cross-service references. Before an entry's request is built, every JSON
 * string of the form "@entity:<ACRONYM>", "@group:<CODE>" or
 * "@project:<IATI identifier>" is replaced by the id the owning service
 * answers for that key (GetEntity, GetWorkingGroup, GetProject). Answers are
 * cached for the run; a reference nobody knows fails its entry.
 *
 * Idempotence. A seed file is a sequence of aggregates: a Create* entry and
 * the entries after it up to the next Create* (a group's leadership and
 * members, a project's funding). When the Create* answers ALREADY_EXISTS the
 * aggregate was loaded before, so its following entries are skipped as
 * already present: sending them again would, for instance, count a project's
 * funding twice. When the Create* fails, its following entries fail unsent.
 * A Put* entry replaces what it names, so sending it again would succeed and
 * write (and publish) the same thing once more: analytics' rates are read
 * first (ListExchangeRates, once per run), and a PutExchangeRate whose rate
 * is held already, equal in every field, is already present and not sent.
 *
 * Counting. Each entry of a file ends in exactly one of: created (the service
 * accepted it), already present, failed. A service that cannot be reached is
 * reported once; every later entry that needs it fails without a message.
 */
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "compact/analytics/v1/analytics.pb-c.h"
#include "compact/membership/v1/membership.pb-c.h"
#include "compact/projects/v1/projects.pb-c.h"
#include "compact/workgroups/v1/workgroups.pb-c.h"
#include "pbjson.h"

/* One service's seed: its catalog name and its file under the seed dir. */
typedef struct seed_service {
    const char *name;
    const char *file;
    const ProtobufCServiceDescriptor *svc;
} seed_service;

enum { SEED_NSERVICES = 4, SEED_ANALYTICS = 3 };

/* In dependency order: each service's seed refers only to those before it. */
static const seed_service seed_services[SEED_NSERVICES] = {
    {"membership", "membership/entities.json", &compact__membership__v1__membership__descriptor},
    {"workgroups", "workgroups/groups.json", &compact__workgroups__v1__working_groups__descriptor},
    {"projects", "projects/projects.json", &compact__projects__v1__projects__descriptor},
    {"analytics", "analytics/rates.json", &compact__analytics__v1__analytics__descriptor},
};

/* A kind of reference "<prefix><key>" and the call that resolves it: `method`
 * of `service` with {<key_field>: key}, whose reply has a string field "id". */
typedef struct seed_ref_kind {
    const char *prefix;
    size_t service; /* index in seed_services */
    const char *method;
    const char *key_field;
    const char *what; /* "entity with acronym", for messages */
} seed_ref_kind;

static const seed_ref_kind seed_ref_kinds[] = {
    {"@entity:", 0, "GetEntity", "acronym", "entity with acronym"},
    {"@group:", 1, "GetWorkingGroup", "code", "working group with code"},
    {"@project:", 2, "GetProject", "iatiIdentifier", "project with IATI identifier"},
};

#define SEED_NKINDS (sizeof seed_ref_kinds / sizeof seed_ref_kinds[0])

/* A resolved reference, kept for the rest of the run. */
typedef struct seed_ref {
    struct seed_ref *next;
    const seed_ref_kind *kind;
    char *key;
    char *id;
} seed_ref;

typedef struct seed_counts {
    size_t created, present, failed;
} seed_counts;

/* How one entry ended. */
typedef enum seed_outcome { SEED_CREATED, SEED_PRESENT, SEED_FAILED } seed_outcome;

/* A seed file read and checked, not sent yet. */
typedef struct seed_file {
    const seed_service *svc;
    char name[PATH_MAX + 64]; /* as printed in messages */
    json_t *items;            /* a JSON array; NULL: the service is skipped */
} seed_file;

/* The state of one `compactctl seed`. */
typedef struct seed_run {
    cli_ctx *ctx;
    seed_ref *refs;                  /* owned; freed by seed_run_clear() */
    int unreachable[SEED_NSERVICES]; /* reported once; later calls not sent */
    seed_counts counts[SEED_NSERVICES];
    /* analytics' rates as they were before the run (seed_rate_held), owned;
     * read on the first PutExchangeRate. */
    Compact__Analytics__V1__ListExchangeRatesResponse *rates;
    int rates_read;
} seed_run;

/* What the entry being sent is, for messages. */
typedef struct seed_entry {
    const seed_file *file;
    size_t index;
    const char *method;
    const char *label; /* the aggregate's key ("CJLR"), or "" */
} seed_entry;

static const struct option seed_opts[] = {
    {"file", required_argument, NULL, 'f'},
    {"service", required_argument, NULL, 's'},
    {0},
};

/* ---- messages ------------------------------------------------------------ */

/* "compactctl: seed: <file>[<i>] <Method> <label>: <printf message>". */
static void seed_say(const seed_entry *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void seed_say(const seed_entry *e, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "compactctl: seed: %s[%zu] %s%s%s: ", e->file->name, e->index, e->method,
            e->label[0] ? " " : "", e->label);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

/* The natural key of the aggregate a Create* request makes (the acronym,
 * code or IATI identifier of its one message field), or "". */
static const char *seed_label(const json_t *request)
{
    static const char *const keys[] = {"acronym", "code", "iatiIdentifier", "iati_identifier"};
    const char *name;
    json_t *v;
    json_object_foreach((json_t *)request, name, v)
    {
        const json_t *obj = json_is_object(v) ? v : request;
        for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
            const char *s = json_string_value(json_object_get(obj, keys[i]));
            if (s)
                return s;
        }
    }
    return "";
}

/* ---- calls ----------------------------------------------------------------- */

/* Calls `method` of seed service `si`, quietly. Returns 0 with *res filled
 * (any code but UNAVAILABLE), or -1 when the service cannot be reached: then
 * the reason was printed once for the run and *res is cleared. */
static int seed_call(seed_run *run, size_t si, const char *method, const ProtobufCMessage *req,
                     call_result *res)
{
    const seed_service *s = &seed_services[si];
    memset(res, 0, sizeof *res);
    if (run->unreachable[si])
        return -1;
    int rc = cli_call_quiet(run->ctx, s->name, s->svc, method, req, res);
    if (rc == 0 && res->code != RPC_UNAVAILABLE)
        return 0;
    if (rc == 0)
        cli_report(run->ctx, s->name, res);
    call_result_clear(res);
    run->unreachable[si] = 1;
    return -1;
}

/* ---- references ------------------------------------------------------------ */

static const seed_ref_kind *seed_ref_kind_of(const char *s)
{
    for (size_t i = 0; i < SEED_NKINDS; i++)
        if (strncmp(s, seed_ref_kinds[i].prefix, strlen(seed_ref_kinds[i].prefix)) == 0)
            return &seed_ref_kinds[i];
    return NULL;
}

static const char *seed_ref_cached(const seed_run *run, const seed_ref_kind *k, const char *key)
{
    for (const seed_ref *r = run->refs; r; r = r->next)
        if (r->kind == k && strcmp(r->key, key) == 0)
            return r->id;
    return NULL;
}

/* Remembers key -> id; returns the stored id, or NULL on ENOMEM. */
static const char *seed_ref_keep(seed_run *run, const seed_ref_kind *k, const char *key,
                                 const char *id)
{
    seed_ref *r = calloc(1, sizeof *r);
    if (r) {
        r->kind = k;
        r->key = strdup(key);
        r->id = strdup(id);
    }
    if (!r || !r->key || !r->id) {
        if (r) {
            free(r->key);
            free(r->id);
        }
        free(r);
        return NULL;
    }
    r->next = run->refs;
    run->refs = r;
    return r->id;
}

/* The string field "id" of a Get* reply, or NULL. */
static const char *seed_reply_id(const ProtobufCMessage *reply)
{
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field_by_name(reply->descriptor, "id");
    if (!f || f->type != PROTOBUF_C_TYPE_STRING || f->label == PROTOBUF_C_LABEL_REPEATED)
        return NULL;
    const char *id = *(char *const *)((const char *)reply + f->offset);
    return id && *id ? id : NULL;
}

/* Asks the owning service for the id of `key`. Returns the cached id, or
 * NULL after printing why (nothing when the service is unreachable). */
static const char *seed_ref_lookup(seed_run *run, const seed_entry *e, const seed_ref_kind *k,
                                   const char *ref, const char *key)
{
    const seed_service *s = &seed_services[k->service];
    const ProtobufCMethodDescriptor *m =
        protobuf_c_service_descriptor_get_method_by_name(s->svc, k->method);
    char err[256] = "out of memory";
    json_t *j = json_pack("{s:s}", k->key_field, key);
    ProtobufCMessage *req = j ? pbjson_to_message(m->input, j, err, sizeof err) : NULL;
    json_decref(j);
    if (!req) {
        seed_say(e, "cannot resolve \"%s\": %s", ref, err);
        return NULL;
    }
    call_result res;
    int rc = seed_call(run, k->service, k->method, req, &res);
    protobuf_c_message_free_unpacked(req, NULL);
    if (rc < 0)
        return NULL;
    const char *id = NULL;
    if (res.code == RPC_OK && !(id = seed_reply_id(res.reply)))
        seed_say(e, "cannot resolve \"%s\": %s answered without an id", ref, k->method);
    else if (res.code == RPC_NOT_FOUND)
        seed_say(e, "unresolvable reference \"%s\": no %s \"%s\" in %s", ref, k->what, key,
                 s->name);
    else if (res.code != RPC_OK)
        seed_say(e, "cannot resolve \"%s\": %s: %s", ref, rpc_code_name(res.code), res.message);
    if (id && !(id = seed_ref_keep(run, k, key, id)))
        seed_say(e, "out of memory");
    call_result_clear(&res);
    return id;
}

/* Replaces, in place, every reference string inside `j` by its id. Returns
 * 0, or -1 after printing which one failed (the first; the rest untouched). */
static int seed_resolve(seed_run *run, const seed_entry *e, json_t *j)
{
    if (json_is_array(j)) {
        for (size_t i = 0; i < json_array_size(j); i++)
            if (seed_resolve(run, e, json_array_get(j, i)) < 0)
                return -1;
        return 0;
    }
    if (json_is_object(j)) {
        const char *name;
        json_t *v;
        json_object_foreach(j, name, v)
        {
            if (seed_resolve(run, e, v) < 0)
                return -1;
        }
        return 0;
    }
    const char *s = json_string_value(j);
    const seed_ref_kind *k = s ? seed_ref_kind_of(s) : NULL;
    if (!k)
        return 0;
    const char *key = s + strlen(k->prefix);
    const char *id = seed_ref_cached(run, k, key);
    if (!id)
        id = seed_ref_lookup(run, e, k, s, key);
    if (!id)
        return -1;
    if (json_string_set(j, id) < 0) {
        seed_say(e, "out of memory");
        return -1;
    }
    return 0;
}

/* ---- rates held already ------------------------------------------------------ */

static int seed_rate_equal(const Compact__Analytics__V1__ExchangeRate *a,
                           const Compact__Analytics__V1__ExchangeRate *b)
{
    return strcmp(a->currency, b->currency) == 0 && strcmp(a->valid_from, b->valid_from) == 0 &&
           a->usd_micros == b->usd_micros && !a->verified == !b->verified &&
           strcmp(a->source_note, b->source_note) == 0;
}

/* Whether analytics holds the rate of PutExchangeRate request `req` already,
 * equal in every field. The rates are asked for once per run; if they cannot
 * be read (the reason is printed by the call that then fails), nothing
 * counts as held. */
static int seed_rate_held(seed_run *run, const ProtobufCMessage *req)
{
    const Compact__Analytics__V1__ExchangeRate *want =
        ((const Compact__Analytics__V1__PutExchangeRateRequest *)req)->rate;
    if (!want)
        return 0;
    if (!run->rates_read) {
        Compact__Analytics__V1__ListExchangeRatesRequest list =
            COMPACT__ANALYTICS__V1__LIST_EXCHANGE_RATES_REQUEST__INIT;
        call_result res;
        run->rates_read = 1;
        if (seed_call(run, SEED_ANALYTICS, "ListExchangeRates", &list.base, &res) < 0)
            return 0;
        if (res.code == RPC_OK) {
            run->rates = (Compact__Analytics__V1__ListExchangeRatesResponse *)res.reply;
            res.reply = NULL; /* the run owns it now */
        }
        call_result_clear(&res);
    }
    for (size_t i = 0; run->rates && i < run->rates->n_rates; i++)
        if (seed_rate_equal(run->rates->rates[i], want))
            return 1;
    return 0;
}

/* ---- one entry -------------------------------------------------------------- */

/* The method and request of item `i` of `f`; *bare tells a bare
 * CreateEntityRequest or Entity of membership. The request is borrowed from
 * the item. Returns 0, or -1 after printing what is wrong. */
static int seed_entry_read(const seed_file *f, size_t i, const char **method,
                           const json_t **request, int *bare)
{
    const json_t *item = json_array_get(f->items, i);
    seed_entry e = {.file = f, .index = i, .method = "entry", .label = ""};
    if (!json_is_object(item)) {
        seed_say(&e, "expected a JSON object");
        return -1;
    }
    const json_t *m = json_object_get(item, "method");
    *bare = !m && f->svc == &seed_services[0];
    if (*bare) {
        *method = "CreateEntity"; /* a bare CreateEntityRequest or Entity */
        *request = item;
        return 0;
    }
    *method = json_string_value(m);
    *request = json_object_get(item, "request");
    if (!*method || !json_is_object(*request)) {
        seed_say(&e, "expected {\"method\": \"<RPC name>\", \"request\": {...}}");
        return -1;
    }
    return 0;
}

/* The request message of an entry from its resolved JSON, or NULL after
 * printing why. */
static ProtobufCMessage *seed_request(const seed_entry *e, const ProtobufCMethodDescriptor *m,
                                      const json_t *json, int bare)
{
    char err[256];
    ProtobufCMessage *req = bare ? entities_create_request_from_json(json, err, sizeof err)
                                 : pbjson_to_message(m->input, json, err, sizeof err);
    if (!req)
        seed_say(e, "%s", err);
    return req;
}

/* Resolves, builds and sends one entry of service `si`. */
static seed_outcome seed_send(seed_run *run, size_t si, const seed_entry *e, const json_t *request,
                              int bare)
{
    const ProtobufCMethodDescriptor *m =
        protobuf_c_service_descriptor_get_method_by_name(seed_services[si].svc, e->method);
    if (!m) {
        seed_say(e, "%s has no method %s", seed_services[si].svc->name, e->method);
        return SEED_FAILED;
    }
    json_t *json = json_deep_copy(request);
    if (!json) {
        seed_say(e, "out of memory");
        return SEED_FAILED;
    }
    ProtobufCMessage *req = NULL;
    if (seed_resolve(run, e, json) == 0)
        req = seed_request(e, m, json, bare);
    json_decref(json);
    if (!req)
        return SEED_FAILED;
    if (si == SEED_ANALYTICS && strcmp(e->method, "PutExchangeRate") == 0 &&
        seed_rate_held(run, req)) {
        protobuf_c_message_free_unpacked(req, NULL);
        return SEED_PRESENT;
    }
    call_result res;
    int rc = seed_call(run, si, e->method, req, &res);
    protobuf_c_message_free_unpacked(req, NULL);
    if (rc < 0)
        return SEED_FAILED;
    seed_outcome out = SEED_FAILED;
    if (res.code == RPC_OK)
        out = SEED_CREATED;
    else if (res.code == RPC_ALREADY_EXISTS && strncmp(e->method, "Create", 6) == 0)
        out = SEED_PRESENT;
    else
        seed_say(e, "%s: %s", rpc_code_name(res.code), res.message);
    call_result_clear(&res);
    return out;
}

static void seed_count(seed_counts *n, seed_outcome out)
{
    if (out == SEED_CREATED)
        n->created++;
    else if (out == SEED_PRESENT)
        n->present++;
    else
        n->failed++;
}

/* Sends the entries of one file in order, following the aggregate rule of
 * the header comment. */
static void seed_file_load(seed_run *run, size_t si, const seed_file *f)
{
    seed_counts *n = &run->counts[si];
    /* How the current aggregate's Create* ended; SEED_CREATED: send on. */
    seed_outcome head = SEED_CREATED;
    const char *head_method = "", *label = "";
    for (size_t i = 0; i < json_array_size(f->items); i++) {
        const char *method;
        const json_t *request;
        int bare;
        if (seed_entry_read(f, i, &method, &request, &bare) < 0) {
            n->failed++;
            continue;
        }
        int create = strncmp(method, "Create", 6) == 0;
        if (create) {
            label = seed_label(request);
            head_method = method;
        }
        seed_entry e = {.file = f, .index = i, .method = method, .label = label};
        if (!create && head != SEED_CREATED) {
            if (head == SEED_FAILED && !run->unreachable[si])
                seed_say(&e, "not sent: its %s failed", head_method);
            seed_count(n, head);
            continue;
        }
        seed_outcome out = seed_send(run, si, &e, request, bare);
        if (create)
            head = out;
        seed_count(n, out);
    }
}

/* ---- files and directories ---------------------------------------------------- */

static int seed_exists(const char *path)
{
    return access(path, R_OK) == 0;
}

/* Whether `dir` holds the seed file of any service wanted. */
static int seed_dir_has(const char *dir, const seed_service *only)
{
    char path[PATH_MAX + 64];
    for (size_t i = 0; i < SEED_NSERVICES; i++) {
        if (only && only != &seed_services[i])
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, seed_services[i].file);
        if (seed_exists(path))
            return 1;
    }
    return 0;
}

/* The seed directory: $COMPACT_SEED_DIR (only it, when set), else
 * <binary>/../share/compact/seed, else ./seed; the first that holds a seed
 * file of a service wanted (`only`, or NULL: any). 0 and buf, or -1 after
 * printing where it looked. */
static int seed_find_dir(const seed_service *only, char *buf, size_t len)
{
    const char *env = getenv("COMPACT_SEED_DIR");
    if (env && *env) {
        snprintf(buf, len, "%s", env);
        if (seed_dir_has(buf, only))
            return 0;
        fprintf(stderr, "compactctl: no seed file in %s (from COMPACT_SEED_DIR)\n", buf);
        return -1;
    }
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        snprintf(buf, len, "%s/../share/compact/seed", dirname(exe));
        if (seed_dir_has(buf, only))
            return 0;
    }
    snprintf(buf, len, "seed");
    if (seed_dir_has(buf, only))
        return 0;
    fprintf(stderr, "compactctl: no seed file: set COMPACT_SEED_DIR, install "
                    "share/compact/seed beside bin/, run from the source tree, or give "
                    "--file\n");
    return -1;
}

/* Reads `path` ("-": standard input) into f. 0, or -1 after printing why. */
static int seed_file_read(seed_file *f, const char *path)
{
    snprintf(f->name, sizeof f->name, "%s", strcmp(path, "-") ? path : "<stdin>");
    f->items = cli_read_json(path);
    if (!f->items)
        return -1;
    if (json_is_array(f->items))
        return 0;
    fprintf(stderr, "compactctl: %s: expected a JSON array of %s\n", f->name,
            f->svc == &seed_services[0] ? "CreateEntityRequest or {\"method\", \"request\"}"
                                        : "{\"method\", \"request\"}");
    json_decref(f->items);
    f->items = NULL;
    return -1;
}

/* Reads the files of the services wanted from `dir`; an absent one is
 * skipped (said on stderr). 0, or -1 after printing why. */
static int seed_files_from_dir(seed_file *files, const char *dir, const seed_service *only)
{
    for (size_t i = 0; i < SEED_NSERVICES; i++) {
        const seed_service *s = &seed_services[i];
        char path[PATH_MAX + 64];
        if (only && only != s)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, s->file);
        if (!seed_exists(path)) {
            fprintf(stderr, "compactctl: seed: no %s in %s: %s skipped\n", s->file, dir, s->name);
            continue;
        }
        if (seed_file_read(&files[i], path) < 0)
            return -1;
    }
    return 0;
}

/* ---- the command ----------------------------------------------------------------- */

static int seed_print(cli_ctx *ctx, const seed_run *run, const seed_file *files)
{
    int failed = 0;
    json_t *all = ctx->json ? json_object() : NULL;
    for (size_t i = 0; i < SEED_NSERVICES; i++) {
        const seed_counts *n = &run->counts[i];
        if (!files[i].items)
            continue;
        failed |= n->failed > 0;
        if (!ctx->json) {
            printf("%s: created %zu, already present %zu, failed %zu\n", seed_services[i].name,
                   n->created, n->present, n->failed);
            continue;
        }
        json_t *j =
            json_pack("{s:I, s:I, s:I}", "created", (json_int_t)n->created, "alreadyPresent",
                      (json_int_t)n->present, "failed", (json_int_t)n->failed);
        if (all && (!j || json_object_set_new(all, seed_services[i].name, j) < 0)) {
            json_decref(all);
            all = NULL;
        }
    }
    if (ctx->json && output_json(all) != 0)
        return CLI_EXIT_FAIL;
    return failed ? CLI_EXIT_FAIL : CLI_EXIT_OK;
}

static void seed_run_clear(seed_run *run, seed_file *files)
{
    while (run->refs) {
        seed_ref *r = run->refs;
        run->refs = r->next;
        free(r->key);
        free(r->id);
        free(r);
    }
    if (run->rates)
        protobuf_c_message_free_unpacked(&run->rates->base, NULL);
    run->rates = NULL;
    for (size_t i = 0; i < SEED_NSERVICES; i++)
        json_decref(files[i].items);
}

/* Reads every file first, so that a broken one stops the run before any
 * call; then loads them in order. */
static int seed_load(cli_ctx *ctx, const char *file, const seed_service *only)
{
    seed_file files[SEED_NSERVICES] = {0};
    seed_run run = {.ctx = ctx};
    char dir[PATH_MAX];
    int rc = 0;
    for (size_t i = 0; i < SEED_NSERVICES; i++)
        files[i].svc = &seed_services[i];
    if (file)
        rc = seed_file_read(&files[(size_t)(only - seed_services)], file);
    else if ((rc = seed_find_dir(only, dir, sizeof dir)) == 0)
        rc = seed_files_from_dir(files, dir, only);
    if (rc == 0) {
        for (size_t i = 0; i < SEED_NSERVICES; i++)
            if (files[i].items)
                seed_file_load(&run, i, &files[i]);
        rc = seed_print(ctx, &run, files);
    } else {
        rc = CLI_EXIT_FAIL;
    }
    seed_run_clear(&run, files);
    return rc;
}

static const seed_service *seed_service_find(const char *name)
{
    for (size_t i = 0; i < SEED_NSERVICES; i++)
        if (strcmp(seed_services[i].name, name) == 0)
            return &seed_services[i];
    return NULL;
}

static int seed_cmd(cli_ctx *ctx, int argc, char **argv)
{
    const char *file = NULL, *service = NULL;
    int c;
    while ((c = cli_getopt(ctx, argc, argv, seed_opts)) != -1) {
        if (c == 'f')
            file = optarg;
        else if (c == 's')
            service = optarg;
        else
            return cli_getopt_stop(ctx, c);
    }
    if (optind < argc)
        return cli_usage_error(ctx, "unexpected argument \"%s\"", argv[optind]);
    const seed_service *only = service ? seed_service_find(service) : NULL;
    if (service && !only)
        return cli_usage_error(ctx,
                               "--service: expected membership, workgroups, projects or "
                               "analytics, got \"%s\"",
                               service);
    if (file && !only)
        only = &seed_services[0];
    return seed_load(ctx, file, only);
}

const cli_command seed_commands[] = {
    {.group = "seed",
     .fn = seed_cmd,
     .summary = "load the seed data of every service (idempotent)",
     .usage = "seed [--service NAME] [--file PATH]\n\n"
              "Loads the seed files of membership, workgroups, projects and analytics\n"
              "(its dated exchange rates), in this order, from the seed directory:\n"
              "$COMPACT_SEED_DIR, else <binary>/../share/compact/seed, else ./seed. A\n"
              "service without its file (membership/entities.json,\n"
              "workgroups/groups.json, projects/projects.json, analytics/rates.json) is\n"
              "skipped.\n\n"
              "A file is a JSON array of {\"method\": \"<RPC name>\", \"request\": {...}}\n"
              "in proto3 JSON (membership's may hold bare CreateEntityRequest). The\n"
              "strings \"@entity:<ACRONYM>\", \"@group:<CODE>\" and \"@project:<IATI id>\"\n"
              "are replaced by the ids the services give them.\n\n"
              "Idempotent: a Create* answered ALREADY_EXISTS is already present, and so\n"
              "are the entries after it up to the next Create* (they belong to the\n"
              "existing aggregate and are not sent again); a PutExchangeRate whose rate\n"
              "analytics holds already, equal in every field, is already present.\n\n"
              "Prints \"<service>: created N, already present M, failed K\" (entries\n"
              "of its file) for each service loaded; exits 1 if any entry failed.\n"
              "Each service's address: COMPACT_<SERVICE>_ADDR, else its default;\n"
              "--addr sends every call, references included, to one address.\n\n"
              "  --service NAME  load only this service's seed\n"
              "  --file PATH     load PATH (\"-\": standard input) as the seed of\n"
              "                  --service, default membership\n"},
    {0},
};
