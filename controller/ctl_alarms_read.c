/*  ctl_alarms_read: DescribeAlarms and DescribeAlarmHistory, the reads of
 *  the alarms API (ctl_alarms.c has the op table and the writes).
 *
 *  DescribeAlarms lists alarms by name, filtered by AlarmNames or
 *  AlarmNamePrefix (not both, as CloudWatch) and StateValue, a page of at
 *  most MaxRecords (1..100, default 100) at a time, and of at most
 *  CTL_ALARM_REPLY_BYTES_MAX bytes of alarm data so that the reply fits in
 *  a frame; NextToken is the name of the last alarm of the page (the next
 *  page starts after it).
 *
 *  DescribeAlarmHistory reads ph:alarm:{NAME}:history newest first,
 *  filtered by HistoryItemType and [StartDate, EndDate] (ms, inclusive, on
 *  the items' ts), a page of at most MaxRecords (1..100, default 100) and
 *  CTL_ALARM_REPLY_BYTES_MAX bytes;
 *  NextToken is the stream id where the page stopped (the next page starts
 *  before it). Stream ids carry Redis's clock and ts the writer's: the scan
 *  bounds allow CTL_ALARM_CLOCK_SLACK_MS between them, and the filter is
 *  exact on ts. One read looks at most CTL_ALARM_HISTORY_SCAN_MAX items, so
 *  that Redis is never held long; the token then goes on. An alarm that
 *  does not exist has no history (an empty list, as CloudWatch answers).
 */
#include "ctl_alarms.h"
#include "ph_alarm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*  ARGV: prefix, state ('' = any), after ('' = from the first), max,
 *  bytes max, names... (none = every alarm). Returns {next token or '',
 *  {HGETALL of each alarm, by name}}; a page also ends before bytes max. */
static const char s_describe_lua[] =
    "local prefix, state, after, max = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])\n"
    "local bytesmax, bytes = tonumber(ARGV[5]), 0\n"
    "local names = {}\n"
    "if #ARGV > 5 then\n"
    "  local seen = {}\n"
    "  for i = 6, #ARGV do\n"
    "    if not seen[ARGV[i]] then names[#names + 1] = ARGV[i] seen[ARGV[i]] = true end\n"
    "  end\n"
    "else names = redis.call('SMEMBERS', 'ph:alarms') end\n"
    "table.sort(names)\n"
    "local out, last, nexttok = {}, '', ''\n"
    "for _, a in ipairs(names) do\n"
    "  if (after == '' or a > after) and string.sub(a, 1, #prefix) == prefix then\n"
    "    local h = redis.call('HGETALL', 'ph:alarm:{' .. a .. '}')\n"
    "    local ok = #h > 0\n"
    "    if ok and state ~= '' then\n"
    "      ok = redis.call('HGET', 'ph:alarm:{' .. a .. '}', 'state_value') == state\n"
    "    end\n"
    "    if ok then\n"
    "      local size = 0\n"
    "      for _, v in ipairs(h) do size = size + #v end\n"
    "      if #out >= max or (#out > 0 and bytes + size > bytesmax) then\n"
    "        nexttok = last break\n"
    "      end\n"
    "      out[#out + 1] = h\n"
    "      bytes = bytes + size\n"
    "      last = a\n"
    "    end\n"
    "  end\n"
    "end\n"
    "return {nexttok, out}\n";

/*  ARGV: name, type ('' = any), start ms (0 = none), end ms (0 = none),
 *  max, cursor id ('' = from the newest), scan max, clock slack ms, bytes
 *  max (a page ends before it).
 *  Returns {next token or '', flat [ts, type, summary, data, ...] newest
 *  first}. */
static const char s_history_lua[] =
    "local key = 'ph:alarm:{' .. ARGV[1] .. '}:history'\n"
    "local kind, st, en, max = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])\n"
    "local scanmax, slack, bytesmax, bytes = tonumber(ARGV[7]), tonumber(ARGV[8]), "
    "tonumber(ARGV[9]), 0\n"
    "local hi, lo = '+', '-'\n"
    "if ARGV[6] ~= '' then hi = '(' .. ARGV[6]\n"
    "elseif en > 0 then hi = string.format('%d', en + slack) end\n"
    "if st > slack then lo = string.format('%d', st - slack) end\n"
    "local out, got, scanned, lastid, nexttok, done = {}, 0, 0, '', '', false\n"
    "while not done do\n"
    "  local batch = redis.call('XREVRANGE', key, hi, lo, 'COUNT', 200)\n"
    "  if #batch == 0 then break end\n"
    "  for _, e in ipairs(batch) do\n"
    "    local f, v = e[2], {}\n"
    "    for j = 1, #f, 2 do v[f[j]] = f[j + 1] end\n"
    "    local ts = tonumber(v.ts or '0') or 0\n"
    "    if (kind == '' or v.type == kind) and ts >= st and (en == 0 or ts <= en) then\n"
    "      local size = #(v.summary or '') + #(v.data or '')\n"
    "      if got >= max or (got > 0 and bytes + size > bytesmax) then\n"
    "        nexttok = lastid done = true break\n"
    "      end\n"
    "      bytes = bytes + size\n"
    "      out[#out + 1] = v.ts or '0'\n"
    "      out[#out + 1] = v.type or ''\n"
    "      out[#out + 1] = v.summary or ''\n"
    "      out[#out + 1] = v.data or ''\n"
    "      got = got + 1\n"
    "    end\n"
    "    lastid = e[1]\n"
    "    hi = '(' .. e[1]\n"
    "    scanned = scanned + 1\n"
    "    if scanned >= scanmax then nexttok = lastid done = true break end\n"
    "  end\n"
    "end\n"
    "return {nexttok, out}\n";

static uint64_t s_u64 (const char *s)
{
    return s ? strtoull (s, NULL, 10) : 0;
}

static const char *s_str (const ph_reply_t *h, const char *field)
{
    const char *v = ph_reply_field (h, field);
    return v ? v : "";
}

/* ---- DescribeAlarms ---------------------------------------------------------- */

/*  Splits the "\n"-joined list text into one heap block (free it once):
 *  the array of *n entries followed by a copy of the text they point into. */
static char **s_split (const char *text, size_t *n)
{
    size_t count = 1, len = strlen (text);
    *n = 0;
    if (len == 0)
        return NULL;
    for (const char *p = text; *p; p++)
        count += *p == '\n';
    char **items = malloc (count * sizeof *items + len + 1);
    assert (items);
    char *copy = (char *)(items + count);
    memcpy (copy, text, len + 1);
    for (char *save = NULL, *p = strtok_r (copy, "\n", &save); p; p = strtok_r (NULL, "\n", &save))
        items[(*n)++] = p;
    return items;
}

/*  Fills m from an alarm's HGETALL h; strings point into h or into the
 *  split lists (freed by s_alarm_free). */
static void s_alarm_from_hash (Porthole__V1__MetricAlarm *m, const ph_reply_t *h)
{
    Porthole__V1__MetricAlarm init = PORTHOLE__V1__METRIC_ALARM__INIT;
    *m = init;
    m->alarm_name = (char *)s_str (h, "alarm_name");
    m->namespace_ = (char *)s_str (h, "namespace");
    m->metric_name = (char *)s_str (h, "metric_name");
    m->statistic = (char *)s_str (h, "statistic");
    m->period = (uint32_t)s_u64 (ph_reply_field (h, "period"));
    m->evaluation_periods = (uint32_t)s_u64 (ph_reply_field (h, "evaluation_periods"));
    m->datapoints_to_alarm = (uint32_t)s_u64 (ph_reply_field (h, "datapoints_to_alarm"));
    m->threshold = strtod (s_str (h, "threshold"), NULL);
    m->comparison_operator = (char *)s_str (h, "comparison_operator");
    m->treat_missing_data = (char *)s_str (h, "treat_missing_data");
    m->alarm_actions = s_split (s_str (h, "alarm_actions"), &m->n_alarm_actions);
    m->ok_actions = s_split (s_str (h, "ok_actions"), &m->n_ok_actions);
    m->insufficient_data_actions =
        s_split (s_str (h, "insufficient_data_actions"), &m->n_insufficient_data_actions);
    m->actions_enabled = strcmp (s_str (h, "actions_enabled"), "0") != 0;
    m->state_value = (char *)s_str (h, "state_value");
    m->state_reason = (char *)s_str (h, "state_reason");
    m->state_reason_data = (char *)s_str (h, "state_reason_data");
    m->state_updated_timestamp = s_u64 (ph_reply_field (h, "state_updated_ms"));
    m->alarm_description = (char *)s_str (h, "alarm_description");
    m->configuration_updated_timestamp = s_u64 (ph_reply_field (h, "configuration_updated_ms"));
}

static void s_alarm_free (Porthole__V1__MetricAlarm *m)
{
    free (m->alarm_actions);
    free (m->ok_actions);
    free (m->insufficient_data_actions);
}

static void s_on_describe (ph_redis_t *redis, ph_reply_t *reply, void *arg)
{
    (void)redis;
    ctl_req_t *req = arg;
    if (!ctl_req_reply_ok (&req, reply))
        return;
    const ph_reply_t *list = ph_reply_at (reply, 1);
    size_t n = ph_reply_count (list);
    Porthole__V1__MetricAlarm *alarms = calloc (n + 1, sizeof *alarms);
    Porthole__V1__MetricAlarm **ptrs = calloc (n + 1, sizeof *ptrs);
    assert (alarms && ptrs);
    for (size_t i = 0; i < n; i++) {
        s_alarm_from_hash (&alarms[i], ph_reply_at (list, i));
        ptrs[i] = &alarms[i];
    }
    Porthole__V1__AlarmsReply body = PORTHOLE__V1__ALARMS_REPLY__INIT;
    body.metric_alarms = ptrs;
    body.n_metric_alarms = n;
    const char *token = ph_reply_str (ph_reply_at (reply, 0));
    body.next_token = (char *)(token ? token : "");
    ctl_alarms_reply (&req, &body);
    for (size_t i = 0; i < n; i++)
        s_alarm_free (&alarms[i]);
    free (ptrs);
    free (alarms);
}

/*  The page size asked for (0: the default). Returns 0 after answering
 *  when it is out of range. */
static uint32_t s_max_records (ctl_req_t **req_p, const char *op)
{
    uint32_t max = (*req_p)->env->alarms->max_records;
    if (max == 0)
        return CTL_ALARM_RECORDS_DEFAULT;
    if (max <= CTL_ALARM_RECORDS_MAX)
        return max;
    ctl_req_fail (req_p, CTL_E_INVALID_REQUEST, "porthole: %s: MaxRecords must be 1..%d (got %u)",
                  op, CTL_ALARM_RECORDS_MAX, max);
    return 0;
}

/*  The filters of DescribeAlarms. Returns false after answering. */
static bool s_describe_filters_ok (ctl_req_t **req_p)
{
    const Porthole__V1__AlarmsRequest *r = (*req_p)->env->alarms;
    ph_alarm_state_t state;
    const char *problem = NULL;
    if (r->n_alarm_names > CTL_ALARM_NAMES_MAX)
        problem = "give at most 100 AlarmNames";
    else if (r->n_alarm_names && *r->alarm_name_prefix)
        problem = "give AlarmNames or AlarmNamePrefix, not both";
    else if (strlen (r->alarm_name_prefix) > PH_ALARM_NAME_MAX)
        problem = "AlarmNamePrefix is longer than an alarm name can be (255)";
    else if (*r->state_value && ph_alarm_state_parse (r->state_value, &state) != 0)
        problem = "StateValue must be OK, ALARM or INSUFFICIENT_DATA";
    else if (*r->next_token && !ph_alarm_name_valid (r->next_token))
        problem = "NextToken is not one that describe-alarms returned";
    for (size_t i = 0; !problem && i < r->n_alarm_names; i++)
        if (!ph_alarm_name_valid (r->alarm_names[i]))
            problem = "an entry of AlarmNames is not an alarm name (1..255 printable ASCII "
                      "characters, no { } * ?, no space at either end)";
    if (problem)
        ctl_req_fail (req_p, CTL_E_INVALID_REQUEST, "porthole: DescribeAlarms: %s", problem);
    return problem == NULL;
}

void ctl_alarms_describe (ctl_req_t *req)
{
    const Porthole__V1__AlarmsRequest *r = req->env->alarms;
    if (!s_describe_filters_ok (&req))
        return;
    uint32_t max = s_max_records (&req, "DescribeAlarms");
    if (!max)
        return;
    ctl_argv_t a;
    ctl_argv_init (&a);
    const char *args[] = {"EVAL",         s_describe_lua, "0", r->alarm_name_prefix,
                          r->state_value, r->next_token,  NULL};
    for (size_t i = 0; args[i]; i++)
        ctl_argv_add (&a, args[i]);
    ctl_argv_addf (&a, "%u", max);
    ctl_argv_addf (&a, "%d", CTL_ALARM_REPLY_BYTES_MAX);
    for (size_t i = 0; i < r->n_alarm_names; i++)
        ctl_argv_add (&a, r->alarm_names[i]);
    ctl_req_queued (&req, ctl_argv_send (&a, req->ctl->redis, s_on_describe, req));
}

/* ---- DescribeAlarmHistory -------------------------------------------------------------- */

static void s_on_history (ph_redis_t *redis, ph_reply_t *reply, void *arg)
{
    (void)redis;
    ctl_req_t *req = arg;
    if (!ctl_req_reply_ok (&req, reply))
        return;
    const ph_reply_t *flat = ph_reply_at (reply, 1);
    size_t n = ph_reply_count (flat) / 4;
    Porthole__V1__AlarmHistoryItem *items = calloc (n + 1, sizeof *items);
    Porthole__V1__AlarmHistoryItem **ptrs = calloc (n + 1, sizeof *ptrs);
    assert (items && ptrs);
    for (size_t i = 0; i < n; i++) {
        Porthole__V1__AlarmHistoryItem init = PORTHOLE__V1__ALARM_HISTORY_ITEM__INIT;
        items[i] = init;
        items[i].alarm_name = req->env->alarms->alarm_names[0];
        items[i].timestamp = s_u64 (ph_reply_str (ph_reply_at (flat, 4 * i)));
        items[i].history_item_type = (char *)ph_reply_str (ph_reply_at (flat, 4 * i + 1));
        items[i].history_summary = (char *)ph_reply_str (ph_reply_at (flat, 4 * i + 2));
        items[i].history_data = (char *)ph_reply_str (ph_reply_at (flat, 4 * i + 3));
        ptrs[i] = &items[i];
    }
    Porthole__V1__AlarmsReply body = PORTHOLE__V1__ALARMS_REPLY__INIT;
    body.alarm_history_items = ptrs;
    body.n_alarm_history_items = n;
    const char *token = ph_reply_str (ph_reply_at (reply, 0));
    body.next_token = (char *)(token ? token : "");
    ctl_alarms_reply (&req, &body);
    free (ptrs);
    free (items);
}

/*  The filters of DescribeAlarmHistory. Returns false after answering. */
static bool s_history_filters_ok (ctl_req_t **req_p)
{
    const Porthole__V1__AlarmsRequest *r = (*req_p)->env->alarms;
    const char *t = r->history_item_type;
    const char *problem = NULL;
    if (*t && strcmp (t, "ConfigurationUpdate") && strcmp (t, "StateUpdate") &&
        strcmp (t, "Action"))
        problem = "HistoryItemType must be " CTL_ALARM_HISTORY_TYPES;
    else if (r->start_date && r->end_date && r->start_date > r->end_date)
        problem = "StartDate is after EndDate";
    else if (r->end_date > (uint64_t)PH_METRIC_TIME_MAX * 1000)
        problem = "EndDate is after the year 9999";
    else if (*r->next_token && !ctl_alarms_stream_id_valid (r->next_token))
        problem = "NextToken is not one that describe-alarm-history returned";
    if (problem)
        ctl_req_fail (req_p, CTL_E_INVALID_REQUEST, "porthole: DescribeAlarmHistory: %s", problem);
    return problem == NULL;
}

void ctl_alarms_history (ctl_req_t *req)
{
    const Porthole__V1__AlarmsRequest *r = req->env->alarms;
    if (!s_history_filters_ok (&req))
        return;
    uint32_t max = s_max_records (&req, "DescribeAlarmHistory");
    if (!max)
        return;
    ctl_argv_t a;
    ctl_argv_init (&a);
    const char *args[] = {"EVAL", s_history_lua, "0", r->alarm_names[0], r->history_item_type,
                          NULL};
    for (size_t i = 0; args[i]; i++)
        ctl_argv_add (&a, args[i]);
    ctl_argv_addf (&a, "%llu", (unsigned long long)r->start_date);
    ctl_argv_addf (&a, "%llu", (unsigned long long)r->end_date);
    ctl_argv_addf (&a, "%u", max);
    ctl_argv_add (&a, r->next_token);
    ctl_argv_addf (&a, "%d", CTL_ALARM_HISTORY_SCAN_MAX);
    ctl_argv_addf (&a, "%d", CTL_ALARM_CLOCK_SLACK_MS);
    ctl_argv_addf (&a, "%d", CTL_ALARM_REPLY_BYTES_MAX);
    ctl_req_queued (&req, ctl_argv_send (&a, req->ctl->redis, s_on_history, req));
}
