/*  agent_spool_disk.h: the disk side of the transcript spool, used only
 *  by agent_spool.c (the reactor side, the public ph_spool_* API of
 *  agent_log.h) and by the unit tests.
 *
 *  Two parts:
 *  - the record format of the segment files (pure functions, any thread):
 *    a record is a 16-byte header, all fields little-endian -- magic
 *    "PSB1", batch number, data length, a checksum of the three and the
 *    data -- followed by the data (one serialized Envelope{PutLogEvents});
 *  - the actor that owns the files and their tables (ph_spool_disk_t):
 *    built empty, filled by the start-up scan with the segments found on
 *    disk (ph_spool_disk_found), then started; from then on the tables
 *    belong to the actor's thread and the reactor only talks to it by
 *    message (write, ack, forget, flush; reports back).
 */
#ifndef PH_AGENT_SPOOL_DISK_H
#define PH_AGENT_SPOOL_DISK_H

#include "agent_log.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PH_SPOOL_PATH_MAX    4096
#define PH_SPOOL_SID_MAX     256
#define PH_SPOOL_BATCH_MAX   (2 * 1024 * 1024)  /* a record bigger than this is not ours */
#define PH_SPOOL_SEGMENT_MAX (16 * 1024 * 1024) /* a segment is closed past this */
#define PH_SPOOL_SUFFIX      ".batch"
#define PH_SPOOL_MAGIC       0x31425350u /* "PSB1" little-endian */
#define PH_SPOOL_HEADER      16

/* ---- records and names ----------------------------------------------------- */

/*  Writes the PH_SPOOL_HEADER bytes at h that precede len bytes of data as
 *  the record of batch n. */
void ph_spool_disk_header (uint8_t *h, uint32_t n, const uint8_t *data, uint32_t len);

/*  True when the header at h (PH_SPOOL_HEADER bytes) has the magic, batch
 *  number n and length len; the checksum is not looked at (the caller
 *  does not hold the data, or it was checked when written or read back). */
bool ph_spool_disk_header_is (const uint8_t *h, uint32_t n, uint32_t len);

/*  True when len bytes at buf start with the record magic: a segment file;
 *  else a batch of the earlier one-file-per-batch spool. */
bool ph_spool_disk_is_segment (const uint8_t *buf, size_t len);

/*  True when a whole record whose checksum matches starts at off of the
 *  len bytes at buf; *n and *data_len are then its batch number and data
 *  length (the data follows at off + PH_SPOOL_HEADER). False for a record
 *  cut short or damaged: the tail a crash cut off. */
bool ph_spool_disk_record_at (const uint8_t *buf, size_t len, size_t off, uint32_t *n,
                              uint32_t *data_len);

/*  True when sid may name a session directory (not empty, no "/", no
 *  leading dot, shorter than PH_SPOOL_SID_MAX). */
bool ph_spool_disk_sid_ok (const char *sid);

/*  True when name is a segment file name (NNNNNNNN.batch, a 32-bit number);
 *  *id is then that number. */
bool ph_spool_disk_segment_name (const char *name, uint32_t *id);

/*  Writes the path of segment id of session sid under dir into buf
 *  (PH_SPOOL_PATH_MAX bytes). */
void ph_spool_disk_segment_path (char *buf, const char *dir, const char *sid, uint32_t id);

/* ---- the actor --------------------------------------------------------------- */

typedef struct _ph_spool_disk_t ph_spool_disk_t;

typedef enum {
    PH_SPOOL_DISK_DURABLE, /* batch n of sid synced (ok) or lost (!ok) */
    PH_SPOOL_DISK_FLUSHED, /* answer to ph_spool_disk_flush */
    PH_SPOOL_DISK_OTHER,   /* not ours: ignore */
} ph_spool_disk_kind_t;

/*  One report of the actor. sid and data are the receiver's (freed by
 *  ph_spool_disk_report_clear); data is the buffer given to
 *  ph_spool_disk_write. seg is the segment the record went to, off the
 *  offset of its header, len the length of its data. */
typedef struct {
    ph_spool_disk_kind_t kind;
    char *sid;
    uint32_t n, seg;
    uint64_t off, len;
    uint8_t *data;
    bool ok;
} ph_spool_disk_report_t;

/*  Empty tables for the spool directory dir (which exists); the actor is
 *  not started yet. Returns NULL when out of memory. */
ph_spool_disk_t *ph_spool_disk_new (const char *dir);

/*  Stops the actor if started (what it wrote this round is synced first,
 *  reports not yet taken are dropped with their buffers) and frees
 *  everything. Blocks on the disk. */
void ph_spool_disk_destroy (ph_spool_disk_t **self_p);

/*  Start-up, before ph_spool_disk_start: segment id of session sid is on
 *  disk. It takes no more appends; the actor deletes it once as many ACKs
 *  came for it as it holds records (ph_spool_disk_found_counts; none until
 *  then). Returns 0 or PH_ENOMEM. */
int ph_spool_disk_found (ph_spool_disk_t *self, const char *sid, uint32_t id);

/*  Start-up: the segment of sid registered last holds `records` whole
 *  records in its first size bytes. */
void ph_spool_disk_found_counts (ph_spool_disk_t *self, const char *sid, uint32_t records,
                                 uint64_t size);

/*  Start-up: takes back the segment of sid registered last (nothing whole
 *  was in it and the caller deleted the file), and the session when it
 *  has no segment left. */
void ph_spool_disk_drop_found (ph_spool_disk_t *self, const char *sid);

/*  Starts the actor, which takes the tables over. Returns 0 or PH_EIO. */
int ph_spool_disk_start (ph_spool_disk_t *self);

/*  The actor's pipe, for zloop_reader: readable when a report waits. */
zsock_t *ph_spool_disk_pipe (ph_spool_disk_t *self);

/*  True when a report waits (ph_spool_disk_recv would not block). */
bool ph_spool_disk_ready (ph_spool_disk_t *self);

/*  Hands batch n (stream < PH_SHIP_STREAMS) of session sid, len bytes at
 *  *data_p, to the actor: it appends the record and reports DURABLE once
 *  it is synced, or !ok when it could not be written (logged). Takes the
 *  buffer (*data_p set to NULL) until the report gives it back. Never
 *  blocks. Returns 0, or PH_EIO with *data_p still the caller's. */
int ph_spool_disk_write (ph_spool_disk_t *self, const char *sid, uint32_t n, unsigned stream,
                         uint8_t **data_p, uint64_t len);

/*  Batch n of session sid, in segment seg, was acknowledged: the segment
 *  is emptied (the one its stream appends to) or deleted (a closed one)
 *  once all its batches are. Never blocks. Returns 0 or PH_EIO. */
int ph_spool_disk_ack (ph_spool_disk_t *self, const char *sid, uint32_t n, uint32_t seg);

/*  The transcript of sid is complete: its segments are closed (deleted
 *  when nothing in them waits) and its directory removed when empty.
 *  Never blocks. Returns 0 or PH_EIO. */
int ph_spool_disk_forget (ph_spool_disk_t *self, const char *sid);

/*  Asks the actor to sync now and report everything written so far, then
 *  FLUSHED (ph_spool_disk_recv until it comes). Returns 0 or PH_EIO. */
int ph_spool_disk_flush (ph_spool_disk_t *self);

/*  Receives one report (blocks until there is one). Returns 0 or PH_EIO;
 *  after 0 the caller clears *report. */
int ph_spool_disk_recv (ph_spool_disk_t *self, ph_spool_disk_report_t *report);

/*  Frees the sid and data of a report (data may have been taken: NULL). */
void ph_spool_disk_report_clear (ph_spool_disk_report_t *report);

#endif
