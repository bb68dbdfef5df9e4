/*  libFuzzer target: the metric and alarm parsers (common/ph_metric.c,
 *  common/ph_alarm.c). Stored buckets are read back from Redis, where any
 *  process (or a hand-edited key) may have written them, and alarm
 *  settings come from users through the API, so neither parser may crash,
 *  leak or misread whatever the bytes. Beyond "no crash", the target
 *  checks properties:
 *  - a bucket the parser accepts formats, and the text reads back to the
 *    same bucket to the bit; merging it with itself keeps it valid;
 *  - an alarm config the parser accepts evaluates, over datapoints made
 *    from the input, without error, and its StateReason is a NUL-terminated
 *    string shorter than PH_ALARM_REASON_MAX.
 *  The input is read as a bucket text, as single names and numbers, and as
 *  "key=value" lines of an alarm config followed by datapoint values.
 */
#include "ph_alarm.h"
#include "ph_metric.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define S_PAIRS_MAX  12
#define S_POINTS_MAX 64

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void s_check (bool ok)
{
    if (!ok)
        abort ();
}

static bool s_same (const ph_metric_bucket_t *a, const ph_metric_bucket_t *b)
{
    return a->t_s == b->t_s && a->count == b->count && memcmp (&a->sum, &b->sum, 8) == 0 &&
           memcmp (&a->min, &b->min, 8) == 0 && memcmp (&a->max, &b->max, 8) == 0;
}

static void s_bucket (const char *text, size_t len)
{
    ph_metric_bucket_t b;
    if (ph_metric_bucket_parse (text, len, 1795630925, &b) != 0)
        return;
    char out[PH_METRIC_BUCKET_TEXT_MAX];
    int n = ph_metric_bucket_format (&b, out, sizeof out);
    s_check (n > 0 && (size_t)n < sizeof out);
    ph_metric_bucket_t back;
    s_check (ph_metric_bucket_parse (out, (size_t)n, b.t_s, &back) == 0 && s_same (&b, &back));
    ph_metric_bucket_t twice = b;
    if (ph_metric_bucket_merge (&twice, &b) == 0)
        s_check (ph_metric_bucket_format (&twice, out, sizeof out) > 0);
}

static void s_names (const char *text)
{
    char err[PH_METRIC_ERR_MAX];
    ph_metric_stat_t st;
    ph_metric_unit_t un;
    ph_alarm_cmp_t cmp;
    ph_alarm_tmd_t tmd;
    ph_alarm_state_t state;
    int64_t period;
    double v;
    ph_metric_stat_parse (text, &st, err, sizeof err);
    ph_metric_unit_parse (text, &un, err, sizeof err);
    ph_alarm_cmp_parse (text, &cmp, err, sizeof err);
    ph_alarm_tmd_parse (text, &tmd, err, sizeof err);
    ph_alarm_state_parse (text, &state);
    ph_metric_period_parse (text, &period, err, sizeof err);
    if (ph_metric_value_parse (text, &v) == 0)
        s_check (isfinite (v) && fabs (v) <= PH_METRIC_VALUE_MAX);
    ph_alarm_name_valid (text);
}

/*  Lines "key=value" up to a blank line, then one number per line. */
static void s_alarm (char *text)
{
    const char *kv[2 * S_PAIRS_MAX];
    size_t pairs = 0, points = 0;
    ph_metric_datapoint_t dps[S_POINTS_MAX];
    bool in_points = false;
    char *save = NULL;
    for (char *line = strtok_r (text, "\n", &save); line; line = strtok_r (NULL, "\n", &save)) {
        char *eq = strchr (line, '=');
        if (!in_points && eq && pairs < S_PAIRS_MAX) {
            *eq = 0;
            kv[2 * pairs] = line;
            kv[2 * pairs + 1] = eq + 1;
            pairs++;
            continue;
        }
        in_points = true;
        double v;
        if (points < S_POINTS_MAX && ph_metric_value_parse (line, &v) == 0) {
            ph_metric_datapoint_t dp = {0, 1, v, v, v, v};
            dps[points++] = dp;
        }
    }
    char err[PH_ALARM_ERR_MAX];
    ph_alarm_config_t c;
    if (ph_alarm_config_parse (kv, pairs, &c, err, sizeof err) != 0) {
        s_check (memchr (err, 0, sizeof err) != NULL);
        return;
    }
    /* Datapoints on consecutive periods that end at now, so that the
     * values land in the evaluation range. */
    int64_t now = 1795629600;
    int64_t start = ph_metric_align (now, c.period_s) - (int64_t)points * c.period_s;
    for (size_t i = 0; i < points; i++)
        dps[i].t_s = start + (int64_t)i * c.period_s;
    for (int current = 0; current < 3; current++) {
        ph_alarm_result_t res;
        s_check (ph_alarm_evaluate (&c, (ph_alarm_state_t)current, now, dps, points, &res) == 0);
        s_check (memchr (res.reason, 0, sizeof res.reason) != NULL);
        s_check (res.kept ? res.reason[0] == 0 : res.reason[0] != 0);
    }
}

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    char *text = malloc (size + 1);
    if (!text)
        return 0;
    memcpy (text, data, size);
    text[size] = 0;
    s_bucket ((const char *)data, size);
    s_names (text);
    s_alarm (text);
    free (text);
    return 0;
}
