/* iso_codes.h: the real lists of country and currency codes.
 *
 * Recipient countries are ISO 3166-1 alpha-2 codes ("KE") and money is in an
 * ISO 4217 currency ("USD"); a code outside the lists is refused rather than
 * stored, since a typo ("UK" for "GB") would silently split the statistics.
 * Codes are case-sensitive: upper case only, as the standards write them.
 * Pure lookups over sorted static tables; no state, any thread.
 */
#ifndef COMPACT_ISO_CODES_H
#define COMPACT_ISO_CODES_H

/* Officially assigned ISO 3166-1 alpha-2 codes. */
#define ISO_COUNTRY_COUNT 249

/* The position of `code` in the sorted list (0..ISO_COUNTRY_COUNT-1), or -1
 * if it is not an assigned alpha-2 code. */
int iso_country_index(const char *code);

/* The code at `index`, or NULL outside 0..ISO_COUNTRY_COUNT-1. */
const char *iso_country_code(int index);

/* The number of decimals of currency `code` (0 to 4), or -1 if it is not an
 * ISO 4217 currency with a minor unit. */
int iso_currency_minor_units(const char *code);

#endif
