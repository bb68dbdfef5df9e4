/*  ctl_metrics: MetricsRequest (issue 4), GetMetricStatistics and
 *  ListMetrics on "*", read from what logshippers' metric filters wrote
 *  (logshipper/ls_metrics.c):
 *
 *    ph:metric:{NS|NAME}:s:<hour start>  second of the hour -> bucket
 *    ph:metric:{NS|NAME}:m:<day start>   minute of the day  -> bucket
 *    ph:metric:{NS|NAME}                 namespace, metric_name, unit
 *    ph:metrics                          set of "NS|NAME"
 *
 *  Periods that are multiples of 60 s read the per-minute roll-up (kept 15
 *  days), others the per-second data (kept 26 hours); one script returns
 *  the hashes of the range and the statistics are made here
 *  (ph_metric_aggregate), so Redis does no arithmetic on a read.
 */
#include "ctl.h"
#include "ph_metric.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CTL_METRIC_KEY_MAX   600
#define CTL_METRIC_S_KEEP_S  (26 * 3600)
#define CTL_METRIC_M_KEEP_S  (15 * 86400)
#define CTL_METRICS_LIST_MAX 10000

/*  ARGV: metric key, kind s|m, step s (3600 | 86400), first key start,
 *  last key start. Returns {unit, {start, flat [field, value, ...]}, ...}. */
static const char s_read_lua[] =
    "local m, kind, step = ARGV[1], ARGV[2], tonumber(ARGV[3])\n"
    "local out = {redis.call('HGET', 'ph:metric:{' .. m .. '}', 'unit') or ''}\n"
    "for t = tonumber(ARGV[4]), tonumber(ARGV[5]), step do\n"
    "  local h = redis.call('HGETALL', 'ph:metric:{' .. m .. '}:' .. kind .. ':' .. t)\n"
    "  if #h > 0 then out[#out + 1] = {tostring(t), h} end\n"
    "end\n"
    "return out\n";

/*  ARGV: namespace ('' = any), metric name ('' = any), max. Returns flat
 *  [namespace, name, ...]. */
static const char s_list_lua[] =
    "local out, n = {}, 0\n"
    "for _, m in ipairs(redis.call('SMEMBERS', 'ph:metrics')) do\n"
    "  local h = redis.call('HMGET', 'ph:metric:{' .. m .. '}', 'namespace', 'metric_name')\n"
    "  if h[1] and h[2] and (ARGV[1] == '' or h[1] == ARGV[1]) and\n"
    "     (ARGV[2] == '' or h[2] == ARGV[2]) and n < tonumber(ARGV[3]) then\n"
    "    out[#out + 1] = h[1]; out[#out + 1] = h[2]; n = n + 1\n"
    "  end\n"
    "end\n"
    "return out\n";

static void s_metrics_reply (ctl_req_t **req_p, Porthole__V1__MetricsReply *body)
{
    body->op = (*req_p)->env->metrics->op;
    ph_env_t env = PH_ENV_INIT;
    env.body_case = PORTHOLE__V1__ENVELOPE__BODY_METRICS_REPLY;
    env.metrics_reply = body;
    ctl_req_reply (req_p, &env);
}

/* ---- GetMetricStatistics -------------------------------------------------- */

/*  The buckets of a read reply (per second or per minute). */
static ph_metric_bucket_t *s_buckets (const ph_reply_t *reply, bool minutes, size_t *n_out)
{
    size_t cap = 0, n = 0;
    for (size_t i = 1; i < ph_reply_count (reply); i++)
        cap += ph_reply_count (ph_reply_at (ph_reply_at (reply, i), 1)) / 2;
    ph_metric_bucket_t *b = calloc (cap + 1, sizeof *b);
    assert (b);
    for (size_t i = 1; i < ph_reply_count (reply); i++) {
        const ph_reply_t *part = ph_reply_at (reply, i);
        const char *start = ph_reply_str (ph_reply_at (part, 0));
        const ph_reply_t *h = ph_reply_at (part, 1);
        for (size_t k = 0; start && k + 1 < ph_reply_count (h); k += 2) {
            const char *field = ph_reply_str (ph_reply_at (h, k));
            const char *value = ph_reply_str (ph_reply_at (h, k + 1));
            if (!field || !value)
                continue;
            int64_t t = strtoll (start, NULL, 10) + strtoll (field, NULL, 10) * (minutes ? 60 : 1);
            if (ph_metric_bucket_parse (value, strlen (value), t, &b[n]) == 0)
                n++;
            else
                ph_warn ("metric bucket %s+%s holds '%.40s'; skipped", start, field, value);
        }
    }
    *n_out = n;
    return b;
}

static void s_on_read (ph_redis_t *redis, ph_reply_t *reply, void *arg)
{
    (void)redis;
    ctl_req_t *req = arg;
    if (!ctl_req_reply_ok (&req, reply))
        return;
    const Porthole__V1__MetricsRequest *r = req->env->metrics;
    int64_t start = (int64_t)(r->start_time / 1000), end = (int64_t)((r->end_time + 999) / 1000);
    size_t nb = 0, nd = 0;
    ph_metric_bucket_t *b = s_buckets (reply, r->period % 60 == 0, &nb);
    ph_metric_datapoint_t *dp = calloc (PH_METRIC_DATAPOINTS_MAX, sizeof *dp);
    Porthole__V1__Datapoint *d = calloc (PH_METRIC_DATAPOINTS_MAX, sizeof *d);
    Porthole__V1__Datapoint **dpp = calloc (PH_METRIC_DATAPOINTS_MAX, sizeof *dpp);
    assert (dp && d && dpp);
    const char *unit = ph_reply_str (ph_reply_at (reply, 0));
    int rc = ph_metric_aggregate (b, nb, start, end, r->period, dp, PH_METRIC_DATAPOINTS_MAX, &nd);
    if (rc != 0) {
        ctl_req_fail (&req, CTL_E_INVALID_REQUEST,
                      "porthole: cannot make the statistics of that range (%s)",
                      rc == PH_ETOOBIG ? "too many datapoints" : "bad range");
        goto out_free;
    }
    for (size_t i = 0; i < nd; i++) {
        Porthole__V1__Datapoint x = PORTHOLE__V1__DATAPOINT__INIT;
        x.timestamp = (uint64_t)dp[i].t_s * 1000;
        x.sample_count = (double)dp[i].sample_count;
        x.average = dp[i].average;
        x.sum = dp[i].sum;
        x.minimum = dp[i].minimum;
        x.maximum = dp[i].maximum;
        x.unit = (char *)(unit && *unit ? unit : "None");
        d[i] = x;
        dpp[i] = &d[i];
    }
    Porthole__V1__MetricsReply body = PORTHOLE__V1__METRICS_REPLY__INIT;
    body.label = r->metric_name;
    body.datapoints = dpp;
    body.n_datapoints = nd;
    body.statistics = r->statistics;
    body.n_statistics = r->n_statistics;
    s_metrics_reply (&req, &body);
out_free:
    free (dpp);
    free (d);
    free (dp);
    free (b);
}

/*  Checks a GetMetricStatistics. Returns true, or answers req. */
static bool s_get_valid (ctl_req_t **req_p)
{
    const Porthole__V1__MetricsRequest *r = (*req_p)->env->metrics;
    char err[PH_ERRTEXT_MAX];
    ph_metric_stat_t stat;
    if (!ctl_metric_name_valid (r->namespace_) || !ctl_metric_name_valid (r->metric_name)) {
        ctl_req_fail (req_p, CTL_E_INVALID_REQUEST,
                      "porthole: --namespace and --metric-name are needed (1..255 of A-Z a-z 0-9 "
                      "space _ . # / : -)");
        return false;
    }
    if (ph_metric_period_check (r->period, err, sizeof err) != 0) {
        ctl_req_fail (req_p, CTL_E_INVALID_REQUEST, "porthole: --period: %s", err);
        return false;
    }
    if (r->n_statistics < 1 || r->n_statistics > PH_METRIC_STATS) {
        ctl_req_fail (req_p, CTL_E_INVALID_REQUEST,
                      "porthole: --statistics takes 1..%d of Sum Average Minimum Maximum "
                      "SampleCount",
                      PH_METRIC_STATS);
        return false;
    }
    for (size_t i = 0; i < r->n_statistics; i++)
        if (ph_metric_stat_parse (r->statistics[i], &stat, err, sizeof err) != 0) {
            ctl_req_fail (req_p, CTL_E_INVALID_REQUEST, "porthole: --statistics: %s", err);
            return false;
        }
    if (r->start_time >= r->end_time) {
        ctl_req_fail (req_p, CTL_E_INVALID_REQUEST,
                      "porthole: --start-time must be before --end-time");
        return false;
    }
    if ((r->end_time - r->start_time) / 1000 / r->period > PH_METRIC_DATAPOINTS_MAX) {
        ctl_req_fail (req_p, CTL_E_INVALID_REQUEST,
                      "porthole: that range at --period %u makes more than %d datapoints; "
                      "use a longer period or a shorter range",
                      r->period, PH_METRIC_DATAPOINTS_MAX);
        return false;
    }
    return true;
}

static void s_get_statistics (ctl_req_t *req)
{
    if (!s_get_valid (&req))
        return;
    const Porthole__V1__MetricsRequest *r = req->env->metrics;
    bool minutes = r->period % 60 == 0;
    int64_t step = minutes ? 86400 : 3600;
    int64_t keep = minutes ? CTL_METRIC_M_KEEP_S : CTL_METRIC_S_KEEP_S;
    int64_t now = (int64_t)(ph_now_ms () / 1000);
    int64_t start = (int64_t)(r->start_time / 1000), end = (int64_t)(r->end_time / 1000);
    if (start < now - keep) /* older keys have expired */
        start = now - keep;
    if (end < start)
        end = start;
    char key[CTL_METRIC_KEY_MAX];
    snprintf (key, sizeof key, "%s|%s", r->namespace_, r->metric_name);
    int rc = ph_redis_cmd (req->ctl->redis, s_on_read, req, "EVAL %s 0 %s %s %lld %lld %lld",
                           s_read_lua, key, minutes ? "m" : "s", (long long)step,
                           (long long)(start - start % step), (long long)(end - end % step));
    ctl_req_queued (&req, rc);
}

/* ---- ListMetrics ------------------------------------------------------------ */

static void s_on_list (ph_redis_t *redis, ph_reply_t *reply, void *arg)
{
    (void)redis;
    ctl_req_t *req = arg;
    if (!ctl_req_reply_ok (&req, reply))
        return;
    size_t n = ph_reply_count (reply) / 2;
    Porthole__V1__MetricInfo *m = calloc (n + 1, sizeof *m);
    Porthole__V1__MetricInfo **mp = calloc (n + 1, sizeof *mp);
    assert (m && mp);
    for (size_t i = 0; i < n; i++) {
        Porthole__V1__MetricInfo x = PORTHOLE__V1__METRIC_INFO__INIT;
        x.namespace_ = (char *)ph_reply_str (ph_reply_at (reply, 2 * i));
        x.metric_name = (char *)ph_reply_str (ph_reply_at (reply, 2 * i + 1));
        m[i] = x;
        mp[i] = &m[i];
    }
    Porthole__V1__MetricsReply body = PORTHOLE__V1__METRICS_REPLY__INIT;
    body.metrics = mp;
    body.n_metrics = n;
    s_metrics_reply (&req, &body);
    free (mp);
    free (m);
}

static void s_list (ctl_req_t *req)
{
    const Porthole__V1__MetricsRequest *r = req->env->metrics;
    int rc = ph_redis_cmd (req->ctl->redis, s_on_list, req, "EVAL %s 0 %s %s %d", s_list_lua,
                           r->namespace_, r->metric_name, CTL_METRICS_LIST_MAX);
    ctl_req_queued (&req, rc);
}

void ctl_metrics_request (ctl_req_t *req)
{
    const char *op = req->env->metrics->op;
    ctl_api_fn *fn = strcmp (op, "GetMetricStatistics") == 0 ? s_get_statistics
                     : strcmp (op, "ListMetrics") == 0       ? s_list
                                                             : NULL;
    if (!fn) {
        ctl_req_fail (&req, CTL_E_INVALID_REQUEST,
                      "porthole: '%.64s' is not a metrics operation (GetMetricStatistics, "
                      "ListMetrics)",
                      op);
        return;
    }
    char action[CTL_ACTION_MAX];
    snprintf (action, sizeof action, "metrics:%s", op);
    if (!ctl_req_authorize (&req, action, "*", NULL))
        return;
    fn (req);
}
