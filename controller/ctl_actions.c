/*  ctl_actions: alarm actions on instances (issue 4).
 *
 *  The logshipper that evaluates alarms hands an `instance:VERB[:mi-…]`
 *  action to the controller that holds the instance's agent, on the Redis
 *  channel ph:ctl:{CID} ("instance-action\nALARM\nACTION\nVERB\nIID"). This
 *  module keeps a second Redis connection subscribed to that channel (a
 *  subscribed connection can do nothing else), sends InstanceAction to the
 *  agent, and when the agent answers (InstanceActionResult) records the
 *  outcome as an Action item of the alarm's history and as an audit event
 *  (principal "alarm:NAME", action "alarms:InstanceAction", resource
 *  instance/ID). An agent that is not connected here is a Failed item at
 *  once.
 */
#include "ctl.h"

#include <stdio.h>
#include <string.h>

#define CTL_ACTION_FIELDS   5
#define CTL_HISTORY_DAYS    14
#define CTL_ACTION_TEXT_MAX 512

/*  ARGV: alarm, summary, data JSON, now ms, history min id. */
static const char s_history_lua[] =
    "local k = 'ph:alarm:{' .. ARGV[1] .. '}:history'\n"
    "if redis.call('EXISTS', 'ph:alarm:{' .. ARGV[1] .. '}') == 0 then return 0 end\n"
    "redis.call('XADD', k, '*', 'ts', ARGV[4], 'type', 'Action', 'summary', ARGV[2],\n"
    "           'data', ARGV[3])\n"
    "redis.call('XTRIM', k, 'MINID', ARGV[5])\n"
    "return 1\n";

static void s_on_history (ph_redis_t *redis, ph_reply_t *reply, void *arg)
{
    (void)redis;
    (void)arg;
    if (!ph_reply_ok (reply))
        ph_warn ("alarm history: an action's outcome was not written");
}

/*  Records the outcome of an instance action: alarm history and audit. */
static void s_record (ctl_t *ctl, const char *alarm, const char *action, const char *iid, bool ok,
                      const char *text)
{
    char summary[CTL_ACTION_TEXT_MAX], data[CTL_ACTION_TEXT_MAX], now[24], minid[32];
    char principal[CTL_RESOURCE_MAX], resource[CTL_RESOURCE_MAX];
    uint64_t ms = ph_now_ms ();
    snprintf (summary, sizeof summary, "%s action %s on %s: %s",
              ok ? "Successfully executed" : "Failed to execute", action, iid, text);
    snprintf (data, sizeof data,
              "{\"actionState\":\"%s\",\"notificationResource\":\"%s\",\"instanceId\":\"%s\"}",
              ok ? "Succeeded" : "Failed", action, iid);
    snprintf (now, sizeof now, "%llu", (unsigned long long)ms);
    snprintf (minid, sizeof minid, "%llu-0",
              (unsigned long long)(ms - (uint64_t)CTL_HISTORY_DAYS * 86400000));
    const char *argv[] = {"EVAL", s_history_lua, "0", alarm, summary, data, now, minid};
    size_t len[sizeof argv / sizeof argv[0]];
    for (size_t i = 0; i < sizeof argv / sizeof argv[0]; i++)
        len[i] = strlen (argv[i]);
    ph_redis_cmdargv (ctl->redis, s_on_history, NULL, (int)(sizeof argv / sizeof argv[0]), argv,
                      len);
    snprintf (principal, sizeof principal, "alarm:%.150s", alarm);
    snprintf (resource, sizeof resource, "instance/%.64s", iid);
    ctl_audit_add (ctl, principal, "", "alarms:InstanceAction", resource, true, 0,
                   ok ? "Success" : "ActionFailed");
    ph_info ("alarm %s: %s", alarm, summary);
}

/*  One message of the channel: hand the action to the agent. */
static void s_on_action (ctl_t *ctl, char *payload)
{
    char *f[CTL_ACTION_FIELDS] = {0}, *save = NULL;
    size_t n = 0;
    for (char *p = strtok_r (payload, "\n", &save); p && n < CTL_ACTION_FIELDS;
         p = strtok_r (NULL, "\n", &save))
        f[n++] = p;
    if (n != CTL_ACTION_FIELDS || strcmp (f[0], "instance-action") != 0) {
        ph_warn ("ph:ctl channel: a message that is not an instance action; ignored");
        return;
    }
    Porthole__V1__InstanceAction body = PORTHOLE__V1__INSTANCE_ACTION__INIT;
    body.alarm_name = f[1];
    body.action = f[2];
    body.verb = f[3];
    ph_env_t env = PH_ENV_INIT;
    env.version = PH_WIRE_VERSION;
    env.request_id = ph_now_ms ();
    env.body_case = PORTHOLE__V1__ENVELOPE__BODY_INSTANCE_ACTION;
    env.instance_action = &body;
    if (ctl_send_to_agent (ctl, f[4], &env) != 0)
        s_record (ctl, f[1], f[2], f[4], false, "its agent is not connected");
    else
        ph_info ("alarm %s: %s sent to %s", f[1], f[2], f[4]);
}

static void s_on_message (ph_redis_t *redis, ph_reply_t *reply, void *arg)
{
    (void)redis;
    if (!reply)
        return; /* the connection went; s_on_state subscribes again */
    const char *kind = ph_reply_str (ph_reply_at (reply, 0));
    const char *payload = ph_reply_str (ph_reply_at (reply, 2));
    if (!kind || strcmp (kind, "message") != 0 || !payload)
        return;
    char *copy = strdup (payload);
    assert (copy);
    s_on_action (arg, copy);
    free (copy);
}

static void s_on_state (ph_redis_t *redis, bool connected, void *arg)
{
    ctl_t *ctl = arg;
    if (!connected)
        return;
    char channel[CTL_RESOURCE_MAX];
    snprintf (channel, sizeof channel, "ph:ctl:{%s}", ctl->cid);
    if (ph_redis_subscribe (redis, channel, s_on_message, ctl) != 0)
        ph_warn ("cannot subscribe to %s; alarm actions on instances wait for it", channel);
}

int ctl_actions_start (ctl_t *ctl)
{
    ctl->subscriber = ph_redis_new (ctl->loop, ctl->opt.redis_url, s_on_state, ctl);
    return ctl->subscriber ? 0 : PH_EINVAL;
}

void ctl_actions_stop (ctl_t *ctl)
{
    ph_redis_destroy (&ctl->subscriber);
}

void ctl_actions_on_result (ctl_t *ctl, ctl_msg_t *msg)
{
    const Porthole__V1__InstanceActionResult *r = msg->env->instance_action_result;
    char text[CTL_ACTION_TEXT_MAX];
    snprintf (text, sizeof text, "%.400s", *r->message ? r->message : r->ok ? "done" : "failed");
    s_record (ctl, r->alarm_name, *r->action ? r->action : r->verb, msg->name, r->ok, text);
}
