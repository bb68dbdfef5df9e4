/*  Unit tests of common/ph_crypto.c: known answers and token rules. */
#include "ph_crypto.h"
#include "ph_errors.h"
#include "ph_test.h"

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
