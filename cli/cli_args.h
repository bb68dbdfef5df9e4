/*  cli_args: command-line parsing for porthole. Every option is long
 *  ("--name value" or "--name=value"); global options may stand before or
 *  after the verb; every option takes a value unless it is a flag.
 *  Options marked CLI_OPT_REPEAT may be given again, and the plain words
 *  that follow one are further values of it, as with aws
 *  ("--filters A B" = "--filters A --filters B").
 */
#ifndef CLI_ARGS_H
#define CLI_ARGS_H

#include <stdbool.h>
#include <stddef.h>

#define CLI_ARGS_MAX   128 /* option values per invocation */
#define CLI_OPT_FLAG   1u  /* takes no value */
#define CLI_OPT_REPEAT 2u  /* may be given more than once */

typedef struct {
    const char *name; /* without the leading "--"; NULL ends a table */
    unsigned flags;
} cli_opt_t;

typedef struct {
    const char *name;  /* the option's name in its table */
    const char *value; /* "" for flags; points into argv */
} cli_arg_t;

typedef struct {
    const char *verb; /* NULL when none was given */
    cli_arg_t items[CLI_ARGS_MAX];
    size_t count;
} cli_args_t;

/*  Index in argv of the verb: the first word that is not an option or an
 *  option's value. Options not in globals are taken to have a value (every
 *  verb option does). Returns -1 when there is no verb. */
int cli_args_find_verb (int argc, char **argv, const cli_opt_t *globals);

/*  Parses argv against the global options and the options of the verb at
 *  argv[verb_at] (verb_opts may be NULL). Returns 0, or PH_EINVAL with a
 *  message for the user in err (unknown option, missing value, repeated
 *  option, stray word). */
int cli_args_parse (cli_args_t *self, int argc, char **argv, int verb_at, const cli_opt_t *globals,
                    const cli_opt_t *verb_opts, char *err, size_t errlen);

/*  The last value of option name, or NULL. */
const char *cli_args_get (const cli_args_t *self, const char *name);

bool cli_args_has (const cli_args_t *self, const char *name);

/*  Number of values of option name, and the n-th of them (NULL past end). */
size_t cli_args_count (const cli_args_t *self, const char *name);
const char *cli_args_nth (const cli_args_t *self, const char *name, size_t n);

#endif
