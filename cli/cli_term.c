/*  cli_term: see cli_term.h.
 *
 *  Static state: signal handlers can reach nothing else, so the write end
 *  of the self-pipe lives in a volatile sig_atomic_t, and the terminal
 *  settings to restore on a fatal signal in one static struct (written
 *  only while no handler can use it: before the raw-mode flag is set). */
#include "cli_term.h"
#include "ph_errors.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

static volatile sig_atomic_t s_pipe_wr = -1;
static volatile sig_atomic_t s_raw_active = 0;
static struct termios s_saved_tio;

static const int s_loop_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGWINCH};
static const int s_fatal_signals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
#define CLI_NLOOP  (sizeof s_loop_signals / sizeof s_loop_signals[0])
#define CLI_NFATAL (sizeof s_fatal_signals / sizeof s_fatal_signals[0])

struct _cli_term_t {
    int pipe_rd;
    struct sigaction old_loop[CLI_NLOOP];
    struct sigaction old_fatal[CLI_NFATAL];
    struct sigaction old_pipe;
};

static void s_on_signal (int sig)
{
    int saved = errno;
    unsigned char b = (unsigned char)sig;
    if (s_pipe_wr >= 0 && write (s_pipe_wr, &b, 1) < 0) {
        /* the pipe is full: the loop has plenty to read already */
    }
    errno = saved;
}

static void s_on_fatal (int sig)
{
    if (s_raw_active)
        tcsetattr (STDIN_FILENO, TCSANOW, &s_saved_tio);
    signal (sig, SIG_DFL);
    raise (sig);
}

static void s_install (int sig, void (*fn) (int), struct sigaction *old)
{
    struct sigaction sa;
    memset (&sa, 0, sizeof sa);
    sa.sa_handler = fn;
    sigemptyset (&sa.sa_mask);
    sa.sa_flags = fn == s_on_signal ? SA_RESTART : 0;
    sigaction (sig, &sa, old);
}

cli_term_t *cli_term_new (void)
{
    int fds[2];
    if (s_pipe_wr >= 0 || pipe2 (fds, O_CLOEXEC | O_NONBLOCK) != 0)
        return NULL;
    cli_term_t *self = calloc (1, sizeof *self);
    if (!self) {
        close (fds[0]);
        close (fds[1]);
        return NULL;
    }
    self->pipe_rd = fds[0];
    s_pipe_wr = fds[1];
    for (size_t i = 0; i < CLI_NLOOP; i++)
        s_install (s_loop_signals[i], s_on_signal, &self->old_loop[i]);
    for (size_t i = 0; i < CLI_NFATAL; i++)
        s_install (s_fatal_signals[i], s_on_fatal, &self->old_fatal[i]);
    s_install (SIGPIPE, SIG_IGN, &self->old_pipe);
    return self;
}

void cli_term_destroy (cli_term_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    cli_term_t *self = *self_p;
    cli_term_restore (self);
    for (size_t i = 0; i < CLI_NLOOP; i++)
        sigaction (s_loop_signals[i], &self->old_loop[i], NULL);
    for (size_t i = 0; i < CLI_NFATAL; i++)
        sigaction (s_fatal_signals[i], &self->old_fatal[i], NULL);
    sigaction (SIGPIPE, &self->old_pipe, NULL);
    int wr = s_pipe_wr;
    s_pipe_wr = -1;
    close (wr);
    close (self->pipe_rd);
    free (self);
    *self_p = NULL;
}

int cli_term_raw (cli_term_t *self)
{
    (void)self;
    if (s_raw_active || !isatty (STDIN_FILENO))
        return 0;
    struct termios raw;
    if (tcgetattr (STDIN_FILENO, &s_saved_tio) != 0)
        return PH_EIO;
    raw = s_saved_tio;
    cfmakeraw (&raw);
    s_raw_active = 1;
    if (tcsetattr (STDIN_FILENO, TCSADRAIN, &raw) != 0) {
        s_raw_active = 0;
        return PH_EIO;
    }
    return 0;
}

void cli_term_restore (cli_term_t *self)
{
    (void)self;
    if (!s_raw_active)
        return;
    tcsetattr (STDIN_FILENO, TCSADRAIN, &s_saved_tio);
    s_raw_active = 0;
}

bool cli_term_is_raw (const cli_term_t *self)
{
    (void)self;
    return s_raw_active != 0;
}

int cli_term_signal_fd (const cli_term_t *self)
{
    return self->pipe_rd;
}

int cli_term_next_signal (cli_term_t *self)
{
    unsigned char b;
    return read (self->pipe_rd, &b, 1) == 1 ? b : 0;
}

void cli_term_size (unsigned *cols, unsigned *rows)
{
    struct winsize ws;
    *cols = CLI_TERM_COLS_DEFAULT;
    *rows = CLI_TERM_ROWS_DEFAULT;
    if (isatty (STDIN_FILENO) && ioctl (STDIN_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col &&
        ws.ws_row) {
        *cols = ws.ws_col;
        *rows = ws.ws_row;
    }
}

void cli_term_say (const cli_term_t *self, const char *fmt, ...)
{
    char text[2048];
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (text, sizeof text, fmt, ap);
    va_end (ap);
    bool raw = self && cli_term_is_raw (self);
    fprintf (stderr, "%sporthole: %s%s", raw ? "\r\n" : "", text, raw ? "\r\n" : "\n");
    fflush (stderr);
}

/* ---- escape filter ------------------------------------------------------ */

void cli_escape_init (cli_escape_t *esc)
{
    esc->line_start = true;
    esc->tilde = false;
}

size_t cli_escape_filter (cli_escape_t *esc, const char *in, size_t len, char *out, bool *detach)
{
    size_t n = 0;
    *detach = false;
    for (size_t i = 0; i < len; i++) {
        char c = in[i];
        if (esc->tilde) {
            esc->tilde = false;
            if (c == '.') {
                *detach = true;
                return n;
            }
            out[n++] = '~';
            if (c == '~') {
                esc->line_start = false;
                continue;
            }
        } else if (esc->line_start && c == '~') {
            esc->tilde = true;
            esc->line_start = false;
            continue;
        }
        out[n++] = c;
        esc->line_start = c == '\r' || c == '\n';
    }
    return n;
}
