/*  ph_crypto: the one module that includes OpenSSL (STYLE.md habit 12).
 *  SHA-256, HMAC-SHA256, constant-time comparison, AES-256-GCM, and the
 *  session tokens built on them (DESIGN.md §4). Random bytes are
 *  ph_random's (no OpenSSL); this header includes ph_random.h for the
 *  modules that need both.
 *
 *  A session token is "<expiry ms>.<hex HMAC-SHA256>" where the HMAC key is
 *  the cluster secret (the 32 bytes whose hex is ph:secret:cluster in Redis)
 *  and the message is "session id \n user \n expiry". Tokens live at most PH_TOKEN_TTL_MS; the
 *  controller makes them single use by remembering the MAC in Redis.
 */
#ifndef PH_CRYPTO_H
#define PH_CRYPTO_H

#include "ph_random.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PH_SHA256_LEN   32
#define PH_TOKEN_TTL_MS 60000
#define PH_TOKEN_MAX    96 /* text length bound, NUL included */

/*  Writes 2*len lowercase hex digits and a NUL to out. */
void ph_hex (const void *data, size_t len, char *out);

void ph_sha256 (const void *data, size_t len, uint8_t out[PH_SHA256_LEN]);

void ph_hmac_sha256 (const void *key, size_t keylen, const void *data, size_t len,
                     uint8_t out[PH_SHA256_LEN]);

/*  Constant-time equality of two buffers of the same length. */
bool ph_ct_equal (const void *a, const void *b, size_t len);

/*  AES-256-GCM (encrypted log data, DESIGN.md §2). A sealed box is
 *  nonce (12 random bytes) | ciphertext | tag (16 bytes): len +
 *  PH_AEAD_OVERHEAD bytes. aad is authenticated, not stored. */
#define PH_AEAD_KEY_LEN   32
#define PH_AEAD_NONCE_LEN 12
#define PH_AEAD_TAG_LEN   16
#define PH_AEAD_OVERHEAD  (PH_AEAD_NONCE_LEN + PH_AEAD_TAG_LEN)

/*  Seals len bytes of in into out (len + PH_AEAD_OVERHEAD bytes). Returns 0
 *  or PH_EIO. */
int ph_aead_seal (const uint8_t key[PH_AEAD_KEY_LEN], const void *aad, size_t aadlen,
                  const void *in, size_t len, uint8_t *out);

/*  Opens a sealed box of len bytes into out (len - PH_AEAD_OVERHEAD bytes).
 *  Returns 0, PH_EINVAL when it is too short, PH_EAUTH when the key, the
 *  aad or any byte is wrong (out then holds nothing useful). */
int ph_aead_open (const uint8_t key[PH_AEAD_KEY_LEN], const void *aad, size_t aadlen,
                  const uint8_t *in, size_t len, uint8_t *out);

/*  Makes a token for session_id and user that expires at expiry_ms. out must
 *  hold PH_TOKEN_MAX bytes. */
void ph_token_make (const void *secret, size_t secretlen, const char *session_id, const char *user,
                    uint64_t expiry_ms, char *out);

/*  Checks token against session_id and user at time now_ms. Returns 0, or
 *  PH_EAUTH when it is malformed, forged, for another session or user,
 *  expired, or claims a lifetime above PH_TOKEN_TTL_MS. */
int ph_token_verify (const void *secret, size_t secretlen, const char *token,
                     const char *session_id, const char *user, uint64_t now_ms);

#endif
