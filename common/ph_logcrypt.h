/*  ph_logcrypt: encrypted log data (issue 3, DESIGN.md §2 and §6).
 *
 *  Keys: a master key (32 bytes) that only logshippers hold, in a file of 64
 *  hex digits (mode 0600). Each encrypted log group has a data key (32
 *  random bytes) stored in Redis wrapped by the master key:
 *  "phkey1:" base64(AES-256-GCM(master, aad "porthole-data-key\0" group)).
 *  A stored event's message is then "phenc1:" base64(AES-256-GCM(data key,
 *  aad "porthole-log\0" group "\0" stream)), so an event cannot be moved to
 *  another group or stream unnoticed. Timestamps stay in the clear (order,
 *  retention). Readers obtain the data key from a logshipper
 *  (GetDataKey) and open the messages.
 *
 *  Nothing here blocks except the key-file functions (small file I/O).
 */
#ifndef PH_LOGCRYPT_H
#define PH_LOGCRYPT_H

#include "ph_crypto.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PH_LOGCRYPT_MSG_PREFIX "phenc1:"
#define PH_LOGCRYPT_KEY_PREFIX "phkey1:"
#define PH_LOGCRYPT_KCV_LEN    16 /* hex digits of the key check value */

/*  Reads the master key file (64 hex digits, optional newline). Returns 0,
 *  or PH_ENOENT / PH_EINVAL with a message that says what to do in err. */
int ph_logcrypt_master_load (const char *path, uint8_t key[PH_AEAD_KEY_LEN], char *err,
                             size_t errlen);

/*  Writes a new random master key file (mode 0600; refuses to overwrite).
 *  Returns 0 or PH_EIO / PH_EINVAL with a message in err. */
int ph_logcrypt_master_create (const char *path, char *err, size_t errlen);

/*  Key check value of a master key (hex, PH_LOGCRYPT_KCV_LEN digits + NUL):
 *  logshippers compare it in Redis so that two with different master keys
 *  are noticed, without revealing the key. */
void ph_logcrypt_kcv (const uint8_t master[PH_AEAD_KEY_LEN], char *out);

/*  A wrapped data key for group (heap string "phkey1:...", caller frees),
 *  or NULL when out of memory. */
char *ph_logcrypt_wrap (const uint8_t master[PH_AEAD_KEY_LEN], const char *group,
                        const uint8_t dk[PH_AEAD_KEY_LEN]);

/*  Unwraps a data key of group. Returns 0, PH_EINVAL (not a wrapped key) or
 *  PH_EAUTH (another master key, or wrapped for another group). */
int ph_logcrypt_unwrap (const uint8_t master[PH_AEAD_KEY_LEN], const char *group,
                        const char *wrapped, uint8_t dk[PH_AEAD_KEY_LEN]);

/*  True when text is a sealed message ("phenc1:" prefix). */
bool ph_logcrypt_is_sealed (const char *text);

/*  Seals len bytes of msg for group/stream: a heap string "phenc1:..."
 *  (caller frees), or NULL when out of memory. */
char *ph_logcrypt_seal (const uint8_t dk[PH_AEAD_KEY_LEN], const char *group, const char *stream,
                        const char *msg, size_t len);

/*  Opens a sealed message of group/stream: a heap NUL-terminated string
 *  (caller frees) with its length in *len, or NULL when text is not sealed
 *  or does not open with this key, group and stream. */
char *ph_logcrypt_open (const uint8_t dk[PH_AEAD_KEY_LEN], const char *group, const char *stream,
                        const char *text, size_t *len);

#endif
