/*  ctl_logs: LogsRequest, the users' API on log groups and streams
 *  (docs/architecture.md "Session logs"). The controller serves the reads
 *  and the metadata ops; logshippers do the appends.
 *
 *  Ops and their actions (on loggroup/G, DescribeLogGroups on "*"):
 *    CreateLogGroup, DeleteLogGroup, DescribeLogGroups, PutRetentionPolicy,
 *    DescribeLogStreams here; GetLogEvents, FilterLogEvents in
 *    ctl_logs_read.c; PutMetricFilter, DescribeMetricFilters (on the
 *    group when one is named, else "*"), DeleteMetricFilter and
 *    TestMetricFilter ("*") in ctl_logs_filters.c. Each is one Lua script
 *    (check and write atomic).
 *  Redis: ph:loggroup:{G} hash, ph:loggroups set, ph:logstreams:{G} zset by
 *  last event time, ph:logstream:{G}:{S} hash, ph:logs:{G}:{S} stream.
 */
#include "ctl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CTL_RETENTION_MAX_DAYS 3653

/*  ARGV: group, now ms, retention days. */
static const char s_create_lua[] =
    "local k = 'ph:loggroup:{' .. ARGV[1] .. '}'\n"
    "if redis.call('EXISTS', k) == 1 then return 'exists' end\n"
    "redis.call('HSET', k, 'name', ARGV[1], 'created_ms', ARGV[2], 'retention_days', ARGV[3],\n"
    "           'stored_bytes', '0')\n"
    "redis.call('SADD', 'ph:loggroups', ARGV[1])\n"
    "return 'ok'\n";

/*  ARGV: group. Deletes the group, its streams and their events, and its
 *  metric filters. */
static const char s_delete_lua[] =
    "local g = ARGV[1]\n"
    "local k = 'ph:loggroup:{' .. g .. '}'\n"
    "if redis.call('EXISTS', k) == 0 then return 'missing' end\n"
    "for _, s in ipairs(redis.call('ZRANGE', 'ph:logstreams:{' .. g .. '}', 0, -1)) do\n"
    "  redis.call('DEL', 'ph:logs:{' .. g .. '}:' .. s, 'ph:logstream:{' .. g .. '}:' .. s)\n"
    "end\n"
    "redis.call('DEL', k, 'ph:logstreams:{' .. g .. '}')\n"
    "redis.call('SREM', 'ph:loggroups', g)\n"
    "local mf = 'ph:metricfilters:{' .. g .. '}'\n"
    "for _, f in ipairs(redis.call('SMEMBERS', mf)) do\n"
    "  redis.call('DEL', 'ph:metricfilter:{' .. g .. '}:' .. f)\n"
    "end\n"
    "if redis.call('DEL', mf) == 1 then\n"
    "  redis.call('SREM', 'ph:metricfilter:groups', g)\n"
    "  redis.call('INCR', 'ph:metricfilters:version')\n"
    "end\n"
    "return 'ok'\n";

/*  ARGV: group, retention days. */
static const char s_retention_lua[] = "local k = 'ph:loggroup:{' .. ARGV[1] .. '}'\n"
                                      "if redis.call('EXISTS', k) == 0 then return 'missing' end\n"
                                      "redis.call('HSET', k, 'retention_days', ARGV[2])\n"
                                      "return 'ok'\n";

/*  ARGV: prefix, max. Flat [name, created, retention, bytes, ...] sorted. */
static const char s_groups_lua[] =
    "local names = redis.call('SMEMBERS', 'ph:loggroups')\n"
    "table.sort(names)\n"
    "local out = {}\n"
    "local p, max = ARGV[1], tonumber(ARGV[2])\n"
    "for _, g in ipairs(names) do\n"
    "  if string.sub(g, 1, #p) == p and #out < 4 * max then\n"
    "    local h = redis.call('HMGET', 'ph:loggroup:{' .. g .. '}', 'created_ms',\n"
    "                         'retention_days', 'stored_bytes')\n"
    "    if h[1] then\n"
    "      out[#out + 1] = g\n"
    "      out[#out + 1] = h[1]\n"
    "      out[#out + 1] = h[2] or '0'\n"
    "      out[#out + 1] = h[3] or '0'\n"
    "    end\n"
    "  end\n"
    "end\n"
    "return out\n";

/*  ARGV: group, order (name|time), descending 1|0, max.
 *  Returns 'missing' or flat [name, created, first, last, bytes, ...]. */
static const char s_streams_lua[] =
    "local g = ARGV[1]\n"
    "if redis.call('EXISTS', 'ph:loggroup:{' .. g .. '}') == 0 then return 'missing' end\n"
    "local names = redis.call('ZRANGE', 'ph:logstreams:{' .. g .. '}', 0, -1)\n"
    "if ARGV[2] == 'name' then table.sort(names) end\n"
    "local out = {}\n"
    "local n, max = #names, tonumber(ARGV[4])\n"
    "for i = 1, n do\n"
    "  local s = names[i]\n"
    "  if ARGV[3] == '1' then s = names[n + 1 - i] end\n"
    "  if #out >= 5 * max then break end\n"
    "  local h = redis.call('HMGET', 'ph:logstream:{' .. g .. '}:' .. s, 'created_ms',\n"
    "                       'first_ts', 'last_ts', 'stored_bytes')\n"
    "  out[#out + 1] = s\n"
    "  out[#out + 1] = h[1] or '0'\n"
    "  out[#out + 1] = h[2] or '0'\n"
    "  out[#out + 1] = h[3] or '0'\n"
    "  out[#out + 1] = h[4] or '0'\n"
    "end\n"
    "return out\n";

bool ctl_logs_name_valid (const char *name)
{
    return ph_log_name_valid (name);
}

void ctl_logs_reply (ctl_req_t **req_p, Porthole__V1__LogsReply *body)
{
    body->op = (*req_p)->env->logs->op;
    ph_env_t env = PH_ENV_INIT;
    env.body_case = PORTHOLE__V1__ENVELOPE__BODY_LOGS_REPLY;
    env.logs_reply = body;
    ctl_req_reply (req_p, &env);
}

static uint64_t s_u64 (const ph_reply_t *r)
{
    const char *s = ph_reply_str (r);
    return s ? strtoull (s, NULL, 10) : 0;
}

/*  A simple status script ('ok', 'exists', 'missing'): answers req. */
static void s_on_status (ph_redis_t *redis, ph_reply_t *reply, void *arg)
{
    (void)redis;
    ctl_req_t *req = arg;
    if (!ctl_req_reply_ok (&req, reply))
        return;
    const char *what = ph_reply_str (reply);
    const char *g = req->env->logs->log_group_name;
    if (what && strcmp (what, "exists") == 0)
        ctl_req_fail (&req, CTL_E_RESOURCE_ALREADY_EXISTS,
                      "porthole: log group %s already exists; use it, or delete it first", g);
    else if (what && strcmp (what, "missing") == 0)
        ctl_req_fail (&req, CTL_E_RESOURCE_NOT_FOUND,
                      "porthole: log group %s does not exist; see porthole logs "
                      "describe-log-groups",
                      g);
    else {
        Porthole__V1__LogsReply body = PORTHOLE__V1__LOGS_REPLY__INIT;
        ctl_logs_reply (&req, &body);
    }
}

static void s_create (ctl_req_t *req)
{
    const Porthole__V1__LogsRequest *r = req->env->logs;
    int rc =
        ph_redis_cmd (req->ctl->redis, s_on_status, req, "EVAL %s 0 %s %llu %u", s_create_lua,
                      r->log_group_name, (unsigned long long)ph_now_ms (), r->retention_in_days);
    ctl_req_queued (&req, rc);
}

static void s_delete (ctl_req_t *req)
{
    int rc = ph_redis_cmd (req->ctl->redis, s_on_status, req, "EVAL %s 0 %s", s_delete_lua,
                           req->env->logs->log_group_name);
    ctl_req_queued (&req, rc);
}

static void s_put_retention (ctl_req_t *req)
{
    const Porthole__V1__LogsRequest *r = req->env->logs;
    int rc = ph_redis_cmd (req->ctl->redis, s_on_status, req, "EVAL %s 0 %s %u", s_retention_lua,
                           r->log_group_name, r->retention_in_days);
    ctl_req_queued (&req, rc);
}

static void s_on_groups (ph_redis_t *redis, ph_reply_t *reply, void *arg)
{
    (void)redis;
    ctl_req_t *req = arg;
    if (!ctl_req_reply_ok (&req, reply))
        return;
    size_t n = ph_reply_count (reply) / 4;
    Porthole__V1__LogGroup *groups = calloc (n + 1, sizeof *groups);
    Porthole__V1__LogGroup **ptrs = calloc (n + 1, sizeof *ptrs);
    assert (groups && ptrs);
    for (size_t i = 0; i < n; i++) {
        Porthole__V1__LogGroup init = PORTHOLE__V1__LOG_GROUP__INIT;
        groups[i] = init;
        groups[i].log_group_name = (char *)ph_reply_str (ph_reply_at (reply, 4 * i));
        groups[i].creation_time = s_u64 (ph_reply_at (reply, 4 * i + 1));
        groups[i].retention_in_days = (uint32_t)s_u64 (ph_reply_at (reply, 4 * i + 2));
        groups[i].stored_bytes = s_u64 (ph_reply_at (reply, 4 * i + 3));
        ptrs[i] = &groups[i];
    }
    Porthole__V1__LogsReply body = PORTHOLE__V1__LOGS_REPLY__INIT;
    body.log_groups = ptrs;
    body.n_log_groups = n;
    ctl_logs_reply (&req, &body);
    free (ptrs);
    free (groups);
}

static uint32_t s_limit (const Porthole__V1__LogsRequest *r)
{
    return r->limit == 0 || r->limit > CTL_LOGS_LIMIT_MAX ? CTL_LOGS_LIMIT_DEFAULT : r->limit;
}

static void s_describe_groups (ctl_req_t *req)
{
    const Porthole__V1__LogsRequest *r = req->env->logs;
    int rc = ph_redis_cmd (req->ctl->redis, s_on_groups, req, "EVAL %s 0 %s %u", s_groups_lua,
                           r->log_group_name_prefix, s_limit (r));
    ctl_req_queued (&req, rc);
}

static void s_on_streams (ph_redis_t *redis, ph_reply_t *reply, void *arg)
{
    (void)redis;
    ctl_req_t *req = arg;
    if (!ctl_req_reply_ok (&req, reply))
        return;
    if (!ph_reply_is_array (reply)) {
        s_on_status (redis, reply, req); /* 'missing' */
        return;
    }
    size_t n = ph_reply_count (reply) / 5;
    Porthole__V1__LogStream *streams = calloc (n + 1, sizeof *streams);
    Porthole__V1__LogStream **ptrs = calloc (n + 1, sizeof *ptrs);
    assert (streams && ptrs);
    for (size_t i = 0; i < n; i++) {
        Porthole__V1__LogStream init = PORTHOLE__V1__LOG_STREAM__INIT;
        streams[i] = init;
        streams[i].log_stream_name = (char *)ph_reply_str (ph_reply_at (reply, 5 * i));
        streams[i].creation_time = s_u64 (ph_reply_at (reply, 5 * i + 1));
        streams[i].first_event_timestamp = s_u64 (ph_reply_at (reply, 5 * i + 2));
        streams[i].last_event_timestamp = s_u64 (ph_reply_at (reply, 5 * i + 3));
        streams[i].stored_bytes = s_u64 (ph_reply_at (reply, 5 * i + 4));
        ptrs[i] = &streams[i];
    }
    Porthole__V1__LogsReply body = PORTHOLE__V1__LOGS_REPLY__INIT;
    body.log_streams = ptrs;
    body.n_log_streams = n;
    ctl_logs_reply (&req, &body);
    free (ptrs);
    free (streams);
}

static void s_describe_streams (ctl_req_t *req)
{
    const Porthole__V1__LogsRequest *r = req->env->logs;
    const char *order = r->order_by && *r->order_by ? r->order_by : "LogStreamName";
    if (strcmp (order, "LogStreamName") && strcmp (order, "LastEventTime")) {
        ctl_req_fail (&req, CTL_E_INVALID_REQUEST,
                      "porthole: --order-by must be LogStreamName or LastEventTime (got '%.64s')",
                      order);
        return;
    }
    int rc =
        ph_redis_cmd (req->ctl->redis, s_on_streams, req, "EVAL %s 0 %s %s %s %u", s_streams_lua,
                      r->log_group_name, strcmp (order, "LogStreamName") == 0 ? "name" : "time",
                      r->descending ? "1" : "0", s_limit (r));
    ctl_req_queued (&req, rc);
}

/* ---- dispatch -------------------------------------------------------------- */

/*  What an op acts on: every op but these needs log_group_name and its
 *  resource is loggroup/G. */
typedef enum {
    S_ON_GROUP,        /* loggroup/G, G required */
    S_ON_ALL,          /* "*" */
    S_ON_GROUP_OR_ALL, /* loggroup/G when G is given, else "*" */
} s_on_t;

static const ctl_op_t s_ops[] = {
    {"CreateLogGroup", S_ON_GROUP, s_create},
    {"DeleteLogGroup", S_ON_GROUP, s_delete},
    {"DescribeLogGroups", S_ON_ALL, s_describe_groups},
    {"PutRetentionPolicy", S_ON_GROUP, s_put_retention},
    {"DescribeLogStreams", S_ON_GROUP, s_describe_streams},
    {"GetLogEvents", S_ON_GROUP, ctl_logs_get_events},
    {"FilterLogEvents", S_ON_GROUP, ctl_logs_filter_events},
    {"PutMetricFilter", S_ON_GROUP, ctl_logs_put_metric_filter},
    {"DescribeMetricFilters", S_ON_GROUP_OR_ALL, ctl_logs_describe_metric_filters},
    {"DeleteMetricFilter", S_ON_GROUP, ctl_logs_delete_metric_filter},
    {"TestMetricFilter", S_ON_ALL, ctl_logs_test_metric_filter},
};

void ctl_logs_request (ctl_req_t *req)
{
    const Porthole__V1__LogsRequest *r = req->env->logs;
    const ctl_op_t *op = ctl_op_find (s_ops, sizeof s_ops / sizeof s_ops[0], r->op);
    if (!op) {
        ctl_req_fail (&req, CTL_E_INVALID_REQUEST,
                      "porthole: '%.64s' is not a logs operation; is your porthole CLI the same "
                      "version as the controller?",
                      r->op);
        return;
    }
    bool named = op->on == S_ON_GROUP ||
                 (op->on == S_ON_GROUP_OR_ALL && r->log_group_name && *r->log_group_name);
    if (named && !ctl_logs_name_valid (r->log_group_name)) {
        ctl_req_fail (&req, CTL_E_INVALID_REQUEST,
                      "porthole: %s needs a log group name of 1..%d characters A-Z a-z 0-9 _ . "
                      "- / # (got '%.64s')",
                      op->op, CTL_LOGS_NAME_MAX, r->log_group_name);
        return;
    }
    if (r->retention_in_days > CTL_RETENTION_MAX_DAYS) {
        ctl_req_fail (&req, CTL_E_INVALID_REQUEST,
                      "porthole: --retention-in-days must be 0 (never expire) .. %d (got %u)",
                      CTL_RETENTION_MAX_DAYS, r->retention_in_days);
        return;
    }
    char action[CTL_ACTION_MAX], resource[CTL_RESOURCE_MAX] = "*";
    snprintf (action, sizeof action, "logs:%s", op->op);
    if (named)
        snprintf (resource, sizeof resource, "loggroup/%.180s", r->log_group_name);
    if (!ctl_req_authorize (&req, action, resource, NULL))
        return;
    op->fn (req);
}
