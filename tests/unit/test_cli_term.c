/*  Unit tests of cli/cli_term.c: the "~." / "~~" / "~x" escape filter at
 *  line starts, across buffer boundaries and byte by byte; the signal
 *  self-pipe; raw mode, window size and "\r\n" messages on a real PTY
 *  standing in for stdin; and the terminal restored when a fatal signal
 *  kills the process. */
#include "cli_term.h"
#include "ph_errors.h"
#include "ph_test.h"
#include "ph_util.h"

#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

/* ---- escape filter -------------------------------------------------------- */

typedef struct {
    char out[4096];
    size_t len;
    bool detached;
} filtered_t;

/*  Feeds the chunks (NULL-terminated) to one filter, as reads would. */
static void s_filter (filtered_t *r, const char *const *chunks)
{
    cli_escape_t esc;
    cli_escape_init (&esc);
    memset (r, 0, sizeof *r);
    for (size_t i = 0; chunks[i] && !r->detached; i++) {
        size_t n = strlen (chunks[i]);
        r->len += cli_escape_filter (&esc, chunks[i], n, r->out + r->len, &r->detached);
    }
    r->out[r->len] = 0;
}

#define CHUNKS(...) ((const char *const[]){__VA_ARGS__, NULL})

static void s_expect (const char *const *chunks, const char *want, bool detach)
{
    filtered_t r;
    s_filter (&r, chunks);
    if (strcmp (r.out, want) != 0 || r.detached != detach) {
        fprintf (stderr, "escape filter: got '%s' detach=%d, want '%s' detach=%d\n", r.out,
                 r.detached, want, detach);
        CHECK (false);
    } else
        CHECK (true);
}

static void test_escape (void)
{
    s_expect (CHUNKS ("~."), "", true);
    s_expect (CHUNKS ("ls\r~."), "ls\r", true);
    s_expect (CHUNKS ("ls\n~.rest"), "ls\n", true);
    s_expect (CHUNKS ("a~."), "a~.", false);
    s_expect (CHUNKS ("~~"), "~", false);
    s_expect (CHUNKS ("~~."), "~.", false);
    s_expect (CHUNKS ("~~~."), "~~.", false);
    s_expect (CHUNKS ("~x"), "~x", false);
    s_expect (CHUNKS ("~\r~."), "~\r", true);
    s_expect (CHUNKS ("\r\r~."), "\r\r", true);
    s_expect (CHUNKS ("x\r~~\r~."), "x\r~\r", true);
    s_expect (CHUNKS ("echo a~.b\r"), "echo a~.b\r", false);
    /* across reads */
    s_expect (CHUNKS ("abc\r~", "."), "abc\r", true);
    s_expect (CHUNKS ("abc\r", "~", ".", "more"), "abc\r", true);
    s_expect (CHUNKS ("\n~", "x"), "\n~x", false);
    s_expect (CHUNKS ("~", "~"), "~", false);
    s_expect (CHUNKS ("~", "~", "."), "~.", false);
    s_expect (CHUNKS ("abc", "~."), "abc~.", false);
    s_expect (CHUNKS ("abc\r", "~."), "abc\r", true);

    /* a pending '~' comes out with the next byte: out needs len + 1 */
    cli_escape_t esc;
    cli_escape_init (&esc);
    char out[3];
    bool detach;
    CHECK (cli_escape_filter (&esc, "~", 1, out, &detach) == 0 && !detach);
    CHECK (esc.tilde);
    CHECK (cli_escape_filter (&esc, "y", 1, out, &detach) == 2 && !detach);
    CHECK (out[0] == '~' && out[1] == 'y');
    /* the detach flag is cleared on every call */
    detach = true;
    CHECK (cli_escape_filter (&esc, "z", 1, out, &detach) == 1 && !detach);
}

/*  The same input gives the same output whole or one byte at a time. */
static void test_escape_byte_by_byte (void)
{
    static const char text[] = "ls -l\r~~home\n~x~\r\r~~~\rcat a~.b\n~?\r~\n~~.\rend";
    cli_escape_t whole, bytes;
    cli_escape_init (&whole);
    cli_escape_init (&bytes);
    char a[256], b[256];
    bool detach;
    size_t na = cli_escape_filter (&whole, text, strlen (text), a, &detach);
    CHECK (!detach);
    size_t nb = 0;
    for (size_t i = 0; i < strlen (text); i++) {
        nb += cli_escape_filter (&bytes, text + i, 1, b + nb, &detach);
        CHECK (!detach);
    }
    CHECK (na == nb && memcmp (a, b, na) == 0);
    a[na] = 0;
    CHECK_STR (a, "ls -l\r~home\n~x~\r\r~~\rcat a~.b\n~?\r~\n~.\rend");
}

/* ---- signals ---------------------------------------------------------------- */

/*  Waits up to 2 s for the self-pipe to be readable. */
static bool s_wait_readable (int fd)
{
    struct pollfd p = {fd, POLLIN, 0};
    return poll (&p, 1, 2000) == 1;
}

static void test_signals (void)
{
    struct sigaction before;
    sigaction (SIGINT, NULL, &before);
    cli_term_t *term = cli_term_new ();
    CHECK (term != NULL);
    if (!term)
        return;
    CHECK (cli_term_new () == NULL); /* one at a time */
    CHECK (cli_term_next_signal (term) == 0);

    raise (SIGWINCH);
    raise (SIGINT); /* turned into a byte, not a death */
    raise (SIGTERM);
    CHECK (s_wait_readable (cli_term_signal_fd (term)));
    CHECK (cli_term_next_signal (term) == SIGWINCH);
    CHECK (cli_term_next_signal (term) == SIGINT);
    CHECK (cli_term_next_signal (term) == SIGTERM);
    CHECK (cli_term_next_signal (term) == 0);

    struct sigaction now;
    sigaction (SIGPIPE, NULL, &now);
    CHECK (now.sa_handler == SIG_IGN);

    cli_term_destroy (&term);
    CHECK (term == NULL);
    cli_term_destroy (&term); /* NULL is fine */
    sigaction (SIGINT, NULL, &now);
    CHECK (now.sa_handler == before.sa_handler);
    sigaction (SIGPIPE, NULL, &now);
    CHECK (now.sa_handler == SIG_DFL);

    /* after destroy a new one may be made */
    term = cli_term_new ();
    CHECK (term != NULL);
    cli_term_destroy (&term);
}

/* ---- the terminal ------------------------------------------------------------ */

/*  Captures what fn writes to stderr into buf. */
static void s_capture_stderr (void (*fn) (void *), void *arg, char *buf, size_t len)
{
    char path[] = "/tmp/ph-test-cli-term-XXXXXX";
    int fd = mkstemp (path);
    int saved = dup (STDERR_FILENO);
    fflush (stderr);
    dup2 (fd, STDERR_FILENO);
    fn (arg);
    fflush (stderr);
    dup2 (saved, STDERR_FILENO);
    close (saved);
    ssize_t n = pread (fd, buf, len - 1, 0);
    buf[n > 0 ? n : 0] = 0;
    close (fd);
    unlink (path);
}

static void s_say (void *arg)
{
    cli_term_say (arg, "session %s ended", "x");
}

static bool s_canonical (int fd)
{
    struct termios t;
    return tcgetattr (fd, &t) == 0 && (t.c_lflag & ICANON) && (t.c_lflag & ECHO);
}

static void test_not_a_tty (void)
{
    int saved = dup (STDIN_FILENO);
    int null = open ("/dev/null", O_RDONLY);
    dup2 (null, STDIN_FILENO);
    close (null);
    unsigned cols = 1, rows = 1;
    cli_term_size (&cols, &rows);
    CHECK (cols == CLI_TERM_COLS_DEFAULT && rows == CLI_TERM_ROWS_DEFAULT);
    cli_term_t *term = cli_term_new ();
    CHECK (term && cli_term_raw (term) == 0 && !cli_term_is_raw (term));
    char out[256];
    s_capture_stderr (s_say, term, out, sizeof out);
    CHECK_STR (out, "porthole: session x ended\n");
    s_capture_stderr (s_say, NULL, out, sizeof out);
    CHECK_STR (out, "porthole: session x ended\n");
    cli_term_destroy (&term);
    dup2 (saved, STDIN_FILENO);
    close (saved);
}

static void test_pty (void)
{
    int master, slave;
    struct winsize ws = {.ws_row = 30, .ws_col = 100};
    if (openpty (&master, &slave, NULL, NULL, &ws) != 0) {
        fprintf (stderr, "openpty failed; raw-mode checks skipped\n");
        return;
    }
    int saved = dup (STDIN_FILENO);
    dup2 (slave, STDIN_FILENO);
    unsigned cols, rows;
    cli_term_size (&cols, &rows);
    CHECK (cols == 100 && rows == 30);

    cli_term_t *term = cli_term_new ();
    CHECK (s_canonical (slave));
    CHECK (cli_term_raw (term) == 0 && cli_term_is_raw (term));
    CHECK (!s_canonical (slave));
    CHECK (cli_term_raw (term) == 0 && cli_term_is_raw (term)); /* twice is fine */
    char out[256];
    s_capture_stderr (s_say, term, out, sizeof out);
    CHECK_STR (out, "\r\nporthole: session x ended\r\n");
    cli_term_restore (term);
    CHECK (!cli_term_is_raw (term) && s_canonical (slave));
    cli_term_restore (term); /* no-op */
    CHECK (cli_term_raw (term) == 0 && !s_canonical (slave));
    cli_term_destroy (&term); /* restores too */
    CHECK (s_canonical (slave));

    /* a fatal signal restores the terminal before the process dies */
    fflush (NULL);
    pid_t pid = fork ();
    if (pid == 0) {
        cli_term_t *t = cli_term_new ();
        if (!t || cli_term_raw (t) != 0 || s_canonical (STDIN_FILENO))
            _exit (3);
        raise (SIGABRT);
        _exit (4);
    }
    int status = 0;
    waitpid (pid, &status, 0);
    CHECK (WIFSIGNALED (status) && WTERMSIG (status) == SIGABRT);
    CHECK (s_canonical (slave));

    dup2 (saved, STDIN_FILENO);
    close (saved);
    close (slave);
    close (master);
}

int main (void)
{
    test_escape ();
    test_escape_byte_by_byte ();
    test_signals ();
    test_not_a_tty ();
    test_pty ();
    PH_TEST_END ();
}
