/*  cli_alarms: the `porthole alarms` group, the aws cloudwatch alarm verbs:
 *    put-metric-alarm, describe-alarms, describe-alarm-history,
 *    set-alarm-state, delete-alarms.
 *  Each sends AlarmsRequest (op = the API name) and prints AlarmsReply
 *  with the member names of aws cloudwatch (MetricAlarms[].AlarmName,
 *  StateValue, StateUpdatedTimestamp, AlarmHistoryItems[], ...); the verbs
 *  that change something print nothing, as aws does. Settings are checked
 *  with ph_alarm's own checks before any network traffic (exit 64); the
 *  controller checks again and alone knows whether a topic exists (70).
 *  Help texts: cli_help_alarms.c. */
#include "cli_group.h"
#include "cli_logs.h"
#include "cli_verbs.h"
#include "ph_alarm.h"
#include "ph_util.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#define CLI_ALARM_ACTIONS_MAX     5    /* per action list (CloudWatch) */
#define CLI_ALARM_DESCRIPTION_MAX 1024 /* characters (CloudWatch) */
#define CLI_ALARM_METRIC_MAX      255  /* Namespace, MetricName (CloudWatch) */
#define CLI_ALARM_REASON_MAX      1023 /* StateReason (CloudWatch) */
#define CLI_ALARM_REASON_DATA_MAX 4000 /* StateReasonData (CloudWatch) */
#define CLI_ALARM_NAMES_MAX       100  /* --alarm-names (CloudWatch) */
#define CLI_ALARM_RECORDS_MAX     100  /* --max-records, and describe-alarms' pages */
#define CLI_ALARM_PAGES_MAX       100000
#define CLI_ALARM_TOKEN_MAX       255
#define CLI_TOPIC_NAME_MAX        256

/* ---- requests ------------------------------------------------------------- */

static int s_call (const cli_ctx_t *ctx, cli_conn_t *conn, Porthole__V1__AlarmsRequest *req,
                   ph_env_t **reply)
{
    ph_env_t env = PH_ENV_INIT;
    env.body_case = PORTHOLE__V1__ENVELOPE__BODY_ALARMS;
    env.alarms = req;
    return cli_conn_call (ctx, conn, &env, PORTHOLE__V1__ENVELOPE__BODY_ALARMS_REPLY, reply);
}

/*  Sends req and prints nothing (the verbs that change something). */
static int s_run_silent (cli_ctx_t *ctx, Porthole__V1__AlarmsRequest *req)
{
    ph_env_t env = PH_ENV_INIT;
    env.body_case = PORTHOLE__V1__ENVELOPE__BODY_ALARMS;
    env.alarms = req;
    return cli_run_request (ctx, &env, PORTHOLE__V1__ENVELOPE__BODY_ALARMS_REPLY, NULL, NULL);
}

/*  Reads the alarm name option name (required or not) into *value. */
static int s_name_option (const cli_ctx_t *ctx, const cli_args_t *args, const char *name,
                          const char **value)
{
    *value = cli_args_get (args, name);
    if (!*value)
        return cli_usage_error (ctx->verb, "%s needs --%s NAME", ctx->verb, name);
    if (!ph_alarm_name_valid (*value))
        return cli_usage_error (ctx->verb,
                                "--%s '%s' is not an alarm name: 1..%d printable ASCII "
                                "characters, without { } * ? and without a space at either end",
                                name, *value, PH_ALARM_NAME_MAX);
    return PH_EXIT_OK;
}

/* ---- put-metric-alarm ------------------------------------------------------ */

static bool s_metric_name_valid (const char *name, bool is_namespace)
{
    size_t len = strlen (name);
    if (len < 1 || len > CLI_ALARM_METRIC_MAX || name[0] == ' ' || name[len - 1] == ' ')
        return false;
    for (size_t i = 0; i < len; i++)
        if (name[i] < ' ' || name[i] > '~')
            return false;
    return !(is_namespace && name[0] == ':');
}

/*  topic:NAME, or instance:stop|reboot|end-sessions[:mi-ID]. */
static bool s_action_valid (const char *action)
{
    static const char *const instance_ops[] = {"instance:stop", "instance:reboot",
                                               "instance:end-sessions"};
    if (strncmp (action, "topic:", 6) == 0) {
        size_t len = strlen (action + 6);
        for (const char *p = action + 6; *p; p++)
            if (!isalnum ((unsigned char)*p) && *p != '_' && *p != '-')
                return false;
        return len >= 1 && len <= CLI_TOPIC_NAME_MAX;
    }
    for (size_t i = 0; i < sizeof instance_ops / sizeof instance_ops[0]; i++) {
        size_t n = strlen (instance_ops[i]);
        if (strncmp (action, instance_ops[i], n) == 0 &&
            (action[n] == 0 || (action[n] == ':' && ph_instance_id_valid (action + n + 1))))
            return true;
    }
    return false;
}

/*  Reads the action list option name into *items (CLI_ALARM_ACTIONS_MAX
 *  entries). */
static int s_actions_option (const cli_ctx_t *ctx, const cli_args_t *args, const char *name,
                             char **items, size_t *n)
{
    *n = cli_args_count (args, name);
    if (*n > CLI_ALARM_ACTIONS_MAX)
        return cli_usage_error (ctx->verb, "--%s takes at most %d actions (got %zu)", name,
                                CLI_ALARM_ACTIONS_MAX, *n);
    for (size_t i = 0; i < *n; i++) {
        items[i] = (char *)cli_args_nth (args, name, i);
        if (!s_action_valid (items[i]))
            return cli_usage_error (ctx->verb,
                                    "--%s '%s' is not an alarm action; use topic:NAME, "
                                    "instance:stop, instance:reboot or instance:end-sessions "
                                    "(optionally followed by :mi-ID)",
                                    name, items[i]);
    }
    return PH_EXIT_OK;
}

/*  The settings that ph_alarm checks, into c. */
static int s_config_options (const cli_ctx_t *ctx, const cli_args_t *args, ph_alarm_config_t *c)
{
    static const char *const opts[][2] = {
        {"alarm-name", "AlarmName"},
        {"statistic", "Statistic"},
        {"period", "Period"},
        {"evaluation-periods", "EvaluationPeriods"},
        {"datapoints-to-alarm", "DatapointsToAlarm"},
        {"threshold", "Threshold"},
        {"comparison-operator", "ComparisonOperator"},
        {"treat-missing-data", "TreatMissingData"},
    };
    char err[PH_ALARM_ERR_MAX];
    ph_alarm_config_init (c);
    for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++) {
        const char *value = cli_args_get (args, opts[i][0]);
        if (value && ph_alarm_config_set (c, opts[i][1], value, err, sizeof err) != 0)
            return cli_usage_error (ctx->verb, "--%s: %s", opts[i][0], err);
    }
    if (ph_alarm_config_validate (c, err, sizeof err) != 0)
        return cli_usage_error (ctx->verb, "%s", err);
    return PH_EXIT_OK;
}

/*  --namespace, --metric-name, --alarm-description, --actions-enabled. */
static int s_metric_options (const cli_ctx_t *ctx, const cli_args_t *args,
                             Porthole__V1__AlarmsRequest *req)
{
    Porthole__V1__MetricAlarm *m = req->alarm;
    const char *ns = cli_args_get (args, "namespace"), *name = cli_args_get (args, "metric-name");
    const char *desc = cli_args_get (args, "alarm-description");
    const char *enabled = cli_args_get (args, "actions-enabled");
    if (!ns || !s_metric_name_valid (ns, true))
        return cli_usage_error (ctx->verb,
                                "put-metric-alarm needs --namespace NS: 1..%d printable ASCII "
                                "characters, no space at either end, not starting with ':'",
                                CLI_ALARM_METRIC_MAX);
    if (!name || !s_metric_name_valid (name, false))
        return cli_usage_error (ctx->verb,
                                "put-metric-alarm needs --metric-name NAME: 1..%d printable "
                                "ASCII characters, no space at either end",
                                CLI_ALARM_METRIC_MAX);
    size_t chars = 0;
    for (const char *p = desc ? desc : ""; *p; p++)
        chars += ((unsigned char)*p & 0xC0) != 0x80;
    if (chars > CLI_ALARM_DESCRIPTION_MAX)
        return cli_usage_error (ctx->verb, "--alarm-description takes at most %d characters",
                                CLI_ALARM_DESCRIPTION_MAX);
    bool on = true;
    if (enabled && ph_parse_bool (enabled, &on) != 0)
        return cli_usage_error (ctx->verb, "--actions-enabled '%s' is not true or false", enabled);
    m->namespace_ = (char *)ns;
    m->metric_name = (char *)name;
    m->alarm_description = (char *)(desc ? desc : "");
    m->actions_enabled = on;
    req->actions_enabled_set = enabled != NULL;
    return PH_EXIT_OK;
}

static int s_put_metric_alarm (cli_ctx_t *ctx, const cli_args_t *args)
{
    Porthole__V1__AlarmsRequest req = PORTHOLE__V1__ALARMS_REQUEST__INIT;
    Porthole__V1__MetricAlarm m = PORTHOLE__V1__METRIC_ALARM__INIT;
    char *alarm[CLI_ALARM_ACTIONS_MAX], *ok[CLI_ALARM_ACTIONS_MAX];
    char *insufficient[CLI_ALARM_ACTIONS_MAX];
    ph_alarm_config_t c;
    req.alarm = &m;
    int rc = s_config_options (ctx, args, &c);
    if (rc == PH_EXIT_OK)
        rc = s_metric_options (ctx, args, &req);
    if (rc == PH_EXIT_OK)
        rc = s_actions_option (ctx, args, "alarm-actions", alarm, &m.n_alarm_actions);
    if (rc == PH_EXIT_OK)
        rc = s_actions_option (ctx, args, "ok-actions", ok, &m.n_ok_actions);
    if (rc == PH_EXIT_OK)
        rc = s_actions_option (ctx, args, "insufficient-data-actions", insufficient,
                               &m.n_insufficient_data_actions);
    if (rc != PH_EXIT_OK)
        return rc;
    req.op = "PutMetricAlarm";
    m.alarm_name = c.name;
    m.statistic = (char *)ph_metric_stat_name (c.statistic);
    m.period = (uint32_t)c.period_s;
    m.evaluation_periods = c.evaluation_periods;
    m.datapoints_to_alarm = cli_args_has (args, "datapoints-to-alarm") ? c.datapoints_to_alarm : 0;
    m.threshold = c.threshold;
    m.comparison_operator = (char *)ph_alarm_cmp_name (c.comparison);
    m.treat_missing_data = (char *)ph_alarm_tmd_name (c.treat_missing_data);
    m.alarm_actions = alarm;
    m.ok_actions = ok;
    m.insufficient_data_actions = insufficient;
    return s_run_silent (ctx, &req);
}

/* ---- describe-alarms ------------------------------------------------------- */

static json_t *s_list_json (char **items, size_t n)
{
    json_t *list = json_array ();
    for (size_t i = 0; i < n; i++)
        json_array_append_new (list, cli_json_str (items[i]));
    return list;
}

static json_t *s_alarm_json (const Porthole__V1__MetricAlarm *m)
{
    json_t *doc = json_object ();
    json_object_set_new (doc, "AlarmName", cli_json_str (m->alarm_name));
    json_object_set_new (doc, "AlarmDescription", cli_json_str (m->alarm_description));
    json_object_set_new (doc, "ActionsEnabled", json_boolean (m->actions_enabled));
    json_object_set_new (doc, "OKActions", s_list_json (m->ok_actions, m->n_ok_actions));
    json_object_set_new (doc, "AlarmActions", s_list_json (m->alarm_actions, m->n_alarm_actions));
    json_object_set_new (
        doc, "InsufficientDataActions",
        s_list_json (m->insufficient_data_actions, m->n_insufficient_data_actions));
    json_object_set_new (doc, "StateValue", cli_json_str (m->state_value));
    json_object_set_new (doc, "StateReason", cli_json_str (m->state_reason));
    json_object_set_new (doc, "StateReasonData", cli_json_str (m->state_reason_data));
    json_object_set_new (doc, "StateUpdatedTimestamp", cli_json_time (m->state_updated_timestamp));
    json_object_set_new (doc, "MetricName", cli_json_str (m->metric_name));
    json_object_set_new (doc, "Namespace", cli_json_str (m->namespace_));
    json_object_set_new (doc, "Statistic", cli_json_str (m->statistic));
    json_object_set_new (doc, "Period", json_integer (m->period));
    json_object_set_new (doc, "EvaluationPeriods", json_integer (m->evaluation_periods));
    json_object_set_new (doc, "DatapointsToAlarm", json_integer (m->datapoints_to_alarm));
    json_object_set_new (doc, "Threshold", json_real (m->threshold));
    json_object_set_new (doc, "ComparisonOperator", cli_json_str (m->comparison_operator));
    json_object_set_new (doc, "TreatMissingData", cli_json_str (m->treat_missing_data));
    json_object_set_new (doc, "AlarmConfigurationUpdatedTimestamp",
                         cli_json_time (m->configuration_updated_timestamp));
    return doc;
}

static const cli_col_t s_alarm_cols[] = {{"AlarmName", "AlarmName"},
                                         {"StateValue", "State"},
                                         {"Namespace", "Namespace"},
                                         {"MetricName", "MetricName"},
                                         {"Statistic", "Statistic"},
                                         {"Period", "Period"},
                                         {"ComparisonOperator", "Comparison"},
                                         {"Threshold", "Threshold"},
                                         {"StateUpdatedTimestamp", "StateUpdated"},
                                         {NULL, NULL}};
static const cli_view_t s_alarms_view = {"MetricAlarms", s_alarm_cols, NULL, NULL};

/*  The filters of describe-alarms into req (names: CLI_ALARM_NAMES_MAX). */
static int s_describe_options (const cli_ctx_t *ctx, const cli_args_t *args,
                               Porthole__V1__AlarmsRequest *req, char **names)
{
    const char *prefix = cli_args_get (args, "alarm-name-prefix");
    const char *state = cli_args_get (args, "state-value");
    ph_alarm_state_t s;
    size_t n = cli_args_count (args, "alarm-names");
    if (n > CLI_ALARM_NAMES_MAX)
        return cli_usage_error (ctx->verb, "--alarm-names takes at most %d names",
                                CLI_ALARM_NAMES_MAX);
    if (n && prefix)
        return cli_usage_error (ctx->verb, "give --alarm-names or --alarm-name-prefix, not both");
    for (size_t i = 0; i < n; i++) {
        names[i] = (char *)cli_args_nth (args, "alarm-names", i);
        if (!ph_alarm_name_valid (names[i]))
            return cli_usage_error (ctx->verb, "--alarm-names '%s' is not an alarm name", names[i]);
    }
    if (prefix && strlen (prefix) > PH_ALARM_NAME_MAX)
        return cli_usage_error (ctx->verb, "--alarm-name-prefix is longer than an alarm name");
    if (state && ph_alarm_state_parse (state, &s) != 0)
        return cli_usage_error (ctx->verb,
                                "--state-value '%s' is not OK, ALARM or INSUFFICIENT_DATA", state);
    req->op = "DescribeAlarms";
    req->alarm_names = names;
    req->n_alarm_names = n;
    req->alarm_name_prefix = (char *)(prefix ? prefix : "");
    req->state_value = (char *)(state ? state : "");
    req->max_records = CLI_ALARM_RECORDS_MAX;
    return PH_EXIT_OK;
}

/*  Every page of DescribeAlarms, appended to list. */
static int s_describe_pages (cli_ctx_t *ctx, cli_conn_t *conn, Porthole__V1__AlarmsRequest *req,
                             json_t *list)
{
    char token[CLI_ALARM_TOKEN_MAX + 1] = "";
    int rc = PH_EXIT_OK;
    for (int page = 0; rc == PH_EXIT_OK && page < CLI_ALARM_PAGES_MAX; page++) {
        ph_env_t *reply = NULL;
        req->next_token = token;
        rc = s_call (ctx, conn, req, &reply);
        if (rc != PH_EXIT_OK)
            break;
        const Porthole__V1__AlarmsReply *r = reply->alarms_reply;
        for (size_t i = 0; i < r->n_metric_alarms; i++)
            json_array_append_new (list, s_alarm_json (r->metric_alarms[i]));
        bool more = r->next_token && *r->next_token && strcmp (r->next_token, token) != 0;
        snprintf (token, sizeof token, "%s", more ? r->next_token : "");
        ph_wire_free (&reply);
        if (!more)
            break;
    }
    return rc;
}

static int s_describe_alarms (cli_ctx_t *ctx, const cli_args_t *args)
{
    Porthole__V1__AlarmsRequest req = PORTHOLE__V1__ALARMS_REQUEST__INIT;
    char *names[CLI_ALARM_NAMES_MAX];
    cli_conn_t *conn;
    int rc = s_describe_options (ctx, args, &req, names);
    if (rc == PH_EXIT_OK)
        rc = cli_connect (ctx, &conn, NULL);
    if (rc != PH_EXIT_OK)
        return rc;
    json_t *list = json_array ();
    rc = s_describe_pages (ctx, conn, &req, list);
    json_t *doc = json_pack ("{s:o}", "MetricAlarms", list);
    if (rc == PH_EXIT_OK && cli_output_print (ctx, doc, &s_alarms_view) != 0)
        rc = cli_error (PH_EXIT_API, "cannot write the output");
    json_decref (doc);
    cli_conn_destroy (&conn, 0);
    return rc;
}

/* ---- describe-alarm-history ------------------------------------------------------ */

static json_t *s_history_json (const ph_env_t *reply)
{
    const Porthole__V1__AlarmsReply *r = reply->alarms_reply;
    json_t *list = json_array ();
    for (size_t i = 0; i < r->n_alarm_history_items; i++) {
        const Porthole__V1__AlarmHistoryItem *h = r->alarm_history_items[i];
        json_array_append_new (list, json_pack ("{s:o, s:o, s:o, s:o, s:o}", "AlarmName",
                                                cli_json_str (h->alarm_name), "Timestamp",
                                                cli_json_time (h->timestamp), "HistoryItemType",
                                                cli_json_str (h->history_item_type),
                                                "HistorySummary", cli_json_str (h->history_summary),
                                                "HistoryData", cli_json_str (h->history_data)));
    }
    json_t *token = r->next_token && *r->next_token ? json_string (r->next_token) : json_null ();
    return json_pack ("{s:o, s:o}", "AlarmHistoryItems", list, "NextToken", token);
}

static const cli_col_t s_history_cols[] = {{"Timestamp", "Timestamp"},
                                           {"HistoryItemType", "Type"},
                                           {"HistorySummary", "Summary"},
                                           {NULL, NULL}};
static const char *const s_history_text[] = {"AlarmName", "Timestamp", "HistoryItemType",
                                             "HistorySummary", NULL};
static const cli_view_t s_history_view = {"AlarmHistoryItems", s_history_cols, s_history_text,
                                          "NextToken"};

/*  --history-item-type, --max-records, --next-token into req. */
static int s_history_options (const cli_ctx_t *ctx, const cli_args_t *args,
                              Porthole__V1__AlarmsRequest *req)
{
    const char *type = cli_args_get (args, "history-item-type");
    const char *max = cli_args_get (args, "max-records");
    const char *token = cli_args_get (args, "next-token");
    uint64_t n = 0;
    if (type && strcmp (type, "ConfigurationUpdate") && strcmp (type, "StateUpdate") &&
        strcmp (type, "Action"))
        return cli_usage_error (ctx->verb,
                                "--history-item-type '%s' is not ConfigurationUpdate, "
                                "StateUpdate or Action",
                                type);
    if (max && ph_parse_uint (max, 1, CLI_ALARM_RECORDS_MAX, &n) != 0)
        return cli_usage_error (ctx->verb, "--max-records '%s' is not a number in 1..%d", max,
                                CLI_ALARM_RECORDS_MAX);
    if (token && (!*token || strlen (token) > CLI_ALARM_TOKEN_MAX))
        return cli_usage_error (ctx->verb,
                                "--next-token needs the NextToken that describe-alarm-history "
                                "printed");
    req->history_item_type = (char *)(type ? type : "");
    req->max_records = (uint32_t)n;
    req->next_token = (char *)(token ? token : "");
    return PH_EXIT_OK;
}

static int s_describe_alarm_history (cli_ctx_t *ctx, const cli_args_t *args)
{
    Porthole__V1__AlarmsRequest req = PORTHOLE__V1__ALARMS_REQUEST__INIT;
    const char *name;
    int rc = s_name_option (ctx, args, "alarm-name", &name);
    if (rc == PH_EXIT_OK)
        rc = cli_logs_time_option (ctx, args, "start-date", &req.start_date);
    if (rc == PH_EXIT_OK)
        rc = cli_logs_time_option (ctx, args, "end-date", &req.end_date);
    if (rc == PH_EXIT_OK && req.start_date && req.end_date && req.start_date > req.end_date)
        rc = cli_usage_error (ctx->verb, "--start-date is after --end-date");
    if (rc == PH_EXIT_OK)
        rc = s_history_options (ctx, args, &req);
    if (rc != PH_EXIT_OK)
        return rc;
    char *names[] = {(char *)name};
    req.op = "DescribeAlarmHistory";
    req.alarm_names = names;
    req.n_alarm_names = 1;
    ph_env_t env = PH_ENV_INIT;
    env.body_case = PORTHOLE__V1__ENVELOPE__BODY_ALARMS;
    env.alarms = &req;
    return cli_run_request (ctx, &env, PORTHOLE__V1__ENVELOPE__BODY_ALARMS_REPLY, s_history_json,
                            &s_history_view);
}

/* ---- set-alarm-state, delete-alarms ---------------------------------------------- */

static int s_set_alarm_state (cli_ctx_t *ctx, const cli_args_t *args)
{
    Porthole__V1__AlarmsRequest req = PORTHOLE__V1__ALARMS_REQUEST__INIT;
    const char *name, *state = cli_args_get (args, "state-value");
    const char *reason = cli_args_get (args, "state-reason");
    const char *data = cli_args_get (args, "state-reason-data");
    ph_alarm_state_t s;
    int rc = s_name_option (ctx, args, "alarm-name", &name);
    if (rc != PH_EXIT_OK)
        return rc;
    if (!state || ph_alarm_state_parse (state, &s) != 0)
        return cli_usage_error (ctx->verb, "set-alarm-state needs --state-value OK, ALARM or "
                                           "INSUFFICIENT_DATA");
    if (!reason || strlen (reason) > CLI_ALARM_REASON_MAX)
        return cli_usage_error (ctx->verb,
                                "set-alarm-state needs --state-reason TEXT (at most %d "
                                "characters)",
                                CLI_ALARM_REASON_MAX);
    if (data) {
        json_error_t jerr;
        json_t *doc = strlen (data) <= CLI_ALARM_REASON_DATA_MAX
                          ? json_loads (data, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr)
                          : NULL;
        json_decref (doc);
        if (!doc)
            return cli_usage_error (ctx->verb,
                                    "--state-reason-data is not a JSON document of at most %d "
                                    "bytes (e.g. '{\"source\": \"drill\"}')",
                                    CLI_ALARM_REASON_DATA_MAX);
    }
    char *names[] = {(char *)name};
    req.op = "SetAlarmState";
    req.alarm_names = names;
    req.n_alarm_names = 1;
    req.state_value = (char *)ph_alarm_state_name (s);
    req.state_reason = (char *)reason;
    req.state_reason_data = (char *)(data ? data : "");
    return s_run_silent (ctx, &req);
}

static int s_delete_alarms (cli_ctx_t *ctx, const cli_args_t *args)
{
    Porthole__V1__AlarmsRequest req = PORTHOLE__V1__ALARMS_REQUEST__INIT;
    char *names[CLI_ALARM_NAMES_MAX];
    size_t n = cli_args_count (args, "alarm-names");
    if (n < 1 || n > CLI_ALARM_NAMES_MAX)
        return cli_usage_error (ctx->verb,
                                "delete-alarms needs --alarm-names A [B ...] (1..%d "
                                "names)",
                                CLI_ALARM_NAMES_MAX);
    for (size_t i = 0; i < n; i++) {
        names[i] = (char *)cli_args_nth (args, "alarm-names", i);
        if (!ph_alarm_name_valid (names[i]))
            return cli_usage_error (ctx->verb, "--alarm-names '%s' is not an alarm name", names[i]);
    }
    req.op = "DeleteAlarms";
    req.alarm_names = names;
    req.n_alarm_names = n;
    return s_run_silent (ctx, &req);
}

/* ---- the group --------------------------------------------------------------------- */

static const cli_opt_t s_put_opts[] = {{"alarm-name", 0},
                                       {"namespace", 0},
                                       {"metric-name", 0},
                                       {"statistic", 0},
                                       {"period", 0},
                                       {"evaluation-periods", 0},
                                       {"datapoints-to-alarm", 0},
                                       {"threshold", 0},
                                       {"comparison-operator", 0},
                                       {"treat-missing-data", 0},
                                       {"alarm-actions", CLI_OPT_REPEAT},
                                       {"ok-actions", CLI_OPT_REPEAT},
                                       {"insufficient-data-actions", CLI_OPT_REPEAT},
                                       {"actions-enabled", 0},
                                       {"alarm-description", 0},
                                       {NULL, 0}};
static const cli_opt_t s_describe_opts[] = {
    {"alarm-names", CLI_OPT_REPEAT}, {"alarm-name-prefix", 0}, {"state-value", 0}, {NULL, 0}};
static const cli_opt_t s_history_opts[] = {
    {"alarm-name", 0},  {"history-item-type", 0}, {"start-date", 0}, {"end-date", 0},
    {"max-records", 0}, {"next-token", 0},        {NULL, 0}};
static const cli_opt_t s_set_state_opts[] = {{"alarm-name", 0},
                                             {"state-value", 0},
                                             {"state-reason", 0},
                                             {"state-reason-data", 0},
                                             {NULL, 0}};
static const cli_opt_t s_delete_opts[] = {{"alarm-names", CLI_OPT_REPEAT}, {NULL, 0}};

static const cli_verb_t s_alarms_verbs[] = {
    {"alarms put-metric-alarm", s_put_metric_alarm, s_put_opts,
     "create or update an alarm on a metric (an update keeps its state)", NULL},
    {"alarms describe-alarms", s_describe_alarms, s_describe_opts,
     "list alarms with their state (by names, prefix, state)", NULL},
    {"alarms describe-alarm-history", s_describe_alarm_history, s_history_opts,
     "an alarm's configuration and state changes and actions, newest first", NULL},
    {"alarms set-alarm-state", s_set_alarm_state, s_set_state_opts,
     "set an alarm's state for a test (runs its actions on a change)", NULL},
    {"alarms delete-alarms", s_delete_alarms, s_delete_opts, "delete alarms and their history",
     NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

const cli_group_t cli_alarms_group = {
    "alarms", "metric alarms: thresholds on metrics, states, history, actions",
    "Metric alarms watch a metric (made by log metric filters) and change state\n"
    "between OK, ALARM and INSUFFICIENT_DATA as CloudWatch alarms do (M out of N\n"
    "periods, missing data handling); on a change they run their actions: publish\n"
    "to a topic (porthole topics) or act on the instance. The commands and their\n"
    "output follow aws cloudwatch.\n",
    s_alarms_verbs};
