/*  cli_logs: the `porthole logs` group table, the checks of the options
 *  that several logs verbs share, and the log group and log stream verbs:
 *    create-log-group, delete-log-group, describe-log-groups,
 *    put-retention-policy, describe-log-streams.
 *  The event verbs are in cli_logs_events.c. Options are checked before
 *  any network traffic; the controller checks them again. */
#include "cli_group.h"
#include "cli_logs.h"
#include "cli_verbs.h"
#include "ph_util.h"

#include <stdio.h>
#include <string.h>

#define CLI_EPOCH_MS_MAX 32503680000000ULL /* year 3000 */

/* ---- shared option checks ---------------------------------------------- */

bool cli_logs_name_valid (const char *name)
{
    return ph_log_name_valid (name);
}

int cli_logs_name_option (const cli_ctx_t *ctx, const cli_args_t *args, const char *name,
                          bool required, const char **value)
{
    *value = cli_args_get (args, name);
    if (!*value && required)
        return cli_usage_error (ctx->verb, "%s needs --%s NAME", ctx->verb, name);
    if (*value && !cli_logs_name_valid (*value))
        return cli_usage_error (ctx->verb,
                                "--%s '%s' is not a log name: 1..%d letters, digits and _.-/# "
                                "(e.g. porthole/sessions)",
                                name, *value, CLI_LOG_NAME_MAX);
    return PH_EXIT_OK;
}

int cli_logs_time_option (const cli_ctx_t *ctx, const cli_args_t *args, const char *name,
                          uint64_t *ms)
{
    const char *text = cli_args_get (args, name);
    *ms = 0;
    if (!text)
        return PH_EXIT_OK;
    if (ph_parse_uint (text, 0, CLI_EPOCH_MS_MAX, ms) == 0)
        return PH_EXIT_OK;
    bool digits = *text && strspn (text, "0123456789") == strlen (text);
    if (!digits && cli_parse_time (text, ms) == 0)
        return PH_EXIT_OK;
    return cli_usage_error (ctx->verb,
                            "--%s '%s' is not a time: write milliseconds since the epoch "
                            "(1764064800000) or 2026-11-25T10:00:00Z (ISO 8601)",
                            name, text);
}

int cli_logs_token_option (const cli_ctx_t *ctx, const cli_args_t *args,
                           Porthole__V1__LogsRequest *req)
{
    const char *token = cli_args_get (args, "next-token");
    if (!token)
        return PH_EXIT_OK;
    size_t len = strlen (token);
    bool ok = len >= 1 && len <= CLI_LOG_TOKEN_MAX;
    for (size_t i = 0; ok && i < len; i++)
        ok = token[i] > ' ' && token[i] < 0x7f;
    if (!ok)
        return cli_usage_error (ctx->verb,
                                "--next-token '%s' is not a token that porthole %s printed", token,
                                ctx->verb);
    req->next_token = (char *)token;
    return PH_EXIT_OK;
}

/*  Reads --retention-in-days (0..CLI_LOG_RETENTION_MAX) into *days;
 *  returns an exit code. */
static int s_retention_option (const cli_ctx_t *ctx, const cli_args_t *args, bool required,
                               uint32_t *days)
{
    const char *text = cli_args_get (args, "retention-in-days");
    uint64_t n = 0;
    *days = 0;
    if (!text && required)
        return cli_usage_error (ctx->verb, "%s needs --retention-in-days N", ctx->verb);
    if (text && ph_parse_uint (text, 0, CLI_LOG_RETENTION_MAX, &n) != 0)
        return cli_usage_error (ctx->verb,
                                "--retention-in-days '%s' is not a number of days in 0..%d "
                                "(0: keep events for ever)",
                                text, CLI_LOG_RETENTION_MAX);
    *days = (uint32_t)n;
    return PH_EXIT_OK;
}

/* ---- requests ----------------------------------------------------------- */

int cli_logs_call (const cli_ctx_t *ctx, cli_conn_t *conn, Porthole__V1__LogsRequest *req,
                   ph_env_t **reply)
{
    ph_env_t env = PH_ENV_INIT;
    env.body_case = PORTHOLE__V1__ENVELOPE__BODY_LOGS;
    env.logs = req;
    return cli_conn_call (ctx, conn, &env, PORTHOLE__V1__ENVELOPE__BODY_LOGS_REPLY, reply);
}

int cli_logs_run (cli_ctx_t *ctx, Porthole__V1__LogsRequest *req,
                  json_t *(*to_json) (const ph_env_t *reply), const cli_view_t *view)
{
    ph_env_t env = PH_ENV_INIT;
    env.body_case = PORTHOLE__V1__ENVELOPE__BODY_LOGS;
    env.logs = req;
    return cli_run_request (ctx, &env, PORTHOLE__V1__ENVELOPE__BODY_LOGS_REPLY, to_json, view);
}

/*  Sends the requests of a verb that prints nothing (as aws logs) on one
 *  connection, in order; stops at the first failure. */
static int s_run_silent (cli_ctx_t *ctx, Porthole__V1__LogsRequest **reqs, size_t n)
{
    cli_conn_t *conn;
    int rc = cli_connect (ctx, &conn, NULL);
    for (size_t i = 0; rc == PH_EXIT_OK && i < n; i++) {
        ph_env_t *reply = NULL;
        rc = cli_logs_call (ctx, conn, reqs[i], &reply);
        ph_wire_free (&reply);
    }
    if (conn)
        cli_conn_destroy (&conn, 0);
    return rc;
}

/* ---- log groups ----------------------------------------------------------- */

int cli_verb_logs_create_log_group (cli_ctx_t *ctx, const cli_args_t *args)
{
    Porthole__V1__LogsRequest create = PORTHOLE__V1__LOGS_REQUEST__INIT;
    Porthole__V1__LogsRequest retention = PORTHOLE__V1__LOGS_REQUEST__INIT;
    const char *group;
    uint32_t days;
    int rc = cli_logs_name_option (ctx, args, "log-group-name", true, &group);
    if (rc == PH_EXIT_OK)
        rc = s_retention_option (ctx, args, false, &days);
    if (rc != PH_EXIT_OK)
        return rc;
    create.op = "CreateLogGroup";
    create.log_group_name = (char *)group;
    create.retention_in_days = days;
    /* the policy is also set on its own, so that it holds whether or not
       CreateLogGroup applies retention_in_days itself */
    retention.op = "PutRetentionPolicy";
    retention.log_group_name = (char *)group;
    retention.retention_in_days = days;
    Porthole__V1__LogsRequest *reqs[] = {&create, &retention};
    return s_run_silent (ctx, reqs, days ? 2 : 1);
}

int cli_verb_logs_delete_log_group (cli_ctx_t *ctx, const cli_args_t *args)
{
    Porthole__V1__LogsRequest req = PORTHOLE__V1__LOGS_REQUEST__INIT;
    const char *group;
    int rc = cli_logs_name_option (ctx, args, "log-group-name", true, &group);
    if (rc != PH_EXIT_OK)
        return rc;
    req.op = "DeleteLogGroup";
    req.log_group_name = (char *)group;
    Porthole__V1__LogsRequest *reqs[] = {&req};
    return s_run_silent (ctx, reqs, 1);
}

int cli_verb_logs_put_retention_policy (cli_ctx_t *ctx, const cli_args_t *args)
{
    Porthole__V1__LogsRequest req = PORTHOLE__V1__LOGS_REQUEST__INIT;
    const char *group;
    uint32_t days;
    int rc = cli_logs_name_option (ctx, args, "log-group-name", true, &group);
    if (rc == PH_EXIT_OK)
        rc = s_retention_option (ctx, args, true, &days);
    if (rc != PH_EXIT_OK)
        return rc;
    req.op = "PutRetentionPolicy";
    req.log_group_name = (char *)group;
    req.retention_in_days = days;
    Porthole__V1__LogsRequest *reqs[] = {&req};
    return s_run_silent (ctx, reqs, 1);
}

static json_t *s_group_json (const Porthole__V1__LogGroup *g)
{
    json_t *doc = json_pack ("{s:o, s:I}", "logGroupName", cli_json_str (g->log_group_name),
                             "creationTime", (json_int_t)g->creation_time);
    if (doc && g->retention_in_days) /* aws leaves it out when events never expire */
        json_object_set_new (doc, "retentionInDays", json_integer (g->retention_in_days));
    if (doc)
        json_object_set_new (doc, "storedBytes", json_integer ((json_int_t)g->stored_bytes));
    return doc;
}

static json_t *s_groups_json (const ph_env_t *reply)
{
    const Porthole__V1__LogsReply *r = reply->logs_reply;
    json_t *list = json_array ();
    for (size_t i = 0; i < r->n_log_groups; i++)
        json_array_append_new (list, s_group_json (r->log_groups[i]));
    return json_pack ("{s:o}", "logGroups", list);
}

static const cli_col_t s_group_cols[] = {{"logGroupName", "LogGroupName"},
                                         {"creationTime", "CreationTime"},
                                         {"retentionInDays", "RetentionInDays"},
                                         {"storedBytes", "StoredBytes"},
                                         {NULL, NULL}};
static const cli_view_t s_groups_view = {"logGroups", s_group_cols, NULL, NULL};

int cli_verb_logs_describe_log_groups (cli_ctx_t *ctx, const cli_args_t *args)
{
    Porthole__V1__LogsRequest req = PORTHOLE__V1__LOGS_REQUEST__INIT;
    const char *prefix = cli_args_get (args, "log-group-name-prefix");
    if (prefix && !cli_logs_name_valid (prefix))
        return cli_usage_error (ctx->verb,
                                "--log-group-name-prefix '%s' is not the start of a log group "
                                "name: 1..%d letters, digits and _.-/#",
                                prefix, CLI_LOG_NAME_MAX);
    req.op = "DescribeLogGroups";
    req.log_group_name_prefix = (char *)(prefix ? prefix : "");
    return cli_logs_run (ctx, &req, s_groups_json, &s_groups_view);
}

/* ---- log streams ------------------------------------------------------------- */

static json_t *s_stream_json (const Porthole__V1__LogStream *s)
{
    return json_pack (
        "{s:o, s:I, s:I, s:I, s:I}", "logStreamName", cli_json_str (s->log_stream_name),
        "creationTime", (json_int_t)s->creation_time, "firstEventTimestamp",
        (json_int_t)s->first_event_timestamp, "lastEventTimestamp",
        (json_int_t)s->last_event_timestamp, "storedBytes", (json_int_t)s->stored_bytes);
}

static json_t *s_streams_json (const ph_env_t *reply)
{
    const Porthole__V1__LogsReply *r = reply->logs_reply;
    json_t *list = json_array ();
    for (size_t i = 0; i < r->n_log_streams; i++)
        json_array_append_new (list, s_stream_json (r->log_streams[i]));
    return json_pack ("{s:o}", "logStreams", list);
}

static const cli_col_t s_stream_cols[] = {
    {"logStreamName", "LogStreamName"},    {"creationTime", "CreationTime"},
    {"firstEventTimestamp", "FirstEvent"}, {"lastEventTimestamp", "LastEvent"},
    {"storedBytes", "StoredBytes"},        {NULL, NULL}};
static const cli_view_t s_streams_view = {"logStreams", s_stream_cols, NULL, NULL};

int cli_verb_logs_describe_log_streams (cli_ctx_t *ctx, const cli_args_t *args)
{
    Porthole__V1__LogsRequest req = PORTHOLE__V1__LOGS_REQUEST__INIT;
    const char *group;
    const char *order = cli_args_get (args, "order-by");
    int rc = cli_logs_name_option (ctx, args, "log-group-name", true, &group);
    if (rc != PH_EXIT_OK)
        return rc;
    if (order && strcmp (order, "LogStreamName") != 0 && strcmp (order, "LastEventTime") != 0)
        return cli_usage_error (ctx->verb, "--order-by '%s' is not LogStreamName or LastEventTime",
                                order);
    req.op = "DescribeLogStreams";
    req.log_group_name = (char *)group;
    req.order_by = (char *)(order ? order : "LogStreamName");
    req.descending = cli_args_has (args, "descending");
    return cli_logs_run (ctx, &req, s_streams_json, &s_streams_view);
}

/* ---- the group ------------------------------------------------------------------ */

static const cli_opt_t s_create_opts[] = {
    {"log-group-name", 0}, {"retention-in-days", 0}, {NULL, 0}};
static const cli_opt_t s_group_opts[] = {{"log-group-name", 0}, {NULL, 0}};
static const cli_opt_t s_describe_groups_opts[] = {{"log-group-name-prefix", 0}, {NULL, 0}};
static const cli_opt_t s_streams_opts[] = {
    {"log-group-name", 0}, {"order-by", 0}, {"descending", CLI_OPT_FLAG}, {NULL, 0}};
static const cli_opt_t s_get_events_opts[] = {{"log-group-name", 0},
                                              {"log-stream-name", 0},
                                              {"start-time", 0},
                                              {"end-time", 0},
                                              {"limit", 0},
                                              {"next-token", 0},
                                              {"start-from-head", CLI_OPT_FLAG},
                                              {NULL, 0}};
static const cli_opt_t s_filter_opts[] = {
    {"log-group-name", 0}, {"log-stream-names", CLI_OPT_REPEAT},
    {"filter-pattern", 0}, {"start-time", 0},
    {"end-time", 0},       {"limit", 0},
    {"next-token", 0},     {NULL, 0}};
static const cli_opt_t s_tail_opts[] = {{"log-group-name", 0},
                                        {"follow", CLI_OPT_FLAG},
                                        {"filter-pattern", 0},
                                        {"since", 0},
                                        {NULL, 0}};

static const cli_opt_t s_put_filter_opts[] = {{"log-group-name", 0},
                                              {"filter-name", 0},
                                              {"filter-pattern", 0},
                                              {"metric-transformations", 0},
                                              {NULL, 0}};
static const cli_opt_t s_describe_filters_opts[] = {{"log-group-name", 0},
                                                    {"filter-name-prefix", 0},
                                                    {"metric-name", 0},
                                                    {"metric-namespace", 0},
                                                    {NULL, 0}};
static const cli_opt_t s_delete_filter_opts[] = {
    {"log-group-name", 0}, {"filter-name", 0}, {NULL, 0}};
static const cli_opt_t s_test_filter_opts[] = {
    {"filter-pattern", 0}, {"log-event-messages", CLI_OPT_REPEAT}, {NULL, 0}};

static const cli_verb_t s_logs_verbs[] = {
    {"logs create-log-group", cli_verb_logs_create_log_group, s_create_opts,
     "create a log group, optionally with a retention", "--log-group-name"},
    {"logs delete-log-group", cli_verb_logs_delete_log_group, s_group_opts,
     "delete a log group with all its streams and events", "--log-group-name"},
    {"logs describe-log-groups", cli_verb_logs_describe_log_groups, s_describe_groups_opts,
     "list log groups (by name prefix)", NULL},
    {"logs put-retention-policy", cli_verb_logs_put_retention_policy, s_create_opts,
     "set how many days a group's events are kept", NULL},
    {"logs describe-log-streams", cli_verb_logs_describe_log_streams, s_streams_opts,
     "list the streams of a log group", NULL},
    {"logs get-log-events", cli_verb_logs_get_log_events, s_get_events_opts,
     "read the events of one stream, a page at a time", NULL},
    {"logs filter-log-events", cli_verb_logs_filter_log_events, s_filter_opts,
     "search a group's events with a filter pattern", NULL},
    {"logs tail", cli_verb_logs_tail, s_tail_opts,
     "print a group's recent events; --follow waits for new ones", "--log-group-name"},
    {"logs put-metric-filter", cli_verb_logs_put_metric_filter, s_put_filter_opts,
     "count matching events of a group as a metric", NULL},
    {"logs describe-metric-filters", cli_verb_logs_describe_metric_filters, s_describe_filters_opts,
     "list metric filters", NULL},
    {"logs delete-metric-filter", cli_verb_logs_delete_metric_filter, s_delete_filter_opts,
     "delete a metric filter", NULL},
    {"logs test-metric-filter", cli_verb_logs_test_metric_filter, s_test_filter_opts,
     "show which messages a filter pattern matches, and the values it extracts", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

const cli_group_t cli_logs_group = {
    "logs", "log groups and streams: session transcripts, search, retention",
    "Log groups and their streams: where session transcripts are kept (group\n"
    "porthole/sessions by default; stream SESSION_ID holds the asciicast recording,\n"
    "SESSION_ID.txt its plain text lines). The commands follow aws logs; see also\n"
    "porthole session replay and porthole session export.\n",
    s_logs_verbs};
