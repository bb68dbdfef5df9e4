/*  cli_logs_filters: the metric-filter verbs of `porthole logs` (issue 4):
 *  put-metric-filter, describe-metric-filters, delete-metric-filter and
 *  test-metric-filter, with the member names of aws logs (metricFilters[],
 *  filterName, metricTransformations[].metricName, matches[].eventNumber,
 *  extractedValues, ...). The controller checks the pattern; the CLI
 *  checks only the shape of the options. */
#include "cli_logs.h"
#include "cli_verbs.h"
#include "ph_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CLI_FILTER_NAME_MAX   512
#define CLI_TRANSFORM_MAX     1024 /* --metric-transformations text */
#define CLI_TEST_MESSAGES_MAX 50

/*  Parses "metricName=M,metricNamespace=NS,metricValue=V[,defaultValue=D]
 *  [,unit=U]" (aws shorthand) into t; strings point into buf (a copy of
 *  text). Returns an exit code. */
static int s_parse_transformation (const cli_ctx_t *ctx, const char *text, char *buf,
                                   Porthole__V1__MetricTransformation *t)
{
    if (strlen (text) >= CLI_TRANSFORM_MAX)
        return cli_usage_error (ctx->verb, "--metric-transformations is too long");
    strcpy (buf, text);
    for (char *save = NULL, *kv = strtok_r (buf, ",", &save); kv;
         kv = strtok_r (NULL, ",", &save)) {
        char *eq = strchr (kv, '=');
        if (!eq)
            return cli_usage_error (ctx->verb,
                                    "--metric-transformations: '%s' is not NAME=VALUE; write "
                                    "metricName=M,metricNamespace=NS,metricValue=V",
                                    kv);
        *eq = 0;
        char *v = eq + 1;
        if (!strcmp (kv, "metricName"))
            t->metric_name = v;
        else if (!strcmp (kv, "metricNamespace"))
            t->metric_namespace = v;
        else if (!strcmp (kv, "metricValue"))
            t->metric_value = v;
        else if (!strcmp (kv, "unit"))
            t->unit = v;
        else if (!strcmp (kv, "defaultValue")) {
            char *end;
            t->default_value = strtod (v, &end);
            if (!*v || *end)
                return cli_usage_error (ctx->verb,
                                        "--metric-transformations: defaultValue '%s' is not a "
                                        "number",
                                        v);
            t->has_default_value = true;
        } else
            return cli_usage_error (ctx->verb,
                                    "--metric-transformations: unknown member '%s' (metricName, "
                                    "metricNamespace, metricValue, defaultValue, unit)",
                                    kv);
    }
    if (!*t->metric_name || !*t->metric_namespace || !*t->metric_value)
        return cli_usage_error (ctx->verb, "--metric-transformations needs metricName, "
                                           "metricNamespace and metricValue");
    return PH_EXIT_OK;
}

static int s_filter_name_option (const cli_ctx_t *ctx, const cli_args_t *args, const char **name)
{
    *name = cli_args_get (args, "filter-name");
    if (!*name || !**name || strlen (*name) > CLI_FILTER_NAME_MAX)
        return cli_usage_error (ctx->verb, "--filter-name is needed (1..%d characters)",
                                CLI_FILTER_NAME_MAX);
    return PH_EXIT_OK;
}

/*  Sends req; prints nothing on success (as aws logs). */
static int s_run_silent (cli_ctx_t *ctx, Porthole__V1__LogsRequest *req)
{
    return cli_logs_run (ctx, req, NULL, NULL);
}

int cli_verb_logs_put_metric_filter (cli_ctx_t *ctx, const cli_args_t *args)
{
    Porthole__V1__LogsRequest req = PORTHOLE__V1__LOGS_REQUEST__INIT;
    Porthole__V1__MetricTransformation t = PORTHOLE__V1__METRIC_TRANSFORMATION__INIT;
    Porthole__V1__MetricTransformation *tp = &t;
    char buf[CLI_TRANSFORM_MAX];
    const char *group, *name, *pattern = cli_args_get (args, "filter-pattern");
    const char *transform = cli_args_get (args, "metric-transformations");
    int rc = cli_logs_name_option (ctx, args, "log-group-name", true, &group);
    if (rc == PH_EXIT_OK)
        rc = s_filter_name_option (ctx, args, &name);
    if (rc != PH_EXIT_OK)
        return rc;
    if (!pattern)
        return cli_usage_error (ctx->verb, "--filter-pattern is needed ('' matches every event)");
    if (!transform)
        return cli_usage_error (ctx->verb, "--metric-transformations is needed, e.g. "
                                           "metricName=SudoCount,metricNamespace=Porthole,"
                                           "metricValue=1");
    if ((rc = s_parse_transformation (ctx, transform, buf, &t)) != PH_EXIT_OK)
        return rc;
    req.op = "PutMetricFilter";
    req.log_group_name = (char *)group;
    req.filter_name = (char *)name;
    req.filter_pattern = (char *)pattern;
    req.n_metric_transformations = 1;
    req.metric_transformations = &tp;
    return s_run_silent (ctx, &req);
}

int cli_verb_logs_delete_metric_filter (cli_ctx_t *ctx, const cli_args_t *args)
{
    Porthole__V1__LogsRequest req = PORTHOLE__V1__LOGS_REQUEST__INIT;
    const char *group, *name;
    int rc = cli_logs_name_option (ctx, args, "log-group-name", true, &group);
    if (rc == PH_EXIT_OK)
        rc = s_filter_name_option (ctx, args, &name);
    if (rc != PH_EXIT_OK)
        return rc;
    req.op = "DeleteMetricFilter";
    req.log_group_name = (char *)group;
    req.filter_name = (char *)name;
    return s_run_silent (ctx, &req);
}

static json_t *s_transformation_json (const Porthole__V1__MetricTransformation *t)
{
    json_t *o = json_pack ("{s:o, s:o, s:o}", "metricName", cli_json_str (t->metric_name),
                           "metricNamespace", cli_json_str (t->metric_namespace), "metricValue",
                           cli_json_str (t->metric_value));
    if (t->has_default_value)
        json_object_set_new (o, "defaultValue", json_real (t->default_value));
    if (*t->unit)
        json_object_set_new (o, "unit", cli_json_str (t->unit));
    return o;
}

static json_t *s_filters_json (const ph_env_t *reply)
{
    const Porthole__V1__LogsReply *r = reply->logs_reply;
    json_t *list = json_array ();
    for (size_t i = 0; i < r->n_metric_filters; i++) {
        const Porthole__V1__MetricFilter *f = r->metric_filters[i];
        json_t *ts = json_array ();
        for (size_t k = 0; k < f->n_metric_transformations; k++)
            json_array_append_new (ts, s_transformation_json (f->metric_transformations[k]));
        json_array_append_new (list,
                               json_pack ("{s:o, s:o, s:o, s:I, s:o}", "filterName",
                                          cli_json_str (f->filter_name), "filterPattern",
                                          cli_json_str (f->filter_pattern), "metricTransformations",
                                          ts, "creationTime", (json_int_t)f->creation_time,
                                          "logGroupName", cli_json_str (f->log_group_name)));
    }
    return json_pack ("{s:o}", "metricFilters", list);
}

static const cli_col_t s_filter_cols[] = {{"logGroupName", "LogGroupName"},
                                          {"filterName", "FilterName"},
                                          {"filterPattern", "FilterPattern"},
                                          {NULL, NULL}};
static const cli_view_t s_filters_view = {"metricFilters", s_filter_cols, NULL, NULL};

int cli_verb_logs_describe_metric_filters (cli_ctx_t *ctx, const cli_args_t *args)
{
    Porthole__V1__LogsRequest req = PORTHOLE__V1__LOGS_REQUEST__INIT;
    const char *group = "", *prefix = cli_args_get (args, "filter-name-prefix");
    const char *metric = cli_args_get (args, "metric-name");
    const char *ns = cli_args_get (args, "metric-namespace");
    int rc = cli_logs_name_option (ctx, args, "log-group-name", false, &group);
    if (rc != PH_EXIT_OK)
        return rc;
    if ((metric == NULL) != (ns == NULL))
        return cli_usage_error (ctx->verb,
                                "--metric-name and --metric-namespace go together (as aws logs)");
    req.op = "DescribeMetricFilters";
    req.log_group_name = (char *)(group ? group : "");
    req.filter_name_prefix = (char *)(prefix ? prefix : "");
    req.metric_name = (char *)(metric ? metric : "");
    req.metric_namespace = (char *)(ns ? ns : "");
    return cli_logs_run (ctx, &req, s_filters_json, &s_filters_view);
}

static json_t *s_matches_json (const ph_env_t *reply)
{
    const Porthole__V1__LogsReply *r = reply->logs_reply;
    json_t *list = json_array ();
    for (size_t i = 0; i < r->n_matches; i++) {
        const Porthole__V1__MetricFilterMatch *m = r->matches[i];
        json_t *values = json_object ();
        for (size_t k = 0; k < m->n_extracted_values; k++)
            json_object_set_new (values, m->extracted_values[k]->key,
                                 cli_json_str (m->extracted_values[k]->value));
        json_array_append_new (list, json_pack ("{s:I, s:o, s:o}", "eventNumber",
                                                (json_int_t)m->event_number, "eventMessage",
                                                cli_json_str (m->event_message), "extractedValues",
                                                values));
    }
    return json_pack ("{s:o}", "matches", list);
}

static const cli_col_t s_match_cols[] = {
    {"eventNumber", "EventNumber"}, {"eventMessage", "EventMessage"}, {NULL, NULL}};
static const cli_view_t s_matches_view = {"matches", s_match_cols, NULL, NULL};

int cli_verb_logs_test_metric_filter (cli_ctx_t *ctx, const cli_args_t *args)
{
    Porthole__V1__LogsRequest req = PORTHOLE__V1__LOGS_REQUEST__INIT;
    const char *pattern = cli_args_get (args, "filter-pattern");
    size_t n = cli_args_count (args, "log-event-messages");
    char *messages[CLI_TEST_MESSAGES_MAX];
    if (!pattern)
        return cli_usage_error (ctx->verb, "--filter-pattern is needed");
    if (n < 1 || n > CLI_TEST_MESSAGES_MAX)
        return cli_usage_error (ctx->verb, "--log-event-messages takes 1..%d messages",
                                CLI_TEST_MESSAGES_MAX);
    for (size_t i = 0; i < n; i++)
        messages[i] = (char *)cli_args_nth (args, "log-event-messages", i);
    req.op = "TestMetricFilter";
    req.filter_pattern = (char *)pattern;
    req.log_event_messages = messages;
    req.n_log_event_messages = n;
    return cli_logs_run (ctx, &req, s_matches_json, &s_matches_view);
}
