/*  Unit tests of cli/cli_alarms.c, cli/cli_topics.c and
 *  cli/cli_help_alarms.c: every verb of the alarms and topics groups has a
 *  help text that starts with its usage and documents each of its options
 *  and the exit codes; bad options are usage errors (64) that send nothing;
 *  the requests carry what the options said, and the replies print with
 *  the aws member names (MetricAlarms, AlarmHistoryItems, SubscriptionId,
 *  ...); describe-alarms follows NextToken; watch starts from the newest id
 *  and stops after --max-notifications. The controller is a fake
 *  (cli_fake.h). */
#include "cli_group.h"
#include "cli_help.h"
#include "cli_test.h"

#include <jansson.h>

#define B(x) PORTHOLE__V1__ENVELOPE__BODY_##x

static char s_dir[] = "/tmp/ph-test-cli-alarms-XXXXXX";
static ph_keypair_t s_server_kp;

/* ---- the fake controller ----------------------------------------------------- */

static void s_send (zsock_t *router, ph_wire_rx_t *rx, const ph_env_t *req, ph_env_t *env)
{
    env->version = PH_WIRE_VERSION;
    env->request_id = req->request_id;
    ph_wire_send (router, rx->routing_id, rx->routing_id_len, env);
}

static void s_answer_alarms (zsock_t *router, ph_wire_rx_t *rx, const ph_env_t *req)
{
    const Porthole__V1__AlarmsRequest *r = req->alarms;
    Porthole__V1__AlarmsReply body = PORTHOLE__V1__ALARMS_REPLY__INIT;
    Porthole__V1__MetricAlarm m = PORTHOLE__V1__METRIC_ALARM__INIT;
    Porthole__V1__MetricAlarm *ms[] = {&m};
    Porthole__V1__AlarmHistoryItem h = PORTHOLE__V1__ALARM_HISTORY_ITEM__INIT;
    Porthole__V1__AlarmHistoryItem *hs[] = {&h};
    char *actions[] = {"topic:ops", "instance:stop"};
    body.op = r->op;
    if (strcmp (r->op, "DescribeAlarms") == 0) {
        bool first = !*r->next_token;
        m.alarm_name = first ? "a1" : "a2";
        m.namespace_ = "Porthole";
        m.metric_name = "SudoCount";
        m.statistic = "Sum";
        m.period = 5;
        m.evaluation_periods = 3;
        m.datapoints_to_alarm = 2;
        m.threshold = 1;
        m.comparison_operator = "GreaterThanThreshold";
        m.treat_missing_data = "missing";
        m.alarm_actions = actions;
        m.n_alarm_actions = 2;
        m.actions_enabled = true;
        m.state_value = "ALARM";
        m.state_reason = "Threshold Crossed";
        m.state_updated_timestamp = 1764083045123ULL;
        m.configuration_updated_timestamp = 1764083000000ULL;
        body.metric_alarms = ms;
        body.n_metric_alarms = 1;
        body.next_token = first ? "a1" : "";
    } else if (strcmp (r->op, "DescribeAlarmHistory") == 0) {
        h.alarm_name = r->n_alarm_names ? r->alarm_names[0] : "";
        h.timestamp = 1764083045123ULL;
        h.history_item_type = "StateUpdate";
        h.history_summary = "Alarm updated from OK to ALARM";
        h.history_data = "{\"version\":\"1.0\"}";
        body.alarm_history_items = hs;
        body.n_alarm_history_items = 1;
        body.next_token = "1764083045123-0";
    }
    ph_env_t env = PH_ENV_INIT;
    env.body_case = B (ALARMS_REPLY);
    env.alarms_reply = &body;
    s_send (router, rx, req, &env);
}

static void s_answer_topics (zsock_t *router, ph_wire_rx_t *rx, const ph_env_t *req)
{
    const Porthole__V1__TopicsRequest *r = req->topics;
    Porthole__V1__TopicsReply body = PORTHOLE__V1__TOPICS_REPLY__INIT;
    Porthole__V1__Subscription s = PORTHOLE__V1__SUBSCRIPTION__INIT;
    Porthole__V1__Subscription *ss[] = {&s};
    Porthole__V1__Notification n1 = PORTHOLE__V1__NOTIFICATION__INIT, n2 = n1;
    Porthole__V1__Notification *ns[] = {&n1, &n2};
    char *topics[] = {r->topic};
    body.op = r->op;
    if (strcmp (r->op, "CreateTopic") == 0) {
        body.topics = topics;
        body.n_topics = 1;
    } else if (strcmp (r->op, "Subscribe") == 0)
        body.subscription_id = "sub-0123456789abcdef";
    else if (strcmp (r->op, "Publish") == 0)
        body.last_id = "7-0";
    else if (strcmp (r->op, "ListSubscriptions") == 0) {
        s.subscription_id = "sub-0123456789abcdef";
        s.topic = "ops";
        s.protocol = "webhook";
        s.endpoint = "http://h/x";
        s.format = "json";
        s.delivered = 4;
        s.failed = 1;
        s.last_error = "HTTP 500";
        body.subscriptions = ss;
        body.n_subscriptions = 1;
    } else if (strcmp (r->op, "Watch") == 0 && !*r->after_id)
        body.last_id = "5-0";
    else if (strcmp (r->op, "Watch") == 0) {
        n1.id = "6-0";
        n1.topic = r->topic;
        n1.timestamp = 1764083045123ULL;
        n1.subject = "ALARM: \"a1\"";
        n1.message = "{\"AlarmName\":\"a1\"}";
        n2 = n1;
        n2.id = "7-0";
        body.notifications = ns;
        body.n_notifications = 2;
        body.last_id = "7-0";
    }
    ph_env_t env = PH_ENV_INIT;
    env.body_case = B (TOPICS_REPLY);
    env.topics_reply = &body;
    s_send (router, rx, req, &env);
}

static void s_answer (zsock_t *router, ph_wire_rx_t *rx, const ph_env_t *req, void *state)
{
    (void)state;
    if (req->body_case == B (ALARMS) && strcmp (req->alarms->op, "SetAlarmState") == 0 &&
        strcmp (req->alarms->alarm_names[0], "ghost") == 0)
        ph_wire_send_error (router, rx->routing_id, rx->routing_id_len, req->request_id,
                            "ResourceNotFound", "porthole: alarm ghost does not exist");
    else if (req->body_case == B (ALARMS))
        s_answer_alarms (router, rx, req);
    else if (req->body_case == B (TOPICS))
        s_answer_topics (router, rx, req);
}

/* ---- helpers ---------------------------------------------------------------------- */

static cli_test_fn *s_verb (const cli_group_t *group, const char *name)
{
    for (const cli_verb_t *v = group->verbs; v->name; v++)
        if (strcmp (v->name, name) == 0)
            return v->run;
    fprintf (stderr, "no verb %s\n", name);
    abort ();
}

/*  Runs verb, checks its exit code; returns the last request (caller
 *  frees) and the output in r (caller frees r->out). */
static ph_env_t *s_run (zactor_t *server, const cli_group_t *group, const char *name,
                        const char *const *opts, int want_rc, cli_test_run_t *r)
{
    cli_test_run (r, s_verb (group, name), name, CLI_OUT_JSON, opts);
    if (r->rc != want_rc)
        fprintf (stderr, "%s exited %d: %s\n", name, r->rc, r->err);
    CHECK (r->rc == want_rc);
    ph_env_t *last = NULL;
    cli_fake_last (server, &last);
    return last;
}

static void s_usage (zactor_t *server, const cli_group_t *group, const char *name,
                     const char *const *opts, const char *want)
{
    cli_test_expect_usage (server, s_verb (group, name), name, opts, want);
}

/* ---- tests ---------------------------------------------------------------------------- */

static void s_expect_in (const char *what, const char *text, const char *want)
{
    if (!text || !strstr (text, want)) {
        fprintf (stderr, "%s: help lacks '%s'\n", what, want);
        CHECK (false);
    } else
        CHECK (true);
}

static void test_help (void)
{
    const cli_group_t *groups[] = {&cli_alarms_group, &cli_topics_group};
    for (size_t g = 0; g < 2; g++)
        for (const cli_verb_t *v = groups[g]->verbs; v->name; v++) {
            const char *text = cli_help_alarms_verb (v->name);
            CHECK (text != NULL);
            if (!text) {
                fprintf (stderr, "no help for '%s'\n", v->name);
                continue;
            }
            char usage[128];
            snprintf (usage, sizeof usage, "Usage: porthole %s", v->name);
            CHECK (strncmp (text, usage, strlen (usage)) == 0);
            CHECK (text[strlen (text) - 1] == '\n');
            for (const cli_opt_t *o = v->opts; o->name; o++) {
                char opt[80];
                snprintf (opt, sizeof opt, "--%s", o->name);
                s_expect_in (v->name, text, opt);
            }
            const char *want[] = {"Exit status:",
                                  "64",
                                  "65",
                                  "69",
                                  "70",
                                  "77",
                                  "--profile NAME",
                                  "--output FORMAT",
                                  "--timeout SECONDS",
                                  NULL};
            for (size_t i = 0; want[i]; i++)
                s_expect_in (v->name, text, want[i]);
        }
    CHECK (cli_help_alarms_verb ("alarms frobnicate") == NULL);
    CHECK (cli_help_alarms_verb ("put-metric-alarm") == NULL);
}

#define PUT_OK                                                                                     \
    "alarm-name", "a1", "namespace", "Porthole", "metric-name", "SudoCount", "statistic", "Sum",   \
        "period", "5", "evaluation-periods", "3", "threshold", "1", "comparison-operator",         \
        "GreaterThanThreshold"

static void test_usage_errors (zactor_t *server)
{
    const cli_group_t *a = &cli_alarms_group, *t = &cli_topics_group;
    s_usage (server, a, "alarms put-metric-alarm", OPTS ("alarm-name", "a1"), "missing");
    s_usage (server, a, "alarms put-metric-alarm",
             OPTS (PUT_OK, "comparison-operator", "greaterThanThreshold"),
             "did you mean GreaterThanThreshold");
    s_usage (server, a, "alarms put-metric-alarm", OPTS (PUT_OK, "period", "7"), "Period");
    s_usage (server, a, "alarms put-metric-alarm", OPTS (PUT_OK, "datapoints-to-alarm", "4"),
             "DatapointsToAlarm");
    s_usage (server, a, "alarms put-metric-alarm", OPTS (PUT_OK, "threshold", "nan"), "Threshold");
    s_usage (server, a, "alarms put-metric-alarm", OPTS (PUT_OK, "alarm-actions", "topic:"),
             "is not an alarm action");
    s_usage (server, a, "alarms put-metric-alarm", OPTS (PUT_OK, "ok-actions", "instance:halt"),
             "is not an alarm action");
    s_usage (server, a, "alarms put-metric-alarm",
             OPTS (PUT_OK, "alarm-actions", "instance:stop", "alarm-actions", "instance:stop",
                   "alarm-actions", "instance:stop", "alarm-actions", "instance:stop",
                   "alarm-actions", "instance:stop", "alarm-actions", "instance:stop"),
             "at most 5");
    s_usage (server, a, "alarms put-metric-alarm", OPTS (PUT_OK, "namespace", ":x"), "--namespace");
    s_usage (server, a, "alarms put-metric-alarm", OPTS (PUT_OK, "metric-name", "m "),
             "--metric-name");
    s_usage (server, a, "alarms put-metric-alarm", OPTS (PUT_OK, "actions-enabled", "maybe"),
             "--actions-enabled");
    s_usage (server, a, "alarms describe-alarms",
             OPTS ("alarm-names", "a", "alarm-name-prefix", "a"), "not both");
    s_usage (server, a, "alarms describe-alarms", OPTS ("state-value", "alarm"), "--state-value");
    s_usage (server, a, "alarms describe-alarm-history", NO_OPTS, "--alarm-name");
    s_usage (server, a, "alarms describe-alarm-history",
             OPTS ("alarm-name", "a", "history-item-type", "State"), "--history-item-type");
    s_usage (server, a, "alarms describe-alarm-history",
             OPTS ("alarm-name", "a", "max-records", "101"), "--max-records");
    s_usage (server, a, "alarms describe-alarm-history",
             OPTS ("alarm-name", "a", "start-date", "2026-11-26", "end-date", "2026-11-25"),
             "after --end-date");
    s_usage (server, a, "alarms describe-alarm-history",
             OPTS ("alarm-name", "a", "start-date", "yesterday"), "is not a time");
    s_usage (server, a, "alarms set-alarm-state", OPTS ("alarm-name", "a", "state-value", "OK"),
             "--state-reason");
    s_usage (server, a, "alarms set-alarm-state",
             OPTS ("alarm-name", "a", "state-value", "RED", "state-reason", "x"), "--state-value");
    s_usage (server, a, "alarms set-alarm-state",
             OPTS ("alarm-name", "a", "state-value", "OK", "state-reason", "x", "state-reason-data",
                   "{x"),
             "is not a JSON document");
    s_usage (server, a, "alarms set-alarm-state",
             OPTS ("alarm-name", "{a}", "state-value", "OK", "state-reason", "x"),
             "is not an alarm name");
    s_usage (server, a, "alarms delete-alarms", NO_OPTS, "--alarm-names");
    s_usage (server, t, "topics create-topic", OPTS ("name", "a/b"), "not a topic name");
    s_usage (server, t, "topics delete-topic", NO_OPTS, "--topic");
    s_usage (server, t, "topics subscribe",
             OPTS ("topic", "ops", "protocol", "webhook", "endpoint", "http://"), "--endpoint");
    s_usage (server, t, "topics subscribe",
             OPTS ("topic", "ops", "protocol", "sms", "endpoint", "http://h/"), "--protocol");
    s_usage (server, t, "topics subscribe",
             OPTS ("topic", "ops", "protocol", "webhook", "endpoint", "http://h/", "format", "x"),
             "--format");
    s_usage (server, t, "topics unsubscribe", OPTS ("subscription-id", "sub-XYZ"),
             "--subscription-id");
    s_usage (server, t, "topics publish", OPTS ("topic", "ops"), "--message");
    s_usage (server, t, "topics publish", OPTS ("topic", "ops", "message", "m", "subject", "a\nb"),
             "--subject");
    s_usage (server, t, "topics watch", OPTS ("topic", "ops", "max-notifications", "0"),
             "--max-notifications");
}

static void test_alarm_requests (zactor_t *server)
{
    const cli_group_t *a = &cli_alarms_group;
    cli_test_run_t r;
    ph_env_t *last = s_run (server, a, "alarms put-metric-alarm",
                            OPTS (PUT_OK, "alarm-actions", "topic:ops", "alarm-actions",
                                  "instance:end-sessions", "actions-enabled", "false",
                                  "treat-missing-data", "breaching", "alarm-description", "d"),
                            PH_EXIT_OK, &r);
    CHECK_STR (r.out, "");
    free (r.out);
    if (last && last->body_case == B (ALARMS) && last->alarms->alarm) {
        const Porthole__V1__MetricAlarm *m = last->alarms->alarm;
        CHECK_STR (last->alarms->op, "PutMetricAlarm");
        CHECK_STR (m->alarm_name, "a1");
        CHECK_STR (m->namespace_, "Porthole");
        CHECK_STR (m->comparison_operator, "GreaterThanThreshold");
        CHECK_STR (m->treat_missing_data, "breaching");
        CHECK (m->period == 5 && m->evaluation_periods == 3 && m->datapoints_to_alarm == 0);
        CHECK (m->threshold == 1 && !m->actions_enabled && last->alarms->actions_enabled_set);
        CHECK (m->n_alarm_actions == 2 &&
               strcmp (m->alarm_actions[1], "instance:end-sessions") == 0);
        CHECK (m->n_ok_actions == 0);
    } else
        CHECK (false);
    ph_wire_free (&last);

    /* every page, one list */
    last =
        s_run (server, a, "alarms describe-alarms", OPTS ("state-value", "ALARM"), PH_EXIT_OK, &r);
    json_t *doc = json_loads (r.out, 0, NULL);
    json_t *list = json_object_get (doc, "MetricAlarms");
    CHECK (json_array_size (list) == 2);
    json_t *m = json_array_get (list, 0);
    CHECK_STR (json_string_value (json_object_get (m, "AlarmName")), "a1");
    CHECK_STR (json_string_value (json_object_get (json_array_get (list, 1), "AlarmName")), "a2");
    CHECK_STR (json_string_value (json_object_get (m, "StateUpdatedTimestamp")),
               "2025-11-25T15:04:05.123Z");
    CHECK (json_real_value (json_object_get (m, "Threshold")) == 1.0);
    CHECK (json_integer_value (json_object_get (m, "DatapointsToAlarm")) == 2);
    CHECK (json_is_true (json_object_get (m, "ActionsEnabled")));
    CHECK (json_array_size (json_object_get (m, "AlarmActions")) == 2);
    CHECK (json_array_size (json_object_get (m, "OKActions")) == 0);
    const char *keys[] = {"AlarmName",
                          "AlarmDescription",
                          "ActionsEnabled",
                          "OKActions",
                          "AlarmActions",
                          "InsufficientDataActions",
                          "StateValue",
                          "StateReason",
                          "StateReasonData",
                          "StateUpdatedTimestamp",
                          "MetricName",
                          "Namespace",
                          "Statistic",
                          "Period",
                          "EvaluationPeriods",
                          "DatapointsToAlarm",
                          "Threshold",
                          "ComparisonOperator",
                          "TreatMissingData",
                          "AlarmConfigurationUpdatedTimestamp",
                          NULL};
    for (size_t i = 0; keys[i]; i++)
        CHECK (json_object_get (m, keys[i]) != NULL);
    json_decref (doc);
    free (r.out);
    CHECK (last && last->body_case == B (ALARMS) && strcmp (last->alarms->next_token, "a1") == 0 &&
           strcmp (last->alarms->state_value, "ALARM") == 0);
    ph_wire_free (&last);

    last = s_run (server, a, "alarms describe-alarm-history",
                  OPTS ("alarm-name", "a1", "history-item-type", "StateUpdate", "start-date",
                        "2026-11-25T00:00:00Z", "max-records", "10"),
                  PH_EXIT_OK, &r);
    doc = json_loads (r.out, 0, NULL);
    json_t *item = json_array_get (json_object_get (doc, "AlarmHistoryItems"), 0);
    CHECK_STR (json_string_value (json_object_get (item, "AlarmName")), "a1");
    CHECK_STR (json_string_value (json_object_get (item, "HistoryItemType")), "StateUpdate");
    CHECK_STR (json_string_value (json_object_get (item, "Timestamp")), "2025-11-25T15:04:05.123Z");
    CHECK_STR (json_string_value (json_object_get (item, "HistoryData")), "{\"version\":\"1.0\"}");
    CHECK_STR (json_string_value (json_object_get (doc, "NextToken")), "1764083045123-0");
    json_decref (doc);
    free (r.out);
    CHECK (last && last->alarms->n_alarm_names == 1 && last->alarms->max_records == 10 &&
           last->alarms->start_date == 1795564800000ULL && last->alarms->end_date == 0 &&
           strcmp (last->alarms->history_item_type, "StateUpdate") == 0);
    ph_wire_free (&last);

    last = s_run (server, a, "alarms set-alarm-state",
                  OPTS ("alarm-name", "a1", "state-value", "ALARM", "state-reason", "drill",
                        "state-reason-data", "{\"k\": 1}"),
                  PH_EXIT_OK, &r);
    CHECK_STR (r.out, "");
    free (r.out);
    CHECK (last && strcmp (last->alarms->op, "SetAlarmState") == 0 &&
           strcmp (last->alarms->state_value, "ALARM") == 0 &&
           strcmp (last->alarms->state_reason_data, "{\"k\": 1}") == 0);
    ph_wire_free (&last);
    last = s_run (server, a, "alarms set-alarm-state",
                  OPTS ("alarm-name", "ghost", "state-value", "OK", "state-reason", "x"),
                  PH_EXIT_API, &r);
    cli_test_expect_in (r.err, "alarm ghost does not exist");
    free (r.out);
    ph_wire_free (&last);
    last = s_run (server, a, "alarms delete-alarms",
                  OPTS ("alarm-names", "a1", "alarm-names", "a2"), PH_EXIT_OK, &r);
    CHECK (last && last->alarms->n_alarm_names == 2);
    free (r.out);
    ph_wire_free (&last);
}

static void test_topic_requests (zactor_t *server)
{
    const cli_group_t *t = &cli_topics_group;
    cli_test_run_t r;
    ph_env_t *last = s_run (server, t, "topics create-topic", OPTS ("name", "ops"), PH_EXIT_OK, &r);
    cli_test_expect_in (r.out, "\"TopicName\": \"ops\"");
    free (r.out);
    ph_wire_free (&last);
    last = s_run (server, t, "topics subscribe",
                  OPTS ("topic", "ops", "protocol", "webhook", "endpoint", "https://h/x"),
                  PH_EXIT_OK, &r);
    cli_test_expect_in (r.out, "\"SubscriptionId\": \"sub-0123456789abcdef\"");
    CHECK (last && strcmp (last->topics->format, "json") == 0 &&
           strcmp (last->topics->endpoint, "https://h/x") == 0);
    free (r.out);
    ph_wire_free (&last);
    last = s_run (server, t, "topics list-subscriptions", NO_OPTS, PH_EXIT_OK, &r);
    json_t *doc = json_loads (r.out, 0, NULL);
    json_t *s = json_array_get (json_object_get (doc, "Subscriptions"), 0);
    CHECK_STR (json_string_value (json_object_get (s, "TopicName")), "ops");
    CHECK (json_integer_value (json_object_get (s, "Delivered")) == 4);
    CHECK (json_integer_value (json_object_get (s, "Failed")) == 1);
    CHECK (json_is_null (json_object_get (s, "LastAttempt")));
    CHECK_STR (json_string_value (json_object_get (s, "LastError")), "HTTP 500");
    json_decref (doc);
    free (r.out);
    CHECK (last && *last->topics->topic == 0);
    ph_wire_free (&last);
    last = s_run (server, t, "topics publish", OPTS ("topic", "ops", "message", "hello"),
                  PH_EXIT_OK, &r);
    cli_test_expect_in (r.out, "\"MessageId\": \"7-0\"");
    free (r.out);
    ph_wire_free (&last);

    /* watch: the newest id first, then after it; stops after N */
    last = s_run (server, t, "topics watch", OPTS ("topic", "ops", "max-notifications", "1"),
                  PH_EXIT_OK, &r);
    cli_test_expect_in (r.err, "watching topic ops");
    CHECK_STR (r.out, "{\"MessageId\":\"6-0\",\"TopicName\":\"ops\",\"Timestamp\":"
                      "\"2025-11-25T15:04:05.123Z\",\"Subject\":\"ALARM: \\\"a1\\\"\","
                      "\"Message\":{\"AlarmName\":\"a1\"}}\n");
    free (r.out);
    CHECK (last && strcmp (last->topics->after_id, "5-0") == 0);
    ph_wire_free (&last);
    cli_test_run (&r, s_verb (t, "topics watch"), "topics watch", CLI_OUT_TEXT,
                  OPTS ("topic", "ops", "max-notifications", "2"));
    CHECK (r.rc == PH_EXIT_OK);
    CHECK_STR (r.out, "2025-11-25T15:04:05.123Z ops ALARM: \"a1\": {\"AlarmName\":\"a1\"}\n"
                      "2025-11-25T15:04:05.123Z ops ALARM: \"a1\": {\"AlarmName\":\"a1\"}\n");
    free (r.out);
}

int main (void)
{
    zsys_init ();
    zsys_handler_set (NULL);
    if (!mkdtemp (s_dir))
        return 1;
    cli_test_dir = s_dir;
    unsetenv ("PORTHOLE_ENDPOINT");
    unsetenv ("PORTHOLE_SERVER_KEY");
    ph_keys_generate (&s_server_kp);
    cli_fake_t fake = {.kp = &s_server_kp, .poll_ms = -1, .answer = s_answer};
    char endpoint[64];
    zactor_t *server = cli_fake_start (&fake, endpoint, sizeof endpoint);
    cli_test_write_profile (endpoint, s_server_kp.public_z85);
    test_help ();
    test_usage_errors (server);
    test_alarm_requests (server);
    test_topic_requests (server);
    zactor_destroy (&server);
    char cmd[128];
    snprintf (cmd, sizeof cmd, "rm -rf '%s'", s_dir);
    CHECK (system (cmd) == 0);
    PH_TEST_END ();
}
