/*  Unit tests of agent/agent_pty.c with real processes. The process first
 *  takes the agent's signal set-up (ph_agent_signals_block), as the daemon
 *  does, so the children must undo it.
 *   - a command as `nobody` through pipes: uid and gid dropped, the clean
 *     environment (TERM, HOME, USER, LOGNAME, SHELL, PATH, LANG and
 *     nothing else of ours), no signal blocked or ignored, no fd leaked,
 *     stdin/stdout/stderr separate, the exit status, its own session;
 *   - an interactive login shell on a PTY as porthole-user: window size
 *     from the spec and after TIOCSWINSZ, TERM, uid, exit status;
 *   - refusals reported through the status pipe before exec: root, an
 *     unknown user; and ph_pty_user_acceptable.
 *  Needs root for the privilege drop; without it only the refusal paths
 *  run. Every wait has a deadline. */
#include "agent.h"
#include "agent_pty.h"
#include "ph_test.h"
#include "ph_util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#define WAIT_MS 15000

/* ---- helpers ------------------------------------------------------------- */

/*  Appends what fd has until EOF (or EIO from a PTY) or until stop appears
 *  in buf past offset from, at most WAIT_MS. Returns true at EOF. */
static bool s_read_until_from (int fd, char *buf, size_t cap, size_t *len, size_t from,
                               const char *stop)
{
    uint64_t deadline = ph_mono_ms () + WAIT_MS;
    for (;;) {
        buf[*len] = 0;
        if (stop && strstr (buf + from, stop))
            return false;
        uint64_t now = ph_mono_ms ();
        if (now >= deadline) {
            fprintf (stderr, "timed out reading fd %d; have '%s'\n", fd, buf);
            return false;
        }
        struct pollfd p = {fd, POLLIN, 0};
        poll (&p, 1, (int)(deadline - now));
        ssize_t n = read (fd, buf + *len, cap - 1 - *len);
        if (n > 0)
            *len += (size_t)n;
        else if (n == 0 || (errno != EAGAIN && errno != EINTR))
            return true;
        if (*len == cap - 1)
            return false;
    }
}

static bool s_read_until (int fd, char *buf, size_t cap, size_t *len, const char *stop)
{
    return s_read_until_from (fd, buf, cap, len, 0, stop);
}

/*  Waits for pid to exit (deadline WAIT_MS); returns its wait status or -1. */
static int s_wait_exit (pid_t pid)
{
    uint64_t deadline = ph_mono_ms () + WAIT_MS;
    int status;
    while (ph_mono_ms () < deadline) {
        pid_t r = waitpid (pid, &status, WNOHANG);
        if (r == pid)
            return status;
        if (r < 0)
            return -1;
        struct timespec ts = {0, 5 * 1000000L};
        nanosleep (&ts, NULL);
    }
    kill (pid, SIGKILL);
    waitpid (pid, &status, 0);
    fprintf (stderr, "pid %d did not exit in time\n", (int)pid);
    return -1;
}

/*  The status pipe's text up to EOF ("" when the program runs). */
static void s_status_text (ph_pty_child_t *c, char *buf, size_t cap)
{
    size_t len = 0;
    CHECK (s_read_until (c->status_fd, buf, cap, &len, NULL));
    close (c->status_fd);
    c->status_fd = -1;
}

static bool s_nonblocking_cloexec (int fd)
{
    return fd >= 0 && (fcntl (fd, F_GETFL) & O_NONBLOCK) && (fcntl (fd, F_GETFD) & FD_CLOEXEC);
}

static void s_close (int *fd)
{
    if (*fd >= 0)
        close (*fd);
    *fd = -1;
}

static void s_expect_in (const char *what, const char *text, const char *want)
{
    if (!strstr (text, want)) {
        fprintf (stderr, "%s: '%s' lacks '%s'\n", what, text, want);
        CHECK (false);
    } else
        CHECK (true);
}

/* ---- tests ----------------------------------------------------------------- */

static void test_acceptable (void)
{
    CHECK (ph_pty_user_acceptable ("nobody"));
    CHECK (ph_pty_user_acceptable ("porthole-user"));
    CHECK (ph_pty_user_acceptable ("a.b@c_d-e"));
    CHECK (ph_pty_user_acceptable ("abcdefghijklmnopqrstuvwxyz012345")); /* 32 */
    CHECK (!ph_pty_user_acceptable ("abcdefghijklmnopqrstuvwxyz0123456"));
    CHECK (!ph_pty_user_acceptable ("root"));
    CHECK (!ph_pty_user_acceptable (""));
    CHECK (!ph_pty_user_acceptable ("-oops"));
    CHECK (!ph_pty_user_acceptable ("a b"));
    CHECK (!ph_pty_user_acceptable ("a/b"));
    CHECK (!ph_pty_user_acceptable ("a:b"));
}

static void test_command_as_nobody (void)
{
    struct passwd *pw = getpwnam ("nobody");
    if (!pw) {
        fprintf (stderr, "no user nobody; command checks skipped\n");
        return;
    }
    uid_t uid = pw->pw_uid;
    gid_t gid = pw->pw_gid;
    int leak = open ("/dev/null", O_RDONLY); /* not close-on-exec */
    char command[1024];
    snprintf (command, sizeof command,
              "echo uid=$(id -u) gid=$(id -g); env | sort; grep -E '^Sig(Blk|Ign)' "
              "/proc/self/status; test -e /proc/$$/fd/%d && echo fd-leaked || echo fd-clean; "
              "echo cwd=$(pwd); echo sid=$(cut -d' ' -f6 /proc/$$/stat) pid=$$; echo to-stderr "
              ">&2; cat; exit 3",
              leak);
    ph_pty_spec_t spec = {.user = "nobody", .interactive = false, .command = command};
    ph_pty_child_t c;
    char err[256] = "";
    CHECK (ph_pty_spawn (&spec, &c, err, sizeof err) == 0);
    close (leak);
    CHECK (c.pid > 0 && c.master == -1);
    CHECK (s_nonblocking_cloexec (c.in_fd) && s_nonblocking_cloexec (c.out_fd) &&
           s_nonblocking_cloexec (c.err_fd) && s_nonblocking_cloexec (c.status_fd));
    char status[512];
    s_status_text (&c, status, sizeof status);
    CHECK_STR (status, ""); /* exec succeeded */

    const char input[] = "stdin line\n";
    CHECK (write (c.in_fd, input, sizeof input - 1) == (ssize_t)sizeof input - 1);
    s_close (&c.in_fd);
    static char out[16384], errtext[1024];
    size_t out_len = 0, err_len = 0;
    CHECK (s_read_until (c.out_fd, out, sizeof out, &out_len, NULL));
    CHECK (s_read_until (c.err_fd, errtext, sizeof errtext, &err_len, NULL));
    int st = s_wait_exit (c.pid);
    CHECK (st != -1 && WIFEXITED (st) && WEXITSTATUS (st) == 3);

    char want[128];
    snprintf (want, sizeof want, "uid=%u gid=%u\n", (unsigned)uid, (unsigned)gid);
    s_expect_in ("output", out, want);
    s_expect_in ("env", out, "\nTERM=xterm-256color\n");
    snprintf (want, sizeof want, "\nHOME=%s\n", pw->pw_dir);
    s_expect_in ("env", out, want);
    s_expect_in ("env", out, "\nUSER=nobody\n");
    s_expect_in ("env", out, "\nLOGNAME=nobody\n");
    snprintf (want, sizeof want, "\nSHELL=%s\n", pw->pw_shell);
    s_expect_in ("env", out, want);
    s_expect_in ("env", out, "\nPATH=" PH_PTY_PATH "\n");
    s_expect_in ("env", out, "\nLANG=C.UTF-8\n");
    CHECK (strstr (out, "PH_TEST_PRIVATE") == NULL);
    s_expect_in ("signals", out, "SigBlk:\t0000000000000000\n");
    s_expect_in ("signals", out, "SigIgn:\t0000000000000000\n");
    s_expect_in ("fds", out, "fd-clean\n");
    /* nobody's home does not exist: the command runs in / */
    struct stat sb;
    snprintf (want, sizeof want, "cwd=%s\n", stat (pw->pw_dir, &sb) == 0 ? pw->pw_dir : "/");
    s_expect_in ("cwd", out, want);
    snprintf (want, sizeof want, "sid=%d pid=%d\n", (int)c.pid, (int)c.pid);
    s_expect_in ("session", out, want); /* a session (and group) of its own */
    CHECK (strstr (out, "stdin line\n") != NULL);
    CHECK (strstr (out, "to-stderr") == NULL);
    CHECK_STR (errtext, "to-stderr\n");
    s_close (&c.out_fd);
    s_close (&c.err_fd);

    /* the whole process group can be signalled */
    spec.command = "sleep 30 & wait";
    CHECK (ph_pty_spawn (&spec, &c, err, sizeof err) == 0);
    s_status_text (&c, status, sizeof status);
    CHECK (kill (-c.pid, SIGTERM) == 0);
    st = s_wait_exit (c.pid);
    CHECK (st != -1 && WIFSIGNALED (st) && WTERMSIG (st) == SIGTERM);
    s_close (&c.in_fd);
    s_close (&c.out_fd);
    s_close (&c.err_fd);
}

static void test_interactive (void)
{
    const char *user = "porthole-user";
    struct passwd *pw = getpwnam (user);
    bool admin = access (PH_PTY_SUDOERS_FILE, F_OK) == 0; /* leave it as it is */
    ph_pty_spec_t spec = {.user = user,
                          .create_user = pw == NULL, /* the agent's own way of making it */
                          .admin_rights = admin,
                          .interactive = true,
                          .cols = 100,
                          .rows = 30};
    ph_pty_child_t c;
    char err[256] = "", status[512];
    CHECK (ph_pty_spawn (&spec, &c, err, sizeof err) == 0);
    CHECK (c.master >= 0 && c.in_fd == -1 && c.out_fd == -1 && c.err_fd == -1);
    CHECK (s_nonblocking_cloexec (c.master));
    s_status_text (&c, status, sizeof status);
    CHECK_STR (status, "");
    pw = getpwnam (user);
    CHECK (pw != NULL);
    if (!pw) {
        kill (-c.pid, SIGKILL);
        s_wait_exit (c.pid);
        s_close (&c.master);
        return;
    }

    static char out[65536];
    size_t len = 0;
    const char *line1 = "echo A=$(stty size) U=$(id -u) T=$TERM S=$0\n";
    CHECK (write (c.master, line1, strlen (line1)) == (ssize_t)strlen (line1));
    char want[64];
    snprintf (want, sizeof want, "U=%u", (unsigned)pw->pw_uid);
    s_read_until (c.master, out, sizeof out, &len, want);
    s_expect_in ("pty", out, "A=30 100");
    s_expect_in ("pty", out, want);
    s_expect_in ("pty", out, "T=xterm-256color");
    s_expect_in ("pty", out, "S=-"); /* a login shell: argv[0] starts with '-' */

    /* the next line goes in at the next prompt, as a person types it: one
     * written while bash still runs the last line showed the old size (in
     * about one run of ten on a loaded machine) */
    const char *after = strstr (out, "S=-");
    s_read_until_from (c.master, out, sizeof out, &len, after ? (size_t)(after - out) : 0, "$ ");
    struct winsize ws = {.ws_row = 50, .ws_col = 120};
    CHECK (ioctl (c.master, TIOCSWINSZ, &ws) == 0);
    const char *line2 = "echo B=$(stty size); exit 7\n";
    CHECK (write (c.master, line2, strlen (line2)) == (ssize_t)strlen (line2));
    CHECK (s_read_until (c.master, out, sizeof out, &len, NULL)); /* EIO once it exits */
    s_expect_in ("pty", out, "B=50 120");
    int st = s_wait_exit (c.pid);
    CHECK (st != -1 && WIFEXITED (st) && WEXITSTATUS (st) == 7);
    s_close (&c.master);
}

/*  A spawn that must fail before exec with want in the status text. */
static void s_expect_refused (const char *user, bool interactive, const char *want)
{
    ph_pty_spec_t spec = {.user = user,
                          .interactive = interactive,
                          .command = "echo should-not-run",
                          .cols = 80,
                          .rows = 24};
    ph_pty_child_t c;
    char err[256] = "", status[1024];
    CHECK (ph_pty_spawn (&spec, &c, err, sizeof err) == 0);
    s_status_text (&c, status, sizeof status);
    s_expect_in (user, status, want);
    int st = s_wait_exit (c.pid);
    CHECK (st != -1 && WIFEXITED (st) && WEXITSTATUS (st) == 127);
    char out[256];
    size_t len = 0;
    int fd = interactive ? c.master : c.out_fd;
    s_read_until (fd, out, sizeof out, &len, NULL);
    CHECK (strstr (out, "should-not-run") == NULL);
    s_close (&c.master);
    s_close (&c.in_fd);
    s_close (&c.out_fd);
    s_close (&c.err_fd);
}

static void test_refusals (bool root)
{
    s_expect_refused ("root", false, "refusing to run a session as root: it has uid 0");
    s_expect_refused ("root", true, "refusing to run a session as root");
    s_expect_refused ("ph-no-such-user-x9", false,
                      "user ph-no-such-user-x9 does not exist on this machine");
    s_expect_refused ("ph-no-such-user-x9", true, "does not exist");
    if (!root)
        s_expect_refused ("nobody", false, "failed"); /* initgroups or setgid */
}

int main (void)
{
    ph_agent_signals_block (); /* as porthole-agent: the children must undo it */
    setenv ("LANG", "C.UTF-8", 1);
    setenv ("PH_TEST_PRIVATE", "must-not-leak", 1);
    bool root = geteuid () == 0;
    test_acceptable ();
    test_refusals (root);
    if (root) {
        test_command_as_nobody ();
        test_interactive ();
    } else
        fprintf (stderr, "not root: sessions as other users skipped\n");
    PH_TEST_END ();
}
