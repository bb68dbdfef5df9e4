/*  cli_outq: what the session received for stdout and stderr and could not
 *  write yet, in order. Writes never block the session loop: a terminal
 *  that is not read (or a slow pipe) leaves data here, the session tells
 *  the stream how much it holds (ph_stream_set_held), and the agent's
 *  credit shrinks until the terminal reads again. Meanwhile stdin is still
 *  read, so "~." and Ctrl-C get through.
 *
 *  The queue is bounded by the stream window: the agent never has more
 *  than our credit in flight.
 */
#ifndef CLI_OUTQ_H
#define CLI_OUTQ_H

#include <stdbool.h>
#include <stddef.h>

typedef struct _cli_outq_t cli_outq_t;

cli_outq_t *cli_outq_new (void);
void cli_outq_destroy (cli_outq_t **self_p);

/*  Queues a copy of len bytes for fd. Returns 0 or PH_ENOMEM. */
int cli_outq_push (cli_outq_t *self, int fd, const void *data, size_t len);

/*  Writes what it can without blocking. Returns 0, or -errno when an fd
 *  failed for good (EPIPE ...): its data is dropped and *failed_fd names
 *  it. */
int cli_outq_flush (cli_outq_t *self, int *failed_fd);

/*  Like cli_outq_flush but waits, at most timeout_ms in all, for the
 *  terminal to take the rest (used before exiting). */
void cli_outq_drain (cli_outq_t *self, int timeout_ms);

/*  Bytes queued. */
size_t cli_outq_bytes (const cli_outq_t *self);

/*  The fd to poll for POLLOUT, or -1 when the queue is empty. */
int cli_outq_wait_fd (const cli_outq_t *self);

#endif
