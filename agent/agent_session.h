/*  agent_session.h: one session of porthole-agent, shared by
 *  agent_session.c (table and life cycle) and agent_io.c (file
 *  descriptors, stream glue). Not used outside those two files.
 *
 *  Life of a session:
 *    STARTING  forked; waiting for the status pipe (exec succeeded or not)
 *    RUNNING   SessionOpened sent; output flows, input is delivered
 *    ENDED     reaped and output at EOF; EXIT written (or pending for
 *              room), SessionEnded sent; the stream is kept until drained
 *              or PH_SESSION_LINGER_MS, the record until PH_SESSION_LINGER_MS
 *    FAILED    could not start; SessionEnded{failed} sent
 *
 *  zloop hands a poller's arg to its handler in the same iteration even
 *  after the poller was ended, so a session is freed only when all its fds
 *  have been closed for two ticks (see ph_session_can_free).
 */
#ifndef PH_AGENT_SESSION_H
#define PH_AGENT_SESSION_H

#include "agent.h"
#include "ph_stream.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define PH_SESSION_ERR_MAX       512
#define PH_SESSION_LINGER_MS     120000 /* keep an ended session's stream/record */
#define PH_SESSION_KILL_AFTER_MS 2000   /* SIGHUP, then SIGKILL */
#define PH_SESSION_DRAIN_MS      500    /* reaped, output fds idle: treat as EOF */
#define PH_SESSION_START_MAX_MS  60000  /* useradd and friends must be done by then */
#define PH_SESSION_STDIN_MAX     (PH_STREAM_WINDOW + PH_PAYLOAD_MAX)
#define PH_SESSION_ID_MAX        256

typedef enum {
    PH_SESSION_STARTING,
    PH_SESSION_RUNNING,
    PH_SESSION_ENDED,
    PH_SESSION_FAILED,
} ph_session_state_t;

/*  One file descriptor and the events zloop polls it for (0: none). */
typedef struct {
    int fd;
    short armed;
} ph_session_fd_t;

typedef struct _ph_session_t {
    ph_agent_t *agent;
    char *id;
    ph_session_state_t state;
    bool interactive;
    pid_t pid;       /* the child, also its process group; -1 when none */
    bool reaped;     /* waitpid collected it: never signal pid again */
    int exit_status; /* exit code, or 128 + signal */
    ph_session_fd_t master, in, out, err, status;
    ph_stream_t *stream;
    /* STDIN not yet accepted by the program */
    uint8_t *in_buf;
    size_t in_off, in_len, in_cap;
    bool in_eof; /* EOF received: close the command's stdin once drained */
    /* what the child said before exec, if it failed */
    char start_err[PH_SESSION_ERR_MAX];
    size_t start_err_len;
    char *shell_profile;
    uint64_t open_request_id;
    uint32_t idle_timeout_s, max_duration_s;
    /* monotonic ms */
    uint64_t opened_ms, started_ms, last_input_ms, last_output_ms, armed_ms, reaped_ms;
    uint64_t kill_at_ms; /* SIGKILL then, if still alive; 0: not closing */
    uint64_t ended_ms;
    bool closing;         /* SIGHUP sent (CloseSession, idle, max duration) */
    bool exit_pending;    /* EXIT waits for room in the stream */
    uint64_t closed_tick; /* agent tick count when the last fd was closed */
    char *fail_reason;
    /* the transcript (agent_log.h); NULL when the session is not recorded */
    struct _ph_cast_t *cast;
    unsigned cols, rows; /* the PTY's size at the start */
    char *command;       /* non-interactive only */
    /* the log preferences of OpenSession; log_group NULL: HelloReply's */
    char *log_group;
    bool log_streaming, log_encrypt, log_input;
} ph_session_t;

/* ---- agent_io.c ---------------------------------------------------------- */

/*  (Re)arms the session's pollers for what it can do now: read output when
 *  the stream has room, write when STDIN is buffered, read the status
 *  pipe while starting. Cheap when nothing changed. */
void ph_session_io_update (ph_session_t *s);

/*  Closes one fd (ending its poller first). */
void ph_session_io_close (ph_session_t *s, ph_session_fd_t *f);

/*  Closes every fd of the session. */
void ph_session_io_close_all (ph_session_t *s);

/*  True when every output fd (PTY master or stdout and stderr) is closed. */
bool ph_session_io_output_done (const ph_session_t *s);

/*  True when no fd of the session is open. */
bool ph_session_io_all_closed (const ph_session_t *s);

/*  Appends len bytes for the program's stdin and writes what it accepts
 *  now. Drops data beyond PH_SESSION_STDIN_MAX (a peer over its credit). */
void ph_session_io_queue_stdin (ph_session_t *s, const void *data, size_t len);

/*  Writes buffered stdin now (after the program started). */
void ph_session_io_flush_stdin (ph_session_t *s);

/*  Acts on one in-order StreamData from the client: STDIN, RESIZE, SIGNAL,
 *  EOF. */
void ph_session_io_deliver (ph_session_t *s, const ph_stream_data_t *sd);

/*  The stream's send callback: wraps msg in an Envelope on the DEALER. */
void ph_session_io_stream_send (void *arg, const ph_stream_data_t *msg);

/* ---- agent_session.c (called back from agent_io.c) ---------------------- */

/*  The status pipe reached EOF: err is NULL when the program runs, else
 *  why it could not start. */
void ph_session_started (ph_session_t *s, const char *err);

/*  Ends the session when its program was reaped and its output is at EOF. */
void ph_session_check_exit (ph_session_t *s);

/*  Sends sig to the session's process group and to the PTY's foreground
 *  process group; nothing once the child was reaped. */
void ph_session_signal (ph_session_t *s, int sig);

/*  Sends SessionEnded for an ended (or failed) session and, when the
 *  session is not recorded, TranscriptComplete right after it. */
void ph_session_send_ended (ph_session_t *s);

#endif
