/*  ph_random: see ph_random.h.
 *
 *  getrandom(2) with flags 0 reads the same pool as /dev/urandom once it
 *  is initialised, needs no file descriptor and no state in this process.
 *  A read may return fewer bytes than asked (above 256 bytes, or when a
 *  signal arrives) and EINTR: both are retried. There is no fallback: a
 *  weaker source is worse than a clear failure.
 */
#include "ph_random.h"
#include "ph_errors.h"

#include <errno.h>
#include <stdint.h>
#include <sys/random.h>

int ph_random_bytes (void *buf, size_t len)
{
    uint8_t *p = buf;
    size_t got = 0;
    while (got < len) {
        ssize_t n = getrandom (p + got, len - got, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return PH_EIO;
        got += (size_t)n;
    }
    return 0;
}
