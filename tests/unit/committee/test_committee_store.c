/* test_committee_store.c: the committee service's tables
 * (committee_store.h) on an in-memory store.
 *
 * - pages: each list gives the rows after a key "<sort value>|<id>" in the
 *   table's order, rows with equal sort values in id order (decisions of one
 *   day, representatives from one date, proposals of one instant; meetings
 *   are one a day); paging with any limit from "" visits every row once, in
 *   order; a key that names no row starts after where it would be; a row
 *   added behind the last page is not seen, one ahead of it is; filters
 *   (status, meeting, type, year) keep only their rows;
 * - the effects' queue: decisions with PENDING effects, oldest first, and a
 *   decision whose effects were all carried out leaves it;
 * - committee_store_allocated sums only APPROVED proposals of the year and
 *   currency, and follows their updates;
 * - envelopes: put and get by year with the version check and the etag,
 *   listed by year.
 */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "committee_store.h"
#include "etag.h"
#include "log.h"
#include "pbmsg.h"
#include "pbtime.h"

typedef Compact__Committee__V1__Representative Representative;
typedef Compact__Committee__V1__Meeting Meeting;
typedef Compact__Committee__V1__Decision Decision;
typedef Compact__Committee__V1__Effect Effect;
typedef Compact__Committee__V1__Proposal Proposal;
typedef Compact__Committee__V1__Envelope Envelope;
typedef Compact__Projects__V1__Money Money;

#define PROPOSED COMPACT__COMMITTEE__V1__PROPOSAL_STATUS__PROPOSAL_STATUS_PROPOSED
#define APPROVED COMPACT__COMMITTEE__V1__PROPOSAL_STATUS__PROPOSAL_STATUS_APPROVED
#define WITHDRAWN COMPACT__COMMITTEE__V1__PROPOSAL_STATUS__PROPOSAL_STATUS_WITHDRAWN
#define PENDING COMPACT__COMMITTEE__V1__EFFECT_STATUS__EFFECT_STATUS_PENDING
#define APPLIED COMPACT__COMMITTEE__V1__EFFECT_STATUS__EFFECT_STATUS_APPLIED
#define FAILED COMPACT__COMMITTEE__V1__EFFECT_STATUS__EFFECT_STATUS_FAILED

/* ---- fixtures and builders --------------------------------------------------------- */

static int open_store(void **state)
{
    store *st = NULL;

    assert_int_equal(store_open(":memory:", "committee", committee_store_migrations,
                                committee_store_migrations_count, &st),
                     0);
    *state = st;
    return 0;
}

static int close_store(void **state)
{
    store_close(*state);
    return 0;
}

static char *xstrdup(const char *s)
{
    char *c = strdup(s);

    assert_non_null(c);
    return c;
}

static void *xcalloc(size_t size)
{
    void *p = calloc(1, size);

    assert_non_null(p);
    return p;
}

static Money *money(const char *currency, int64_t amount)
{
    Money *m = xcalloc(sizeof *m);

    compact__projects__v1__money__init(m);
    m->currency = xstrdup(currency);
    m->amount_minor = amount;
    return m;
}

static void put_representative(store *st, const char *id, const char *from)
{
    Representative *r = xcalloc(sizeof *r);

    compact__committee__v1__representative__init(r);
    r->id = xstrdup(id);
    r->from_date = xstrdup(from);
    r->entity_id = xstrdup(id + 4); /* a seat is one (role, entity, from_date) */
    assert_int_equal(docstore_insert(st, &committee_representatives, &r->base), 0);
    pbmsg_free(&r->base);
}

static void put_meeting(store *st, const char *id, const char *date, int status)
{
    Meeting *m = xcalloc(sizeof *m);

    compact__committee__v1__meeting__init(m);
    m->id = xstrdup(id);
    m->date = xstrdup(date);
    m->status = (Compact__Committee__V1__MeetingStatus)status;
    assert_int_equal(docstore_insert(st, &committee_meetings, &m->base), 0);
    pbmsg_free(&m->base);
}

/* A decision with one effect per letter of `effects`: 'p' pending, 'a'
 * applied, 'f' failed. */
static Decision *decision_new(const char *id, const char *meeting, const char *on, int type,
                              int64_t create_ms, const char *effects)
{
    Decision *d = xcalloc(sizeof *d);
    size_t n = strlen(effects);

    compact__committee__v1__decision__init(d);
    d->id = xstrdup(id);
    d->meeting_id = xstrdup(meeting);
    d->decided_on = xstrdup(on);
    d->type = (Compact__Committee__V1__DecisionType)type;
    d->title = xstrdup("a decision");
    assert_int_equal(pbtime_set(&d->create_time, create_ms), 0);
    d->effects = xcalloc((n ? n : 1) * sizeof(Effect *));
    for (size_t i = 0; i < n; i++) {
        Effect *e = xcalloc(sizeof *e);
        compact__committee__v1__effect__init(e);
        e->number = (int32_t)i + 1;
        e->status = effects[i] == 'p' ? PENDING : effects[i] == 'a' ? APPLIED : FAILED;
        d->effects[d->n_effects++] = e;
    }
    return d;
}

static void put_decision(store *st, const char *id, const char *meeting, const char *on, int type,
                         int64_t create_ms, const char *effects)
{
    Decision *d = decision_new(id, meeting, on, type, create_ms, effects);

    assert_int_equal(docstore_insert(st, &committee_decisions, &d->base), 0);
    pbmsg_free(&d->base);
}

static Proposal *proposal_new(const char *id, int year, int64_t create_ms, int status,
                              const char *currency, int64_t amount)
{
    Proposal *p = xcalloc(sizeof *p);

    compact__committee__v1__proposal__init(p);
    p->id = xstrdup(id);
    p->year = year;
    p->status = (Compact__Committee__V1__ProposalStatus)status;
    p->amount = money(currency, amount);
    assert_int_equal(pbtime_set(&p->create_time, create_ms), 0);
    return p;
}

static void put_proposal(store *st, const char *id, int year, int64_t create_ms, int status,
                         const char *currency, int64_t amount)
{
    Proposal *p = proposal_new(id, year, create_ms, status, currency, amount);

    assert_int_equal(docstore_insert(st, &committee_proposals, &p->base), 0);
    pbmsg_free(&p->base);
}

/* ---- paging --------------------------------------------------------------------------- */

/* One page of a list: a closure over the store call and its filters. */
typedef struct lister {
    int (*page)(const struct lister *l, store *st, const char *after, size_t limit,
                ProtobufCMessage ***out, size_t *n);
    void (*key)(const ProtobufCMessage *m, char *buf, size_t size);
    int status, type, year;
    const char *meeting_id;
} lister;

static int page_representatives(const lister *l, store *st, const char *after, size_t limit,
                                ProtobufCMessage ***out, size_t *n)
{
    (void)l;
    return committee_store_representatives(st, after, limit, out, n);
}

static int page_meetings(const lister *l, store *st, const char *after, size_t limit,
                         ProtobufCMessage ***out, size_t *n)
{
    return committee_store_meetings(st, l->status, after, limit, out, n);
}

static int page_decisions(const lister *l, store *st, const char *after, size_t limit,
                          ProtobufCMessage ***out, size_t *n)
{
    return committee_store_decisions(st, l->meeting_id ? l->meeting_id : "", l->type, after, limit,
                                     out, n);
}

static int page_proposals(const lister *l, store *st, const char *after, size_t limit,
                          ProtobufCMessage ***out, size_t *n)
{
    return committee_store_proposals(st, l->year, l->status, after, limit, out, n);
}

/* The services' own page keys (composition.c, meetings.c, decisions.c,
 * funding.c). */
static void key_representative(const ProtobufCMessage *m, char *buf, size_t size)
{
    const Representative *r = (const Representative *)m;
    snprintf(buf, size, "%s|%s", r->from_date, r->id);
}

static void key_meeting(const ProtobufCMessage *m, char *buf, size_t size)
{
    const Meeting *mt = (const Meeting *)m;
    snprintf(buf, size, "%s|%s", mt->date, mt->id);
}

static void key_decision(const ProtobufCMessage *m, char *buf, size_t size)
{
    const Decision *d = (const Decision *)m;
    snprintf(buf, size, "%s|%s", d->decided_on, d->id);
}

static void key_proposal(const ProtobufCMessage *m, char *buf, size_t size)
{
    const Proposal *p = (const Proposal *)m;
    snprintf(buf, size, "%04d.%015" PRId64 "|%s", p->year, pbtime_ms(p->create_time), p->id);
}

/* Pages through the whole list `limit` rows at a time and checks that the
 * ids come exactly as `want` (NULL-terminated). */
static void assert_pages(store *st, const lister *l, size_t limit, const char *const *want)
{
    char after[128] = "";
    size_t at = 0, pages = 0;

    for (;;) {
        ProtobufCMessage **v = NULL;
        size_t n = 0;
        assert_int_equal(l->page(l, st, after, limit, &v, &n), 0);
        assert_true(n <= limit);
        for (size_t i = 0; i < n; i++) {
            const char *id = pbmsg_string(v[i], "id");
            if (want[at] == NULL)
                fail_msg("page %zu (limit %zu): %s after the last row", pages, limit, id);
            if (strcmp(id, want[at]) != 0)
                fail_msg("page %zu (limit %zu), row %zu: %s, wanted %s", pages, limit, at, id,
                         want[at]);
            at++;
        }
        if (n > 0)
            l->key(v[n - 1], after, sizeof after);
        docstore_rows_free(v, n);
        pages++;
        if (n < limit)
            break;
        assert_true(pages < 100);
    }
    if (want[at] != NULL)
        fail_msg("limit %zu: the pages ended before %s", limit, want[at]);
}

static void assert_all_limits(store *st, const lister *l, const char *const *want)
{
    for (size_t limit = 1; limit <= 8; limit++)
        assert_pages(st, l, limit, want);
}

/* The ids of one page after `after`, as "a,b,c". */
static void page_ids(store *st, const lister *l, const char *after, size_t limit, char *buf,
                     size_t size)
{
    ProtobufCMessage **v = NULL;
    size_t n = 0, at = 0;

    assert_int_equal(l->page(l, st, after, limit, &v, &n), 0);
    buf[0] = '\0';
    for (size_t i = 0; i < n; i++)
        at += (size_t)snprintf(buf + at, size - at, "%s%s", i ? "," : "", pbmsg_string(v[i], "id"));
    docstore_rows_free(v, n);
}

static void test_meeting_pages(void **state)
{
    store *st = *state;
    const lister all = {page_meetings, key_meeting, 0, 0, 0, NULL};
    const lister held = {page_meetings, key_meeting, 2, 0, 0, NULL};
    static const char *const order[] = {"mtg_c", "mtg_a", "mtg_b", "mtg_d",
                                        "mtg_e", "mtg_f", "mtg_z", NULL};
    static const char *const held_order[] = {"mtg_a", "mtg_d", "mtg_f", NULL};
    Meeting *dup;
    char ids[128];

    /* inserted out of order; ids not in date order */
    put_meeting(st, "mtg_z", "2025-01-01", 1);
    put_meeting(st, "mtg_b", "2024-03-02", 1);
    put_meeting(st, "mtg_f", "2024-09-10", 2);
    put_meeting(st, "mtg_a", "2024-03-01", 2);
    put_meeting(st, "mtg_e", "2024-09-09", 3);
    put_meeting(st, "mtg_d", "2024-03-03", 2);
    put_meeting(st, "mtg_c", "2023-12-31", 1);
    /* the Committee meets once a day: no second meeting on a date (so the
     * id never has to break a tie of dates here; decisions and the others
     * show it does) */
    dup = xcalloc(sizeof *dup);
    compact__committee__v1__meeting__init(dup);
    dup->id = xstrdup("mtg_dup");
    dup->date = xstrdup("2024-03-01");
    assert_int_equal(docstore_insert(st, &committee_meetings, &dup->base), -EEXIST);
    pbmsg_free(&dup->base);
    assert_all_limits(st, &all, order);
    assert_all_limits(st, &held, held_order);
    /* a key that names no row: the rows after where it would be */
    page_ids(st, &all, "2024-03-01|mtg_aa", 3, ids, sizeof ids);
    assert_string_equal(ids, "mtg_b,mtg_d,mtg_e");
    page_ids(st, &all, "2024-03-01|mtg_0", 2, ids, sizeof ids);
    assert_string_equal(ids, "mtg_a,mtg_b");
    page_ids(st, &all, "2024-06-01|", 10, ids, sizeof ids);
    assert_string_equal(ids, "mtg_e,mtg_f,mtg_z");
    page_ids(st, &all, "2025-01-01|mtg_z", 10, ids, sizeof ids);
    assert_string_equal(ids, "");
    /* rows added between pages: behind the key not seen, ahead of it seen */
    page_ids(st, &all, "", 3, ids, sizeof ids);
    assert_string_equal(ids, "mtg_c,mtg_a,mtg_b");
    put_meeting(st, "mtg_0", "2024-02-15", 1);  /* before mtg_b */
    put_meeting(st, "mtg_c2", "2024-03-04", 1); /* after it */
    page_ids(st, &all, "2024-03-02|mtg_b", 3, ids, sizeof ids);
    assert_string_equal(ids, "mtg_d,mtg_c2,mtg_e");
}

static void test_representative_pages(void **state)
{
    store *st = *state;
    const lister all = {page_representatives, key_representative, 0, 0, 0, NULL};
    static const char *const order[] = {"rep_9", "rep_1", "rep_2", "rep_3", "rep_0", NULL};

    put_representative(st, "rep_3", "2020-01-01");
    put_representative(st, "rep_0", "2022-05-05");
    put_representative(st, "rep_2", "2020-01-01");
    put_representative(st, "rep_9", "2017-06-15");
    put_representative(st, "rep_1", "2020-01-01");
    assert_all_limits(st, &all, order);
}

static void test_decision_pages(void **state)
{
    store *st = *state;
    const lister all = {page_decisions, key_decision, 0, 0, 0, NULL};
    const lister of_m1 = {page_decisions, key_decision, 0, 0, 0, "mtg_1"};
    const lister allocations = {page_decisions, key_decision, 0, 3, 0, NULL};
    const lister m1_allocations = {page_decisions, key_decision, 0, 3, 0, "mtg_1"};
    static const char *const order[] = {"dec_a", "dec_b", "dec_c", "dec_d", "dec_e", NULL};
    static const char *const m1[] = {"dec_a", "dec_b", "dec_c", NULL};
    static const char *const alloc[] = {"dec_b", "dec_c", "dec_e", NULL};
    static const char *const m1_alloc[] = {"dec_b", "dec_c", NULL};
    static const char *const none[] = {NULL};
    const lister nowhere = {page_decisions, key_decision, 0, 0, 0, "mtg_none"};

    put_decision(st, "dec_e", "mtg_2", "2024-06-01", 3, 5000, "p");
    put_decision(st, "dec_c", "mtg_1", "2024-03-01", 3, 4000, "a");
    put_decision(st, "dec_a", "mtg_1", "2024-03-01", 1, 3000, "");
    put_decision(st, "dec_d", "mtg_2", "2024-06-01", 7, 2000, "");
    put_decision(st, "dec_b", "mtg_1", "2024-03-01", 3, 1000, "pp");
    assert_all_limits(st, &all, order);
    assert_all_limits(st, &of_m1, m1);
    assert_all_limits(st, &allocations, alloc);
    assert_all_limits(st, &m1_allocations, m1_alloc);
    assert_all_limits(st, &nowhere, none);
}

static void test_proposal_pages(void **state)
{
    store *st = *state;
    const lister all = {page_proposals, key_proposal, 0, 0, 0, NULL};
    const lister y2024 = {page_proposals, key_proposal, 0, 0, 2024, NULL};
    const lister approved = {page_proposals, key_proposal, APPROVED, 0, 0, NULL};
    const lister y2024_approved = {page_proposals, key_proposal, APPROVED, 0, 2024, NULL};
    /* by year, then creation time (a number, not text: 999 before 1000),
     * then id */
    static const char *const order[] = {"cfp_h", "cfp_a", "cfp_c", "cfp_b",
                                        "cfp_d", "cfp_g", "cfp_e", NULL};
    static const char *const y24[] = {"cfp_a", "cfp_c", "cfp_b", "cfp_d", "cfp_g", NULL};
    static const char *const appr[] = {"cfp_h", "cfp_c", "cfp_g", "cfp_e", NULL};
    static const char *const y24appr[] = {"cfp_c", "cfp_g", NULL};

    put_proposal(st, "cfp_e", 2025, 10, APPROVED, "EUR", 1);
    put_proposal(st, "cfp_b", 2024, 1000, PROPOSED, "EUR", 1);
    put_proposal(st, "cfp_d", 2024, 1000, WITHDRAWN, "EUR", 1);
    put_proposal(st, "cfp_a", 2024, 999, PROPOSED, "EUR", 1);
    put_proposal(st, "cfp_g", 2024, INT64_C(1735689600000), APPROVED, "EUR", 1); /* 2025 */
    put_proposal(st, "cfp_c", 2024, 999, APPROVED, "EUR", 1);
    put_proposal(st, "cfp_h", 2023, INT64_C(1735689600000), APPROVED, "EUR", 1);
    assert_all_limits(st, &all, order);
    assert_all_limits(st, &y2024, y24);
    assert_all_limits(st, &approved, appr);
    assert_all_limits(st, &y2024_approved, y24appr);
}

/* ---- the effects' queue ------------------------------------------------------------------ */

static void assert_pending(store *st, size_t limit, const char *want)
{
    ProtobufCMessage **v = NULL;
    size_t n = 0, at = 0;
    char ids[128] = "";

    assert_int_equal(committee_store_pending_decisions(st, limit, &v, &n), 0);
    for (size_t i = 0; i < n; i++)
        at += (size_t)snprintf(ids + at, sizeof ids - at, "%s%s", i ? "," : "",
                               ((Decision *)v[i])->id);
    docstore_rows_free(v, n);
    assert_string_equal(ids, want);
}

static void test_pending_decisions(void **state)
{
    store *st = *state;
    ProtobufCMessage *out = NULL;
    int64_t version;
    Decision *d;

    put_decision(st, "dec_late", "mtg_1", "2024-01-01", 3, 9000, "ap");
    put_decision(st, "dec_done", "mtg_1", "2024-01-01", 3, 1000, "aaf");
    put_decision(st, "dec_b", "mtg_1", "2024-01-01", 3, 5000, "p");
    put_decision(st, "dec_a", "mtg_1", "2024-01-01", 3, 5000, "pp");
    put_decision(st, "dec_none", "mtg_1", "2024-01-01", 7, 100, "");
    assert_pending(st, 10, "dec_a,dec_b,dec_late");
    assert_pending(st, 2, "dec_a,dec_b");
    /* dec_a's effects carried out: it leaves the queue */
    assert_int_equal(docstore_load(st, &committee_decisions, "dec_a", &out, &version), 0);
    d = (Decision *)out;
    d->effects[0]->status = APPLIED;
    assert_int_equal(docstore_update(st, &committee_decisions, &d->base, version), 0);
    assert_pending(st, 10, "dec_a,dec_b,dec_late"); /* one still pending */
    d->effects[1]->status = FAILED;
    assert_int_equal(docstore_update(st, &committee_decisions, &d->base, version + 1), 0);
    assert_pending(st, 10, "dec_b,dec_late");
    pbmsg_free(&d->base);
}

/* ---- allocated ---------------------------------------------------------------------------- */

static int64_t allocated(store *st, int year, const char *currency)
{
    int64_t sum = -1;

    assert_int_equal(committee_store_allocated(st, year, currency, &sum), 0);
    return sum;
}

static void test_allocated(void **state)
{
    store *st = *state;
    ProtobufCMessage *out = NULL;
    int64_t version;
    Proposal *p;

    assert_int_equal(allocated(st, 2024, "EUR"), 0); /* nothing at all */
    put_proposal(st, "cfp_1", 2024, 1, APPROVED, "EUR", 10000);
    put_proposal(st, "cfp_2", 2024, 2, APPROVED, "EUR", 25000);
    put_proposal(st, "cfp_3", 2024, 3, PROPOSED, "EUR", 100000);
    put_proposal(st, "cfp_4", 2024, 4, WITHDRAWN, "EUR", 50000);
    put_proposal(st, "cfp_5", 2024, 5, APPROVED, "USD", 70000);
    put_proposal(st, "cfp_6", 2025, 6, APPROVED, "EUR", 90000);
    put_proposal(st, "cfp_7", 2023, 7, APPROVED, "EUR", 1);
    assert_int_equal(allocated(st, 2024, "EUR"), 35000);
    assert_int_equal(allocated(st, 2024, "USD"), 70000);
    assert_int_equal(allocated(st, 2025, "EUR"), 90000);
    assert_int_equal(allocated(st, 2023, "EUR"), 1);
    assert_int_equal(allocated(st, 2026, "EUR"), 0);
    assert_int_equal(allocated(st, 2024, "GBP"), 0);
    /* approving one adds it; withdrawing an approved one takes it away */
    assert_int_equal(docstore_load(st, &committee_proposals, "cfp_3", &out, &version), 0);
    p = (Proposal *)out;
    p->status = APPROVED;
    assert_int_equal(docstore_update(st, &committee_proposals, &p->base, version), 0);
    pbmsg_free(&p->base);
    assert_int_equal(allocated(st, 2024, "EUR"), 135000);
    assert_int_equal(docstore_load(st, &committee_proposals, "cfp_1", &out, &version), 0);
    p = (Proposal *)out;
    p->status = WITHDRAWN;
    assert_int_equal(docstore_update(st, &committee_proposals, &p->base, version), 0);
    pbmsg_free(&p->base);
    assert_int_equal(allocated(st, 2024, "EUR"), 125000);
    /* the largest amounts add up exactly */
    put_proposal(st, "cfp_8", 2030, 8, APPROVED, "JPY", INT64_C(100000000000000));
    put_proposal(st, "cfp_9", 2030, 9, APPROVED, "JPY", INT64_C(100000000000000));
    assert_int_equal(allocated(st, 2030, "JPY"), INT64_C(200000000000000));
}

/* ---- envelopes ---------------------------------------------------------------------------- */

static Envelope *envelope_new(int year, const char *currency, int64_t amount)
{
    Envelope *e = xcalloc(sizeof *e);

    compact__committee__v1__envelope__init(e);
    e->year = year;
    e->amount = money(currency, amount);
    return e;
}

static void assert_envelope(store *st, int year, int64_t amount, int64_t version)
{
    Envelope *e = NULL;
    int64_t v = -1;
    char id[16], etag[ETAG_SIZE];

    assert_int_equal(committee_store_envelope(st, year, &e, &v), 0);
    assert_int_equal(v, version);
    assert_int_equal(e->year, year);
    assert_int_equal(e->amount->amount_minor, amount);
    snprintf(id, sizeof id, "%d", year);
    etag_of(id, version, etag, sizeof etag);
    assert_string_equal(e->etag, etag);
    pbmsg_free(&e->base);
}

static void test_envelopes(void **state)
{
    store *st = *state;
    Envelope *e = envelope_new(2024, "USD", 100000000), *out = NULL;
    ProtobufCMessage **v = NULL;
    int64_t version = 42;
    size_t n = 0;
    char etag[ETAG_SIZE];

    assert_int_equal(committee_store_envelope(st, 2024, &out, &version), -ENOENT);
    assert_null(out);
    /* a new year at version 0 */
    assert_int_equal(committee_store_put_envelope(st, e, 0), 0);
    etag_of("2024", 1, etag, sizeof etag);
    assert_string_equal(e->etag, etag);
    assert_envelope(st, 2024, 100000000, 1);
    /* version 0 again: the year exists, so it is stale */
    e->amount->amount_minor = 1;
    assert_int_equal(committee_store_put_envelope(st, e, 0), -ESTALE);
    assert_envelope(st, 2024, 100000000, 1);
    /* over the version read */
    e->amount->amount_minor = 200000000;
    assert_int_equal(committee_store_put_envelope(st, e, 1), 0);
    assert_envelope(st, 2024, 200000000, 2);
    e->amount->amount_minor = 2;
    assert_int_equal(committee_store_put_envelope(st, e, 1), -ESTALE);
    assert_int_equal(committee_store_put_envelope(st, e, 3), -ESTALE);
    assert_envelope(st, 2024, 200000000, 2);
    pbmsg_free(&e->base);

    /* listed by year, whatever the order they came in */
    e = envelope_new(2026, "EUR", 5);
    assert_int_equal(committee_store_put_envelope(st, e, 0), 0);
    pbmsg_free(&e->base);
    e = envelope_new(2025, "EUR", 6);
    assert_int_equal(committee_store_put_envelope(st, e, 0), 0);
    pbmsg_free(&e->base);
    assert_int_equal(committee_store_envelopes(st, &v, &n), 0);
    assert_int_equal(n, 3);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(((Envelope *)v[i])->year, 2024 + (int)i);
    docstore_rows_free(v, n);
}

/* A version that was never stored is stale too: a year with no envelope
 * has version 0 ("version 0: a new year"), so writing "over version 5"
 * must not create it at version 6. */
static void test_envelope_new_year_needs_version_0(void **state)
{
    store *st = *state;
    Envelope *e = envelope_new(2031, "USD", 7), *out = NULL;
    int64_t version;

    assert_int_equal(committee_store_put_envelope(st, e, 5), -ESTALE);
    assert_int_equal(committee_store_envelope(st, 2031, &out, &version), -ENOENT);
    assert_int_equal(committee_store_put_envelope(st, e, 0), 0);
    assert_envelope(st, 2031, 7, 1);
    pbmsg_free(&e->base);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_meeting_pages, open_store, close_store),
        cmocka_unit_test_setup_teardown(test_representative_pages, open_store, close_store),
        cmocka_unit_test_setup_teardown(test_decision_pages, open_store, close_store),
        cmocka_unit_test_setup_teardown(test_proposal_pages, open_store, close_store),
        cmocka_unit_test_setup_teardown(test_pending_decisions, open_store, close_store),
        cmocka_unit_test_setup_teardown(test_allocated, open_store, close_store),
        cmocka_unit_test_setup_teardown(test_envelopes, open_store, close_store),
        cmocka_unit_test_setup_teardown(test_envelope_new_year_needs_version_0, open_store,
                                        close_store),
    };

    log_init("test_committee_store", LOG_LEVEL_ERROR);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
