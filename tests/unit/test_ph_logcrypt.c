/*  Unit tests of common/ph_logcrypt.c: master key files, data-key
 *  wrapping, sealed messages bound to their group and stream. */
#include "ph_errors.h"
#include "ph_logcrypt.h"
#include "ph_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void s_test_master_file (void)
{
    char dir[] = "/tmp/ph-logcrypt-XXXXXX", path[128], err[512];
    CHECK (mkdtemp (dir) != NULL);
    snprintf (path, sizeof path, "%s/master.key", dir);
    uint8_t k1[PH_AEAD_KEY_LEN], k2[PH_AEAD_KEY_LEN];
    CHECK (ph_logcrypt_master_load (path, k1, err, sizeof err) == PH_ENOENT);
    CHECK (strstr (err, "master-keygen") != NULL);
    CHECK (ph_logcrypt_master_create (path, err, sizeof err) == 0);
    struct stat st;
    CHECK (stat (path, &st) == 0 && (st.st_mode & 0777) == 0600);
    CHECK (ph_logcrypt_master_load (path, k1, err, sizeof err) == 0);
    CHECK (ph_logcrypt_master_create (path, err, sizeof err) == PH_EINVAL); /* never overwritten */
    CHECK (strstr (err, "never overwritten") != NULL);
    CHECK (ph_logcrypt_master_load (path, k2, err, sizeof err) == 0);
    CHECK (memcmp (k1, k2, sizeof k1) == 0);
    FILE *f = fopen (path, "w");
    fputs ("not-hex\n", f);
    fclose (f);
    CHECK (ph_logcrypt_master_load (path, k2, err, sizeof err) == PH_EINVAL);
    CHECK (strstr (err, "64 hex digits") != NULL);
    unlink (path);
    rmdir (dir);
}

static void s_test_wrap (void)
{
    uint8_t master[PH_AEAD_KEY_LEN], other[PH_AEAD_KEY_LEN], dk[PH_AEAD_KEY_LEN],
        out[PH_AEAD_KEY_LEN];
    ph_random_bytes (master, sizeof master);
    ph_random_bytes (other, sizeof other);
    ph_random_bytes (dk, sizeof dk);
    char kcv1[PH_LOGCRYPT_KCV_LEN + 1], kcv2[PH_LOGCRYPT_KCV_LEN + 1];
    ph_logcrypt_kcv (master, kcv1);
    ph_logcrypt_kcv (other, kcv2);
    CHECK (strlen (kcv1) == PH_LOGCRYPT_KCV_LEN && strcmp (kcv1, kcv2) != 0);

    char *w = ph_logcrypt_wrap (master, "team/web", dk);
    CHECK (w && strncmp (w, PH_LOGCRYPT_KEY_PREFIX, 7) == 0);
    CHECK (ph_logcrypt_unwrap (master, "team/web", w, out) == 0);
    CHECK (memcmp (out, dk, sizeof dk) == 0);
    CHECK (ph_logcrypt_unwrap (other, "team/web", w, out) == PH_EAUTH);
    CHECK (ph_logcrypt_unwrap (master, "team/db", w, out) == PH_EAUTH);
    CHECK (ph_logcrypt_unwrap (master, "team/web", "phkey1:AAAA", out) != 0);
    CHECK (ph_logcrypt_unwrap (master, "team/web", "garbage", out) == PH_EINVAL);
    CHECK (ph_logcrypt_unwrap (master, "team/web", "phkey1:!!!!", out) == PH_EINVAL);
    free (w);
}

static void s_test_seal (void)
{
    uint8_t dk[PH_AEAD_KEY_LEN];
    ph_random_bytes (dk, sizeof dk);
    const char *msg = "[1.5, \"o\", \"sudo -i\\r\\n\"]";
    char *sealed = ph_logcrypt_seal (dk, "g", "alice-0123456789abcdef0", msg, strlen (msg));
    CHECK (ph_logcrypt_is_sealed (sealed));
    CHECK (!ph_logcrypt_is_sealed (msg));
    CHECK (strstr (sealed, "sudo") == NULL);
    size_t len = 0;
    char *plain = ph_logcrypt_open (dk, "g", "alice-0123456789abcdef0", sealed, &len);
    CHECK (plain && len == strlen (msg));
    CHECK_STR (plain, msg);
    free (plain);
    /* moved to another stream or group: refused */
    CHECK (ph_logcrypt_open (dk, "g", "bob-0123456789abcdef0", sealed, &len) == NULL);
    CHECK (ph_logcrypt_open (dk, "h", "alice-0123456789abcdef0", sealed, &len) == NULL);
    /* one character changed: refused */
    sealed[10] = sealed[10] == 'A' ? 'B' : 'A';
    CHECK (ph_logcrypt_open (dk, "g", "alice-0123456789abcdef0", sealed, &len) == NULL);
    CHECK (ph_logcrypt_open (dk, "g", "s", "plain text", &len) == NULL);
    CHECK (ph_logcrypt_open (dk, "g", "s", "phenc1:", &len) == NULL);
    free (sealed);
    /* an empty message still seals and opens */
    sealed = ph_logcrypt_seal (dk, "g", "s", "", 0);
    plain = ph_logcrypt_open (dk, "g", "s", sealed, &len);
    CHECK (plain && len == 0 && plain[0] == 0);
    free (plain);
    free (sealed);
}

int main (void)
{
    s_test_master_file ();
    s_test_wrap ();
    s_test_seal ();
    PH_TEST_END ();
}
