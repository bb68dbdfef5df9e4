/*  agent_pty: fork/exec of a session's shell or command as the run-as
 *  user; see agent_pty.h for the contract.
 *
 *  The agent process has libzmq threads, so the child keeps to simple
 *  libc calls, never returns into agent code and always leaves with
 *  _exit() (exit() would run czmq's atexit handlers and hang on the
 *  inherited zmq context). Every fd of the agent is close-on-exec, and the
 *  child closes everything above the status pipe anyway.
 */
#include "agent_pty.h"
#include "ph_errors.h"
#include "ph_util.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libgen.h>
#include <pty.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PH_PTY_STATUS_FD       3 /* where the child keeps its status pipe */
#define PH_PTY_USER_MAX        32
#define PH_PTY_USERADD_TRIES   5 /* useradd may lose a race for the passwd lock */
#define PH_PTY_USERADD_WAIT_MS 300
#define PH_PTY_ENV_MAX         8
#define PH_PTY_EXIT_FAILED     127
#define PH_PTY_USERADD_LOCK    "/run/porthole-agent.useradd.lock"

static const char *s_useradd_paths[] = {"/usr/sbin/useradd", "/sbin/useradd", NULL};

bool ph_pty_user_acceptable (const char *name)
{
    return ph_name_valid (name) && strlen (name) <= PH_PTY_USER_MAX && name[0] != '-' &&
           strcmp (name, "root") != 0;
}

/* ---- child side ---------------------------------------------------------- */

/*  Tells the parent why the program cannot start, and leaves. */
static void s_child_fail (const char *fmt, ...) __attribute__ ((format (printf, 1, 2), noreturn));

static void s_child_fail (const char *fmt, ...)
{
    char text[512];
    va_list ap;
    va_start (ap, fmt);
    int n = vsnprintf (text, sizeof text, fmt, ap);
    va_end (ap);
    if (n > (int)sizeof text - 1)
        n = (int)sizeof text - 1;
    if (n > 0 && write (PH_PTY_STATUS_FD, text, (size_t)n) < 0) {
        /* nothing more we can do; the parent sees EOF and exit 127 */
    }
    _exit (PH_PTY_EXIT_FAILED);
}

/*  The agent blocks SIGCHLD/SIGTERM/SIGINT (signalfd) and ignores SIGPIPE;
 *  a shell must start with none of that. */
static void s_child_reset_signals (void)
{
    sigset_t none;
    sigemptyset (&none);
    sigprocmask (SIG_SETMASK, &none, NULL);
    for (int sig = 1; sig < NSIG; sig++)
        if (sig != SIGKILL && sig != SIGSTOP)
            signal (sig, SIG_DFL);
}

/*  Moves the status pipe to PH_PTY_STATUS_FD and closes every other fd
 *  above stderr. */
static void s_child_close_fds (int status_fd)
{
    if (status_fd != PH_PTY_STATUS_FD) {
        if (dup3 (status_fd, PH_PTY_STATUS_FD, O_CLOEXEC) < 0)
            _exit (PH_PTY_EXIT_FAILED);
        close (status_fd);
    }
    closefrom (PH_PTY_STATUS_FD + 1);
}

/*  Runs useradd and returns its exit status (-1 when it could not run). */
static int s_child_run_useradd (const char *user)
{
    pid_t pid = fork ();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int null = open ("/dev/null", O_RDWR);
        if (null >= 0) {
            dup2 (null, 0);
            dup2 (null, 1);
            dup2 (null, 2);
        }
        char *argv[] = {"useradd", "-m", "-s", "/bin/bash", (char *)user, NULL};
        char *envp[] = {"PATH=" PH_PTY_PATH, NULL};
        for (int i = 0; s_useradd_paths[i]; i++)
            execve (s_useradd_paths[i], argv, envp);
        _exit (PH_PTY_EXIT_FAILED);
    }
    int status;
    while (waitpid (pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED (status) ? WEXITSTATUS (status) : -1;
}

/*  Serialises user creation between the agent's own session children:
 *  concurrent useradd runs race on /etc/passwd and /etc/subuid and leave
 *  duplicate sub-id ranges behind. Returns the lock fd (closed by the
 *  caller or at exec), or -1 when no lock could be taken. */
static int s_child_lock_useradd (void)
{
    int fd = open (PH_PTY_USERADD_LOCK, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    while (flock (fd, LOCK_EX) != 0)
        if (errno != EINTR) {
            close (fd);
            return -1;
        }
    return fd;
}

/*  Creates user when missing, under the lock above. Another program may
 *  still be creating it at the same moment: useradd then fails (name in
 *  use, or passwd file locked), and what counts is that the user exists
 *  afterwards. */
static void s_child_ensure_user (const char *user)
{
    int status = 0;
    if (getpwnam (user))
        return;
    int lock = s_child_lock_useradd ();
    for (int i = 0; i < PH_PTY_USERADD_TRIES; i++) {
        if (getpwnam (user))
            break;
        status = s_child_run_useradd (user);
        if (status == 0 && getpwnam (user))
            break;
        struct timespec ts = {0, PH_PTY_USERADD_WAIT_MS * 1000000L};
        nanosleep (&ts, NULL);
    }
    if (lock >= 0)
        close (lock);
    if (getpwnam (user))
        return;
    s_child_fail ("could not create user %s: useradd -m -s /bin/bash %s exited with status %d; "
                  "create the user by hand or check /etc/passwd and /etc/login.defs",
                  user, user, status);
}

/*  Gives the default user sudo rights, or takes them away. */
static void s_child_sudoers (const char *user, bool admin_rights)
{
    if (!admin_rights) {
        if (unlink (PH_PTY_SUDOERS_FILE) != 0 && errno != ENOENT)
            s_child_fail ("could not remove %s: %s", PH_PTY_SUDOERS_FILE, strerror (errno));
        return;
    }
    struct stat st;
    if (stat ("/etc/sudoers.d", &st) != 0 || !S_ISDIR (st.st_mode))
        return; /* sudo is not installed: there is nothing to grant */
    char line[128];
    int n = snprintf (line, sizeof line, "%s ALL=(ALL) NOPASSWD:ALL\n", user);
    if (ph_file_write (PH_PTY_SUDOERS_FILE, line, (size_t)n, 0440) != 0)
        s_child_fail ("could not write %s: %s", PH_PTY_SUDOERS_FILE, strerror (errno));
}

/*  Becomes pw for good; refuses root. */
static void s_child_drop_privileges (const struct passwd *pw)
{
    if (pw->pw_uid == 0)
        s_child_fail ("refusing to run a session as %s: it has uid 0; choose another run-as user",
                      pw->pw_name);
    if (initgroups (pw->pw_name, pw->pw_gid) != 0)
        s_child_fail ("initgroups(%s) failed: %s", pw->pw_name, strerror (errno));
    if (setgid (pw->pw_gid) != 0)
        s_child_fail ("setgid(%u) failed: %s", (unsigned)pw->pw_gid, strerror (errno));
    if (setuid (pw->pw_uid) != 0)
        s_child_fail ("setuid(%u) failed: %s", (unsigned)pw->pw_uid, strerror (errno));
    if (setuid (0) == 0 || getuid () != pw->pw_uid || geteuid () != pw->pw_uid)
        s_child_fail ("could not drop root privileges for %s", pw->pw_name);
}

/*  Builds the clean environment of the session in env (PH_PTY_ENV_MAX+1
 *  entries) with its strings in store. */
static void s_child_environment (const struct passwd *pw, const char *shell, const char *lang,
                                 char **env, char store[][1024])
{
    int n = 0;
    snprintf (store[n], 1024, "TERM=xterm-256color");
    snprintf (store[++n], 1024, "HOME=%s", pw->pw_dir);
    snprintf (store[++n], 1024, "USER=%s", pw->pw_name);
    snprintf (store[++n], 1024, "LOGNAME=%s", pw->pw_name);
    snprintf (store[++n], 1024, "SHELL=%s", shell);
    snprintf (store[++n], 1024, "PATH=%s", PH_PTY_PATH);
    if (lang)
        snprintf (store[++n], 1024, "LANG=%s", lang);
    for (int i = 0; i <= n; i++)
        env[i] = store[i];
    env[n + 1] = NULL;
}

static void s_child_main (const ph_pty_spec_t *spec, int status_fd) __attribute__ ((noreturn));

static void s_child_main (const ph_pty_spec_t *spec, int status_fd)
{
    const char *lang = getenv ("LANG");
    s_child_reset_signals ();
    s_child_close_fds (status_fd);
    if (spec->create_user) {
        s_child_ensure_user (spec->user);
        s_child_sudoers (spec->user, spec->admin_rights);
    }
    struct passwd *pw = getpwnam (spec->user);
    if (!pw)
        s_child_fail ("user %s does not exist on this machine; create it or choose another "
                      "run-as user",
                      spec->user);
    s_child_drop_privileges (pw);
    if (chdir (pw->pw_dir) != 0 && chdir ("/") != 0)
        s_child_fail ("cannot change to %s or /: %s", pw->pw_dir, strerror (errno));

    const char *shell = pw->pw_shell && *pw->pw_shell ? pw->pw_shell : "/bin/sh";
    char store[PH_PTY_ENV_MAX][1024];
    char *env[PH_PTY_ENV_MAX + 1];
    s_child_environment (pw, shell, lang, env, store);
    if (spec->interactive) {
        char argv0[256], copy[256];
        snprintf (copy, sizeof copy, "%s", shell);
        snprintf (argv0, sizeof argv0, "-%s", basename (copy));
        char *argv[] = {argv0, NULL};
        execve (shell, argv, env);
        s_child_fail ("cannot run the shell %s of %s: %s", shell, pw->pw_name, strerror (errno));
    }
    char *argv[] = {"sh", "-c", (char *)spec->command, NULL};
    execve ("/bin/sh", argv, env);
    s_child_fail ("cannot run /bin/sh: %s", strerror (errno));
}

/* ---- parent side --------------------------------------------------------- */

static int s_set_nonblocking (int fd)
{
    int flags = fcntl (fd, F_GETFL);
    if (flags < 0 || fcntl (fd, F_SETFL, flags | O_NONBLOCK) < 0)
        return PH_EIO;
    if (fcntl (fd, F_SETFD, FD_CLOEXEC) < 0)
        return PH_EIO;
    return 0;
}

static void s_close_pair (int fds[2])
{
    for (int i = 0; i < 2; i++)
        if (fds[i] >= 0)
            close (fds[i]);
}

static int s_spawn_pty (const ph_pty_spec_t *spec, ph_pty_child_t *child, int status[2], char *err,
                        size_t errlen)
{
    struct winsize ws = {0};
    ws.ws_col = (unsigned short)spec->cols;
    ws.ws_row = (unsigned short)spec->rows;
    int master = -1;
    pid_t pid = forkpty (&master, NULL, NULL, &ws);
    if (pid < 0) {
        snprintf (err, errlen, "forkpty failed: %s", strerror (errno));
        return PH_EIO;
    }
    if (pid == 0) {
        close (status[0]);
        s_child_main (spec, status[1]);
    }
    child->pid = pid;
    child->master = master;
    s_set_nonblocking (master);
    return 0;
}

static int s_spawn_pipes (const ph_pty_spec_t *spec, ph_pty_child_t *child, int status[2],
                          char *err, size_t errlen)
{
    int in[2] = {-1, -1}, out[2] = {-1, -1}, errp[2] = {-1, -1};
    if (pipe2 (in, O_CLOEXEC) || pipe2 (out, O_CLOEXEC) || pipe2 (errp, O_CLOEXEC)) {
        snprintf (err, errlen, "pipe failed: %s", strerror (errno));
        goto out_close;
    }
    pid_t pid = fork ();
    if (pid < 0) {
        snprintf (err, errlen, "fork failed: %s", strerror (errno));
        goto out_close;
    }
    if (pid == 0) {
        close (status[0]);
        setsid ();
        if (dup2 (in[0], 0) < 0 || dup2 (out[1], 1) < 0 || dup2 (errp[1], 2) < 0)
            _exit (PH_PTY_EXIT_FAILED);
        s_child_main (spec, status[1]);
    }
    close (in[0]);
    close (out[1]);
    close (errp[1]);
    child->pid = pid;
    child->in_fd = in[1];
    child->out_fd = out[0];
    child->err_fd = errp[0];
    s_set_nonblocking (child->in_fd);
    s_set_nonblocking (child->out_fd);
    s_set_nonblocking (child->err_fd);
    return 0;
out_close:
    s_close_pair (in);
    s_close_pair (out);
    s_close_pair (errp);
    return PH_EIO;
}

int ph_pty_spawn (const ph_pty_spec_t *spec, ph_pty_child_t *child, char *err, size_t errlen)
{
    int status[2];
    child->pid = -1;
    child->master = child->in_fd = child->out_fd = child->err_fd = child->status_fd = -1;
    if (pipe2 (status, O_CLOEXEC) != 0) {
        snprintf (err, errlen, "pipe failed: %s", strerror (errno));
        return PH_EIO;
    }
    int rc = spec->interactive ? s_spawn_pty (spec, child, status, err, errlen)
                               : s_spawn_pipes (spec, child, status, err, errlen);
    close (status[1]);
    if (rc != 0) {
        close (status[0]);
        return rc;
    }
    child->status_fd = status[0];
    s_set_nonblocking (child->status_fd);
    return 0;
}
