/*  ph_metric: see ph_metric.h. Buckets of samples per second, their merge
 *  and stored form, the metric-filter rule, and datapoints per period with
 *  CloudWatch's statistics, names, units and periods.
 */
#include "ph_metric.h"
#include "ph_errors.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define S_FIELDS      4  /* COUNT:SUM:MIN:MAX */
#define S_DIGITS_MAX  17 /* significant digits that always read back to the same double */
#define S_COUNT_CHARS 20 /* digits of 2^64 - 1 */

static const char *const s_stat_names[PH_METRIC_STATS] = {
    "SampleCount", "Average", "Sum", "Minimum", "Maximum",
};

static const char *const s_unit_names[PH_METRIC_UNITS] = {
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

/*  Periods below a minute that CloudWatch offers for high-resolution data. */
static const int64_t s_short_periods[] = {1, 5, 10, 30};

int ph_metric_name_lookup (const char *text, const char *const *names, size_t n, const char *what,
                           char *err, size_t errlen)
{
    const char *near = NULL;
    for (size_t i = 0; text && i < n; i++) {
        if (strcmp (text, names[i]) == 0)
            return (int)i;
        if (strcasecmp (text, names[i]) == 0)
            near = names[i];
    }
    if (!err || errlen == 0)
        return PH_EINVAL;
    /* The user's text is cut short so that the list of valid names, the
     * useful part, always fits. */
    int used = snprintf (err, errlen, "'%.40s%s' is not a %s; ", text ? text : "",
                         text && strlen (text) > 40 ? "..." : "", what);
    if (near)
        used += snprintf (err + used, used < (int)errlen ? errlen - used : 0, "did you mean %s? ",
                          near);
    used += snprintf (err + used, used < (int)errlen ? errlen - used : 0, "use one of");
    for (size_t i = 0; i < n && used < (int)errlen; i++)
        used += snprintf (err + used, errlen - used, "%s %s", i ? "," : "", names[i]);
    return PH_EINVAL;
}

int ph_metric_stat_parse (const char *text, ph_metric_stat_t *stat, char *err, size_t errlen)
{
    int i = ph_metric_name_lookup (text, s_stat_names, PH_METRIC_STATS, "statistic", err, errlen);
    if (i < 0)
        return i;
    *stat = (ph_metric_stat_t)i;
    return 0;
}

const char *ph_metric_stat_name (ph_metric_stat_t stat)
{
    return (unsigned)stat < PH_METRIC_STATS ? s_stat_names[stat] : "?";
}

int ph_metric_unit_parse (const char *text, ph_metric_unit_t *unit, char *err, size_t errlen)
{
    int i = ph_metric_name_lookup (text, s_unit_names, PH_METRIC_UNITS, "unit", err, errlen);
    if (i < 0)
        return i;
    *unit = (ph_metric_unit_t)i;
    return 0;
}

const char *ph_metric_unit_name (ph_metric_unit_t unit)
{
    return (unsigned)unit < PH_METRIC_UNITS ? s_unit_names[unit] : "?";
}

bool ph_metric_period_valid (int64_t period_s)
{
    for (size_t i = 0; i < sizeof s_short_periods / sizeof s_short_periods[0]; i++)
        if (period_s == s_short_periods[i])
            return true;
    return period_s >= 60 && period_s <= PH_METRIC_PERIOD_MAX && period_s % 60 == 0;
}

int ph_metric_period_check (int64_t period_s, char *err, size_t errlen)
{
    if (ph_metric_period_valid (period_s))
        return 0;
    if (err && period_s > PH_METRIC_PERIOD_MAX && period_s % 60 == 0)
        snprintf (err, errlen, "%lld s is longer than %d s (30 days); use a shorter period",
                  (long long)period_s, PH_METRIC_PERIOD_MAX);
    else if (err && period_s > 60)
        snprintf (err, errlen,
                  "%lld s is not a multiple of 60; use 1, 5, 10, 30 or a multiple of 60 seconds "
                  "(e.g. %lld)",
                  (long long)period_s, (long long)(period_s / 60 * 60));
    else if (err)
        snprintf (err, errlen,
                  "%lld s is not a valid period; use 1, 5, 10, 30 or a multiple of 60 "
                  "seconds",
                  (long long)period_s);
    return PH_EINVAL;
}

int ph_metric_period_parse (const char *text, int64_t *period_s, char *err, size_t errlen)
{
    /* Digits only: "60s" or "1m" would invite guesses about units. */
    size_t len = text ? strlen (text) : 0;
    if (len == 0 || strspn (text, "0123456789") != len) {
        if (err)
            snprintf (err, errlen,
                      "'%.40s' is not a number of seconds; use 1, 5, 10, 30 or a "
                      "multiple of 60 (e.g. 60, 300)",
                      text ? text : "");
        return PH_EINVAL;
    }
    if (len > 9) {
        if (err)
            snprintf (err, errlen, "%.40s s is longer than %d s (30 days); use a shorter period",
                      text, PH_METRIC_PERIOD_MAX);
        return PH_EINVAL;
    }
    int64_t v = strtoll (text, NULL, 10);
    int rc = ph_metric_period_check (v, err, errlen);
    if (rc == 0)
        *period_s = v;
    return rc;
}

/*  True when the len bytes at s are a decimal number in the strict form
 *  -?D+(.D+)?([eE][+-]?D+)? . strtod alone would also take spaces, '+',
 *  hex, "inf" and "nan", none of which has a place in stored data. */
static bool s_decimal_form (const char *s, size_t len)
{
    size_t i = 0;
    if (i < len && s[i] == '-')
        i++;
    size_t start = i;
    while (i < len && s[i] >= '0' && s[i] <= '9')
        i++;
    if (i == start)
        return false;
    if (i < len && s[i] == '.') {
        start = ++i;
        while (i < len && s[i] >= '0' && s[i] <= '9')
            i++;
        if (i == start)
            return false;
    }
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < len && (s[i] == '+' || s[i] == '-'))
            i++;
        start = i;
        while (i < len && s[i] >= '0' && s[i] <= '9')
            i++;
        if (i == start)
            return false;
    }
    return i == len;
}

/*  Minimum and maximum that order -0 before +0, so that merging is
 *  commutative to the bit (fmin leaves the sign of equal zeros open). */
static double s_min (double a, double b)
{
    if (a != b)
        return a < b ? a : b;
    return signbit (a) ? a : b;
}

static double s_max (double a, double b)
{
    if (a != b)
        return a > b ? a : b;
    return signbit (a) ? b : a;
}

static bool s_value_ok (double v)
{
    return isfinite (v) && fabs (v) <= PH_METRIC_VALUE_MAX;
}

/*  Reads a strict decimal of len bytes (not NUL-terminated) into *v,
 *  without the range check. */
static int s_read_decimal (const char *s, size_t len, double *v)
{
    char buf[PH_METRIC_NUMBER_MAX + 1];
    if (len == 0 || len > PH_METRIC_NUMBER_MAX || !s_decimal_form (s, len))
        return PH_EINVAL;
    memcpy (buf, s, len);
    buf[len] = 0;
    char *end;
    errno = 0;
    double d = strtod (buf, &end);
    /* A locale whose decimal point is not '.' stops strtod early: refuse
     * rather than misread. ERANGE on underflow still gives a usable 0 or
     * denormal; overflow gives HUGE_VAL, which the range check refuses. */
    if (end != buf + len)
        return PH_EINVAL;
    *v = d;
    return 0;
}

int ph_metric_value_parse (const char *text, double *value)
{
    double v;
    if (!text || s_read_decimal (text, strlen (text), &v) != 0 || !s_value_ok (v))
        return PH_EINVAL;
    *value = v;
    return 0;
}

int64_t ph_metric_align (int64_t t_s, int64_t period_s)
{
    int64_t r = t_s % period_s;
    return r < 0 ? t_s - r - period_s : t_s - r;
}

void ph_metric_bucket_init (ph_metric_bucket_t *b, int64_t t_s)
{
    memset (b, 0, sizeof *b);
    b->t_s = t_s;
}

int ph_metric_bucket_add (ph_metric_bucket_t *b, double value)
{
    if (!s_value_ok (value))
        return PH_EINVAL;
    if (b->count == UINT64_MAX)
        return PH_ETOOBIG;
    if (b->count == 0) {
        b->sum = b->min = b->max = value;
    } else {
        b->sum += value;
        b->min = s_min (b->min, value);
        b->max = s_max (b->max, value);
    }
    b->count++;
    return 0;
}

int ph_metric_bucket_merge (ph_metric_bucket_t *into, const ph_metric_bucket_t *from)
{
    if (into->t_s != from->t_s)
        return PH_EINVAL;
    if (from->count == 0)
        return 0;
    if (into->count > UINT64_MAX - from->count)
        return PH_ETOOBIG;
    if (into->count == 0) {
        *into = *from;
        return 0;
    }
    into->sum += from->sum;
    into->min = s_min (into->min, from->min);
    into->max = s_max (into->max, from->max);
    into->count += from->count;
    return 0;
}

/*  The invariants of a non-empty bucket, whether built here or read. */
static bool s_bucket_ok (const ph_metric_bucket_t *b)
{
    if (b->count == 0 || !s_value_ok (b->min) || !s_value_ok (b->max) || b->min > b->max)
        return false;
    /* |sum| <= count * 2^360 < 2^425: finite whatever the count. */
    if (!isfinite (b->sum) || fabs (b->sum) > (double)b->count * PH_METRIC_VALUE_MAX)
        return false;
    return b->count != 1 || (b->sum == b->min && b->min == b->max);
}

/*  Writes the shortest %g text that reads back to v exactly. */
static int s_format_double (double v, char *buf, size_t len)
{
    int n = 0;
    for (int digits = 1; digits <= S_DIGITS_MAX; digits++) {
        n = snprintf (buf, len, "%.*g", digits, v);
        if (n < 0 || (size_t)n >= len)
            return PH_ETOOBIG;
        if (strtod (buf, NULL) == v)
            break;
    }
    return n;
}

int ph_metric_bucket_format (const ph_metric_bucket_t *b, char *buf, size_t len)
{
    if (!s_bucket_ok (b))
        return PH_EINVAL;
    char num[3][PH_METRIC_NUMBER_MAX];
    const double v[3] = {b->sum, b->min, b->max};
    for (int i = 0; i < 3; i++)
        if (s_format_double (v[i], num[i], sizeof num[i]) < 0)
            return PH_ETOOBIG;
    int n =
        snprintf (buf, len, "%llu:%s:%s:%s", (unsigned long long)b->count, num[0], num[1], num[2]);
    if (n < 0 || (size_t)n >= len)
        return PH_ETOOBIG;
    return n;
}

/*  Reads a sample count: 1..2^64-1, digits only, no leading zero. */
static int s_read_count (const char *s, size_t len, uint64_t *count)
{
    if (len == 0 || len > S_COUNT_CHARS || s[0] == '0')
        return PH_EINVAL;
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return PH_EINVAL;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return PH_EINVAL;
        v = v * 10 + d;
    }
    *count = v;
    return 0;
}

int ph_metric_bucket_parse (const char *text, size_t len, int64_t t_s, ph_metric_bucket_t *b)
{
    if (!text || len >= PH_METRIC_BUCKET_TEXT_MAX)
        return PH_EINVAL;
    const char *field[S_FIELDS];
    size_t flen[S_FIELDS];
    size_t nf = 0, start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && text[i] != ':')
            continue;
        if (nf == S_FIELDS)
            return PH_EINVAL;
        field[nf] = text + start;
        flen[nf++] = i - start;
        start = i + 1;
    }
    if (nf != S_FIELDS)
        return PH_EINVAL;
    ph_metric_bucket_t out;
    ph_metric_bucket_init (&out, t_s);
    if (s_read_count (field[0], flen[0], &out.count) != 0 ||
        s_read_decimal (field[1], flen[1], &out.sum) != 0 ||
        s_read_decimal (field[2], flen[2], &out.min) != 0 ||
        s_read_decimal (field[3], flen[3], &out.max) != 0 || !s_bucket_ok (&out))
        return PH_EINVAL;
    *b = out;
    return 0;
}

int ph_metric_filter_second (int64_t t_s, uint64_t events, const double *values, size_t n_matched,
                             const double *default_value, ph_metric_bucket_t *out)
{
    if (n_matched > events || (n_matched && !values) ||
        (default_value && !s_value_ok (*default_value)))
        return PH_EINVAL;
    ph_metric_bucket_t b;
    ph_metric_bucket_init (&b, t_s);
    for (size_t i = 0; i < n_matched; i++)
        if (ph_metric_bucket_add (&b, values[i]) != 0)
            return PH_EINVAL;
    /* The default value stands for "logs came in, none matched", never for
     * "no logs": a quiet log group leaves the metric missing, exactly as
     * CloudWatch does, so alarms see missing data rather than zeros. */
    if (events > 0 && n_matched == 0 && default_value)
        ph_metric_bucket_add (&b, *default_value);
    *out = b;
    return 0;
}

int ph_metric_range_align (int64_t start_s, int64_t end_s, int64_t period_s, int64_t *from_s,
                           int64_t *to_s)
{
    if (!ph_metric_period_valid (period_s) || start_s < 0 || end_s > PH_METRIC_TIME_MAX ||
        start_s >= end_s)
        return PH_EINVAL;
    *from_s = ph_metric_align (start_s, period_s);
    *to_s = ph_metric_align (end_s - 1, period_s) + period_s;
    return 0;
}

/*  Orders buckets by second, and equal seconds by content, so that the
 *  sums come out the same whatever the order of the input. */
static int s_bucket_cmp (const void *pa, const void *pb)
{
    const ph_metric_bucket_t *a = pa, *b = pb;
    if (a->t_s != b->t_s)
        return a->t_s < b->t_s ? -1 : 1;
    if (a->count != b->count)
        return a->count < b->count ? -1 : 1;
    if (a->sum != b->sum)
        return a->sum < b->sum ? -1 : 1;
    if (a->min != b->min)
        return a->min < b->min ? -1 : 1;
    return a->max < b->max ? -1 : a->max > b->max;
}

static void s_datapoint_from (ph_metric_datapoint_t *dp, int64_t t_s, const ph_metric_bucket_t *acc)
{
    dp->t_s = t_s;
    dp->sample_count = acc->count;
    dp->sum = acc->sum;
    dp->average = acc->sum / (double)acc->count;
    dp->minimum = acc->min;
    dp->maximum = acc->max;
}

/*  Turns the sorted buckets into datapoints; see ph_metric_aggregate. */
static int s_fold_periods (const ph_metric_bucket_t *sorted, size_t n, int64_t period_s,
                           ph_metric_datapoint_t *out, size_t max, size_t *n_out)
{
    size_t used = 0;
    ph_metric_bucket_t acc;
    int64_t cur = 0;
    bool open = false;
    for (size_t i = 0; i <= n; i++) {
        int64_t p = i < n ? ph_metric_align (sorted[i].t_s, period_s) : 0;
        if (open && (i == n || p != cur)) {
            if (used == max)
                return PH_ETOOBIG;
            s_datapoint_from (&out[used++], cur, &acc);
            open = false;
        }
        if (i == n)
            break;
        if (!open) {
            ph_metric_bucket_init (&acc, p);
            cur = p;
            open = true;
        }
        /* Seen at the period's start so that the merge accepts it. */
        ph_metric_bucket_t b = sorted[i];
        b.t_s = p;
        if (ph_metric_bucket_merge (&acc, &b) != 0)
            return PH_ETOOBIG;
    }
    *n_out = used;
    return 0;
}

int ph_metric_aggregate (const ph_metric_bucket_t *buckets, size_t n, int64_t start_s,
                         int64_t end_s, int64_t period_s, ph_metric_datapoint_t *out, size_t max,
                         size_t *n_out)
{
    int64_t from, to;
    if (ph_metric_range_align (start_s, end_s, period_s, &from, &to) != 0)
        return PH_EINVAL;
    size_t keep = 0;
    for (size_t i = 0; i < n; i++) {
        if (buckets[i].count == 0)
            continue;
        if (!s_bucket_ok (&buckets[i]))
            return PH_EINVAL;
        keep += buckets[i].t_s >= from && buckets[i].t_s < to;
    }
    *n_out = 0;
    if (keep == 0)
        return 0;
    ph_metric_bucket_t *sorted = malloc (keep * sizeof *sorted);
    if (!sorted)
        return PH_ENOMEM;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (buckets[i].count && buckets[i].t_s >= from && buckets[i].t_s < to)
            sorted[k++] = buckets[i];
    qsort (sorted, keep, sizeof *sorted, s_bucket_cmp);
    int rc = s_fold_periods (sorted, keep, period_s, out, max, n_out);
    free (sorted);
    return rc;
}

double ph_metric_datapoint_value (const ph_metric_datapoint_t *dp, ph_metric_stat_t stat)
{
    switch (stat) {
    case PH_METRIC_STAT_SAMPLE_COUNT:
        return (double)dp->sample_count;
    case PH_METRIC_STAT_AVERAGE:
        return dp->average;
    case PH_METRIC_STAT_SUM:
        return dp->sum;
    case PH_METRIC_STAT_MINIMUM:
        return dp->minimum;
    case PH_METRIC_STAT_MAXIMUM:
        return dp->maximum;
    }
    return NAN;
}
