/*  ls_alarms: alarm evaluation and alarm actions (issue 4).
 *
 *  One logshipper at a time does this: the holder of the lease
 *  ph:alarms:leader (5 s, renewed every tick; another logshipper takes over
 *  when it lapses). Every housekeeping tick (1 s) the leader
 *
 *  1. evaluates every alarm (ph:alarms; the definitions are written by the
 *     controller, controller/ctl_alarms.c): one script returns each alarm's
 *     settings and state with the metric buckets of its evaluation range;
 *     the datapoints are made here (ph_metric_aggregate) and judged by
 *     ph_alarm_evaluate over the complete periods (now - LS_ALARM_SETTLE_S,
 *     so that events still on their way count). A breach can be seen
 *     earlier: when the statistic only grows as samples arrive (Sum,
 *     SampleCount, Maximum with a greater-than operator; Minimum with a
 *     less-than one), the period still filling is evaluated too, and ALARM
 *     is declared as soon as it breaches: a `sudo` typed now raises the
 *     alarm now, not when its period ends. Leaving ALARM needs complete
 *     periods. A change is written by one script that checks the state did
 *     not move meanwhile (set-alarm-state): ph:alarm:{A} state_*, a
 *     StateUpdate history item, and a ph:alarm:transitions entry;
 *
 *  2. runs the actions of new transitions (ph:alarm:transitions after the
 *     cursor ph:alarm:transitions:cursor, which is moved in the same script,
 *     so each transition's actions run once): for the new state's action
 *     list, when actions are enabled, `topic:NAME` appends a notification
 *     (CloudWatch's SNS message shape, JSON) to ph:topic:{NAME}:messages;
 *     `instance:stop|reboot|end-sessions[:mi-…]` is handed to the controller
 *     of the instance (ph:instance:{ID} controller) on the channel
 *     ph:ctl:{CID} and its result comes back in the history. Each action is
 *     an Action history item, success or failure.
 */
#include "ls.h"
#include "ph_alarm.h"
#include "ph_metric.h"

#include <stdio.h>
#include <string.h>

#define LS_ALARM_LEASE_MS     5000
#define LS_ALARM_SETTLE_S     2
#define LS_ALARM_FIELDS       12
#define LS_ALARM_HISTORY_DAYS 14
#define LS_ALARM_ACTIONS_MAX  100 /* transitions per round */

/*  KEYS: lease; ARGV: lid, ms. 1 when this logshipper holds the lease. */
static const char s_lease_lua[] = "local cur = redis.call('GET', KEYS[1])\n"
                                  "if cur and cur ~= ARGV[1] then return 0 end\n"
                                  "redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])\n"
                                  "return 1\n";

/*  ARGV: now s. Returns {name, {settings...}, flat [t, bucket, ...]} per
 *  alarm, the buckets of [start of range, now] (the period still filling
 *  included). */
static const char s_load_lua[] =
    "local now = tonumber(ARGV[1])\n"
    "local out = {}\n"
    "local names = redis.call('SMEMBERS', 'ph:alarms')\n"
    "table.sort(names)\n"
    "for _, name in ipairs(names) do\n"
    "  local h = redis.call('HMGET', 'ph:alarm:{' .. name .. '}', 'namespace', 'metric_name',\n"
    "    'statistic', 'period', 'evaluation_periods', 'datapoints_to_alarm', 'threshold',\n"
    "    'comparison_operator', 'treat_missing_data', 'state_value', 'state_reason',\n"
    "    'alarm_name')\n"
    "  local p, n = tonumber(h[4] or ''), tonumber(h[5] or '')\n"
    "  if h[1] and h[2] and p and n and p > 0 then\n"
    "    for i = 1, 12 do h[i] = h[i] or '' end\n"
    "    local st = now - now % p - (n + 2) * p\n"
    "    local m = h[1] .. '|' .. h[2]\n"
    "    local kind, step, mul = 's', 3600, 1\n"
    "    if p % 60 == 0 then kind, step, mul = 'm', 86400, 60 end\n"
    "    local b = {}\n"
    "    for t = st - st % step, now, step do\n"
    "      local hh = redis.call('HGETALL', 'ph:metric:{' .. m .. '}:' .. kind .. ':' .. t)\n"
    "      for i = 1, #hh, 2 do\n"
    "        local ts = t + tonumber(hh[i]) * mul\n"
    "        if ts >= st and ts <= now then b[#b + 1] = tostring(ts); b[#b + 1] = hh[i + 1] end\n"
    "      end\n"
    "    end\n"
    "    out[#out + 1] = {name, h, b}\n"
    "  end\n"
    "end\n"
    "return out\n";

/*  ARGV: name, expected state, new state, reason, reason data, now ms,
 *  history min id. Returns 1, or 0 when the state moved meanwhile. */
static const char s_set_lua[] =
    "local k = 'ph:alarm:{' .. ARGV[1] .. '}'\n"
    "if redis.call('HGET', k, 'state_value') ~= ARGV[2] then return 0 end\n"
    "local old_reason = redis.call('HGET', k, 'state_reason') or ''\n"
    "redis.call('HSET', k, 'state_value', ARGV[3], 'state_reason', ARGV[4],\n"
    "           'state_reason_data', ARGV[5], 'state_updated_ms', ARGV[6])\n"
    "local data = cjson.encode({version = '1.0',\n"
    "  oldState = {stateValue = ARGV[2], stateReason = old_reason},\n"
    "  newState = {stateValue = ARGV[3], stateReason = ARGV[4]}})\n"
    "local hist = k .. ':history'\n"
    "redis.call('XADD', hist, '*', 'ts', ARGV[6], 'type', 'StateUpdate', 'summary',\n"
    "           'Alarm updated from ' .. ARGV[2] .. ' to ' .. ARGV[3], 'data', data)\n"
    "redis.call('XTRIM', hist, 'MINID', ARGV[7])\n"
    "redis.call('XADD', 'ph:alarm:transitions', 'MAXLEN', '~', '10000', '*', 'alarm', ARGV[1],\n"
    "           'old', ARGV[2], 'new', ARGV[3], 'reason', ARGV[4], 'ts', ARGV[6])\n"
    "return 1\n";

/*  ARGV: now ms, max, history min id. Runs the actions of the transitions
 *  after the cursor: topic notifications here; instance actions are
 *  returned for the caller to hand over. Returns flat [alarm, action,
 *  transition time ms, ...]. */
static const char s_actions_lua[] =
    "local cur = redis.call('GET', 'ph:alarm:transitions:cursor') or '0-0'\n"
    "local trs = redis.call('XRANGE', 'ph:alarm:transitions', '(' .. cur, '+', 'COUNT', ARGV[2])\n"
    "local handover = {}\n"
    "local lists = {OK = 'ok_actions', ALARM = 'alarm_actions',\n"
    "               INSUFFICIENT_DATA = 'insufficient_data_actions'}\n"
    "for _, e in ipairs(trs) do\n"
    "  cur = e[1]\n"
    "  local t = {}\n"
    "  for i = 1, #e[2], 2 do t[e[2][i]] = e[2][i + 1] end\n"
    "  local k = 'ph:alarm:{' .. (t.alarm or '') .. '}'\n"
    "  local a = redis.call('HGETALL', k)\n"
    "  local h = {}\n"
    "  for i = 1, #a, 2 do h[a[i]] = a[i + 1] end\n"
    "  local field = lists[t.new or '']\n"
    "  if h.alarm_name and h.actions_enabled ~= '0' and field and h[field] and h[field] ~= '' "
    "then\n"
    "    for action in string.gmatch(h[field], '[^\\n]+') do\n"
    "      local ok, summary = true, ''\n"
    "      local topic = string.match(action, '^topic:(.+)$')\n"
    "      if topic then\n"
    "        if redis.call('EXISTS', 'ph:topic:{' .. topic .. '}') == 1 then\n"
    "          local msg = cjson.encode({AlarmName = h.alarm_name,\n"
    "            AlarmDescription = h.alarm_description or '',\n"
    "            NewStateValue = t.new, OldStateValue = t.old, NewStateReason = t.reason,\n"
    "            StateChangeTime = t.ts, Trigger = {MetricName = h.metric_name,\n"
    "              Namespace = h.namespace, Statistic = h.statistic,\n"
    "              Period = tonumber(h.period), EvaluationPeriods = "
    "tonumber(h.evaluation_periods),\n"
    "              ComparisonOperator = h.comparison_operator,\n"
    "              Threshold = tonumber(h.threshold)}})\n"
    "          redis.call('XADD', 'ph:topic:{' .. topic .. '}:messages', 'MAXLEN', '~', '1000',\n"
    "                     '*', 'ts', ARGV[1], 'subject', t.new .. ': \"' .. h.alarm_name ..\n"
    "                     '\"', 'message', msg)\n"
    "          summary = 'Successfully executed action ' .. action\n"
    "        else\n"
    "          ok, summary = false, 'Failed to execute action ' .. action ..\n"
    "                        ': the topic does not exist'\n"
    "        end\n"
    "      elseif string.match(action, '^instance:') then\n"
    "        handover[#handover + 1] = h.alarm_name\n"
    "        handover[#handover + 1] = action\n"
    "        handover[#handover + 1] = t.ts\n"
    "        summary = nil\n"
    "      else\n"
    "        ok, summary = false, 'Failed to execute action ' .. action .. ': unknown action'\n"
    "      end\n"
    "      if summary then\n"
    "        redis.call('XADD', k .. ':history', '*', 'ts', ARGV[1], 'type', 'Action',\n"
    "                   'summary', summary, 'data', cjson.encode({actionState = ok and\n"
    "                   'Succeeded' or 'Failed', stateUpdateTimestamp = t.ts,\n"
    "                   notificationResource = action}))\n"
    "        redis.call('XTRIM', k .. ':history', 'MINID', ARGV[3])\n"
    "      end\n"
    "    end\n"
    "  end\n"
    "end\n"
    "redis.call('SET', 'ph:alarm:transitions:cursor', cur)\n"
    "return handover\n";

struct _ls_alarms_t {
    ls_t *ls;
    bool leader;
    bool busy; /* a round in flight */
    uint64_t evaluations, changes;
};

bool ls_alarms_leader (const ls_alarms_t *self)
{
    return self && self->leader;
}

ls_alarms_t *ls_alarms_new (ls_t *ls)
{
    ls_alarms_t *self = calloc (1, sizeof *self);
    assert (self);
    self->ls = ls;
    return self;
}

void ls_alarms_destroy (ls_alarms_t **self_p)
{
    free (*self_p);
    *self_p = NULL;
}

static void s_history_min_id (char *buf, size_t len)
{
    snprintf (buf, len, "%llu-0",
              (unsigned long long)(ph_now_ms () - (uint64_t)LS_ALARM_HISTORY_DAYS * 86400000));
}

/* ---- evaluation -------------------------------------------------------------- */

/*  The config of an alarm from the load script's settings, or false. */
static bool s_config (const char *name, const ph_reply_t *h, ph_alarm_config_t *c)
{
    static const struct {
        int at;
        const char *key;
    } map[] = {{2, "Statistic"},         {3, "Period"},    {4, "EvaluationPeriods"},
               {5, "DatapointsToAlarm"}, {6, "Threshold"}, {7, "ComparisonOperator"},
               {8, "TreatMissingData"}};
    char err[PH_ALARM_ERR_MAX];
    ph_alarm_config_init (c);
    int rc = ph_alarm_config_set (c, "AlarmName", name, err, sizeof err);
    for (size_t i = 0; rc == 0 && i < sizeof map / sizeof map[0]; i++) {
        const char *v = ph_reply_str (ph_reply_at (h, (size_t)map[i].at));
        if (v && *v && !(map[i].at == 5 && strcmp (v, "0") == 0))
            rc = ph_alarm_config_set (c, map[i].key, v, err, sizeof err);
    }
    if (rc == 0)
        rc = ph_alarm_config_validate (c, err, sizeof err);
    if (rc != 0)
        ph_warn ("alarm %s is not evaluated: %s", name, err);
    return rc == 0;
}

/*  True when the statistic can only move towards a breach as samples
 *  arrive in a period, so that a period still filling that breaches
 *  already will breach when complete. */
static bool s_breach_is_final (const ph_alarm_config_t *c)
{
    bool up = c->comparison == PH_ALARM_GE || c->comparison == PH_ALARM_GT;
    switch (c->statistic) {
    case PH_METRIC_STAT_SUM:
        return up && c->threshold >= 0; /* samples of filters are counts, mostly >= 0 */
    case PH_METRIC_STAT_SAMPLE_COUNT:
    case PH_METRIC_STAT_MAXIMUM:
        return up;
    case PH_METRIC_STAT_MINIMUM:
        return !up;
    default:
        return false;
    }
}

static void s_on_set (ph_redis_t *redis, ph_reply_t *reply, void *arg)
{
    (void)redis;
    (void)arg;
    if (!ph_reply_ok (reply))
        ph_warn ("alarm state change not written (%s); evaluated again next second",
                 reply ? ph_reply_str (reply) : "connection lost");
}

static void s_write_change (ls_alarms_t *self, const char *name, const char *old,
                            const ph_alarm_result_t *r)
{
    char now[24], minid[32], data[128];
    snprintf (now, sizeof now, "%llu", (unsigned long long)ph_now_ms ());
    s_history_min_id (minid, sizeof minid);
    snprintf (data, sizeof data,
              "{\"version\":\"1.0\",\"queryDate\":%s,\"evaluatedDatapoints\":%u}", now,
              r->evaluated + r->filled);
    const char *argv[] = {"EVAL",    s_set_lua, "0", name, old, ph_alarm_state_name (r->state),
                          r->reason, data,      now, minid};
    size_t len[sizeof argv / sizeof argv[0]];
    for (size_t i = 0; i < sizeof argv / sizeof argv[0]; i++)
        len[i] = strlen (argv[i]);
    ph_redis_cmdargv (self->ls->redis, s_on_set, self, (int)(sizeof argv / sizeof argv[0]), argv,
                      len);
    self->changes++;
    ph_info ("alarm %s: %s -> %s: %s", name, old, ph_alarm_state_name (r->state), r->reason);
}

/*  Evaluates one alarm of the load script's answer. */
static void s_evaluate_one (ls_alarms_t *self, const ph_reply_t *a, int64_t now_s)
{
    const char *name = ph_reply_str (ph_reply_at (a, 0));
    const ph_reply_t *h = ph_reply_at (a, 1), *flat = ph_reply_at (a, 2);
    const char *state_text = ph_reply_str (ph_reply_at (h, 9));
    ph_alarm_config_t c;
    ph_alarm_state_t current;
    if (!name || !state_text || ph_alarm_state_parse (state_text, &current) != 0 ||
        !s_config (name, h, &c))
        return;
    size_t nb = ph_reply_count (flat) / 2, n = 0, nd = 0;
    ph_metric_bucket_t *b = calloc (nb + 1, sizeof *b);
    ph_metric_datapoint_t *dp = calloc (PH_METRIC_DATAPOINTS_MAX, sizeof *dp);
    assert (b && dp);
    for (size_t i = 0; i < nb; i++) {
        const char *t = ph_reply_str (ph_reply_at (flat, 2 * i));
        const char *v = ph_reply_str (ph_reply_at (flat, 2 * i + 1));
        if (t && v && ph_metric_bucket_parse (v, strlen (v), strtoll (t, NULL, 10), &b[n]) == 0)
            n++;
    }
    ph_alarm_result_t r, early;
    int64_t settled = now_s - LS_ALARM_SETTLE_S, start, end;
    ph_alarm_range (&c, settled, &start, &end);
    int64_t upto = ph_metric_align (now_s, c.period_s) + c.period_s; /* the filling one too */
    bool ok = ph_metric_aggregate (b, n, start, upto, c.period_s, dp, PH_METRIC_DATAPOINTS_MAX,
                                   &nd) == 0 &&
              ph_alarm_evaluate (&c, current, settled, dp, nd, &r) == 0;
    if (ok && r.state != PH_ALARM_ALARM && s_breach_is_final (&c) &&
        ph_alarm_evaluate (&c, current, upto, dp, nd, &early) == 0 && early.state == PH_ALARM_ALARM)
        r = early;
    self->evaluations++;
    if (ok && r.changed && !r.kept)
        s_write_change (self, name, state_text, &r);
    free (dp);
    free (b);
}

/* ---- actions --------------------------------------------------------------- */

/*  ARGV: alarm, action, verb (stop | reboot | end-sessions), instance ('' =
 *  the last instance whose events fed the alarm's metric), now ms, history
 *  min id. Publishes "alarm\naction\nverb\ninstance" on the channel of the
 *  controller that holds the instance; a failure is an Action history item
 *  here, a success is recorded when the controller reports the agent's
 *  result. Returns the instance, or the failure. */
static const char s_instance_lua[] =
    "local k = 'ph:alarm:{' .. ARGV[1] .. '}'\n"
    "local function fail(why)\n"
    "  redis.call('XADD', k .. ':history', '*', 'ts', ARGV[5], 'type', 'Action', 'summary',\n"
    "             'Failed to execute action ' .. ARGV[2] .. ': ' .. why, 'data',\n"
    "             cjson.encode({actionState = 'Failed', notificationResource = ARGV[2]}))\n"
    "  redis.call('XTRIM', k .. ':history', 'MINID', ARGV[6])\n"
    "  return 'failed: ' .. why\n"
    "end\n"
    "local iid = ARGV[4]\n"
    "if iid == '' then\n"
    "  local h = redis.call('HMGET', k, 'namespace', 'metric_name')\n"
    "  if h[1] and h[2] then\n"
    "    iid = redis.call('HGET', 'ph:metric:{' .. h[1] .. '|' .. h[2] .. '}',\n"
    "                     'last_instance') or ''\n"
    "  end\n"
    "  if iid == '' then return fail('no instance fed the metric; name one (' ..\n"
    "                                ARGV[2] .. ':mi-...)') end\n"
    "end\n"
    "local ctl = redis.call('HGET', 'ph:instance:{' .. iid .. '}', 'controller')\n"
    "if not ctl then return fail('instance ' .. iid .. ' is not registered') end\n"
    "local n = redis.call('PUBLISH', 'ph:ctl:{' .. ctl .. '}', 'instance-action\\n' ..\n"
    "                     ARGV[1] .. '\\n' .. ARGV[2] .. '\\n' .. ARGV[3] .. '\\n' .. iid)\n"
    "if n == 0 then return fail('the controller of ' .. iid .. ' is not running') end\n"
    "return iid\n";

static void s_on_instance_action (ph_redis_t *redis, ph_reply_t *reply, void *arg)
{
    (void)redis;
    (void)arg;
    const char *r = ph_reply_str (reply);
    if (!r)
        ph_warn ("alarm instance action: no answer from Redis");
    else if (strncmp (r, "failed: ", 8) == 0)
        ph_warn ("alarm instance action %s", r);
    else
        ph_info ("alarm instance action handed to the controller of %s", r);
}

void ls_alarms_instance_action (ls_t *ls, const char *alarm, const char *action)
{
    char verb[32] = "", iid[32] = "", now[24], minid[32];
    const char *rest = action + strlen ("instance:");
    const char *colon = strchr (rest, ':');
    size_t vlen = colon ? (size_t)(colon - rest) : strlen (rest);
    snprintf (verb, sizeof verb, "%.*s", (int)(vlen < sizeof verb ? vlen : 0), rest);
    if (colon)
        snprintf (iid, sizeof iid, "%s", colon + 1);
    snprintf (now, sizeof now, "%llu", (unsigned long long)ph_now_ms ());
    s_history_min_id (minid, sizeof minid);
    const char *argv[] = {"EVAL", s_instance_lua, "0", alarm, action, verb, iid, now, minid};
    size_t len[sizeof argv / sizeof argv[0]];
    for (size_t i = 0; i < sizeof argv / sizeof argv[0]; i++)
        len[i] = strlen (argv[i]);
    ph_redis_cmdargv (ls->redis, s_on_instance_action, NULL, (int)(sizeof argv / sizeof argv[0]),
                      argv, len);
}

static void s_on_actions (ph_redis_t *redis, ph_reply_t *reply, void *arg)
{
    (void)redis;
    ls_alarms_t *self = arg;
    self->busy = false;
    if (!ph_reply_is_array (reply)) {
        if (reply)
            ph_warn ("alarm actions failed: %s", ph_reply_str (reply));
        return;
    }
    for (size_t i = 0; i + 3 <= ph_reply_count (reply); i += 3) {
        const char *alarm = ph_reply_str (ph_reply_at (reply, i));
        const char *action = ph_reply_str (ph_reply_at (reply, i + 1));
        if (alarm && action)
            ls_alarms_instance_action (self->ls, alarm, action);
    }
}

static void s_run_actions (ls_alarms_t *self)
{
    char now[24], max[16], minid[32];
    snprintf (now, sizeof now, "%llu", (unsigned long long)ph_now_ms ());
    snprintf (max, sizeof max, "%d", LS_ALARM_ACTIONS_MAX);
    s_history_min_id (minid, sizeof minid);
    self->busy = true;
    if (ph_redis_cmd (self->ls->redis, s_on_actions, self, "EVAL %s 0 %s %s %s", s_actions_lua, now,
                      max, minid) != 0)
        self->busy = false;
}

static void s_on_loaded (ph_redis_t *redis, ph_reply_t *reply, void *arg)
{
    (void)redis;
    ls_alarms_t *self = arg;
    self->busy = false;
    if (!ph_reply_is_array (reply)) {
        if (reply)
            ph_warn ("alarm evaluation: loading failed: %s", ph_reply_str (reply));
        return;
    }
    int64_t now_s = (int64_t)(ph_now_ms () / 1000);
    for (size_t i = 0; i < ph_reply_count (reply); i++)
        s_evaluate_one (self, ph_reply_at (reply, i), now_s);
    s_run_actions (self); /* after the changes just queued: Redis keeps the order */
}

static void s_on_lease (ph_redis_t *redis, ph_reply_t *reply, void *arg)
{
    ls_alarms_t *self = arg;
    bool leader = ph_reply_int (reply) == 1;
    if (leader != self->leader)
        ph_info ("alarm evaluation: %s", leader ? "this logshipper evaluates the alarms"
                                                : "another logshipper evaluates the alarms");
    self->leader = leader;
    if (!leader) {
        self->busy = false;
        return;
    }
    if (ph_redis_cmd (redis, s_on_loaded, self, "EVAL %s 0 %llu", s_load_lua,
                      (unsigned long long)(ph_now_ms () / 1000)) != 0)
        self->busy = false;
}

void ls_alarms_tick (ls_alarms_t *self)
{
    if (self->busy || !ph_redis_connected (self->ls->redis))
        return;
    self->busy = true;
    if (ph_redis_cmd (self->ls->redis, s_on_lease, self, "EVAL %s 1 ph:alarms:leader %s %d",
                      s_lease_lua, self->ls->lid, LS_ALARM_LEASE_MS) != 0)
        self->busy = false;
}
