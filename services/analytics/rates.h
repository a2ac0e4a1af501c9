/* rates.h: the dated exchange rates that US dollar equivalents use.
 *
 * A rate holds from its date until the next rate of the same currency (as
 * the UN operational rates of exchange, set monthly). An amount converts at
 * the rate of its date; the US dollar converts at 1. Equivalents are US
 * dollar cents, rounded half away from zero, computed in 128-bit integers so
 * that no amount the projects service accepts can overflow.
 */
#ifndef COMPACT_ANALYTICS_RATES_H
#define COMPACT_ANALYTICS_RATES_H

#include <stddef.h>
#include <stdint.h>

typedef struct rate {
    char currency[4];
    char valid_from[11]; /* YYYY-MM-DD */
    int64_t usd_micros;  /* US dollars per unit of the currency, in millionths */
} rate;

/* Sorted by currency, then date. Zero-initialised is empty. */
typedef struct rates {
    rate *v;
    size_t n;
} rates;

/* Adds or replaces the rate of `currency` from `valid_from`. 0 or -ENOMEM. */
int rates_put(rates *r, const char *currency, const char *valid_from, int64_t usd_micros);

/* `amount_minor` of `currency` on `date` (YYYY-MM-DD; earlier than every rate:
 * the earliest one) in US dollar cents: 0 and *usd_cents, or -ENOENT when the
 * currency has no rate or no known minor unit. */
int rates_to_usd(const rates *r, const char *currency, const char *date, int64_t amount_minor,
                 int64_t *usd_cents);

void rates_clear(rates *r);

#endif
