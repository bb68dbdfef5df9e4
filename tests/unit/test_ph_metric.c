/*  Unit tests of common/ph_metric.c: names, units and periods; strict
 *  numbers; buckets (add, merge associativity, stored form round trip and
 *  rejects); the metric-filter defaultValue rule; datapoints per period
 *  (alignment, statistics, gaps, order independence). */
#include "ph_errors.h"
#include "ph_metric.h"
#include "ph_test.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define COUNT_OF(a) (sizeof (a) / sizeof (a)[0])

static void s_test_stat_names (void)
{
    static const char *const names[] = {"SampleCount", "Average", "Sum", "Minimum", "Maximum"};
    char err[PH_METRIC_ERR_MAX];
    ph_metric_stat_t st;
    for (size_t i = 0; i < COUNT_OF (names); i++) {
        CHECK (ph_metric_stat_parse (names[i], &st, err, sizeof err) == 0);
        CHECK_STR (ph_metric_stat_name (st), names[i]);
    }
    /* CloudWatch's names are case-sensitive; the error shows the fix. */
    CHECK (ph_metric_stat_parse ("average", &st, err, sizeof err) == PH_EINVAL);
    CHECK (strstr (err, "did you mean Average?") != NULL);
    CHECK (ph_metric_stat_parse ("p99", &st, err, sizeof err) == PH_EINVAL);
    CHECK (strstr (err, "'p99' is not a statistic") != NULL);
    CHECK (strstr (err, "SampleCount, Average, Sum, Minimum, Maximum") != NULL);
    CHECK (ph_metric_stat_parse (NULL, &st, NULL, 0) == PH_EINVAL);
    CHECK (ph_metric_stat_parse ("", &st, NULL, 0) == PH_EINVAL);
    CHECK_STR (ph_metric_stat_name ((ph_metric_stat_t)99), "?");
}

static void s_test_units (void)
{
    /* CloudWatch's StandardUnit list, all 27. */
    static const char *const units[] = {
        "Seconds",
        "Microseconds",
        "Milliseconds",
        "Bytes",
        "Kilobytes",
        "Megabytes",
        "Gigabytes",
        "Terabytes",
        "Bits",
        "Kilobits",
        "Megabits",
        "Gigabits",
        "Terabits",
        "Percent",
        "Count",
        "Bytes/Second",
        "Kilobytes/Second",
        "Megabytes/Second",
        "Gigabytes/Second",
        "Terabytes/Second",
        "Bits/Second",
        "Kilobits/Second",
        "Megabits/Second",
        "Gigabits/Second",
        "Terabits/Second",
        "Count/Second",
        "None",
    };
    CHECK (COUNT_OF (units) == PH_METRIC_UNITS);
    char err[PH_METRIC_ERR_MAX];
    ph_metric_unit_t u;
    for (size_t i = 0; i < COUNT_OF (units); i++) {
        CHECK (ph_metric_unit_parse (units[i], &u, err, sizeof err) == 0 && (size_t)u == i);
        CHECK_STR (ph_metric_unit_name (u), units[i]);
    }
    CHECK (ph_metric_unit_parse ("bytes", &u, err, sizeof err) == PH_EINVAL);
    CHECK (strstr (err, "did you mean Bytes?") != NULL);
    CHECK (ph_metric_unit_parse ("Bytes/s", &u, err, sizeof err) == PH_EINVAL);
    /* The whole list fits in the error buffer. */
    CHECK (strstr (err, "Count/Second, None") != NULL);
    CHECK_STR (ph_metric_unit_name ((ph_metric_unit_t)-1), "?");
}

static void s_test_periods (void)
{
    static const int64_t good[] = {1, 5, 10, 30, 60, 120, 300, 3600, 86400, PH_METRIC_PERIOD_MAX};
    static const int64_t bad[] = {
        0, -1, -60, 2, 3, 15, 20, 45, 59, 61, 90, 7200 + 1, PH_METRIC_PERIOD_MAX + 60};
    for (size_t i = 0; i < COUNT_OF (good); i++)
        CHECK (ph_metric_period_valid (good[i]) && ph_metric_period_check (good[i], NULL, 0) == 0);
    for (size_t i = 0; i < COUNT_OF (bad); i++)
        CHECK (!ph_metric_period_valid (bad[i]) && ph_metric_period_check (bad[i], NULL, 0) != 0);
    char err[PH_METRIC_ERR_MAX];
    int64_t p = 0;
    CHECK (ph_metric_period_parse ("300", &p, err, sizeof err) == 0 && p == 300);
    CHECK (ph_metric_period_parse ("90", &p, err, sizeof err) == PH_EINVAL && p == 300);
    CHECK (strstr (err, "90 s is not a multiple of 60") != NULL && strstr (err, "(e.g. 60)"));
    CHECK (ph_metric_period_parse ("45", &p, err, sizeof err) == PH_EINVAL);
    CHECK (strstr (err, "use 1, 5, 10, 30 or a multiple of 60 seconds") != NULL);
    CHECK (ph_metric_period_parse ("60s", &p, err, sizeof err) == PH_EINVAL);
    CHECK (strstr (err, "not a number of seconds") != NULL);
    CHECK (ph_metric_period_parse ("+60", &p, err, sizeof err) == PH_EINVAL);
    CHECK (ph_metric_period_parse ("", &p, err, sizeof err) == PH_EINVAL);
    CHECK (ph_metric_period_parse ("99999999999999999999", &p, err, sizeof err) == PH_EINVAL);
    CHECK (strstr (err, "longer than") != NULL);
    CHECK (ph_metric_period_parse ("2592060", &p, err, sizeof err) == PH_EINVAL);
    CHECK (strstr (err, "longer than") != NULL);
}

static void s_test_values (void)
{
    static const struct {
        const char *text;
        double value;
    } good[] = {
        {"0", 0},
        {"-12", -12},
        {"3.5", 3.5},
        {"1e-3", 0.001},
        {"1E+6", 1e6},
        {"007", 7},
        {"2.3e108", 2.3e108},
        {"-2.3e108", -2.3e108},
        {"1e-400", 0},
        {"0.1", 0.1},
        {"123456789.125", 123456789.125},
    };
    static const char *const bad[] = {
        "",   " 1",  "1 ",  "+1",  "0x10",  "inf",     "-inf",     "nan",   "NaN", "1.",    ".5",
        "1e", "1e+", "--1", "1,5", "1e400", "2.4e108", "-2.4e108", "1.0.0", "١",   "1_000",
    };
    double v;
    for (size_t i = 0; i < COUNT_OF (good); i++)
        CHECK (ph_metric_value_parse (good[i].text, &v) == 0 && v == good[i].value);
    for (size_t i = 0; i < COUNT_OF (bad); i++)
        CHECK (ph_metric_value_parse (bad[i], &v) == PH_EINVAL);
    CHECK (ph_metric_value_parse (NULL, &v) == PH_EINVAL);
    char longnum[PH_METRIC_NUMBER_MAX + 2];
    memset (longnum, '1', sizeof longnum - 1);
    longnum[sizeof longnum - 1] = 0;
    CHECK (ph_metric_value_parse (longnum, &v) == PH_EINVAL);
}

static void s_test_align (void)
{
    CHECK (ph_metric_align (125, 60) == 120);
    CHECK (ph_metric_align (120, 60) == 120);
    CHECK (ph_metric_align (179, 60) == 120);
    CHECK (ph_metric_align (-1, 60) == -60);
    CHECK (ph_metric_align (-60, 60) == -60);
    CHECK (ph_metric_align (0, 5) == 0);
    CHECK (ph_metric_align (7, 5) == 5);
    /* 2026-11-25T18:22:05Z at 1 h: 18:00:00. */
    CHECK (ph_metric_align (1795630925, 3600) == 1795629600);
    int64_t from, to;
    CHECK (ph_metric_range_align (100, 200, 60, &from, &to) == 0 && from == 60 && to == 240);
    CHECK (ph_metric_range_align (120, 240, 60, &from, &to) == 0 && from == 120 && to == 240);
    CHECK (ph_metric_range_align (120, 121, 60, &from, &to) == 0 && from == 120 && to == 180);
    CHECK (ph_metric_range_align (200, 200, 60, &from, &to) == PH_EINVAL);
    CHECK (ph_metric_range_align (300, 200, 60, &from, &to) == PH_EINVAL);
    CHECK (ph_metric_range_align (-5, 200, 60, &from, &to) == PH_EINVAL);
    CHECK (ph_metric_range_align (0, 200, 45, &from, &to) == PH_EINVAL);
    CHECK (ph_metric_range_align (0, PH_METRIC_TIME_MAX + 1, 60, &from, &to) == PH_EINVAL);
}

static bool s_same_bucket (const ph_metric_bucket_t *a, const ph_metric_bucket_t *b)
{
    return a->t_s == b->t_s && a->count == b->count && a->sum == b->sum &&
           signbit (a->sum) == signbit (b->sum) && a->min == b->min &&
           signbit (a->min) == signbit (b->min) && a->max == b->max &&
           signbit (a->max) == signbit (b->max);
}

static void s_test_bucket_add (void)
{
    ph_metric_bucket_t b;
    ph_metric_bucket_init (&b, 42);
    CHECK (b.count == 0 && b.t_s == 42);
    CHECK (ph_metric_bucket_add (&b, 3) == 0);
    CHECK (ph_metric_bucket_add (&b, -1.5) == 0);
    CHECK (ph_metric_bucket_add (&b, 10) == 0);
    CHECK (b.count == 3 && b.sum == 11.5 && b.min == -1.5 && b.max == 10);
    ph_metric_bucket_t before = b;
    CHECK (ph_metric_bucket_add (&b, NAN) == PH_EINVAL);
    CHECK (ph_metric_bucket_add (&b, INFINITY) == PH_EINVAL);
    CHECK (ph_metric_bucket_add (&b, -INFINITY) == PH_EINVAL);
    CHECK (ph_metric_bucket_add (&b, 0x1p361) == PH_EINVAL);
    CHECK (s_same_bucket (&b, &before));
    CHECK (ph_metric_bucket_add (&b, PH_METRIC_VALUE_MAX) == 0);
    b.count = UINT64_MAX;
    CHECK (ph_metric_bucket_add (&b, 1) == PH_ETOOBIG);
}

static void s_test_bucket_merge (void)
{
    ph_metric_bucket_t a, b, empty;
    ph_metric_bucket_init (&a, 7);
    ph_metric_bucket_init (&b, 7);
    ph_metric_bucket_init (&empty, 7);
    ph_metric_bucket_add (&a, 1);
    ph_metric_bucket_add (&a, 5);
    ph_metric_bucket_add (&b, -2);
    ph_metric_bucket_t x = a;
    CHECK (ph_metric_bucket_merge (&x, &empty) == 0 && s_same_bucket (&x, &a));
    ph_metric_bucket_t y = empty;
    CHECK (ph_metric_bucket_merge (&y, &a) == 0 && s_same_bucket (&y, &a));
    CHECK (ph_metric_bucket_merge (&x, &b) == 0);
    CHECK (x.count == 3 && x.sum == 4 && x.min == -2 && x.max == 5);
    ph_metric_bucket_t other;
    ph_metric_bucket_init (&other, 8);
    ph_metric_bucket_add (&other, 1);
    x = a;
    CHECK (ph_metric_bucket_merge (&x, &other) == PH_EINVAL && s_same_bucket (&x, &a));
    ph_metric_bucket_t big = a;
    big.count = UINT64_MAX - 1;
    CHECK (ph_metric_bucket_merge (&big, &a) == PH_ETOOBIG && big.count == UINT64_MAX - 1);
}

/*  A small deterministic generator: the same inputs on every run. */
static uint64_t s_rand_state = 88172645463325252ULL;
static uint64_t s_rand (void)
{
    s_rand_state ^= s_rand_state << 13;
    s_rand_state ^= s_rand_state >> 7;
    s_rand_state ^= s_rand_state << 17;
    return s_rand_state;
}

static void s_random_bucket (ph_metric_bucket_t *b, bool integers)
{
    ph_metric_bucket_init (b, 1000);
    size_t n = 1 + s_rand () % 5;
    for (size_t i = 0; i < n; i++) {
        double v = (double)(int64_t)(s_rand () % 2001) - 1000;
        if (!integers)
            v = v / 7.0 + (double)(s_rand () % 1000) * 1e-9;
        ph_metric_bucket_add (b, v);
    }
}

/*  Two logshippers write into the same second in any order: (a+b)+c must
 *  be a+(b+c) and a+b must be b+a. Exact for count/min/max, and for sums
 *  of integers; within rounding for other sums. */
static void s_test_merge_associative (void)
{
    int exact_ok = 1, close_ok = 1;
    for (int round = 0; round < 500; round++) {
        bool integers = round % 2 == 0;
        ph_metric_bucket_t a, b, c;
        s_random_bucket (&a, integers);
        s_random_bucket (&b, integers);
        s_random_bucket (&c, integers);
        ph_metric_bucket_t left = a, bc = b, right = a, ba = b;
        ph_metric_bucket_merge (&left, &b);
        ph_metric_bucket_merge (&left, &c);
        ph_metric_bucket_merge (&bc, &c);
        ph_metric_bucket_merge (&right, &bc);
        ph_metric_bucket_merge (&ba, &a);
        ph_metric_bucket_t ab = a;
        ph_metric_bucket_merge (&ab, &b);
        if (left.count != right.count || left.min != right.min || left.max != right.max ||
            ab.count != ba.count || ab.min != ba.min || ab.max != ba.max || ab.sum != ba.sum)
            exact_ok = 0;
        if (integers && left.sum != right.sum)
            exact_ok = 0;
        double tol = 1e-12 * (fabs (left.sum) > 1 ? fabs (left.sum) : 1);
        if (fabs (left.sum - right.sum) > tol)
            close_ok = 0;
    }
    CHECK (exact_ok);
    CHECK (close_ok);
}

static void s_check_round_trip (const ph_metric_bucket_t *b, const char *expect)
{
    char text[PH_METRIC_BUCKET_TEXT_MAX];
    int n = ph_metric_bucket_format (b, text, sizeof text);
    CHECK (n > 0 && (size_t)n == strlen (text));
    if (expect)
        CHECK_STR (text, expect);
    ph_metric_bucket_t back;
    CHECK (ph_metric_bucket_parse (text, (size_t)n, b->t_s, &back) == 0);
    CHECK (s_same_bucket (&back, b));
}

static void s_test_encoding (void)
{
    ph_metric_bucket_t b;
    ph_metric_bucket_init (&b, 1795630925);
    ph_metric_bucket_add (&b, 1);
    ph_metric_bucket_add (&b, 2);
    ph_metric_bucket_add (&b, 3);
    s_check_round_trip (&b, "3:6:1:3");
    ph_metric_bucket_init (&b, 5);
    ph_metric_bucket_add (&b, 0.1);
    s_check_round_trip (&b, "1:0.1:0.1:0.1");
    ph_metric_bucket_add (&b, 0.2);
    s_check_round_trip (&b, "2:0.30000000000000004:0.1:0.2");
    ph_metric_bucket_init (&b, 5);
    ph_metric_bucket_add (&b, -0.0);
    s_check_round_trip (&b, "1:-0:-0:-0");
    static const double awkward[] = {1.0 / 3, -2.0 / 3, 1e-300,    5e-324, 123456789012345678.0,
                                     0x1p360, -0x1p360, 0.1 + 0.7, 1e21,   -1e-7};
    for (size_t i = 0; i < COUNT_OF (awkward); i++) {
        ph_metric_bucket_init (&b, (int64_t)i);
        ph_metric_bucket_add (&b, awkward[i]);
        s_check_round_trip (&b, NULL);
        ph_metric_bucket_add (&b, awkward[(i + 3) % COUNT_OF (awkward)]);
        s_check_round_trip (&b, NULL);
    }
    /* Biggest count and sum the format allows. */
    b.count = UINT64_MAX;
    b.sum = (double)UINT64_MAX * 0x1p360;
    b.min = -0x1p360;
    b.max = 0x1p360;
    s_check_round_trip (&b, NULL);
    /* Text a Lua script would write with %.17g reads back. */
    CHECK (ph_metric_bucket_parse ("2:0.30000000000000004:0.10000000000000001:0.20000000000000001",
                                   61, 9, &b) == 0);
    CHECK (b.t_s == 9 && b.count == 2 && b.sum == 0.1 + 0.2 && b.min == 0.1 && b.max == 0.2);
    /* Not NUL-terminated: only len bytes are read. */
    CHECK (ph_metric_bucket_parse ("3:6:1:3XYZ", 7, 1, &b) == 0 && b.count == 3 && b.max == 3);
    /* Format refuses what it could not read back. */
    char text[PH_METRIC_BUCKET_TEXT_MAX];
    ph_metric_bucket_init (&b, 1);
    CHECK (ph_metric_bucket_format (&b, text, sizeof text) == PH_EINVAL);
    ph_metric_bucket_add (&b, 12345);
    CHECK (ph_metric_bucket_format (&b, text, 5) == PH_ETOOBIG);
    b.min = 99999;
    CHECK (ph_metric_bucket_format (&b, text, sizeof text) == PH_EINVAL);
}

static void s_test_encoding_rejects (void)
{
    static const char *const bad[] = {
        "",
        "3",
        "3:6:1",
        "3:6:1:3:4",
        "3:6:1:3:",
        ":3:6:1:3",
        "0:0:0:0",  /* a stored bucket has a sample */
        "03:6:1:3", /* leading zero */
        "-3:6:1:3",
        "+3:6:1:3",
        "3:6:3:1", /* min > max */
        "1:2:1:1", /* one sample: sum = min = max */
        "3:nan:1:3",
        "3:inf:1:3",
        "3:6:-inf:3",
        "3: 6:1:3",
        "3:6:1:3 ",
        "3:6:1:3\n",
        "3:0x6:1:3",
        "3:6.:1:3",
        "3:6:1e:3",
        "3:6:1:1e109", /* beyond 2^360 */
        "3:1e400:1:3",
        "18446744073709551616:1:1:1", /* 2^64 */
        "99999999999999999999999:1:1:1",
        "3;6;1;3",
        "3:6:1,0:3",
        "three:6:1:3",
        "2:1e300:1:3", /* |sum| beyond count x 2^360 would need 1e300 <= 4.7e108 */
    };
    ph_metric_bucket_t b, untouched;
    ph_metric_bucket_init (&b, 77);
    ph_metric_bucket_add (&b, 4);
    untouched = b;
    for (size_t i = 0; i < COUNT_OF (bad); i++) {
        int rc = ph_metric_bucket_parse (bad[i], strlen (bad[i]), 1, &b);
        CHECK (rc == PH_EINVAL);
        if (rc != PH_EINVAL)
            fprintf (stderr, "accepted: '%s'\n", bad[i]);
    }
    CHECK (s_same_bucket (&b, &untouched));
    /* An embedded NUL inside len is garbage too. */
    CHECK (ph_metric_bucket_parse ("3:6\0:1:3", 8, 1, &b) == PH_EINVAL);
    CHECK (ph_metric_bucket_parse (NULL, 0, 1, &b) == PH_EINVAL);
    /* Longer than the buffer a reader would use. */
    char longtext[PH_METRIC_BUCKET_TEXT_MAX + 8];
    memset (longtext, '0', sizeof longtext);
    memcpy (longtext, "1:1.", 4);
    memcpy (longtext + sizeof longtext - 4, ":1:1", 4);
    CHECK (ph_metric_bucket_parse (longtext, sizeof longtext, 1, &b) == PH_EINVAL);
}

/*  The metric-filter rule, one row per case of CloudWatch Logs' defaultValue
 *  ("the value reported to the metric filter during a period when logs
 *  are ingested but no matching logs are found"). */
static void s_test_filter_default_value (void)
{
    static const double zero = 0, seven = 7;
    static const double ones[] = {1, 1}, latencies[] = {200, 350, 50};
    static const struct {
        uint64_t events;
        const double *values;
        size_t matched;
        const double *dflt;
        int rc;
        uint64_t count;
        double sum, min, max;
    } rows[] = {
        /* no events: no sample, default or not */
        {0, NULL, 0, &zero, 0, 0, 0, 0, 0},
        {0, NULL, 0, NULL, 0, 0, 0, 0, 0},
        /* events, none matched: the default, once, if there is one */
        {5, NULL, 0, &zero, 0, 1, 0, 0, 0},
        {1, NULL, 0, &seven, 0, 1, 7, 7, 7},
        {5, NULL, 0, NULL, 0, 0, 0, 0, 0},
        /* events, some matched: one sample per match, never the default */
        {5, ones, 2, &zero, 0, 2, 2, 1, 1},
        {3, latencies, 3, NULL, 0, 3, 600, 50, 350},
        /* more matches than events cannot be */
        {1, ones, 2, NULL, PH_EINVAL, 0, 0, 0, 0},
    };
    for (size_t i = 0; i < COUNT_OF (rows); i++) {
        ph_metric_bucket_t b;
        int rc = ph_metric_filter_second (600, rows[i].events, rows[i].values, rows[i].matched,
                                          rows[i].dflt, &b);
        CHECK (rc == rows[i].rc);
        if (rc != 0)
            continue;
        CHECK (b.t_s == 600 && b.count == rows[i].count);
        if (b.count)
            CHECK (b.sum == rows[i].sum && b.min == rows[i].min && b.max == rows[i].max);
    }
    ph_metric_bucket_t b;
    static const double nan_value[] = {NAN}, nan_default = NAN;
    CHECK (ph_metric_filter_second (1, 1, nan_value, 1, NULL, &b) == PH_EINVAL);
    CHECK (ph_metric_filter_second (1, 1, NULL, 0, &nan_default, &b) == PH_EINVAL);
    CHECK (ph_metric_filter_second (1, 1, NULL, 1, NULL, &b) == PH_EINVAL);
}

static ph_metric_bucket_t s_bucket (int64_t t, double v)
{
    ph_metric_bucket_t b;
    ph_metric_bucket_init (&b, t);
    ph_metric_bucket_add (&b, v);
    return b;
}

static void s_test_aggregate_basic (void)
{
    /* 2, 4 in one second and 9 in another of the same minute; a gap; 1 later. */
    ph_metric_bucket_t in[4];
    in[0] = s_bucket (1000020, 2);
    ph_metric_bucket_add (&in[0], 4);
    in[1] = s_bucket (1000059, 9);
    in[2] = s_bucket (1000200, 1);
    in[3] = s_bucket (1000019, 100); /* the minute before: its own datapoint */
    ph_metric_datapoint_t out[8];
    size_t n = 99;
    CHECK (ph_metric_aggregate (in, 4, 1000000, 1000260, 60, out, 8, &n) == 0);
    /* Periods start at multiples of 60 since the epoch: 999960, 1000020, 1000200. */
    CHECK (n == 3);
    CHECK (out[0].t_s == 999960 && out[0].sample_count == 1 && out[0].sum == 100);
    CHECK (out[1].t_s == 1000020);
    CHECK (out[1].sum == 15 && out[1].average == 5 && out[1].minimum == 2 && out[1].maximum == 9 &&
           out[1].sample_count == 3);
    CHECK (ph_metric_datapoint_value (&out[1], PH_METRIC_STAT_SUM) == 15);
    CHECK (ph_metric_datapoint_value (&out[1], PH_METRIC_STAT_AVERAGE) == 5);
    CHECK (ph_metric_datapoint_value (&out[1], PH_METRIC_STAT_MINIMUM) == 2);
    CHECK (ph_metric_datapoint_value (&out[1], PH_METRIC_STAT_MAXIMUM) == 9);
    CHECK (ph_metric_datapoint_value (&out[1], PH_METRIC_STAT_SAMPLE_COUNT) == 3);
    CHECK (isnan (ph_metric_datapoint_value (&out[1], (ph_metric_stat_t)9)));
    /* 1000080..1000199 had nothing: no datapoint, not a zero. */
    CHECK (out[2].t_s == 1000200 && out[2].sum == 1);
    /* The range is rounded out to whole periods: [1000030, 1000031) is the
     * minute 1000020..1000079 and holds both of its buckets. */
    CHECK (ph_metric_aggregate (in, 4, 1000030, 1000031, 60, out, 8, &n) == 0);
    CHECK (n == 1 && out[0].sample_count == 3);
    /* Outside the range: nothing. */
    CHECK (ph_metric_aggregate (in, 4, 2000000, 2000060, 60, out, 8, &n) == 0 && n == 0);
}

static void s_test_aggregate_periods (void)
{
    /* One sample a second, value = second % 7, over 20 s: periods of 1, 5, 10 s. */
    ph_metric_bucket_t in[20];
    for (int i = 0; i < 20; i++)
        in[i] = s_bucket (1000 + i, (double)((1000 + i) % 7));
    ph_metric_datapoint_t out[32];
    size_t n;
    CHECK (ph_metric_aggregate (in, 20, 1000, 1020, 1, out, 32, &n) == 0 && n == 20);
    CHECK (out[19].t_s == 1019 && out[19].sum == 1019 % 7);
    CHECK (ph_metric_aggregate (in, 20, 1000, 1020, 5, out, 32, &n) == 0 && n == 4);
    CHECK (out[0].t_s == 1000 && out[1].t_s == 1005 && out[3].t_s == 1015);
    double sum = 0;
    for (int s = 1005; s < 1010; s++)
        sum += s % 7;
    CHECK (out[1].sum == sum && out[1].sample_count == 5);
    CHECK (ph_metric_aggregate (in, 20, 1000, 1020, 10, out, 32, &n) == 0 && n == 2);
    CHECK (ph_metric_aggregate (in, 20, 1000, 1020, 30, out, 32, &n) == 0 && n == 1);
    /* 1000 is not a multiple of 30: the period is 990..1019. */
    CHECK (out[0].t_s == 990 && out[0].sample_count == 20);
    /* Room for fewer datapoints than there are. */
    CHECK (ph_metric_aggregate (in, 20, 1000, 1020, 5, out, 3, &n) == PH_ETOOBIG);
    CHECK (ph_metric_aggregate (in, 20, 1000, 1020, 7, out, 32, &n) == PH_EINVAL);
    CHECK (ph_metric_aggregate (in, 20, 1020, 1000, 5, out, 32, &n) == PH_EINVAL);
    /* Per-minute roll-ups give the same 5-minute datapoints as seconds do. */
    ph_metric_bucket_t sec[600], minute[10];
    for (int i = 0; i < 600; i++)
        sec[i] = s_bucket (6000 + i, (double)(i % 13));
    for (int m = 0; m < 10; m++) {
        minute[m] = sec[m * 60];
        for (int s = 1; s < 60; s++) {
            ph_metric_bucket_t b = sec[m * 60 + s];
            b.t_s = minute[m].t_s;
            ph_metric_bucket_merge (&minute[m], &b);
        }
    }
    ph_metric_datapoint_t a[4], b[4];
    size_t na, nb;
    CHECK (ph_metric_aggregate (sec, 600, 6000, 6600, 300, a, 4, &na) == 0 && na == 2);
    CHECK (ph_metric_aggregate (minute, 10, 6000, 6600, 300, b, 4, &nb) == 0 && nb == 2);
    CHECK (a[1].t_s == b[1].t_s && a[1].sum == b[1].sum && a[1].sample_count == 300 &&
           b[1].sample_count == 300 && a[1].minimum == b[1].minimum);
}

static void s_test_aggregate_order (void)
{
    /* Fractional values, several buckets per second and per period, in
     * random order: the datapoints come out identical to the bit. */
    enum { N = 300 };
    ph_metric_bucket_t in[N], shuffled[N];
    for (int i = 0; i < N; i++) {
        in[i] = s_bucket (5000 + (int64_t)(s_rand () % 120), (double)(s_rand () % 1000) / 7.0);
        shuffled[i] = in[i];
    }
    ph_metric_datapoint_t a[16], b[16];
    size_t na, nb;
    CHECK (ph_metric_aggregate (in, N, 5000, 5120, 10, a, 16, &na) == 0 && na == 12);
    int same = 1;
    for (int round = 0; round < 20; round++) {
        for (int i = N - 1; i > 0; i--) {
            int j = (int)(s_rand () % (uint64_t)(i + 1));
            ph_metric_bucket_t t = shuffled[i];
            shuffled[i] = shuffled[j];
            shuffled[j] = t;
        }
        if (ph_metric_aggregate (shuffled, N, 5000, 5120, 10, b, 16, &nb) != 0 || nb != na ||
            memcmp (a, b, na * sizeof a[0]) != 0)
            same = 0;
    }
    CHECK (same);
    uint64_t total = 0;
    for (size_t i = 0; i < na; i++)
        total += a[i].sample_count;
    CHECK (total == N);
}

static void s_test_aggregate_rejects (void)
{
    ph_metric_bucket_t in[3];
    in[0] = s_bucket (100, 1);
    in[1] = s_bucket (101, 2);
    ph_metric_bucket_init (&in[2], 102); /* empty: ignored */
    ph_metric_datapoint_t out[4];
    size_t n;
    CHECK (ph_metric_aggregate (in, 3, 60, 120, 60, out, 4, &n) == 0 && n == 1 &&
           out[0].sample_count == 2);
    in[1].min = 5; /* min > max: not a bucket this code would write */
    CHECK (ph_metric_aggregate (in, 3, 60, 120, 60, out, 4, &n) == PH_EINVAL);
    in[1] = s_bucket (101, 2);
    in[1].sum = NAN;
    in[1].count = 2;
    CHECK (ph_metric_aggregate (in, 3, 60, 120, 60, out, 4, &n) == PH_EINVAL);
    CHECK (ph_metric_aggregate (NULL, 0, 60, 120, 60, out, 4, &n) == 0 && n == 0);
}

int main (void)
{
    s_test_stat_names ();
    s_test_units ();
    s_test_periods ();
    s_test_values ();
    s_test_align ();
    s_test_bucket_add ();
    s_test_bucket_merge ();
    s_test_merge_associative ();
    s_test_encoding ();
    s_test_encoding_rejects ();
    s_test_filter_default_value ();
    s_test_aggregate_basic ();
    s_test_aggregate_periods ();
    s_test_aggregate_order ();
    s_test_aggregate_rejects ();
    PH_TEST_END ();
}
