/*  ph_test_redis: a real redis-server for the unit tests that need one (no
 *  mocks): a free loopback port, its files in a temp dir, no persistence.
 *  The test stops it by pid (SIGKILL, then waitpid). */
#ifndef PH_TEST_REDIS_H
#define PH_TEST_REDIS_H

#include "ph_redis.h"
#include "ph_util.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#define PH_TEST_REDIS_POLL_US 20000 /* between connection attempts */

/*  A TCP port on 127.0.0.1 that nothing listened on a moment ago. */
static inline int ph_test_free_port (void)
{
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl (INADDR_LOOPBACK)};
    socklen_t len = sizeof sa;
    bind (fd, (struct sockaddr *)&sa, sizeof sa);
    getsockname (fd, (struct sockaddr *)&sa, &len);
    close (fd);
    return ntohs (sa.sin_port);
}

/*  Forks redis-server on 127.0.0.1:port with its files in dir (which
 *  exists), no RDB, no AOF, its output to /dev/null. Returns its pid, or -1
 *  when fork failed. Does not wait for it to listen. */
static inline pid_t ph_test_redis_spawn (int port, const char *dir)
{
    pid_t pid = fork ();
    if (pid == 0) {
        char p[16];
        snprintf (p, sizeof p, "%d", port);
        int null = open ("/dev/null", O_WRONLY);
        dup2 (null, 1);
        execlp ("redis-server", "redis-server", "--port", p, "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "no", "--dir", dir, "--loglevel", "warning", (char *)NULL);
        _exit (127);
    }
    return pid;
}

/*  A sync client of url once the server answers, trying for up to wait_ms;
 *  NULL if it never did. */
static inline ph_redis_sync_t *ph_test_redis_wait (const char *url, uint64_t wait_ms)
{
    uint64_t deadline = ph_mono_ms () + wait_ms;
    char err[256];
    ph_redis_sync_t *sync = NULL;
    while (!sync && ph_mono_ms () < deadline) {
        sync = ph_redis_sync_new (url, err, sizeof err);
        if (!sync)
            usleep (PH_TEST_REDIS_POLL_US);
    }
    return sync;
}

/*  Starts a redis-server on a free port with its files in a new temp dir
 *  made from dir (a mkdtemp template, e.g. "/tmp/ph-test-x-XXXXXX",
 *  rewritten in place), writes its URL to url and its pid to *pid, and
 *  returns a sync client once it answers (within wait_ms), or NULL. */
static inline ph_redis_sync_t *ph_test_redis_start (char *dir, char *url, size_t urllen, pid_t *pid,
                                                    uint64_t wait_ms)
{
    *pid = -1;
    if (!mkdtemp (dir))
        return NULL;
    int port = ph_test_free_port ();
    snprintf (url, urllen, "redis://127.0.0.1:%d", port);
    *pid = ph_test_redis_spawn (port, dir);
    return ph_test_redis_wait (url, wait_ms);
}

#endif
