/*  agent_session: the agent's session table and each session's life
 *  (docs/architecture.md "Sessions", "Agent side"): OpenSession starts the
 *  program (agent_pty), SessionOpened follows once it runs; the child is
 *  reaped from the SIGCHLD signalfd; when it is reaped and its output is
 *  at EOF the agent writes EXIT on the stream and sends SessionEnded.
 *  CloseSession, the idle timeout and the maximum duration hang the
 *  session up (SIGHUP, then SIGKILL after 2 s). Sessions never depend on
 *  the controller being connected.
 *
 *  The table is a zhashx keyed by session id. Nothing here blocks.
 */
#include "agent_log.h"
#include "agent_pty.h"
#include "agent_session.h"
#include "ph_errors.h"
#include "ph_log.h"
#include "ph_util.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#define PH_SESSIONS_MAX 1024 /* records in the table, ended ones included */

static void s_session_destroy (ph_session_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ph_session_t *s = *self_p;
    ph_session_io_close_all (s);
    ph_stream_destroy (&s->stream);
    ph_cast_destroy (&s->cast);
    free (s->command);
    free (s->log_group);
    free (s->in_buf);
    free (s->shell_profile);
    free (s->fail_reason);
    free (s->id);
    free (s);
    *self_p = NULL;
}

static void s_session_destructor (void **item)
{
    s_session_destroy ((ph_session_t **)item);
}

int ph_agent_sessions_new (ph_agent_t *agent)
{
    agent->sessions = zhashx_new ();
    if (!agent->sessions)
        return PH_ENOMEM;
    zhashx_set_destructor (agent->sessions, s_session_destructor);
    return 0;
}

void ph_agent_sessions_destroy (ph_agent_t *agent)
{
    if (!agent->sessions)
        return;
    for (ph_session_t *s = zhashx_first (agent->sessions); s; s = zhashx_next (agent->sessions))
        if (s->state == PH_SESSION_STARTING || s->state == PH_SESSION_RUNNING)
            ph_session_signal (s, SIGHUP);
    zhashx_destroy (&agent->sessions);
}

void ph_session_signal (ph_session_t *s, int sig)
{
    if (s->pid <= 0 || s->reaped)
        return;
    /* a command child calls setsid() right after fork: until then it has
     * no process group of its own */
    if (kill (-s->pid, sig) != 0 && errno == ESRCH)
        kill (s->pid, sig);
    if (s->master.fd >= 0) {
        pid_t fg = tcgetpgrp (s->master.fd);
        if (fg > 0 && fg != s->pid)
            kill (-fg, sig);
    }
}

/* ---- starting ------------------------------------------------------------ */

/*  Why msg cannot be served (into reason), or 0. */
static int s_check_open (ph_agent_t *agent, const Porthole__V1__OpenSession *msg, char *reason,
                         size_t len)
{
    if (strlen (msg->session_id) > PH_SESSION_ID_MAX)
        snprintf (reason, len, "session id is longer than %d bytes", PH_SESSION_ID_MAX);
    else if (strcmp (msg->run_as, "root") == 0)
        snprintf (reason, len,
                  "refusing to run a session as root; set another run-as user in "
                  "the session preferences");
    else if (!ph_pty_user_acceptable (msg->run_as))
        snprintf (reason, len, "run-as user '%s' is not a valid account name", msg->run_as);
    else if (!msg->interactive && !*msg->command)
        snprintf (reason, len, "a non-interactive session needs a command");
    else if (zhashx_size (agent->sessions) >= PH_SESSIONS_MAX)
        snprintf (reason, len, "this machine has %d sessions already; end some and try again",
                  PH_SESSIONS_MAX);
    else
        return 0;
    return PH_EINVAL;
}

static unsigned s_clamp_size (unsigned v, unsigned dflt)
{
    if (v == 0)
        return dflt;
    return v > PH_PTY_SIZE_MAX ? PH_PTY_SIZE_MAX : v;
}

static ph_session_t *s_session_new (ph_agent_t *agent, uint64_t request_id,
                                    const Porthole__V1__OpenSession *msg)
{
    ph_session_t *s = calloc (1, sizeof *s);
    if (!s)
        return NULL;
    s->agent = agent;
    s->id = strdup (msg->session_id);
    s->interactive = msg->interactive;
    s->pid = -1;
    s->master.fd = s->in.fd = s->out.fd = s->err.fd = s->status.fd = -1;
    s->open_request_id = request_id;
    s->idle_timeout_s = msg->idle_timeout_s;
    s->max_duration_s = msg->max_duration_s;
    s->opened_ms = ph_mono_ms ();
    if (msg->interactive && *msg->shell_profile)
        s->shell_profile = strdup (msg->shell_profile);
    s->cols = s_clamp_size (msg->cols, PH_PTY_DEFAULT_COLS);
    s->rows = s_clamp_size (msg->rows, PH_PTY_DEFAULT_ROWS);
    s->command = strdup (msg->command);
    const Porthole__V1__SessionLogPrefs *lp = msg->log_prefs;
    if (lp && *lp->log_group) {
        s->log_group = strdup (lp->log_group);
        s->log_streaming = lp->streaming_enabled;
        s->log_encrypt = lp->encryption_enabled;
        s->log_input = lp->log_input;
    }
    s->stream = ph_stream_new (msg->session_id, ph_session_io_stream_send, s);
    if (!s->id || !s->stream || !s->command || (lp && *lp->log_group && !s->log_group)) {
        s_session_destroy (&s);
        return NULL;
    }
    return s;
}

static int s_spawn (ph_session_t *s, const Porthole__V1__OpenSession *msg, char *err, size_t errlen)
{
    ph_pty_spec_t spec = {
        .user = msg->run_as,
        .create_user = msg->create_user,
        .admin_rights = msg->admin_rights,
        .interactive = msg->interactive,
        .command = msg->command,
        .cols = s_clamp_size (msg->cols, PH_PTY_DEFAULT_COLS),
        .rows = s_clamp_size (msg->rows, PH_PTY_DEFAULT_ROWS),
    };
    ph_pty_child_t child;
    int rc = ph_pty_spawn (&spec, &child, err, errlen);
    if (rc != 0)
        return rc;
    s->pid = child.pid;
    s->master.fd = child.master;
    s->in.fd = child.in_fd;
    s->out.fd = child.out_fd;
    s->err.fd = child.err_fd;
    s->status.fd = child.status_fd;
    return 0;
}

/*  A repeated OpenSession: answer what we answered before. */
static void s_answer_again (ph_session_t *s, uint64_t request_id)
{
    ph_agent_t *agent = s->agent;
    switch (s->state) {
    case PH_SESSION_STARTING:
        s->open_request_id = request_id; /* answered once it runs */
        break;
    case PH_SESSION_RUNNING:
        ph_agent_send_session_opened (agent, request_id, s->id);
        break;
    case PH_SESSION_ENDED:
        ph_agent_send_session_opened (agent, request_id, s->id);
        if (!s->exit_pending)
            ph_session_send_ended (s);
        break;
    case PH_SESSION_FAILED:
        ph_session_send_ended (s);
        break;
    }
}

void ph_agent_session_open (ph_agent_t *agent, uint64_t request_id,
                            const Porthole__V1__OpenSession *msg)
{
    ph_session_t *s = zhashx_lookup (agent->sessions, msg->session_id);
    if (s) {
        s_answer_again (s, request_id);
        return;
    }
    char reason[PH_SESSION_ERR_MAX];
    if (s_check_open (agent, msg, reason, sizeof reason) != 0) {
        ph_warn ("session %s refused: %s", msg->session_id, reason);
        ph_agent_send_session_ended (agent, msg->session_id, 0, true, reason);
        return;
    }
    s = s_session_new (agent, request_id, msg);
    if (!s) {
        ph_agent_send_session_ended (agent, msg->session_id, 0, true, "the agent is out of memory");
        return;
    }
    char err[PH_SESSION_ERR_MAX];
    if (s_spawn (s, msg, err, sizeof err) != 0) {
        ph_error ("session %s could not start: %s", s->id, err);
        ph_agent_send_session_ended (agent, s->id, 0, true, err);
        s_session_destroy (&s);
        return;
    }
    zhashx_insert (agent->sessions, s->id, s);
    ph_info ("session %s: started %s as %s for %s (pid %d)", s->id,
             s->interactive ? "a shell" : "a command", msg->run_as, *msg->owner ? msg->owner : "?",
             (int)s->pid);
    ph_session_io_update (s);
}

/*  The session could not start: tell the controller and keep the record
 *  (for repeated OpenSession) until it lingers out. */
static void s_fail (ph_session_t *s, const char *reason)
{
    ph_warn ("session %s could not start: %s", s->id, reason);
    if (!s->reaped && s->pid > 0)
        kill (-s->pid, SIGKILL);
    ph_session_io_close_all (s);
    s->state = PH_SESSION_FAILED;
    s->ended_ms = ph_mono_ms ();
    free (s->fail_reason);
    s->fail_reason = strdup (reason);
    ph_session_send_ended (s);
}

void ph_session_send_ended (ph_session_t *s)
{
    if (s->state == PH_SESSION_FAILED)
        ph_agent_send_session_ended (s->agent, s->id, 0, true, s->fail_reason);
    else
        ph_agent_send_session_ended (s->agent, s->id, s->exit_status, false, NULL);
    if (!s->cast) /* nothing to ship: the transcript is complete at once */
        ph_ship_send_complete (s->agent, s->id);
}

/*  Starts the transcript of a session that now runs, when a logshipper
 *  is known. */
static void s_start_recording (ph_session_t *s)
{
    ph_ship_t *ship = s->agent->ship;
    if (!ph_ship_recording (ship))
        return;
    ph_ship_prefs_t prefs = {s->log_group, s->log_streaming, s->log_encrypt, s->log_input};
    ph_transcript_t *t = ph_ship_transcript_new (ship, s->id, s->log_group ? &prefs : NULL);
    if (t)
        s->cast = ph_cast_new (t, s->interactive, s->cols, s->rows, s->command,
                               ph_transcript_log_input (t));
    if (!s->cast)
        ph_error ("session %s: cannot record its transcript (out of memory)", s->id);
}

void ph_session_started (ph_session_t *s, const char *err)
{
    if (s->state != PH_SESSION_STARTING)
        return;
    if (err) {
        s_fail (s, err);
        return;
    }
    s->state = PH_SESSION_RUNNING;
    s->started_ms = s->last_input_ms = s->last_output_ms = ph_mono_ms ();
    s_start_recording (s);
    ph_agent_send_session_opened (s->agent, s->open_request_id, s->id);
    if (s->shell_profile) {
        ph_session_io_queue_stdin (s, s->shell_profile, strlen (s->shell_profile));
        ph_session_io_queue_stdin (s, "\n", 1);
    }
    ph_session_io_flush_stdin (s); /* input that came while starting */
    ph_session_io_update (s);
    ph_session_check_exit (s);
}

/* ---- ending -------------------------------------------------------------- */

/*  Writes EXIT and then sends SessionEnded; without room, the tick retries. */
static void s_write_exit (ph_session_t *s)
{
    char text[16];
    int n = snprintf (text, sizeof text, "%d", s->exit_status);
    if (!s->stream ||
        ph_stream_write (s->stream, PORTHOLE__V1__STREAM_KIND__EXIT, text, (size_t)n) != 0)
        return;
    s->exit_pending = false;
    ph_session_send_ended (s);
    ph_cast_end (s->cast, s->exit_status); /* TranscriptComplete once shipped */
    ph_info ("session %s: ended with status %d", s->id, s->exit_status);
}

void ph_session_check_exit (ph_session_t *s)
{
    if (s->state != PH_SESSION_RUNNING || !s->reaped || !ph_session_io_output_done (s))
        return;
    ph_session_io_close_all (s);
    s->in_len = 0;
    s->state = PH_SESSION_ENDED;
    s->ended_ms = ph_mono_ms ();
    s->exit_pending = true;
    s_write_exit (s);
}

void ph_agent_sessions_reap (ph_agent_t *agent)
{
    int status;
    pid_t pid;
    while ((pid = waitpid (-1, &status, WNOHANG)) > 0) {
        ph_session_t *s = zhashx_first (agent->sessions);
        while (s && (s->pid != pid || s->reaped))
            s = zhashx_next (agent->sessions);
        if (!s) {
            ph_agent_action_reaped (agent, pid, status);
            continue;
        }
        s->reaped = true;
        s->reaped_ms = ph_mono_ms ();
        s->exit_status = WIFEXITED (status) ? WEXITSTATUS (status) : 128 + WTERMSIG (status);
        ph_debug ("session %s: pid %d exited with status %d", s->id, (int)pid, s->exit_status);
        ph_session_check_exit (s);
    }
}

/*  Hangs the session up: SIGHUP now, SIGKILL at kill_at_ms. */
static void s_hang_up (ph_session_t *s)
{
    if (s->closing || s->reaped)
        return;
    s->closing = true;
    ph_session_signal (s, SIGHUP);
    s->kill_at_ms = ph_mono_ms () + PH_SESSION_KILL_AFTER_MS;
}

void ph_agent_session_close (ph_agent_t *agent, const Porthole__V1__CloseSession *msg)
{
    ph_session_t *s = zhashx_lookup (agent->sessions, msg->session_id);
    if (!s) {
        ph_info ("CloseSession for %s, which this agent does not have; ignored", msg->session_id);
        return;
    }
    ph_info ("session %s: closing (%s)", s->id, *msg->reason ? msg->reason : "requested");
    if ((s->state == PH_SESSION_ENDED && !s->exit_pending) || s->state == PH_SESSION_FAILED)
        ph_session_send_ended (s);
    else
        s_hang_up (s);
}

void ph_agent_session_stream (ph_agent_t *agent, const ph_stream_data_t *sd)
{
    ph_session_t *s = zhashx_lookup (agent->sessions, sd->session_id);
    if (!s || !s->stream)
        return;
    if (ph_stream_receive (s->stream, sd) == 1)
        ph_session_io_deliver (s, sd);
    if (s->exit_pending)
        s_write_exit (s);
    ph_session_io_update (s);
}

/* ---- periodic work ------------------------------------------------------- */

/*  Writes a notice to the client as STDOUT when there is room for it. */
static void s_notice (ph_session_t *s, const char *fmt, unsigned secs)
{
    char text[256];
    int n = snprintf (text, sizeof text, fmt, secs);
    if (s->stream && n > 0 && (size_t)n <= ph_stream_room (s->stream))
        ph_stream_write (s->stream, PORTHOLE__V1__STREAM_KIND__STDOUT, text, (size_t)n);
}

static void s_check_limits (ph_session_t *s, uint64_t now)
{
    if (s->closing || s->reaped)
        return;
    if (s->idle_timeout_s && now - s->last_input_ms >= (uint64_t)s->idle_timeout_s * 1000) {
        ph_info ("session %s: idle for %u s; closing", s->id, s->idle_timeout_s);
        s_notice (s, "\r\nporthole: session ended after %u s without input (idle timeout)\r\n",
                  s->idle_timeout_s);
        s_hang_up (s);
    } else if (s->max_duration_s && now - s->started_ms >= (uint64_t)s->max_duration_s * 1000) {
        ph_info ("session %s: reached its maximum duration of %u s; closing", s->id,
                 s->max_duration_s);
        s_notice (s, "\r\nporthole: session ended after reaching its maximum duration of %u s\r\n",
                  s->max_duration_s);
        s_hang_up (s);
    }
}

/*  A program that exited but left its output open (a background job
 *  holding the PTY or the pipes) ends once the output has been idle. */
static void s_check_drain (ph_session_t *s, uint64_t now)
{
    if (!s->reaped || ph_session_io_output_done (s) || ph_stream_room (s->stream) == 0)
        return;
    uint64_t last = s->last_output_ms;
    if (s->armed_ms > last)
        last = s->armed_ms;
    if (s->reaped_ms > last)
        last = s->reaped_ms;
    if (now - last < PH_SESSION_DRAIN_MS)
        return;
    ph_debug ("session %s: output still open %d ms after exit; closing it", s->id,
              PH_SESSION_DRAIN_MS);
    ph_session_io_close (s, &s->master);
    ph_session_io_close (s, &s->out);
    ph_session_io_close (s, &s->err);
    ph_session_check_exit (s);
}

static void s_session_tick (ph_session_t *s, uint64_t now)
{
    if (s->stream)
        ph_stream_tick (s->stream, now);
    if (s->state == PH_SESSION_STARTING && now - s->opened_ms >= PH_SESSION_START_MAX_MS) {
        s_fail (s, "the session's program did not start within 60 s (is useradd hanging?)");
        return;
    }
    if (s->state == PH_SESSION_RUNNING) {
        s_check_limits (s, now);
        if (s->kill_at_ms && now >= s->kill_at_ms && !s->reaped) {
            ph_info ("session %s: still running 2 s after SIGHUP; sending SIGKILL", s->id);
            ph_session_signal (s, SIGKILL);
            s->kill_at_ms = 0;
        }
        s_check_drain (s, now);
    }
    if (s->exit_pending)
        s_write_exit (s);
    ph_session_io_update (s);
}

/*  An ended session lets go of its stream once the client has everything,
 *  and of its record after the linger time (two ticks after its last fd
 *  closed, so that zloop no longer holds it as a poller argument). */
static bool s_session_expire (ph_session_t *s, uint64_t now)
{
    if (s->state != PH_SESSION_ENDED && s->state != PH_SESSION_FAILED)
        return false;
    bool lingered = now - s->ended_ms >= PH_SESSION_LINGER_MS;
    if (s->stream && !s->exit_pending && ph_stream_drained (s->stream))
        ph_stream_destroy (&s->stream);
    if (!lingered || !ph_session_io_all_closed (s) || s->agent->tick_count < s->closed_tick + 2)
        return false;
    if (s->exit_pending) {
        ph_warn ("session %s: no client took its remaining output within %d s; dropping it", s->id,
                 PH_SESSION_LINGER_MS / 1000);
        s->exit_pending = false;
        ph_session_send_ended (s);
        ph_cast_end (s->cast, s->exit_status);
    }
    return true;
}

void ph_agent_sessions_tick (ph_agent_t *agent)
{
    uint64_t now = ph_mono_ms ();
    agent->tick_count++;
    zlist_t *expired = NULL;
    for (ph_session_t *s = zhashx_first (agent->sessions); s; s = zhashx_next (agent->sessions)) {
        s_session_tick (s, now);
        if (s_session_expire (s, now)) {
            if (!expired)
                expired = zlist_new ();
            zlist_append (expired, s->id);
        }
    }
    if (!expired)
        return;
    for (char *id = zlist_first (expired); id; id = zlist_next (expired))
        zhashx_delete (agent->sessions, id);
    zlist_destroy (&expired);
}

/* ---- what the connection needs ------------------------------------------- */

const char **ph_agent_sessions_live_ids (ph_agent_t *agent, size_t *count)
{
    const char **ids = calloc (zhashx_size (agent->sessions) + 1, sizeof *ids);
    *count = 0;
    if (!ids)
        return NULL;
    for (ph_session_t *s = zhashx_first (agent->sessions); s; s = zhashx_next (agent->sessions))
        if (s->state == PH_SESSION_STARTING || s->state == PH_SESSION_RUNNING)
            ids[(*count)++] = s->id;
    return ids;
}

size_t ph_agent_sessions_live_count (ph_agent_t *agent)
{
    size_t n = 0;
    for (ph_session_t *s = zhashx_first (agent->sessions); s; s = zhashx_next (agent->sessions))
        if (s->state == PH_SESSION_STARTING || s->state == PH_SESSION_RUNNING)
            n++;
    return n;
}

void ph_agent_sessions_resync (ph_agent_t *agent)
{
    for (ph_session_t *s = zhashx_first (agent->sessions); s; s = zhashx_next (agent->sessions)) {
        if (s->stream)
            ph_stream_resend (s->stream);
        if (s->state == PH_SESSION_ENDED && !s->exit_pending)
            ph_session_send_ended (s);
    }
}
