/* rules.c: what a valid working group is (see rules.h). */
#include "rules.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static int is_letter(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

const char *rules_code_problem(const char *code)
{
    if (strlen(code) < RULES_CODE_MIN_CHARS)
        return "must be at least 2 characters";
    if (strlen(code) > GROUP_CODE_MAX)
        return "must be at most 16 characters";
    if (!is_letter(code[0]))
        return "must start with a letter";
    for (const char *p = code; *p; p++) {
        if (!is_letter(*p) && !is_digit(*p) && *p != '-')
            return "may contain only letters, digits and '-'";
    }
    return NULL;
}

const char *rules_vice_chairs_problem(const Leadership *l, size_t *at, size_t *first)
{
    *at = *first = 0;
    if (l->n_vice_chair_entity_ids == 0)
        return "name at least one vice-chair";
    if (l->n_vice_chair_entity_ids > RULES_VICE_CHAIRS_MAX)
        return "at most 10 vice-chairs";
    for (size_t i = 0; i < l->n_vice_chair_entity_ids; i++) {
        const char *id = l->vice_chair_entity_ids[i];
        *at = i;
        if (strcmp(id, l->chair_entity_id) == 0)
            return "is the chair; a chair cannot also be a vice-chair";
        for (size_t j = 0; j < i; j++) {
            if (strcmp(l->vice_chair_entity_ids[j], id) == 0) {
                *first = j;
                return "repeats another vice-chair";
            }
        }
    }
    return NULL;
}

/* Dates are YYYY-MM-DD: they compare as text. */
const char *rules_tor_order_problem(const TermsOfReference *current, const TermsOfReference *next)
{
    if (current == NULL || strcmp(next->approved_on, current->approved_on) >= 0)
        return NULL;
    return "is before the approval of the current version";
}

int rules_tor_same(const TermsOfReference *a, const TermsOfReference *b)
{
    return strcmp(a->text, b->text) == 0 && strcmp(a->approved_on, b->approved_on) == 0;
}

int rules_tor_repeats(const TermsOfReference *current, const TermsOfReference *next)
{
    return current && rules_tor_same(current, next) &&
           strcmp(current->decision_ref, next->decision_ref) == 0;
}

/* ---- approved work plans ---------------------------------------------------- */

const char *rules_plan_period_problem(const char *start, const char *end)
{
    return strcmp(start, end) < 0 ? NULL : "must be after plan.period_start";
}

const char *rules_plan_items_problem(const ApprovedWorkPlan *p, const WorkingGroup *g, size_t *at,
                                     size_t *first)
{
    *at = *first = 0;
    if (p->n_item_ids == 0)
        return "name at least one work plan item";
    if (p->n_item_ids > RULES_PLAN_ITEMS_MAX)
        return "at most 200 items";
    for (size_t i = 0; i < p->n_item_ids; i++) {
        *at = i;
        for (size_t j = 0; j < i; j++) {
            if (strcmp(p->item_ids[j], p->item_ids[i]) == 0) {
                *first = j;
                return "repeats another item";
            }
        }
        if (g) {
            size_t k = 0;
            while (k < g->n_work_plan && strcmp(g->work_plan[k]->id, p->item_ids[i]) != 0)
                k++;
            if (k == g->n_work_plan)
                return "is not an item of the group's work plan";
        }
    }
    return NULL;
}

const char *rules_plan_order_problem(const WorkingGroup *g, const ApprovedWorkPlan *next)
{
    const ApprovedWorkPlan *last =
        g->n_approved_work_plans ? g->approved_work_plans[g->n_approved_work_plans - 1] : NULL;

    if (last == NULL || strcmp(next->approved_on, last->approved_on) >= 0)
        return NULL;
    return "is before the approval of the latest approved work plan";
}

int rules_plan_same(const ApprovedWorkPlan *a, const ApprovedWorkPlan *b)
{
    if (strcmp(a->period_start, b->period_start) != 0 ||
        strcmp(a->period_end, b->period_end) != 0 || strcmp(a->approved_on, b->approved_on) != 0 ||
        a->n_item_ids != b->n_item_ids)
        return 0;
    for (size_t i = 0; i < a->n_item_ids; i++) {
        if (strcmp(a->item_ids[i], b->item_ids[i]) != 0)
            return 0;
    }
    return 1;
}

const ApprovedWorkPlan *rules_find_plan(const WorkingGroup *g, int32_t version)
{
    for (size_t i = 0; i < g->n_approved_work_plans; i++) {
        if (g->approved_work_plans[i]->version == version)
            return g->approved_work_plans[i];
    }
    return NULL;
}

/* ---- leadership history ------------------------------------------------------ */

int rules_leadership_same(const Leadership *a, const Leadership *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    if (strcmp(a->chair_entity_id, b->chair_entity_id) != 0 ||
        a->n_vice_chair_entity_ids != b->n_vice_chair_entity_ids)
        return 0;
    for (size_t i = 0; i < a->n_vice_chair_entity_ids; i++) {
        if (strcmp(a->vice_chair_entity_ids[i], b->vice_chair_entity_ids[i]) != 0)
            return 0;
    }
    return 1;
}

const LeadershipTerm *rules_current_term(const WorkingGroup *g)
{
    return g->n_leadership_history ? g->leadership_history[g->n_leadership_history - 1] : NULL;
}

const char *rules_term_start_problem(const WorkingGroup *g, const char *effective_on)
{
    const LeadershipTerm *t = rules_current_term(g);

    if (t == NULL || strcmp(effective_on, t->from_date) >= 0)
        return NULL;
    return "is before the start of the current term";
}

void rules_date_of_ms(int64_t ms, char *buf)
{
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;

    gmtime_r(&secs, &tm);
    snprintf(buf, RULES_DATE_SIZE, "%04u-%02u-%02u", (unsigned)(tm.tm_year + 1900) % 10000u,
             (unsigned)(tm.tm_mon + 1) % 100u, (unsigned)tm.tm_mday % 100u);
}

const char *rules_project_id_problem(const char *id)
{
    if (id[0] == '\0')
        return "must not be empty";
    if (strlen(id) > RULES_PROJECT_ID_MAX_CHARS)
        return "is longer than 64 characters";
    for (const char *p = id; *p; p++) {
        if (!(*p >= 'a' && *p <= 'z') && !is_digit(*p) && *p != '_' && *p != '-')
            return "not a project id (lower-case letters, digits, '_' and '-')";
    }
    return NULL;
}

const Member *rules_find_member(const WorkingGroup *g, const char *entity_id)
{
    for (size_t i = 0; i < g->n_members; i++) {
        if (strcmp(g->members[i]->entity_id, entity_id) == 0)
            return g->members[i];
    }
    return NULL;
}

/* ---- information-sharing ------------------------------------------------------ */

static int is_url_char(unsigned char c)
{
    return c > 0x20 && c != 0x7f; /* no space, no control character */
}

const char *rules_url_problem(const char *url)
{
    static const char scheme[] = "https://";
    const char *host = url + sizeof scheme - 1;
    size_t host_len;

    if (url[0] == '\0')
        return NULL;
    if (strlen(url) > RULES_URL_MAX_CHARS)
        return "is longer than 2048 characters";
    if (strncmp(url, scheme, sizeof scheme - 1) != 0)
        return "must be an https:// address";
    for (const char *p = url; *p; p++) {
        if (!is_url_char((unsigned char)*p))
            return "must not contain spaces or control characters";
    }
    host_len = strcspn(host, "/?#");
    if (host_len == 0 || host[0] == '@' || host[0] == ':' || host[0] == '.')
        return "must name a host after https://";
    return NULL;
}

int rules_notice_visible(int visibility, int reader_active, int in_group)
{
    switch (visibility) {
    case COMPACT__WORKGROUPS__V1__VISIBILITY__VISIBILITY_PUBLIC:
        return 1;
    case COMPACT__WORKGROUPS__V1__VISIBILITY__VISIBILITY_COMPACT:
        return reader_active;
    case COMPACT__WORKGROUPS__V1__VISIBILITY__VISIBILITY_GROUP_MEMBERS:
        return reader_active && in_group;
    default:
        return 0;
    }
}

int rules_has_id(char *const *v, size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(v[i], id) == 0)
            return 1;
    }
    return 0;
}

int rules_subscription_follows(char *const *group_ids, size_t n, int compact_wide,
                               const char *group_id)
{
    return group_id[0] == '\0' ? compact_wide : rules_has_id(group_ids, n, group_id);
}

static char lower_ascii(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

int rules_same_email(const char *a, const char *b)
{
    for (; *a && *b; a++, b++) {
        if (lower_ascii(*a) != lower_ascii(*b))
            return 0;
    }
    return *a == *b;
}
