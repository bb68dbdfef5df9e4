/*  cli_group: two-word commands ("porthole iam create-user NAME",
 *  "porthole audit verify"), as aws groups its services.
 *
 *  A group is a table of verbs. main.c finds the group word, and
 *  cli_group_resolve finds the group's verb after it and rewrites argv so
 *  that the rest of the CLI sees an ordinary one-word command: the group
 *  word is dropped, and a bare word after the verb (the NAME of
 *  create-user NAME) becomes the value of the verb's positional option
 *  (--user-name NAME), which may also be given by name, as aws spells it.
 */
#ifndef CLI_GROUP_H
#define CLI_GROUP_H

#include "cli.h"
#include "cli_args.h"

#include <stdio.h>

#define CLI_ARGV_MAX 256 /* words of one invocation */

typedef int (cli_verb_fn) (cli_ctx_t *ctx, const cli_args_t *args);

typedef struct {
    const char *name; /* "configure", or "iam create-user" in a group; NULL ends a group */
    cli_verb_fn *run;
    const cli_opt_t *opts;
    const char *summary;
    const char *positional; /* "--user-name": what a bare word after the verb is, or NULL */
} cli_verb_t;

typedef struct {
    const char *name; /* "iam" */
    const char *summary;
    const char *about; /* first lines of `porthole iam --help` */
    const cli_verb_t *verbs;
} cli_group_t;

extern const cli_group_t cli_iam_group;
extern const cli_group_t cli_audit_group;
extern const cli_group_t cli_logs_group;
extern const cli_group_t cli_session_group;
extern const cli_group_t cli_alarms_group;
extern const cli_group_t cli_topics_group;
extern const cli_group_t cli_metrics_group;

/*  The verb of group named word ("create-user"), or NULL. */
const cli_verb_t *cli_group_find (const cli_group_t *group, const char *word);

/*  Finds the verb of group after argv[group_at] and writes the rewritten
 *  argv (pointers into argv, at most CLI_ARGV_MAX) to out, with the verb at
 *  out[group_at]. Returns 0 with *verb set; 0 with *verb NULL when no verb
 *  follows (the caller shows the group's help); or PH_EINVAL with a
 *  message for the user in err. */
int cli_group_resolve (const cli_group_t *group, int argc, char **argv, int group_at,
                       const cli_opt_t *globals, char **out, int *out_argc, const cli_verb_t **verb,
                       char *err, size_t errlen);

/*  Prints `porthole GROUP --help`: what it is, its verbs, how to get more. */
void cli_group_help (const cli_group_t *group, FILE *out);

#endif
