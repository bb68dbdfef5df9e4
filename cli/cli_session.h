/*  cli_session: the start-session and resume-session verbs: a session's
 *  data stream between the user's terminal (or a command's stdin/stdout/
 *  stderr) and the agent, through the controller (docs/architecture.md,
 *  "Sessions" and "Session streams").
 *
 *  Both return the remote exit status (0..255), PH_EXIT_DETACHED after
 *  "~.", PH_EXIT_LOST when the session could not be followed to its end,
 *  or another PH_EXIT_* code for errors (message on stderr).
 */
#ifndef CLI_SESSION_H
#define CLI_SESSION_H

#include "cli.h"
#include "cli_args.h"

int cli_verb_start_session (cli_ctx_t *ctx, const cli_args_t *args);
int cli_verb_resume_session (cli_ctx_t *ctx, const cli_args_t *args);

#endif
