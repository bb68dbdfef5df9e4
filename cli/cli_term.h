/*  cli_term: the local terminal and signals of a session.
 *
 *  - Raw mode (cfmakeraw on a copy of the settings) only when stdin is a
 *    tty; the saved settings come back on every exit path: cli_term_restore,
 *    cli_term_destroy, and fatal signals (SIGSEGV, SIGABRT, ...), whose
 *    handler restores the terminal before the signal takes its course.
 *  - SIGINT, SIGTERM, SIGHUP, SIGQUIT and SIGWINCH are turned into bytes on
 *    a self-pipe that the session's poll loop watches
 *    (cli_term_signal_fd, cli_term_next_signal).
 *  - The escape filter: "~." at the beginning of a line detaches, "~~"
 *    sends one '~', any other "~x" sends both characters.
 */
#ifndef CLI_TERM_H
#define CLI_TERM_H

#include <stdbool.h>
#include <stddef.h>

#define CLI_TERM_COLS_DEFAULT 80
#define CLI_TERM_ROWS_DEFAULT 24

typedef struct _cli_term_t cli_term_t;

/*  Installs the signal handlers and the self-pipe. Returns NULL when the
 *  pipe cannot be made. Only one may exist at a time. */
cli_term_t *cli_term_new (void);

/*  Restores the terminal and the previous signal dispositions. */
void cli_term_destroy (cli_term_t **self_p);

/*  Puts stdin in raw mode when it is a tty. Returns 0 or PH_EIO. */
int cli_term_raw (cli_term_t *self);

/*  Restores the saved terminal settings (no-op when not raw). */
void cli_term_restore (cli_term_t *self);

bool cli_term_is_raw (const cli_term_t *self);

/*  The read end of the self-pipe, to poll for POLLIN. */
int cli_term_signal_fd (const cli_term_t *self);

/*  The next signal number waiting in the self-pipe, or 0 when none. */
int cli_term_next_signal (cli_term_t *self);

/*  The window size of stdin's terminal, or 80x24 when it is not one. */
void cli_term_size (unsigned *cols, unsigned *rows);

/*  Prints "porthole: MESSAGE" on stderr, with "\r\n" line ends while the
 *  terminal is raw (no output processing then). */
void cli_term_say (const cli_term_t *self, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));

/* ---- escape filter ------------------------------------------------------ */

typedef struct {
    bool line_start; /* the next byte begins a line */
    bool tilde;      /* a '~' at the beginning of a line is pending */
} cli_escape_t;

void cli_escape_init (cli_escape_t *esc);

/*  Filters len bytes of in into out (which holds len + 1 bytes: a pending
 *  '~' may come out). Returns the bytes written to out; sets *detach and
 *  stops at "~." (the bytes before it are in out). */
size_t cli_escape_filter (cli_escape_t *esc, const char *in, size_t len, char *out, bool *detach);

#endif
