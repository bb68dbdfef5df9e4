/*  cli_help_logs: the --help texts of the `porthole logs` and `porthole
 *  session` verbs (see cli_help.h); keep them in step with the option
 *  tables of cli_logs.c and cli_replay.c. */
#include "cli_help.h"

#include <stddef.h>
#include <string.h>

#define GLOBALS                                                                                    \
    "\nGlobal options (before or after the command):\n"                                            \
    "  --profile NAME     profile to use (default: $PORTHOLE_PROFILE, else \"default\")\n"         \
    "  --output FORMAT    json, table or text (default: $PORTHOLE_OUTPUT, else json)\n"            \
    "  --timeout SECONDS  how long to wait for each answer of the controller (default 10)\n"       \
    "  --help             show this help\n"

#define EXIT_API                                                                                   \
    "\nExit status:\n"                                                                             \
    "  0   success\n"                                                                              \
    "  64  bad options (the message says which)\n"                                                 \
    "  65  no endpoint, server key or key file: run porthole configure\n"                          \
    "  69  no answer from the controller within --timeout\n"                                       \
    "  70  the controller refused the request (its reason is on stderr), e.g. no such\n"           \
    "      log group (ResourceNotFound)\n"                                                         \
    "  77  access denied (key not registered, or no logs:* permission on the group)\n"

#define NAMES "\nLog group and stream names: 1..512 letters, digits and _.-/#.\n"

#define TIMES                                                                                      \
    "\nTimes: milliseconds since the epoch (1764064800000, as aws logs) or ISO 8601\n"             \
    "(2026-11-25T10:00:00Z, 2026-11-25T11:00:00+01:00, 2026-11-25).\n"

#define SILENT "\nOutput: nothing on success (as aws logs).\n"

static const char s_create_log_group[] =
    "Usage: porthole logs create-log-group NAME [--retention-in-days N]\n"
    "\n"
    "Creates the log group NAME. Session transcripts go to the group of the\n"
    "preferences (porthole/sessions by default), which the logshipper also creates\n"
    "by itself on the first event unless it runs with --auto-create-log-groups false.\n"
    "\n"
    "Options:\n"
    "  NAME, --log-group-name NAME  the group\n"
    "  --retention-in-days N        keep events N days after they arrived (1..3653;\n"
    "                               default 0: for ever)\n" NAMES SILENT "\nExample:\n"
    "  porthole logs create-log-group audit/web --retention-in-days 90\n" GLOBALS EXIT_API;

static const char s_delete_log_group[] =
    "Usage: porthole logs delete-log-group NAME\n"
    "\n"
    "Deletes the log group NAME with all its streams and events, for good.\n"
    "\n"
    "Options:\n"
    "  NAME, --log-group-name NAME  the group\n" SILENT "\nExample:\n"
    "  porthole logs delete-log-group audit/web\n" GLOBALS EXIT_API;

static const char s_describe_log_groups[] =
    "Usage: porthole logs describe-log-groups [--log-group-name-prefix PREFIX]\n"
    "\n"
    "Lists the log groups, by name.\n"
    "\n"
    "Options:\n"
    "  --log-group-name-prefix PREFIX  only the groups whose name starts with PREFIX\n"
    "                                  (default: all)\n"
    "\n"
    "Output: json {\"logGroups\": [{\"logGroupName\", \"creationTime\" (ms since the epoch),\n"
    "\"retentionInDays\" (absent: for ever), \"storedBytes\"}]}; table/text: those fields.\n"
    "\n"
    "Example:\n"
    "  porthole logs describe-log-groups --log-group-name-prefix porthole/ --output "
    "table\n" GLOBALS EXIT_API;

static const char s_put_retention_policy[] =
    "Usage: porthole logs put-retention-policy --log-group-name NAME --retention-in-days N\n"
    "\n"
    "Sets how long the events of a log group are kept: the logshipper deletes, once\n"
    "a minute, the events that arrived more than N days ago.\n"
    "\n"
    "Options:\n"
    "  --log-group-name NAME   the group\n"
    "  --retention-in-days N   1..3653 days; 0 keeps events for ever\n" SILENT "\nExample:\n"
    "  porthole logs put-retention-policy --log-group-name porthole/sessions "
    "--retention-in-days 30\n" GLOBALS EXIT_API;

static const char s_describe_log_streams[] =
    "Usage: porthole logs describe-log-streams --log-group-name NAME\n"
    "                                          [--order-by LogStreamName|LastEventTime]\n"
    "                                          [--descending]\n"
    "\n"
    "Lists the streams of a log group. A session's recording is the stream named by\n"
    "its session id; SESSION_ID.txt holds its plain text lines.\n"
    "\n"
    "Options:\n"
    "  --log-group-name NAME   the group\n"
    "  --order-by KEY          LogStreamName (default) or LastEventTime\n"
    "  --descending            newest (or last by name) first\n"
    "\n"
    "Output: json {\"logStreams\": [{\"logStreamName\", \"creationTime\",\n"
    "\"firstEventTimestamp\", \"lastEventTimestamp\", \"storedBytes\"}]} (times in ms\n"
    "since the epoch); table/text: those fields.\n"
    "\n"
    "Example:\n"
    "  porthole logs describe-log-streams --log-group-name porthole/sessions \\\n"
    "      --order-by LastEventTime --descending --output table\n" GLOBALS EXIT_API;

static const char s_get_log_events[] =
    "Usage: porthole logs get-log-events --log-group-name G --log-stream-name S\n"
    "                                    [--start-time T] [--end-time T] [--limit N]\n"
    "                                    [--next-token TOKEN] [--start-from-head]\n"
    "\n"
    "Reads the events of one stream, a page at a time, in time order. Without a token\n"
    "the page is the newest events (the oldest with --start-from-head). Pass\n"
    "nextForwardToken as --next-token for the next page, nextBackwardToken for the\n"
    "page before; at the end the same forward token comes back with no events.\n"
    "\n"
    "Options:\n"
    "  --log-group-name G    the group\n"
    "  --log-stream-name S   the stream (a session id for a session's recording)\n"
    "  --start-time T        only events at or after T (default: the first)\n"
    "  --end-time T          only events before T (default: the last)\n"
    "  --limit N             events per page, 1..10000 (default 10000)\n"
    "  --next-token TOKEN    a nextForwardToken (f/...) or nextBackwardToken (b/...)\n"
    "  --start-from-head     without a token: start at the oldest event\n" NAMES TIMES
    "\nOutput: json {\"events\": [{\"timestamp\", \"message\", \"ingestionTime\"}],\n"
    "\"nextForwardToken\", \"nextBackwardToken\"}; text: TIMESTAMP<TAB>MESSAGE<TAB>INGESTION\n"
    "per event, then NEXTTOKEN<TAB>nextForwardToken.\n"
    "\n"
    "Example:\n"
    "  porthole logs get-log-events --log-group-name porthole/sessions \\\n"
    "      --log-stream-name alice-0a1b2c3d4e5f60718.txt --start-from-head --limit 100\n" GLOBALS
        EXIT_API;

static const char s_filter_log_events[] =
    "Usage: porthole logs filter-log-events --log-group-name G [--log-stream-names S ...]\n"
    "                                       [--filter-pattern P] [--start-time T]\n"
    "                                       [--end-time T] [--limit N]\n"
    "                                       [--next-token TOKEN]\n"
    "\n"
    "Searches the events of a log group (all streams, or those named) in time order.\n"
    "\n"
    "Options:\n"
    "  --log-group-name G         the group\n"
    "  --log-stream-names S ...   only these streams (up to 100; repeat the option or\n"
    "                             list the names after it)\n"
    "  --filter-pattern P         a pattern as for metric filters (default: every\n"
    "                             event): ERROR Exception (all terms, case-sensitive\n"
    "                             substrings of letters, digits, _); \"a quoted\n"
    "                             phrase\"; ?ERROR ?WARN (any); ERROR -Exiting (not);\n"
    "                             %regex%; { $.user = \"root\" }; [ip, user, ...].\n"
    "                             With other than terms and phrases, a page may hold\n"
    "                             fewer events than were found in range: follow\n"
    "                             nextToken\n"
    "  --start-time T             only events at or after T\n"
    "  --end-time T               only events before T\n"
    "  --limit N                  at most N events a page (1..10000)\n"
    "  --next-token TOKEN         the nextToken of the previous page\n" NAMES TIMES
    "\nOutput: json {\"events\": [{\"logStreamName\", \"timestamp\", \"message\",\n"
    "\"ingestionTime\", \"eventId\"}], \"nextToken\"} (null on the last page); text: one\n"
    "event per line, tab-separated, then NEXTTOKEN<TAB>TOKEN.\n"
    "\n"
    "Examples:\n"
    "  porthole logs filter-log-events --log-group-name porthole/sessions \\\n"
    "      --filter-pattern 'sudo \"rm -rf\"'\n"
    "  porthole logs filter-log-events --log-group-name porthole/audit \\\n"
    "      --filter-pattern '{ $.decision = \"Deny\" }'\n"
    "  porthole logs filter-log-events --log-group-name porthole/sessions \\\n"
    "      --log-stream-names alice-0a1b2c3d4e5f60718.txt --filter-pattern ERROR\n" GLOBALS
        EXIT_API;

static const char s_tail[] =
    "Usage: porthole logs tail NAME [--follow] [--filter-pattern P] [--since DURATION]\n"
    "\n"
    "Prints the recent events of a log group, one line each:\n"
    "  TIMESTAMP STREAM MESSAGE\n"
    "With --follow, asks again every 500 ms from the last timestamp seen and prints\n"
    "new events as they arrive, until interrupted (Ctrl-C). --output does not apply.\n"
    "\n"
    "Options:\n"
    "  NAME, --log-group-name NAME  the group\n"
    "  --follow                     keep printing new events\n"
    "  --filter-pattern P           as filter-log-events (the metric filter syntax)\n"
    "  --since DURATION             start this long ago: 30s, 10m, 2h, 1d (default 10m)\n"
    "\n"
    "Example:\n"
    "  porthole logs tail porthole/sessions --follow --filter-pattern sudo\n" GLOBALS EXIT_API;

static const char s_replay[] =
    "Usage: porthole session replay SESSION_ID [--speed X] [--log-group G]\n"
    "\n"
    "Plays the recorded terminal output of an interactive session to stdout with its\n"
    "original timing: the same bytes the user saw. The recording is the log stream\n"
    "SESSION_ID (asciicast v2) of the session's log group; it grows while the\n"
    "session runs when streaming is on, else it arrives when the session ends.\n"
    "\n"
    "Options:\n"
    "  SESSION_ID, --session-id ID  the session (see porthole describe-sessions)\n"
    "  --speed X                    X times as fast, 0..1000 (default 1; 0: no waiting)\n"
    "  --log-group G                the log group (default porthole/sessions)\n"
    "\n"
    "Example:\n"
    "  porthole session replay alice-0a1b2c3d4e5f60718 --speed 4\n" GLOBALS EXIT_API
    "  70 also when the stream holds no recording, or is not asciicast v2\n";

static const char s_export[] =
    "Usage: porthole session export SESSION_ID [--log-group G] > FILE.cast\n"
    "\n"
    "Writes the recording of an interactive session as an asciicast v2 file: the\n"
    "header line, then one [t, \"o\"|\"i\"|\"r\", data] event per line, as asciinema\n"
    "play and other players read it. --output does not apply.\n"
    "\n"
    "Options:\n"
    "  SESSION_ID, --session-id ID  the session (see porthole describe-sessions)\n"
    "  --log-group G                the log group (default porthole/sessions)\n"
    "\n"
    "Example:\n"
    "  porthole session export alice-0a1b2c3d4e5f60718 > alice.cast && asciinema play "
    "alice.cast\n" GLOBALS EXIT_API
    "  70 also when the stream holds no recording, or is not asciicast v2\n";

static const char s_put_metric_filter[] =
    "Usage: porthole logs put-metric-filter --log-group-name G --filter-name N\n"
    "           --filter-pattern PATTERN --metric-transformations\n"
    "           metricName=M,metricNamespace=NS,metricValue=V[,defaultValue=D][,unit=U]\n"
    "\n"
    "Creates or replaces the metric filter N of log group G: every event ingested\n"
    "from now on that matches PATTERN adds V to the metric NS/M (per second; see\n"
    "porthole metrics get-metric-statistics). V is a number, or a value taken from\n"
    "the event: $.field (JSON patterns), $name or $3 (space-delimited patterns).\n"
    "defaultValue is what a second with events but no match reports; without it\n"
    "such a second reports nothing. At most 100 filters per group.\n"
    "\n"
    "Patterns (as CloudWatch Logs): '' matches everything; ERROR Exception (all\n"
    "terms, case-sensitive substrings); \"a quoted phrase\"; ?ERROR ?WARN (any);\n"
    "ERROR -Exiting (not); %regex%; { $.user = \"root\" && $.n > 10 };\n"
    "[ip, user, ..., status=4*, bytes>1000]. A pattern that does not parse is\n"
    "refused with the position of the mistake.\n"
    "\n"
    "Example:\n"
    "  porthole logs put-metric-filter --log-group-name porthole/sessions \\\n"
    "      --filter-name sudo --filter-pattern '\"sudo\"' \\\n"
    "      --metric-transformations "
    "metricName=SudoCount,metricNamespace=Porthole,metricValue=1\n" NAMES SILENT GLOBALS EXIT_API;

static const char s_describe_metric_filters[] =
    "Usage: porthole logs describe-metric-filters [--log-group-name G]\n"
    "           [--filter-name-prefix P] [--metric-name M --metric-namespace NS]\n"
    "\n"
    "Lists metric filters: of group G, or of every group; by name prefix; or those\n"
    "that feed the metric NS/M.\n"
    "\n"
    "Output: json {\"metricFilters\": [{\"filterName\", \"filterPattern\",\n"
    "\"metricTransformations\": [{\"metricName\", \"metricNamespace\", \"metricValue\",\n"
    "\"defaultValue\", \"unit\"}], \"creationTime\", \"logGroupName\"}]}.\n" GLOBALS EXIT_API;

static const char s_delete_metric_filter[] =
    "Usage: porthole logs delete-metric-filter --log-group-name G --filter-name N\n"
    "\n"
    "Deletes the metric filter N of group G; its metric keeps the data it has.\n" SILENT GLOBALS
        EXIT_API;

static const char s_test_metric_filter[] =
    "Usage: porthole logs test-metric-filter --filter-pattern PATTERN\n"
    "           --log-event-messages MESSAGE [MESSAGE ...]\n"
    "\n"
    "Shows which of the messages (1..50) PATTERN matches, and for space-delimited\n"
    "patterns the values it extracts ($1.., $name), as the controller would.\n"
    "\n"
    "Output: json {\"matches\": [{\"eventNumber\", \"eventMessage\", \"extractedValues\"}]}.\n"
    "\n"
    "Example:\n"
    "  porthole logs test-metric-filter --filter-pattern '[ip, user, verb=sudo, ...]' \\\n"
    "      --log-event-messages '10.0.0.1 alice sudo -i' '10.0.0.2 bob ls'\n" GLOBALS EXIT_API;

static const struct {
    const char *verb;
    const char *text;
} s_texts[] = {
    {"logs put-metric-filter", s_put_metric_filter},
    {"logs describe-metric-filters", s_describe_metric_filters},
    {"logs delete-metric-filter", s_delete_metric_filter},
    {"logs test-metric-filter", s_test_metric_filter},
    {"logs create-log-group", s_create_log_group},
    {"logs delete-log-group", s_delete_log_group},
    {"logs describe-log-groups", s_describe_log_groups},
    {"logs put-retention-policy", s_put_retention_policy},
    {"logs describe-log-streams", s_describe_log_streams},
    {"logs get-log-events", s_get_log_events},
    {"logs filter-log-events", s_filter_log_events},
    {"logs tail", s_tail},
    {"session replay", s_replay},
    {"session export", s_export},
};

const char *cli_help_logs_verb (const char *verb)
{
    for (size_t i = 0; i < sizeof s_texts / sizeof s_texts[0]; i++)
        if (strcmp (s_texts[i].verb, verb) == 0)
            return s_texts[i].text;
    return NULL;
}
