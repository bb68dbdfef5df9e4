/*  ctl_logs_filters: metric filters (issue 4), the LogsRequest ops
 *  PutMetricFilter, DescribeMetricFilters, DeleteMetricFilter (on
 *  loggroup/G) and TestMetricFilter (on "*", no Redis).
 *
 *  A filter is stored as the hash ph:metricfilter:{G}:NAME (filter_name,
 *  log_group_name, filter_pattern, metric_name, metric_namespace,
 *  metric_value, default_value ('' = none), unit, creation_ms), listed in
 *  the set ph:metricfilters:{G}; ph:metricfilter:groups lists the groups
 *  that have filters, and every change increments ph:metricfilters:version,
 *  which logshippers watch to reload the filters they evaluate. As in
 *  CloudWatch, a filter has exactly one metric transformation and a group
 *  at most CTL_FILTERS_PER_GROUP filters; the pattern and the metric value
 *  are checked here (ph_pattern) so that logshippers only ever see good
 *  ones.
 */
#include "ctl.h"
#include "ph_metric.h"
#include "ph_pattern.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CTL_FILTERS_PER_GROUP 100
#define CTL_FILTER_NAME_MAX   512
#define CTL_METRIC_NAME_MAX   255
#define CTL_TEST_MESSAGES_MAX 50
#define CTL_FILTERS_LIST_MAX  1000
#define CTL_FILTER_FIELDS     9

/*  ARGV: group, name, pattern, metric name, namespace, value, default,
 *  unit, now ms. Returns 'ok', 'nogroup' or 'limit'. */
static const char s_put_lua[] =
    "local g, name = ARGV[1], ARGV[2]\n"
    "if redis.call('EXISTS', 'ph:loggroup:{' .. g .. '}') == 0 then return 'nogroup' end\n"
    "local set = 'ph:metricfilters:{' .. g .. '}'\n"
    "if redis.call('SISMEMBER', set, name) == 0 and redis.call('SCARD', set) >= "
    "tonumber(ARGV[10]) then\n"
    "  return 'limit'\n"
    "end\n"
    "local k = 'ph:metricfilter:{' .. g .. '}:' .. name\n"
    "redis.call('HSET', k, 'filter_name', name, 'log_group_name', g, 'filter_pattern', ARGV[3],\n"
    "           'metric_name', ARGV[4], 'metric_namespace', ARGV[5], 'metric_value', ARGV[6],\n"
    "           'default_value', ARGV[7], 'unit', ARGV[8])\n"
    "redis.call('HSETNX', k, 'creation_ms', ARGV[9])\n"
    "redis.call('SADD', set, name)\n"
    "redis.call('SADD', 'ph:metricfilter:groups', g)\n"
    "redis.call('INCR', 'ph:metricfilters:version')\n"
    "return 'ok'\n";

/*  ARGV: group, name. Returns 'ok' or 'missing'. */
static const char s_delete_lua[] =
    "local g, name = ARGV[1], ARGV[2]\n"
    "local set = 'ph:metricfilters:{' .. g .. '}'\n"
    "if redis.call('SREM', set, name) == 0 then return 'missing' end\n"
    "redis.call('DEL', 'ph:metricfilter:{' .. g .. '}:' .. name)\n"
    "if redis.call('SCARD', set) == 0 then redis.call('SREM', 'ph:metricfilter:groups', g) end\n"
    "redis.call('INCR', 'ph:metricfilters:version')\n"
    "return 'ok'\n";

/*  ARGV: group ('' = every group), name prefix, metric name, namespace,
 *  max. Returns flat [the 9 fields of each filter], by group then name. */
static const char s_describe_lua[] =
    "local groups = {}\n"
    "if ARGV[1] ~= '' then groups = {ARGV[1]}\n"
    "else groups = redis.call('SMEMBERS', 'ph:metricfilter:groups') end\n"
    "table.sort(groups)\n"
    "local out, n = {}, 0\n"
    "local fields = {'filter_name', 'log_group_name', 'filter_pattern', 'metric_name',\n"
    "                'metric_namespace', 'metric_value', 'default_value', 'unit', 'creation_ms'}\n"
    "for _, g in ipairs(groups) do\n"
    "  local names = redis.call('SMEMBERS', 'ph:metricfilters:{' .. g .. '}')\n"
    "  table.sort(names)\n"
    "  for _, name in ipairs(names) do\n"
    "    if string.sub(name, 1, #ARGV[2]) == ARGV[2] and n < tonumber(ARGV[5]) then\n"
    "      local h = redis.call('HMGET', 'ph:metricfilter:{' .. g .. '}:' .. name,\n"
    "                           unpack(fields))\n"
    "      if (ARGV[3] == '' or h[4] == ARGV[3]) and (ARGV[4] == '' or h[5] == ARGV[4]) then\n"
    "        for i = 1, #fields do out[#out + 1] = h[i] or '' end\n"
    "        n = n + 1\n"
    "      end\n"
    "    end\n"
    "  end\n"
    "end\n"
    "return out\n";

bool ctl_metric_name_valid (const char *name)
{
    size_t n = name ? strlen (name) : 0;
    if (n < 1 || n > CTL_METRIC_NAME_MAX || name[0] == ' ' || name[n - 1] == ' ')
        return false;
    return strspn (name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 _.#/:-") ==
           n;
}

/*  Filter names: 1..512 printable characters but ':' and '*' (as AWS). */
static bool s_filter_name_valid (const char *name)
{
    size_t n = name ? strlen (name) : 0;
    if (n < 1 || n > CTL_FILTER_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)name[i] < 0x20 || name[i] == ':' || name[i] == '*' || name[i] == 0x7f)
            return false;
    return true;
}

/*  Checks the filter of a PutMetricFilter. Returns true, or answers req. */
static bool s_put_valid (ctl_req_t **req_p)
{
    const Porthole__V1__LogsRequest *r = (*req_p)->env->logs;
    char err[PH_ERRTEXT_MAX];
    if (!s_filter_name_valid (r->filter_name)) {
        ctl_req_fail (req_p, CTL_E_INVALID_REQUEST,
                      "porthole: --filter-name must be 1..%d characters, without ':' or '*'",
                      CTL_FILTER_NAME_MAX);
        return false;
    }
    if (r->n_metric_transformations != 1) {
        ctl_req_fail (req_p, CTL_E_INVALID_REQUEST,
                      "porthole: a metric filter has exactly one --metric-transformations (got "
                      "%zu)",
                      r->n_metric_transformations);
        return false;
    }
    const Porthole__V1__MetricTransformation *t = r->metric_transformations[0];
    if (!ctl_metric_name_valid (t->metric_name) || !ctl_metric_name_valid (t->metric_namespace)) {
        ctl_req_fail (req_p, CTL_E_INVALID_REQUEST,
                      "porthole: metricName and metricNamespace must be 1..%d of A-Z a-z 0-9 "
                      "space _ . # / : - (got '%.64s', '%.64s')",
                      CTL_METRIC_NAME_MAX, t->metric_name, t->metric_namespace);
        return false;
    }
    ph_metric_unit_t unit;
    if (*t->unit && ph_metric_unit_parse (t->unit, &unit, err, sizeof err) != 0) {
        ctl_req_fail (req_p, CTL_E_INVALID_REQUEST, "porthole: unit: %s", err);
        return false;
    }
    ph_pattern_t *pat = ph_pattern_new (r->filter_pattern, err, sizeof err);
    if (!pat) {
        ctl_req_fail (req_p, CTL_E_INVALID_REQUEST, "porthole: --filter-pattern: %s", err);
        return false;
    }
    int rc = ph_pattern_check_value (pat, t->metric_value, err, sizeof err);
    ph_pattern_destroy (&pat);
    if (rc != 0) {
        ctl_req_fail (req_p, CTL_E_INVALID_REQUEST, "porthole: metricValue: %s", err);
        return false;
    }
    return true;
}

static void s_on_written (ph_redis_t *redis, ph_reply_t *reply, void *arg)
{
    (void)redis;
    ctl_req_t *req = arg;
    if (!ctl_req_reply_ok (&req, reply))
        return;
    const Porthole__V1__LogsRequest *r = req->env->logs;
    const char *what = ph_reply_str (reply);
    if (what && strcmp (what, "nogroup") == 0)
        ctl_req_fail (&req, CTL_E_RESOURCE_NOT_FOUND,
                      "porthole: log group %s does not exist; create it first (porthole logs "
                      "create-log-group %s)",
                      r->log_group_name, r->log_group_name);
    else if (what && strcmp (what, "limit") == 0)
        ctl_req_fail (&req, CTL_E_INVALID_REQUEST,
                      "porthole: log group %s has %d metric filters already; delete one first",
                      r->log_group_name, CTL_FILTERS_PER_GROUP);
    else if (what && strcmp (what, "missing") == 0)
        ctl_req_fail (&req, CTL_E_RESOURCE_NOT_FOUND,
                      "porthole: log group %s has no metric filter named %.512s; see porthole "
                      "logs describe-metric-filters --log-group-name %s",
                      r->log_group_name, r->filter_name, r->log_group_name);
    else {
        Porthole__V1__LogsReply body = PORTHOLE__V1__LOGS_REPLY__INIT;
        ctl_logs_reply (&req, &body);
    }
}

void ctl_logs_put_metric_filter (ctl_req_t *req)
{
    if (!s_put_valid (&req))
        return;
    const Porthole__V1__LogsRequest *r = req->env->logs;
    const Porthole__V1__MetricTransformation *t = r->metric_transformations[0];
    char dflt[40] = "";
    if (t->has_default_value)
        snprintf (dflt, sizeof dflt, "%.17g", t->default_value);
    int rc = ph_redis_cmd (
        req->ctl->redis, s_on_written, req, "EVAL %s 0 %s %s %s %s %s %s %s %s %llu %d", s_put_lua,
        r->log_group_name, r->filter_name, r->filter_pattern, t->metric_name, t->metric_namespace,
        t->metric_value, dflt, t->unit, (unsigned long long)ph_now_ms (), CTL_FILTERS_PER_GROUP);
    ctl_req_queued (&req, rc);
}

void ctl_logs_delete_metric_filter (ctl_req_t *req)
{
    const Porthole__V1__LogsRequest *r = req->env->logs;
    int rc = ph_redis_cmd (req->ctl->redis, s_on_written, req, "EVAL %s 0 %s %s", s_delete_lua,
                           r->log_group_name, r->filter_name);
    ctl_req_queued (&req, rc);
}

static void s_on_described (ph_redis_t *redis, ph_reply_t *reply, void *arg)
{
    (void)redis;
    ctl_req_t *req = arg;
    if (!ctl_req_reply_ok (&req, reply))
        return;
    size_t n = ph_reply_count (reply) / CTL_FILTER_FIELDS;
    Porthole__V1__MetricFilter *mf = calloc (n + 1, sizeof *mf);
    Porthole__V1__MetricFilter **mfp = calloc (n + 1, sizeof *mfp);
    Porthole__V1__MetricTransformation *mt = calloc (n + 1, sizeof *mt);
    Porthole__V1__MetricTransformation **mtp = calloc (n + 1, sizeof *mtp);
    assert (mf && mfp && mt && mtp);
    for (size_t i = 0; i < n; i++) {
        const char *f[CTL_FILTER_FIELDS];
        for (int k = 0; k < CTL_FILTER_FIELDS; k++) {
            f[k] = ph_reply_str (ph_reply_at (reply, i * CTL_FILTER_FIELDS + k));
            f[k] = f[k] ? f[k] : "";
        }
        Porthole__V1__MetricTransformation t = PORTHOLE__V1__METRIC_TRANSFORMATION__INIT;
        t.metric_name = (char *)f[3];
        t.metric_namespace = (char *)f[4];
        t.metric_value = (char *)f[5];
        t.has_default_value = *f[6] != 0;
        t.default_value = *f[6] ? strtod (f[6], NULL) : 0;
        t.unit = (char *)f[7];
        mt[i] = t;
        mtp[i] = &mt[i];
        Porthole__V1__MetricFilter m = PORTHOLE__V1__METRIC_FILTER__INIT;
        m.filter_name = (char *)f[0];
        m.log_group_name = (char *)f[1];
        m.filter_pattern = (char *)f[2];
        m.n_metric_transformations = 1;
        m.metric_transformations = &mtp[i];
        m.creation_time = strtoull (f[8], NULL, 10);
        mf[i] = m;
        mfp[i] = &mf[i];
    }
    Porthole__V1__LogsReply body = PORTHOLE__V1__LOGS_REPLY__INIT;
    body.metric_filters = mfp;
    body.n_metric_filters = n;
    ctl_logs_reply (&req, &body);
    free (mtp);
    free (mt);
    free (mfp);
    free (mf);
}

void ctl_logs_describe_metric_filters (ctl_req_t *req)
{
    const Porthole__V1__LogsRequest *r = req->env->logs;
    int rc = ph_redis_cmd (req->ctl->redis, s_on_described, req, "EVAL %s 0 %s %s %s %s %d",
                           s_describe_lua, r->log_group_name, r->filter_name_prefix, r->metric_name,
                           r->metric_namespace, CTL_FILTERS_LIST_MAX);
    ctl_req_queued (&req, rc);
}

/* ---- TestMetricFilter -------------------------------------------------------- */

typedef struct {
    Porthole__V1__Tag *tags;
    size_t n, cap;
} s_fields_t;

static void s_add_field (const char *name, const char *value, size_t len, void *arg)
{
    s_fields_t *f = arg;
    if (f->n == f->cap) {
        f->cap = f->cap ? 2 * f->cap : 8;
        f->tags = realloc (f->tags, f->cap * sizeof *f->tags);
        assert (f->tags);
    }
    Porthole__V1__Tag t = PORTHOLE__V1__TAG__INIT;
    t.key = strdup (name);
    t.value = strndup (value, len);
    assert (t.key && t.value);
    f->tags[f->n++] = t;
}

/*  Frees what the matches own (their tags). */
static void s_free_matches (Porthole__V1__MetricFilterMatch *m, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; k < m[i].n_extracted_values; k++) {
            free (m[i].extracted_values[k]->key);
            free (m[i].extracted_values[k]->value);
        }
        if (m[i].n_extracted_values)
            free (m[i].extracted_values[0]); /* the tag array */
        free (m[i].extracted_values);
    }
    free (m);
}

void ctl_logs_test_metric_filter (ctl_req_t *req)
{
    const Porthole__V1__LogsRequest *r = req->env->logs;
    char err[PH_ERRTEXT_MAX];
    if (r->n_log_event_messages < 1 || r->n_log_event_messages > CTL_TEST_MESSAGES_MAX) {
        ctl_req_fail (&req, CTL_E_INVALID_REQUEST,
                      "porthole: test-metric-filter takes 1..%d --log-event-messages (got %zu)",
                      CTL_TEST_MESSAGES_MAX, r->n_log_event_messages);
        return;
    }
    ph_pattern_t *pat = ph_pattern_new (r->filter_pattern, err, sizeof err);
    if (!pat) {
        ctl_req_fail (&req, CTL_E_INVALID_REQUEST, "porthole: --filter-pattern: %s", err);
        return;
    }
    ph_pattern_event_t *ev = ph_pattern_event_new ();
    size_t n = r->n_log_event_messages, found = 0;
    Porthole__V1__MetricFilterMatch *m = calloc (n, sizeof *m);
    Porthole__V1__MetricFilterMatch **mp = calloc (n, sizeof *mp);
    assert (ev && m && mp);
    for (size_t i = 0; i < n; i++) {
        const char *msg = r->log_event_messages[i];
        ph_pattern_event_set (ev, msg, strlen (msg));
        if (!ph_pattern_match (pat, ev))
            continue;
        s_fields_t f = {0};
        ph_pattern_fields (pat, ev, s_add_field, &f);
        Porthole__V1__MetricFilterMatch x = PORTHOLE__V1__METRIC_FILTER_MATCH__INIT;
        x.event_number = (uint32_t)(i + 1);
        x.event_message = (char *)msg;
        x.n_extracted_values = f.n;
        x.extracted_values = f.n ? calloc (f.n, sizeof *x.extracted_values) : NULL;
        for (size_t k = 0; k < f.n; k++)
            x.extracted_values[k] = &f.tags[k];
        if (!f.n)
            free (f.tags);
        m[found] = x;
        mp[found] = &m[found];
        found++;
    }
    Porthole__V1__LogsReply body = PORTHOLE__V1__LOGS_REPLY__INIT;
    body.matches = mp;
    body.n_matches = found;
    ctl_logs_reply (&req, &body);
    s_free_matches (m, found);
    free (mp);
    ph_pattern_event_destroy (&ev);
    ph_pattern_destroy (&pat);
}
