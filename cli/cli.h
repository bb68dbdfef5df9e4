/*  cli: what every module of the porthole command line shares: the one
 *  context of an invocation (global options, resolved once in main.c) and
 *  the helpers that print messages for people.
 *
 *  Verb functions return a process exit code (PH_EXIT_*, or a remote
 *  command's status); every other function follows STYLE.md (0 or PH_E*).
 */
#ifndef CLI_H
#define CLI_H

#include "ph_errors.h"

#include <limits.h>
#include <stdbool.h>

#define CLI_PROGRAM          "porthole"
#define CLI_PROFILE_DEFAULT  "default"
#define CLI_TIMEOUT_DEFAULT  10   /* seconds, --timeout */
#define CLI_TIMEOUT_MAX      3600 /* seconds */
#define CLI_ENDPOINT_MAX     256
#define CLI_PROFILE_NAME_MAX 64

typedef enum { CLI_OUT_JSON = 0, CLI_OUT_TABLE, CLI_OUT_TEXT } cli_output_t;

typedef struct {
    char profile[CLI_PROFILE_NAME_MAX + 1];
    cli_output_t output;
    int timeout_s;
    char config_dir[PATH_MAX];
    const char *verb; /* for messages: "describe-sessions" */
} cli_ctx_t;

/*  Prints "porthole: MESSAGE" on stderr (no double prefix when the message
 *  already starts with "porthole:") and returns exit_code. */
int cli_error (int exit_code, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

/*  Prints a usage error for verb (NULL: the program) with a pointer to the
 *  right --help, and returns PH_EXIT_USAGE. */
int cli_usage_error (const char *verb, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));

#endif
