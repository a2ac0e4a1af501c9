/* meetings.c: the Committee's meetings and their action points. */
#include "committee.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ids.h"
#include "page.h"
#include "pbmsg.h"
#include "pbstr.h"
#include "peers.h"
#include "status.h"
#include "validate.h"

typedef Compact__Committee__V1__Meeting Meeting;
typedef Compact__Committee__V1__ActionPoint ActionPoint;

#define STATUS(x) COMPACT__COMMITTEE__V1__MEETING_STATUS__MEETING_STATUS_##x
#define ACTION_OPEN COMPACT__COMMITTEE__V1__ACTION_STATUS__ACTION_STATUS_OPEN
#define FIELD_SIZE 80

enum meeting_field {
    M_NUMBER = 1 << 0,
    M_DATE = 1 << 1,
    M_FORMAT = 1 << 2,
    M_AGENDA = 1 << 3,
    M_ATTENDANCE = 1 << 4,
    M_SUMMARY = 1 << 5,
    M_STATUS = 1 << 6,
    M_VERIFIED = 1 << 7,
    M_SOURCE_NOTE = 1 << 8,
    M_ALL = (1 << 9) - 1,
};

static const fieldmask_field meeting_fields[] = {
    {"number", M_NUMBER, NULL},
    {"date", M_DATE, NULL},
    {"format", M_FORMAT, NULL},
    {"agenda", M_AGENDA, NULL},
    {"attendance", M_ATTENDANCE, NULL},
    {"summary", M_SUMMARY, NULL},
    {"status", M_STATUS, NULL},
    {"verified", M_VERIFIED, NULL},
    {"source_note", M_SOURCE_NOTE, NULL},
    {"action_points", 0, "cannot be updated here; use AddActionPoint and UpdateActionPoint"},
    {"id", 0, "is output only"},
    {"create_time", 0, "is output only"},
    {"update_time", 0, "is output only"},
    {"etag", 0, "is output only"},
    {NULL, 0, NULL},
};

enum action_field {
    A_DESCRIPTION = 1 << 0,
    A_OWNER = 1 << 1,
    A_DUE_ON = 1 << 2,
    A_STATUS = 1 << 3,
    A_ALL = (1 << 4) - 1,
};

static const fieldmask_field action_fields[] = {
    {"description", A_DESCRIPTION, NULL},
    {"owner_entity_id", A_OWNER, NULL},
    {"due_on", A_DUE_ON, NULL},
    {"status", A_STATUS, NULL},
    {"id", 0, "is output only"},
    {"meeting_id", 0, "is output only"},
    {NULL, 0, NULL},
};

static int load_meeting(void *st, const char *id, ProtobufCMessage **out, int64_t *version)
{
    return docstore_load(st, &committee_meetings, id, out, version);
}

static int load_meeting_on(void *st, const char *date, ProtobufCMessage **out, int64_t *version)
{
    char id[IDS_SIZE];
    int rc = committee_store_meeting_on(st, date, 0, id, sizeof id);

    return rc ? rc : docstore_load(st, &committee_meetings, id, out, version);
}

static int check_date_key(rpc_call *call, const char *field, const char *value)
{
    return validate_date(call, field, value);
}

static int no_cache_form(const char *value, char *buf, size_t size)
{
    (void)value, (void)buf, (void)size;
    return -1;
}

const aggregate_def committee_meeting_aggregate = {
    .service = "committee",
    .type = "meeting",
    .noun = "meeting",
    .descriptor = &compact__committee__v1__meeting__descriptor,
    .id_prefix = IDS_MEETING,
    .keys = {{.field = "id", .label = "id", .cache_kind = "meeting", .load = load_meeting},
             /* No cache form: a meeting's date may change, and the key would
              * then point at the wrong meeting until it expired. */
             {.field = "date",
              .label = "date",
              .cache_kind = "meeting_date",
              .load = load_meeting_on,
              .check = check_date_key,
              .cache_id = no_cache_form}},
};

/* ---- checks ------------------------------------------------------------------------ */

static int check_agenda(rpc_call *call, const Meeting *m)
{
    char field[FIELD_SIZE];

    if (validate_max_items(call, "meeting.agenda", m->n_agenda, COMMITTEE_AGENDA_MAX))
        return -1;
    for (size_t i = 0; i < m->n_agenda; i++) {
        snprintf(field, sizeof field, "meeting.agenda[%zu].title", i);
        if (validate_required_string(call, field, m->agenda[i]->title, COMMITTEE_TITLE_MAX))
            return -1;
    }
    return 0;
}

static int check_attendance(rpc_call *call, const Meeting *m)
{
    char field[FIELD_SIZE];

    if (validate_max_items(call, "meeting.attendance", m->n_attendance, COMMITTEE_ATTENDANCE_MAX))
        return -1;
    for (size_t i = 0; i < m->n_attendance; i++) {
        snprintf(field, sizeof field, "meeting.attendance[%zu].entity_id", i);
        if (validate_id(call, field, m->attendance[i]->entity_id, IDS_ENTITY))
            return -1;
        for (size_t j = 0; j < i; j++) {
            if (strcmp(m->attendance[j]->entity_id, m->attendance[i]->entity_id) == 0) {
                rpc_call_fail(call, RPC_INVALID_ARGUMENT,
                              "%s: repeats meeting.attendance[%zu].entity_id", field, j);
                return -1;
            }
        }
        snprintf(field, sizeof field, "meeting.attendance[%zu].representative", i);
        if (validate_optional_string(call, field, m->attendance[i]->representative,
                                     COMMITTEE_NAME_MAX))
            return -1;
    }
    return 0;
}

/* The fields of `m` named in `mask`, in order. */
static int check_meeting(rpc_call *call, const Meeting *m, unsigned mask)
{
    char today[11];

    if ((mask & M_NUMBER) && (m->number < 0 || m->number > 10000)) {
        rpc_call_fail(call, RPC_INVALID_ARGUMENT, "meeting.number: must be 0 (not known) to 10000");
        return -1;
    }
    if (((mask & M_DATE) && validate_date(call, "meeting.date", m->date)) ||
        ((mask & M_FORMAT) &&
         validate_enum(call, "meeting.format", &compact__committee__v1__meeting_format__descriptor,
                       (int)m->format, 0)) ||
        ((mask & M_AGENDA) && check_agenda(call, m)) ||
        ((mask & M_ATTENDANCE) && check_attendance(call, m)) ||
        ((mask & M_SUMMARY) &&
         validate_text(call, "meeting.summary", m->summary, COMMITTEE_TEXT_MAX)) ||
        ((mask & M_STATUS) &&
         validate_enum(call, "meeting.status", &compact__committee__v1__meeting_status__descriptor,
                       (int)m->status, 0)) ||
        ((mask & M_SOURCE_NOTE) &&
         validate_text(call, "meeting.source_note", m->source_note, COMMITTEE_NOTE_MAX)))
        return -1;
    committee_today(today);
    if ((mask & M_STATUS) && (mask & M_DATE) && m->status == STATUS(HELD) &&
        strcmp(m->date, today) > 0) {
        rpc_call_fail(call, RPC_INVALID_ARGUMENT,
                      "meeting.status: a meeting dated %s, after today, cannot have been held",
                      m->date);
        return -1;
    }
    return 0;
}

/* A check of every attendee, then `done`. */
static void check_attendees(rpc_call *call, service *svc, const Meeting *m, peer_check_done_fn done,
                            void *arg)
{
    peer_check *c = peer_check_new();

    for (size_t i = 0; i < m->n_attendance; i++)
        peer_check_add(c, &peer_entities, m->attendance[i]->entity_id,
                       "meeting.attendance[%zu].entity_id", i);
    peer_check_run(c, call, svc, done, arg);
}

/* ---- CreateMeeting -------------------------------------------------------------- */

/* Fails with ALREADY_EXISTS if another meeting than `self` (NULL: any)
 * is on the date of `m` or has its number. */
static int check_meeting_free(rpc_call *call, store *st, const Meeting *m, const char *self)
{
    char id[IDS_SIZE];
    int rc = committee_store_meeting_on(st, m->date, m->number, id, sizeof id);

    if (rc == -ENOENT || (rc == 0 && self && strcmp(id, self) == 0))
        return 0;
    if (rc != 0)
        status_fail_store(call, rc, "the meetings could not be read");
    else
        rpc_call_fail(call, RPC_ALREADY_EXISTS,
                      "meeting: meeting %s is on %s or numbered %d already (the Committee meets "
                      "once a day at most)",
                      id, m->date, m->number);
    return -1;
}

static void write_new_meeting(rpc_call *call, service *svc, void *arg, int ok)
{
    const Compact__Committee__V1__CreateMeetingRequest *req = arg;
    aggregate_write w;
    Meeting *m;

    if (!ok || aggregate_begin_new(&w, call, svc, &committee_meeting_aggregate,
                                   aggregate_new(&req->meeting->base, meeting_fields, M_ALL)))
        return;
    m = (Meeting *)w.state;
    if (m->status == 0)
        m->status = STATUS(PLANNED);
    if (check_meeting_free(call, service_store(svc), m, NULL)) {
        aggregate_abort(&w);
        return;
    }
    aggregate_commit(&w, docstore_insert(service_store(svc), &committee_meetings, &m->base),
                     "meeting.created", NULL);
}

void handle_create_meeting(rpc_call *call, const ProtobufCMessage *request, void *svc)
{
    const Compact__Committee__V1__CreateMeetingRequest *req = (const void *)request;

    if (aggregate_replay(call, svc) || validate_present(call, "meeting", req->meeting) ||
        check_meeting(call, req->meeting, M_ALL))
        return;
    check_attendees(call, svc, req->meeting, write_new_meeting, (void *)req);
}

/* ---- GetMeeting, ListMeetings ----------------------------------------------------- */

void handle_get_meeting(rpc_call *call, const ProtobufCMessage *request, void *svc)
{
    aggregate_get(call, svc, &committee_meeting_aggregate, request);
}

static void meeting_key(const ProtobufCMessage *item, char *buf, size_t size)
{
    const Meeting *m = (const Meeting *)item;

    snprintf(buf, size, "%s|%s", m->date, m->id);
}

void handle_list_meetings(rpc_call *call, const ProtobufCMessage *request, void *svc)
{
    const Compact__Committee__V1__ListMeetingsRequest *req = (const void *)request;
    Compact__Committee__V1__ListMeetingsResponse resp =
        COMPACT__COMMITTEE__V1__LIST_MEETINGS_RESPONSE__INIT;
    char status[8];
    const char *filters[] = {"committee.meetings", status};
    page_request pg;
    ProtobufCMessage **v = NULL;
    size_t n = 0;
    int rc;

    snprintf(status, sizeof status, "%d", (int)req->status);
    if (validate_enum(call, "status", &compact__committee__v1__meeting_status__descriptor,
                      (int)req->status, 0) ||
        page_request_parse(call, filters, 2, req->page_size, req->page_token, &pg))
        return;
    rc = committee_store_meetings(service_store(svc), (int)req->status, pg.after,
                                  page_request_limit(&pg), &v, &n);
    page_reply(call, &pg, rc, "the meetings could not be read", &resp.base, v, n, meeting_key);
}

/* ---- UpdateMeeting -------------------------------------------------------------------- */

static void write_meeting_update(rpc_call *call, service *svc, void *arg, int ok)
{
    const Compact__Committee__V1__UpdateMeetingRequest *req = arg;
    aggregate_write w;
    Meeting *m;
    unsigned mask;
    char today[11];
    int rc;

    fieldmask_parse(call, req->update_mask, meeting_fields, &mask); /* checked already */
    if (!ok || aggregate_begin(&w, call, svc, &committee_meeting_aggregate, "meeting.id",
                               req->meeting->id, req->etag))
        return;
    m = (Meeting *)w.state;
    rc = aggregate_apply(&m->base, &req->meeting->base, meeting_fields, mask);
    if (rc == 0 && (mask & (M_DATE | M_NUMBER)) &&
        check_meeting_free(call, service_store(svc), m, m->id)) {
        aggregate_abort(&w);
        return;
    }
    committee_today(today);
    if (rc == 0 && m->status == STATUS(HELD) && strcmp(m->date, today) > 0) {
        aggregate_fail(&w, RPC_FAILED_PRECONDITION,
                       "meeting.status: the meeting is dated %s, after today: it cannot have "
                       "been held",
                       m->date);
        return;
    }
    if (rc == 0)
        rc = docstore_update(service_store(svc), &committee_meetings, &m->base, w.version);
    aggregate_commit(&w, rc, "meeting.updated", NULL);
}

void handle_update_meeting(rpc_call *call, const ProtobufCMessage *request, void *svc)
{
    const Compact__Committee__V1__UpdateMeetingRequest *req = (const void *)request;
    unsigned mask;

    if (validate_present(call, "meeting", req->meeting) ||
        validate_id(call, "meeting.id", req->meeting->id, IDS_MEETING) ||
        fieldmask_parse(call, req->update_mask, meeting_fields, &mask) ||
        check_meeting(call, req->meeting, mask))
        return;
    if (mask & M_ATTENDANCE)
        check_attendees(call, svc, req->meeting, write_meeting_update, (void *)req);
    else
        write_meeting_update(call, svc, (void *)req, 1);
}

/* ---- action points ---------------------------------------------------------------------- */

static int check_action_point(rpc_call *call, const ActionPoint *a, unsigned mask)
{
    return ((mask & A_DESCRIPTION) &&
            validate_required_string(call, "action_point.description", a->description,
                                     COMMITTEE_TEXT_MAX)) ||
                   ((mask & A_OWNER) && validate_id(call, "action_point.owner_entity_id",
                                                    a->owner_entity_id, IDS_ENTITY)) ||
                   ((mask & A_DUE_ON) && validate_date(call, "action_point.due_on", a->due_on)) ||
                   ((mask & A_STATUS) &&
                    validate_enum(call, "action_point.status",
                                  &compact__committee__v1__action_status__descriptor,
                                  (int)a->status, 0))
               ? -1
               : 0;
}

static void check_owner(rpc_call *call, service *svc, const ActionPoint *a, unsigned mask,
                        peer_check_done_fn done, void *arg)
{
    peer_check *c = peer_check_new();

    if (mask & A_OWNER)
        peer_check_add(c, &peer_entities, a->owner_entity_id, "action_point.owner_entity_id");
    peer_check_run(c, call, svc, done, arg);
}

/* A copy of `a` as the meeting keeps it, or NULL. */
static ActionPoint *action_point_copy(const ActionPoint *a, const char *id, const char *meeting_id)
{
    ActionPoint *copy = (ActionPoint *)aggregate_new(&a->base, action_fields, A_ALL);

    if (copy && (pbstr_set(&copy->id, id) || pbstr_set(&copy->meeting_id, meeting_id))) {
        pbmsg_free(&copy->base);
        return NULL;
    }
    if (copy && copy->status == 0)
        copy->status = ACTION_OPEN;
    return copy;
}

static void write_action_point(rpc_call *call, service *svc, void *arg, int ok)
{
    const Compact__Committee__V1__AddActionPointRequest *req = arg;
    aggregate_write w;
    Meeting *m;
    ActionPoint **grown, *copy;
    char id[IDS_SIZE];

    if (!ok || aggregate_begin(&w, call, svc, &committee_meeting_aggregate, "meeting_id",
                               req->meeting_id, req->etag))
        return;
    m = (Meeting *)w.state;
    if (m->n_action_points >= COMMITTEE_ACTION_POINTS_MAX) {
        aggregate_fail(&w, RPC_FAILED_PRECONDITION,
                       "meeting_id: meeting %s has %d action points, the most it may have", m->id,
                       COMMITTEE_ACTION_POINTS_MAX);
        return;
    }
    if (ids_new(IDS_ACTION_POINT, id, sizeof id) != 0 ||
        (copy = action_point_copy(req->action_point, id, m->id)) == NULL ||
        (grown = realloc(m->action_points, (m->n_action_points + 1) * sizeof *grown)) == NULL) {
        aggregate_commit(&w, -ENOMEM, "meeting.action_point_added", NULL);
        return;
    }
    m->action_points = grown;
    m->action_points[m->n_action_points++] = copy;
    aggregate_commit(&w,
                     docstore_update(service_store(svc), &committee_meetings, &m->base, w.version),
                     "meeting.action_point_added", NULL);
}

void handle_add_action_point(rpc_call *call, const ProtobufCMessage *request, void *svc)
{
    const Compact__Committee__V1__AddActionPointRequest *req = (const void *)request;

    if (aggregate_replay(call, svc) ||
        validate_id(call, "meeting_id", req->meeting_id, IDS_MEETING) ||
        validate_present(call, "action_point", req->action_point) ||
        check_action_point(call, req->action_point, A_ALL))
        return;
    check_owner(call, svc, req->action_point, A_ALL, write_action_point, (void *)req);
}

static void write_action_point_update(rpc_call *call, service *svc, void *arg, int ok)
{
    const Compact__Committee__V1__UpdateActionPointRequest *req = arg;
    aggregate_write w;
    ActionPoint *a = NULL;
    Meeting *m;
    unsigned mask;
    int rc;

    fieldmask_parse(call, req->update_mask, action_fields, &mask); /* checked already */
    if (!ok || aggregate_begin(&w, call, svc, &committee_meeting_aggregate, "meeting_id",
                               req->meeting_id, req->etag))
        return;
    m = (Meeting *)w.state;
    for (size_t i = 0; i < m->n_action_points && a == NULL; i++)
        if (strcmp(m->action_points[i]->id, req->action_point->id) == 0)
            a = m->action_points[i];
    if (a == NULL) {
        aggregate_fail(&w, RPC_NOT_FOUND, "action_point.id: meeting %s has no action point \"%s\"",
                       m->id, req->action_point->id);
        return;
    }
    rc = aggregate_apply(&a->base, &req->action_point->base, action_fields, mask);
    if (rc == 0)
        rc = docstore_update(service_store(svc), &committee_meetings, &m->base, w.version);
    aggregate_commit(&w, rc, "meeting.action_point_updated", NULL);
}

void handle_update_action_point(rpc_call *call, const ProtobufCMessage *request, void *svc)
{
    const Compact__Committee__V1__UpdateActionPointRequest *req = (const void *)request;
    unsigned mask;

    if (validate_id(call, "meeting_id", req->meeting_id, IDS_MEETING) ||
        validate_present(call, "action_point", req->action_point) ||
        validate_id(call, "action_point.id", req->action_point->id, IDS_ACTION_POINT) ||
        fieldmask_parse(call, req->update_mask, action_fields, &mask) ||
        check_action_point(call, req->action_point, mask))
        return;
    check_owner(call, svc, req->action_point, mask, write_action_point_update, (void *)req);
}

/* ---- ListActionPoints ------------------------------------------------------------------- */

static int by_due_date(const void *x, const void *y)
{
    const ActionPoint *a = *(ActionPoint *const *)x, *b = *(ActionPoint *const *)y;
    int c = strcmp(a->due_on, b->due_on);

    return c ? c : strcmp(a->id, b->id);
}

static int keeps(const Compact__Committee__V1__ListActionPointsRequest *req, const ActionPoint *a)
{
    if (req->owner_entity_id[0] && strcmp(a->owner_entity_id, req->owner_entity_id) != 0)
        return 0;
    return !req->overdue_on[0] ||
           (a->status == ACTION_OPEN && strcmp(a->due_on, req->overdue_on) < 0);
}

void handle_list_action_points(rpc_call *call, const ProtobufCMessage *request, void *svc)
{
    const Compact__Committee__V1__ListActionPointsRequest *req = (const void *)request;
    Compact__Committee__V1__ListActionPointsResponse resp =
        COMPACT__COMMITTEE__V1__LIST_ACTION_POINTS_RESPONSE__INIT;
    ProtobufCMessage **meetings = NULL;
    size_t n = 0, total = 0;
    int rc;

    if ((req->overdue_on[0] && validate_date(call, "overdue_on", req->overdue_on)) ||
        (req->owner_entity_id[0] &&
         validate_id(call, "owner_entity_id", req->owner_entity_id, IDS_ENTITY)))
        return;
    /* Meetings are few (a handful a year): one pass over them all. */
    rc = committee_store_meetings(service_store(svc), 0, "", 100000, &meetings, &n);
    if (rc != 0) {
        status_fail_store(call, rc, "the meetings could not be read");
        return;
    }
    for (size_t i = 0; i < n; i++)
        total += ((Meeting *)meetings[i])->n_action_points;
    resp.action_points = calloc(total ? total : 1, sizeof *resp.action_points);
    if (resp.action_points == NULL) {
        docstore_rows_free(meetings, n);
        rpc_call_fail(call, RPC_RESOURCE_EXHAUSTED, "out of memory");
        return;
    }
    for (size_t i = 0; i < n; i++) {
        const Meeting *m = (const Meeting *)meetings[i];
        for (size_t k = 0; k < m->n_action_points; k++)
            if (keeps(req, m->action_points[k]))
                resp.action_points[resp.n_action_points++] = m->action_points[k];
    }
    qsort(resp.action_points, resp.n_action_points, sizeof *resp.action_points, by_due_date);
    rpc_call_reply(call, &resp.base);
    free(resp.action_points);
    docstore_rows_free(meetings, n);
}
