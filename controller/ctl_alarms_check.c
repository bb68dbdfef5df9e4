/*  ctl_alarms_check: the pure checks of the alarms and topics API (see
 *  ctl_alarms.h): CloudWatch's metric name rules, alarm actions, topic
 *  names, webhook URLs and stream-id tokens. No I/O; the unit tests call
 *  them directly. */
#include "ctl_alarms.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

bool ctl_alarms_metric_name_valid (const char *name, bool is_namespace)
{
    size_t len = name ? strlen (name) : 0;
    if (len < 1 || len > CTL_ALARM_METRIC_NAME_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if (name[i] < ' ' || name[i] > '~')
            return false;
    if (name[0] == ' ' || name[len - 1] == ' ')
        return false;
    return !(is_namespace && name[0] == ':');
}

bool ctl_topics_name_valid (const char *name)
{
    size_t len = name ? strlen (name) : 0;
    if (len < 1 || len > CTL_TOPIC_NAME_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!isalnum ((unsigned char)name[i]) && name[i] != '_' && name[i] != '-')
            return false;
    return true;
}

bool ctl_topics_endpoint_valid (const char *url)
{
    size_t len = url ? strlen (url) : 0;
    if (len > CTL_TOPIC_ENDPOINT_MAX)
        return false;
    const char *host = NULL;
    if (strncmp (url ? url : "", "http://", 7) == 0)
        host = url + 7;
    else if (strncmp (url ? url : "", "https://", 8) == 0)
        host = url + 8;
    if (!host || !*host || *host == '/' || *host == ':' || *host == '?' || *host == '#')
        return false;
    for (const char *p = url; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == 0x7f)
            return false;
    return true;
}

bool ctl_alarms_stream_id_valid (const char *id)
{
    size_t len = id ? strlen (id) : 0;
    size_t ms = strspn (id ? id : "", "0123456789");
    if (len > CTL_ALARM_TOKEN_MAX || ms < 1 || ms > 20 || id[ms] != '-')
        return false;
    size_t seq = strspn (id + ms + 1, "0123456789");
    return seq >= 1 && seq <= 20 && ms + 1 + seq == len;
}

int ctl_alarms_action_check (const char *action, char *topic, char *err, size_t errlen)
{
    static const char *const instance_ops[] = {"instance:stop", "instance:reboot",
                                               "instance:end-sessions"};
    topic[0] = 0;
    if (strncmp (action, "topic:", 6) == 0) {
        if (ctl_topics_name_valid (action + 6)) {
            snprintf (topic, CTL_TOPIC_NAME_MAX + 1, "%s", action + 6);
            return 0;
        }
        snprintf (err, errlen,
                  "action '%.300s' does not name a topic: write topic:NAME, NAME being 1..%d "
                  "letters, digits, _ and -",
                  action, CTL_TOPIC_NAME_MAX);
        return PH_EINVAL;
    }
    for (size_t i = 0; i < sizeof instance_ops / sizeof instance_ops[0]; i++) {
        size_t n = strlen (instance_ops[i]);
        if (strncmp (action, instance_ops[i], n) != 0)
            continue;
        if (action[n] == 0 || (action[n] == ':' && ph_instance_id_valid (action + n + 1)))
            return 0;
    }
    snprintf (err, errlen,
              "'%.300s' is not an alarm action; use topic:NAME, instance:stop, instance:reboot "
              "or instance:end-sessions, the instance ones optionally followed by :mi-ID "
              "(mi- and 17 lowercase hex digits; default: the instance the metric came from)",
              action);
    return PH_EINVAL;
}
