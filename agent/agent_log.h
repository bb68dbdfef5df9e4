/*  agent_log.h: session transcripts of porthole-agent (issue 3, DESIGN.md
 *  §6), shared by the modules that record and ship them:
 *
 *  agent_cast.c   turns a session's output, input and resizes into
 *                 asciicast v2 lines (stream <session id>) and plain text
 *                 lines (stream <session id>.txt); commands become JSON
 *                 lines {"command"}, {"stdout"|"stderr"}, {"exit_code"}
 *  agent_ship.c   per-session transcripts: pending events, batches cut
 *                 every second (streaming) or at 10,000 events / 512 KiB,
 *                 strictly ordered sending, one batch in flight per
 *                 session, acks, backoff, TranscriptComplete
 *  agent_ship_net.c  the DEALERs to the logshippers and what they answer
 *  agent_spool.c  the on-disk spool: spool/<session id>/NNNNNNNN.batch
 *                 segments of checksummed records, one serialized
 *                 Envelope{PutLogEvents} each, written and fdatasync'ed
 *                 by a zactor; a batch is sent only once it is durable
 *                 (agent_spool_disk.c: the record format and the actor)
 *
 *  At-least-once: a batch stays on disk at least until a logshipper's
 *  PutLogEventsReply for its batch_id; the logshipper de-duplicates.
 *  Everything but the spool's disk writes runs on the agent's zloop.
 */
#ifndef PH_AGENT_LOG_H
#define PH_AGENT_LOG_H

#include "agent.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PH_SHIP_BATCH_EVENTS   10000        /* events per batch */
#define PH_SHIP_BATCH_BYTES    (512 * 1024) /* message bytes per batch */
#define PH_SHIP_CUT_MS         1000         /* streaming: cut a batch this often */
#define PH_SHIP_BACKOFF_MIN_MS 250
#define PH_SHIP_BACKOFF_MAX_MS 10000
#define PH_SHIP_TICK_MS        50
#define PH_SHIP_LINGER_MS      120000 /* keep resending TranscriptComplete */
#define PH_SHIP_EVENT_MAX      16000  /* bytes of one event message (< PH_STR_MAX) */
#define PH_SHIP_GROUP_DEFAULT  "porthole/sessions"
#define PH_SHIP_TXT_SUFFIX     ".txt"
#define PH_SPOOL_DIR_NAME      "spool"
#define PH_SPOOL_MAX_MB_DFLT   256

/* ---- agent_spool.c ------------------------------------------------------- */

typedef struct _ph_spool_t ph_spool_t;

/*  Called on the reactor when batch n of session sid reached the disk
 *  (ok: fdatasync'ed, it may be shipped) or could not be written (!ok:
 *  its events are lost, already logged). *data_p is the buffer given to
 *  ph_spool_write: the callee may take it (setting *data_p to NULL). */
typedef void (ph_spool_durable_fn) (void *arg, const char *sid, uint32_t n, bool ok,
                                    uint8_t **data_p, size_t len);

/*  Opens (creating, mode 0700) the spool directory dir, reads back what it
 *  holds (ph_spool_sessions, ph_spool_batches) and starts the actor that
 *  writes it. max_bytes bounds the unacknowledged bytes (ph_spool_full).
 *  Blocks on the disk; call at start-up. Returns NULL with the reason
 *  logged. */
ph_spool_t *ph_spool_new (const char *dir, uint64_t max_bytes);

/*  Reports go to on_durable(arg, ...), called from loop; with loop NULL
 *  only from ph_spool_flush. Returns 0 or PH_EIO. */
int ph_spool_attach (ph_spool_t *self, zloop_t *loop, ph_spool_durable_fn *on_durable, void *arg);

/*  Waits until everything written so far is durable and reported, then
 *  stops the actor and frees everything (on_durable is not called any
 *  more). Blocks on the disk. */
void ph_spool_destroy (ph_spool_t **self_p);

/*  Hands batch n (stream: PH_SHIP_CAST or PH_SHIP_TEXT) of session sid,
 *  len bytes at *data_p, to the actor, which takes the buffer (*data_p
 *  is set to NULL) and reports it through on_durable. Batch numbers are
 *  unique within a session. Never blocks. Returns 0, or PH_EINVAL (a bad
 *  session id or size, logged) / PH_EIO with *data_p still the caller's. */
int ph_spool_write (ph_spool_t *self, const char *sid, uint32_t n, unsigned stream,
                    uint8_t **data_p, size_t len);

/*  Blocks until every batch written so far has been reported (its
 *  on_durable called). For shutdown and tests. */
void ph_spool_flush (ph_spool_t *self);

/*  Reads durable batch n of session sid into a heap buffer the caller
 *  frees; NULL when it is not durable, missing or unreadable. Reads the
 *  disk (usually the page cache) in the caller's thread. */
uint8_t *ph_spool_read (ph_spool_t *self, const char *sid, uint32_t n, size_t *len);

/*  Batch n of session sid was acknowledged: it no longer counts against
 *  the bound, and its segment is deleted once nothing in it waits. */
void ph_spool_remove (ph_spool_t *self, const char *sid, uint32_t n);

/*  The transcript of sid is complete: its directory is removed. */
void ph_spool_forget (ph_spool_t *self, const char *sid);

/*  True when the spool holds max_bytes or more, or too much is still on
 *  its way to the disk: output is held back. */
bool ph_spool_full (const ph_spool_t *self);

/*  The sessions that have durable, unacknowledged batches: a list of
 *  strings the caller destroys (zlist with autofree). */
zlist_t *ph_spool_sessions (ph_spool_t *self);

/*  The durable, unacknowledged batch numbers of session sid in ascending
 *  order, as a heap array of *count entries the caller frees (NULL when
 *  none). */
uint32_t *ph_spool_batches (ph_spool_t *self, const char *sid, size_t *count);

/* ---- agent_ship.c -------------------------------------------------------- */

typedef struct _ph_ship_t ph_ship_t;
typedef struct _ph_transcript_t ph_transcript_t;

typedef enum { PH_SHIP_CAST = 0, PH_SHIP_TEXT = 1, PH_SHIP_STREAMS = 2 } ph_ship_stream_t;

/*  Creates the shipper on agent->loop with the spool in
 *  state_dir/spool and takes up what an earlier run left there (resent once
 *  a logshipper is known, then TranscriptComplete). Blocks on the disk at
 *  start-up. Returns NULL with the reason logged. */
ph_ship_t *ph_ship_new (ph_agent_t *agent, const char *state_dir, uint64_t spool_max_bytes);

/*  Cuts what is pending into the spool (so a restart resends it), closes
 *  the DEALERs and frees everything. */
void ph_ship_destroy (ph_ship_t **self_p);

/*  From HelloReply: the live logshippers (DEALERs opened and closed to
 *  match) and the log preferences; resends TranscriptComplete for the
 *  sessions whose transcripts are complete. */
void ph_ship_configure (ph_ship_t *self, const Porthole__V1__HelloReply *reply);

/*  True when a new session should be recorded (a logshipper is known). */
bool ph_ship_recording (const ph_ship_t *self);

/*  True when the spool has room: sessions read their output only then. */
bool ph_ship_has_room (const ph_ship_t *self);

/*  The log preferences of one session (OpenSession.log_prefs). */
typedef struct {
    const char *log_group;
    bool streaming, encrypt, log_input;
} ph_ship_prefs_t;

/*  Starts the transcript of session sid with prefs (borrowed; NULL: the
 *  log preferences of the last HelloReply). The transcript belongs to the
 *  shipper; the caller holds a borrowed pointer until
 *  ph_ship_transcript_end. Returns NULL when out of memory. */
ph_transcript_t *ph_ship_transcript_new (ph_ship_t *self, const char *sid,
                                         const ph_ship_prefs_t *prefs);

/*  Whether the session asked for its input ("i" events) to be recorded. */
bool ph_transcript_log_input (const ph_transcript_t *t);

/*  Appends one event (len bytes of valid UTF-8, at most PH_SHIP_EVENT_MAX)
 *  to stream which of the transcript, stamped with the wall clock (never
 *  before the previous event of that stream). */
void ph_ship_append (ph_transcript_t *t, ph_ship_stream_t which, const char *msg, size_t len);

/*  The session's process has ended and its SessionEnded was sent: cut what
 *  is pending and wait until the spool has it on disk (blocks on one sync,
 *  once per session); once every batch is acknowledged the shipper sends
 *  TranscriptComplete. The caller lets go of t. */
void ph_ship_transcript_end (ph_transcript_t *t);

/*  Sends TranscriptComplete{sid} to the controller. */
void ph_ship_send_complete (ph_agent_t *agent, const char *sid);

/* ---- agent_ship_net.c (used by agent_ship.c) ----------------------------- */

typedef struct _ph_shippers_t ph_shippers_t;

/*  Called for each PutLogEventsReply (error == NULL) or Error (reply ==
 *  NULL) that a logshipper sent. */
typedef void (ph_shippers_reply_fn) (void *arg, uint64_t request_id, const char *batch_id,
                                     const Porthole__V1__Error *error);

ph_shippers_t *ph_shippers_new (zloop_t *loop, ph_shippers_reply_fn *on_reply, void *arg);
void ph_shippers_destroy (ph_shippers_t **self_p);

/*  Makes the set of DEALERs match the list (connect only, ZMQ_IMMEDIATE,
 *  CURVE with the agent's keypair). */
void ph_shippers_update (ph_shippers_t *self, const ph_keypair_t *kp,
                         Porthole__V1__LogshipperInfo **list, size_t n);

/*  Number of known logshippers. */
size_t ph_shippers_count (const ph_shippers_t *self);

/*  Sends len bytes (an encoded Envelope) to logshipper number index modulo
 *  the count, without blocking. Returns 0, or PH_EIO when it could not be
 *  queued (not connected, none known). */
int ph_shippers_send (ph_shippers_t *self, size_t index, const void *data, size_t len);

/* ---- agent_cast.c -------------------------------------------------------- */

typedef struct _ph_cast_t ph_cast_t;

/*  Starts recording into t: the asciicast header (cols x rows) for a
 *  shell, or {"command": ...} for a command. Returns NULL when out of
 *  memory. */
ph_cast_t *ph_cast_new (ph_transcript_t *t, bool interactive, unsigned cols, unsigned rows,
                        const char *command, bool log_input);
void ph_cast_destroy (ph_cast_t **self_p);

/*  len bytes of the program's output (stderr: a command's stderr). An
 *  incomplete UTF-8 sequence at the end is carried into the next call. */
void ph_cast_output (ph_cast_t *self, bool stderr_, const uint8_t *data, size_t len);

/*  Input typed by the user ("i" events, only when log_input is on). */
void ph_cast_input (ph_cast_t *self, const uint8_t *data, size_t len);

/*  A window size change ("r" event). */
void ph_cast_resize (ph_cast_t *self, unsigned cols, unsigned rows);

/*  The program ended with exit_code: flushes carried bytes and partial
 *  lines, records the exit code of a command and ends the transcript
 *  (ph_ship_transcript_end). Later calls do nothing. */
void ph_cast_end (ph_cast_t *self, int exit_code);

/*  Appends the JSON string escape of len bytes at p (without quotes) to
 *  buf, replacing invalid UTF-8 with U+FFFD. Returns 0 or PH_ENOMEM. Used
 *  by the unit tests too. */
int ph_cast_json_escape (zchunk_t *buf, const uint8_t *p, size_t len);

/*  The length of the longest prefix of len bytes at p that does not end
 *  inside an incomplete (but so far valid) UTF-8 sequence. */
size_t ph_cast_utf8_complete (const uint8_t *p, size_t len);

#endif
