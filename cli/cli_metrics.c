/*  cli_metrics: the `porthole metrics` verbs (issue 4), the aws cloudwatch
 *  counterparts get-metric-statistics and list-metrics, over the metrics
 *  that metric filters make (porthole logs put-metric-filter). Output keeps
 *  the aws cloudwatch member names (Label, Datapoints[].Timestamp, Sum, ...;
 *  Metrics[].Namespace, MetricName). Also the verbs' --help texts. */
#include "cli_group.h"
#include "cli_help.h"
#include "cli_logs.h"
#include "cli_output.h"
#include "cli_verbs.h"
#include "ph_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CLI_STATS_MAX   5
#define CLI_EPOCH_S_MAX 32503680000ULL /* year 3000 */

/*  --NAME as epoch seconds (aws cloudwatch) or ISO 8601, into ms. */
static int s_time (const cli_ctx_t *ctx, const cli_args_t *args, const char *name, uint64_t *ms)
{
    const char *text = cli_args_get (args, name);
    uint64_t s;
    if (!text)
        return cli_usage_error (ctx->verb, "--%s is needed (ISO 8601 or seconds since the epoch)",
                                name);
    if (ph_parse_uint (text, 0, CLI_EPOCH_S_MAX, &s) == 0) {
        *ms = s * 1000;
        return PH_EXIT_OK;
    }
    if (cli_parse_time (text, ms) == 0)
        return PH_EXIT_OK;
    return cli_usage_error (ctx->verb,
                            "--%s '%s' is not a time: write 2026-11-25T10:00:00Z (ISO 8601) or "
                            "seconds since the epoch",
                            name, text);
}

static void s_add_stat (json_t *o, const char *want, const char *name, double v)
{
    if (strcmp (want, name) == 0)
        json_object_set_new (o, name, json_real (v));
}

static json_t *s_statistics_json (const ph_env_t *reply)
{
    const Porthole__V1__MetricsReply *r = reply->metrics_reply;
    json_t *list = json_array ();
    for (size_t i = 0; i < r->n_datapoints; i++) {
        const Porthole__V1__Datapoint *d = r->datapoints[i];
        json_t *o = json_pack ("{s:o}", "Timestamp", cli_json_time (d->timestamp));
        for (size_t k = 0; k < r->n_statistics; k++) {
            s_add_stat (o, r->statistics[k], "SampleCount", d->sample_count);
            s_add_stat (o, r->statistics[k], "Average", d->average);
            s_add_stat (o, r->statistics[k], "Sum", d->sum);
            s_add_stat (o, r->statistics[k], "Minimum", d->minimum);
            s_add_stat (o, r->statistics[k], "Maximum", d->maximum);
        }
        json_object_set_new (o, "Unit", cli_json_str (d->unit));
        json_array_append_new (list, o);
    }
    return json_pack ("{s:o, s:o}", "Label", cli_json_str (r->label), "Datapoints", list);
}

static const cli_col_t s_dp_cols[] = {{"Timestamp", "Timestamp"},
                                      {"SampleCount", "SampleCount"},
                                      {"Sum", "Sum"},
                                      {"Average", "Average"},
                                      {"Minimum", "Minimum"},
                                      {"Maximum", "Maximum"},
                                      {NULL, NULL}};
static const cli_view_t s_dp_view = {"Datapoints", s_dp_cols, NULL, NULL};

static int s_run (cli_ctx_t *ctx, Porthole__V1__MetricsRequest *req,
                  json_t *(*to_json) (const ph_env_t *reply), const cli_view_t *view)
{
    ph_env_t env = PH_ENV_INIT;
    env.body_case = PORTHOLE__V1__ENVELOPE__BODY_METRICS;
    env.metrics = req;
    return cli_run_request (ctx, &env, PORTHOLE__V1__ENVELOPE__BODY_METRICS_REPLY, to_json, view);
}

int cli_verb_metrics_get_metric_statistics (cli_ctx_t *ctx, const cli_args_t *args)
{
    Porthole__V1__MetricsRequest req = PORTHOLE__V1__METRICS_REQUEST__INIT;
    const char *ns = cli_args_get (args, "namespace"), *name = cli_args_get (args, "metric-name");
    const char *period = cli_args_get (args, "period");
    size_t n = cli_args_count (args, "statistics");
    char *stats[CLI_STATS_MAX];
    uint64_t p;
    if (!ns || !name)
        return cli_usage_error (ctx->verb, "--namespace and --metric-name are needed");
    if (!period || ph_parse_uint (period, 1, 86400 * 30, &p) != 0)
        return cli_usage_error (ctx->verb, "--period is needed: seconds (1, 5, 10, 30 or a "
                                           "multiple of 60)");
    if (n < 1 || n > CLI_STATS_MAX)
        return cli_usage_error (ctx->verb, "--statistics takes 1..5 of Sum Average Minimum "
                                           "Maximum SampleCount");
    int rc = s_time (ctx, args, "start-time", &req.start_time);
    if (rc == PH_EXIT_OK)
        rc = s_time (ctx, args, "end-time", &req.end_time);
    if (rc != PH_EXIT_OK)
        return rc;
    for (size_t i = 0; i < n; i++)
        stats[i] = (char *)cli_args_nth (args, "statistics", i);
    req.op = "GetMetricStatistics";
    req.namespace_ = (char *)ns;
    req.metric_name = (char *)name;
    req.period = (uint32_t)p;
    req.statistics = stats;
    req.n_statistics = n;
    return s_run (ctx, &req, s_statistics_json, &s_dp_view);
}

static json_t *s_list_json (const ph_env_t *reply)
{
    const Porthole__V1__MetricsReply *r = reply->metrics_reply;
    json_t *list = json_array ();
    for (size_t i = 0; i < r->n_metrics; i++)
        json_array_append_new (
            list, json_pack ("{s:o, s:o}", "Namespace", cli_json_str (r->metrics[i]->namespace_),
                             "MetricName", cli_json_str (r->metrics[i]->metric_name)));
    return json_pack ("{s:o}", "Metrics", list);
}

static const cli_col_t s_list_cols[] = {
    {"Namespace", "Namespace"}, {"MetricName", "MetricName"}, {NULL, NULL}};
static const cli_view_t s_list_view = {"Metrics", s_list_cols, NULL, NULL};

int cli_verb_metrics_list_metrics (cli_ctx_t *ctx, const cli_args_t *args)
{
    Porthole__V1__MetricsRequest req = PORTHOLE__V1__METRICS_REQUEST__INIT;
    const char *ns = cli_args_get (args, "namespace"), *name = cli_args_get (args, "metric-name");
    req.op = "ListMetrics";
    req.namespace_ = (char *)(ns ? ns : "");
    req.metric_name = (char *)(name ? name : "");
    return s_run (ctx, &req, s_list_json, &s_list_view);
}

/* ---- the group and its help ------------------------------------------------------ */

static const cli_opt_t s_stats_opts[] = {{"namespace", 0},  {"metric-name", 0},
                                         {"start-time", 0}, {"end-time", 0},
                                         {"period", 0},     {"statistics", CLI_OPT_REPEAT},
                                         {NULL, 0}};
static const cli_opt_t s_list_opts[] = {{"namespace", 0}, {"metric-name", 0}, {NULL, 0}};

static const cli_verb_t s_metrics_verbs[] = {
    {"metrics get-metric-statistics", cli_verb_metrics_get_metric_statistics, s_stats_opts,
     "statistics of a metric per period (down to 1 s)", NULL},
    {"metrics list-metrics", cli_verb_metrics_list_metrics, s_list_opts,
     "list the metrics that have data", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

const cli_group_t cli_metrics_group = {
    "metrics", "metrics made by metric filters: statistics per period",
    "Metrics that metric filters make from log events (porthole logs\n"
    "put-metric-filter), with the statistics of aws cloudwatch, at periods down to\n"
    "1 second. Alarms watch them (porthole alarms).\n",
    s_metrics_verbs};

#define GLOBALS                                                                                    \
    "\nGlobal options (before or after the command):\n"                                            \
    "  --profile NAME     profile to use (default: $PORTHOLE_PROFILE, else \"default\")\n"         \
    "  --output FORMAT    json, table or text (default: $PORTHOLE_OUTPUT, else json)\n"            \
    "  --timeout SECONDS  how long to wait for the controller's answer (default 10)\n"             \
    "  --help             show this help\n"                                                        \
    "\nExit status: 0 success, 64 bad options, 65 not configured (porthole configure),\n"          \
    "69 no answer, 70 refused (reason on stderr), 77 access denied (metrics:*).\n"

static const char s_get_help[] =
    "Usage: porthole metrics get-metric-statistics --namespace NS --metric-name M\n"
    "           --start-time T --end-time T --period S\n"
    "           --statistics STAT [STAT ...]\n"
    "\n"
    "Shows the statistics of metric NS/M for each period of S seconds in\n"
    "[start, end): STAT is Sum, Average, Minimum, Maximum or SampleCount. S is 1, 5,\n"
    "10, 30 or a multiple of 60; per-second data is kept 26 hours, per-minute data\n"
    "15 days; at most 1,440 datapoints. Periods without samples have no datapoint.\n"
    "Times: ISO 8601 (2026-11-25T10:00:00Z) or seconds since the epoch.\n"
    "\n"
    "Output: json {\"Label\", \"Datapoints\": [{\"Timestamp\", \"Sum\", ..., \"Unit\"}]}.\n"
    "\n"
    "Example:\n"
    "  porthole metrics get-metric-statistics --namespace Porthole --metric-name SudoCount \\\n"
    "      --start-time 2026-11-25T10:00:00Z --end-time 2026-11-25T11:00:00Z --period 60 \\\n"
    "      --statistics Sum SampleCount\n" GLOBALS;

static const char s_list_help[] =
    "Usage: porthole metrics list-metrics [--namespace NS] [--metric-name M]\n"
    "\n"
    "Lists the metrics that metric filters have written.\n"
    "\n"
    "Output: json {\"Metrics\": [{\"Namespace\", \"MetricName\"}]}.\n" GLOBALS;

const char *cli_help_metrics_verb (const char *verb)
{
    if (strcmp (verb, "metrics get-metric-statistics") == 0)
        return s_get_help;
    if (strcmp (verb, "metrics list-metrics") == 0)
        return s_list_help;
    return NULL;
}
