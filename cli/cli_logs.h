/*  cli_logs: the `porthole logs` verbs (the aws logs counterparts) and the
 *  `porthole session replay|export` verbs that read a session's recording
 *  back. Every logs verb sends one LogsRequest whose op is the API name
 *  (CreateLogGroup, ...) to the controller and prints the LogsReply with
 *  the aws logs member names (logGroups[].logGroupName, events[].message,
 *  nextForwardToken, ...).
 *    cli_logs.c         the group table, option checks, the log group and
 *                       log stream verbs;
 *    cli_logs_events.c  get-log-events, filter-log-events, tail;
 *    cli_logs_filters.c put/describe/delete/test-metric-filter;
 *    cli_replay.c       session replay and session export (asciicast v2);
 *    cli_help_logs.c    their --help texts.
 *
 *  Every verb returns a process exit code (see cli.h).
 */
#ifndef CLI_LOGS_H
#define CLI_LOGS_H

#include "cli.h"
#include "cli_args.h"
#include "cli_conn.h"
#include "cli_output.h"
#include "ph_wire.h"

#define CLI_LOG_NAME_MAX      512 /* log group and stream names */
#define CLI_LOG_GROUP_DEFAULT "porthole/sessions"
#define CLI_LOG_LIMIT_MAX     10000 /* events per GetLogEvents page */
#define CLI_LOG_TOKEN_MAX     128
#define CLI_LOG_PATTERN_MAX   1024
#define CLI_LOG_RETENTION_MAX 3653 /* days; 10 years, as aws logs */
#define CLI_LOG_STREAM_NAMES  100  /* --log-stream-names values */

/*  True when name is a log group or stream name: 1..512 characters of
 *  [A-Za-z0-9_.-/#]. */
bool cli_logs_name_valid (const char *name);

/*  Reads option name (a log group or stream name) into *value; required
 *  says whether it must be given. Returns PH_EXIT_OK or prints a usage
 *  error and returns PH_EXIT_USAGE. */
int cli_logs_name_option (const cli_ctx_t *ctx, const cli_args_t *args, const char *name,
                          bool required, const char **value);

/*  Reads the time option name ("start-time") into *ms: milliseconds since
 *  the epoch (as aws logs) or an ISO 8601 time; 0 when absent. Returns
 *  PH_EXIT_OK or prints a usage error and returns PH_EXIT_USAGE. */
int cli_logs_time_option (const cli_ctx_t *ctx, const cli_args_t *args, const char *name,
                          uint64_t *ms);

/*  Reads --next-token into req->next_token (borrowed). Returns an exit
 *  code. */
int cli_logs_token_option (const cli_ctx_t *ctx, const cli_args_t *args,
                           Porthole__V1__LogsRequest *req);

/*  Sends req on conn and waits ctx->timeout_s for the LogsReply. Returns
 *  PH_EXIT_OK with *reply set (caller frees with ph_wire_free), or prints
 *  why not and returns the exit code. Blocks. */
int cli_logs_call (const cli_ctx_t *ctx, cli_conn_t *conn, Porthole__V1__LogsRequest *req,
                   ph_env_t **reply);

/*  Connects, sends req, prints to_json's document through view (NULL
 *  to_json: prints nothing). Returns an exit code. Blocks up to
 *  ctx->timeout_s. */
int cli_logs_run (cli_ctx_t *ctx, Porthole__V1__LogsRequest *req,
                  json_t *(*to_json) (const ph_env_t *reply), const cli_view_t *view);

int cli_verb_logs_create_log_group (cli_ctx_t *ctx, const cli_args_t *args);
int cli_verb_logs_delete_log_group (cli_ctx_t *ctx, const cli_args_t *args);
int cli_verb_logs_describe_log_groups (cli_ctx_t *ctx, const cli_args_t *args);
int cli_verb_logs_put_retention_policy (cli_ctx_t *ctx, const cli_args_t *args);
int cli_verb_logs_describe_log_streams (cli_ctx_t *ctx, const cli_args_t *args);
int cli_verb_logs_get_log_events (cli_ctx_t *ctx, const cli_args_t *args);
int cli_verb_logs_filter_log_events (cli_ctx_t *ctx, const cli_args_t *args);
int cli_verb_logs_tail (cli_ctx_t *ctx, const cli_args_t *args);
int cli_verb_logs_put_metric_filter (cli_ctx_t *ctx, const cli_args_t *args);
int cli_verb_logs_describe_metric_filters (cli_ctx_t *ctx, const cli_args_t *args);
int cli_verb_logs_delete_metric_filter (cli_ctx_t *ctx, const cli_args_t *args);
int cli_verb_logs_test_metric_filter (cli_ctx_t *ctx, const cli_args_t *args);
int cli_verb_session_replay (cli_ctx_t *ctx, const cli_args_t *args);
int cli_verb_session_export (cli_ctx_t *ctx, const cli_args_t *args);

#endif
