/* fault.c: fault injection points armed through COMPACT_FAULTS.
 *
 * The list is parsed once, at start and before any thread, into a small
 * static table; after that the table is only read. Names point into a static
 * copy of the variable, so nothing is allocated and nothing needs freeing.
 */
#include "fault.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define FAULT_MAX_POINTS 32
#define FAULT_SPEC_MAX 1024

typedef struct fault_point {
    const char *name;
    int has_value;
    long value;
} fault_point;

static char fault_spec[FAULT_SPEC_MAX];
static fault_point fault_points[FAULT_MAX_POINTS];
static size_t fault_count;

static int fault_name_char(int c)
{
    return isalnum(c) || c == '.' || c == '_' || c == '-';
}

static char *fault_trim(char *s)
{
    char *end;

    while (*s == ' ' || *s == '\t')
        s++;
    end = s + strlen(s);
    while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
        *--end = '\0';
    return s;
}

/* A whole decimal number fitting in a long, nothing else. */
static int fault_parse_long(const char *s, long *out)
{
    char *end;
    long v;

    if (*s == '\0' || isspace((unsigned char)*s))
        return -EINVAL;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || *end != '\0')
        return -EINVAL;
    *out = v;
    return 0;
}

/* Parses one "point" or "point=value" item, in place, into *p. */
static int fault_parse_item(char *item, fault_point *p)
{
    char *eq = strchr(item, '=');
    char *name = item;

    p->has_value = 0;
    p->value = 0;
    if (eq) {
        *eq = '\0';
        if (fault_parse_long(fault_trim(eq + 1), &p->value) < 0)
            return -EINVAL;
        p->has_value = 1;
    }
    name = fault_trim(name);
    if (*name == '\0')
        return -EINVAL;
    for (const char *c = name; *c; c++) {
        if (!fault_name_char((unsigned char)*c))
            return -EINVAL;
    }
    p->name = name;
    return 0;
}

static int fault_parse(const char *env)
{
    char *item = fault_spec;

    if (strlen(env) >= sizeof(fault_spec))
        return -EINVAL;
    strcpy(fault_spec, env);
    if (*fault_trim(fault_spec) == '\0')
        return 0; /* set but empty: nothing armed */
    for (;;) {
        char *comma = strchr(item, ',');
        if (comma)
            *comma = '\0';
        if (fault_count == FAULT_MAX_POINTS ||
            fault_parse_item(item, &fault_points[fault_count]) < 0)
            return -EINVAL;
        fault_count++;
        if (!comma)
            return 0;
        item = comma + 1;
    }
}

/* Later items win, so "a=1,a=2" means a=2. */
static const fault_point *fault_find(const char *point)
{
    if (!point)
        return NULL;
    for (size_t i = fault_count; i > 0; i--) {
        if (strcmp(fault_points[i - 1].name, point) == 0)
            return &fault_points[i - 1];
    }
    return NULL;
}

int fault_init(void)
{
    const char *env = getenv("COMPACT_FAULTS");
    int rc;

    fault_count = 0;
    if (!env)
        return 0;
    rc = fault_parse(env);
    if (rc < 0)
        fault_count = 0; /* a malformed list arms nothing */
    return rc;
}

int fault_armed(const char *point)
{
    return fault_find(point) != NULL;
}

long fault_value(const char *point, long dflt)
{
    const fault_point *p = fault_find(point);

    return p && p->has_value ? p->value : dflt;
}
