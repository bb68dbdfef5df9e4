/*  Unit tests of controller/ctl_alarms.c, ctl_alarms_read.c and
 *  ctl_topics.c: the pure checks (metric names, actions, topic names, webhook
 *  URLs, stream ids), then every op against a real redis-server through an
 *  in-process controller (ctl_harness.h): what each writes in Redis (the
 *  schema the logshipper reads), what it answers, each refusal and its
 *  message, paging, and authorisation on alarm/NAME and topic/NAME. */
#include "ctl_alarms.h"
#include "ctl_harness.h"
#include "ph_alarm.h"

#include <math.h>

#define B(x) PORTHOLE__V1__ENVELOPE__BODY_##x

/* ---- helpers ------------------------------------------------------------------ */

typedef struct {
    const char *name, *ns, *metric, *stat, *cmp, *tmd, *desc;
    uint32_t period, periods, datapoints;
    double threshold;
    const char *alarm_actions[8], *ok_actions[8];
    int enabled; /* -1: not given */
} put_t;

static size_t s_count (const char *const *list)
{
    size_t n = 0;
    while (list[n])
        n++;
    return n;
}

static ph_env_t *s_put (peer_t *p, const put_t *q)
{
    Porthole__V1__AlarmsRequest r = PORTHOLE__V1__ALARMS_REQUEST__INIT;
    Porthole__V1__MetricAlarm m = PORTHOLE__V1__METRIC_ALARM__INIT;
    r.op = "PutMetricAlarm";
    r.alarm = &m;
    m.alarm_name = (char *)q->name;
    m.namespace_ = (char *)(q->ns ? q->ns : "Porthole");
    m.metric_name = (char *)(q->metric ? q->metric : "SudoCount");
    m.statistic = (char *)(q->stat ? q->stat : "Sum");
    m.comparison_operator = (char *)(q->cmp ? q->cmp : "GreaterThanOrEqualToThreshold");
    m.treat_missing_data = (char *)(q->tmd ? q->tmd : "");
    m.alarm_description = (char *)(q->desc ? q->desc : "");
    m.period = q->period ? q->period : 5;
    m.evaluation_periods = q->periods ? q->periods : 3;
    m.datapoints_to_alarm = q->datapoints;
    m.threshold = q->threshold;
    m.alarm_actions = (char **)q->alarm_actions;
    m.n_alarm_actions = s_count (q->alarm_actions);
    m.ok_actions = (char **)q->ok_actions;
    m.n_ok_actions = s_count (q->ok_actions);
    m.actions_enabled = q->enabled == 1;
    r.actions_enabled_set = q->enabled >= 0;
    ph_env_t env = PH_ENV_INIT;
    env.body_case = B (ALARMS);
    env.alarms = &r;
    return h_call (p, &env);
}

typedef struct {
    const char *op;
    const char *names[8];
    const char *prefix, *state, *reason, *data, *type, *token;
    uint32_t max;
    uint64_t start, end;
} alarms_t;

static ph_env_t *s_alarms (peer_t *p, const alarms_t *q)
{
    Porthole__V1__AlarmsRequest r = PORTHOLE__V1__ALARMS_REQUEST__INIT;
    r.op = (char *)q->op;
    r.alarm_names = (char **)q->names;
    r.n_alarm_names = s_count (q->names);
    r.alarm_name_prefix = (char *)(q->prefix ? q->prefix : "");
    r.state_value = (char *)(q->state ? q->state : "");
    r.state_reason = (char *)(q->reason ? q->reason : "");
    r.state_reason_data = (char *)(q->data ? q->data : "");
    r.history_item_type = (char *)(q->type ? q->type : "");
    r.next_token = (char *)(q->token ? q->token : "");
    r.max_records = q->max;
    r.start_date = q->start;
    r.end_date = q->end;
    ph_env_t env = PH_ENV_INIT;
    env.body_case = B (ALARMS);
    env.alarms = &r;
    return h_call (p, &env);
}

typedef struct {
    const char *op, *topic, *protocol, *endpoint, *format, *id, *subject, *message, *after;
    uint32_t max;
} topics_t;

static ph_env_t *s_topics (peer_t *p, const topics_t *q)
{
    Porthole__V1__TopicsRequest r = PORTHOLE__V1__TOPICS_REQUEST__INIT;
    r.op = (char *)q->op;
    r.topic = (char *)(q->topic ? q->topic : "");
    r.protocol = (char *)(q->protocol ? q->protocol : "");
    r.endpoint = (char *)(q->endpoint ? q->endpoint : "");
    r.format = (char *)(q->format ? q->format : "");
    r.subscription_id = (char *)(q->id ? q->id : "");
    r.subject = (char *)(q->subject ? q->subject : "");
    r.message = (char *)(q->message ? q->message : "");
    r.after_id = (char *)(q->after ? q->after : "");
    r.max_results = q->max;
    ph_env_t env = PH_ENV_INIT;
    env.body_case = B (TOPICS);
    env.topics = &r;
    return h_call (p, &env);
}

/*  True when *r is a reply of body want; frees it unless keep. */
static bool s_is (ph_env_t **r, ph_body_t want, bool keep)
{
    bool ok = *r && (*r)->body_case == want;
    if (*r && !ok && (*r)->body_case == B (ERROR))
        fprintf (stderr, "unexpected error %s: %s\n", (*r)->error->code, (*r)->error->message);
    if (!keep)
        ph_wire_free (r);
    return ok;
}

static void s_create_topic (peer_t *p, const char *name)
{
    ph_env_t *r = s_topics (p, &(topics_t){.op = "CreateTopic", .topic = name});
    CHECK (s_is (&r, B (TOPICS_REPLY), false));
}

/* ---- pure checks ----------------------------------------------------------------- */

static void test_checks (void)
{
    CHECK (ctl_alarms_metric_name_valid ("Porthole", true));
    CHECK (ctl_alarms_metric_name_valid ("a b:c/d", true));
    CHECK (!ctl_alarms_metric_name_valid (":x", true));
    CHECK (ctl_alarms_metric_name_valid (":x", false));
    CHECK (!ctl_alarms_metric_name_valid ("", false));
    CHECK (!ctl_alarms_metric_name_valid (" x", false));
    CHECK (!ctl_alarms_metric_name_valid ("x ", false));
    CHECK (!ctl_alarms_metric_name_valid ("tab\there", false));
    CHECK (!ctl_alarms_metric_name_valid ("caf\xc3\xa9", false));
    char name[300];
    memset (name, 'n', sizeof name);
    name[255] = 0;
    CHECK (ctl_alarms_metric_name_valid (name, true));
    name[255] = 'n';
    name[256] = 0;
    CHECK (!ctl_alarms_metric_name_valid (name, true));

    char topic[CTL_TOPIC_NAME_MAX + 1], err[PH_ERRTEXT_MAX];
    CHECK (ctl_alarms_action_check ("topic:ops_1-a", topic, err, sizeof err) == 0);
    CHECK_STR (topic, "ops_1-a");
    const char *good[] = {"instance:stop", "instance:reboot", "instance:end-sessions",
                          "instance:stop:mi-0a1b2c3d4e5f60718", NULL};
    for (size_t i = 0; good[i]; i++) {
        CHECK (ctl_alarms_action_check (good[i], topic, err, sizeof err) == 0);
        CHECK_STR (topic, "");
    }
    const char *bad[] = {"topic:",
                         "topic:a.b",
                         "instance:halt",
                         "instance:stop:",
                         "instance:stop:mi-0A1B2C3D4E5F60718",
                         "instance:stop:mi-123",
                         "instance:stopx",
                         "sns:ops",
                         "",
                         NULL};
    for (size_t i = 0; bad[i]; i++)
        CHECK (ctl_alarms_action_check (bad[i], topic, err, sizeof err) == PH_EINVAL);
    CHECK (ctl_alarms_action_check ("instance:halt", topic, err, sizeof err) == PH_EINVAL);
    h_expect_in ("action", err, "use topic:NAME, instance:stop");

    CHECK (ctl_topics_name_valid ("ops"));
    CHECK (!ctl_topics_name_valid (""));
    CHECK (!ctl_topics_name_valid ("a b"));
    CHECK (!ctl_topics_name_valid ("{x}"));
    char long_topic[CTL_TOPIC_NAME_MAX + 2];
    memset (long_topic, 't', sizeof long_topic);
    long_topic[CTL_TOPIC_NAME_MAX] = 0;
    CHECK (ctl_topics_name_valid (long_topic));
    long_topic[CTL_TOPIC_NAME_MAX] = 't';
    long_topic[CTL_TOPIC_NAME_MAX + 1] = 0;
    CHECK (!ctl_topics_name_valid (long_topic));

    CHECK (ctl_topics_endpoint_valid ("http://127.0.0.1:9000/hook"));
    CHECK (ctl_topics_endpoint_valid ("https://hooks.example.com/a?b=c"));
    CHECK (!ctl_topics_endpoint_valid ("http://"));
    CHECK (!ctl_topics_endpoint_valid ("http:///path"));
    CHECK (!ctl_topics_endpoint_valid ("ftp://example.com/"));
    CHECK (!ctl_topics_endpoint_valid ("http://a b/"));
    CHECK (!ctl_topics_endpoint_valid ("HTTP://example.com/"));
    char url[CTL_TOPIC_ENDPOINT_MAX + 2] = "http://h/";
    memset (url + 9, 'p', sizeof url - 10);
    url[sizeof url - 1] = 0; /* one character too many */
    CHECK (!ctl_topics_endpoint_valid (url));
    url[sizeof url - 2] = 0;
    CHECK (ctl_topics_endpoint_valid (url));

    CHECK (ctl_alarms_stream_id_valid ("1764083045123-0"));
    CHECK (!ctl_alarms_stream_id_valid ("1764083045123"));
    CHECK (!ctl_alarms_stream_id_valid ("-0"));
    CHECK (!ctl_alarms_stream_id_valid ("1-"));
    CHECK (!ctl_alarms_stream_id_valid ("1-2-3"));
    CHECK (!ctl_alarms_stream_id_valid ("+"));
    CHECK (!ctl_alarms_stream_id_valid ("(1-0"));
}

/* ---- alarms --------------------------------------------------------------------- */

static void test_put_and_update (peer_t *admin)
{
    ph_env_t *r = s_put (admin, &(put_t){.name = "sudo-used",
                                         .threshold = 1,
                                         .alarm_actions = {"topic:ops", NULL},
                                         .enabled = -1});
    h_expect_error (&r, "InvalidRequest", "topic ops does not exist; create it first");
    CHECK_STR (h_redis ("EXISTS ph:alarm:{sudo-used}"), "0");
    CHECK_STR (h_redis ("SCARD ph:alarms"), "0");

    s_create_topic (admin, "ops");
    r = s_put (admin, &(put_t){.name = "sudo-used",
                               .threshold = 1,
                               .desc = "a \"sudo\"\n typed",
                               .alarm_actions = {"topic:ops", "instance:end-sessions", NULL},
                               .ok_actions = {"instance:reboot:mi-0a1b2c3d4e5f60718", NULL},
                               .enabled = -1});
    CHECK (s_is (&r, B (ALARMS_REPLY), false));
    CHECK_STR (h_redis ("SISMEMBER ph:alarms sudo-used"), "1");
    const char *want[][2] = {{"alarm_name", "sudo-used"},
                             {"namespace", "Porthole"},
                             {"metric_name", "SudoCount"},
                             {"statistic", "Sum"},
                             {"period", "5"},
                             {"evaluation_periods", "3"},
                             {"datapoints_to_alarm", "3"},
                             {"threshold", "1"},
                             {"comparison_operator", "GreaterThanOrEqualToThreshold"},
                             {"treat_missing_data", "missing"},
                             {"alarm_actions", "topic:ops\ninstance:end-sessions"},
                             {"ok_actions", "instance:reboot:mi-0a1b2c3d4e5f60718"},
                             {"insufficient_data_actions", ""},
                             {"actions_enabled", "1"},
                             {"alarm_description", "a \"sudo\"\n typed"},
                             {"state_value", "INSUFFICIENT_DATA"},
                             {"state_reason", PH_ALARM_INITIAL_REASON},
                             {"state_reason_data", ""}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        CHECK_STR (h_redis ("HGET ph:alarm:{sudo-used} %s", want[i][0]), want[i][1]);
    uint64_t created = strtoull (h_redis ("HGET ph:alarm:{sudo-used} state_updated_ms"), NULL, 10);
    CHECK (created > 0 && created <= ph_now_ms ());
    CHECK_STR (h_redis ("XLEN ph:alarm:{sudo-used}:history"), "1");

    /* the history item of a creation: CloudWatch's shape, valid JSON */
    r = s_alarms (admin, &(alarms_t){.op = "DescribeAlarmHistory", .names = {"sudo-used", NULL}});
    if (s_is (&r, B (ALARMS_REPLY), true) && r->alarms_reply->n_alarm_history_items == 1) {
        Porthole__V1__AlarmHistoryItem *h = r->alarms_reply->alarm_history_items[0];
        CHECK_STR (h->history_item_type, "ConfigurationUpdate");
        CHECK_STR (h->history_summary, "Alarm \"sudo-used\" created");
        CHECK_STR (h->alarm_name, "sudo-used");
        h_expect_in ("data", h->history_data,
                     "{\"version\":\"1.0\",\"type\":\"Create\",\"createdAlarm\":{\"alarmName\":"
                     "\"sudo-used\",\"alarmDescription\":\"a \\\"sudo\\\"\\u000a typed\"");
        h_expect_in ("data", h->history_data,
                     "\"alarmActions\":[\"topic:ops\",\"instance:end-sessions\"]");
        h_expect_in ("data", h->history_data, "\"threshold\":1,");
        CHECK (h->timestamp >= created);
    } else
        CHECK (false);
    ph_wire_free (&r);

    /* a state, then an update: the state stays, the configuration is replaced */
    r = s_alarms (admin, &(alarms_t){.op = "SetAlarmState",
                                     .names = {"sudo-used", NULL},
                                     .state = "ALARM",
                                     .reason = "drill"});
    CHECK (s_is (&r, B (ALARMS_REPLY), false));
    r = s_put (admin, &(put_t){.name = "sudo-used",
                               .threshold = 2.5,
                               .datapoints = 2,
                               .stat = "Maximum",
                               .tmd = "notBreaching",
                               .enabled = 0});
    CHECK (s_is (&r, B (ALARMS_REPLY), false));
    CHECK_STR (h_redis ("HGET ph:alarm:{sudo-used} state_value"), "ALARM");
    CHECK_STR (h_redis ("HGET ph:alarm:{sudo-used} state_reason"), "drill");
    CHECK_STR (h_redis ("HGET ph:alarm:{sudo-used} threshold"), "2.5");
    CHECK_STR (h_redis ("HGET ph:alarm:{sudo-used} datapoints_to_alarm"), "2");
    CHECK_STR (h_redis ("HGET ph:alarm:{sudo-used} statistic"), "Maximum");
    CHECK_STR (h_redis ("HGET ph:alarm:{sudo-used} treat_missing_data"), "notBreaching");
    CHECK_STR (h_redis ("HGET ph:alarm:{sudo-used} actions_enabled"), "0");
    CHECK_STR (h_redis ("HGET ph:alarm:{sudo-used} alarm_actions"), "");
    CHECK_STR (h_redis ("HGET ph:alarm:{sudo-used} alarm_description"), "");
    CHECK_STR (h_redis ("XLEN ph:alarm:{sudo-used}:history"), "3");

    r = s_alarms (admin, &(alarms_t){.op = "DescribeAlarms", .names = {"sudo-used", NULL}});
    if (s_is (&r, B (ALARMS_REPLY), true) && r->alarms_reply->n_metric_alarms == 1) {
        const Porthole__V1__MetricAlarm *m = r->alarms_reply->metric_alarms[0];
        CHECK_STR (m->alarm_name, "sudo-used");
        CHECK_STR (m->state_value, "ALARM");
        CHECK_STR (m->statistic, "Maximum");
        CHECK (m->threshold == 2.5 && m->period == 5 && m->evaluation_periods == 3 &&
               m->datapoints_to_alarm == 2);
        CHECK (!m->actions_enabled && m->n_alarm_actions == 0 && m->n_ok_actions == 0);
        CHECK (m->state_updated_timestamp >= created);
        CHECK (m->configuration_updated_timestamp >= m->state_updated_timestamp);
    } else
        CHECK (false);
    ph_wire_free (&r);
    r = s_alarms (admin, &(alarms_t){.op = "DescribeAlarmHistory",
                                     .names = {"sudo-used", NULL},
                                     .type = "ConfigurationUpdate"});
    if (s_is (&r, B (ALARMS_REPLY), true) && r->alarms_reply->n_alarm_history_items == 2) {
        CHECK_STR (r->alarms_reply->alarm_history_items[0]->history_summary,
                   "Alarm \"sudo-used\" updated");
        h_expect_in ("update", r->alarms_reply->alarm_history_items[0]->history_data,
                     "\"type\":\"Update\",\"updatedAlarm\":{");
    } else
        CHECK (false);
    ph_wire_free (&r);
}

static void test_put_refused (peer_t *admin)
{
    struct {
        put_t q;
        const char *want;
    } cases[] = {
        {{.name = "x", .cmp = "GreaterThan", .enabled = -1}, "ComparisonOperator"},
        {{.name = "x", .period = 7, .enabled = -1}, "Period"},
        {{.name = "x", .periods = 2, .datapoints = 3, .enabled = -1}, "DatapointsToAlarm"},
        {{.name = "x", .periods = 100000, .enabled = -1}, "EvaluationPeriods"},
        {{.name = "x", .stat = "p99", .enabled = -1}, "Statistic"},
        {{.name = "x", .tmd = "Missing", .enabled = -1}, "did you mean missing"},
        {{.name = "x", .threshold = NAN, .enabled = -1}, "Threshold"},
        {{.name = "x", .threshold = INFINITY, .enabled = -1}, "Threshold"},
        {{.name = "a*b", .enabled = -1}, "AlarmName"},
        {{.name = "", .enabled = -1}, "AlarmName"},
        {{.name = "x", .ns = ":aws", .enabled = -1}, "Namespace ':aws' is not valid"},
        {{.name = "x", .metric = " m", .enabled = -1}, "MetricName ' m' is not valid"},
        {{.name = "x", .alarm_actions = {"instance:halt", NULL}, .enabled = -1},
         "AlarmActions: 'instance:halt' is not an alarm action"},
        {{.name = "x", .ok_actions = {"topic:a.b", NULL}, .enabled = -1},
         "OKActions: action 'topic:a.b' does not name a topic"},
        {{.name = "x",
          .alarm_actions = {"instance:stop", "instance:stop", "instance:stop", "instance:stop",
                            "instance:stop", "instance:stop", NULL},
          .enabled = -1},
         "at most 5"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ph_env_t *r = s_put (admin, &cases[i].q);
        h_expect_error (&r, "InvalidRequest", cases[i].want);
    }
    char desc[CTL_ALARM_DESCRIPTION_MAX + 2];
    memset (desc, 'd', sizeof desc);
    desc[sizeof desc - 1] = 0;
    ph_env_t *r = s_put (admin, &(put_t){.name = "x", .desc = desc, .enabled = -1});
    h_expect_error (&r, "InvalidRequest", "AlarmDescription has more than 1024 characters");
    desc[sizeof desc - 2] = 0;
    r = s_put (admin, &(put_t){.name = "desc-ok", .desc = desc, .threshold = 1, .enabled = -1});
    CHECK (s_is (&r, B (ALARMS_REPLY), false));

    /* no settings at all */
    Porthole__V1__AlarmsRequest q = PORTHOLE__V1__ALARMS_REQUEST__INIT;
    q.op = "PutMetricAlarm";
    ph_env_t env = PH_ENV_INIT;
    env.body_case = B (ALARMS);
    env.alarms = &q;
    r = h_call (admin, &env);
    h_expect_error (&r, "InvalidRequest", "PutMetricAlarm needs the alarm's settings");
    r = s_alarms (admin, &(alarms_t){.op = "PutAlarm"});
    h_expect_error (&r, "InvalidRequest", "'PutAlarm' is not an alarms operation");
    CHECK_STR (h_redis ("EXISTS ph:alarm:{x}"), "0");
    r = s_alarms (admin, &(alarms_t){.op = "DeleteAlarms", .names = {"desc-ok", NULL}});
    CHECK (s_is (&r, B (ALARMS_REPLY), false));
}

static size_t s_transitions (const char *alarm)
{
    ph_reply_t *x = ph_redis_sync_cmd (H.sync, "XRANGE ph:alarm:transitions - +");
    size_t n = 0;
    for (size_t i = 0; i < ph_reply_count (x); i++) {
        const char *a = ph_reply_field (ph_reply_at (ph_reply_at (x, i), 1), "alarm");
        n += a && strcmp (a, alarm) == 0;
    }
    ph_reply_free (&x);
    return n;
}

static void test_set_state (peer_t *admin)
{
    ph_env_t *r = s_put (admin, &(put_t){.name = "st", .threshold = 1, .enabled = -1});
    CHECK (s_is (&r, B (ALARMS_REPLY), false));
    r = s_alarms (admin, &(alarms_t){.op = "SetAlarmState",
                                     .names = {"st", NULL},
                                     .state = "ALARM",
                                     .reason = "page me",
                                     .data = "{\"n\": [1, 2]}"});
    CHECK (s_is (&r, B (ALARMS_REPLY), false));
    CHECK (s_transitions ("st") == 1);
    ph_reply_t *x = ph_redis_sync_cmd (H.sync, "XREVRANGE ph:alarm:transitions + - COUNT 1");
    const ph_reply_t *f = ph_reply_at (ph_reply_at (x, 0), 1);
    CHECK_STR (ph_reply_field (f, "alarm"), "st");
    CHECK_STR (ph_reply_field (f, "old"), "INSUFFICIENT_DATA");
    CHECK_STR (ph_reply_field (f, "new"), "ALARM");
    CHECK_STR (ph_reply_field (f, "reason"), "page me");
    CHECK (ph_reply_field (f, "ts") && strlen (ph_reply_field (f, "ts")) == 13);
    ph_reply_free (&x);
    CHECK_STR (h_redis ("HGET ph:alarm:{st} state_reason_data"), "{\"n\": [1, 2]}");
    r = s_alarms (
        admin,
        &(alarms_t){.op = "DescribeAlarmHistory", .names = {"st", NULL}, .type = "StateUpdate"});
    if (s_is (&r, B (ALARMS_REPLY), true) && r->alarms_reply->n_alarm_history_items == 1) {
        const Porthole__V1__AlarmHistoryItem *h = r->alarms_reply->alarm_history_items[0];
        CHECK_STR (h->history_summary, "Alarm updated from INSUFFICIENT_DATA to ALARM");
        CHECK_STR (h->history_data,
                   "{\"version\":\"1.0\",\"oldState\":{\"stateValue\":\"INSUFFICIENT_DATA\","
                   "\"stateReason\":\"Unchecked: Initial alarm creation\"},\"newState\":{"
                   "\"stateValue\":\"ALARM\",\"stateReason\":\"page me\",\"stateReasonData\":{"
                   "\"n\": [1, 2]}}}");
    } else
        CHECK (false);
    ph_wire_free (&r);

    /* the same state: nothing changes, no transition (no action runs) */
    r = s_alarms (admin, &(alarms_t){.op = "SetAlarmState",
                                     .names = {"st", NULL},
                                     .state = "ALARM",
                                     .reason = "again"});
    CHECK (s_is (&r, B (ALARMS_REPLY), false));
    CHECK (s_transitions ("st") == 1);
    CHECK_STR (h_redis ("XLEN ph:alarm:{st}:history"), "2");
    CHECK_STR (h_redis ("HGET ph:alarm:{st} state_reason"), "page me");

    r = s_alarms (admin, &(alarms_t){.op = "SetAlarmState",
                                     .names = {"st", NULL},
                                     .state = "OK",
                                     .reason = "x",
                                     .data = "{nope"});
    h_expect_error (&r, "InvalidRequest", "StateReasonData is not JSON");
    r = s_alarms (
        admin,
        &(alarms_t){.op = "SetAlarmState", .names = {"ghost", NULL}, .state = "OK", .reason = "x"});
    h_expect_error (&r, "ResourceNotFound", "alarm ghost does not exist");
    r = s_alarms (
        admin,
        &(alarms_t){.op = "SetAlarmState", .names = {"st", NULL}, .state = "Ok", .reason = "x"});
    h_expect_error (&r, "InvalidRequest", "StateValue 'Ok' is not OK, ALARM or INSUFFICIENT_DATA");
    r = s_alarms (admin, &(alarms_t){.op = "SetAlarmState",
                                     .names = {"st", "st2", NULL},
                                     .state = "OK",
                                     .reason = "x"});
    h_expect_error (&r, "InvalidRequest", "needs exactly one alarm name");
    CHECK (s_transitions ("st") == 1);
    CHECK_STR (h_redis ("HGET ph:alarm:{st} state_value"), "ALARM");

    r = s_alarms (
        admin,
        &(alarms_t){.op = "SetAlarmState", .names = {"st", NULL}, .state = "OK", .reason = "calm"});
    CHECK (s_is (&r, B (ALARMS_REPLY), false));
    CHECK (s_transitions ("st") == 2);
    CHECK_STR (h_redis ("HGET ph:alarm:{st} state_reason_data"), "");
}

static void test_describe_and_history_pages (peer_t *admin)
{
    const char *names[] = {"page-a", "page-b", "page-c", "other"};
    for (size_t i = 0; i < 4; i++) {
        ph_env_t *r = s_put (admin, &(put_t){.name = names[i], .threshold = 1, .enabled = -1});
        CHECK (s_is (&r, B (ALARMS_REPLY), false));
    }
    ph_env_t *r =
        s_alarms (admin, &(alarms_t){.op = "DescribeAlarms", .prefix = "page-", .max = 2});
    if (s_is (&r, B (ALARMS_REPLY), true) && r->alarms_reply->n_metric_alarms == 2) {
        CHECK_STR (r->alarms_reply->metric_alarms[0]->alarm_name, "page-a");
        CHECK_STR (r->alarms_reply->metric_alarms[1]->alarm_name, "page-b");
        CHECK_STR (r->alarms_reply->next_token, "page-b");
    } else
        CHECK (false);
    ph_wire_free (&r);
    r = s_alarms (
        admin, &(alarms_t){.op = "DescribeAlarms", .prefix = "page-", .max = 2, .token = "page-b"});
    if (s_is (&r, B (ALARMS_REPLY), true) && r->alarms_reply->n_metric_alarms == 1) {
        CHECK_STR (r->alarms_reply->metric_alarms[0]->alarm_name, "page-c");
        CHECK_STR (r->alarms_reply->next_token, "");
    } else
        CHECK (false);
    ph_wire_free (&r);
    r = s_alarms (admin, &(alarms_t){.op = "SetAlarmState",
                                     .names = {"page-b", NULL},
                                     .state = "ALARM",
                                     .reason = "x"});
    CHECK (s_is (&r, B (ALARMS_REPLY), false));
    r = s_alarms (admin, &(alarms_t){.op = "DescribeAlarms",
                                     .names = {"page-c", "page-b", "ghost", "page-b", NULL},
                                     .state = "ALARM"});
    CHECK (s_is (&r, B (ALARMS_REPLY), true) && r->alarms_reply->n_metric_alarms == 1 &&
           strcmp (r->alarms_reply->metric_alarms[0]->alarm_name, "page-b") == 0);
    ph_wire_free (&r);
    r = s_alarms (admin, &(alarms_t){.op = "DescribeAlarms"});
    CHECK (s_is (&r, B (ALARMS_REPLY), true) && r->alarms_reply->n_metric_alarms >= 4);
    ph_wire_free (&r);

    struct {
        alarms_t q;
        const char *want;
    } bad[] = {
        {{.op = "DescribeAlarms", .names = {"a", NULL}, .prefix = "a"}, "not both"},
        {{.op = "DescribeAlarms", .state = "BAD"}, "StateValue must be"},
        {{.op = "DescribeAlarms", .max = 101}, "MaxRecords must be 1..100"},
        {{.op = "DescribeAlarms", .token = "a*"}, "NextToken"},
        {{.op = "DescribeAlarms", .names = {"a?", NULL}}, "not an alarm name"},
        {{.op = "DescribeAlarmHistory"}, "needs exactly one alarm name"},
        {{.op = "DescribeAlarmHistory", .names = {"page-a", NULL}, .type = "Config"},
         "HistoryItemType must be"},
        {{.op = "DescribeAlarmHistory", .names = {"page-a", NULL}, .start = 5, .end = 4},
         "StartDate is after EndDate"},
        {{.op = "DescribeAlarmHistory", .names = {"page-a", NULL}, .token = "f/1"}, "NextToken"},
        {{.op = "DeleteAlarms"}, "needs 1..100 alarm names"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        r = s_alarms (admin, &bad[i].q);
        h_expect_error (&r, "InvalidRequest", bad[i].want);
    }

    /* history: page-b has StateUpdate then ConfigurationUpdate (newest first) */
    r = s_alarms (admin,
                  &(alarms_t){.op = "DescribeAlarmHistory", .names = {"page-b", NULL}, .max = 1});
    char token[CTL_ALARM_TOKEN_MAX + 1] = "";
    if (s_is (&r, B (ALARMS_REPLY), true) && r->alarms_reply->n_alarm_history_items == 1) {
        CHECK_STR (r->alarms_reply->alarm_history_items[0]->history_item_type, "StateUpdate");
        CHECK (ctl_alarms_stream_id_valid (r->alarms_reply->next_token));
        snprintf (token, sizeof token, "%s", r->alarms_reply->next_token);
    } else
        CHECK (false);
    ph_wire_free (&r);
    r = s_alarms (admin, &(alarms_t){.op = "DescribeAlarmHistory",
                                     .names = {"page-b", NULL},
                                     .max = 1,
                                     .token = token});
    CHECK (s_is (&r, B (ALARMS_REPLY), true) && r->alarms_reply->n_alarm_history_items == 1 &&
           strcmp (r->alarms_reply->alarm_history_items[0]->history_item_type,
                   "ConfigurationUpdate") == 0 &&
           *r->alarms_reply->next_token == 0);
    ph_wire_free (&r);
    uint64_t now = ph_now_ms ();
    r = s_alarms (admin, &(alarms_t){.op = "DescribeAlarmHistory",
                                     .names = {"page-b", NULL},
                                     .start = now + 3600000});
    CHECK (s_is (&r, B (ALARMS_REPLY), true) && r->alarms_reply->n_alarm_history_items == 0);
    ph_wire_free (&r);
    r = s_alarms (admin, &(alarms_t){.op = "DescribeAlarmHistory",
                                     .names = {"page-b", NULL},
                                     .start = now - 3600000,
                                     .end = now + 3600000});
    CHECK (s_is (&r, B (ALARMS_REPLY), true) && r->alarms_reply->n_alarm_history_items == 2);
    ph_wire_free (&r);
    r = s_alarms (
        admin,
        &(alarms_t){.op = "DescribeAlarmHistory", .names = {"page-b", NULL}, .end = now - 3600000});
    CHECK (s_is (&r, B (ALARMS_REPLY), true) && r->alarms_reply->n_alarm_history_items == 0);
    ph_wire_free (&r);
    r = s_alarms (admin, &(alarms_t){.op = "DescribeAlarmHistory", .names = {"ghost", NULL}});
    CHECK (s_is (&r, B (ALARMS_REPLY), true) && r->alarms_reply->n_alarm_history_items == 0);
    ph_wire_free (&r);

    /* delete: several, one that does not exist */
    r = s_alarms (admin, &(alarms_t){.op = "DeleteAlarms",
                                     .names = {"page-a", "page-b", "page-c", "never", NULL}});
    CHECK (s_is (&r, B (ALARMS_REPLY), false));
    CHECK_STR (h_redis ("EXISTS ph:alarm:{page-b} ph:alarm:{page-b}:history"), "0");
    CHECK_STR (h_redis ("SISMEMBER ph:alarms page-a"), "0");
    CHECK_STR (h_redis ("SISMEMBER ph:alarms other"), "1");
}

/* ---- topics ---------------------------------------------------------------------- */

static void test_topics (peer_t *admin)
{
    s_create_topic (admin, "t1");
    CHECK_STR (h_redis ("HGET ph:topic:{t1} name"), "t1");
    char created[32];
    snprintf (created, sizeof created, "%s", h_redis ("HGET ph:topic:{t1} created_ms"));
    s_create_topic (admin, "t1"); /* idempotent */
    CHECK_STR (h_redis ("HGET ph:topic:{t1} created_ms"), created);
    s_create_topic (admin, "a-first");
    ph_env_t *r = s_topics (admin, &(topics_t){.op = "ListTopics"});
    CHECK (s_is (&r, B (TOPICS_REPLY), true) && r->topics_reply->n_topics >= 3 &&
           strcmp (r->topics_reply->topics[0], "a-first") == 0);
    ph_wire_free (&r);

    r = s_topics (admin, &(topics_t){.op = "Subscribe",
                                     .topic = "t1",
                                     .protocol = "webhook",
                                     .endpoint = "http://127.0.0.1:9/x"});
    char id[64] = "";
    if (s_is (&r, B (TOPICS_REPLY), true))
        snprintf (id, sizeof id, "%s", r->topics_reply->subscription_id);
    ph_wire_free (&r);
    CHECK (strncmp (id, "sub-", 4) == 0 && strlen (id) == 20);
    CHECK_STR (h_redis ("HGET ph:subscription:{%s} format", id), "json");
    CHECK_STR (h_redis ("HGET ph:subscription:{%s} delivered", id), "0");
    CHECK_STR (h_redis ("SISMEMBER ph:topic:{t1}:subscriptions %s", id), "1");
    r = s_topics (admin, &(topics_t){.op = "Subscribe",
                                     .topic = "t1",
                                     .protocol = "webhook",
                                     .endpoint = "http://127.0.0.1:9/x",
                                     .format = "json"});
    CHECK (s_is (&r, B (TOPICS_REPLY), true) && strcmp (r->topics_reply->subscription_id, id) == 0);
    ph_wire_free (&r);
    h_redis ("HSET ph:subscription:{%s} delivered 3 failed 1 last_error %s last_attempt_ms 42", id,
             "HTTP 500");
    r = s_topics (admin, &(topics_t){.op = "ListSubscriptions", .topic = "t1"});
    if (s_is (&r, B (TOPICS_REPLY), true) && r->topics_reply->n_subscriptions == 1) {
        const Porthole__V1__Subscription *s = r->topics_reply->subscriptions[0];
        CHECK_STR (s->subscription_id, id);
        CHECK_STR (s->topic, "t1");
        CHECK_STR (s->protocol, "webhook");
        CHECK_STR (s->endpoint, "http://127.0.0.1:9/x");
        CHECK_STR (s->last_error, "HTTP 500");
        CHECK (s->delivered == 3 && s->failed == 1 && s->last_attempt == 42);
    } else
        CHECK (false);
    ph_wire_free (&r);

    struct {
        topics_t q;
        const char *code, *want;
    } bad[] = {
        {{.op = "Subscribe", .topic = "t1", .protocol = "email", .endpoint = "http://h/"},
         "InvalidRequest",
         "protocol 'email' is not supported"},
        {{.op = "Subscribe", .topic = "t1", .protocol = "webhook", .endpoint = "gopher://h/"},
         "InvalidRequest",
         "is not a webhook URL"},
        {{.op = "Subscribe",
          .topic = "t1",
          .protocol = "webhook",
          .endpoint = "http://h/",
          .format = "xml"},
         "InvalidRequest",
         "format 'xml' is not json or alertmanager"},
        {{.op = "Subscribe", .topic = "nope", .protocol = "webhook", .endpoint = "http://h/"},
         "ResourceNotFound",
         "topic nope does not exist"},
        {{.op = "CreateTopic", .topic = "a.b"}, "InvalidRequest", "needs a topic name"},
        {{.op = "Unsubscribe", .id = "sub-x"}, "InvalidRequest", "sub- and 16 hex digits"},
        {{.op = "Unsubscribe", .id = "sub-0000000000000000"},
         "ResourceNotFound",
         "subscription sub-0000000000000000 does not exist"},
        {{.op = "Publish", .topic = "t1"}, "InvalidRequest", "needs a message"},
        {{.op = "Publish", .topic = "t1", .message = "m", .subject = "two\nlines"},
         "InvalidRequest",
         "on one line"},
        {{.op = "Publish", .topic = "nope", .message = "m"}, "ResourceNotFound", "topic nope"},
        {{.op = "Watch", .topic = "t1", .after = "x"}, "InvalidRequest", "after_id"},
        {{.op = "Watch", .topic = "t1", .max = 1001}, "InvalidRequest", "max_results is 1..1000"},
        {{.op = "Watch", .topic = "nope"}, "ResourceNotFound", "topic nope"},
        {{.op = "ListSubscriptions", .topic = "nope"}, "ResourceNotFound", "topic nope"},
        {{.op = "Frob"}, "InvalidRequest", "'Frob' is not a topics operation"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        r = s_topics (admin, &bad[i].q);
        h_expect_error (&r, bad[i].code, bad[i].want);
    }

    /* watch: from now on, then what came after */
    r = s_topics (admin, &(topics_t){.op = "Watch", .topic = "t1"});
    CHECK (s_is (&r, B (TOPICS_REPLY), true) && strcmp (r->topics_reply->last_id, "0-0") == 0 &&
           r->topics_reply->n_notifications == 0);
    ph_wire_free (&r);
    r = s_topics (admin, &(topics_t){.op = "Publish", .topic = "t1", .message = "before"});
    CHECK (s_is (&r, B (TOPICS_REPLY), false));
    r = s_topics (admin, &(topics_t){.op = "Watch", .topic = "t1"});
    char after[64] = "";
    if (s_is (&r, B (TOPICS_REPLY), true) && r->topics_reply->n_notifications == 0)
        snprintf (after, sizeof after, "%s", r->topics_reply->last_id);
    ph_wire_free (&r);
    CHECK (ctl_alarms_stream_id_valid (after));
    const char *messages[] = {"plain \"text\"", "{\"AlarmName\": \"a\"}", "[1,2]", "42"};
    const char *stored[] = {"\"plain \\\"text\\\"\"", "{\"AlarmName\": \"a\"}", "[1,2]", "42"};
    for (size_t i = 0; i < 4; i++) {
        r = s_topics (
            admin,
            &(topics_t){.op = "Publish", .topic = "t1", .subject = "s", .message = messages[i]});
        CHECK (s_is (&r, B (TOPICS_REPLY), true) &&
               ctl_alarms_stream_id_valid (r->topics_reply->last_id));
        ph_wire_free (&r);
    }
    r = s_topics (admin, &(topics_t){.op = "Watch", .topic = "t1", .after = after, .max = 3});
    char last[64] = "";
    if (s_is (&r, B (TOPICS_REPLY), true) && r->topics_reply->n_notifications == 3) {
        for (size_t i = 0; i < 3; i++) {
            const Porthole__V1__Notification *n = r->topics_reply->notifications[i];
            CHECK_STR (n->message, stored[i]);
            CHECK_STR (n->subject, "s");
            CHECK_STR (n->topic, "t1");
            CHECK (n->timestamp > 0);
        }
        CHECK_STR (r->topics_reply->last_id, r->topics_reply->notifications[2]->id);
        snprintf (last, sizeof last, "%s", r->topics_reply->last_id);
    } else
        CHECK (false);
    ph_wire_free (&r);
    r = s_topics (admin, &(topics_t){.op = "Watch", .topic = "t1", .after = last});
    CHECK (s_is (&r, B (TOPICS_REPLY), true) && r->topics_reply->n_notifications == 1 &&
           strcmp (r->topics_reply->notifications[0]->message, stored[3]) == 0);
    ph_wire_free (&r);

    /* unsubscribe, delete with everything under it */
    r = s_topics (admin, &(topics_t){.op = "Subscribe",
                                     .topic = "t1",
                                     .protocol = "webhook",
                                     .endpoint = "https://h/am",
                                     .format = "alertmanager"});
    char id2[64] = "";
    if (s_is (&r, B (TOPICS_REPLY), true))
        snprintf (id2, sizeof id2, "%s", r->topics_reply->subscription_id);
    ph_wire_free (&r);
    CHECK (strcmp (id, id2) != 0);
    r = s_topics (admin, &(topics_t){.op = "Unsubscribe", .id = id});
    CHECK (s_is (&r, B (TOPICS_REPLY), false));
    CHECK_STR (h_redis ("EXISTS ph:subscription:{%s}", id), "0");
    CHECK_STR (h_redis ("SISMEMBER ph:topic:{t1}:subscriptions %s", id), "0");
    r = s_topics (admin, &(topics_t){.op = "DeleteTopic", .topic = "t1"});
    CHECK (s_is (&r, B (TOPICS_REPLY), false));
    CHECK_STR (h_redis ("EXISTS ph:topic:{t1} ph:topic:{t1}:subscriptions ph:topic:{t1}:messages "
                        "ph:subscription:{%s}",
                        id2),
               "0");
    CHECK_STR (h_redis ("SISMEMBER ph:topics t1"), "0");
    r = s_topics (admin, &(topics_t){.op = "DeleteTopic", .topic = "t1"}); /* no error */
    CHECK (s_is (&r, B (TOPICS_REPLY), false));
    r = s_topics (admin, &(topics_t){.op = "ListSubscriptions"});
    CHECK (s_is (&r, B (TOPICS_REPLY), false));
}

/*  Pages end before CTL_ALARM_REPLY_BYTES_MAX / CTL_TOPIC_REPLY_BYTES_MAX
 *  so that every reply fits in a frame; the token goes on. */
static void test_big_pages (peer_t *admin)
{
    ph_env_t *r = s_put (admin, &(put_t){.name = "big", .threshold = 1, .enabled = -1});
    CHECK (s_is (&r, B (ALARMS_REPLY), false));
    static char data[CTL_ALARM_REASON_DATA_MAX + 1];
    memset (data, ' ', sizeof data - 1);
    data[0] = '"';
    data[sizeof data - 2] = '"';
    const int changes = 80; /* ~8 KB of history data each: old and new reason data */
    for (int i = 0; i < changes; i++) {
        r = s_alarms (admin, &(alarms_t){.op = "SetAlarmState",
                                         .names = {"big", NULL},
                                         .state = i % 2 ? "OK" : "ALARM",
                                         .reason = "flap",
                                         .data = data});
        CHECK (s_is (&r, B (ALARMS_REPLY), false));
    }
    size_t total = 0, pages = 0;
    char token[CTL_ALARM_TOKEN_MAX + 1] = "";
    do {
        r = s_alarms (
            admin,
            &(alarms_t){.op = "DescribeAlarmHistory", .names = {"big", NULL}, .token = token});
        if (!s_is (&r, B (ALARMS_REPLY), true))
            break;
        size_t bytes = 0;
        for (size_t i = 0; i < r->alarms_reply->n_alarm_history_items; i++)
            bytes += strlen (r->alarms_reply->alarm_history_items[i]->history_data);
        CHECK (bytes <= CTL_ALARM_REPLY_BYTES_MAX);
        total += r->alarms_reply->n_alarm_history_items;
        snprintf (token, sizeof token, "%s", r->alarms_reply->next_token);
        pages++;
        ph_wire_free (&r);
    } while (*token && pages < 10);
    CHECK (total == (size_t)changes + 1 && pages == 2);
    r = s_alarms (admin, &(alarms_t){.op = "DeleteAlarms", .names = {"big", NULL}});
    CHECK (s_is (&r, B (ALARMS_REPLY), false));

    s_create_topic (admin, "big-t");
    r = s_topics (admin, &(topics_t){.op = "Watch", .topic = "big-t"});
    char after[64] = "";
    if (s_is (&r, B (TOPICS_REPLY), true))
        snprintf (after, sizeof after, "%s", r->topics_reply->last_id);
    ph_wire_free (&r);
    static char message[15000];
    memset (message, 'm', sizeof message - 1);
    const int published = 40; /* 600 KB */
    for (int i = 0; i < published; i++) {
        r = s_topics (admin, &(topics_t){.op = "Publish", .topic = "big-t", .message = message});
        CHECK (s_is (&r, B (TOPICS_REPLY), false));
    }
    size_t got = 0;
    for (pages = 0; pages < 10; pages++) {
        r = s_topics (admin, &(topics_t){.op = "Watch", .topic = "big-t", .after = after});
        if (!s_is (&r, B (TOPICS_REPLY), true) || r->topics_reply->n_notifications == 0) {
            ph_wire_free (&r);
            break;
        }
        CHECK (r->topics_reply->n_notifications * sizeof message <=
               CTL_TOPIC_REPLY_BYTES_MAX + 100);
        got += r->topics_reply->n_notifications;
        snprintf (after, sizeof after, "%s", r->topics_reply->last_id);
        ph_wire_free (&r);
    }
    CHECK (got == (size_t)published && pages == 2);
    r = s_topics (admin, &(topics_t){.op = "DeleteTopic", .topic = "big-t"});
    CHECK (s_is (&r, B (TOPICS_REPLY), false));
}

/* ---- authorisation ------------------------------------------------------------------ */

static const char s_team_policy[] =
    "{\"Version\": \"2026-11-01\", \"Statement\": [{\"Effect\": \"Allow\", \"Action\": "
    "[\"alarms:*\"], \"Resource\": \"alarm/team-*\"}, {\"Effect\": \"Allow\", \"Action\": "
    "\"topics:*\", \"Resource\": \"topic/team-*\"}]}";

static void test_authorisation (peer_t *admin)
{
    peer_t *bob = h_user ("bob", false, NULL);
    ph_env_t *r = s_put (bob, &(put_t){.name = "bobs", .threshold = 1, .enabled = -1});
    h_expect_error (&r, "AccessDenied",
                    "user bob may not alarms:PutMetricAlarm on alarm/bobs (no statement allows "
                    "it)");
    r = s_alarms (bob, &(alarms_t){.op = "DescribeAlarms"});
    h_expect_error (&r, "AccessDenied", "alarms:DescribeAlarms on *");
    r = s_topics (bob, &(topics_t){.op = "ListTopics"});
    h_expect_error (&r, "AccessDenied", "topics:ListTopics on *");
    CHECK_STR (h_redis ("EXISTS ph:alarm:{bobs}"), "0");

    h_policy ("team", s_team_policy);
    peer_t *carol = h_user ("carol", false, "team");
    s_create_topic (admin, "other-t");
    s_create_topic (carol, "team-t");
    r = s_put (carol, &(put_t){.name = "team-a", .threshold = 1, .enabled = -1});
    CHECK (s_is (&r, B (ALARMS_REPLY), false));
    r = s_put (carol, &(put_t){.name = "other-a", .threshold = 1, .enabled = -1});
    h_expect_error (&r, "AccessDenied", "alarms:PutMetricAlarm on alarm/other-a");
    r = s_put (admin, &(put_t){.name = "other-a", .threshold = 1, .enabled = -1});
    CHECK (s_is (&r, B (ALARMS_REPLY), false));
    r = s_alarms (carol, &(alarms_t){.op = "DeleteAlarms", .names = {"team-a", "other-a", NULL}});
    h_expect_error (&r, "AccessDenied", "alarms:DeleteAlarms on alarm/other-a");
    CHECK_STR (h_redis ("EXISTS ph:alarm:{team-a}"), "1"); /* all or nothing */
    r = s_alarms (carol, &(alarms_t){.op = "SetAlarmState",
                                     .names = {"team-a", NULL},
                                     .state = "ALARM",
                                     .reason = "x"});
    CHECK (s_is (&r, B (ALARMS_REPLY), false));

    /* unsubscribe is authorised on the subscription's topic */
    r = s_topics (admin, &(topics_t){.op = "Subscribe",
                                     .topic = "other-t",
                                     .protocol = "webhook",
                                     .endpoint = "http://h/"});
    char id[64] = "";
    if (s_is (&r, B (TOPICS_REPLY), true))
        snprintf (id, sizeof id, "%s", r->topics_reply->subscription_id);
    ph_wire_free (&r);
    r = s_topics (carol, &(topics_t){.op = "Unsubscribe", .id = id});
    h_expect_error (&r, "AccessDenied", "topics:Unsubscribe on topic/other-t");
    CHECK_STR (h_redis ("EXISTS ph:subscription:{%s}", id), "1");
    r = s_topics (carol, &(topics_t){.op = "Watch", .topic = "other-t"});
    h_expect_error (&r, "AccessDenied", "topics:Watch on topic/other-t");
    r = s_topics (carol, &(topics_t){.op = "Publish", .topic = "team-t", .message = "hi"});
    CHECK (s_is (&r, B (TOPICS_REPLY), false));
    h_peer_destroy (&bob);
    h_peer_destroy (&carol);
}

int main (void)
{
    setenv ("PORTHOLE_LOG", "error", 1);
    ph_log_init ("test_ctl_alarms");
    zsys_init ();
    zsys_handler_set (NULL);
    test_checks ();
    if (!h_redis_start () || !h_ctl_start (1000)) {
        fprintf (stderr, "cannot start redis-server or the controller\n");
        CHECK (false);
        h_stop ();
        PH_TEST_END ();
    }
    peer_t *admin = h_user ("alice", true, NULL);
    test_put_and_update (admin);
    test_put_refused (admin);
    test_set_state (admin);
    test_describe_and_history_pages (admin);
    test_topics (admin);
    test_big_pages (admin);
    test_authorisation (admin);
    h_peer_destroy (&admin);
    h_stop ();
    PH_TEST_END ();
}
