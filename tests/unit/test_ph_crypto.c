/*  Unit tests of common/ph_crypto.c: known answers and token rules. */
#include "ph_crypto.h"
#include "ph_errors.h"
#include "ph_test.h"

#include <string.h>

int main (void)
{
    uint8_t d[PH_SHA256_LEN];
    char hex[2 * PH_SHA256_LEN + 1];
    ph_sha256 ("abc", 3, d);
    ph_hex (d, sizeof d, hex);
    CHECK_STR (hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    /* RFC 4231 test case 2 */
    ph_hmac_sha256 ("Jefe", 4, "what do ya want for nothing?", 28, d);
    ph_hex (d, sizeof d, hex);
    CHECK_STR (hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    CHECK (ph_ct_equal ("abcd", "abcd", 4));
    CHECK (!ph_ct_equal ("abcd", "abce", 4));

    uint8_t r1[16], r2[16];
    CHECK (ph_random_bytes (r1, sizeof r1) == 0 && ph_random_bytes (r2, sizeof r2) == 0);
    CHECK (!ph_ct_equal (r1, r2, sizeof r1));

    /* AES-256-GCM: the GCM spec's test case 14 (zero key, zero IV, one zero
     * block), opened; then round trips and every kind of tampering. */
    static const uint8_t zero_key[PH_AEAD_KEY_LEN] = {0};
    uint8_t box[PH_AEAD_NONCE_LEN + 16 + PH_AEAD_TAG_LEN] = {0};
    static const uint8_t c14[16] = {0xce, 0xa7, 0x40, 0x3d, 0x4d, 0x60, 0x6b, 0x6e,
                                    0x07, 0x4e, 0xc5, 0xd3, 0xba, 0xf3, 0x9d, 0x18};
    static const uint8_t t14[16] = {0xd0, 0xd1, 0xc8, 0xa7, 0x99, 0x99, 0x6b, 0xf0,
                                    0x26, 0x5b, 0x98, 0xb5, 0xd4, 0x8a, 0xb9, 0x19};
    memcpy (box + PH_AEAD_NONCE_LEN, c14, 16);
    memcpy (box + PH_AEAD_NONCE_LEN + 16, t14, 16);
    uint8_t plain[64];
    CHECK (ph_aead_open (zero_key, NULL, 0, box, sizeof box, plain) == 0);
    static const uint8_t zeros[16] = {0};
    CHECK (memcmp (plain, zeros, 16) == 0);
    box[PH_AEAD_NONCE_LEN + 3] ^= 1;
    CHECK (ph_aead_open (zero_key, NULL, 0, box, sizeof box, plain) == PH_EAUTH);

    uint8_t key[PH_AEAD_KEY_LEN], other[PH_AEAD_KEY_LEN];
    CHECK (ph_random_bytes (key, sizeof key) == 0 && ph_random_bytes (other, sizeof other) == 0);
    const char *msg = "sudo rm -rf /tmp/x";
    size_t mlen = strlen (msg);
    uint8_t sealed[64], sealed2[64];
    CHECK (ph_aead_seal (key, "g\0s", 3, msg, mlen, sealed) == 0);
    CHECK (ph_aead_seal (key, "g\0s", 3, msg, mlen, sealed2) == 0);
    CHECK (memcmp (sealed, sealed2, mlen + PH_AEAD_OVERHEAD) != 0); /* fresh nonce each time */
    CHECK (memmem (sealed, mlen + PH_AEAD_OVERHEAD, "sudo", 4) == NULL);
    memset (plain, 0, sizeof plain);
    CHECK (ph_aead_open (key, "g\0s", 3, sealed, mlen + PH_AEAD_OVERHEAD, plain) == 0);
    CHECK (memcmp (plain, msg, mlen) == 0);
    CHECK (ph_aead_open (other, "g\0s", 3, sealed, mlen + PH_AEAD_OVERHEAD, plain) == PH_EAUTH);
    CHECK (ph_aead_open (key, "g\0t", 3, sealed, mlen + PH_AEAD_OVERHEAD, plain) == PH_EAUTH);
    sealed[mlen + PH_AEAD_OVERHEAD - 1] ^= 0x80; /* the tag */
    CHECK (ph_aead_open (key, "g\0s", 3, sealed, mlen + PH_AEAD_OVERHEAD, plain) == PH_EAUTH);
    CHECK (ph_aead_open (key, NULL, 0, sealed, PH_AEAD_OVERHEAD - 1, plain) == PH_EINVAL);
    CHECK (ph_aead_seal (key, NULL, 0, "", 0, sealed) == 0); /* empty message */
    CHECK (ph_aead_open (key, NULL, 0, sealed, PH_AEAD_OVERHEAD, plain) == 0);

    const char *secret = "cluster-secret";
    char tok[PH_TOKEN_MAX];
    uint64_t now = 1800000000000ULL;
    ph_token_make (secret, 14, "alice-0123456789abcdef0", "alice", now + 60000, tok);
    CHECK (ph_token_verify (secret, 14, tok, "alice-0123456789abcdef0", "alice", now) == 0);
    CHECK (ph_token_verify (secret, 14, tok, "alice-0123456789abcdef0", "bob", now) == PH_EAUTH);
    CHECK (ph_token_verify (secret, 14, tok, "alice-other", "alice", now) == PH_EAUTH);
    CHECK (ph_token_verify ("other", 5, tok, "alice-0123456789abcdef0", "alice", now) == PH_EAUTH);
    /* expired */
    CHECK (ph_token_verify (secret, 14, tok, "alice-0123456789abcdef0", "alice", now + 60001) ==
           PH_EAUTH);
    /* a lifetime above the limit is refused even with a good MAC */
    ph_token_make (secret, 14, "s", "u", now + 3600000, tok);
    CHECK (ph_token_verify (secret, 14, tok, "s", "u", now) == PH_EAUTH);
    /* tampered expiry */
    ph_token_make (secret, 14, "s", "u", now + 1000, tok);
    tok[0] = tok[0] == '1' ? '2' : '1';
    CHECK (ph_token_verify (secret, 14, tok, "s", "u", now) == PH_EAUTH);
    CHECK (ph_token_verify (secret, 14, "garbage", "s", "u", now) == PH_EAUTH);
    CHECK (ph_token_verify (secret, 14, "", "s", "u", now) == PH_EAUTH);
    PH_TEST_END ();
}
