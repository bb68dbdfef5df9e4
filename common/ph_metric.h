/*  ph_metric: metric data and statistics (issue 4), with CloudWatch's
 *  semantics.
 *
 *  Model. Metric filters turn log events into samples (one number each).
 *  The logshipper keeps, per metric, one bucket per second that had at
 *  least one sample: {second, sum, minimum, maximum, sample count}. Two
 *  logshippers may both add to the same second: they merge their buckets
 *  (ph_metric_bucket_merge), which is commutative and associative, so the
 *  order in which they land does not matter. From the buckets of a time
 *  range this module builds one datapoint per period with the five
 *  CloudWatch statistics (Sum, Average, Minimum, Maximum, SampleCount).
 *  Periods start at multiples of the period since the epoch, as
 *  CloudWatch aligns them; a period without samples has no datapoint
 *  (alarms then see it as missing).
 *
 *  Metric filter rule (CloudWatch Logs metric filters, "default value: the
 *  value reported to the metric filter during a period when logs are
 *  ingested but no matching logs are found"), applied per second of one
 *  log group: events ingested and some matched -> one sample per match
 *  with its extracted value; events ingested, none matched, and the filter
 *  has a default value -> one sample of that value; no events -> nothing.
 *
 *  Values: finite doubles in [-2^360, 2^360], the range PutMetricData
 *  accepts; NaN and infinities are refused. Sums of at most 2^64 such
 *  values stay finite, so no merge can overflow to infinity.
 *
 *  Stored form of a bucket (a Redis hash field value; the second is the
 *  field name): "COUNT:SUM:MIN:MAX", COUNT a decimal >= 1, the others
 *  decimal doubles (shortest text that reads back to the same double, so
 *  the round trip is exact; any decimal a Lua script writes with
 *  string.format("%.17g") reads back too). Numbers use '.' as the decimal
 *  point: porthole never calls setlocale, and a locale that would change
 *  it makes ph_metric_bucket_parse refuse rather than misread.
 *
 *  Pure code: no I/O, no clock, no globals; never blocks; safe on a
 *  reactor thread. Time is always a parameter, in seconds since the epoch.
 */
#ifndef PH_METRIC_H
#define PH_METRIC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PH_METRIC_VALUE_MAX       0x1p360        /* |value| limit of PutMetricData */
#define PH_METRIC_TIME_MAX        253402300799LL /* 9999-12-31T23:59:59Z */
#define PH_METRIC_PERIOD_MAX      (30 * 86400)   /* longest period a query may ask for */
#define PH_METRIC_DATAPOINTS_MAX  1440 /* datapoints one query may return (CloudWatch's limit) */
#define PH_METRIC_BUCKET_TEXT_MAX 128  /* buffer for ph_metric_bucket_format; longest text + NUL */
#define PH_METRIC_ERR_MAX         512  /* a buffer this size holds any error text */
#define PH_METRIC_NUMBER_MAX      64   /* characters of one number in text */

/*  The statistics, CloudWatch's names: "SampleCount" "Average" "Sum"
 *  "Minimum" "Maximum". */
typedef enum {
    PH_METRIC_STAT_SAMPLE_COUNT,
    PH_METRIC_STAT_AVERAGE,
    PH_METRIC_STAT_SUM,
    PH_METRIC_STAT_MINIMUM,
    PH_METRIC_STAT_MAXIMUM,
} ph_metric_stat_t;
#define PH_METRIC_STATS 5 /* number of statistics */

/*  CloudWatch's unit list (StandardUnit), in its order. */
typedef enum {
    PH_METRIC_UNIT_SECONDS,
    PH_METRIC_UNIT_MICROSECONDS,
    PH_METRIC_UNIT_MILLISECONDS,
    PH_METRIC_UNIT_BYTES,
    PH_METRIC_UNIT_KILOBYTES,
    PH_METRIC_UNIT_MEGABYTES,
    PH_METRIC_UNIT_GIGABYTES,
    PH_METRIC_UNIT_TERABYTES,
    PH_METRIC_UNIT_BITS,
    PH_METRIC_UNIT_KILOBITS,
    PH_METRIC_UNIT_MEGABITS,
    PH_METRIC_UNIT_GIGABITS,
    PH_METRIC_UNIT_TERABITS,
    PH_METRIC_UNIT_PERCENT,
    PH_METRIC_UNIT_COUNT,
    PH_METRIC_UNIT_BYTES_PER_SECOND,
    PH_METRIC_UNIT_KILOBYTES_PER_SECOND,
    PH_METRIC_UNIT_MEGABYTES_PER_SECOND,
    PH_METRIC_UNIT_GIGABYTES_PER_SECOND,
    PH_METRIC_UNIT_TERABYTES_PER_SECOND,
    PH_METRIC_UNIT_BITS_PER_SECOND,
    PH_METRIC_UNIT_KILOBITS_PER_SECOND,
    PH_METRIC_UNIT_MEGABITS_PER_SECOND,
    PH_METRIC_UNIT_GIGABITS_PER_SECOND,
    PH_METRIC_UNIT_TERABITS_PER_SECOND,
    PH_METRIC_UNIT_COUNT_PER_SECOND,
    PH_METRIC_UNIT_NONE,
} ph_metric_unit_t;
#define PH_METRIC_UNITS 27 /* number of units */

/*  The samples of one second (or, for a coarser store, of one aligned
 *  interval starting at t_s). count == 0 is the empty bucket; then sum,
 *  min and max mean nothing. */
typedef struct {
    int64_t t_s; /* the second, since the epoch */
    double sum;
    double min;
    double max;
    uint64_t count; /* samples */
} ph_metric_bucket_t;

/*  One period's statistics. */
typedef struct {
    int64_t t_s; /* start of the period, a multiple of the period */
    uint64_t sample_count;
    double sum;
    double average; /* sum / sample_count */
    double minimum;
    double maximum;
} ph_metric_datapoint_t;

/*  Statistic and unit names. Parsing is case-sensitive, as in CloudWatch;
 *  on PH_EINVAL, err (may be NULL) says what is accepted, with a "did you
 *  mean" when only the case is wrong. The name functions return a static
 *  string ("?" for a value out of range). */
int ph_metric_stat_parse (const char *text, ph_metric_stat_t *stat, char *err, size_t errlen);
const char *ph_metric_stat_name (ph_metric_stat_t stat);
int ph_metric_unit_parse (const char *text, ph_metric_unit_t *unit, char *err, size_t errlen);
const char *ph_metric_unit_name (ph_metric_unit_t unit);

/*  Periods: 1, 5, 10 or 30 seconds (high resolution) or a multiple of 60,
 *  up to PH_METRIC_PERIOD_MAX. ph_metric_period_check returns 0 or
 *  PH_EINVAL with err saying what to use; ph_metric_period_parse reads a
 *  decimal number of seconds and checks it. */
bool ph_metric_period_valid (int64_t period_s);
int ph_metric_period_check (int64_t period_s, char *err, size_t errlen);
int ph_metric_period_parse (const char *text, int64_t *period_s, char *err, size_t errlen);

/*  Reads a decimal number ("-12", "3.5", "1e-3"; no spaces, no hex, no
 *  "inf"/"nan") that is a valid metric value (finite, |v| <= 2^360).
 *  Returns 0 or PH_EINVAL. */
int ph_metric_value_parse (const char *text, double *value);

/*  The start of the period that holds t_s: floor(t_s / period) * period,
 *  also for negative t_s. period_s must be > 0. */
int64_t ph_metric_align (int64_t t_s, int64_t period_s);

/*  Makes *b the empty bucket of second t_s. */
void ph_metric_bucket_init (ph_metric_bucket_t *b, int64_t t_s);

/*  Adds one sample. Returns 0, PH_EINVAL for a value that is not a metric
 *  value (b unchanged), or PH_ETOOBIG if the count would overflow. */
int ph_metric_bucket_add (ph_metric_bucket_t *b, double value);

/*  Merges from into into (both of the same second). Merging is
 *  commutative and associative: exactly for count, min and max, and for
 *  sum whenever the partial sums are exact (integers below 2^53, e.g.
 *  counts of matches); otherwise sums agree to within the rounding of the
 *  additions (a few ulps), which is all floating point can promise.
 *  An empty from changes nothing. Returns 0, PH_EINVAL if the seconds
 *  differ (nothing changed), or PH_ETOOBIG if the count would overflow
 *  (nothing changed). */
int ph_metric_bucket_merge (ph_metric_bucket_t *into, const ph_metric_bucket_t *from);

/*  Writes the stored form "COUNT:SUM:MIN:MAX" of a non-empty bucket into
 *  buf (PH_METRIC_BUCKET_TEXT_MAX bytes always suffice). Returns the
 *  length, or PH_EINVAL for an empty or inconsistent bucket, PH_ETOOBIG
 *  when len is too small. */
int ph_metric_bucket_format (const ph_metric_bucket_t *b, char *buf, size_t len);

/*  Reads the len bytes of text (need not be NUL-terminated) as the stored
 *  form of the bucket of second t_s. Refuses (PH_EINVAL, *b unchanged)
 *  anything but exactly four ':'-separated fields: COUNT 1..2^64-1 without
 *  sign or leading zeros; SUM, MIN, MAX strict decimals within the value
 *  range (|SUM| within COUNT * 2^360); MIN <= MAX; for COUNT 1, SUM == MIN
 *  == MAX; text longer than PH_METRIC_BUCKET_TEXT_MAX - 1. Returns 0 or
 *  PH_EINVAL. */
int ph_metric_bucket_parse (const char *text, size_t len, int64_t t_s, ph_metric_bucket_t *b);

/*  The metric-filter rule for one second of one log group and one filter
 *  (see the top of this file). events = log events ingested in that
 *  second; values = the n_matched values extracted from the events that
 *  matched; default_value = the filter's default value, or NULL when it
 *  has none. *out becomes the bucket of second t_s: empty (count 0) when
 *  there is no sample. Returns 0, or PH_EINVAL when n_matched > events or
 *  a value (or the default) is not a metric value. */
int ph_metric_filter_second (int64_t t_s, uint64_t events, const double *values, size_t n_matched,
                             const double *default_value, ph_metric_bucket_t *out);

/*  The query range for [start_s, end_s) at period_s: start rounded down and
 *  end rounded up to multiples of the period (CloudWatch rounds a start
 *  time down the same way). Returns 0, or PH_EINVAL for a bad period,
 *  start_s >= end_s, or times outside [0, PH_METRIC_TIME_MAX]. */
int ph_metric_range_align (int64_t start_s, int64_t end_s, int64_t period_s, int64_t *from_s,
                           int64_t *to_s);

/*  Builds the datapoints of [start_s, end_s) (aligned as by
 *  ph_metric_range_align) at period_s from n buckets in any order. Buckets
 *  outside the range and empty buckets are ignored; buckets of the same
 *  second are merged. A bucket counts in the period that holds its t_s, so
 *  coarser buckets (e.g. per-minute roll-ups) give right answers for any
 *  period they divide. Writes the datapoints of the periods that have
 *  samples, oldest first, into out (room for max) and their number into
 *  *n_out. Returns 0, PH_EINVAL (bad period or range, or a bucket that is
 *  not a valid one), PH_ETOOBIG (more than max periods have samples), or
 *  PH_ENOMEM. Allocates a copy of the buckets for sorting. */
int ph_metric_aggregate (const ph_metric_bucket_t *buckets, size_t n, int64_t start_s,
                         int64_t end_s, int64_t period_s, ph_metric_datapoint_t *out, size_t max,
                         size_t *n_out);

/*  Looks text up in the table of n names (exact match) and returns its
 *  index, or PH_EINVAL with err (may be NULL) saying "'TEXT' is not a
 *  WHAT; use one of A, B, ..." and, when only the case differs, "did you
 *  mean B?". Shared by the name parsers here and in ph_alarm. */
int ph_metric_name_lookup (const char *text, const char *const *names, size_t n, const char *what,
                           char *err, size_t errlen);

/*  The value of one statistic of a datapoint. */
double ph_metric_datapoint_value (const ph_metric_datapoint_t *dp, ph_metric_stat_t stat);

#endif
