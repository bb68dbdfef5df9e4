/*  cli_iam: the `porthole iam` verbs (the aws iam counterparts): users and
 *  their keys and tags in cli_iam.c, policies and the policy simulator in
 *  cli_iam_policy.c. Every verb sends one IamRequest whose op is the API
 *  name (CreateUser, ...) and prints the IamReply; see their --help.
 *
 *  Every verb returns a process exit code (see cli.h).
 */
#ifndef CLI_IAM_H
#define CLI_IAM_H

#include "cli.h"
#include "cli_args.h"
#include "cli_output.h"
#include "ph_wire.h"

/*  Builds the output of one verb from its request and the controller's
 *  reply; a new document, or NULL when the verb prints nothing. */
typedef json_t *(cli_iam_json_fn)(const Porthole__V1__IamRequest *req,
                                  const Porthole__V1__IamReply *reply);

/*  Sends req (op set by the caller), expects an IamReply, prints
 *  to_json's document through view (to_json NULL: prints nothing, as aws
 *  iam does for delete-user and the like). Returns an exit code. */
int cli_iam_run (cli_ctx_t *ctx, Porthole__V1__IamRequest *req, cli_iam_json_fn *to_json,
                 const cli_view_t *view);

/*  Reads option name (a user or policy name, ph_name_valid) into *value;
 *  what says what it names in messages ("user", "policy"). Returns
 *  PH_EXIT_OK or prints a usage error and returns PH_EXIT_USAGE. */
int cli_iam_name_option (const cli_ctx_t *ctx, const cli_args_t *args, const char *name,
                         const char *what, const char **value);

/*  [{"Key","Value"}] of tags, a new array. */
json_t *cli_iam_tags_json (Porthole__V1__Tag **tags, size_t n);

int cli_verb_iam_create_user (cli_ctx_t *ctx, const cli_args_t *args);
int cli_verb_iam_delete_user (cli_ctx_t *ctx, const cli_args_t *args);
int cli_verb_iam_list_users (cli_ctx_t *ctx, const cli_args_t *args);
int cli_verb_iam_add_user_key (cli_ctx_t *ctx, const cli_args_t *args);
int cli_verb_iam_remove_user_key (cli_ctx_t *ctx, const cli_args_t *args);
int cli_verb_iam_tag_user (cli_ctx_t *ctx, const cli_args_t *args);
int cli_verb_iam_untag_user (cli_ctx_t *ctx, const cli_args_t *args);

int cli_verb_iam_create_policy (cli_ctx_t *ctx, const cli_args_t *args);
int cli_verb_iam_delete_policy (cli_ctx_t *ctx, const cli_args_t *args);
int cli_verb_iam_get_policy (cli_ctx_t *ctx, const cli_args_t *args);
int cli_verb_iam_list_policies (cli_ctx_t *ctx, const cli_args_t *args);
int cli_verb_iam_attach_user_policy (cli_ctx_t *ctx, const cli_args_t *args);
int cli_verb_iam_detach_user_policy (cli_ctx_t *ctx, const cli_args_t *args);
int cli_verb_iam_simulate (cli_ctx_t *ctx, const cli_args_t *args);

#endif
