/* test_rates.c: the dated exchange rates of rates.h.
 *
 * - conversion to US dollar cents rounds half away from zero, for positive
 *   and negative amounts, in currencies of 0, 2 and 3 minor units (JPY,
 *   EUR, KWD);
 * - a rate holds from its date until the next of its currency; a date
 *   before the first rate uses the earliest; other currencies sorted around
 *   it never leak in;
 * - the US dollar converts at 1 with no rate at all; a currency with no rate,
 *   or with no known minor unit (gold), is -ENOENT;
 * - the largest amounts the projects service accepts (10^14 minor units)
 *   convert exactly, where the product amount * rate * 100 does not fit 64
 *   bits;
 * - rates_put replaces a rate of the same currency and date, keeps the
 *   array sorted, and rates_clear empties it.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "rates.h"

/* The cents of `amount` of `currency` on `date`; fails the test unless the
 * conversion works. */
static int64_t cents(const rates *r, const char *currency, const char *date, int64_t amount)
{
    int64_t out = 0x5a5a5a5a;

    assert_int_equal(rates_to_usd(r, currency, date, amount, &out), 0);
    return out;
}

static void test_usd_at_one_without_rates(void **state)
{
    rates r = {0};
    int64_t out;

    (void)state;
    assert_int_equal(cents(&r, "USD", "2024-01-01", 1250), 1250);
    assert_int_equal(cents(&r, "USD", "", -7), -7);
    assert_int_equal(cents(&r, "USD", "1990-01-01", INT64_C(100000000000000)),
                     INT64_C(100000000000000));
    /* no rate: -ENOENT, and *usd_cents is left alone */
    out = 99;
    assert_int_equal(rates_to_usd(&r, "EUR", "2024-01-01", 100, &out), -ENOENT);
    assert_int_equal(out, 99);
    rates_clear(&r);
}

static void test_rounding_two_minor_units(void **state)
{
    rates r = {0};

    (void)state;
    /* EUR 1.5: one cent is 1.5 US cents */
    assert_int_equal(rates_put(&r, "EUR", "2020-01-01", 1500000), 0);
    assert_int_equal(cents(&r, "EUR", "2024-01-01", 1), 2);   /* 1.5 -> 2 */
    assert_int_equal(cents(&r, "EUR", "2024-01-01", -1), -2); /* -1.5 -> -2 */
    assert_int_equal(cents(&r, "EUR", "2024-01-01", 3), 5);   /* 4.5 -> 5 */
    assert_int_equal(cents(&r, "EUR", "2024-01-01", -3), -5);
    assert_int_equal(cents(&r, "EUR", "2024-01-01", 2), 3);
    assert_int_equal(cents(&r, "EUR", "2024-01-01", 0), 0);
    /* EUR 1.085: 1.085 -> 1, 2.17 -> 2, 1.085 * 6 = 6.51 -> 7, -6.51 -> -7 */
    assert_int_equal(rates_put(&r, "EUR", "2020-01-01", 1085000), 0);
    assert_int_equal(r.n, 1); /* replaced, not added */
    assert_int_equal(cents(&r, "EUR", "2024-01-01", 1), 1);
    assert_int_equal(cents(&r, "EUR", "2024-01-01", 2), 2);
    assert_int_equal(cents(&r, "EUR", "2024-01-01", 6), 7);
    assert_int_equal(cents(&r, "EUR", "2024-01-01", -6), -7);
    /* just below and just above one half: 0.499999 -> 0, 0.500001 -> 1 */
    assert_int_equal(rates_put(&r, "GBP", "2020-01-01", 499999), 0);
    assert_int_equal(cents(&r, "GBP", "2024-01-01", 1), 0);
    assert_int_equal(cents(&r, "GBP", "2024-01-01", -1), 0);
    assert_int_equal(rates_put(&r, "GBP", "2020-01-01", 500001), 0);
    assert_int_equal(cents(&r, "GBP", "2024-01-01", 1), 1);
    assert_int_equal(cents(&r, "GBP", "2024-01-01", -1), -1);
    rates_clear(&r);
}

static void test_rounding_zero_and_three_minor_units(void **state)
{
    rates r = {0};

    (void)state;
    /* JPY has no minor unit: one yen at half a US cent */
    assert_int_equal(rates_put(&r, "JPY", "2020-01-01", 5000), 0);
    assert_int_equal(cents(&r, "JPY", "2024-01-01", 1), 1);
    assert_int_equal(cents(&r, "JPY", "2024-01-01", -1), -1);
    assert_int_equal(cents(&r, "JPY", "2024-01-01", 3), 2); /* 1.5 -> 2 */
    assert_int_equal(cents(&r, "JPY", "2024-01-01", -3), -2);
    /* 1000 yen at 0.006712 USD: 6.712 dollars, 671.2 cents -> 671 */
    assert_int_equal(rates_put(&r, "JPY", "2020-01-01", 6712), 0);
    assert_int_equal(cents(&r, "JPY", "2024-01-01", 1000), 671);
    assert_int_equal(cents(&r, "JPY", "2024-01-01", -1000), -671);

    /* KWD has three: one fils at 5 USD a dinar is half a cent */
    assert_int_equal(rates_put(&r, "KWD", "2020-01-01", 5000000), 0);
    assert_int_equal(cents(&r, "KWD", "2024-01-01", 1), 1);
    assert_int_equal(cents(&r, "KWD", "2024-01-01", -1), -1);
    assert_int_equal(cents(&r, "KWD", "2024-01-01", 1000), 500); /* 1 KWD = 5 USD */
    /* 3.253 USD a dinar: 1 fils 0.3253 -> 0, 2 fils 0.6506 -> 1, 1.234 KWD
     * 401.4202 -> 401 */
    assert_int_equal(rates_put(&r, "KWD", "2020-01-01", 3253000), 0);
    assert_int_equal(cents(&r, "KWD", "2024-01-01", 1), 0);
    assert_int_equal(cents(&r, "KWD", "2024-01-01", 2), 1);
    assert_int_equal(cents(&r, "KWD", "2024-01-01", -2), -1);
    assert_int_equal(cents(&r, "KWD", "2024-01-01", 1234), 401);
    rates_clear(&r);
}

static void test_dated_rates(void **state)
{
    rates r = {0};

    (void)state;
    /* put out of order, with neighbours on both sides in the sorted array */
    assert_int_equal(rates_put(&r, "EUR", "2022-06-01", 1300000), 0);
    assert_int_equal(rates_put(&r, "GBP", "2000-01-01", 9000000), 0);
    assert_int_equal(rates_put(&r, "EUR", "2020-01-01", 1100000), 0);
    assert_int_equal(rates_put(&r, "DKK", "2030-01-01", 7000000), 0);
    assert_int_equal(rates_put(&r, "EUR", "2021-01-01", 1200000), 0);
    assert_int_equal(r.n, 5);
    for (size_t i = 1; i < r.n; i++) {
        int c = strcmp(r.v[i - 1].currency, r.v[i].currency);
        assert_true(c < 0 || (c == 0 && strcmp(r.v[i - 1].valid_from, r.v[i].valid_from) < 0));
    }
    /* 100 euros (10000 cents) */
    assert_int_equal(cents(&r, "EUR", "2019-05-05", 10000), 11000); /* before the first */
    assert_int_equal(cents(&r, "EUR", "", 10000), 11000);
    assert_int_equal(cents(&r, "EUR", "2020-01-01", 10000), 11000);
    assert_int_equal(cents(&r, "EUR", "2020-12-31", 10000), 11000);
    assert_int_equal(cents(&r, "EUR", "2021-01-01", 10000), 12000); /* holds until the next */
    assert_int_equal(cents(&r, "EUR", "2022-05-31", 10000), 12000);
    assert_int_equal(cents(&r, "EUR", "2022-06-01", 10000), 13000);
    assert_int_equal(cents(&r, "EUR", "2099-12-31", 10000), 13000); /* after the last */
    /* the neighbours keep to their own currency */
    assert_int_equal(cents(&r, "DKK", "2000-01-01", 100), 700);
    assert_int_equal(cents(&r, "GBP", "2099-01-01", 100), 900);
    /* a currency sorted between two that have rates has none of its own */
    int64_t out;
    assert_int_equal(rates_to_usd(&r, "CHF", "2024-01-01", 100, &out), -ENOENT);
    assert_int_equal(rates_to_usd(&r, "FJD", "2024-01-01", 100, &out), -ENOENT);
    assert_int_equal(rates_to_usd(&r, "ZAR", "2024-01-01", 100, &out), -ENOENT);
    rates_clear(&r);
    assert_null(r.v);
    assert_int_equal(r.n, 0);
    assert_int_equal(rates_to_usd(&r, "EUR", "2024-01-01", 100, &out), -ENOENT);
}

static void test_unknown_minor_unit(void **state)
{
    rates r = {0};
    int64_t out = 5;

    (void)state;
    /* gold has a rate but no minor unit: amounts in minor units mean nothing */
    assert_int_equal(rates_put(&r, "XAU", "2020-01-01", 2000000000), 0);
    assert_int_equal(rates_to_usd(&r, "XAU", "2024-01-01", 1, &out), -ENOENT);
    /* nor does something that is no currency code */
    assert_int_equal(rates_put(&r, "EU", "2020-01-01", 1000000), 0);
    assert_int_equal(rates_to_usd(&r, "EU", "2024-01-01", 1, &out), -ENOENT);
    assert_int_equal(rates_to_usd(&r, "", "2024-01-01", 1, &out), -ENOENT);
    assert_int_equal(out, 5);
    rates_clear(&r);
}

/* 10^14 minor units at realistic rates: the product amount * micros * 100
 * is far beyond 2^63, the result is not. */
static void test_largest_amounts(void **state)
{
    const int64_t max = INT64_C(100000000000000); /* 10^14 */
    rates r = {0};

    (void)state;
    assert_int_equal(rates_put(&r, "JPY", "2020-01-01", 6712), 0);    /* 0.006712 */
    assert_int_equal(rates_put(&r, "EUR", "2020-01-01", 1085123), 0); /* 1.085123 */
    assert_int_equal(rates_put(&r, "KWD", "2020-01-01", 3253417), 0); /* 3.253417 */
    /* 10^14 yen = 6.712 * 10^11 dollars = 6.712 * 10^13 cents */
    assert_int_equal(cents(&r, "JPY", "2024-01-01", max), INT64_C(67120000000000));
    assert_int_equal(cents(&r, "JPY", "2024-01-01", -max), -INT64_C(67120000000000));
    /* 10^12 euros = 1.085123 * 10^14 cents */
    assert_int_equal(cents(&r, "EUR", "2024-01-01", max), INT64_C(108512300000000));
    assert_int_equal(cents(&r, "EUR", "2024-01-01", -max), -INT64_C(108512300000000));
    /* 10^11 dinars = 3.253417 * 10^13 cents */
    assert_int_equal(cents(&r, "KWD", "2024-01-01", max), INT64_C(32534170000000));
    /* one less than the largest: rounding still exact at full width;
     * (10^14 - 1) * 1.085123 = 108512299999998.914877 -> ...99 */
    assert_int_equal(cents(&r, "EUR", "2024-01-01", max - 1), INT64_C(108512299999999));
    assert_int_equal(cents(&r, "EUR", "2024-01-01", -(max - 1)), -INT64_C(108512299999999));
    /* a rate far above any real one still fits the 128-bit product */
    assert_int_equal(rates_put(&r, "KWD", "2020-01-01", INT64_C(100000000000)), 0); /* 10^5 */
    assert_int_equal(cents(&r, "KWD", "2024-01-01", max), INT64_C(1000000000000000000));
    rates_clear(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_usd_at_one_without_rates),
        cmocka_unit_test(test_rounding_two_minor_units),
        cmocka_unit_test(test_rounding_zero_and_three_minor_units),
        cmocka_unit_test(test_dated_rates),
        cmocka_unit_test(test_unknown_minor_unit),
        cmocka_unit_test(test_largest_amounts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
