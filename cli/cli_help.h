/*  cli_help: the --help text of the program and of each verb: usage,
 *  options with their defaults, examples and exit codes. */
#ifndef CLI_HELP_H
#define CLI_HELP_H

/*  The help text of verb, or NULL for an unknown verb. */
const char *cli_help_verb (const char *verb);

/*  The help text of a verb of the iam and audit groups ("iam create-user"),
 *  or NULL (cli_help_iam.c). cli_help_verb asks it too. */
const char *cli_help_iam_verb (const char *verb);

/*  The help text of a verb of the logs and session groups ("logs tail"),
 *  or NULL (cli_help_logs.c). cli_help_verb asks it too. */
const char *cli_help_logs_verb (const char *verb);

/*  The help text of a verb of the metrics group, or NULL (cli_metrics.c). */
const char *cli_help_metrics_verb (const char *verb);

/*  The help text of a verb of the alarms and topics groups ("topics
 *  watch"), or NULL (cli_help_alarms.c). cli_help_verb asks it too. */
const char *cli_help_alarms_verb (const char *verb);

/*  The parts of `porthole --help` around the list of verbs. */
const char *cli_help_head (void);
const char *cli_help_tail (void);

#endif
