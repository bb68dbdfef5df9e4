/*  cli_verbs: the request/reply verbs of the porthole CLI (the aws ssm
 *  counterparts): each builds one request from its options, sends it to
 *  the controller, and prints the reply with cli_output. The session verbs
 *  are in cli_session.c, configure in cli_profile.c.
 *
 *  Every verb returns a process exit code (see cli.h).
 */
#ifndef CLI_VERBS_H
#define CLI_VERBS_H

#include "cli.h"
#include "cli_args.h"
#include "cli_conn.h"
#include "cli_output.h"
#include "cli_profile.h"

/*  Loads the profile and connects to its controller. Returns PH_EXIT_OK
 *  with *conn set (and creds filled when not NULL), or prints why not and
 *  returns the exit code. */
int cli_connect (const cli_ctx_t *ctx, cli_conn_t **conn, cli_creds_t *creds);

/*  Connects, sends req, expects a reply of body expect and prints it as
 *  to_json makes it, through view (NULL to_json: prints nothing, for the
 *  verbs that change something, as aws does). Returns an exit code. Blocks
 *  up to ctx->timeout_s. */
int cli_run_request (cli_ctx_t *ctx, ph_env_t *req, ph_body_t expect,
                     json_t *(*to_json) (const ph_env_t *reply), const cli_view_t *view);

int cli_verb_create_activation (cli_ctx_t *ctx, const cli_args_t *args);
int cli_verb_describe_instances (cli_ctx_t *ctx, const cli_args_t *args);
int cli_verb_terminate_session (cli_ctx_t *ctx, const cli_args_t *args);
int cli_verb_describe_sessions (cli_ctx_t *ctx, const cli_args_t *args);
int cli_verb_get_preferences (cli_ctx_t *ctx, const cli_args_t *args);
int cli_verb_update_preferences (cli_ctx_t *ctx, const cli_args_t *args);

/*  Checks a session id given by the user ("NAME-" + 17 hex digits).
 *  Returns PH_EXIT_OK or prints a usage error and returns PH_EXIT_USAGE. */
int cli_check_session_id (const char *verb, const char *id);

/*  Parses "2026-11-25T10:00:00Z" (optional .fff, a zone or none = UTC),
 *  "2026-11-25" (midnight UTC) or epoch seconds into ms (cli_audit.c).
 *  Returns 0 or PH_EINVAL. */
int cli_parse_time (const char *text, uint64_t *ms);

/*  The metrics group (cli_metrics.c). */
int cli_verb_metrics_get_metric_statistics (cli_ctx_t *ctx, const cli_args_t *args);
int cli_verb_metrics_list_metrics (cli_ctx_t *ctx, const cli_args_t *args);

#endif
