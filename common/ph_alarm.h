/*  ph_alarm: evaluation of one metric alarm (issue 4), following the
 *  CloudWatch user guide ("Using Amazon CloudWatch alarms": "Evaluating an
 *  alarm", "Configuring how CloudWatch alarms treat missing data", "How
 *  alarm state is evaluated when data is missing", "Avoiding premature
 *  transitions to alarm state"), and validation of an alarm's settings.
 *  The logshipper (or controller) keeps the alarm in Redis, builds the
 *  datapoints with ph_metric_aggregate and calls ph_alarm_evaluate; this
 *  module decides the state and writes the StateReason.
 *
 *  Settings: Period P, EvaluationPeriods N, DatapointsToAlarm M (default
 *  N; M <= N: an "M out of N" alarm), Threshold, ComparisonOperator,
 *  Statistic, TreatMissingData (missing | notBreaching | breaching |
 *  ignore; default missing). States OK, ALARM, INSUFFICIENT_DATA; a new
 *  alarm starts in INSUFFICIENT_DATA ("Unchecked: Initial alarm creation").
 *
 *  Evaluation at time now:
 *  - Only complete periods count: the period that holds now is still
 *    filling and is not evaluated (see ph_alarm_range). [porthole's rule;
 *    CloudWatch does not document one. A caller that wants to wait for
 *    late data passes now minus that delay.]
 *  - The evaluation range is the R = N + 2 most recent complete periods
 *    (the guide's tables: N = 3, range 5; CloudWatch says the exact number
 *    "depends on the length of the alarm period" and does not give it).
 *  - k = datapoints present in the range.
 *    k >= N: the N most recent present datapoints are evaluated, however
 *      far back in the range; treat-missing is not used.
 *    k < N, breaching / notBreaching: every present datapoint is evaluated
 *      and N - k missing ones are filled in as breaching / not breaching
 *      ("uses missing data points only as few times as possible").
 *    k < N, missing / ignore: k = 0 -> INSUFFICIENT_DATA (missing) or the
 *      current state (ignore). Otherwise the present datapoints decide
 *      when they can: at least M breaching -> ALARM; any not breaching ->
 *      OK. When all k are breaching but fewer than M: the premature-alarm
 *      rule - ALARM when the oldest breaching datapoint is at least M
 *      periods old (1 = the newest period of the range), else
 *      INSUFFICIENT_DATA with missing; ignore keeps the current state in
 *      both cases (the guide's tables, IGNORE column).
 *    Then ALARM if at least M evaluated datapoints breach, else OK.
 *  Every row of the guide's two tables (and of its earlier editions) is a
 *  row of tests/unit/test_ph_alarm.c.
 *
 *  Pure code: no I/O, no clock, no globals; never blocks; safe on a
 *  reactor thread.
 */
#ifndef PH_ALARM_H
#define PH_ALARM_H

#include "ph_metric.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PH_ALARM_NAME_MAX       255   /* characters of an alarm name (CloudWatch's limit) */
#define PH_ALARM_RANGE_MAX_S    86400 /* EvaluationPeriods x Period, at most one day */
#define PH_ALARM_RANGE_EXTRA    2     /* periods the evaluation range adds to N */
#define PH_ALARM_REASON_MAX     1024  /* StateReason buffer: 1023 characters, CloudWatch's limit */
#define PH_ALARM_REASON_POINTS  10    /* datapoints a StateReason lists at most */
#define PH_ALARM_ERR_MAX        512   /* a buffer this size holds any error text */
#define PH_ALARM_INITIAL_REASON "Unchecked: Initial alarm creation"

typedef enum {
    PH_ALARM_OK,
    PH_ALARM_ALARM,
    PH_ALARM_INSUFFICIENT_DATA,
} ph_alarm_state_t;
#define PH_ALARM_INITIAL_STATE PH_ALARM_INSUFFICIENT_DATA

typedef enum {
    PH_ALARM_GE, /* GreaterThanOrEqualToThreshold */
    PH_ALARM_GT, /* GreaterThanThreshold */
    PH_ALARM_LT, /* LessThanThreshold */
    PH_ALARM_LE, /* LessThanOrEqualToThreshold */
} ph_alarm_cmp_t;

typedef enum {
    PH_ALARM_TMD_MISSING,
    PH_ALARM_TMD_NOT_BREACHING,
    PH_ALARM_TMD_BREACHING,
    PH_ALARM_TMD_IGNORE,
} ph_alarm_tmd_t;

/*  Bits of ph_alarm_config_t.given: which settings were set. */
enum {
    PH_ALARM_F_NAME = 1 << 0,
    PH_ALARM_F_PERIOD = 1 << 1,
    PH_ALARM_F_EVALUATION_PERIODS = 1 << 2,
    PH_ALARM_F_DATAPOINTS_TO_ALARM = 1 << 3,
    PH_ALARM_F_THRESHOLD = 1 << 4,
    PH_ALARM_F_COMPARISON = 1 << 5,
    PH_ALARM_F_STATISTIC = 1 << 6,
    PH_ALARM_F_TREAT_MISSING_DATA = 1 << 7,
};

typedef struct {
    char name[PH_ALARM_NAME_MAX + 1];
    int64_t period_s;             /* P */
    uint32_t evaluation_periods;  /* N */
    uint32_t datapoints_to_alarm; /* M */
    double threshold;
    ph_alarm_cmp_t comparison;
    ph_metric_stat_t statistic;
    ph_alarm_tmd_t treat_missing_data;
    unsigned given; /* PH_ALARM_F_* */
} ph_alarm_config_t;

typedef struct {
    ph_alarm_state_t state; /* the new state */
    bool changed;           /* state differs from the current one: record it, run actions */
    bool kept;              /* ignore kept the current state; reason is "" (keep the old one) */
    int64_t range_start_s;  /* the evaluation range, [start, end) */
    int64_t range_end_s;
    uint32_t present;                 /* datapoints present in the range */
    uint32_t evaluated;               /* present datapoints evaluated */
    uint32_t filled;                  /* missing datapoints filled in by treat-missing-data */
    uint32_t breaching;               /* evaluated + filled datapoints that breach */
    char reason[PH_ALARM_REASON_MAX]; /* StateReason, CloudWatch's wording */
} ph_alarm_result_t;

/*  Names: states "OK" "ALARM" "INSUFFICIENT_DATA"; comparisons
 *  "GreaterThanOrEqualToThreshold" "GreaterThanThreshold"
 *  "LessThanThreshold" "LessThanOrEqualToThreshold"; treat-missing-data
 *  "missing" "notBreaching" "breaching" "ignore". Parsing is
 *  case-sensitive; on PH_EINVAL, err (may be NULL) lists what is accepted,
 *  with a "did you mean" when only the case differs. Name functions return
 *  a static string ("?" when out of range). */
int ph_alarm_state_parse (const char *text, ph_alarm_state_t *state);
const char *ph_alarm_state_name (ph_alarm_state_t state);
int ph_alarm_cmp_parse (const char *text, ph_alarm_cmp_t *cmp, char *err, size_t errlen);
const char *ph_alarm_cmp_name (ph_alarm_cmp_t cmp);
int ph_alarm_tmd_parse (const char *text, ph_alarm_tmd_t *tmd, char *err, size_t errlen);
const char *ph_alarm_tmd_name (ph_alarm_tmd_t tmd);

/*  True when an alarm name is valid: 1..255 characters of printable ASCII
 *  (CloudWatch: "only ASCII characters"), without '{' '}' (they would
 *  break the Redis Cluster hash tag of ph:alarm:{NAME}) or '*' '?' (IAM
 *  resource patterns alarm/NAME use them as wildcards), and without
 *  leading or trailing spaces. */
bool ph_alarm_name_valid (const char *name);

/*  Starts a config: nothing given, TreatMissingData missing. */
void ph_alarm_config_init (ph_alarm_config_t *c);

/*  Sets one setting from text. key is a PutMetricAlarm parameter name:
 *  AlarmName, Period, EvaluationPeriods, DatapointsToAlarm, Threshold,
 *  ComparisonOperator, Statistic, TreatMissingData, compared without
 *  regard to case, '-' or '_' (so "evaluation-periods" and
 *  "evaluation_periods" work too). Checks the value on its own; the
 *  checks across settings are ph_alarm_config_validate's. Returns 0 or
 *  PH_EINVAL with err (may be NULL) naming the setting, what was wrong
 *  and what to use. A setting given twice is an error. */
int ph_alarm_config_set (ph_alarm_config_t *c, const char *key, const char *value, char *err,
                         size_t errlen);

/*  Checks a whole config and completes it: every setting but
 *  DatapointsToAlarm and TreatMissingData is required; DatapointsToAlarm
 *  defaults to EvaluationPeriods; 1 <= M <= N; N x Period <= one day.
 *  Returns 0 or PH_EINVAL with err saying what to fix. */
int ph_alarm_config_validate (ph_alarm_config_t *c, char *err, size_t errlen);

/*  ph_alarm_config_init + ph_alarm_config_set for each of the n_pairs
 *  key/value pairs in kv (kv[2i] the key, kv[2i+1] the value; e.g. a Redis
 *  HGETALL reply) + ph_alarm_config_validate. Returns 0 or PH_EINVAL with
 *  err set. */
int ph_alarm_config_parse (const char *const *kv, size_t n_pairs, ph_alarm_config_t *c, char *err,
                           size_t errlen);

/*  True when value breaches the threshold under the comparison. */
bool ph_alarm_breaches (const ph_alarm_config_t *c, double value);

/*  The evaluation range at now: the R = N + PH_ALARM_RANGE_EXTRA complete
 *  periods before the period that holds now, [*start_s, *end_s) with
 *  *end_s = ph_metric_align(now_s, P). The caller fetches the buckets of
 *  that range and aggregates them at P. c must be valid. */
uint32_t ph_alarm_range_periods (const ph_alarm_config_t *c);
void ph_alarm_range (const ph_alarm_config_t *c, int64_t now_s, int64_t *start_s, int64_t *end_s);

/*  Evaluates the alarm c (validated) in state current at now_s over the n
 *  datapoints dps (as ph_metric_aggregate gives them: period-aligned,
 *  oldest first, one per period; those outside the evaluation range are
 *  ignored), using c->statistic of each. Fills *out (see the top of this
 *  file for the rules, and ph_alarm_result_t). Returns 0, or PH_EINVAL for
 *  an invalid config, now_s outside [0, PH_METRIC_TIME_MAX], or datapoints
 *  that are not aligned, not in order, or not finite. */
int ph_alarm_evaluate (const ph_alarm_config_t *c, ph_alarm_state_t current, int64_t now_s,
                       const ph_metric_datapoint_t *dps, size_t n, ph_alarm_result_t *out);

#endif
