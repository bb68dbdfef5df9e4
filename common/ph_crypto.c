/*  ph_crypto: see ph_crypto.h. */
#include "ph_crypto.h"
#include "ph_errors.h"
#include "ph_random.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ph_aead_seal (const uint8_t key[PH_AEAD_KEY_LEN], const void *aad, size_t aadlen,
                  const void *in, size_t len, uint8_t *out)
{
    int rc = PH_EIO, n = 0;
    if (len > INT_MAX - PH_AEAD_OVERHEAD || ph_random_bytes (out, PH_AEAD_NONCE_LEN) != 0)
        return PH_EIO;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new ();
    uint8_t *ct = out + PH_AEAD_NONCE_LEN;
    if (!ctx)
        return PH_EIO;
    if (EVP_EncryptInit_ex (ctx, EVP_aes_256_gcm (), NULL, key, out) != 1 ||
        (aadlen && EVP_EncryptUpdate (ctx, NULL, &n, aad, (int)aadlen) != 1) ||
        EVP_EncryptUpdate (ctx, ct, &n, in, (int)len) != 1 ||
        EVP_EncryptFinal_ex (ctx, ct + n, &n) != 1 ||
        EVP_CIPHER_CTX_ctrl (ctx, EVP_CTRL_GCM_GET_TAG, PH_AEAD_TAG_LEN, ct + len) != 1)
        goto out_free_ctx;
    rc = 0;
out_free_ctx:
    EVP_CIPHER_CTX_free (ctx);
    return rc;
}

int ph_aead_open (const uint8_t key[PH_AEAD_KEY_LEN], const void *aad, size_t aadlen,
                  const uint8_t *in, size_t len, uint8_t *out)
{
    int rc = PH_EAUTH, n = 0;
    if (len < PH_AEAD_OVERHEAD || len > INT_MAX)
        return PH_EINVAL;
    size_t ctlen = len - PH_AEAD_OVERHEAD;
    const uint8_t *ct = in + PH_AEAD_NONCE_LEN;
    uint8_t tag[PH_AEAD_TAG_LEN];
    memcpy (tag, ct + ctlen, sizeof tag);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new ();
    if (!ctx)
        return PH_EIO;
    if (EVP_DecryptInit_ex (ctx, EVP_aes_256_gcm (), NULL, key, in) != 1 ||
        (aadlen && EVP_DecryptUpdate (ctx, NULL, &n, aad, (int)aadlen) != 1) ||
        EVP_DecryptUpdate (ctx, out, &n, ct, (int)ctlen) != 1 ||
        EVP_CIPHER_CTX_ctrl (ctx, EVP_CTRL_GCM_SET_TAG, PH_AEAD_TAG_LEN, tag) != 1 ||
        EVP_DecryptFinal_ex (ctx, out + n, &n) != 1)
        goto out_free_ctx;
    rc = 0;
out_free_ctx:
    EVP_CIPHER_CTX_free (ctx);
    return rc;
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
