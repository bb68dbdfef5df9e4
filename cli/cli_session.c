/*  cli_session: see cli_session.h and cli_sess.h.
 *
 *  One poll loop (zmq_poll) over the controller socket(s) and their
 *  monitors, the signal self-pipe, stdin, and stdout/stderr while output
 *  waits, woken at least every CLI_TICK_MS for the stream's timers.
 *  Nothing in it blocks. Flow control both ways:
 *  - stdin is read only while the input buffer (one payload) has space,
 *    and the buffer is drained into the stream only as far as
 *    ph_stream_room allows, so a paste of any size waits for the agent's
 *    acks instead of piling up;
 *  - output the terminal does not take at once waits in cli_outq, and the
 *    credit we grant shrinks by that much (ph_stream_set_held), so a
 *    terminal nobody reads stops the remote producer. EXIT is acted on
 *    once everything before it is written.
 */
#include "cli_session.h"
#include "cli_output.h"
#include "cli_sess.h"
#include "cli_verbs.h"
#include "ph_util.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CLI_DRAIN_MAX       256 /* messages handled per socket per loop turn */
#define CLI_REASON_MAX      256
#define CLI_DRAIN_OUTPUT_MS 1000 /* last output before exiting, if the terminal takes it */

void cli_sess_finish (cli_sess_t *s, int exit_code, const char *fmt, ...)
{
    if (s->outq)
        cli_outq_drain (s->outq, CLI_DRAIN_OUTPUT_MS);
    cli_term_restore (s->term);
    if (fmt) {
        char text[2048];
        va_list ap;
        va_start (ap, fmt);
        vsnprintf (text, sizeof text, fmt, ap);
        va_end (ap);
        cli_error (exit_code, "%s", text);
    }
    s->done = true;
    s->exit_code = exit_code;
}

/*  ph_stream's way out: only while attached (anything else is resent
 *  after the next Attach). */
static void s_stream_send (void *arg, const ph_stream_data_t *msg)
{
    cli_sess_t *s = arg;
    if (s->state != CLI_LINK_ATTACHED || !s->data)
        return;
    ph_env_t env = PH_ENV_INIT;
    env.body_case = PORTHOLE__V1__ENVELOPE__BODY_STREAM_DATA;
    env.stream_data = (ph_stream_data_t *)msg;
    cli_link_send (s, &env);
}

static void s_send_resize (cli_sess_t *s)
{
    char size[32];
    int n = snprintf (size, sizeof size, "%ux%u", s->cols, s->rows);
    ph_stream_write (s->stream, PORTHOLE__V1__STREAM_KIND__RESIZE, size, (size_t)n);
}

static void s_detach (cli_sess_t *s)
{
    if (s->ever_attached) {
        Porthole__V1__Detach detach = PORTHOLE__V1__DETACH__INIT;
        detach.session_id = s->session_id;
        ph_env_t env = PH_ENV_INIT;
        env.body_case = PORTHOLE__V1__ENVELOPE__BODY_DETACH;
        env.detach = &detach;
        cli_link_send (s, &env);
    }
    cli_sess_finish (s, PH_EXIT_DETACHED,
                     "detached from session %s; resume with porthole resume-session "
                     "--session-id %s",
                     s->session_id, s->session_id);
}

void cli_sess_on_attached (cli_sess_t *s)
{
    bool first = !s->ever_attached;
    s->last_rx_ms = ph_mono_ms ();
    s->ever_attached = true;
    if (!first) {
        cli_term_say (s->term, "resumed session %s", s->session_id);
        ph_stream_resend (s->stream);
    }
    if (s->interactive)
        cli_term_size (&s->cols, &s->rows);
    /* the probe of cli_sync, or a window size that changed since Attach */
    if (!s->send_synced ||
        (s->interactive && (s->cols != s->attach_cols || s->rows != s->attach_rows)))
        s_send_resize (s);
}

/* ---- output ------------------------------------------------------------ */

static void s_on_exit (cli_sess_t *s)
{
    uint64_t status;
    ph_stream_flush_ack (s->stream);
    if (ph_parse_uint (s->exit_text, 0, 255, &status) != 0) {
        cli_sess_finish (s, PH_EXIT_LOST,
                         "session %s ended with an exit status '%s' that is not "
                         "a number in 0..255",
                         s->session_id, s->exit_text);
        return;
    }
    cli_sess_finish (s, (int)status, NULL);
    if (s->interactive)
        fprintf (stderr, "\r\nExiting session with sessionId: %s.\n", s->session_id);
}

/*  Writes what the terminal takes now; tells the stream what is left. */
static void s_flush_output (cli_sess_t *s)
{
    int failed = -1;
    if (cli_outq_flush (s->outq, &failed) != 0 && failed == STDOUT_FILENO && !s->stdout_broken) {
        s->stdout_broken = true; /* `porthole start-session --command yes | head` */
        if (s->interactive)
            s_detach (s);
        else
            ph_stream_write (s->stream, PORTHOLE__V1__STREAM_KIND__SIGNAL, "TERM", 4);
    }
    ph_stream_set_held (s->stream, cli_outq_bytes (s->outq));
    if (s->exit_pending && cli_outq_bytes (s->outq) == 0 && !s->done)
        s_on_exit (s);
}

static void s_output (cli_sess_t *s, int fd, const ProtobufCBinaryData *data)
{
    if (fd == STDOUT_FILENO && s->stdout_broken)
        return;
    if (cli_outq_push (s->outq, fd, data->data, data->len) != 0)
        cli_sess_finish (s, PH_EXIT_LOST, "out of memory");
}

static void s_on_exit_message (cli_sess_t *s, const ProtobufCBinaryData *payload)
{
    size_t n = payload->len < sizeof s->exit_text - 1 ? payload->len : sizeof s->exit_text - 1;
    memcpy (s->exit_text, payload->data, n);
    s->exit_text[n] = 0;
    s->exit_pending = true; /* once every byte before it is written */
}

static void s_on_stream (cli_sess_t *s, const ph_stream_data_t *msg)
{
    if (strcmp (msg->session_id, s->session_id) != 0)
        return;
    if (s->state == CLI_LINK_ATTACHED)
        s->data_since_attach = true;
    cli_sync_apply (s, msg);
    if (ph_stream_receive (s->stream, msg) != 1)
        return;
    switch (msg->kind) {
    case PORTHOLE__V1__STREAM_KIND__STDOUT:
        s_output (s, STDOUT_FILENO, &msg->payload);
        break;
    case PORTHOLE__V1__STREAM_KIND__STDERR:
        s_output (s, STDERR_FILENO, &msg->payload);
        break;
    case PORTHOLE__V1__STREAM_KIND__EXIT:
        s_on_exit_message (s, &msg->payload);
        break;
    default:
        break; /* nothing else flows from the agent to us */
    }
    s_flush_output (s);
}

/* ---- input ------------------------------------------------------------- */

static bool s_want_stdin (const cli_sess_t *s)
{
    return s->stdin_open && sizeof s->inbuf - s->in_len > 1;
}

static void s_read_stdin (cli_sess_t *s)
{
    char raw[PH_PAYLOAD_MAX];
    if (s->in_off > 0) {
        memmove (s->inbuf, s->inbuf + s->in_off, s->in_len - s->in_off);
        s->in_len -= s->in_off;
        s->in_off = 0;
    }
    size_t want = sizeof s->inbuf - s->in_len - 1; /* one spare for a pending '~' */
    ssize_t n = read (STDIN_FILENO, raw, want < sizeof raw ? want : sizeof raw);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    if (n <= 0) {
        s->stdin_open = false;
        s->eof_pending = true;
        return;
    }
    if (!(s->interactive && s->stdin_tty)) {
        memcpy (s->inbuf + s->in_len, raw, (size_t)n);
        s->in_len += (size_t)n;
        return;
    }
    bool detach;
    s->in_len += cli_escape_filter (&s->esc, raw, (size_t)n, s->inbuf + s->in_len, &detach);
    if (detach)
        s_detach (s);
}

static void s_flush_input (cli_sess_t *s)
{
    if (s->done || s->state != CLI_LINK_ATTACHED || !s->send_synced)
        return;
    while (s->in_off < s->in_len) {
        size_t room = ph_stream_room (s->stream), n = s->in_len - s->in_off;
        if (room == 0)
            return;
        n = n < room ? n : room;
        if (ph_stream_write (s->stream, PORTHOLE__V1__STREAM_KIND__STDIN, s->inbuf + s->in_off,
                             n) != 0)
            return;
        s->in_off += n;
    }
    s->in_off = s->in_len = 0;
    if (s->eof_pending) {
        ph_stream_write (s->stream, PORTHOLE__V1__STREAM_KIND__EOF, NULL, 0);
        s->eof_pending = false;
    }
}

/* ---- signals ----------------------------------------------------------- */

static void s_on_resize (cli_sess_t *s)
{
    unsigned cols, rows;
    cli_term_size (&cols, &rows);
    if (cols == s->cols && rows == s->rows)
        return;
    s->cols = cols;
    s->rows = rows;
    if (s->ever_attached && s->send_synced && s->state == CLI_LINK_ATTACHED)
        s_send_resize (s);
}

static const char *s_signal_name (int sig)
{
    switch (sig) {
    case SIGINT:
        return "INT";
    case SIGTERM:
        return "TERM";
    case SIGHUP:
        return "HUP";
    default:
        return "QUIT";
    }
}

static void s_on_signal (cli_sess_t *s, int sig)
{
    if (sig == SIGWINCH) {
        if (s->interactive)
            s_on_resize (s);
        return;
    }
    if (!s->ever_attached) {
        cli_sess_finish (s, 128 + sig,
                         "interrupted before session %s opened; if it opens, end "
                         "it with porthole terminate-session --session-id %s",
                         s->session_id, s->session_id);
        return;
    }
    bool forward = !s->interactive || (sig == SIGINT && !s->stdin_tty);
    if (forward) {
        const char *name = s_signal_name (sig);
        ph_stream_write (s->stream, PORTHOLE__V1__STREAM_KIND__SIGNAL, name, strlen (name));
    } else if (sig != SIGINT)
        s_detach (s); /* SIGTERM, SIGHUP, SIGQUIT: leave the shell running */
}

/* ---- the loop ---------------------------------------------------------- */

static void s_drain_conn (cli_sess_t *s, cli_conn_t *conn, unsigned gen)
{
    for (int i = 0; i < CLI_DRAIN_MAX && !s->done && gen == s->conn_gen; i++) {
        ph_env_t *env;
        int rc = cli_conn_recv (conn, &env);
        if (rc == PH_EIO)
            return;
        if (rc != 0)
            continue;
        s->last_rx_ms = ph_mono_ms ();
        if (env->body_case == PORTHOLE__V1__ENVELOPE__BODY_STREAM_DATA)
            s_on_stream (s, env->stream_data);
        else
            cli_link_on_message (s, env);
        ph_wire_free (&env);
    }
}

static void s_drain (cli_sess_t *s)
{
    unsigned gen = s->conn_gen;
    cli_conn_on_monitor (s->api);
    if (s->data != s->api)
        cli_conn_on_monitor (s->data);
    s_drain_conn (s, s->api, gen);
    if (gen == s->conn_gen && s->data != s->api)
        s_drain_conn (s, s->data, gen);
}

static size_t s_add_conn (zmq_pollitem_t *items, size_t n, cli_conn_t *conn)
{
    zmq_pollitem_t sock = {zsock_resolve (cli_conn_sock (conn)), 0, ZMQ_POLLIN, 0};
    zmq_pollitem_t mon = {zsock_resolve (cli_conn_monitor_sock (conn)), 0, ZMQ_POLLIN, 0};
    items[n++] = sock;
    items[n++] = mon;
    return n;
}

static void s_turn (cli_sess_t *s)
{
    zmq_pollitem_t items[7];
    size_t n = s_add_conn (items, 0, s->api);
    if (s->data != s->api)
        n = s_add_conn (items, n, s->data);
    zmq_pollitem_t sig = {NULL, cli_term_signal_fd (s->term), ZMQ_POLLIN, 0};
    items[n++] = sig;
    size_t stdin_at = n;
    if (s_want_stdin (s)) {
        zmq_pollitem_t in = {NULL, STDIN_FILENO, ZMQ_POLLIN, 0};
        items[n++] = in;
    }
    if (cli_outq_wait_fd (s->outq) >= 0) {
        zmq_pollitem_t out = {NULL, cli_outq_wait_fd (s->outq), ZMQ_POLLOUT, 0};
        items[n++] = out;
    }
    zmq_poll (items, (int)n, CLI_TICK_MS);
    if (!s->done)
        s_flush_output (s);
    for (int sig_no; !s->done && (sig_no = cli_term_next_signal (s->term)) != 0;)
        s_on_signal (s, sig_no);
    if (!s->done)
        s_drain (s);
    if (!s->done && stdin_at < n && (items[stdin_at].revents & (ZMQ_POLLIN | ZMQ_POLLERR)))
        s_read_stdin (s);
    s_flush_input (s);
    uint64_t now = ph_mono_ms ();
    cli_link_tick (s, now);
    if (!s->done && s->state == CLI_LINK_ATTACHED)
        ph_stream_tick (s->stream, now);
}

/*  Runs the session whose StartSessionReply is reply to its end. */
static int s_run (cli_sess_t *s, const Porthole__V1__StartSessionReply *reply, const char *verb)
{
    snprintf (s->session_id, sizeof s->session_id, "%s", reply->session_id);
    s->stream = ph_stream_new (s->session_id, s_stream_send, s);
    s->term = cli_term_new ();
    s->outq = cli_outq_new ();
    if (!s->stream || !s->term || !s->outq)
        return cli_error (PH_EXIT_API, "out of memory or file descriptors");
    ph_stream_set_keepalive (s->stream, true);
    if (s->interactive) {
        /* raw before the banner: what is typed from now on waits in the
         * kernel for the session, unechoed, instead of being echoed here */
        if (s->stdin_tty && cli_term_raw (s->term) != 0)
            cli_error (0, "cannot put the terminal in raw mode; going on in line mode");
        fprintf (stderr, "%s session with SessionId: %s%s", verb, s->session_id,
                 cli_term_is_raw (s->term) ? "\r\n" : "\n");
    }
    if (cli_link_attach (s, reply) == 0)
        while (!s->done)
            s_turn (s);
    return s->exit_code;
}

static void s_init (cli_sess_t *s, cli_ctx_t *ctx, bool interactive)
{
    memset (s, 0, sizeof *s);
    s->ctx = ctx;
    s->interactive = interactive;
    s->stdin_tty = isatty (STDIN_FILENO);
    /* a command gets no terminal input: EOF at once */
    s->stdin_open = interactive || !s->stdin_tty;
    s->eof_pending = !s->stdin_open;
    s->send_synced = s->recv_synced = true;
    s->exit_code = PH_EXIT_LOST;
    cli_escape_init (&s->esc);
    cli_term_size (&s->cols, &s->rows);
}

/*  Closes everything; a last Detach or ACK gets CLI_LINGER_MS to leave. */
static void s_cleanup (cli_sess_t *s)
{
    int linger = s->ever_attached ? CLI_LINGER_MS : 0;
    cli_term_destroy (&s->term);
    cli_outq_destroy (&s->outq);
    ph_stream_destroy (&s->stream);
    if (s->data != s->api)
        cli_conn_destroy (&s->data, linger);
    cli_conn_destroy (&s->api, linger);
}

/*  Checks start-session's options. Returns an exit code. */
static int s_start_options (const cli_ctx_t *ctx, const cli_args_t *args)
{
    const char *target = cli_args_get (args, "target");
    const char *reason = cli_args_get (args, "reason");
    const char *command = cli_args_get (args, "command");
    if (!target)
        return cli_usage_error (ctx->verb, "start-session needs --target mi-... (see porthole "
                                           "describe-instance-information)");
    if (!ph_instance_id_valid (target))
        return cli_usage_error (ctx->verb,
                                "--target '%s' is not an instance id; they look like "
                                "mi-0a1b2c3d4e5f60718",
                                target);
    if (reason && (strlen (reason) > CLI_REASON_MAX || !ph_utf8_valid (reason, strlen (reason))))
        return cli_usage_error (ctx->verb, "--reason must be UTF-8 text of at most %d bytes",
                                CLI_REASON_MAX);
    if (command && (!*command || strlen (command) > PH_STR_MAX))
        return cli_usage_error (ctx->verb,
                                "--command must be a non-empty command line of at "
                                "most %d bytes",
                                PH_STR_MAX);
    return PH_EXIT_OK;
}

int cli_verb_start_session (cli_ctx_t *ctx, const cli_args_t *args)
{
    int rc = s_start_options (ctx, args);
    if (rc != PH_EXIT_OK)
        return rc;
    const char *command = cli_args_get (args, "command");
    const char *reason = cli_args_get (args, "reason");
    cli_sess_t *s = malloc (sizeof *s);
    s_init (s, ctx, command == NULL);
    Porthole__V1__StartSessionRequest req = PORTHOLE__V1__START_SESSION_REQUEST__INIT;
    req.target = (char *)cli_args_get (args, "target");
    req.reason = (char *)(reason ? reason : "");
    req.command = (char *)(command ? command : "");
    req.cols = s->cols;
    req.rows = s->rows;
    ph_env_t env = PH_ENV_INIT, *reply = NULL;
    env.body_case = PORTHOLE__V1__ENVELOPE__BODY_START_SESSION;
    env.start_session = &req;
    rc = cli_connect (ctx, &s->api, &s->creds);
    if (rc == PH_EXIT_OK) {
        s->data = s->api;
        rc = cli_conn_call (ctx, s->api, &env, PORTHOLE__V1__ENVELOPE__BODY_START_SESSION_REPLY,
                            &reply);
    }
    if (rc == PH_EXIT_OK)
        rc = s_run (s, reply->start_session_reply, "Starting");
    ph_wire_free (&reply);
    s_cleanup (s);
    free (s);
    return rc;
}

int cli_verb_resume_session (cli_ctx_t *ctx, const cli_args_t *args)
{
    const char *id = cli_args_get (args, "session-id");
    int rc = cli_check_session_id (ctx->verb, id);
    if (rc != PH_EXIT_OK)
        return rc;
    cli_sess_t *s = malloc (sizeof *s);
    s_init (s, ctx, true);
    s->send_synced = s->recv_synced = false; /* a new stream on a running session */
    Porthole__V1__ResumeSessionRequest req = PORTHOLE__V1__RESUME_SESSION_REQUEST__INIT;
    req.session_id = (char *)id;
    ph_env_t env = PH_ENV_INIT, *reply = NULL;
    env.body_case = PORTHOLE__V1__ENVELOPE__BODY_RESUME_SESSION;
    env.resume_session = &req;
    rc = cli_connect (ctx, &s->api, &s->creds);
    if (rc == PH_EXIT_OK) {
        s->data = s->api;
        rc = cli_conn_call (ctx, s->api, &env, PORTHOLE__V1__ENVELOPE__BODY_START_SESSION_REPLY,
                            &reply);
    }
    if (rc == PH_EXIT_OK)
        rc = s_run (s, reply->start_session_reply, "Resuming");
    ph_wire_free (&reply);
    s_cleanup (s);
    free (s);
    return rc;
}
