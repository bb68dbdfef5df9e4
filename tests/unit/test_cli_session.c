/*  Unit tests of cli/cli_session.c, cli/cli_link.c and cli/cli_sync.c:
 *  start-session and resume-session run their real loop against a fake
 *  controller that also plays the agent (a CURVE ROUTER in a zactor thread
 *  with an agent-side ph_stream). Stdin is a pipe, stdout and stderr are
 *  files. Scenarios:
 *   - a command: stdin goes up followed by EOF, STDOUT and STDERR come
 *     back to the right fds, the remote exit status is the exit code;
 *   - the link breaks (NotAttached while input is in flight): the CLI
 *     resumes (ResumeSession, a new Attach) and the input arrives once;
 *   - resume-session from a new process on a stream that an earlier
 *     client used: the positions are adopted, old output is not replayed;
 *   - refusals: StartSession denied, Attach failed, usage errors. */
#include "cli_fake.h"
#include "cli_session.h"
#include "cli_test.h"
#include "ph_config.h"
#include "ph_keys.h"
#include "ph_stream.h"
#include "ph_test.h"
#include "ph_util.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SID "bob-0123456789abcdef0"

static char s_dir[] = "/tmp/ph-test-cli-session-XXXXXX";
static ph_keypair_t s_server_kp;
static char s_endpoint[64];

/* ---- the fake controller + agent ---------------------------------------- */

typedef enum { MODE_COMMAND, MODE_LOSS, MODE_ADOPT, MODE_ATTACH_FAIL, MODE_DENY } mode_t_;

typedef struct {
    zsock_t *router;
    mode_t_ mode;
    ph_stream_t *stream; /* the agent's end */
    ph_stream_t *ghost;  /* an earlier client (MODE_ADOPT set-up) */
    zlist_t *to_ghost, *to_agent;
    uint8_t rid[PH_ROUTING_MAX];
    size_t rid_len;
    bool attached;
    bool dropped_once;
    char input[4096];
    size_t input_len;
    int starts, attaches, resumes, eofs;
    char resize[32], token[64], target[64], command[256], reason[256];
} fake_t;

static void s_push_copy (zlist_t *wire, const ph_stream_data_t *msg)
{
    ph_env_t env = PH_ENV_INIT;
    env.version = PH_WIRE_VERSION;
    env.body_case = PORTHOLE__V1__ENVELOPE__BODY_STREAM_DATA;
    env.stream_data = (ph_stream_data_t *)msg;
    size_t len;
    uint8_t *bytes = ph_wire_encode (&env, &len);
    zlist_append (wire, zframe_new (bytes, len));
    free (bytes);
}

static void s_agent_send (void *arg, const ph_stream_data_t *msg)
{
    fake_t *f = arg;
    if (f->ghost) {
        s_push_copy (f->to_ghost, msg);
        return;
    }
    if (!f->attached)
        return;
    ph_env_t env = PH_ENV_INIT;
    env.version = PH_WIRE_VERSION;
    env.body_case = PORTHOLE__V1__ENVELOPE__BODY_STREAM_DATA;
    env.stream_data = (ph_stream_data_t *)msg;
    ph_wire_send (f->router, f->rid, f->rid_len, &env);
}

static void s_ghost_send (void *arg, const ph_stream_data_t *msg)
{
    s_push_copy (((fake_t *)arg)->to_agent, msg);
}

static void s_write (fake_t *f, int kind, const char *text)
{
    ph_stream_write (f->stream, kind, text, strlen (text));
}

/*  Delivers every queued frame of wire to stream. */
static void s_pump (zlist_t *wire, ph_stream_t *stream)
{
    zframe_t *frame;
    while ((frame = zlist_pop (wire))) {
        ph_env_t *env = NULL;
        char err[PH_ERRTEXT_MAX];
        if (ph_wire_decode (zframe_data (frame), zframe_size (frame), &env, err, sizeof err) == 0)
            ph_stream_receive (stream, env->stream_data);
        ph_wire_free (&env);
        zframe_destroy (&frame);
    }
}

/*  An earlier client sent 5 messages and got 3, all acknowledged. */
static void s_make_history (fake_t *f)
{
    f->to_ghost = zlist_new ();
    f->to_agent = zlist_new ();
    f->ghost = ph_stream_new (SID, s_ghost_send, f);
    for (int i = 0; i < 5; i++)
        ph_stream_write (f->ghost, PORTHOLE__V1__STREAM_KIND__STDIN, "old", 3);
    for (int i = 0; i < 3; i++)
        s_write (f, PORTHOLE__V1__STREAM_KIND__STDOUT, "replayed-by-mistake\n");
    for (int round = 0; round < 3; round++) {
        s_pump (f->to_agent, f->stream);
        s_pump (f->to_ghost, f->ghost);
        ph_stream_flush_ack (f->stream);
        ph_stream_flush_ack (f->ghost);
    }
    s_pump (f->to_agent, f->stream);
    s_pump (f->to_ghost, f->ghost);
    if (!ph_stream_drained (f->stream) || !ph_stream_drained (f->ghost) ||
        ph_stream_recv_seq (f->stream) != 5 || ph_stream_sent_seq (f->stream) != 3)
        fprintf (stderr, "fake: history set-up failed\n");
    ph_stream_destroy (&f->ghost);
    zlist_destroy (&f->to_ghost);
    zlist_destroy (&f->to_agent);
}

static void s_reply (fake_t *f, ph_wire_rx_t *rx, const ph_env_t *req, ph_env_t *env)
{
    env->version = PH_WIRE_VERSION;
    env->request_id = req->request_id;
    ph_wire_send (f->router, rx->routing_id, rx->routing_id_len, env);
}

static void s_reply_error (fake_t *f, ph_wire_rx_t *rx, uint64_t request_id, const char *code,
                           const char *text)
{
    ph_wire_send_error (f->router, rx->routing_id, rx->routing_id_len, request_id, code, "%s",
                        text);
}

static void s_on_start (fake_t *f, ph_wire_rx_t *rx, const ph_env_t *req, bool resume)
{
    if (resume)
        f->resumes++;
    else {
        f->starts++;
        const Porthole__V1__StartSessionRequest *r = req->start_session;
        snprintf (f->target, sizeof f->target, "%s", r->target);
        snprintf (f->command, sizeof f->command, "%s", r->command);
        snprintf (f->reason, sizeof f->reason, "%s", r->reason);
    }
    if (f->mode == MODE_DENY) {
        s_reply_error (f, rx, req->request_id, "AccessDenied",
                       "porthole: AccessDenied: user bob may not start sessions");
        return;
    }
    char token[32];
    snprintf (token, sizeof token, "tok-%d", f->starts + f->resumes);
    Porthole__V1__StartSessionReply body = PORTHOLE__V1__START_SESSION_REPLY__INIT;
    body.session_id = SID;
    body.stream_url = s_endpoint;
    body.server_key = s_server_kp.public_z85;
    body.token = token;
    ph_env_t env = PH_ENV_INIT;
    env.body_case = PORTHOLE__V1__ENVELOPE__BODY_START_SESSION_REPLY;
    env.start_session_reply = &body;
    s_reply (f, rx, req, &env);
}

static void s_on_attach (fake_t *f, ph_wire_rx_t *rx, const ph_env_t *req)
{
    f->attaches++;
    snprintf (f->token, sizeof f->token, "%s", req->attach->token);
    if (f->mode == MODE_ATTACH_FAIL) {
        s_reply_error (f, rx, req->request_id, "SessionFailed",
                       "porthole: session " SID ": user nobody2 does not exist");
        return;
    }
    memcpy (f->rid, rx->routing_id, rx->routing_id_len);
    f->rid_len = rx->routing_id_len;
    f->attached = true;
    Porthole__V1__AttachReply body = PORTHOLE__V1__ATTACH_REPLY__INIT;
    body.session_id = SID;
    body.status = "Connected";
    ph_env_t env = PH_ENV_INIT;
    env.body_case = PORTHOLE__V1__ENVELOPE__BODY_ATTACH_REPLY;
    env.attach_reply = &body;
    s_reply (f, rx, req, &env);
    if (f->attaches == 1 && f->mode != MODE_ADOPT) {
        s_write (f, PORTHOLE__V1__STREAM_KIND__STDOUT, "hello\n");
        s_write (f, PORTHOLE__V1__STREAM_KIND__STDERR, "oops\n");
    }
}

/*  What the "program" does with each message delivered in order. */
static void s_deliver (fake_t *f, const ph_stream_data_t *sd)
{
    switch (sd->kind) {
    case PORTHOLE__V1__STREAM_KIND__STDIN:
        if (f->input_len + sd->payload.len < sizeof f->input) {
            memcpy (f->input + f->input_len, sd->payload.data, sd->payload.len);
            f->input_len += sd->payload.len;
        }
        break;
    case PORTHOLE__V1__STREAM_KIND__RESIZE:
        snprintf (f->resize, sizeof f->resize, "%.*s", (int)sd->payload.len,
                  (const char *)sd->payload.data);
        if (f->mode == MODE_ADOPT)
            s_write (f, PORTHOLE__V1__STREAM_KIND__STDOUT, "after\n");
        break;
    case PORTHOLE__V1__STREAM_KIND__EOF: {
        f->eofs++;
        char text[4200];
        snprintf (text, sizeof text, "got:%.*s", (int)f->input_len, f->input);
        s_write (f, PORTHOLE__V1__STREAM_KIND__STDOUT, text);
        s_write (f, PORTHOLE__V1__STREAM_KIND__EXIT, f->mode == MODE_COMMAND ? "3" : "0");
        break;
    }
    default:
        break;
    }
}

static void s_on_stream (fake_t *f, ph_wire_rx_t *rx, const ph_env_t *req)
{
    const ph_stream_data_t *sd = req->stream_data;
    bool is_attached = f->attached && rx->routing_id_len == f->rid_len &&
                       memcmp (rx->routing_id, f->rid, f->rid_len) == 0;
    bool drop =
        f->mode == MODE_LOSS && !f->dropped_once && sd->kind == PORTHOLE__V1__STREAM_KIND__STDIN;
    if (drop) {
        f->dropped_once = true;
        f->attached = false; /* as a restarted controller */
    }
    if (drop || !is_attached) {
        s_reply_error (f, rx, 0, "NotAttached", "porthole: session " SID " is not attached here");
        return;
    }
    if (f->stream && ph_stream_receive (f->stream, sd) == 1)
        s_deliver (f, sd);
}

static void s_on_message (zsock_t *router, ph_wire_rx_t *rx, const ph_env_t *req, void *state)
{
    (void)router;
    fake_t *f = state;
    switch (req->body_case) {
    case PORTHOLE__V1__ENVELOPE__BODY_START_SESSION:
        s_on_start (f, rx, req, false);
        break;
    case PORTHOLE__V1__ENVELOPE__BODY_RESUME_SESSION:
        s_on_start (f, rx, req, true);
        break;
    case PORTHOLE__V1__ENVELOPE__BODY_ATTACH:
        s_on_attach (f, rx, req);
        break;
    case PORTHOLE__V1__ENVELOPE__BODY_STREAM_DATA:
        s_on_stream (f, rx, req);
        break;
    default:
        break;
    }
}

static void s_reset (fake_t *f, const char *mode)
{
    ph_stream_destroy (&f->stream);
    zsock_t *router = f->router;
    memset (f, 0, sizeof *f);
    f->router = router;
    f->mode = strcmp (mode, "loss") == 0          ? MODE_LOSS
              : strcmp (mode, "adopt") == 0       ? MODE_ADOPT
              : strcmp (mode, "attach-fail") == 0 ? MODE_ATTACH_FAIL
              : strcmp (mode, "deny") == 0        ? MODE_DENY
                                                  : MODE_COMMAND;
    f->stream = ph_stream_new (SID, s_agent_send, f);
    if (f->mode == MODE_ADOPT)
        s_make_history (f);
}

/*  Commands: MODE NAME (answers OK), STATS (answers a summary). */
static void s_on_command (zsock_t *pipe, const char *cmd, zmsg_t *msg, void *state)
{
    fake_t *f = state;
    if (strcmp (cmd, "MODE") == 0) {
        char *mode = zmsg_popstr (msg);
        s_reset (f, mode ? mode : "command");
        zstr_free (&mode);
        zstr_send (pipe, "OK");
    } else if (strcmp (cmd, "STATS") == 0)
        zstr_sendf (pipe,
                    "starts=%d attaches=%d resumes=%d eofs=%d token=%s target=%s command=%s "
                    "reason=%s resize=%s input=%.*s",
                    f->starts, f->attaches, f->resumes, f->eofs, f->token, f->target, f->command,
                    f->reason, f->resize, (int)f->input_len, f->input);
}

static void s_fake_start (zsock_t *router, void *state)
{
    fake_t *f = state;
    memset (f, 0, sizeof *f);
    f->router = router;
    s_reset (f, "command");
}

static void s_on_tick (zsock_t *router, void *state)
{
    (void)router;
    fake_t *f = state;
    if (f->stream)
        ph_stream_tick (f->stream, ph_mono_ms ());
}

static void s_on_stop (zsock_t *router, void *state)
{
    (void)router;
    ph_stream_destroy (&((fake_t *)state)->stream);
}

/* ---- running the verbs --------------------------------------------------- */

typedef struct {
    int rc;
    char out[8192];
    char err[8192];
    char stats[1024];
} run_t;

static int s_tmpfile (void)
{
    char path[] = "/tmp/ph-test-cli-session-out-XXXXXX";
    int fd = mkstemp (path);
    unlink (path);
    return fd;
}

static void s_read_back (int fd, char *buf, size_t len)
{
    ssize_t n = pread (fd, buf, len - 1, 0);
    buf[n > 0 ? n : 0] = 0;
    close (fd);
}

/*  Runs verb with stdin fed from input; options as name/value pairs. */
static void s_run (zactor_t *fake, const char *mode, int (*verb) (cli_ctx_t *, const cli_args_t *),
                   const char *name, const char *input, const char *const *opts, run_t *r)
{
    zstr_sendx (fake, "MODE", mode, NULL);
    char *ok = zstr_recv (fake);
    zstr_free (&ok);
    cli_ctx_t ctx;
    memset (&ctx, 0, sizeof ctx);
    snprintf (ctx.profile, sizeof ctx.profile, "default");
    snprintf (ctx.config_dir, sizeof ctx.config_dir, "%s", s_dir);
    ctx.timeout_s = 5;
    ctx.verb = name;
    cli_args_t args;
    memset (&args, 0, sizeof args);
    args.verb = name;
    for (size_t i = 0; opts && opts[i]; i += 2)
        args.items[args.count++] = (cli_arg_t){opts[i], opts[i + 1]};

    int in[2];
    if (pipe (in) != 0)
        abort ();
    if (write (in[1], input, strlen (input)) != (ssize_t)strlen (input))
        abort ();
    close (in[1]);
    int out = s_tmpfile (), err = s_tmpfile ();
    fflush (stdout);
    fflush (stderr);
    int si = dup (0), so = dup (1), se = dup (2);
    dup2 (in[0], 0);
    dup2 (out, 1);
    dup2 (err, 2);
    close (in[0]);
    r->rc = verb (&ctx, &args);
    fflush (stdout);
    fflush (stderr);
    dup2 (si, 0);
    dup2 (so, 1);
    dup2 (se, 2);
    close (si);
    close (so);
    close (se);
    s_read_back (out, r->out, sizeof r->out);
    s_read_back (err, r->err, sizeof r->err);
    zstr_send (fake, "STATS");
    char *stats = zstr_recv (fake);
    snprintf (r->stats, sizeof r->stats, "%s", stats ? stats : "");
    zstr_free (&stats);
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

static void test_command (zactor_t *fake)
{
    run_t r;
    s_run (fake, "command", cli_verb_start_session, "start-session", "line one\nline two\n",
           OPTS ("target", "mi-0123456789abcdef0", "command", "cat; exit 3", "reason", "INC-1"),
           &r);
    CHECK (r.rc == 3);
    CHECK_STR (r.out, "hello\ngot:line one\nline two\n");
    CHECK_STR (r.err, "oops\n");
    s_expect_in ("stats", r.stats, "starts=1 attaches=1 resumes=0 eofs=1 token=tok-1");
    s_expect_in ("stats", r.stats, "target=mi-0123456789abcdef0 command=cat; exit 3 reason=INC-1");
    s_expect_in ("stats", r.stats, "resize= "); /* a command gets no RESIZE */
}

static void test_link_loss (zactor_t *fake)
{
    run_t r;
    s_run (fake, "loss", cli_verb_start_session, "start-session", "abc",
           OPTS ("target", "mi-0123456789abcdef0", "command", "cat"), &r);
    CHECK (r.rc == 0);
    CHECK_STR (r.out, "hello\ngot:abc");
    s_expect_in ("stderr", r.err, "oops\n");
    s_expect_in ("stderr", r.err, "connection to the controller lost; resuming session " SID);
    s_expect_in ("stderr", r.err, "resumed session " SID);
    /* resumed once, with a fresh token; the input arrived exactly once */
    s_expect_in ("stats", r.stats, "starts=1 attaches=2 resumes=1 eofs=1 token=tok-2");
    s_expect_in ("stats", r.stats, "input=abc");
}

static void test_adopt (zactor_t *fake)
{
    run_t r;
    s_run (fake, "adopt", cli_verb_resume_session, "resume-session", "ls\n",
           OPTS ("session-id", SID), &r);
    CHECK (r.rc == 0);
    /* only what came after this client attached; nothing replayed */
    CHECK_STR (r.out, "after\ngot:ls\n");
    s_expect_in ("stderr", r.err, "Resuming session with SessionId: " SID);
    s_expect_in ("stderr", r.err, "Exiting session with sessionId: " SID);
    s_expect_in ("stats", r.stats, "starts=0 attaches=1 resumes=1 eofs=1");
    s_expect_in ("stats", r.stats, "resize=80x24"); /* stdin is no tty: the default size */
    s_expect_in ("stats", r.stats, "input=ls\n");
}

static void test_refusals (zactor_t *fake)
{
    run_t r;
    s_run (fake, "deny", cli_verb_start_session, "start-session", "",
           OPTS ("target", "mi-0123456789abcdef0", "command", "id"), &r);
    CHECK (r.rc == PH_EXIT_DENIED);
    CHECK_STR (r.err, "porthole: AccessDenied: user bob may not start sessions\n");
    s_expect_in ("stats", r.stats, "starts=1 attaches=0");

    s_run (fake, "attach-fail", cli_verb_start_session, "start-session", "",
           OPTS ("target", "mi-0123456789abcdef0", "command", "id"), &r);
    CHECK (r.rc == PH_EXIT_API);
    s_expect_in ("stderr", r.err, "user nobody2 does not exist");
    s_expect_in ("stats", r.stats, "starts=1 attaches=1");
    CHECK_STR (r.out, "");

    const char *const *bad[] = {
        OPTS ("command", "id"),
        OPTS ("target", "i-123", "command", "id"),
        OPTS ("target", "mi-0123456789abcdef0", "command", ""),
        OPTS ("target", "mi-0123456789abcdef0", "reason", "\xc3\x28"),
    };
    const char *want[] = {"needs --target", "is not an instance id", "non-empty command line",
                          "UTF-8 text of at most 256 bytes"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        s_run (fake, "command", cli_verb_start_session, "start-session", "", bad[i], &r);
        CHECK (r.rc == PH_EXIT_USAGE);
        s_expect_in ("usage", r.err, want[i]);
        s_expect_in ("stats", r.stats, "starts=0 attaches=0 resumes=0");
    }
    s_run (fake, "command", cli_verb_resume_session, "resume-session", "",
           OPTS ("session-id", "nope"), &r);
    CHECK (r.rc == PH_EXIT_USAGE);
    s_expect_in ("stats", r.stats, "starts=0 attaches=0 resumes=0");
}

int main (void)
{
    zsys_init ();
    zsys_handler_set (NULL);
    if (!mkdtemp (s_dir))
        return 1;
    cli_test_dir = s_dir;
    unsetenv ("PORTHOLE_ENDPOINT");
    unsetenv ("PORTHOLE_SERVER_KEY");
    ph_keys_generate (&s_server_kp);
    static fake_t state; /* the actor's own */
    cli_fake_t config = {.kp = &s_server_kp,
                         .poll_ms = 10,
                         .answer = s_on_message,
                         .command = s_on_command,
                         .start = s_fake_start,
                         .tick = s_on_tick,
                         .stop = s_on_stop,
                         .state = &state};
    zactor_t *fake = cli_fake_start (&config, s_endpoint, sizeof s_endpoint);
    cli_test_write_profile (s_endpoint, s_server_kp.public_z85);

    test_command (fake);
    test_link_loss (fake);
    test_adopt (fake);
    test_refusals (fake);

    zactor_destroy (&fake);
    char cmd[128];
    snprintf (cmd, sizeof cmd, "rm -rf '%s'", s_dir);
    CHECK (system (cmd) == 0);
    PH_TEST_END ();
}
