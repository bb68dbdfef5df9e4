/*  Unit tests of common/ph_alarm.c.
 *
 *  The tables of the CloudWatch user guide, "How alarm state is evaluated
 *  when data is missing" (and the rows its earlier editions had), are
 *  s_table_3_of_3 and s_table_2_of_3 below, one row per documented row,
 *  one column per TreatMissingData value in the guide's order (MISSING,
 *  IGNORE, BREACHING, NOT BREACHING). In a row, 0 is a datapoint that does
 *  not breach, X one that breaches, - a missing one; newest on the right;
 *  the range is 5 periods of 5 minutes. The StateReason tests reproduce
 *  texts copied from real CloudWatch notifications. */
#include "ph_alarm.h"
#include "ph_errors.h"
#include "ph_test.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define COUNT_OF(a) (sizeof (a) / sizeof (a)[0])

/*  "Retain current state" in the guide's tables. */
#define KEEP ((ph_alarm_state_t)-1)
#define OK   PH_ALARM_OK
#define AL   PH_ALARM_ALARM
#define INS  PH_ALARM_INSUFFICIENT_DATA

static const ph_alarm_tmd_t s_columns[4] = {
    PH_ALARM_TMD_MISSING,
    PH_ALARM_TMD_IGNORE,
    PH_ALARM_TMD_BREACHING,
    PH_ALARM_TMD_NOT_BREACHING,
};

typedef struct {
    const char *points;
    ph_alarm_state_t expect[4]; /* MISSING, IGNORE, BREACHING, NOT BREACHING */
} s_row_t;

/*  Datapoints to Alarm 3, Evaluation Periods 3. */
static const s_row_t s_table_3_of_3[] = {
    /* the guide today */
    {"0 - X - X", {OK, OK, OK, OK}},
    {"0 - - - -", {OK, OK, OK, OK}},
    {"- - - - -", {INS, KEEP, AL, OK}},
    {"0 X X - X", {AL, AL, AL, AL}},
    {"- - X - -", {AL, KEEP, AL, OK}},
    /* earlier editions of the same table */
    {"- - - - X", {INS, KEEP, AL, OK}},
    {"X - - - -", {AL, KEEP, AL, OK}},
    /* "Avoiding premature transitions": "the alarm does not go immediately
     * into ALARM state when the data is either - - - - X or - - - X -" */
    {"- - - X -", {INS, KEEP, AL, OK}},
};

/*  Datapoints to Alarm 2, Evaluation Periods 3 ("2 out of 3"). */
static const s_row_t s_table_2_of_3[] = {
    /* the guide today */
    {"0 - X - X", {AL, AL, AL, AL}},
    {"0 0 X 0 X", {AL, AL, AL, AL}},
    {"0 - X - -", {OK, OK, AL, OK}},
    {"- - - - 0", {OK, OK, AL, OK}},
    {"- - - X -", {AL, KEEP, AL, OK}},
    /* the earlier edition's last row */
    {"- - - - X", {INS, KEEP, AL, OK}},
};

#define T0 1795629600 /* 2026-11-25T18:00:00Z, a multiple of 300 */

static void s_config (ph_alarm_config_t *c, int64_t period, uint32_t n, uint32_t m,
                      ph_alarm_cmp_t cmp, double threshold, ph_alarm_tmd_t tmd)
{
    ph_alarm_config_init (c);
    snprintf (c->name, sizeof c->name, "test");
    c->period_s = period;
    c->evaluation_periods = n;
    c->datapoints_to_alarm = m;
    c->threshold = threshold;
    c->comparison = cmp;
    c->statistic = PH_METRIC_STAT_MAXIMUM;
    c->treat_missing_data = tmd;
    c->given = 0xff;
}

static ph_metric_datapoint_t s_point (int64_t t, double v)
{
    ph_metric_datapoint_t dp = {t, 1, v, v, v, v};
    return dp;
}

/*  Turns "0 - X - X" into datapoints of the 5 periods before now
 *  (threshold 1, GreaterThanOrEqualTo: 0 -> 0.0, X -> 5.0). */
static size_t s_points (const char *pattern, int64_t now, int64_t period,
                        ph_metric_datapoint_t *out)
{
    size_t slots = 0, n = 0;
    for (const char *p = pattern; *p; p++)
        slots += *p != ' ';
    int64_t t = ph_metric_align (now, period) - (int64_t)slots * period;
    for (const char *p = pattern; *p; p++) {
        if (*p == ' ')
            continue;
        if (*p != '-')
            out[n++] = s_point (t, *p == 'X' ? 5.0 : 0.0);
        t += period;
    }
    return n;
}

static void s_run_table (const s_row_t *rows, size_t n_rows, uint32_t m)
{
    static const ph_alarm_state_t currents[] = {OK, AL, INS};
    int64_t now = T0 + 42; /* inside a period: that period is not evaluated */
    for (size_t r = 0; r < n_rows; r++) {
        ph_metric_datapoint_t dps[8];
        size_t n = s_points (rows[r].points, now, 300, dps);
        for (int col = 0; col < 4; col++)
            for (size_t k = 0; k < COUNT_OF (currents); k++) {
                ph_alarm_config_t c;
                s_config (&c, 300, 3, m, PH_ALARM_GE, 1.0, s_columns[col]);
                CHECK (ph_alarm_range_periods (&c) == 5);
                ph_alarm_result_t res;
                int rc = ph_alarm_evaluate (&c, currents[k], now, dps, n, &res);
                ph_alarm_state_t want = rows[r].expect[col];
                bool ok = rc == 0;
                if (want == KEEP)
                    ok = ok && res.kept && res.state == currents[k] && !res.changed &&
                         res.reason[0] == 0;
                else
                    ok = ok && !res.kept && res.state == want &&
                         res.changed == (want != currents[k]) && res.reason[0] != 0;
                CHECK (ok);
                if (!ok)
                    fprintf (stderr, "  %u of 3, row '%s', %s, from %s: got %s (%s)\n", m,
                             rows[r].points, ph_alarm_tmd_name (s_columns[col]),
                             ph_alarm_state_name (currents[k]), ph_alarm_state_name (res.state),
                             res.reason);
            }
    }
}

static void s_test_doc_tables (void)
{
    s_run_table (s_table_3_of_3, COUNT_OF (s_table_3_of_3), 3);
    s_run_table (s_table_2_of_3, COUNT_OF (s_table_2_of_3), 2);
}

/*  The guide on row 2 of the first table: "The next time this alarm is
 *  evaluated, if the data is still missing it will go to ALARM, as that
 *  non-breaching data point will no longer be in the evaluation range." */
static void s_test_sliding_out (void)
{
    ph_alarm_config_t c;
    s_config (&c, 300, 3, 3, PH_ALARM_GE, 1.0, PH_ALARM_TMD_BREACHING);
    ph_metric_datapoint_t dps[8];
    int64_t now = T0 + 42;
    size_t n = s_points ("0 - - - -", now, 300, dps);
    ph_alarm_result_t res;
    CHECK (ph_alarm_evaluate (&c, OK, now, dps, n, &res) == 0 && res.state == OK);
    CHECK (ph_alarm_evaluate (&c, OK, now + 300, dps, n, &res) == 0 && res.state == AL);
    CHECK (res.changed && res.filled == 3 && res.present == 0);
}

/*  The guide's figure in "Evaluating an alarm": threshold 3, 3 of 3; ALARM
 *  after periods 3-5 breach, OK at period 6, still OK when period 9 alone
 *  breaches. */
static void s_test_doc_figure (void)
{
    static const double values[10] = {1, 2, 4, 5, 6, 2, 1, 2, 4, 1};
    static const ph_alarm_state_t after[10] = {OK, OK, OK, OK, AL, OK, OK, OK, OK, OK};
    ph_alarm_config_t c;
    s_config (&c, 60, 3, 3, PH_ALARM_GT, 3.0, PH_ALARM_TMD_MISSING);
    ph_metric_datapoint_t dps[10];
    ph_alarm_state_t state = PH_ALARM_INITIAL_STATE;
    for (int i = 0; i < 10; i++) {
        dps[i] = s_point (T0 + 60 * i, values[i]);
        ph_alarm_result_t res;
        CHECK (ph_alarm_evaluate (&c, state, T0 + 60 * (i + 1), dps, (size_t)i + 1, &res) == 0);
        CHECK (res.state == after[i]);
        state = res.state;
    }
}

static void s_test_m_of_n_full_data (void)
{
    /* 4 out of 5, all datapoints present: the breaching ones need not be
     * consecutive. */
    ph_alarm_config_t c;
    s_config (&c, 60, 5, 4, PH_ALARM_GE, 10, PH_ALARM_TMD_MISSING);
    static const double a[5] = {10, 0, 11, 12, 99}, b[5] = {10, 0, 11, 0, 99};
    ph_metric_datapoint_t dps[5];
    ph_alarm_result_t res;
    for (int i = 0; i < 5; i++)
        dps[i] = s_point (T0 + 60 * i, a[i]);
    CHECK (ph_alarm_evaluate (&c, OK, T0 + 300, dps, 5, &res) == 0 && res.state == AL);
    CHECK (res.breaching == 4 && res.evaluated == 5 && res.filled == 0);
    for (int i = 0; i < 5; i++)
        dps[i] = s_point (T0 + 60 * i, b[i]);
    CHECK (ph_alarm_evaluate (&c, AL, T0 + 300, dps, 5, &res) == 0 && res.state == OK);
    CHECK (res.changed && res.breaching == 3);
}

/*  More datapoints than N in the range, with gaps: the N most recent
 *  present ones count; older ones and those outside the range do not. */
static void s_test_range (void)
{
    ph_alarm_config_t c;
    s_config (&c, 60, 3, 3, PH_ALARM_GE, 1.0, PH_ALARM_TMD_NOT_BREACHING);
    int64_t start, end;
    ph_alarm_range (&c, T0 + 59, &start, &end);
    CHECK (end == T0 && start == T0 - 5 * 60);
    ph_alarm_range (&c, T0, &start, &end);
    CHECK (end == T0); /* the period starting now has not begun to count */
    ph_metric_datapoint_t dps[6] = {
        s_point (T0 - 360, 0), /* before the range: ignored */
        s_point (T0 - 300, 0), s_point (T0 - 240, 5), s_point (T0 - 120, 5),
        s_point (T0 - 60, 5),  s_point (T0, 0), /* in flight at T0 + 30: ignored */
    };
    ph_alarm_result_t res;
    CHECK (ph_alarm_evaluate (&c, OK, T0 + 30, dps, 6, &res) == 0);
    CHECK (res.state == AL && res.present == 4 && res.evaluated == 3 && res.breaching == 3);
    CHECK (res.range_start_s == T0 - 300 && res.range_end_s == T0);
}

/*  A period that is still filling at now is not evaluated. */
static void s_test_in_flight (void)
{
    ph_alarm_config_t c;
    s_config (&c, 60, 1, 1, PH_ALARM_GE, 1.0, PH_ALARM_TMD_MISSING);
    ph_metric_datapoint_t dps[2] = {s_point (T0, 0), s_point (T0 + 60, 5)};
    ph_alarm_result_t res;
    CHECK (ph_alarm_evaluate (&c, OK, T0 + 90, dps, 2, &res) == 0 && res.state == OK);
    CHECK (ph_alarm_evaluate (&c, OK, T0 + 60, dps, 2, &res) == 0 && res.state == OK);
    CHECK (ph_alarm_evaluate (&c, OK, T0 + 120, dps, 2, &res) == 0 && res.state == AL);
    CHECK (res.changed);
}

static void s_check_reason (const ph_alarm_config_t *c, ph_alarm_state_t current, int64_t now,
                            const ph_metric_datapoint_t *dps, size_t n, ph_alarm_state_t state,
                            const char *reason)
{
    ph_alarm_result_t res;
    CHECK (ph_alarm_evaluate (c, current, now, dps, n, &res) == 0);
    CHECK (res.state == state);
    CHECK_STR (res.reason, reason);
}

static void s_test_reasons (void)
{
    ph_alarm_config_t c;
    /* The brief's example; 5-second periods. */
    s_config (&c, 5, 1, 1, PH_ALARM_GE, 1.0, PH_ALARM_TMD_MISSING);
    ph_metric_datapoint_t one = s_point (1795630925, 3.0);
    s_check_reason (&c, OK, 1795630930, &one, 1, AL,
                    "Threshold Crossed: 1 out of the last 1 datapoints [3.0 (25/11/26 18:22:05)] "
                    "was greater than or equal to the threshold (1.0) (minimum 1 datapoint for OK "
                    "-> ALARM transition).");
    /* From CloudWatch notifications, period 60. */
    s_config (&c, 60, 3, 3, PH_ALARM_GE, 7.0, PH_ALARM_TMD_MISSING);
    ph_metric_datapoint_t three[3] = {s_point (1626304560, 9.18241509182415),
                                      s_point (1626304620, 9.72),
                                      s_point (1626304680, 8.891518474692088)};
    s_check_reason (&c, OK, 1626304740, three, 3, AL,
                    "Threshold Crossed: 3 out of the last 3 datapoints [8.891518474692088 "
                    "(14/07/21 23:18:00), 9.72 (14/07/21 23:17:00), 9.18241509182415 (14/07/21 "
                    "23:16:00)] were greater than or equal to the threshold (7.0) (minimum 3 "
                    "datapoints for OK -> ALARM transition).");
    s_config (&c, 60, 1, 1, PH_ALARM_GE, 1.0, PH_ALARM_TMD_MISSING);
    one = s_point (1659366360, 0.0);
    s_check_reason (&c, AL, 1659366420, &one, 1, OK,
                    "Threshold Crossed: 1 out of the last 1 datapoints [0.0 (01/08/22 15:06:00)] "
                    "was not greater than or equal to the threshold (1.0) (minimum 1 datapoint "
                    "for ALARM -> OK transition).");
    s_config (&c, 60, 1, 1, PH_ALARM_LE, 0.0, PH_ALARM_TMD_MISSING);
    one = s_point (1656381300, 0.0);
    s_check_reason (&c, OK, 1656381360, &one, 1, AL,
                    "Threshold Crossed: 1 out of the last 1 datapoints [0.0 (28/06/22 01:55:00)] "
                    "was less than or equal to the threshold (0.0) (minimum 1 datapoint for OK -> "
                    "ALARM transition).");
    s_config (&c, 60, 1, 1, PH_ALARM_GT, 5.0, PH_ALARM_TMD_MISSING);
    one = s_point (1664131740, 6.0);
    s_check_reason (&c, INS, 1664131800, &one, 1, AL,
                    "Threshold Crossed: 1 out of the last 1 datapoints [6.0 (25/09/22 18:49:00)] "
                    "was greater than the threshold (5.0) (minimum 1 datapoint for OK -> ALARM "
                    "transition).");
    s_config (&c, 60, 1, 1, PH_ALARM_LT, 1.0, PH_ALARM_TMD_MISSING);
    one = s_point (1708077720, 0.19726775956284198);
    s_check_reason (&c, OK, 1708077780, &one, 1, AL,
                    "Threshold Crossed: 1 out of the last 1 datapoints [0.19726775956284198 "
                    "(16/02/24 10:02:00)] was less than the threshold (1.0) (minimum 1 datapoint "
                    "for OK -> ALARM transition).");
}

static void s_test_reasons_missing (void)
{
    ph_alarm_config_t c;
    s_config (&c, 60, 2, 2, PH_ALARM_GE, 1.0, PH_ALARM_TMD_BREACHING);
    s_check_reason (&c, OK, T0, NULL, 0, AL,
                    "Threshold Crossed: no datapoints were received for 2 periods and 2 missing "
                    "datapoints were treated as [Breaching].");
    s_config (&c, 60, 1, 1, PH_ALARM_GE, 1.0, PH_ALARM_TMD_NOT_BREACHING);
    s_check_reason (&c, AL, T0, NULL, 0, OK,
                    "Threshold Crossed: no datapoints were received for 1 period and 1 missing "
                    "datapoint was treated as [NonBreaching].");
    /* One real datapoint that does not breach, 7 filled as breaching, 8 of
     * 8: OK, as in a CloudWatch ALARM -> OK notification. */
    s_config (&c, 60, 8, 8, PH_ALARM_LE, 0.0, PH_ALARM_TMD_BREACHING);
    ph_metric_datapoint_t one = s_point (1787132160, 2.0);
    s_check_reason (&c, AL, 1787132160 + 120, &one, 1, OK,
                    "Threshold Crossed: 1 datapoint [2.0 (19/08/26 09:36:00)] was not less than or "
                    "equal to the threshold (0.0) and 7 missing datapoints were treated as "
                    "[Breaching].");
    s_config (&c, 60, 3, 3, PH_ALARM_GE, 1.0, PH_ALARM_TMD_MISSING);
    s_check_reason (&c, OK, T0, NULL, 0, INS, "Insufficient Data: 3 datapoints were unknown.");
    s_config (&c, 60, 1, 1, PH_ALARM_GE, 1.0, PH_ALARM_TMD_MISSING);
    s_check_reason (&c, OK, T0, NULL, 0, INS, "Insufficient Data: 1 datapoint was unknown.");
    /* Premature-alarm rule, and its "not yet" side. */
    s_config (&c, 300, 3, 3, PH_ALARM_GE, 1.0, PH_ALARM_TMD_MISSING);
    ph_metric_datapoint_t dps[5];
    size_t n = s_points ("- - X - -", T0, 300, dps);
    s_check_reason (&c, OK, T0, dps, n, AL,
                    "Threshold Crossed: 1 out of the last 3 datapoints [5.0 (25/11/26 17:45:00)] "
                    "was greater than or equal to the threshold (1.0) (minimum 3 datapoints for "
                    "OK -> ALARM transition).");
    n = s_points ("- - - - X", T0, 300, dps);
    s_check_reason (&c, OK, T0, dps, n, INS, "Insufficient Data: 2 datapoints were unknown.");
    CHECK_STR (PH_ALARM_INITIAL_REASON, "Unchecked: Initial alarm creation");
    CHECK (PH_ALARM_INITIAL_STATE == INS);
}

/*  Numbers as CloudWatch (Java) writes them, seen through the threshold. */
static void s_test_reason_numbers (void)
{
    static const struct {
        double v;
        const char *text;
    } rows[] = {
        {1, "(1.0)"},
        {100, "(100.0)"},
        {-2.5, "(-2.5)"},
        {0.001, "(0.001)"},
        {0.0001, "(1.0E-4)"},
        {1e7, "(1.0E7)"},
        {9999999, "(9999999.0)"},
        {123456.5, "(123456.5)"},
        {1.5e-10, "(1.5E-10)"},
        {-0.0, "(-0.0)"},
        {0.1 + 0.2, "(0.30000000000000004)"},
        {2.0e108, "(2.0E108)"},
    };
    for (size_t i = 0; i < COUNT_OF (rows); i++) {
        ph_alarm_config_t c;
        s_config (&c, 60, 1, 1, PH_ALARM_GE, rows[i].v, PH_ALARM_TMD_MISSING);
        ph_metric_datapoint_t one = s_point (T0, 1e100);
        ph_alarm_result_t res;
        CHECK (ph_alarm_evaluate (&c, OK, T0 + 60, &one, 1, &res) == 0);
        CHECK (strstr (res.reason, rows[i].text) != NULL);
        if (!strstr (res.reason, rows[i].text))
            fprintf (stderr, "  want %s in: %s\n", rows[i].text, res.reason);
    }
}

/*  A long list is cut at PH_ALARM_REASON_POINTS, and never overflows. */
static void s_test_reason_cap (void)
{
    ph_alarm_config_t c;
    s_config (&c, 1, 40, 40, PH_ALARM_GE, -1e108, PH_ALARM_TMD_MISSING);
    ph_metric_datapoint_t dps[40];
    for (int i = 0; i < 40; i++)
        dps[i] = s_point (T0 + i, -1.2345678901234567e-100);
    ph_alarm_result_t res;
    CHECK (ph_alarm_evaluate (&c, OK, T0 + 40, dps, 40, &res) == 0 && res.state == AL);
    CHECK (strstr (res.reason, "40 out of the last 40 datapoints [") != NULL);
    CHECK (strstr (res.reason, ", ...]") != NULL);
    size_t listed = 0;
    for (const char *p = res.reason; (p = strstr (p, "(25/11/26")); p++)
        listed++;
    CHECK (listed == PH_ALARM_REASON_POINTS);
    CHECK (strlen (res.reason) < PH_ALARM_REASON_MAX);
}

static void s_test_evaluate_rejects (void)
{
    ph_alarm_config_t c;
    s_config (&c, 60, 3, 3, PH_ALARM_GE, 1.0, PH_ALARM_TMD_MISSING);
    ph_alarm_result_t res;
    ph_metric_datapoint_t dps[2] = {s_point (T0, 1), s_point (T0 + 60, 1)};
    CHECK (ph_alarm_evaluate (&c, OK, T0 + 600, dps, 2, &res) == 0);
    ph_metric_datapoint_t unaligned[1] = {s_point (T0 + 1, 1)};
    CHECK (ph_alarm_evaluate (&c, OK, T0 + 600, unaligned, 1, &res) == PH_EINVAL);
    ph_metric_datapoint_t backwards[2] = {s_point (T0 + 60, 1), s_point (T0, 1)};
    CHECK (ph_alarm_evaluate (&c, OK, T0 + 600, backwards, 2, &res) == PH_EINVAL);
    ph_metric_datapoint_t twice[2] = {s_point (T0, 1), s_point (T0, 1)};
    CHECK (ph_alarm_evaluate (&c, OK, T0 + 600, twice, 2, &res) == PH_EINVAL);
    ph_metric_datapoint_t nan[1] = {s_point (T0, NAN)};
    CHECK (ph_alarm_evaluate (&c, OK, T0 + 600, nan, 1, &res) == PH_EINVAL);
    CHECK (ph_alarm_evaluate (&c, OK, -1, dps, 2, &res) == PH_EINVAL);
    CHECK (ph_alarm_evaluate (&c, (ph_alarm_state_t)7, T0, dps, 2, &res) == PH_EINVAL);
    CHECK (ph_alarm_evaluate (&c, OK, T0, NULL, 2, &res) == PH_EINVAL);
    c.datapoints_to_alarm = 4;
    CHECK (ph_alarm_evaluate (&c, OK, T0 + 600, dps, 2, &res) == PH_EINVAL);
    c.datapoints_to_alarm = 3;
    c.period_s = 45;
    CHECK (ph_alarm_evaluate (&c, OK, T0 + 600, dps, 2, &res) == PH_EINVAL);
}

static void s_test_names (void)
{
    static const char *const cmps[] = {"GreaterThanOrEqualToThreshold", "GreaterThanThreshold",
                                       "LessThanThreshold", "LessThanOrEqualToThreshold"};
    static const char *const tmds[] = {"missing", "notBreaching", "breaching", "ignore"};
    static const char *const states[] = {"OK", "ALARM", "INSUFFICIENT_DATA"};
    char err[PH_ALARM_ERR_MAX];
    for (size_t i = 0; i < 4; i++) {
        ph_alarm_cmp_t cmp;
        ph_alarm_tmd_t tmd;
        CHECK (ph_alarm_cmp_parse (cmps[i], &cmp, err, sizeof err) == 0 && (size_t)cmp == i);
        CHECK_STR (ph_alarm_cmp_name (cmp), cmps[i]);
        CHECK (ph_alarm_tmd_parse (tmds[i], &tmd, err, sizeof err) == 0 && (size_t)tmd == i);
        CHECK_STR (ph_alarm_tmd_name (tmd), tmds[i]);
    }
    for (size_t i = 0; i < 3; i++) {
        ph_alarm_state_t st;
        CHECK (ph_alarm_state_parse (states[i], &st) == 0 && (size_t)st == i);
        CHECK_STR (ph_alarm_state_name (st), states[i]);
    }
    ph_alarm_state_t st;
    CHECK (ph_alarm_state_parse ("Alarm", &st) == PH_EINVAL);
    CHECK_STR (ph_alarm_state_name ((ph_alarm_state_t)3), "?");
    CHECK_STR (ph_alarm_cmp_name ((ph_alarm_cmp_t)4), "?");
    CHECK_STR (ph_alarm_tmd_name ((ph_alarm_tmd_t)4), "?");
    ph_alarm_tmd_t tmd;
    CHECK (ph_alarm_tmd_parse ("NotBreaching", &tmd, err, sizeof err) == PH_EINVAL);
    CHECK (strstr (err, "did you mean notBreaching?") != NULL);
    ph_alarm_cmp_t cmp;
    CHECK (ph_alarm_cmp_parse (">=", &cmp, err, sizeof err) == PH_EINVAL);
    CHECK (strstr (err, "GreaterThanOrEqualToThreshold, GreaterThanThreshold") != NULL);
    /* The four comparisons at, above and below the threshold. */
    ph_alarm_config_t c;
    static const bool at[4] = {true, false, false, true}, above[4] = {true, true, false, false};
    for (int i = 0; i < 4; i++) {
        s_config (&c, 60, 1, 1, (ph_alarm_cmp_t)i, 10, PH_ALARM_TMD_MISSING);
        CHECK (ph_alarm_breaches (&c, 10) == at[i]);
        CHECK (ph_alarm_breaches (&c, 10.5) == above[i]);
        CHECK (ph_alarm_breaches (&c, 9.5) == !above[i]);
    }
}

static void s_test_alarm_names (void)
{
    char longest[PH_ALARM_NAME_MAX + 2];
    memset (longest, 'a', sizeof longest);
    longest[PH_ALARM_NAME_MAX] = 0;
    CHECK (ph_alarm_name_valid (longest));
    longest[PH_ALARM_NAME_MAX] = 'a';
    longest[PH_ALARM_NAME_MAX + 1] = 0;
    CHECK (!ph_alarm_name_valid (longest));
    CHECK (ph_alarm_name_valid ("cpu-high"));
    CHECK (ph_alarm_name_valid ("Sessions opened / minute (prod)"));
    CHECK (ph_alarm_name_valid ("x"));
    CHECK (!ph_alarm_name_valid (""));
    CHECK (!ph_alarm_name_valid (NULL));
    CHECK (!ph_alarm_name_valid ("a{b}"));
    CHECK (!ph_alarm_name_valid ("web-*"));
    CHECK (!ph_alarm_name_valid ("why?"));
    CHECK (!ph_alarm_name_valid ("caf\xc3\xa9"));
    CHECK (!ph_alarm_name_valid ("tab\there"));
    CHECK (!ph_alarm_name_valid (" lead"));
    CHECK (!ph_alarm_name_valid ("trail "));
}

static int s_parse (const char *const *kv, size_t pairs, ph_alarm_config_t *c, char *err)
{
    return ph_alarm_config_parse (kv, pairs, c, err, PH_ALARM_ERR_MAX);
}

static void s_test_config_parse (void)
{
    char err[PH_ALARM_ERR_MAX];
    ph_alarm_config_t c;
    static const char *const full[] = {
        "AlarmName",
        "root-logins",
        "Period",
        "300",
        "EvaluationPeriods",
        "3",
        "Threshold",
        "1",
        "ComparisonOperator",
        "GreaterThanOrEqualToThreshold",
        "Statistic",
        "Sum",
    };
    CHECK (s_parse (full, 6, &c, err) == 0);
    CHECK_STR (c.name, "root-logins");
    CHECK (c.period_s == 300 && c.evaluation_periods == 3 && c.threshold == 1);
    CHECK (c.datapoints_to_alarm == 3); /* defaults to N */
    CHECK (c.treat_missing_data == PH_ALARM_TMD_MISSING);
    CHECK (c.comparison == PH_ALARM_GE && c.statistic == PH_METRIC_STAT_SUM);
    /* Keys as the CLI (kebab) and a Redis hash (snake) spell them. */
    static const char *const spelled[] = {
        "alarm-name",
        "x",
        "period",
        "10",
        "evaluation_periods",
        "6",
        "datapoints-to-alarm",
        "2",
        "threshold",
        "-0.5",
        "comparison-operator",
        "LessThanThreshold",
        "statistic",
        "Minimum",
        "treat_missing_data",
        "notBreaching",
    };
    CHECK (s_parse (spelled, 8, &c, err) == 0);
    CHECK (c.period_s == 10 && c.evaluation_periods == 6 && c.datapoints_to_alarm == 2);
    CHECK (c.threshold == -0.5 && c.comparison == PH_ALARM_LT);
    CHECK (c.treat_missing_data == PH_ALARM_TMD_NOT_BREACHING);
    /* Limits that are just allowed: one day exactly, 1-second periods. */
    static const char *const day[] = {
        "AlarmName",
        "d",
        "Period",
        "60",
        "EvaluationPeriods",
        "1440",
        "Threshold",
        "0",
        "ComparisonOperator",
        "GreaterThanThreshold",
        "Statistic",
        "SampleCount",
    };
    CHECK (s_parse (day, 6, &c, err) == 0);
    static const char *const second[] = {
        "AlarmName",
        "s",
        "Period",
        "1",
        "EvaluationPeriods",
        "86400",
        "Threshold",
        "0",
        "ComparisonOperator",
        "GreaterThanThreshold",
        "Statistic",
        "Average",
    };
    CHECK (s_parse (second, 6, &c, err) == 0 && c.datapoints_to_alarm == 86400);
}

/*  One wrong setting at a time; the message names it and says what to do. */
static void s_test_config_errors (void)
{
    static const struct {
        const char *key, *value; /* replaces or adds this setting */
        const char *want;
    } rows[] = {
        {"Period", "45",
         "Period: 45 s is not a valid period; use 1, 5, 10, 30 or a multiple of 60"},
        {"Period", "90", "Period: 90 s is not a multiple of 60"},
        {"Period", "1m", "Period: '1m' is not a number of seconds"},
        {"EvaluationPeriods", "1441",
         "EvaluationPeriods x Period is 1441 x 60 s = 86460 s, more than one day (86400 s); use at "
         "most 1440 evaluation periods"},
        {"EvaluationPeriods", "0", "EvaluationPeriods: '0' is not a whole number from 1 to 86400"},
        {"EvaluationPeriods", "three", "EvaluationPeriods: 'three' is not a whole number"},
        {"DatapointsToAlarm", "5",
         "DatapointsToAlarm (5) is more than EvaluationPeriods (3): an M out of N alarm needs M <= "
         "N"},
        {"DatapointsToAlarm", "0", "DatapointsToAlarm: '0' is not a whole number from 1 to 86400"},
        {"Threshold", "abc", "Threshold: 'abc' is not a number; write it like 90"},
        {"Threshold", "1e400", "Threshold: '1e400' is not a number"},
        {"ComparisonOperator", "GreaterThan",
         "ComparisonOperator: 'GreaterThan' is not a comparison operator; use one of "
         "GreaterThanOrEqualToThreshold, GreaterThanThreshold, LessThanThreshold, "
         "LessThanOrEqualToThreshold"},
        {"ComparisonOperator", "greaterthanthreshold", "did you mean GreaterThanThreshold?"},
        {"Statistic", "avg", "Statistic: 'avg' is not a statistic; use one of SampleCount"},
        {"TreatMissingData", "NotBreaching",
         "TreatMissingData: 'NotBreaching' is not a way to treat missing data; did you mean "
         "notBreaching?"},
        {"AlarmName", "a{b}", "AlarmName: character 2 ('{') is not allowed"},
        {"AlarmName", "", "AlarmName: the name is 0 characters long; use 1 to 255"},
        {"Thershold", "1", "unknown setting 'Thershold'; use AlarmName, Period"},
        {"Period", NULL, "Period has no value"},
    };
    for (size_t i = 0; i < COUNT_OF (rows); i++) {
        const char *kv[16] = {
            "AlarmName",
            "a",
            "Period",
            "60",
            "EvaluationPeriods",
            "3",
            "Threshold",
            "1",
            "ComparisonOperator",
            "GreaterThanThreshold",
            "Statistic",
            "Sum",
        };
        size_t pairs = 6;
        bool replaced = false;
        for (size_t p = 0; p < pairs; p++)
            if (strcmp (kv[2 * p], rows[i].key) == 0) {
                kv[2 * p + 1] = rows[i].value;
                replaced = true;
            }
        if (!replaced) {
            kv[2 * pairs] = rows[i].key;
            kv[2 * pairs + 1] = rows[i].value;
            pairs++;
        }
        char err[PH_ALARM_ERR_MAX] = "";
        ph_alarm_config_t c;
        CHECK (s_parse (kv, pairs, &c, err) == PH_EINVAL);
        CHECK (strstr (err, rows[i].want) != NULL);
        if (!strstr (err, rows[i].want))
            fprintf (stderr, "  want '%s'\n  got  '%s'\n", rows[i].want, err);
    }
    /* Missing settings, and one given twice. */
    char err[PH_ALARM_ERR_MAX];
    ph_alarm_config_t c;
    static const char *const no_period[] = {
        "AlarmName", "a",   "EvaluationPeriods",  "3",
        "Threshold", "1",   "ComparisonOperator", "GreaterThanThreshold",
        "Statistic", "Sum",
    };
    CHECK (s_parse (no_period, 5, &c, err) == PH_EINVAL);
    CHECK (strstr (err, "missing Period: set it to 1, 5, 10, 30 or a multiple of 60") != NULL);
    CHECK (s_parse (no_period + 2, 4, &c, err) == PH_EINVAL);
    CHECK (strstr (err, "missing AlarmName") != NULL);
    static const char *const twice[] = {"Period", "60", "period", "120"};
    CHECK (s_parse (twice, 2, &c, err) == PH_EINVAL);
    CHECK (strstr (err, "Period is given twice") != NULL);
    CHECK (s_parse (NULL, 0, &c, err) == PH_EINVAL && strstr (err, "missing AlarmName"));
    /* A period longer than a day, even with N = 1. */
    static const char *const long_period[] = {
        "AlarmName",
        "a",
        "Period",
        "172800",
        "EvaluationPeriods",
        "1",
        "Threshold",
        "1",
        "ComparisonOperator",
        "GreaterThanThreshold",
        "Statistic",
        "Sum",
    };
    CHECK (s_parse (long_period, 6, &c, err) == PH_EINVAL);
    CHECK (strstr (err, "use a Period of at most 86400 s") != NULL);
    /* err may be NULL. */
    CHECK (ph_alarm_config_parse (twice, 2, &c, NULL, 0) == PH_EINVAL);
    ph_alarm_config_init (&c);
    CHECK (ph_alarm_config_set (&c, "Nope", "1", NULL, 0) == PH_EINVAL);
    CHECK (ph_alarm_config_validate (&c, NULL, 0) == PH_EINVAL);
}

/*  Log events -> metric-filter buckets -> datapoints -> alarm, as the
 *  logshipper will chain them: Sum of matches per 10 s, 2 of 3. */
static void s_test_pipeline (void)
{
    static const char *const kv[] = {
        "AlarmName",
        "failed-sudo",
        "Period",
        "10",
        "EvaluationPeriods",
        "3",
        "DatapointsToAlarm",
        "2",
        "Threshold",
        "5",
        "ComparisonOperator",
        "GreaterThanOrEqualToThreshold",
        "Statistic",
        "Sum",
        "TreatMissingData",
        "notBreaching",
    };
    char err[PH_ALARM_ERR_MAX];
    ph_alarm_config_t c;
    CHECK (ph_alarm_config_parse (kv, 8, &c, err, sizeof err) == 0);
    /* Matches per second: 3 in each of 2 seconds of one period, 5 in one
     * second of the next, events without matches elsewhere (default 0). */
    ph_metric_bucket_t buckets[40];
    size_t nb = 0;
    static const double ones[5] = {1, 1, 1, 1, 1}, zero = 0;
    int64_t base = T0 - 60;
    for (int s = 0; s < 60; s++) {
        size_t matched = s == 31 || s == 35 ? 3 : s == 44 ? 5 : 0;
        ph_metric_bucket_t b;
        CHECK (ph_metric_filter_second (base + s, s % 3 ? 6 : 0, ones, s % 3 ? matched : 0, &zero,
                                        &b) == 0);
        if (b.count)
            buckets[nb++] = b;
    }
    int64_t start, end;
    int64_t now = T0 + 3;
    ph_alarm_range (&c, now, &start, &end);
    ph_metric_datapoint_t dps[8];
    size_t n;
    CHECK (ph_metric_aggregate (buckets, nb, start, end, c.period_s, dps, 8, &n) == 0);
    ph_alarm_result_t res;
    CHECK (ph_alarm_evaluate (&c, PH_ALARM_INITIAL_STATE, now, dps, n, &res) == 0);
    CHECK (res.state == AL && res.changed && res.breaching == 2);
}

int main (void)
{
    s_test_doc_tables ();
    s_test_sliding_out ();
    s_test_doc_figure ();
    s_test_m_of_n_full_data ();
    s_test_range ();
    s_test_in_flight ();
    s_test_reasons ();
    s_test_reasons_missing ();
    s_test_reason_numbers ();
    s_test_reason_cap ();
    s_test_evaluate_rejects ();
    s_test_names ();
    s_test_alarm_names ();
    s_test_config_parse ();
    s_test_config_errors ();
    s_test_pipeline ();
    PH_TEST_END ();
}
