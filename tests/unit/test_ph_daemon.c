/*  Unit tests of common/ph_daemon.c: the start-up helpers the controller and
 *  the logshipper share (endpoints, ids, URLs, keygen, key and pid files). */
#include "ph_daemon.h"
#include "ph_errors.h"
#include "ph_keys.h"
#include "ph_test.h"
#include "ph_util.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static void s_test_endpoints_and_ids (void)
{
    char out[128];
    ph_daemon_advertised ("tcp://*:7611", out, sizeof out);
    CHECK_STR (out, "tcp://127.0.0.1:7611");
    ph_daemon_advertised ("tcp://0.0.0.0:7610", out, sizeof out);
    CHECK_STR (out, "tcp://127.0.0.1:7610");
    ph_daemon_advertised ("tcp://10.1.2.3:7620", out, sizeof out);
    CHECK_STR (out, "tcp://10.1.2.3:7620");
    char a[16], b[16];
    ph_daemon_node_id ("c-", a, sizeof a);
    ph_daemon_node_id ("c-", b, sizeof b);
    CHECK (strlen (a) == 10 && strncmp (a, "c-", 2) == 0);
    CHECK (strcmp (a, b) != 0);
    CHECK (ph_daemon_check_redis_url ("p", "run", "redis://127.0.0.1:6379") == 0);
    CHECK (ph_daemon_check_redis_url ("p", "run", "unix:///run/redis.sock") == 0);
    CHECK (ph_daemon_check_redis_url ("p", "run", "http://x") == PH_EXIT_USAGE);
    setenv ("PORTHOLE_REDIS_URL", "redis://h:1", 1);
    CHECK_STR (ph_daemon_default_redis (), "redis://h:1");
    setenv ("PORTHOLE_REDIS_URL", "", 1);
    CHECK_STR (ph_daemon_default_redis (), PH_DAEMON_DEFAULT_REDIS);
}

static void s_test_files (void)
{
    char dir[] = "/tmp/ph-test-daemon-XXXXXX", key[256], pid[256];
    CHECK (mkdtemp (dir) != NULL);
    snprintf (key, sizeof key, "%s/d.key", dir);
    snprintf (pid, sizeof pid, "%s/d.pid", dir);
    char *argv[] = {"keygen", key, NULL};
    CHECK (ph_daemon_keygen ("p", "usage", "", 2, argv) == PH_EXIT_OK);
    struct stat st;
    CHECK (stat (key, &st) == 0 && (st.st_mode & 0777) == 0600);
    CHECK (ph_daemon_keygen ("p", "usage", "", 2, argv) == PH_EXIT_CONFIG); /* exists */
    char *force[] = {"keygen", key, "--force", NULL};
    CHECK (ph_daemon_keygen ("p", "usage", "", 3, force) == PH_EXIT_OK);
    ph_keypair_t kp;
    CHECK (ph_daemon_load_keys ("p", key, &kp) == 0 && ph_keys_z85_valid (kp.public_z85));
    chmod (key, 0644);
    CHECK (ph_daemon_load_keys ("p", key, &kp) == PH_EXIT_CONFIG);
    CHECK (ph_daemon_write_pid (pid) == 0);
    char *text = ph_file_read (pid, 64, NULL);
    CHECK (text && atoi (text) == (int)getpid ());
    free (text);
    CHECK (ph_daemon_write_pid ("/nonexistent-dir/x.pid") == PH_EXIT_CONFIG);
    unlink (key);
    unlink (pid);
    CHECK (rmdir (dir) == 0);
}

int main (void)
{
    s_test_endpoints_and_ids ();
    s_test_files ();
    PH_TEST_END ();
}
