/*  Unit tests of agent/agent_session.c and agent/agent_io.c: the session
 *  table and each session's life, on a real zloop with real children. The
 *  agent's DEALER is connected to an inproc ROUTER that this test reads
 *  (what the controller would get); each session has a client-side
 *  ph_stream that talks to ph_agent_session_stream directly. Children are
 *  reaped from the tick, as the SIGCHLD signalfd would.
 *
 *  Covered: SessionOpened/SessionEnded and their repeats, STDOUT/STDERR/
 *  EXIT, stdin and EOF, refusals (root, bad names, no command, unknown
 *  user), CloseSession (SIGHUP, then SIGKILL after 2 s), SIGNAL, idle
 *  timeout and maximum duration, a background job holding the output,
 *  flow control (a fast producer stops at the window while the client
 *  does not ack, and nothing is lost afterwards), an interactive shell
 *  with a shell profile and RESIZE, live ids, resync, hang-up at destroy.
 *  Needs root (sessions run as nobody / porthole-user). */
#include "agent.h"
#include "agent_pty.h"
#include "ph_errors.h"
#include "ph_log.h"
#include "ph_stream.h"
#include "ph_test.h"
#include "ph_util.h"

#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define CLIENTS_MAX 32
#define OUT_KEEP    8192

typedef struct {
    ph_agent_t *agent;
    char id[64];
    ph_stream_t *stream; /* the client's end */
    char out[OUT_KEEP];
    size_t out_len, out_total;
    char err[1024];
    size_t err_len;
    char exit_text[16];
    bool exited;
    int opened, ended;
    uint64_t opened_rid;
    int exit_code;
    bool failed;
    char reason[512];
    bool paused;      /* not reading: nothing delivered, nothing acked */
    uint64_t raw_seq; /* while paused: highest STDOUT seq seen */
    size_t raw_bytes; /* while paused: STDOUT bytes of new seqs */
    int stdout_msgs;
} client_t;

typedef struct {
    ph_agent_t *agent;
    zsock_t *router;
    client_t clients[CLIENTS_MAX];
    int n;
} test_t;

static test_t s_t;

/* ---- the client side ------------------------------------------------------ */

static void s_client_send (void *arg, const ph_stream_data_t *msg)
{
    client_t *c = arg;
    ph_agent_session_stream (c->agent, msg);
}

static client_t *s_client (const char *id)
{
    for (int i = 0; i < s_t.n; i++)
        if (strcmp (s_t.clients[i].id, id) == 0)
            return &s_t.clients[i];
    return NULL;
}

static client_t *s_client_new (const char *id)
{
    client_t *c = &s_t.clients[s_t.n++];
    memset (c, 0, sizeof *c);
    c->agent = s_t.agent;
    snprintf (c->id, sizeof c->id, "%s", id);
    c->stream = ph_stream_new (id, s_client_send, c);
    return c;
}

static void s_on_data (client_t *c, const ph_stream_data_t *sd)
{
    if (c->paused) {
        if (sd->kind == PORTHOLE__V1__STREAM_KIND__STDOUT && sd->seq > c->raw_seq) {
            c->raw_seq = sd->seq;
            c->raw_bytes += sd->payload.len;
        }
        return;
    }
    if (ph_stream_receive (c->stream, sd) != 1)
        return;
    const char *p = (const char *)sd->payload.data;
    size_t n = sd->payload.len;
    switch (sd->kind) {
    case PORTHOLE__V1__STREAM_KIND__STDOUT:
        c->stdout_msgs++;
        c->out_total += n;
        if (c->out_len + n < sizeof c->out) {
            memcpy (c->out + c->out_len, p, n);
            c->out_len += n;
            c->out[c->out_len] = 0;
        }
        break;
    case PORTHOLE__V1__STREAM_KIND__STDERR:
        if (c->err_len + n < sizeof c->err) {
            memcpy (c->err + c->err_len, p, n);
            c->err_len += n;
            c->err[c->err_len] = 0;
        }
        break;
    case PORTHOLE__V1__STREAM_KIND__EXIT:
        snprintf (c->exit_text, sizeof c->exit_text, "%.*s", (int)n, p);
        c->exited = true;
        break;
    default:
        break;
    }
}

/*  What the "controller" receives from the agent. */
static int s_on_router (zloop_t *loop, zsock_t *sock, void *arg)
{
    (void)loop, (void)arg;
    for (;;) {
        ph_wire_rx_t rx;
        ph_env_t *env = NULL;
        char err[PH_ERRTEXT_MAX];
        int rc = ph_wire_recv (sock, true, &rx, &env, err, sizeof err);
        ph_wire_rx_close (&rx);
        if (rc == PH_EIO)
            return 0;
        if (rc != 0) {
            fprintf (stderr, "bad frame from the agent: %s\n", err);
            CHECK (false);
            continue;
        }
        client_t *c;
        switch (env->body_case) {
        case PORTHOLE__V1__ENVELOPE__BODY_SESSION_OPENED:
            if ((c = s_client (env->session_opened->session_id))) {
                c->opened++;
                c->opened_rid = env->request_id;
            }
            break;
        case PORTHOLE__V1__ENVELOPE__BODY_SESSION_ENDED:
            if ((c = s_client (env->session_ended->session_id))) {
                c->ended++;
                c->exit_code = env->session_ended->exit_code;
                c->failed = env->session_ended->failed;
                snprintf (c->reason, sizeof c->reason, "%s", env->session_ended->reason);
            }
            break;
        case PORTHOLE__V1__ENVELOPE__BODY_STREAM_DATA:
            if ((c = s_client (env->stream_data->session_id)))
                s_on_data (c, env->stream_data);
            break;
        default:
            break;
        }
        ph_wire_free (&env);
    }
}

/*  The agent's periodic work, and the clients' acks. */
static int s_on_tick (zloop_t *loop, int id, void *arg)
{
    (void)loop, (void)id, (void)arg;
    ph_agent_sessions_reap (s_t.agent);
    ph_agent_sessions_tick (s_t.agent);
    uint64_t now = ph_mono_ms ();
    for (int i = 0; i < s_t.n; i++)
        if (!s_t.clients[i].paused)
            ph_stream_tick (s_t.clients[i].stream, now);
    return 0;
}

/* ---- running until a condition -------------------------------------------- */

typedef bool (pred_fn) (client_t *c);

typedef struct {
    pred_fn *pred;
    client_t *c;
    uint64_t deadline;
    bool met;
} wait_t;

static int s_check (zloop_t *loop, int id, void *arg)
{
    (void)loop, (void)id;
    wait_t *w = arg;
    w->met = w->pred (w->c);
    return w->met || ph_mono_ms () >= w->deadline ? -1 : 0;
}

static bool s_run_until (pred_fn *pred, client_t *c, int timeout_ms)
{
    wait_t w = {pred, c, ph_mono_ms () + (uint64_t)timeout_ms, false};
    int t = zloop_timer (s_t.agent->loop, 5, 0, s_check, &w);
    zloop_start (s_t.agent->loop);
    zloop_timer_end (s_t.agent->loop, t);
    return w.met;
}

static bool s_ended (client_t *c)
{
    return c->ended > 0 && (c->failed || c->exited);
}

static bool s_opened (client_t *c)
{
    return c->opened > 0;
}

static bool s_never (client_t *c)
{
    (void)c;
    return false;
}

/* ---- opening sessions ------------------------------------------------------ */

typedef struct {
    const char *user;
    bool interactive;
    const char *command;
    unsigned cols, rows;
    const char *shell_profile;
    uint32_t idle_s, max_s;
} open_t;

static client_t *s_open (const char *id, uint64_t request_id, const open_t *o)
{
    client_t *c = s_client (id);
    if (!c)
        c = s_client_new (id);
    Porthole__V1__OpenSession m = PORTHOLE__V1__OPEN_SESSION__INIT;
    m.session_id = (char *)id;
    m.owner = "bob";
    m.run_as = (char *)o->user;
    m.interactive = o->interactive;
    m.command = (char *)(o->command ? o->command : "");
    m.cols = o->cols;
    m.rows = o->rows;
    m.shell_profile = (char *)(o->shell_profile ? o->shell_profile : "");
    m.idle_timeout_s = o->idle_s;
    m.max_duration_s = o->max_s;
    ph_agent_session_open (s_t.agent, request_id, &m);
    return c;
}

static void s_close_session (const char *id)
{
    Porthole__V1__CloseSession m = PORTHOLE__V1__CLOSE_SESSION__INIT;
    m.session_id = (char *)id;
    m.reason = "terminated by bob";
    ph_agent_session_close (s_t.agent, &m);
}

static void s_input (client_t *c, int kind, const char *text)
{
    ph_stream_write (c->stream, kind, text, text ? strlen (text) : 0);
}

static void s_expect_in (const char *what, const char *text, const char *want)
{
    if (!strstr (text, want)) {
        fprintf (stderr, "%s: '%s' lacks '%s'\n", what, text, want);
        CHECK (false);
    } else
        CHECK (true);
}

/* ---- tests ------------------------------------------------------------------ */

static void test_command (void)
{
    open_t o = {.user = "nobody", .command = "printf out; printf err >&2; exit 3"};
    client_t *c = s_open ("bob-00000000000000001", 11, &o);
    CHECK (s_run_until (s_ended, c, 10000));
    CHECK (c->opened == 1 && c->opened_rid == 11);
    CHECK_STR (c->out, "out");
    CHECK_STR (c->err, "err");
    CHECK_STR (c->exit_text, "3");
    CHECK (c->ended == 1 && c->exit_code == 3 && !c->failed);
    CHECK (ph_agent_sessions_live_count (s_t.agent) == 0);

    /* a repeated OpenSession gets the same answers again, nothing runs */
    s_open ("bob-00000000000000001", 12, &o);
    CHECK (c->opened == 1); /* answers are on their way */
    s_run_until (s_never, c, 200);
    CHECK (c->opened == 2 && c->opened_rid == 12);
    CHECK (c->ended == 2 && c->exit_code == 3);
    CHECK_STR (c->out, "out");

    /* resync after a Hello repeats SessionEnded */
    ph_agent_sessions_resync (s_t.agent);
    s_run_until (s_never, c, 100);
    CHECK (c->ended == 3);
    /* so does a CloseSession for an ended session */
    s_close_session ("bob-00000000000000001");
    s_run_until (s_never, c, 100);
    CHECK (c->ended == 4 && c->exit_code == 3 && !c->failed);
}

static void test_stdin (void)
{
    open_t o = {.user = "nobody", .command = "cat; echo done"};
    client_t *c = s_open ("bob-00000000000000002", 21, &o);
    /* input sent before the program runs waits for it */
    s_input (c, PORTHOLE__V1__STREAM_KIND__STDIN, "hello ");
    CHECK (s_run_until (s_opened, c, 10000));
    s_input (c, PORTHOLE__V1__STREAM_KIND__STDIN, "world\n");
    s_input (c, PORTHOLE__V1__STREAM_KIND__EOF, NULL);
    CHECK (s_run_until (s_ended, c, 10000));
    CHECK_STR (c->out, "hello world\ndone\n");
    CHECK_STR (c->exit_text, "0");
    CHECK (c->exit_code == 0);
}

/*  An OpenSession that must end as failed, with want in the reason. */
static void s_expect_refused (const char *id, const open_t *o, const char *want, bool forked)
{
    client_t *c = s_open (id, 31, o);
    if (!forked)
        CHECK (ph_agent_sessions_live_count (s_t.agent) == 0);
    CHECK (s_run_until (s_ended, c, 10000));
    CHECK (c->failed && c->opened == 0 && !c->exited);
    s_expect_in (id, c->reason, want);
}

static void test_refusals (void)
{
    open_t root = {.user = "root", .command = "id"};
    s_expect_refused ("bob-00000000000000003", &root, "refusing to run a session as root", false);
    open_t bad = {.user = "a b", .command = "id"};
    s_expect_refused ("bob-00000000000000004", &bad, "'a b' is not a valid account name", false);
    open_t none = {.user = "nobody"};
    s_expect_refused ("bob-00000000000000005", &none, "needs a command", false);
    open_t unknown = {.user = "ph-no-such-user-x9", .command = "id"};
    s_expect_refused ("bob-00000000000000006", &unknown, "does not exist", true);
    client_t *c = s_client ("bob-00000000000000006");
    CHECK_STR (c->out, "");

    /* a failed session answers a repeated OpenSession with the same failure */
    s_open ("bob-00000000000000006", 32, &unknown);
    s_run_until (s_never, c, 100);
    CHECK (c->ended == 2 && c->failed && c->opened == 0);
    s_expect_in ("repeat", c->reason, "does not exist");
}

static bool s_ready (client_t *c)
{
    return strstr (c->out, "ready\n") != NULL;
}

static bool s_running_two (client_t *c)
{
    (void)c;
    return ph_agent_sessions_live_count (s_t.agent) == 2 &&
           s_client ("bob-00000000000000007")->opened && s_client ("bob-00000000000000008")->opened;
}

static void test_close_and_signal (void)
{
    open_t o = {.user = "nobody", .command = "sleep 30"};
    client_t *a = s_open ("bob-00000000000000007", 41, &o);
    client_t *b = s_open ("bob-00000000000000008", 42, &o);
    CHECK (s_run_until (s_running_two, a, 10000));
    size_t n = 0;
    const char **ids = ph_agent_sessions_live_ids (s_t.agent, &n);
    CHECK (n == 2);
    bool seen_a = false, seen_b = false;
    for (size_t i = 0; i < n; i++) {
        seen_a |= strcmp (ids[i], a->id) == 0;
        seen_b |= strcmp (ids[i], b->id) == 0;
    }
    CHECK (seen_a && seen_b);
    free (ids);

    s_close_session (a->id); /* SIGHUP: 128 + 1 */
    CHECK (s_run_until (s_ended, a, 10000));
    CHECK_STR (a->exit_text, "129");
    CHECK (a->exit_code == 129 && !a->failed);

    s_input (b, PORTHOLE__V1__STREAM_KIND__SIGNAL, "TERM"); /* 128 + 15 */
    CHECK (s_run_until (s_ended, b, 10000));
    CHECK_STR (b->exit_text, "143");

    /* a program that ignores SIGHUP gets SIGKILL 2 s later */
    open_t stubborn = {.user = "nobody", .command = "trap '' HUP; echo ready; sleep 30"};
    client_t *c = s_open ("bob-00000000000000009", 43, &stubborn);
    CHECK (s_run_until (s_ready, c, 10000)); /* the trap is in place */
    uint64_t start = ph_mono_ms ();
    s_close_session (c->id);
    CHECK (s_run_until (s_ended, c, 10000));
    uint64_t took = ph_mono_ms () - start;
    CHECK_STR (c->exit_text, "137");
    CHECK (took >= 1900 && took < 6000);

    /* unknown sessions are ignored */
    s_close_session ("bob-0000000000000dead");
    ph_stream_data_t sd = PORTHOLE__V1__STREAM_DATA__INIT;
    sd.session_id = "bob-0000000000000dead";
    sd.seq = 1;
    sd.kind = PORTHOLE__V1__STREAM_KIND__STDIN;
    ph_agent_session_stream (s_t.agent, &sd);
}

static void test_limits (void)
{
    open_t idle = {.user = "nobody", .command = "sleep 30", .idle_s = 1};
    client_t *a = s_open ("bob-0000000000000000a", 51, &idle);
    uint64_t start = ph_mono_ms ();
    CHECK (s_run_until (s_ended, a, 10000));
    uint64_t took = ph_mono_ms () - start;
    CHECK (took >= 900 && took < 5000);
    s_expect_in ("idle", a->out, "session ended after 1 s without input (idle timeout)");
    CHECK_STR (a->exit_text, "129");

    /* input keeps a session alive; the maximum duration does not care */
    open_t max = {.user = "nobody", .command = "sleep 30", .idle_s = 1, .max_s = 2};
    client_t *b = s_open ("bob-0000000000000000b", 52, &max);
    CHECK (s_run_until (s_opened, b, 10000));
    start = ph_mono_ms ();
    for (int i = 0; i < 6 && !b->ended; i++) {
        s_input (b, PORTHOLE__V1__STREAM_KIND__STDIN, "x");
        s_run_until (s_ended, b, 400);
    }
    CHECK (s_run_until (s_ended, b, 10000));
    took = ph_mono_ms () - start;
    CHECK (took >= 1800 && took < 6000);
    s_expect_in ("max", b->out, "reaching its maximum duration of 2 s");
    CHECK_STR (b->exit_text, "129");

    /* a background job that keeps stdout open: EXIT 500 ms after the exit */
    open_t bg = {.user = "nobody", .command = "sleep 20 & echo started"};
    client_t *c = s_open ("bob-0000000000000000c", 53, &bg);
    start = ph_mono_ms ();
    CHECK (s_run_until (s_ended, c, 10000));
    took = ph_mono_ms () - start;
    CHECK (took < 5000);
    CHECK_STR (c->out, "started\n");
    CHECK_STR (c->exit_text, "0");
}

static bool s_stalled (client_t *c)
{
    return c->raw_bytes >= PH_STREAM_WINDOW;
}

static bool s_all_output (client_t *c)
{
    return c->exited && c->out_total == 3000000;
}

static void test_flow_control (void)
{
    open_t o = {.user = "nobody", .command = "head -c 3000000 /dev/zero"};
    client_t *c = s_open ("bob-0000000000000000d", 61, &o);
    c->paused = true;
    CHECK (s_run_until (s_stalled, c, 10000));
    /* the producer is held at the window while nobody acknowledges */
    s_run_until (s_never, c, 1500);
    CHECK (c->raw_bytes <= PH_STREAM_WINDOW);
    CHECK (!c->ended);
    CHECK (ph_agent_sessions_live_count (s_t.agent) == 1);
    /* reading again: everything arrives once, in order, then EXIT */
    c->paused = false;
    CHECK (s_run_until (s_all_output, c, 20000));
    CHECK (c->out_total == 3000000);
    CHECK_STR (c->exit_text, "0");
    s_run_until (s_ended, c, 5000);
    CHECK (c->ended == 1 && c->exit_code == 0);
}

static bool s_has_a (client_t *c)
{
    return strstr (c->out, "M=yes") != NULL;
}

static void test_interactive (void)
{
    if (!getpwnam ("porthole-user")) {
        fprintf (stderr, "no porthole-user; interactive session checks skipped\n");
        return;
    }
    open_t o = {.user = "porthole-user",
                .interactive = true,
                .shell_profile = "export PH_PROFILE_MARK=yes"};
    client_t *c = s_open ("bob-0000000000000000e", 71, &o);
    CHECK (s_run_until (s_opened, c, 10000));
    s_input (c, PORTHOLE__V1__STREAM_KIND__STDIN, "echo A=$(stty size) M=$PH_PROFILE_MARK\n");
    CHECK (s_run_until (s_has_a, c, 15000));
    s_input (c, PORTHOLE__V1__STREAM_KIND__RESIZE, "120x40");
    s_input (c, PORTHOLE__V1__STREAM_KIND__RESIZE, "bogus"); /* ignored */
    s_input (c, PORTHOLE__V1__STREAM_KIND__STDIN, "echo B=$(stty size); exit 5\n");
    CHECK (s_run_until (s_ended, c, 15000));
    s_expect_in ("pty", c->out, "A=24 80 M=yes"); /* 0x0 in OpenSession: 80x24 */
    s_expect_in ("pty", c->out, "B=40 120");
    CHECK_STR (c->exit_text, "5");
    CHECK (c->exit_code == 5);
}

static void test_destroy_hangs_up (void)
{
    open_t o = {.user = "nobody", .command = "sleep 30"};
    client_t *c = s_open ("bob-0000000000000000f", 81, &o);
    CHECK (s_run_until (s_opened, c, 10000));
    size_t n = 0;
    const char **ids = ph_agent_sessions_live_ids (s_t.agent, &n);
    free (ids);
    CHECK (n == 1);
    ph_agent_sessions_destroy (s_t.agent);
    CHECK (s_t.agent->sessions == NULL);
    /* every child goes away: waitpid(-1) runs dry within the deadline */
    uint64_t deadline = ph_mono_ms () + 5000;
    int status = 0, last = 0;
    for (;;) {
        pid_t r = waitpid (-1, &status, WNOHANG);
        if (r > 0) {
            last = status;
            continue;
        }
        if (r < 0 || ph_mono_ms () >= deadline)
            break;
        usleep (5000);
    }
    CHECK (waitpid (-1, &status, WNOHANG) < 0); /* no children left */
    CHECK (WIFSIGNALED (last) && WTERMSIG (last) == SIGHUP);
    ph_agent_sessions_new (s_t.agent);
}

int main (void)
{
    setenv ("PORTHOLE_LOG", "error", 1);
    ph_log_init ("test_agent_session");
    ph_agent_signals_block ();
    if (geteuid () != 0 || !getpwnam ("nobody")) {
        fprintf (stderr, "needs root and a user nobody; skipped\n");
        PH_TEST_END ();
    }
    zsys_init ();
    zsys_handler_set (NULL);
    s_t.agent = calloc (1, sizeof *s_t.agent);
    s_t.agent->loop = zloop_new ();
    s_t.router = zsock_new_router ("inproc://test-agent-session");
    s_t.agent->dealer = zsock_new_dealer (">inproc://test-agent-session");
    CHECK (ph_agent_sessions_new (s_t.agent) == 0);
    zloop_reader (s_t.agent->loop, s_t.router, s_on_router, NULL);
    zloop_timer (s_t.agent->loop, 10, 0, s_on_tick, NULL);

    test_command ();
    test_stdin ();
    test_refusals ();
    test_close_and_signal ();
    test_limits ();
    test_flow_control ();
    test_interactive ();
    test_destroy_hangs_up ();

    ph_agent_sessions_destroy (s_t.agent);
    for (int i = 0; i < s_t.n; i++)
        ph_stream_destroy (&s_t.clients[i].stream);
    zloop_destroy (&s_t.agent->loop);
    zsock_destroy (&s_t.agent->dealer);
    zsock_destroy (&s_t.router);
    free (s_t.agent);
    PH_TEST_END ();
}
