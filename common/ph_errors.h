/*  ph_errors.h: the one return convention (STYLE.md): commands return 0 or
 *  a negative PH_E* code; predicates return bool; constructors a pointer or
 *  NULL. Codes are also mapped to the stable wire error codes of Error.code.
 */
#ifndef PH_ERRORS_H
#define PH_ERRORS_H

enum {
    PH_OK = 0,
    PH_EINVAL = -1,   /* bad input from a user or a peer */
    PH_EPROTO = -2,   /* malformed or invalid message */
    PH_ETOOBIG = -3,  /* over a size limit */
    PH_EIO = -4,      /* system call or file failed */
    PH_ENOENT = -5,   /* no such thing */
    PH_EAUTH = -6,    /* authentication or token failure */
    PH_ETIMEOUT = -7, /* no answer in time */
    PH_ENOMEM = -8,
    PH_ESTATE = -9, /* not allowed in the current state */
    PH_EREDIS = -10,
};

/*  Exit codes of the command-line programs, documented in the README and in
 *  every --help. A remote command's own exit status passes through as is. */
enum {
    PH_EXIT_OK = 0,
    PH_EXIT_USAGE = 64,    /* bad arguments */
    PH_EXIT_CONFIG = 65,   /* missing or bad configuration / key files */
    PH_EXIT_UNAVAIL = 69,  /* controller or Redis unreachable, timed out */
    PH_EXIT_DENIED = 77,   /* AccessDenied or authentication failure */
    PH_EXIT_API = 70,      /* the controller answered with another error */
    PH_EXIT_DETACHED = 75, /* session left running (~.) */
    PH_EXIT_LOST = 76,     /* session ended without an exit status */
};

#endif
