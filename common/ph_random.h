/*  ph_random: cryptographically random bytes from the kernel's CSPRNG
 *  (getrandom(2), Linux >= 3.17), without OpenSSL, so that programs that
 *  need random ids but no cryptography (porthole-agent, the CLI) do not
 *  map libcrypto (issue 6: about 1.4 MB of an idle agent's RSS).
 */
#ifndef PH_RANDOM_H
#define PH_RANDOM_H

#include <stddef.h>

/*  Fills buf with len cryptographically random bytes. Blocks only until the
 *  kernel's pool is initialised (early boot). Returns 0, or PH_EIO when the
 *  system call fails (no getrandom: a kernel older than 3.17, or a seccomp
 *  filter); buf then holds nothing useful. */
int ph_random_bytes (void *buf, size_t len);

#endif
