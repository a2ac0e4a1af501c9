/* rates.c: dated exchange rates (see rates.h). */
#include "rates.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "iso_codes.h"

static int compare(const rate *a, const char *currency, const char *date)
{
    int c = strcmp(a->currency, currency);
    return c ? c : strcmp(a->valid_from, date);
}

/* The index of the first rate not before (currency, date). */
static size_t lower_bound(const rates *r, const char *currency, const char *date)
{
    size_t lo = 0, hi = r->n;

    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (compare(&r->v[mid], currency, date) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

int rates_put(rates *r, const char *currency, const char *valid_from, int64_t usd_micros)
{
    size_t at = lower_bound(r, currency, valid_from);
    rate *grown;

    if (at < r->n && compare(&r->v[at], currency, valid_from) == 0) {
        r->v[at].usd_micros = usd_micros;
        return 0;
    }
    if ((grown = realloc(r->v, (r->n + 1) * sizeof *grown)) == NULL)
        return -ENOMEM;
    r->v = grown;
    memmove(&r->v[at + 1], &r->v[at], (r->n - at) * sizeof *r->v);
    memset(&r->v[at], 0, sizeof r->v[at]);
    strncpy(r->v[at].currency, currency, sizeof r->v[at].currency - 1);
    strncpy(r->v[at].valid_from, valid_from, sizeof r->v[at].valid_from - 1);
    r->v[at].usd_micros = usd_micros;
    r->n++;
    return 0;
}

/* The rate for (currency, date): the last one from on or before the date,
 * else the currency's earliest; NULL if the currency has none. */
static const rate *rate_on(const rates *r, const char *currency, const char *date)
{
    size_t at = lower_bound(r, currency, date);

    if (at < r->n && compare(&r->v[at], currency, date) == 0)
        return &r->v[at];
    if (at > 0 && strcmp(r->v[at - 1].currency, currency) == 0)
        return &r->v[at - 1];
    if (at < r->n && strcmp(r->v[at].currency, currency) == 0)
        return &r->v[at];
    return NULL;
}

int rates_to_usd(const rates *r, const char *currency, const char *date, int64_t amount_minor,
                 int64_t *usd_cents)
{
    int units;
    const rate *rt;
    __int128 num, den = 1;

    if (strcmp(currency, "USD") == 0) {
        *usd_cents = amount_minor;
        return 0;
    }
    units = iso_currency_minor_units(currency);
    if (units < 0 || (rt = rate_on(r, currency, date)) == NULL)
        return -ENOENT;
    /* amount / 10^units currency units * usd_micros / 10^6 dollars * 100 cents */
    num = (__int128)amount_minor * rt->usd_micros * 100;
    for (int i = 0; i < units; i++)
        den *= 10;
    den *= 1000000;
    *usd_cents = (int64_t)((num + (num >= 0 ? den / 2 : -den / 2)) / den);
    return 0;
}

void rates_clear(rates *r)
{
    free(r->v);
    r->v = NULL;
    r->n = 0;
}
