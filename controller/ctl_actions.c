/*  ctl_actions: what one controller asks of another, over Redis pub/sub:
 *  alarm actions on instances (issue 4) and closing a session whose agent
 *  is connected to another controller.
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
 *
 *  TerminateSession reaches any controller; when the session's agent is
 *  connected to another one, ctl_actions_close_elsewhere publishes
 *  "close-session\nSID\nIID\nREASON" on that controller's channel, and
 *  that controller sends CloseSession to its agent (the session then ends
 *  as any other: SessionEnded, Terminating, Terminated). When the agent is
 *  not there either, it ends the session in Redis.
 */
#include "ctl.h"

#include <stdio.h>
#include <string.h>

#define CTL_ACTION_FIELDS    5
#define CTL_CLOSE_FIELDS     4
#define CTL_CLOSE_KIND       "close-session"
#define CTL_CLOSE_REASON_MAX 256
#define CTL_HISTORY_DAYS     14
#define CTL_ACTION_TEXT_MAX  512

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

/*  Cuts payload (modified) into its lines, at most max of them, into f.
 *  Returns how many there were. */
static size_t s_split_lines (char *payload, char **f, size_t max)
{
    char *save = NULL;
    size_t n = 0;
    for (char *p = strtok_r (payload, "\n", &save); p && n < max; p = strtok_r (NULL, "\n", &save))
        f[n++] = p;
    return n;
}

/*  One message of the channel: hand the action to the agent. */
static void s_on_action (ctl_t *ctl, char *payload)
{
    char *f[CTL_ACTION_FIELDS] = {0};
    size_t n = s_split_lines (payload, f, CTL_ACTION_FIELDS);
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

/*  KEYS: none; ARGV: instance id, this controller's id, message. Publishes
 *  the message on the channel of the controller that holds the instance's
 *  agent when that is another controller. Returns how many received it
 *  (0: no other controller holds it, or none listens). */
static const char s_forward_lua[] =
    "local c = redis.call('HGET', 'ph:instance:{' .. ARGV[1] .. '}', 'controller')\n"
    "if not c or c == '' or c == ARGV[2] then return 0 end\n"
    "return redis.call('PUBLISH', 'ph:ctl:{' .. c .. '}', ARGV[3])\n";

int ctl_actions_close_elsewhere (ctl_t *ctl, const char *sid, const char *iid, const char *reason,
                                 ph_redis_fn *fn, void *arg)
{
    char msg[CTL_ACTION_TEXT_MAX], why[CTL_CLOSE_REASON_MAX];
    snprintf (why, sizeof why, "%s", reason);
    for (size_t len = strlen (why); len && !ph_utf8_valid (why, len); len--)
        why[len - 1] = 0; /* cut inside a character */
    for (char *p = why; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' '; /* the reason is the last field: no line breaks in it */
    int n = snprintf (msg, sizeof msg, "%s\n%s\n%s\n%s", CTL_CLOSE_KIND, sid, iid, why);
    if (n < 0 || (size_t)n >= sizeof msg)
        return PH_EINVAL;
    const char *argv[] = {"EVAL", s_forward_lua, "0", iid, ctl->cid, msg};
    size_t len[sizeof argv / sizeof argv[0]];
    for (size_t i = 0; i < sizeof argv / sizeof argv[0]; i++)
        len[i] = strlen (argv[i]);
    return ph_redis_cmdargv (ctl->redis, fn, arg, (int)(sizeof argv / sizeof argv[0]), argv, len);
}

static void s_on_closed_here (ph_redis_t *redis, ph_reply_t *reply, void *arg)
{
    (void)redis;
    (void)arg;
    if (!ph_reply_ok (reply))
        ph_warn ("close-session: the session's end was not written");
}

/*  "close-session" from another controller: the agent should be here. */
static void s_on_close (ctl_t *ctl, char *payload)
{
    char *f[CTL_CLOSE_FIELDS] = {0};
    size_t n = s_split_lines (payload, f, CTL_CLOSE_FIELDS);
    if (n < CTL_CLOSE_FIELDS - 1 || !ctl_session_id_valid (f[1]) || !ph_instance_id_valid (f[2])) {
        ph_warn ("ph:ctl channel: a close-session message without a valid session and "
                 "instance; ignored");
        return;
    }
    const char *reason = f[3] ? f[3] : "terminated";
    if (ctl_sessions_close_on_agent (ctl, f[1], f[2], reason)) {
        ph_info ("session %s: closing on %s for another controller (%s)", f[1], f[2], reason);
        return;
    }
    /* the agent left this controller too: nobody can close it, end it */
    ph_info ("session %s: %s is not connected here either; ending the session", f[1], f[2]);
    if (ctl_store_end_session (ctl, f[1], NULL, "Terminated", false, 0, reason, s_on_closed_here,
                               NULL) != 0)
        ph_warn ("session %s: cannot end it (Redis)", f[1]);
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
    if (strncmp (copy, CTL_CLOSE_KIND "\n", strlen (CTL_CLOSE_KIND) + 1) == 0)
        s_on_close (arg, copy);
    else
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
