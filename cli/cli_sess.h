/*  cli_sess: the state of one session of the CLI, shared by the modules
 *  that drive it (private to cli_session.c, cli_link.c and cli_sync.c):
 *
 *  - cli_session.c: the verbs, the poll loop, stdin/stdout, signals;
 *  - cli_link.c:    Attach, AttachReply, and the way back after the link
 *                   to the controller broke (ResumeSession, Attach again,
 *                   resend), with its deadlines;
 *  - cli_sync.c:    a stream opened by a new process (resume-session) is
 *                   brought to the agent's positions;
 *  - cli_outq.c:    output waiting for the terminal (its own small module).
 *
 *  The stream (ph_stream) lives as long as the session, across
 *  reconnections, so that no byte is lost or repeated.
 */
#ifndef CLI_SESS_H
#define CLI_SESS_H

#include "cli.h"
#include "cli_conn.h"
#include "cli_outq.h"
#include "cli_profile.h"
#include "cli_term.h"
#include "ph_random.h"
#include "ph_stream.h"

#define CLI_TICK_MS          10    /* poll timeout: stream ticks, deadlines */
#define CLI_SILENCE_MS       5000  /* no message while waiting for acks: link lost */
#define CLI_LINK_DOWN_MS     5000  /* socket disconnected this long: link lost */
#define CLI_RESUME_WINDOW_MS 60000 /* give up resuming after this */
#define CLI_RETRY_FIRST_MS   1000  /* first wait between resume attempts */
#define CLI_RETRY_MAX_MS     8000  /* longest wait between resume attempts */
#define CLI_ATTACH_WAIT_S    15    /* at least: the controller waits 10 s for the agent */
#define CLI_SESSION_ID_MAX   256

typedef enum {
    CLI_LINK_ATTACHING, /* Attach sent, waiting for AttachReply */
    CLI_LINK_ATTACHED,  /* data flows */
    CLI_LINK_RESUMING,  /* lost: ResumeSession sent or to be sent */
} cli_link_state_t;

typedef struct {
    cli_ctx_t *ctx;
    cli_creds_t creds;
    cli_conn_t *api;   /* the profile's endpoint: requests */
    cli_conn_t *data;  /* the stream endpoint; == api when they are the same */
    unsigned conn_gen; /* bumped whenever api or data is replaced */
    char session_id[CLI_SESSION_ID_MAX];
    char token[PH_STR_MAX + 1];
    ph_stream_t *stream;
    cli_term_t *term;
    bool interactive; /* a shell: raw mode, escape character, banners */
    bool stdin_tty;
    /* link */
    cli_link_state_t state;
    bool ever_attached;
    uint64_t pending_id;  /* request awaited (ResumeSession or Attach), 0: none */
    uint64_t deadline_ms; /* for the awaited reply */
    uint64_t lost_at_ms, retry_at_ms;
    unsigned attempt;
    uint64_t last_rx_ms;           /* last message from the controller */
    bool data_since_attach;        /* stream data arrived since the last AttachReply */
    bool send_synced, recv_synced; /* stream positions agree with the agent's */
    /* terminal and input */
    cli_escape_t esc;
    char inbuf[PH_PAYLOAD_MAX + 1];
    size_t in_len, in_off;
    bool stdin_open, eof_pending;
    unsigned cols, rows;
    unsigned attach_cols, attach_rows; /* the size the last Attach told */
    cli_outq_t *outq;                  /* output not yet written */
    bool stdout_broken;
    bool exit_pending; /* EXIT received: acted on once outq is empty */
    char exit_text[16];
    /* the end */
    bool done;
    int exit_code;
} cli_sess_t;

/* ---- cli_session.c ----------------------------------------------------- */

/*  Ends the session loop with exit_code: restores the terminal first, then
 *  prints "porthole: MESSAGE" (fmt may be NULL for no message). */
void cli_sess_finish (cli_sess_t *s, int exit_code, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

/*  Called by cli_link when an AttachReply arrived. */
void cli_sess_on_attached (cli_sess_t *s);

/* ---- cli_link.c -------------------------------------------------------- */

/*  Takes the stream endpoint, server key and token of a StartSessionReply
 *  (from StartSession or ResumeSession), connects the data socket if the
 *  stream is elsewhere, and sends Attach. Returns 0 or PH_EINVAL (then the
 *  session is finished with a message). */
int cli_link_attach (cli_sess_t *s, const Porthole__V1__StartSessionReply *reply);

/*  A message that is not StreamData (replies, errors). */
void cli_link_on_message (cli_sess_t *s, const ph_env_t *env);

/*  The link is broken: says so and starts resuming. */
void cli_link_lost (cli_sess_t *s, const char *why);

/*  Deadlines, retries and liveness checks; call every tick. */
void cli_link_tick (cli_sess_t *s, uint64_t now_ms);

/*  Sends env on the data socket (version set here). */
void cli_link_send (cli_sess_t *s, ph_env_t *env);

/* ---- cli_sync.c -------------------------------------------------------- */

/*  For a stream that a new process opened on a running session: brings
 *  the stream to the positions that msg (from the agent, not yet given to
 *  ph_stream_receive) reveals. No-op once both sides are synced. */
void cli_sync_apply (cli_sess_t *s, const ph_stream_data_t *msg);

#endif
