/*  ph_crypto: see ph_crypto.h. */
#include "ph_crypto.h"
#include "ph_errors.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ph_random_bytes (void *buf, size_t len)
{
    return RAND_bytes (buf, (int)len) == 1 ? 0 : PH_EIO;
}

void ph_hex (const void *data, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * len] = 0;
}

void ph_sha256 (const void *data, size_t len, uint8_t out[PH_SHA256_LEN])
{
    unsigned int outlen = PH_SHA256_LEN;
    EVP_Digest (data, len, out, &outlen, EVP_sha256 (), NULL);
}

void ph_hmac_sha256 (const void *key, size_t keylen, const void *data, size_t len,
                     uint8_t out[PH_SHA256_LEN])
{
    unsigned int outlen = PH_SHA256_LEN;
    HMAC (EVP_sha256 (), key, (int)keylen, data, len, out, &outlen);
}

bool ph_ct_equal (const void *a, const void *b, size_t len)
{
    return CRYPTO_memcmp (a, b, len) == 0;
}

static void s_token_mac (const void *secret, size_t secretlen, const char *session_id,
                         const char *user, uint64_t expiry_ms, char hex[2 * PH_SHA256_LEN + 1])
{
    char msg[1024];
    int n =
        snprintf (msg, sizeof msg, "%s\n%s\n%llu", session_id, user, (unsigned long long)expiry_ms);
    uint8_t mac[PH_SHA256_LEN];
    ph_hmac_sha256 (secret, secretlen, msg, n > 0 ? (size_t)n : 0, mac);
    ph_hex (mac, sizeof mac, hex);
}

void ph_token_make (const void *secret, size_t secretlen, const char *session_id, const char *user,
                    uint64_t expiry_ms, char *out)
{
    char hex[2 * PH_SHA256_LEN + 1];
    s_token_mac (secret, secretlen, session_id, user, expiry_ms, hex);
    snprintf (out, PH_TOKEN_MAX, "%llu.%s", (unsigned long long)expiry_ms, hex);
}

int ph_token_verify (const void *secret, size_t secretlen, const char *token,
                     const char *session_id, const char *user, uint64_t now_ms)
{
    if (!token || strlen (token) >= PH_TOKEN_MAX)
        return PH_EAUTH;
    char *dot;
    unsigned long long expiry = strtoull (token, &dot, 10);
    if (dot == token || *dot != '.' || strlen (dot + 1) != 2 * PH_SHA256_LEN)
        return PH_EAUTH;
    char hex[2 * PH_SHA256_LEN + 1];
    s_token_mac (secret, secretlen, session_id, user, expiry, hex);
    if (!ph_ct_equal (hex, dot + 1, 2 * PH_SHA256_LEN))
        return PH_EAUTH;
    if (expiry < now_ms || expiry > now_ms + PH_TOKEN_TTL_MS + 5000)
        return PH_EAUTH;
    return 0;
}
