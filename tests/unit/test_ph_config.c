/*  Unit tests of common/ph_config.c. */
#include "ph_config.h"
#include "ph_test.h"
#include "ph_util.h"

#include <stdlib.h>
#include <unistd.h>

int main (void)
{
    char dir[] = "/tmp/ph-test-config-XXXXXX";
    CHECK (mkdtemp (dir) != NULL);
    char path[256], err[256];
    snprintf (path, sizeof path, "%s/config", dir);

    ph_config_t *c = ph_config_load (path, err, sizeof err); /* missing: empty */
    CHECK (c && ph_config_get (c, "", "x") == NULL);
    CHECK (ph_config_set (c, "profile default", "endpoint", "tcp://127.0.0.1:7611") == 0);
    CHECK (ph_config_set (c, "profile dev", "endpoint", "tcp://10.0.0.1:7611") == 0);
    CHECK (ph_config_set (c, "profile default", "server_key", "KEY") == 0);
    CHECK (ph_config_set (c, "", "bad", "two\nlines") != 0);
    CHECK (ph_config_save (c, path, 0600) == 0);
    ph_config_destroy (&c);
    CHECK (c == NULL);

    c = ph_config_load (path, err, sizeof err);
    CHECK (c != NULL);
    CHECK_STR (ph_config_get (c, "profile default", "endpoint"), "tcp://127.0.0.1:7611");
    CHECK_STR (ph_config_get (c, "profile default", "server_key"), "KEY");
    CHECK_STR (ph_config_get (c, "profile dev", "endpoint"), "tcp://10.0.0.1:7611");
    CHECK (ph_config_set (c, "profile dev", "endpoint", "tcp://h:1") == 0);
    CHECK_STR (ph_config_get (c, "profile dev", "endpoint"), "tcp://h:1");
    ph_config_destroy (&c);

    CHECK (ph_file_write (path, "# c\n[s]\nk = v \n; x\n", 20, 0600) == 0);
    c = ph_config_load (path, err, sizeof err);
    CHECK (c && ph_config_get (c, "s", "k") && strcmp (ph_config_get (c, "s", "k"), "v") == 0);
    ph_config_destroy (&c);

    CHECK (ph_file_write (path, "[s]\nnot a pair\n", 15, 0600) == 0);
    c = ph_config_load (path, err, sizeof err);
    CHECK (c == NULL && strstr (err, ":2:") != NULL);
    ph_config_destroy (NULL);

    unlink (path);
    rmdir (dir);
    PH_TEST_END ();
}
