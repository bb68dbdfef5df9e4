/*  ph_alarm: see ph_alarm.h. Settings (names, parsing, validation), then
 *  the evaluation of one alarm at a given time, then the StateReason text
 *  in CloudWatch's wording, e.g.
 *    Threshold Crossed: 1 out of the last 1 datapoints [3.0 (25/11/26
 *    18:22:05)] was greater than or equal to the threshold (1.0) (minimum 1
 *    datapoint for OK -> ALARM transition).
 *    Threshold Crossed: no datapoints were received for 2 periods and 2
 *    missing datapoints were treated as [Breaching].
 *    Insufficient Data: 3 datapoints were unknown.
 *  (forms seen in CloudWatch's own alarm notifications).
 */
#include "ph_alarm.h"
#include "ph_errors.h"
#include "ph_util.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define S_PERIODS_MAX 86400 /* N (and M): one day of 1-second periods */
#define S_DIGITS_MAX  17    /* significant digits that always read back to the same double */
#define S_NUM_TEXT    40    /* one number as the reason writes it */
#define S_TIME_TEXT   24    /* "dd/mm/yy HH:MM:SS" */

static const char *const s_state_names[] = {"OK", "ALARM", "INSUFFICIENT_DATA"};
static const char *const s_cmp_names[] = {
    "GreaterThanOrEqualToThreshold",
    "GreaterThanThreshold",
    "LessThanThreshold",
    "LessThanOrEqualToThreshold",
};
static const char *const s_cmp_words[] = {
    "greater than or equal to",
    "greater than",
    "less than",
    "less than or equal to",
};
static const char *const s_tmd_names[] = {"missing", "notBreaching", "breaching", "ignore"};

#define S_COUNT_OF(a) (sizeof (a) / sizeof (a)[0])

int ph_alarm_state_parse (const char *text, ph_alarm_state_t *state)
{
    int i =
        ph_metric_name_lookup (text, s_state_names, S_COUNT_OF (s_state_names), "state", NULL, 0);
    if (i < 0)
        return i;
    *state = (ph_alarm_state_t)i;
    return 0;
}

const char *ph_alarm_state_name (ph_alarm_state_t state)
{
    return (unsigned)state < S_COUNT_OF (s_state_names) ? s_state_names[state] : "?";
}

int ph_alarm_cmp_parse (const char *text, ph_alarm_cmp_t *cmp, char *err, size_t errlen)
{
    int i = ph_metric_name_lookup (text, s_cmp_names, S_COUNT_OF (s_cmp_names),
                                   "comparison operator", err, errlen);
    if (i < 0)
        return i;
    *cmp = (ph_alarm_cmp_t)i;
    return 0;
}

const char *ph_alarm_cmp_name (ph_alarm_cmp_t cmp)
{
    return (unsigned)cmp < S_COUNT_OF (s_cmp_names) ? s_cmp_names[cmp] : "?";
}

int ph_alarm_tmd_parse (const char *text, ph_alarm_tmd_t *tmd, char *err, size_t errlen)
{
    int i = ph_metric_name_lookup (text, s_tmd_names, S_COUNT_OF (s_tmd_names),
                                   "way to treat missing data", err, errlen);
    if (i < 0)
        return i;
    *tmd = (ph_alarm_tmd_t)i;
    return 0;
}

const char *ph_alarm_tmd_name (ph_alarm_tmd_t tmd)
{
    return (unsigned)tmd < S_COUNT_OF (s_tmd_names) ? s_tmd_names[tmd] : "?";
}

/*  Returns 0 for a valid alarm name, else PH_EINVAL with err (may be NULL)
 *  saying what is wrong and what to do. */
static int s_name_problem (const char *name, char *err, size_t errlen)
{
    size_t len = name ? strlen (name) : 0;
    if (len == 0 || len > PH_ALARM_NAME_MAX) {
        if (err)
            snprintf (err, errlen,
                      "the name is %zu characters long; use 1 to %d printable ASCII characters",
                      len, PH_ALARM_NAME_MAX);
        return PH_EINVAL;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)name[i];
        if (ch < 0x20 || ch > 0x7e) {
            if (err)
                snprintf (err, errlen, "character %zu is byte 0x%02x; use printable ASCII only",
                          i + 1, ch);
            return PH_EINVAL;
        }
        if (strchr ("{}*?", ch)) {
            if (err)
                snprintf (err, errlen,
                          "character %zu ('%c') is not allowed; use neither { } "
                          "(Redis hash tags) nor * ? (policy wildcards)",
                          i + 1, ch);
            return PH_EINVAL;
        }
    }
    if (name[0] == ' ' || name[len - 1] == ' ') {
        if (err)
            snprintf (err, errlen, "the name starts or ends with a space; remove it");
        return PH_EINVAL;
    }
    return 0;
}

bool ph_alarm_name_valid (const char *name)
{
    return s_name_problem (name, NULL, 0) == 0;
}

void ph_alarm_config_init (ph_alarm_config_t *c)
{
    memset (c, 0, sizeof *c);
    c->treat_missing_data = PH_ALARM_TMD_MISSING;
}

static int s_set_name (ph_alarm_config_t *c, const char *value, char *err, size_t errlen)
{
    int rc = s_name_problem (value, err, errlen);
    if (rc == 0)
        snprintf (c->name, sizeof c->name, "%s", value);
    return rc;
}

static int s_set_period (ph_alarm_config_t *c, const char *value, char *err, size_t errlen)
{
    return ph_metric_period_parse (value, &c->period_s, err, errlen);
}

static int s_read_periods (const char *value, uint32_t *out, char *err, size_t errlen)
{
    uint64_t v;
    if (ph_parse_uint (value, 1, S_PERIODS_MAX, &v) != 0) {
        snprintf (err, errlen, "'%.40s' is not a whole number from 1 to %d", value, S_PERIODS_MAX);
        return PH_EINVAL;
    }
    *out = (uint32_t)v;
    return 0;
}

static int s_set_evaluation_periods (ph_alarm_config_t *c, const char *value, char *err,
                                     size_t errlen)
{
    return s_read_periods (value, &c->evaluation_periods, err, errlen);
}

static int s_set_datapoints (ph_alarm_config_t *c, const char *value, char *err, size_t errlen)
{
    return s_read_periods (value, &c->datapoints_to_alarm, err, errlen);
}

static int s_set_threshold (ph_alarm_config_t *c, const char *value, char *err, size_t errlen)
{
    if (ph_metric_value_parse (value, &c->threshold) != 0) {
        snprintf (err, errlen,
                  "'%.40s' is not a number; write it like 90, -1.5 or 1e6 (at most "
                  "2^360 in size)",
                  value);
        return PH_EINVAL;
    }
    return 0;
}

static int s_set_comparison (ph_alarm_config_t *c, const char *value, char *err, size_t errlen)
{
    return ph_alarm_cmp_parse (value, &c->comparison, err, errlen);
}

static int s_set_statistic (ph_alarm_config_t *c, const char *value, char *err, size_t errlen)
{
    return ph_metric_stat_parse (value, &c->statistic, err, errlen);
}

static int s_set_tmd (ph_alarm_config_t *c, const char *value, char *err, size_t errlen)
{
    return ph_alarm_tmd_parse (value, &c->treat_missing_data, err, errlen);
}

typedef struct {
    const char *key; /* PutMetricAlarm's parameter name */
    unsigned bit;
    int (*set) (ph_alarm_config_t *c, const char *value, char *err, size_t errlen);
} s_setting_t;

static const s_setting_t s_settings[] = {
    {"AlarmName", PH_ALARM_F_NAME, s_set_name},
    {"Period", PH_ALARM_F_PERIOD, s_set_period},
    {"EvaluationPeriods", PH_ALARM_F_EVALUATION_PERIODS, s_set_evaluation_periods},
    {"DatapointsToAlarm", PH_ALARM_F_DATAPOINTS_TO_ALARM, s_set_datapoints},
    {"Threshold", PH_ALARM_F_THRESHOLD, s_set_threshold},
    {"ComparisonOperator", PH_ALARM_F_COMPARISON, s_set_comparison},
    {"Statistic", PH_ALARM_F_STATISTIC, s_set_statistic},
    {"TreatMissingData", PH_ALARM_F_TREAT_MISSING_DATA, s_set_tmd},
};

/*  True when key names canon, ignoring case, '-' and '_'. */
static bool s_key_is (const char *key, const char *canon)
{
    for (;; key++) {
        if (*key == '-' || *key == '_')
            continue;
        if (tolower ((unsigned char)*key) != tolower ((unsigned char)*canon))
            return false;
        if (*key == 0)
            return true;
        canon++;
    }
}

static const s_setting_t *s_setting_find (const char *key)
{
    for (size_t i = 0; key && i < S_COUNT_OF (s_settings); i++)
        if (s_key_is (key, s_settings[i].key))
            return &s_settings[i];
    return NULL;
}

int ph_alarm_config_set (ph_alarm_config_t *c, const char *key, const char *value, char *err,
                         size_t errlen)
{
    char why[PH_ALARM_ERR_MAX], dropped[PH_ALARM_ERR_MAX];
    if (!err) {
        err = dropped;
        errlen = sizeof dropped;
    }
    const s_setting_t *s = s_setting_find (key);
    if (!s) {
        snprintf (err, errlen,
                  "unknown setting '%.40s'; use AlarmName, Period, EvaluationPeriods, "
                  "DatapointsToAlarm, Threshold, ComparisonOperator, Statistic or TreatMissingData",
                  key ? key : "");
        return PH_EINVAL;
    }
    if (c->given & s->bit) {
        snprintf (err, errlen, "%s is given twice; give it once", s->key);
        return PH_EINVAL;
    }
    if (!value) {
        snprintf (err, errlen, "%s has no value", s->key);
        return PH_EINVAL;
    }
    if (s->set (c, value, why, sizeof why) != 0) {
        snprintf (err, errlen, "%s: %s", s->key, why);
        return PH_EINVAL;
    }
    c->given |= s->bit;
    return 0;
}

/*  The checks across settings, on a config whose settings were each
 *  checked (or built by code): what ph_alarm_evaluate relies on. */
static int s_config_check (const ph_alarm_config_t *c, char *err, size_t errlen)
{
    char why[PH_ALARM_ERR_MAX];
    uint32_t n = c->evaluation_periods, m = c->datapoints_to_alarm;
    if (ph_metric_period_check (c->period_s, why, sizeof why) != 0) {
        snprintf (err, errlen, "Period: %s", why);
        return PH_EINVAL;
    }
    if (n < 1 || n > S_PERIODS_MAX || m < 1) {
        snprintf (err, errlen, "EvaluationPeriods and DatapointsToAlarm must be 1 or more");
        return PH_EINVAL;
    }
    if (m > n) {
        snprintf (err, errlen,
                  "DatapointsToAlarm (%u) is more than EvaluationPeriods (%u): an M "
                  "out of N alarm needs M <= N; lower DatapointsToAlarm or raise EvaluationPeriods",
                  m, n);
        return PH_EINVAL;
    }
    if ((int64_t)n * c->period_s > PH_ALARM_RANGE_MAX_S) {
        int64_t fit = PH_ALARM_RANGE_MAX_S / c->period_s;
        int used =
            snprintf (err, errlen,
                      "EvaluationPeriods x Period is %u x %lld s = %lld s, "
                      "more than one day (%d s); ",
                      n, (long long)c->period_s, (long long)n * c->period_s, PH_ALARM_RANGE_MAX_S);
        if (used >= 0 && (size_t)used < errlen)
            snprintf (err + used, errlen - used,
                      fit ? "use at most %lld evaluation periods of that length"
                          : "use a Period of at most %lld s",
                      fit ? (long long)fit : (long long)PH_ALARM_RANGE_MAX_S);
        return PH_EINVAL;
    }
    if (!isfinite (c->threshold) || fabs (c->threshold) > PH_METRIC_VALUE_MAX ||
        (unsigned)c->comparison >= S_COUNT_OF (s_cmp_names) ||
        (unsigned)c->statistic >= PH_METRIC_STATS ||
        (unsigned)c->treat_missing_data >= S_COUNT_OF (s_tmd_names)) {
        snprintf (err, errlen,
                  "Threshold, ComparisonOperator, Statistic or TreatMissingData is "
                  "out of range");
        return PH_EINVAL;
    }
    return 0;
}

int ph_alarm_config_validate (ph_alarm_config_t *c, char *err, size_t errlen)
{
    static const struct {
        unsigned bit;
        const char *text;
    } required[] = {
        {PH_ALARM_F_NAME, "missing AlarmName: name the alarm (1 to 255 printable ASCII "
                          "characters)"},
        {PH_ALARM_F_PERIOD, "missing Period: set it to 1, 5, 10, 30 or a multiple of 60 seconds"},
        {PH_ALARM_F_EVALUATION_PERIODS, "missing EvaluationPeriods: set how many periods to "
                                        "evaluate (N, 1 or more)"},
        {PH_ALARM_F_THRESHOLD, "missing Threshold: set the value to compare the statistic with"},
        {PH_ALARM_F_COMPARISON, "missing ComparisonOperator: set GreaterThanOrEqualToThreshold, "
                                "GreaterThanThreshold, LessThanThreshold or "
                                "LessThanOrEqualToThreshold"},
        {PH_ALARM_F_STATISTIC, "missing Statistic: set SampleCount, Average, Sum, Minimum or "
                               "Maximum"},
    };
    char why[PH_ALARM_ERR_MAX], dropped[PH_ALARM_ERR_MAX];
    if (!err) {
        err = dropped;
        errlen = sizeof dropped;
    }
    for (size_t i = 0; i < S_COUNT_OF (required); i++)
        if (!(c->given & required[i].bit)) {
            snprintf (err, errlen, "%s", required[i].text);
            return PH_EINVAL;
        }
    if (s_name_problem (c->name, why, sizeof why) != 0) {
        snprintf (err, errlen, "AlarmName: %s", why);
        return PH_EINVAL;
    }
    if (!(c->given & PH_ALARM_F_DATAPOINTS_TO_ALARM))
        c->datapoints_to_alarm = c->evaluation_periods;
    return s_config_check (c, err, errlen);
}

int ph_alarm_config_parse (const char *const *kv, size_t n_pairs, ph_alarm_config_t *c, char *err,
                           size_t errlen)
{
    ph_alarm_config_init (c);
    for (size_t i = 0; i < n_pairs; i++) {
        int rc = ph_alarm_config_set (c, kv[2 * i], kv[2 * i + 1], err, errlen);
        if (rc != 0)
            return rc;
    }
    return ph_alarm_config_validate (c, err, errlen);
}

bool ph_alarm_breaches (const ph_alarm_config_t *c, double value)
{
    switch (c->comparison) {
    case PH_ALARM_GE:
        return value >= c->threshold;
    case PH_ALARM_GT:
        return value > c->threshold;
    case PH_ALARM_LT:
        return value < c->threshold;
    case PH_ALARM_LE:
        return value <= c->threshold;
    }
    return false;
}

uint32_t ph_alarm_range_periods (const ph_alarm_config_t *c)
{
    return c->evaluation_periods + PH_ALARM_RANGE_EXTRA;
}

void ph_alarm_range (const ph_alarm_config_t *c, int64_t now_s, int64_t *start_s, int64_t *end_s)
{
    /* The period that holds now is still filling: a partial Sum or
     * SampleCount would look like a drop and flap the alarm. */
    *end_s = ph_metric_align (now_s, c->period_s);
    *start_s = *end_s - (int64_t)ph_alarm_range_periods (c) * c->period_s;
}

/*  ---- StateReason text ---------------------------------------------- */

typedef struct {
    char *buf;
    size_t len;
    size_t used;
} s_text_t;

static void s_add (s_text_t *t, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

static void s_add (s_text_t *t, const char *fmt, ...)
{
    if (t->used + 1 >= t->len)
        return;
    va_list ap;
    va_start (ap, fmt);
    int n = vsnprintf (t->buf + t->used, t->len - t->used, fmt, ap);
    va_end (ap);
    if (n > 0)
        t->used = t->used + (size_t)n < t->len ? t->used + (size_t)n : t->len - 1;
}

/*  A number as CloudWatch writes it (Java's Double.toString): the shortest
 *  digits that read back to the same double, with at least one decimal
 *  ("3.0", "0.25"), and E notation outside [0.001, 10^7) ("1.0E7"). */
static void s_format_number (double v, char *buf, size_t len)
{
    if (v == 0) {
        snprintf (buf, len, "%s", signbit (v) ? "-0.0" : "0.0");
        return;
    }
    char e[S_NUM_TEXT];
    for (int digits = 1; digits <= S_DIGITS_MAX; digits++) {
        snprintf (e, sizeof e, "%.*e", digits - 1, v);
        if (strtod (e, NULL) == v)
            break;
    }
    /* e is "-d.ddde+XX": keep the digits and the exponent. */
    char dig[S_DIGITS_MAX + 1];
    size_t nd = 0;
    const char *p = e + (e[0] == '-');
    for (; *p && *p != 'e'; p++)
        if (*p != '.')
            dig[nd++] = *p;
    int exp10 = atoi (p + 1);
    while (nd > 1 && dig[nd - 1] == '0')
        nd--;
    dig[nd] = 0;
    const char *sign = v < 0 ? "-" : "";
    double a = fabs (v);
    if (a < 1e-3 || a >= 1e7)
        snprintf (buf, len, "%s%c.%sE%d", sign, dig[0], nd > 1 ? dig + 1 : "0", exp10);
    else if (exp10 < 0)
        snprintf (buf, len, "%s0.%.*s%s", sign, -exp10 - 1, "000", dig);
    else if ((size_t)exp10 + 1 >= nd)
        snprintf (buf, len, "%s%s%.*s.0", sign, dig, (int)((size_t)exp10 + 1 - nd), "000000");
    else
        snprintf (buf, len, "%s%.*s.%s", sign, exp10 + 1, dig, dig + exp10 + 1);
}

/*  "dd/mm/yy HH:MM:SS", UTC, as in CloudWatch's reasons. */
static void s_format_time (int64_t t_s, char *buf, size_t len)
{
    time_t secs = (time_t)t_s;
    struct tm tm;
    gmtime_r (&secs, &tm);
    if (snprintf (buf, len, "%02d/%02d/%02d %02d:%02d:%02d", tm.tm_mday, tm.tm_mon + 1,
                  tm.tm_year % 100, tm.tm_hour, tm.tm_min, tm.tm_sec) >= (int)len)
        buf[len - 1] = 0; /* cut, never overrun: the reason text stays readable */
}

/*  ---- Evaluation ---------------------------------------------------- */

/*  The datapoints under evaluation, dps[first..end), newest last. */
typedef struct {
    const ph_alarm_config_t *c;
    const ph_metric_datapoint_t *dps;
    size_t first;
    size_t end;
    int64_t range_end_s;
} s_eval_t;

static bool s_breach (const s_eval_t *e, size_t i)
{
    return ph_alarm_breaches (e->c, ph_metric_datapoint_value (&e->dps[i], e->c->statistic));
}

static uint32_t s_count (const s_eval_t *e, bool breaching)
{
    uint32_t n = 0;
    for (size_t i = e->first; i < e->end; i++)
        n += s_breach (e, i) == breaching;
    return n;
}

/*  Appends "[v (time), ...]" for the breaching (or not) datapoints, newest
 *  first, at most PH_ALARM_REASON_POINTS of them. */
static void s_add_points (s_text_t *t, const s_eval_t *e, bool breaching)
{
    char num[S_NUM_TEXT], when[S_TIME_TEXT];
    unsigned listed = 0;
    s_add (t, "[");
    for (size_t i = e->end; i-- > e->first;) {
        if (s_breach (e, i) != breaching)
            continue;
        if (listed == PH_ALARM_REASON_POINTS) {
            s_add (t, ", ...");
            break;
        }
        s_format_number (ph_metric_datapoint_value (&e->dps[i], e->c->statistic), num, sizeof num);
        s_format_time (e->dps[i].t_s, when, sizeof when);
        s_add (t, "%s%s (%s)", listed++ ? ", " : "", num, when);
    }
    s_add (t, "]");
}

/*  "... was/were [not] greater than ... the threshold (T)" */
static void s_add_comparison (s_text_t *t, const s_eval_t *e, uint32_t count, bool breaching)
{
    char thr[S_NUM_TEXT];
    s_format_number (e->c->threshold, thr, sizeof thr);
    s_add (t, " %s %s%s the threshold (%s)", count == 1 ? "was" : "were", breaching ? "" : "not ",
           s_cmp_words[e->c->comparison], thr);
}

/*  The present datapoints decided: "Threshold Crossed: B out of the last
 *  N datapoints [...] were ... (minimum M datapoints for OK -> ALARM
 *  transition)." For OK the datapoints listed are those that do not
 *  breach, and the minimum is N - M + 1 (what it takes to leave ALARM). */
static void s_reason_crossed (const s_eval_t *e, ph_alarm_state_t state, s_text_t *t)
{
    bool alarm = state == PH_ALARM_ALARM;
    uint32_t n = e->c->evaluation_periods, m = e->c->datapoints_to_alarm;
    uint32_t count = s_count (e, alarm);
    uint32_t need = alarm ? m : n - m + 1;
    s_add (t, "Threshold Crossed: %u out of the last %u datapoints ", count, n);
    s_add_points (t, e, alarm);
    s_add_comparison (t, e, count, alarm);
    s_add (t, " (minimum %u datapoint%s for %s transition).", need, need == 1 ? "" : "s",
           alarm ? "OK -> ALARM" : "ALARM -> OK");
}

/*  Missing datapoints were filled in: "Threshold Crossed: no datapoints
 *  were received for N periods and N missing datapoints were treated as
 *  [Breaching]." or "Threshold Crossed: 1 datapoint [...] was not less
 *  than ... the threshold (T) and 2 missing datapoints were treated as
 *  [Breaching]." The datapoints listed are those that agree with the
 *  outcome, or all of them when none does. */
static void s_reason_filled (const s_eval_t *e, ph_alarm_state_t state, uint32_t filled,
                             s_text_t *t)
{
    const char *as =
        e->c->treat_missing_data == PH_ALARM_TMD_BREACHING ? "Breaching" : "NonBreaching";
    const char *fills = filled == 1 ? "datapoint was" : "datapoints were";
    uint32_t present = (uint32_t)(e->end - e->first);
    if (present == 0) {
        s_add (t,
               "Threshold Crossed: no datapoints were received for %u period%s and %u missing %s "
               "treated as [%s].",
               filled, filled == 1 ? "" : "s", filled, fills, as);
        return;
    }
    bool breaching = state == PH_ALARM_ALARM;
    uint32_t count = s_count (e, breaching);
    if (count == 0) {
        breaching = !breaching;
        count = present;
    }
    s_add (t, "Threshold Crossed: %u datapoint%s ", count, count == 1 ? "" : "s");
    s_add_points (t, e, breaching);
    s_add_comparison (t, e, count, breaching);
    s_add (t, " and %u missing %s treated as [%s].", filled, fills, as);
}

static void s_reason_unknown (uint32_t unknown, s_text_t *t)
{
    s_add (t, "Insufficient Data: %u %s unknown.", unknown,
           unknown == 1 ? "datapoint was" : "datapoints were");
}

/*  The present datapoints alone decide (k >= N, or enough of them). */
static void s_decide_by_data (const s_eval_t *e, ph_alarm_result_t *out, s_text_t *t)
{
    uint32_t b = s_count (e, true);
    out->evaluated = (uint32_t)(e->end - e->first);
    out->breaching = b;
    out->state = b >= e->c->datapoints_to_alarm ? PH_ALARM_ALARM : PH_ALARM_OK;
    s_reason_crossed (e, out->state, t);
}

/*  k < N with breaching / notBreaching: fill N - k, as few as possible. */
static void s_decide_filled (const s_eval_t *e, ph_alarm_result_t *out, s_text_t *t)
{
    uint32_t present = (uint32_t)(e->end - e->first);
    uint32_t filled = e->c->evaluation_periods - present;
    uint32_t b = s_count (e, true);
    if (e->c->treat_missing_data == PH_ALARM_TMD_BREACHING)
        b += filled;
    out->evaluated = present;
    out->filled = filled;
    out->breaching = b;
    out->state = b >= e->c->datapoints_to_alarm ? PH_ALARM_ALARM : PH_ALARM_OK;
    s_reason_filled (e, out->state, filled, t);
}

/*  k < N with missing / ignore: see ph_alarm.h. */
static void s_decide_sparse (const s_eval_t *e, ph_alarm_result_t *out, s_text_t *t)
{
    bool ignore = e->c->treat_missing_data == PH_ALARM_TMD_IGNORE;
    uint32_t present = (uint32_t)(e->end - e->first);
    uint32_t n = e->c->evaluation_periods, m = e->c->datapoints_to_alarm;
    if (present == 0) {
        out->kept = ignore;
        out->state = PH_ALARM_INSUFFICIENT_DATA;
        s_reason_unknown (n, t);
        return;
    }
    uint32_t b = s_count (e, true);
    if (b >= m || b < present) {
        s_decide_by_data (e, out, t);
        return;
    }
    /* All present datapoints breach, fewer than M. "Alarms are designed
     * to always go into ALARM state when the oldest available breaching
     * datapoint ... is at least as old as the value of Datapoints to
     * Alarm, and all other more recent data points are breaching or
     * missing"; younger than that, the next datapoint may still be good. */
    int64_t age = (e->range_end_s - e->dps[e->first].t_s) / e->c->period_s;
    if (ignore) {
        out->kept = true;
    } else if (age >= m) {
        out->evaluated = present;
        out->breaching = b;
        out->state = PH_ALARM_ALARM;
        s_reason_crossed (e, out->state, t);
    } else {
        out->evaluated = present;
        out->breaching = b;
        out->state = PH_ALARM_INSUFFICIENT_DATA;
        s_reason_unknown (n - present, t);
    }
}

/*  Checks the datapoints and finds those in [start, end): dps[*lo..*hi). */
static int s_select (const ph_alarm_config_t *c, const ph_metric_datapoint_t *dps, size_t n,
                     int64_t start, int64_t end, size_t *lo, size_t *hi)
{
    *lo = *hi = n;
    for (size_t i = 0; i < n; i++) {
        int64_t t = dps[i].t_s;
        if (t < 0 || t > PH_METRIC_TIME_MAX || ph_metric_align (t, c->period_s) != t ||
            (i > 0 && t <= dps[i - 1].t_s) ||
            !isfinite (ph_metric_datapoint_value (&dps[i], c->statistic)))
            return PH_EINVAL;
        if (*lo == n && t >= start)
            *lo = i;
        if (*hi == n && t >= end)
            *hi = i;
    }
    if (*lo > *hi)
        *lo = *hi;
    return 0;
}

int ph_alarm_evaluate (const ph_alarm_config_t *c, ph_alarm_state_t current, int64_t now_s,
                       const ph_metric_datapoint_t *dps, size_t n, ph_alarm_result_t *out)
{
    char why[PH_ALARM_ERR_MAX];
    if (s_config_check (c, why, sizeof why) != 0 ||
        (unsigned)current >= S_COUNT_OF (s_state_names) || now_s < 0 ||
        now_s > PH_METRIC_TIME_MAX || (n && !dps))
        return PH_EINVAL;
    memset (out, 0, sizeof *out);
    ph_alarm_range (c, now_s, &out->range_start_s, &out->range_end_s);
    size_t lo, hi;
    if (s_select (c, dps, n, out->range_start_s, out->range_end_s, &lo, &hi) != 0)
        return PH_EINVAL;
    s_eval_t e = {c, dps, lo, hi, out->range_end_s};
    s_text_t t = {out->reason, sizeof out->reason, 0};
    out->present = (uint32_t)(hi - lo);
    if (out->present >= c->evaluation_periods) {
        e.first = hi - c->evaluation_periods;
        s_decide_by_data (&e, out, &t);
    } else if (c->treat_missing_data == PH_ALARM_TMD_BREACHING ||
               c->treat_missing_data == PH_ALARM_TMD_NOT_BREACHING) {
        s_decide_filled (&e, out, &t);
    } else {
        s_decide_sparse (&e, out, &t);
    }
    if (out->kept) {
        out->state = current;
        out->reason[0] = 0;
    }
    out->changed = out->state != current;
    return 0;
}
