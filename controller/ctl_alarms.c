/*  ctl_alarms: AlarmsRequest, the users' API on metric alarms
 *  (docs/architecture.md "Alarms and topics"), with the semantics and the
 *  field names of CloudWatch's PutMetricAlarm, DescribeAlarms,
 *  DescribeAlarmHistory, SetAlarmState and DeleteAlarms.
 *
 *  This file: the op table and the writes (PutMetricAlarm, SetAlarmState,
 *  DeleteAlarms); the reads are in ctl_alarms_read.c, the pure checks in
 *  ctl_alarms_check.c. Each
 *  op is authorised as alarms:OP on alarm/NAME (DescribeAlarms on "*") and
 *  runs as one Lua script, so that a concurrent controller or the
 *  logshipper (which evaluates the alarms and writes their state) never
 *  sees half a change. Settings are checked with ph_alarm's own checks,
 *  the ones the evaluator relies on, so that a stored alarm always
 *  evaluates.
 *
 *  Single-alarm ops (SetAlarmState, DescribeAlarmHistory) name their alarm
 *  as the one entry of alarm_names; PutMetricAlarm as alarm.alarm_name.
 *
 *  PutMetricAlarm replaces the whole configuration and keeps the state of
 *  an existing alarm (CloudWatch: an update does not reset the state); a
 *  new alarm starts in INSUFFICIENT_DATA, "Unchecked: Initial alarm
 *  creation". Both write one ConfigurationUpdate history item. A topic:T
 *  action needs topic T to exist when the alarm is put (checked in the
 *  same script); a topic deleted later makes the action fail when it runs.
 *
 *  SetAlarmState to another state writes the state, a StateUpdate history
 *  item and an entry of ph:alarm:transitions (which the action runner
 *  consumes), in one script. To the state the alarm is already in it
 *  changes nothing: CloudWatch invokes actions only "when the updated state
 *  differs from the previous value", and its history records state
 *  changes ("Alarm updated from X to Y").
 */
#include "ctl_alarms.h"
#include "ph_alarm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*  ARGV: name, now ms, history min id, initial state, initial reason,
 *  alarm JSON (for the history item), n topics, topics..., then field,
 *  value pairs of the configuration. Returns {'notopic', T} or
 *  {'created'|'updated'}. */
static const char s_put_lua[] =
    "local name, now = ARGV[1], ARGV[2]\n"
    "local nt = tonumber(ARGV[7])\n"
    "for i = 1, nt do\n"
    "  local t = ARGV[7 + i]\n"
    "  if redis.call('EXISTS', 'ph:topic:{' .. t .. '}') == 0 then return {'notopic', t} end\n"
    "end\n"
    "local k = 'ph:alarm:{' .. name .. '}'\n"
    "local existed = redis.call('EXISTS', k) == 1\n"
    "redis.call('HSET', k, 'configuration_updated_ms', now, unpack(ARGV, 8 + nt))\n"
    "if not existed then\n"
    "  redis.call('HSET', k, 'state_value', ARGV[4], 'state_reason', ARGV[5],\n"
    "             'state_reason_data', '', 'state_updated_ms', now)\n"
    "end\n"
    "redis.call('SADD', 'ph:alarms', name)\n"
    "local kind, member, verb = 'Create', 'createdAlarm', 'created'\n"
    "if existed then kind, member, verb = 'Update', 'updatedAlarm', 'updated' end\n"
    "local data = '{\"version\":\"1.0\",\"type\":\"' .. kind .. '\",\"' .. member .. '\":' ..\n"
    "             ARGV[6] .. '}'\n"
    "local h = k .. ':history'\n"
    "redis.call('XADD', h, '*', 'ts', now, 'type', 'ConfigurationUpdate',\n"
    "           'summary', 'Alarm \"' .. name .. '\" ' .. verb, 'data', data)\n"
    "redis.call('XTRIM', h, 'MINID', ARGV[3])\n"
    "return {verb}\n";

/*  ARGV: name, state, reason, reason data (JSON or ''), now ms, history
 *  min id, transitions max. Returns {'missing'}, {'badjson'}, {'same',
 *  state} or {'ok', old state}. */
static const char s_set_state_lua[] =
    "local name, new, reason, rd, now = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]\n"
    "local k = 'ph:alarm:{' .. name .. '}'\n"
    "if redis.call('EXISTS', k) == 0 then return {'missing'} end\n"
    "if rd ~= '' and not pcall(cjson.decode, rd) then return {'badjson'} end\n"
    "local o = redis.call('HMGET', k, 'state_value', 'state_reason', 'state_reason_data')\n"
    "local old = o[1] or ''\n"
    "if old == new then return {'same', old} end\n"
    "redis.call('HSET', k, 'state_value', new, 'state_reason', reason,\n"
    "           'state_reason_data', rd, 'state_updated_ms', now)\n"
    "local function state(v, r, d)\n"
    "  local s = '{\"stateValue\":' .. cjson.encode(v) .. ',\"stateReason\":' .. cjson.encode(r)\n"
    "  if d and d ~= '' and pcall(cjson.decode, d) then s = s .. ',\"stateReasonData\":' .. d end\n"
    "  return s .. '}'\n"
    "end\n"
    "local data = '{\"version\":\"1.0\",\"oldState\":' .. state(old, o[2] or '', o[3]) ..\n"
    "             ',\"newState\":' .. state(new, reason, rd) .. '}'\n"
    "local h = k .. ':history'\n"
    "redis.call('XADD', h, '*', 'ts', now, 'type', 'StateUpdate',\n"
    "           'summary', 'Alarm updated from ' .. old .. ' to ' .. new, 'data', data)\n"
    "redis.call('XTRIM', h, 'MINID', ARGV[6])\n"
    "redis.call('XADD', 'ph:alarm:transitions', 'MAXLEN', '~', ARGV[7], '*', 'alarm', name,\n"
    "           'old', old, 'new', new, 'reason', reason, 'ts', now)\n"
    "return {'ok', old}\n";

/*  ARGV: names. Deletes each alarm, its history and its set member;
 *  names that do not exist are ignored (as CloudWatch does). */
static const char s_delete_lua[] = "for _, a in ipairs(ARGV) do\n"
                                   "  local k = 'ph:alarm:{' .. a .. '}'\n"
                                   "  redis.call('DEL', k, k .. ':history')\n"
                                   "  redis.call('SREM', 'ph:alarms', a)\n"
                                   "end\n"
                                   "return 'ok'\n";

/*  Number of UTF-8 characters of s (the wire checked it is UTF-8). */
static size_t s_chars (const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

/* ---- replies ------------------------------------------------------------------ */

void ctl_alarms_reply (ctl_req_t **req_p, Porthole__V1__AlarmsReply *body)
{
    body->op = (*req_p)->env->alarms->op;
    ph_env_t env = PH_ENV_INIT;
    env.body_case = PORTHOLE__V1__ENVELOPE__BODY_ALARMS_REPLY;
    env.alarms_reply = body;
    ctl_req_reply (req_p, &env);
}

static void s_reply_empty (ctl_req_t **req_p)
{
    Porthole__V1__AlarmsReply body = PORTHOLE__V1__ALARMS_REPLY__INIT;
    ctl_alarms_reply (req_p, &body);
}

/*  The minimum id of a history stream trimmed to 14 days at now. */
static void s_history_min_id (uint64_t now, char *out, size_t len)
{
    uint64_t keep = CTL_ALARM_HISTORY_KEEP_MS;
    snprintf (out, len, "%llu", (unsigned long long)(now > keep ? now - keep : 0));
}

/* ---- PutMetricAlarm -------------------------------------------------------------- */

/*  The alarm's settings as ph_alarm checks them (the evaluator's rules).
 *  Returns false after answering InvalidRequest. */
static bool s_put_config (ctl_req_t **req_p, const Porthole__V1__MetricAlarm *a,
                          ph_alarm_config_t *c)
{
    char period[24], periods[24], datapoints[24], threshold[PH_METRIC_NUMBER_MAX];
    char err[PH_ALARM_ERR_MAX];
    snprintf (period, sizeof period, "%u", a->period);
    snprintf (periods, sizeof periods, "%u", a->evaluation_periods);
    snprintf (datapoints, sizeof datapoints, "%u", a->datapoints_to_alarm);
    snprintf (threshold, sizeof threshold, "%.17g", a->threshold);
    const char *kv[][2] = {
        {"AlarmName", a->alarm_name},
        {"Statistic", *a->statistic ? a->statistic : NULL},
        {"Period", a->period ? period : NULL},
        {"EvaluationPeriods", a->evaluation_periods ? periods : NULL},
        {"DatapointsToAlarm", a->datapoints_to_alarm ? datapoints : NULL},
        {"Threshold", threshold},
        {"ComparisonOperator", *a->comparison_operator ? a->comparison_operator : NULL},
        {"TreatMissingData", *a->treat_missing_data ? a->treat_missing_data : NULL},
    };
    ph_alarm_config_init (c);
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < sizeof kv / sizeof kv[0]; i++)
        if (kv[i][1])
            rc = ph_alarm_config_set (c, kv[i][0], kv[i][1], err, sizeof err);
    if (rc == 0)
        rc = ph_alarm_config_validate (c, err, sizeof err);
    if (rc != 0)
        ctl_req_fail (req_p, CTL_E_INVALID_REQUEST, "porthole: PutMetricAlarm: %s", err);
    return rc == 0;
}

/*  Checks one action list; appends its topics to argv a (counting them in
 *  *n_topics). Returns false after answering InvalidRequest. */
static bool s_put_actions (ctl_req_t **req_p, const char *what, char **actions, size_t n,
                           ctl_argv_t *a, int *n_topics)
{
    char err[PH_ERRTEXT_MAX], topic[CTL_TOPIC_NAME_MAX + 1];
    if (n > CTL_ALARM_ACTIONS_MAX) {
        ctl_req_fail (req_p, CTL_E_INVALID_REQUEST,
                      "porthole: PutMetricAlarm: %s has %zu actions; an alarm takes at most %d "
                      "per state",
                      what, n, CTL_ALARM_ACTIONS_MAX);
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (ctl_alarms_action_check (actions[i], topic, err, sizeof err) != 0) {
            ctl_req_fail (req_p, CTL_E_INVALID_REQUEST, "porthole: PutMetricAlarm: %s: %s", what,
                          err);
            return false;
        }
        if (*topic) {
            ctl_argv_add (a, topic);
            (*n_topics)++;
        }
    }
    return true;
}

/*  The metric and the description. Returns false after answering. */
static bool s_put_metric (ctl_req_t **req_p, const Porthole__V1__MetricAlarm *a)
{
    const char *bad = !ctl_alarms_metric_name_valid (a->namespace_, true)     ? "Namespace"
                      : !ctl_alarms_metric_name_valid (a->metric_name, false) ? "MetricName"
                                                                              : NULL;
    if (bad) {
        ctl_req_fail (req_p, CTL_E_INVALID_REQUEST,
                      "porthole: PutMetricAlarm: %s '%.300s' is not valid: give 1..%d printable "
                      "ASCII characters without a space at either end%s",
                      bad, strcmp (bad, "Namespace") ? a->metric_name : a->namespace_,
                      CTL_ALARM_METRIC_NAME_MAX,
                      strcmp (bad, "Namespace") ? "" : ", not starting with ':'");
        return false;
    }
    if (s_chars (a->alarm_description) > CTL_ALARM_DESCRIPTION_MAX) {
        ctl_req_fail (req_p, CTL_E_INVALID_REQUEST,
                      "porthole: PutMetricAlarm: AlarmDescription has more than %d characters; "
                      "shorten it",
                      CTL_ALARM_DESCRIPTION_MAX);
        return false;
    }
    return true;
}

/*  Writes s as a JSON string to f. */
static void s_json_str (FILE *f, const char *s)
{
    fputc ('"', f);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            fprintf (f, "\\%c", ch);
        else if (ch < 0x20)
            fprintf (f, "\\u%04x", ch);
        else
            fputc (ch, f);
    }
    fputc ('"', f);
}

static void s_json_list (FILE *f, const char *key, char **items, size_t n)
{
    fprintf (f, ",\"%s\":[", key);
    for (size_t i = 0; i < n; i++) {
        if (i)
            fputc (',', f);
        s_json_str (f, items[i]);
    }
    fputc (']', f);
}

/*  The configuration as CloudWatch's history data shows it (heap). */
static char *s_alarm_json (const Porthole__V1__MetricAlarm *a, const ph_alarm_config_t *c,
                           bool enabled)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream (&text, &len);
    assert (f);
    fputs ("{\"alarmName\":", f);
    s_json_str (f, a->alarm_name);
    fputs (",\"alarmDescription\":", f);
    s_json_str (f, a->alarm_description);
    fputs (",\"namespace\":", f);
    s_json_str (f, a->namespace_);
    fputs (",\"metricName\":", f);
    s_json_str (f, a->metric_name);
    fprintf (f,
             ",\"statistic\":\"%s\",\"period\":%lld,\"evaluationPeriods\":%u,"
             "\"datapointsToAlarm\":%u,\"threshold\":%.17g,\"comparisonOperator\":\"%s\","
             "\"treatMissingData\":\"%s\",\"actionsEnabled\":%s",
             ph_metric_stat_name (c->statistic), (long long)c->period_s, c->evaluation_periods,
             c->datapoints_to_alarm, c->threshold, ph_alarm_cmp_name (c->comparison),
             ph_alarm_tmd_name (c->treat_missing_data), enabled ? "true" : "false");
    s_json_list (f, "alarmActions", a->alarm_actions, a->n_alarm_actions);
    s_json_list (f, "okActions", a->ok_actions, a->n_ok_actions);
    s_json_list (f, "insufficientDataActions", a->insufficient_data_actions,
                 a->n_insufficient_data_actions);
    fputc ('}', f);
    fclose (f);
    return text;
}

/*  Appends field and the actions joined with "\n". */
static void s_add_list (ctl_argv_t *a, const char *field, char **items, size_t n)
{
    size_t len = 1;
    for (size_t i = 0; i < n; i++)
        len += strlen (items[i]) + 1;
    char *joined = calloc (1, len);
    assert (joined);
    for (size_t i = 0; i < n; i++) {
        if (i)
            strcat (joined, "\n");
        strcat (joined, items[i]);
    }
    ctl_argv_add (a, field);
    ctl_argv_add (a, joined);
    free (joined);
}

static void s_on_put (ph_redis_t *redis, ph_reply_t *reply, void *arg)
{
    (void)redis;
    ctl_req_t *req = arg;
    if (!ctl_req_reply_ok (&req, reply))
        return;
    const char *what = ph_reply_str (ph_reply_at (reply, 0));
    if (what && strcmp (what, "notopic") == 0)
        ctl_req_fail (&req, CTL_E_INVALID_REQUEST,
                      "porthole: PutMetricAlarm: topic %.256s does not exist; create it first "
                      "(porthole topics create-topic %.256s) or fix the action",
                      ph_reply_str (ph_reply_at (reply, 1)), ph_reply_str (ph_reply_at (reply, 1)));
    else
        s_reply_empty (&req);
}

/*  Appends the configuration's field, value pairs (the hash's). */
static void s_put_fields (ctl_argv_t *a, const Porthole__V1__MetricAlarm *m,
                          const ph_alarm_config_t *c, bool enabled)
{
    const char *fields[][2] = {
        {"alarm_name", m->alarm_name},
        {"namespace", m->namespace_},
        {"metric_name", m->metric_name},
        {"statistic", ph_metric_stat_name (c->statistic)},
        {"comparison_operator", ph_alarm_cmp_name (c->comparison)},
        {"treat_missing_data", ph_alarm_tmd_name (c->treat_missing_data)},
        {"actions_enabled", enabled ? "1" : "0"},
        {"alarm_description", m->alarm_description},
    };
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        ctl_argv_add (a, fields[i][0]);
        ctl_argv_add (a, fields[i][1]);
    }
    ctl_argv_add (a, "period");
    ctl_argv_addf (a, "%lld", (long long)c->period_s);
    ctl_argv_add (a, "evaluation_periods");
    ctl_argv_addf (a, "%u", c->evaluation_periods);
    ctl_argv_add (a, "datapoints_to_alarm");
    ctl_argv_addf (a, "%u", c->datapoints_to_alarm);
    ctl_argv_add (a, "threshold");
    ctl_argv_addf (a, "%.17g", c->threshold);
    s_add_list (a, "alarm_actions", m->alarm_actions, m->n_alarm_actions);
    s_add_list (a, "ok_actions", m->ok_actions, m->n_ok_actions);
    s_add_list (a, "insufficient_data_actions", m->insufficient_data_actions,
                m->n_insufficient_data_actions);
}

static void s_put (ctl_req_t *req)
{
    const Porthole__V1__MetricAlarm *m = req->env->alarms->alarm;
    ph_alarm_config_t c;
    ctl_argv_t a, topics;
    int n_topics = 0;
    if (!s_put_config (&req, m, &c) || !s_put_metric (&req, m))
        return;
    ctl_argv_init (&topics);
    bool ok =
        s_put_actions (&req, "AlarmActions", m->alarm_actions, m->n_alarm_actions, &topics,
                       &n_topics) &&
        s_put_actions (&req, "OKActions", m->ok_actions, m->n_ok_actions, &topics, &n_topics) &&
        s_put_actions (&req, "InsufficientDataActions", m->insufficient_data_actions,
                       m->n_insufficient_data_actions, &topics, &n_topics);
    if (!ok)
        goto out_free_topics;
    bool enabled = req->env->alarms->actions_enabled_set ? m->actions_enabled : true;
    uint64_t now = ph_now_ms ();
    char min_id[24], *json = s_alarm_json (m, &c, enabled);
    s_history_min_id (now, min_id, sizeof min_id);
    ctl_argv_init (&a);
    const char *head[] = {"EVAL", s_put_lua, "0", m->alarm_name, NULL};
    for (size_t i = 0; head[i]; i++)
        ctl_argv_add (&a, head[i]);
    ctl_argv_addf (&a, "%llu", (unsigned long long)now);
    ctl_argv_add (&a, min_id);
    ctl_argv_add (&a, ph_alarm_state_name (PH_ALARM_INITIAL_STATE));
    ctl_argv_add (&a, PH_ALARM_INITIAL_REASON);
    ctl_argv_add (&a, json);
    ctl_argv_addf (&a, "%d", n_topics);
    for (int i = 0; i < topics.argc; i++)
        ctl_argv_add (&a, topics.argv[i]);
    s_put_fields (&a, m, &c, enabled);
    free (json);
    ctl_req_queued (&req, ctl_argv_send (&a, req->ctl->redis, s_on_put, req));
out_free_topics:
    ctl_argv_free (&topics);
}

/* ---- SetAlarmState ----------------------------------------------------------------- */

static void s_on_set_state (ph_redis_t *redis, ph_reply_t *reply, void *arg)
{
    (void)redis;
    ctl_req_t *req = arg;
    if (!ctl_req_reply_ok (&req, reply))
        return;
    const char *what = ph_reply_str (ph_reply_at (reply, 0));
    const char *name = req->env->alarms->alarm_names[0];
    if (what && strcmp (what, "missing") == 0)
        ctl_req_fail (&req, CTL_E_RESOURCE_NOT_FOUND,
                      "porthole: alarm %.255s does not exist; see porthole alarms describe-alarms",
                      name);
    else if (what && strcmp (what, "badjson") == 0)
        ctl_req_fail (&req, CTL_E_INVALID_REQUEST,
                      "porthole: SetAlarmState: StateReasonData is not JSON; give a JSON "
                      "document, e.g. '{\"source\": \"test\"}'");
    else
        s_reply_empty (&req);
}

static void s_set_state (ctl_req_t *req)
{
    const Porthole__V1__AlarmsRequest *r = req->env->alarms;
    ph_alarm_state_t state;
    if (ph_alarm_state_parse (r->state_value, &state) != 0) {
        ctl_req_fail (&req, CTL_E_INVALID_REQUEST,
                      "porthole: SetAlarmState: StateValue '%.40s' is not OK, ALARM or "
                      "INSUFFICIENT_DATA",
                      r->state_value);
        return;
    }
    if (s_chars (r->state_reason) > CTL_ALARM_STATE_REASON_MAX ||
        strlen (r->state_reason_data) > CTL_ALARM_REASON_DATA_MAX) {
        ctl_req_fail (&req, CTL_E_INVALID_REQUEST,
                      "porthole: SetAlarmState: StateReason takes at most %d characters and "
                      "StateReasonData at most %d",
                      CTL_ALARM_STATE_REASON_MAX, CTL_ALARM_REASON_DATA_MAX);
        return;
    }
    uint64_t now = ph_now_ms ();
    char min_id[24];
    s_history_min_id (now, min_id, sizeof min_id);
    ctl_argv_t a;
    ctl_argv_init (&a);
    const char *args[] = {
        "EVAL",          s_set_state_lua,      "0", r->alarm_names[0], ph_alarm_state_name (state),
        r->state_reason, r->state_reason_data, NULL};
    for (size_t i = 0; args[i]; i++)
        ctl_argv_add (&a, args[i]);
    ctl_argv_addf (&a, "%llu", (unsigned long long)now);
    ctl_argv_add (&a, min_id);
    ctl_argv_addf (&a, "%d", CTL_ALARM_TRANSITIONS_MAX);
    ctl_req_queued (&req, ctl_argv_send (&a, req->ctl->redis, s_on_set_state, req));
}

/* ---- DeleteAlarms ---------------------------------------------------------------------- */

static void s_on_delete (ph_redis_t *redis, ph_reply_t *reply, void *arg)
{
    (void)redis;
    ctl_req_t *req = arg;
    if (ctl_req_reply_ok (&req, reply))
        s_reply_empty (&req);
}

static void s_delete (ctl_req_t *req)
{
    const Porthole__V1__AlarmsRequest *r = req->env->alarms;
    ctl_argv_t a;
    ctl_argv_init (&a);
    ctl_argv_add (&a, "EVAL");
    ctl_argv_add (&a, s_delete_lua);
    ctl_argv_add (&a, "0");
    for (size_t i = 0; i < r->n_alarm_names; i++)
        ctl_argv_add (&a, r->alarm_names[i]);
    ctl_req_queued (&req, ctl_argv_send (&a, req->ctl->redis, s_on_delete, req));
}

/* ---- dispatch ---------------------------------------------------------------------------- */

typedef enum {
    S_ON_ALL,    /* resource "*" */
    S_ON_CONFIG, /* alarm.alarm_name */
    S_ON_ONE,    /* alarm_names[0], exactly one */
    S_ON_EACH,   /* every alarm_names entry, 1..CTL_ALARM_NAMES_MAX */
} s_on_t;

static const ctl_op_t s_ops[] = {
    {"PutMetricAlarm", S_ON_CONFIG, s_put},
    {"DescribeAlarms", S_ON_ALL, ctl_alarms_describe},
    {"DescribeAlarmHistory", S_ON_ONE, ctl_alarms_history},
    {"SetAlarmState", S_ON_ONE, s_set_state},
    {"DeleteAlarms", S_ON_EACH, s_delete},
};

/*  Checks name as an alarm name of op. Returns false after answering. */
static bool s_name_ok (ctl_req_t **req_p, const char *op, const char *name)
{
    ph_alarm_config_t c;
    char err[PH_ALARM_ERR_MAX];
    ph_alarm_config_init (&c);
    if (ph_alarm_config_set (&c, "AlarmName", name, err, sizeof err) == 0)
        return true;
    ctl_req_fail (req_p, CTL_E_INVALID_REQUEST, "porthole: %s: %s", op, err);
    return false;
}

/*  Authorises action on alarm/NAME for every name the op names. */
static bool s_authorize (ctl_req_t **req_p, const ctl_op_t *op)
{
    const Porthole__V1__AlarmsRequest *r = (*req_p)->env->alarms;
    char action[CTL_ACTION_MAX], resource[CTL_ALARM_RESOURCE_MAX];
    snprintf (action, sizeof action, "alarms:%s", op->op);
    if (op->on == S_ON_ALL)
        return ctl_req_authorize (req_p, action, "*", NULL);
    if (op->on == S_ON_CONFIG) {
        snprintf (resource, sizeof resource, "alarm/%s", r->alarm->alarm_name);
        return ctl_req_authorize (req_p, action, resource, NULL);
    }
    for (size_t i = 0; i < r->n_alarm_names; i++) {
        snprintf (resource, sizeof resource, "alarm/%s", r->alarm_names[i]);
        if (!ctl_req_authorize (req_p, action, resource, NULL))
            return false;
    }
    return true;
}

/*  The names the op acts on are there and valid. Returns false after
 *  answering. */
static bool s_names_ok (ctl_req_t **req_p, const ctl_op_t *op)
{
    const Porthole__V1__AlarmsRequest *r = (*req_p)->env->alarms;
    if (op->on == S_ON_CONFIG && !r->alarm) {
        ctl_req_fail (req_p, CTL_E_INVALID_REQUEST,
                      "porthole: PutMetricAlarm needs the alarm's settings");
        return false;
    }
    if (op->on == S_ON_CONFIG)
        return s_name_ok (req_p, op->op, r->alarm->alarm_name);
    if (op->on == S_ON_ONE && r->n_alarm_names != 1) {
        ctl_req_fail (req_p, CTL_E_INVALID_REQUEST,
                      "porthole: %s needs exactly one alarm name (--alarm-name NAME)", op->op);
        return false;
    }
    if (op->on == S_ON_EACH && (r->n_alarm_names < 1 || r->n_alarm_names > CTL_ALARM_NAMES_MAX)) {
        ctl_req_fail (req_p, CTL_E_INVALID_REQUEST,
                      "porthole: %s needs 1..%d alarm names (--alarm-names A B ...)", op->op,
                      CTL_ALARM_NAMES_MAX);
        return false;
    }
    for (size_t i = 0; op->on != S_ON_ALL && i < r->n_alarm_names; i++)
        if (!s_name_ok (req_p, op->op, r->alarm_names[i]))
            return false;
    return true;
}

void ctl_alarms_request (ctl_req_t *req)
{
    const Porthole__V1__AlarmsRequest *r = req->env->alarms;
    const ctl_op_t *op = ctl_op_find (s_ops, sizeof s_ops / sizeof s_ops[0], r->op);
    if (!op) {
        ctl_req_fail (&req, CTL_E_INVALID_REQUEST,
                      "porthole: '%.64s' is not an alarms operation; is your porthole CLI the "
                      "same version as the controller?",
                      r->op);
        return;
    }
    if (!s_names_ok (&req, op) || !s_authorize (&req, op))
        return;
    op->fn (req);
}
