/*  agent_actions: alarm actions on this instance (issue 4), sent by the
 *  controller as InstanceAction.
 *
 *    end-sessions  hangs up every session of this agent (as CloseSession
 *                  does) and answers at once with how many;
 *    stop, reboot  run the command the agent was started with
 *                  (--action-stop, default "systemctl poweroff";
 *                  --action-reboot, default "systemctl reboot") through
 *                  /bin/sh -c, in its own session; the answer follows when
 *                  the command exits (reaped from the SIGCHLD signalfd with
 *                  the sessions' children), with its exit status.
 *
 *  Commands run as the agent (root): only an operator who starts the agent
 *  chooses them; the alarm names only the verb.
 */
#include "agent.h"
#include "agent_session.h"
#include "ph_log.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define PH_ACTION_TEXT_MAX 512

/*  A command still running. */
typedef struct {
    pid_t pid;
    char *alarm, *action, *verb, *command;
} s_running_t;

static void s_running_destroy (void **item)
{
    s_running_t *r = *item;
    if (r) {
        free (r->alarm);
        free (r->action);
        free (r->verb);
        free (r->command);
        free (r);
    }
    *item = NULL;
}

static void s_answer (ph_agent_t *agent, const char *alarm, const char *action, const char *verb,
                      bool ok, int exit_code, const char *text)
{
    Porthole__V1__InstanceActionResult body = PORTHOLE__V1__INSTANCE_ACTION_RESULT__INIT;
    body.alarm_name = (char *)alarm;
    body.action = (char *)action;
    body.verb = (char *)verb;
    body.ok = ok;
    body.exit_code = exit_code;
    body.message = (char *)text;
    ph_env_t env = PH_ENV_INIT;
    env.request_id = ph_agent_request_id (agent);
    env.body_case = PORTHOLE__V1__ENVELOPE__BODY_INSTANCE_ACTION_RESULT;
    env.instance_action_result = &body;
    if (ph_agent_send (agent, &env) != 0)
        ph_warn ("the result of %s (alarm %s) could not be sent", verb, alarm);
}

static size_t s_end_sessions (ph_agent_t *agent, const char *alarm)
{
    char reason[PH_ACTION_TEXT_MAX];
    snprintf (reason, sizeof reason, "alarm %.400s: instance:end-sessions", alarm);
    zlist_t *ids = zlist_new ();
    assert (ids);
    for (ph_session_t *s = zhashx_first (agent->sessions); s; s = zhashx_next (agent->sessions))
        if (s->state != PH_SESSION_ENDED && s->state != PH_SESSION_FAILED)
            zlist_append (ids, s->id);
    size_t n = 0;
    for (char *id = zlist_first (ids); id; id = zlist_next (ids), n++) {
        Porthole__V1__CloseSession c = PORTHOLE__V1__CLOSE_SESSION__INIT;
        c.session_id = id;
        c.reason = reason;
        ph_agent_session_close (agent, &c);
    }
    zlist_destroy (&ids);
    return n;
}

/*  Starts /bin/sh -c command in its own session. Returns the pid or -1. */
static pid_t s_spawn (const char *command)
{
    pid_t pid = fork ();
    if (pid != 0)
        return pid;
    sigset_t none;
    sigemptyset (&none);
    sigprocmask (SIG_SETMASK, &none, NULL); /* the agent blocks SIGCHLD & co. */
    setsid ();
    execl ("/bin/sh", "sh", "-c", command, (char *)NULL);
    _exit (127);
}

void ph_agent_instance_action (ph_agent_t *agent, const Porthole__V1__InstanceAction *a)
{
    char text[PH_ACTION_TEXT_MAX];
    ph_info ("alarm %s: %s", a->alarm_name, a->action);
    if (strcmp (a->verb, "end-sessions") == 0) {
        size_t n = s_end_sessions (agent, a->alarm_name);
        snprintf (text, sizeof text, "%zu session%s ended", n, n == 1 ? "" : "s");
        s_answer (agent, a->alarm_name, a->action, a->verb, true, 0, text);
        return;
    }
    const char *command = strcmp (a->verb, "stop") == 0     ? agent->action_stop
                          : strcmp (a->verb, "reboot") == 0 ? agent->action_reboot
                                                            : NULL;
    if (!command) {
        snprintf (text, sizeof text,
                  "'%.64s' is not an action this agent knows (stop, reboot, "
                  "end-sessions)",
                  a->verb);
        s_answer (agent, a->alarm_name, a->action, a->verb, false, -1, text);
        return;
    }
    pid_t pid = s_spawn (command);
    if (pid < 0) {
        snprintf (text, sizeof text, "cannot start '%.400s'", command);
        s_answer (agent, a->alarm_name, a->action, a->verb, false, -1, text);
        return;
    }
    s_running_t *r = calloc (1, sizeof *r);
    assert (r);
    *r = (s_running_t){pid, strdup (a->alarm_name), strdup (a->action), strdup (a->verb),
                       strdup (command)};
    if (!agent->actions && !(agent->actions = zlistx_new ()))
        abort ();
    zlistx_set_destructor (agent->actions, s_running_destroy);
    zlistx_add_end (agent->actions, r);
}

bool ph_agent_action_reaped (ph_agent_t *agent, pid_t pid, int status)
{
    if (!agent->actions)
        return false;
    for (s_running_t *r = zlistx_first (agent->actions); r; r = zlistx_next (agent->actions)) {
        if (r->pid != pid)
            continue;
        int code = WIFEXITED (status) ? WEXITSTATUS (status) : 128 + WTERMSIG (status);
        char text[PH_ACTION_TEXT_MAX];
        snprintf (text, sizeof text, "'%.400s' exited with status %d", r->command, code);
        s_answer (agent, r->alarm, r->action, r->verb, code == 0, code, text);
        zlistx_delete (agent->actions, zlistx_cursor (agent->actions));
        return true;
    }
    return false;
}

void ph_agent_actions_destroy (ph_agent_t *agent)
{
    zlistx_destroy (&agent->actions);
}
