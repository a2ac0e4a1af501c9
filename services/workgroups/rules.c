/* rules.c: what a valid working group is (see rules.h). */
#include "rules.h"

#include <string.h>

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

int rules_tor_repeats(const TermsOfReference *current, const TermsOfReference *next)
{
    return current && strcmp(current->text, next->text) == 0 &&
           strcmp(current->approved_on, next->approved_on) == 0;
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
