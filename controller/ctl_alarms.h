/*  ctl_alarms.h: what the alarms and topics API files share
 *  (ctl_alarms.c, ctl_alarms_read.c, ctl_topics.c), and their pure checks
 *  (ctl_alarms_check.c), which the unit tests call too. Not part of ctl.h: no other controller
 *  module needs them.
 *
 *  Redis schema (docs/architecture.md "Alarms and topics"; the logshipper
 *  evaluates the alarms and runs their actions from the same keys):
 *    ph:alarms                   set of alarm names
 *    ph:alarm:{NAME}             hash: configuration and state
 *    ph:alarm:{NAME}:history     stream: ts, type, summary, data (14 days)
 *    ph:alarm:transitions        stream: alarm, old, new, reason, ts
 *    ph:topics                   set of topic names
 *    ph:topic:{T}                hash: name, created_ms
 *    ph:topic:{T}:subscriptions  set of subscription ids
 *    ph:subscription:{ID}        hash: subscription_id, topic, protocol,
 *                                endpoint, format, created_ms, delivered,
 *                                failed, last_error, last_attempt_ms
 *    ph:topic:{T}:messages       stream: ts, subject, message (JSON text)
 */
#ifndef CTL_ALARMS_H
#define CTL_ALARMS_H

#include "ctl.h"

#include <stdbool.h>
#include <stddef.h>

#define CTL_ALARM_ACTIONS_MAX      5            /* per action list (CloudWatch's limit) */
#define CTL_ALARM_DESCRIPTION_MAX  1024         /* AlarmDescription (CloudWatch) */
#define CTL_ALARM_METRIC_NAME_MAX  255          /* Namespace, MetricName (CloudWatch) */
#define CTL_ALARM_STATE_REASON_MAX 1023         /* StateReason (CloudWatch) */
#define CTL_ALARM_REASON_DATA_MAX  4000         /* StateReasonData (CloudWatch) */
#define CTL_ALARM_NAMES_MAX        100          /* AlarmNames of one request (CloudWatch) */
#define CTL_ALARM_RECORDS_MAX      100          /* MaxRecords: 1..100 (CloudWatch) */
#define CTL_ALARM_REPLY_BYTES_MAX  (512 * 1024) /* alarm data in one DescribeAlarms page */
#define CTL_ALARM_RECORDS_DEFAULT  100
#define CTL_ALARM_HISTORY_KEEP_MS  (14ULL * 86400 * 1000) /* history is kept 14 days */
#define CTL_ALARM_HISTORY_SCAN_MAX 100000                 /* history entries one read looks at */
#define CTL_ALARM_CLOCK_SLACK_MS   60000 /* controllers' clocks vs Redis stream ids */
#define CTL_ALARM_TRANSITIONS_MAX  10000 /* ph:alarm:transitions, MAXLEN ~ (as the logshipper) */
#define CTL_ALARM_ACTION_MAX       (6 + 256 + 1) /* "topic:" + the longest topic name */
#define CTL_ALARM_RESOURCE_MAX     (6 + 255 + 1) /* "alarm/NAME" */
#define CTL_ALARM_TOKEN_MAX        64            /* a stream id "MS-SEQ" */
#define CTL_ALARM_HISTORY_TYPES    "ConfigurationUpdate, StateUpdate or Action"
#define CTL_TOPIC_NAME_MAX         256          /* [A-Za-z0-9_-] (SNS's limit) */
#define CTL_TOPIC_ENDPOINT_MAX     2048         /* webhook URL */
#define CTL_TOPIC_SUBJECT_MAX      100          /* Publish subject (SNS's limit) */
#define CTL_TOPIC_MESSAGES_MAX     1000         /* ph:topic:{T}:messages, MAXLEN ~ */
#define CTL_TOPIC_WATCH_DEFAULT    100          /* notifications per Watch */
#define CTL_TOPIC_REPLY_BYTES_MAX  (512 * 1024) /* notifications in one Watch reply */
#define CTL_TOPIC_WATCH_MAX        1000
#define CTL_TOPIC_RESOURCE_MAX     (6 + CTL_TOPIC_NAME_MAX + 1) /* "topic/NAME" */
#define CTL_SUBSCRIPTION_ID_HEX    16                           /* "sub-" + 16 hex */

/*  True for a CloudWatch namespace (is_namespace) or metric name: 1..255
 *  printable ASCII characters, no space at either end; a namespace does
 *  not start with ':'. */
bool ctl_alarms_metric_name_valid (const char *name, bool is_namespace);

/*  Checks one alarm action: "topic:NAME", or "instance:stop",
 *  "instance:reboot", "instance:end-sessions", each optionally followed by
 *  ":mi-" and 17 hex digits. For a topic action the topic name is copied
 *  to topic (CTL_TOPIC_NAME_MAX + 1 bytes), else topic is "". Returns 0 or
 *  PH_EINVAL with err saying what is accepted. */
int ctl_alarms_action_check (const char *action, char *topic, char *err, size_t errlen);

/*  True for a topic name: 1..256 of [A-Za-z0-9_-]. */
bool ctl_topics_name_valid (const char *name);

/*  True for a webhook endpoint: "http://" or "https://", a host, at most
 *  2048 characters, no spaces or control characters. */
bool ctl_topics_endpoint_valid (const char *url);

/*  True for a Redis stream id "MS-SEQ" (decimal digits), as the next
 *  tokens of DescribeAlarmHistory and Watch's after_id are. */
bool ctl_alarms_stream_id_valid (const char *id);

/*  Sends AlarmsReply (op copied from the request) and destroys req. */
void ctl_alarms_reply (ctl_req_t **req_p, Porthole__V1__AlarmsReply *body);

/*  The read ops of ctl_alarms_read.c, called after the request was
 *  checked and authorised. Own req. */
void ctl_alarms_describe (ctl_req_t *req);
void ctl_alarms_history (ctl_req_t *req);

#endif
