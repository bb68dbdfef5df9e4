/*  agent_pty: starts a session's program as its run-as user (docs/
 *  architecture.md "Agent side").
 *
 *  The parent side (ph_pty_spawn) only forks and returns: everything that
 *  may block or fail slowly (useradd, the sudoers file, the user lookup,
 *  the privilege drop) happens in the child, so the reactor never waits.
 *  The child reports a failure before exec through the status pipe: the
 *  parent reads either EOF alone (the program is running) or one line of
 *  text that says why it could not start, followed by EOF.
 */
#ifndef PH_AGENT_PTY_H
#define PH_AGENT_PTY_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define PH_PTY_DEFAULT_COLS 80
#define PH_PTY_DEFAULT_ROWS 24
#define PH_PTY_SIZE_MAX     10000 /* columns or rows */
#define PH_PTY_SUDOERS_FILE "/etc/sudoers.d/porthole-users"
#define PH_PTY_PATH         "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

typedef struct {
    const char *user;    /* run-as account, never root */
    bool create_user;    /* the default user: useradd it when missing */
    bool admin_rights;   /* with create_user: sudoers entry on/off */
    bool interactive;    /* PTY shell; else `/bin/sh -c command` with pipes */
    const char *command; /* non-interactive only */
    unsigned cols, rows; /* interactive only */
} ph_pty_spec_t;

typedef struct {
    pid_t pid;     /* the child; also its process group (it is a session leader) */
    int master;    /* interactive: the PTY master, else -1 */
    int in_fd;     /* commands: write end of the child's stdin, else -1 */
    int out_fd;    /* commands: read end of the child's stdout, else -1 */
    int err_fd;    /* commands: read end of the child's stderr, else -1 */
    int status_fd; /* read end of the status pipe (see above) */
} ph_pty_child_t;

/*  Forks the session's program. Every fd in *child is non-blocking and
 *  close-on-exec, owned by the caller. Returns 0, or PH_EIO with the reason
 *  in err (fork or pipe failure). Does not block. */
int ph_pty_spawn (const ph_pty_spec_t *spec, ph_pty_child_t *child, char *err, size_t errlen);

/*  True when name is an account name we accept as run-as: [A-Za-z0-9_.@-],
 *  1..32 characters, not starting with '-', and not "root". */
bool ph_pty_user_acceptable (const char *name);

#endif
