/* validate.c: checks of request fields (see validate.h). */
#include "validate.h"

#include "utf8.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* ---- UTF-8 and text ----------------------------------------------------- */

size_t validate_utf8_chars(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = 0;
    uint32_t cp;

    while (*p) {
        size_t len = utf8_decode(p, SIZE_MAX, &cp);
        if (len == 0)
            return SIZE_MAX;
        p += len;
        n++;
    }
    return n;
}

static int is_control(uint32_t cp)
{
    return cp < 0x20 || (cp >= 0x7f && cp < 0xa0);
}

static int is_space(uint32_t cp)
{
    return cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r' || cp == 0xa0;
}

const char *validate_text_problem(const char *s, unsigned flags)
{
    const unsigned char *p = (const unsigned char *)s;
    int multiline = (flags & VALIDATE_MULTILINE) != 0;
    uint32_t cp = 0;

    while (*p) {
        size_t len = utf8_decode(p, SIZE_MAX, &cp);
        if (len == 0)
            return "not valid UTF-8";
        if (is_control(cp) && !(multiline && (cp == '\n' || cp == '\r' || cp == '\t')))
            return "must not contain control characters";
        if (!multiline && p == (const unsigned char *)s && is_space(cp))
            return "must not start or end with whitespace";
        p += len;
    }
    if (!multiline && is_space(cp)) /* cp is the last code point */
        return "must not start or end with whitespace";
    return NULL;
}

/* ---- e-mail ------------------------------------------------------------- */

static int is_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* RFC 5322 atext: letters, digits and these. */
static int is_atext(char c)
{
    return is_alnum(c) || (c != '\0' && strchr("!#$%&'*+/=?^_`{|}~-", c) != NULL);
}

static int email_local_ok(const char *s, size_t len)
{
    if (len == 0 || len > 64 || s[0] == '.' || s[len - 1] == '.')
        return 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '.' ? s[i + 1] == '.' : !is_atext(s[i]))
            return 0;
    }
    return 1;
}

/* One DNS label of letters, digits and inner hyphens, 1-63 long. */
static int email_label_ok(const char *s, size_t len)
{
    if (len == 0 || len > 63 || s[0] == '-' || s[len - 1] == '-')
        return 0;
    for (size_t i = 0; i < len; i++) {
        if (!is_alnum(s[i]) && s[i] != '-')
            return 0;
    }
    return 1;
}

static int email_domain_ok(const char *s, size_t len)
{
    size_t labels = 0, start = 0;
    int last_all_digits = 0;

    if (len == 0 || len > 253)
        return 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && s[i] != '.')
            continue;
        if (!email_label_ok(s + start, i - start))
            return 0;
        last_all_digits = 1;
        for (size_t j = start; j < i; j++)
            last_all_digits &= is_digit(s[j]);
        labels++;
        start = i + 1;
    }
    return labels >= 2 && !last_all_digits;
}

const char *validate_email_problem(const char *s)
{
    size_t len = strlen(s);
    const char *at = strchr(s, '@');

    if (len == 0)
        return "must not be empty";
    if (len > 254 || at == NULL || strchr(at + 1, '@') != NULL ||
        !email_local_ok(s, (size_t)(at - s)) ||
        !email_domain_ok(at + 1, len - (size_t)(at - s) - 1))
        return "not an e-mail address";
    return NULL;
}

/* ---- dates and ids ------------------------------------------------------ */

static int days_in_month(int year, int month)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

    return month == 2 && leap ? 29 : days[month - 1];
}

static int digits_value(const char *s, size_t n)
{
    int v = 0;

    for (size_t i = 0; i < n; i++)
        v = v * 10 + (s[i] - '0');
    return v;
}

const char *validate_date_problem(const char *s)
{
    static const char shape[] = "dddd-dd-dd";

    if (s[0] == '\0')
        return "must not be empty";
    if (strlen(s) != sizeof shape - 1)
        return "not a date in the form YYYY-MM-DD";
    for (size_t i = 0; i < sizeof shape - 1; i++) {
        if (shape[i] == 'd' ? !is_digit(s[i]) : s[i] != shape[i])
            return "not a date in the form YYYY-MM-DD";
    }
    int year = digits_value(s, 4), month = digits_value(s + 5, 2), day = digits_value(s + 8, 2);
    if (year < 1 || month < 1 || month > 12 || day < 1 || day > days_in_month(year, month))
        return "not a real calendar date";
    return NULL;
}

const char *validate_id_problem(const char *s, const char *prefix)
{
    size_t plen = strlen(prefix);

    if (s[0] == '\0')
        return "must not be empty";
    if (strncmp(s, prefix, plen) != 0 || strlen(s + plen) != IDS_RANDOM_CHARS)
        return "not a valid id";
    for (const char *p = s + plen; *p; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '2' && *p <= '7')))
            return "not a valid id";
    }
    return NULL;
}

const char *validate_decision_ref_problem(const char *s)
{
    static const char bad[] = "not a decision effect (dec_<id>/effects/<n>)";
    static const char effects[] = "/effects/";
    const size_t id_len = sizeof IDS_DECISION - 1 + IDS_RANDOM_CHARS;
    char id[sizeof IDS_DECISION + IDS_RANDOM_CHARS];
    const char *n;
    size_t digits;

    if (s[0] == '\0')
        return "must not be empty";
    if (strlen(s) <= id_len || strncmp(s + id_len, effects, sizeof effects - 1) != 0)
        return bad;
    memcpy(id, s, id_len);
    id[id_len] = '\0';
    if (validate_id_problem(id, IDS_DECISION) != NULL)
        return bad;
    n = s + id_len + sizeof effects - 1;
    digits = strlen(n);
    if (digits == 0 || digits > 4 || n[0] == '0')
        return bad;
    for (size_t i = 0; i < digits; i++) {
        if (!is_digit(n[i]))
            return bad;
    }
    return digits_value(n, digits) <= VALIDATE_DECISION_EFFECTS_MAX ? NULL : bad;
}

int validate_page_size_value(int32_t requested, int *out)
{
    if (requested < 0)
        return -EINVAL;
    if (requested == 0)
        *out = VALIDATE_PAGE_SIZE_DEFAULT;
    else if (requested > VALIDATE_PAGE_SIZE_MAX)
        *out = VALIDATE_PAGE_SIZE_MAX;
    else
        *out = requested;
    return 0;
}

/* ---- checks that fail the call ------------------------------------------ */

static int fail(rpc_call *call, const char *field, const char *problem)
{
    rpc_call_fail(call, RPC_INVALID_ARGUMENT, "%s: %s", field, problem);
    return -1;
}

int validate_problem(rpc_call *call, const char *field, const char *problem)
{
    if (problem == NULL)
        return 0;
    rpc_call_fail(call, RPC_INVALID_ARGUMENT, "%s: %s", field, problem);
    return -1;
}

int validate_present(rpc_call *call, const char *field, const void *msg)
{
    return msg == NULL ? fail(call, field, "must be set") : 0;
}

/* Text problems first (so a bad byte is named as such), then the length. */
static int check_string(rpc_call *call, const char *field, const char *s, size_t max_chars,
                        unsigned flags)
{
    const char *problem = validate_text_problem(s, flags);
    size_t n;

    if (problem)
        return fail(call, field, problem);
    n = validate_utf8_chars(s);
    if (n > max_chars) {
        rpc_call_fail(call, RPC_INVALID_ARGUMENT, "%s: must be at most %zu characters (got %zu)",
                      field, max_chars, n);
        return -1;
    }
    return 0;
}

int validate_required_string(rpc_call *call, const char *field, const char *s, size_t max_chars)
{
    if (s == NULL || s[strspn(s, " \t\r\n")] == '\0') /* whitespace only is empty too */
        return fail(call, field, "must not be empty");
    return check_string(call, field, s, max_chars, 0);
}

int validate_optional_string(rpc_call *call, const char *field, const char *s, size_t max_chars)
{
    if (s == NULL || s[0] == '\0')
        return 0;
    return check_string(call, field, s, max_chars, 0);
}

int validate_text(rpc_call *call, const char *field, const char *s, size_t max_chars)
{
    return s == NULL ? 0 : check_string(call, field, s, max_chars, VALIDATE_MULTILINE);
}

int validate_max_length(rpc_call *call, const char *field, const char *s, size_t max_chars)
{
    size_t n = validate_utf8_chars(s ? s : "");

    if (n == SIZE_MAX)
        return fail(call, field, "not valid UTF-8");
    if (n > max_chars) {
        rpc_call_fail(call, RPC_INVALID_ARGUMENT, "%s: must be at most %zu characters (got %zu)",
                      field, max_chars, n);
        return -1;
    }
    return 0;
}

int validate_email(rpc_call *call, const char *field, const char *s)
{
    const char *problem = validate_email_problem(s ? s : "");

    return problem ? fail(call, field, problem) : 0;
}

int validate_date(rpc_call *call, const char *field, const char *s)
{
    const char *problem = validate_date_problem(s ? s : "");

    return problem ? fail(call, field, problem) : 0;
}

int validate_id(rpc_call *call, const char *field, const char *s, const char *prefix)
{
    const char *problem = validate_id_problem(s ? s : "", prefix);

    if (problem == NULL)
        return 0;
    if (s == NULL || s[0] == '\0')
        return fail(call, field, problem);
    /* Say what an id looks like: the client most likely passed a name. */
    rpc_call_fail(call, RPC_INVALID_ARGUMENT,
                  "%s: not a valid id (expected \"%s\" followed by %d characters a-z, 2-7)", field,
                  prefix, IDS_RANDOM_CHARS);
    return -1;
}

int validate_decision_ref(rpc_call *call, const char *field, const char *s)
{
    if (s == NULL || s[0] == '\0')
        return 0;
    return validate_problem(call, field, validate_decision_ref_problem(s));
}

int validate_enum(rpc_call *call, const char *field, const ProtobufCEnumDescriptor *desc, int value,
                  int required)
{
    if (protobuf_c_enum_descriptor_get_value(desc, value) == NULL) {
        rpc_call_fail(call, RPC_INVALID_ARGUMENT, "%s: unknown value %d", field, value);
        return -1;
    }
    if (required && value == 0)
        return fail(call, field, "must be set");
    return 0;
}

int validate_max_items(rpc_call *call, const char *field, size_t n, size_t max)
{
    if (n <= max)
        return 0;
    rpc_call_fail(call, RPC_INVALID_ARGUMENT, "%s: at most %zu items allowed (got %zu)", field, max,
                  n);
    return -1;
}

int validate_page_size(rpc_call *call, const char *field, int32_t requested, int *out)
{
    if (validate_page_size_value(requested, out) == 0)
        return 0;
    return fail(call, field, "must not be negative");
}

int validate_ids(rpc_call *call, const char *field, char *const *ids, size_t n, size_t max,
                 const char *prefix)
{
    char item[128];

    if (validate_max_items(call, field, n, max))
        return -1;
    for (size_t i = 0; i < n; i++) {
        snprintf(item, sizeof item, "%s[%zu]", field, i);
        if (validate_id(call, item, ids[i], prefix))
            return -1;
    }
    return 0;
}
