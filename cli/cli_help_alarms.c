/*  cli_help_alarms: the --help texts of the `porthole alarms` and `porthole
 *  topics` verbs (see cli_help.h); keep them in step with the option
 *  tables of cli_alarms.c and cli_topics.c. */
#include "cli_help.h"

#include <stddef.h>
#include <string.h>

#define GLOBALS                                                                                    \
    "\nGlobal options (before or after the command):\n"                                            \
    "  --profile NAME     profile to use (default: $PORTHOLE_PROFILE, else \"default\")\n"         \
    "  --output FORMAT    json, table or text (default: $PORTHOLE_OUTPUT, else json)\n"            \
    "  --timeout SECONDS  how long to wait for each answer of the controller (default 10)\n"       \
    "  --help             show this help\n"

#define EXIT_ALARMS                                                                                \
    "\nExit status:\n"                                                                             \
    "  0   success\n"                                                                              \
    "  64  bad options (the message says which and what to use)\n"                                 \
    "  65  no endpoint, server key or key file: run porthole configure\n"                          \
    "  69  no answer from the controller within --timeout\n"                                       \
    "  70  the controller refused the request (its reason is on stderr), e.g. no such\n"           \
    "      alarm (ResourceNotFound) or an action naming a topic that does not exist\n"             \
    "  77  access denied (no alarms:* permission on alarm/NAME)\n"

#define EXIT_TOPICS                                                                                \
    "\nExit status:\n"                                                                             \
    "  0   success\n"                                                                              \
    "  64  bad options (the message says which and what to use)\n"                                 \
    "  65  no endpoint, server key or key file: run porthole configure\n"                          \
    "  69  no answer from the controller within --timeout\n"                                       \
    "  70  the controller refused the request (its reason is on stderr), e.g. no such\n"           \
    "      topic (ResourceNotFound)\n"                                                             \
    "  77  access denied (no topics:* permission on topic/NAME)\n"

#define ALARM_NAMES                                                                                \
    "\nAlarm names: 1..255 printable ASCII characters, without { } * ? and without a\n"            \
    "space at either end.\n"

#define TOPIC_NAMES "\nTopic names: 1..256 letters, digits, _ and -.\n"

#define TIMES                                                                                      \
    "\nTimes: ISO 8601 (2026-11-25T10:00:00Z, 2026-11-25) or milliseconds since the\n"             \
    "epoch.\n"

#define SILENT "\nOutput: nothing on success (as aws).\n"

static const char s_put_metric_alarm[] =
    "Usage: porthole alarms put-metric-alarm --alarm-name A --namespace NS --metric-name M\n"
    "           --statistic STAT --period S --evaluation-periods N [--datapoints-to-alarm M]\n"
    "           --threshold X --comparison-operator OP [--treat-missing-data T]\n"
    "           [--alarm-actions ACTION ...] [--ok-actions ACTION ...]\n"
    "           [--insufficient-data-actions ACTION ...] [--actions-enabled true|false]\n"
    "           [--alarm-description TEXT]\n"
    "\n"
    "Creates the alarm A, or replaces the configuration of an existing one (its\n"
    "state is kept, as CloudWatch does). A new alarm starts in INSUFFICIENT_DATA.\n"
    "Every period the statistic of the metric NS/M is compared with the threshold;\n"
    "when M of the last N periods breach it the alarm goes to ALARM, else OK.\n"
    "Both are recorded in the alarm's history (ConfigurationUpdate).\n"
    "\n"
    "Options:\n"
    "  --alarm-name A              the alarm\n"
    "  --namespace NS              the metric's namespace (as in the metric filter)\n"
    "  --metric-name M             the metric's name\n"
    "  --statistic STAT            SampleCount, Average, Sum, Minimum or Maximum\n"
    "  --period S                  seconds per period: 1, 5, 10, 30 or a multiple of 60\n"
    "  --evaluation-periods N      how many recent periods are evaluated (N x S <= 1 day)\n"
    "  --datapoints-to-alarm M     how many of them must breach (1..N; default N)\n"
    "  --threshold X               the number the statistic is compared with\n"
    "  --comparison-operator OP    GreaterThanOrEqualToThreshold, GreaterThanThreshold,\n"
    "                              LessThanThreshold or LessThanOrEqualToThreshold\n"
    "  --treat-missing-data T      missing (default), notBreaching, breaching or ignore\n"
    "  --alarm-actions ACTION ...  run on a change to ALARM (at most 5)\n"
    "  --ok-actions ACTION ...     run on a change to OK (at most 5)\n"
    "  --insufficient-data-actions ACTION ...  run on a change to INSUFFICIENT_DATA\n"
    "  --actions-enabled BOOL      false: changes are recorded but no action runs\n"
    "                              (default true)\n"
    "  --alarm-description TEXT    free text, at most 1024 characters\n"
    "\n"
    "Actions:\n"
    "  topic:NAME                  publish a notification to topic NAME (it must exist;\n"
    "                              see porthole topics)\n"
    "  instance:stop, instance:reboot, instance:end-sessions\n"
    "                              on the instance the metric came from; add :mi-ID\n"
    "                              (instance:reboot:mi-0a1b2c3d4e5f60718) for another\n" ALARM_NAMES
        SILENT "\nExample:\n"
    "  porthole alarms put-metric-alarm --alarm-name sudo-used --namespace Porthole \\\n"
    "      --metric-name SudoCount --statistic Sum --period 5 --evaluation-periods 1 \\\n"
    "      --threshold 1 --comparison-operator GreaterThanOrEqualToThreshold \\\n"
    "      --treat-missing-data notBreaching --alarm-actions topic:ops\n" GLOBALS EXIT_ALARMS;

static const char s_describe_alarms[] =
    "Usage: porthole alarms describe-alarms [--alarm-names A [B ...] | --alarm-name-prefix P]\n"
    "                                       [--state-value OK|ALARM|INSUFFICIENT_DATA]\n"
    "\n"
    "Lists alarms by name with their configuration and state.\n"
    "\n"
    "Options:\n"
    "  --alarm-names A [B ...]  only these alarms (at most 100)\n"
    "  --alarm-name-prefix P    only the alarms whose name starts with P\n"
    "  --state-value STATE      only the alarms in that state\n"
    "\n"
    "Output: json {\"MetricAlarms\": [{\"AlarmName\", \"AlarmDescription\", \"ActionsEnabled\",\n"
    "\"OKActions\", \"AlarmActions\", \"InsufficientDataActions\", \"StateValue\",\n"
    "\"StateReason\", \"StateReasonData\", \"StateUpdatedTimestamp\", \"MetricName\",\n"
    "\"Namespace\", \"Statistic\", \"Period\", \"EvaluationPeriods\", \"DatapointsToAlarm\",\n"
    "\"Threshold\", \"ComparisonOperator\", \"TreatMissingData\",\n"
    "\"AlarmConfigurationUpdatedTimestamp\"}]} (times in ISO 8601); table/text: name,\n"
    "state, metric, statistic, period, comparison, threshold, last state change.\n" ALARM_NAMES
    "\nExamples:\n"
    "  porthole alarms describe-alarms --state-value ALARM --output table\n"
    "  porthole alarms describe-alarms --alarm-names sudo-used\n" GLOBALS EXIT_ALARMS;

static const char s_describe_alarm_history[] =
    "Usage: porthole alarms describe-alarm-history --alarm-name A\n"
    "           [--history-item-type ConfigurationUpdate|StateUpdate|Action]\n"
    "           [--start-date T] [--end-date T] [--max-records N] [--next-token TOKEN]\n"
    "\n"
    "Shows what happened to an alarm, newest first: configuration changes, state\n"
    "changes (with the old and the new state and their reasons) and the actions it\n"
    "ran. History is kept 14 days. An alarm that does not exist has none.\n"
    "\n"
    "Options:\n"
    "  --alarm-name A            the alarm\n"
    "  --history-item-type TYPE  only ConfigurationUpdate, StateUpdate or Action items\n"
    "  --start-date T            only items at or after T\n"
    "  --end-date T              only items at or before T\n"
    "  --max-records N           items per page, 1..100 (default 100)\n"
    "  --next-token TOKEN        the page after the one that printed NextToken TOKEN\n"
    "                            (same filters)\n" TIMES
    "\nOutput: json {\"AlarmHistoryItems\": [{\"AlarmName\", \"Timestamp\", \"HistoryItemType\",\n"
    "\"HistorySummary\", \"HistoryData\" (JSON text)}], \"NextToken\" (null on the last page)};\n"
    "table/text: time, type, summary.\n"
    "\nExample:\n"
    "  porthole alarms describe-alarm-history --alarm-name sudo-used "
    "--history-item-type StateUpdate\n" GLOBALS EXIT_ALARMS;

static const char s_set_alarm_state[] =
    "Usage: porthole alarms set-alarm-state --alarm-name A --state-value STATE\n"
    "           --state-reason TEXT [--state-reason-data JSON]\n"
    "\n"
    "Sets the state of an alarm, for a test of its actions: a change is recorded in\n"
    "its history and runs the actions of the new state, as an evaluation would. The\n"
    "next evaluation sets the state the metric says. Setting the state the alarm is\n"
    "already in changes nothing (CloudWatch runs actions only on a change).\n"
    "\n"
    "Options:\n"
    "  --alarm-name A             the alarm\n"
    "  --state-value STATE        OK, ALARM or INSUFFICIENT_DATA\n"
    "  --state-reason TEXT        why (at most 1023 characters)\n"
    "  --state-reason-data JSON   a JSON document with details (at most 4000 bytes)\n" SILENT
    "\nExample:\n"
    "  porthole alarms set-alarm-state --alarm-name sudo-used --state-value ALARM \\\n"
    "      --state-reason \"testing the on-call page\"\n" GLOBALS EXIT_ALARMS;

static const char s_delete_alarms[] =
    "Usage: porthole alarms delete-alarms --alarm-names A [B ...]\n"
    "\n"
    "Deletes the alarms and their history. Names that do not exist are ignored.\n"
    "\n"
    "Options:\n"
    "  --alarm-names A [B ...]  the alarms (1..100)\n" SILENT "\nExample:\n"
    "  porthole alarms delete-alarms --alarm-names sudo-used rm-rf\n" GLOBALS EXIT_ALARMS;

static const char s_create_topic[] =
    "Usage: porthole topics create-topic NAME\n"
    "\n"
    "Creates the topic NAME, that alarm actions topic:NAME publish to. A topic that\n"
    "exists already is kept as it is (as aws sns).\n"
    "\n"
    "Options:\n"
    "  NAME, --name NAME  the topic\n" TOPIC_NAMES "\nOutput: json {\"TopicName\"}.\n"
    "\nExample:\n"
    "  porthole topics create-topic ops\n" GLOBALS EXIT_TOPICS;

static const char s_delete_topic[] =
    "Usage: porthole topics delete-topic NAME\n"
    "\n"
    "Deletes the topic NAME with its subscriptions and its notifications. Alarms\n"
    "whose actions name it are kept; those actions fail (see the alarm's history).\n"
    "Deleting a topic that does not exist is no error.\n"
    "\n"
    "Options:\n"
    "  NAME, --topic NAME  the topic\n" SILENT "\nExample:\n"
    "  porthole topics delete-topic ops\n" GLOBALS EXIT_TOPICS;

static const char s_list_topics[] =
    "Usage: porthole topics list-topics\n"
    "\n"
    "Lists the topics by name.\n"
    "\n"
    "Output: json {\"Topics\": [{\"TopicName\"}]}; table/text: the names.\n"
    "\nExample:\n"
    "  porthole topics list-topics --output text\n" GLOBALS EXIT_TOPICS;

static const char s_subscribe[] =
    "Usage: porthole topics subscribe --topic NAME --protocol webhook --endpoint URL\n"
    "                                 [--format json|alertmanager]\n"
    "\n"
    "Has every notification of the topic POSTed to URL; failed deliveries are\n"
    "retried with backoff and counted (see list-subscriptions). The same\n"
    "subscription made twice gives the same id.\n"
    "\n"
    "Options:\n"
    "  --topic NAME        the topic\n"
    "  --protocol webhook  the one protocol\n"
    "  --endpoint URL      http://HOST[:PORT]/PATH or https://... (at most 2048 characters)\n"
    "  --format FORMAT     json (default): the notification as a JSON object;\n"
    "                      alertmanager: the Alertmanager webhook format\n"
    "\nOutput: json {\"SubscriptionId\"} (sub- and 16 hex digits).\n"
    "\nExample:\n"
    "  porthole topics subscribe --topic ops --protocol webhook \\\n"
    "      --endpoint http://127.0.0.1:9000/hook\n" GLOBALS EXIT_TOPICS;

static const char s_unsubscribe[] =
    "Usage: porthole topics unsubscribe --subscription-id ID\n"
    "\n"
    "Removes a subscription.\n"
    "\n"
    "Options:\n"
    "  ID, --subscription-id ID  as subscribe printed it\n" SILENT "\nExample:\n"
    "  porthole topics unsubscribe sub-0a1b2c3d4e5f6071\n" GLOBALS EXIT_TOPICS;

static const char s_list_subscriptions[] =
    "Usage: porthole topics list-subscriptions [--topic NAME]\n"
    "\n"
    "Lists the subscriptions of one topic, or of all, with their delivery counters.\n"
    "\n"
    "Options:\n"
    "  --topic NAME  only this topic's (default: every topic's)\n"
    "\n"
    "Output: json {\"Subscriptions\": [{\"SubscriptionId\", \"TopicName\", \"Protocol\",\n"
    "\"Endpoint\", \"Format\", \"Delivered\", \"Failed\", \"LastError\", \"LastAttempt\"\n"
    "(ISO 8601, null before the first)}]}; table/text: those fields.\n"
    "\nExample:\n"
    "  porthole topics list-subscriptions --topic ops --output table\n" GLOBALS EXIT_TOPICS;

static const char s_publish[] =
    "Usage: porthole topics publish --topic NAME --message TEXT [--subject TEXT]\n"
    "\n"
    "Sends a notification to the topic, as an alarm action does: watchers print it\n"
    "and subscriptions get it. A message that is JSON is kept as is; other text is\n"
    "sent as a JSON string.\n"
    "\n"
    "Options:\n"
    "  --topic NAME     the topic\n"
    "  --message TEXT   the message (JSON or plain text)\n"
    "  --subject TEXT   one line of at most 100 characters (default: none)\n"
    "\nOutput: json {\"MessageId\"}.\n"
    "\nExample:\n"
    "  porthole topics publish --topic ops --subject test --message '{\"hello\": 1}'\n" GLOBALS
        EXIT_TOPICS;

static const char s_watch[] =
    "Usage: porthole topics watch NAME [--max-notifications N]\n"
    "\n"
    "Prints the topic's notifications as they arrive, from now on (it asks every\n"
    "500 ms), until Ctrl-C (exit 0) or N of them were printed. stderr says when it\n"
    "is watching.\n"
    "\n"
    "Options:\n"
    "  NAME, --topic NAME       the topic\n"
    "  --max-notifications N    stop after N notifications (default: never)\n"
    "\n"
    "Output: json: one object per line, {\"MessageId\", \"TopicName\", \"Timestamp\",\n"
    "\"Subject\", \"Message\"} (Message: the JSON value that was published); text and\n"
    "table: \"TIME TOPIC SUBJECT: MESSAGE\" per line.\n"
    "\nExample:\n"
    "  porthole topics watch ops --output text\n" GLOBALS EXIT_TOPICS;

static const struct {
    const char *verb;
    const char *text;
} s_texts[] = {
    {"alarms put-metric-alarm", s_put_metric_alarm},
    {"alarms describe-alarms", s_describe_alarms},
    {"alarms describe-alarm-history", s_describe_alarm_history},
    {"alarms set-alarm-state", s_set_alarm_state},
    {"alarms delete-alarms", s_delete_alarms},
    {"topics create-topic", s_create_topic},
    {"topics delete-topic", s_delete_topic},
    {"topics list-topics", s_list_topics},
    {"topics subscribe", s_subscribe},
    {"topics unsubscribe", s_unsubscribe},
    {"topics list-subscriptions", s_list_subscriptions},
    {"topics publish", s_publish},
    {"topics watch", s_watch},
};

/*  The help text of a verb of the alarms and topics groups ("topics
 *  watch"), or NULL. Declared in cli_help.h; cli_help_verb asks it too. */
const char *cli_help_alarms_verb (const char *verb)
{
    for (size_t i = 0; i < sizeof s_texts / sizeof s_texts[0]; i++)
        if (strcmp (s_texts[i].verb, verb) == 0)
            return s_texts[i].text;
    return NULL;
}
