/*  Unit tests of cli/cli_profile.c in a temp dir: where the configuration
 *  lives ($PORTHOLE_CONFIG_DIR, $HOME), endpoint validation, `configure`
 *  (directory 0700, config and NAME.key 0600, an existing key kept, one
 *  section per profile), and loading credentials with the environment
 *  overrides and every way the files can be missing or wrong, each with a
 *  message that says what to run. */
#include "cli_profile.h"
#include "ph_config.h"
#include "ph_test.h"
#include "ph_util.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char s_dir[] = "/tmp/ph-test-cli-profile-XXXXXX";

/* ---- capturing stdout and stderr ---------------------------------------- */

typedef struct {
    char out[1024];
    char err[2048];
    int rc;
} run_t;

static void s_read_back (int fd, char *buf, size_t len)
{
    ssize_t n = pread (fd, buf, len - 1, 0);
    buf[n > 0 ? n : 0] = 0;
    close (fd);
}

static int s_tmpfile (void)
{
    char path[] = "/tmp/ph-test-cli-profile-out-XXXXXX";
    int fd = mkstemp (path);
    unlink (path);
    return fd;
}

/*  Runs configure with the given endpoint and key (either may be NULL). */
static void s_configure (cli_ctx_t *ctx, const char *endpoint, const char *key, run_t *r)
{
    cli_args_t args;
    memset (&args, 0, sizeof args);
    args.verb = "configure";
    if (endpoint)
        args.items[args.count++] = (cli_arg_t){"endpoint", endpoint};
    if (key)
        args.items[args.count++] = (cli_arg_t){"server-key", key};
    int out = s_tmpfile (), err = s_tmpfile ();
    fflush (stdout);
    fflush (stderr);
    int so = dup (1), se = dup (2);
    dup2 (out, 1);
    dup2 (err, 2);
    r->rc = cli_verb_configure (ctx, &args);
    fflush (stdout);
    fflush (stderr);
    dup2 (so, 1);
    dup2 (se, 2);
    close (so);
    close (se);
    s_read_back (out, r->out, sizeof r->out);
    s_read_back (err, r->err, sizeof r->err);
}

static void s_load (cli_ctx_t *ctx, cli_creds_t *creds, run_t *r)
{
    int err = s_tmpfile ();
    fflush (stderr);
    int se = dup (2);
    dup2 (err, 2);
    memset (creds, 0, sizeof *creds);
    r->rc = cli_profile_load (ctx, creds);
    fflush (stderr);
    dup2 (se, 2);
    close (se);
    r->out[0] = 0;
    s_read_back (err, r->err, sizeof r->err);
}

static void s_expect_in (const char *text, const char *want)
{
    if (!strstr (text, want)) {
        fprintf (stderr, "message '%s' lacks '%s'\n", text, want);
        CHECK (false);
    } else
        CHECK (true);
}

static unsigned s_mode (const char *path)
{
    struct stat st;
    return stat (path, &st) == 0 ? st.st_mode & 0777 : 0xFFFF;
}

static void s_ctx (cli_ctx_t *ctx, const char *profile, const char *sub)
{
    memset (ctx, 0, sizeof *ctx);
    snprintf (ctx->profile, sizeof ctx->profile, "%s", profile);
    snprintf (ctx->config_dir, sizeof ctx->config_dir, "%s/%s", s_dir, sub);
    ctx->verb = "configure";
    ctx->timeout_s = 10;
}

/* ---- tests ----------------------------------------------------------------- */

static void test_dir (void)
{
    char buf[512];
    setenv ("PORTHOLE_CONFIG_DIR", "/srv/ph conf", 1);
    CHECK (cli_profile_dir (buf, sizeof buf) == 0);
    CHECK_STR (buf, "/srv/ph conf");
    setenv ("PORTHOLE_CONFIG_DIR", "", 1); /* empty counts as unset */
    setenv ("HOME", "/home/alice", 1);
    CHECK (cli_profile_dir (buf, sizeof buf) == 0);
    CHECK_STR (buf, "/home/alice/.config/porthole");
    unsetenv ("PORTHOLE_CONFIG_DIR");
    unsetenv ("HOME"); /* then the password database */
    CHECK (cli_profile_dir (buf, sizeof buf) == 0);
    CHECK (strstr (buf, "/.config/porthole") != NULL && buf[0] == '/');
}

static void test_endpoint (void)
{
    char err[512];
    const char *good[] = {"tcp://127.0.0.1:7611", "tcp://controller.example.com:1",
                          "tcp://[::1]:7611",     "tcp://[fe80::1]:65535",
                          "tcp://my-host:7611",   NULL};
    for (int i = 0; good[i]; i++) {
        bool ok = cli_endpoint_valid (good[i], err, sizeof err);
        if (!ok)
            fprintf (stderr, "'%s' refused: %s\n", good[i], err);
        CHECK (ok);
    }
    const char *bad[][2] = {
        {"http://h:1", "does not start with tcp://"},
        {"h:7611", "does not start with tcp://"},
        {"tcp://host", "has no :PORT"},
        {"tcp://[::1]", "has no :PORT"},
        {"tcp://:7611", "no valid host"},
        {"tcp://ho_st:7611", "no valid host"},
        {"tcp://*:7611", "no valid host"},
        {"tcp://[::1:7611", "no valid host"},
        {"tcp://[]:7611", "no valid host"},
        {"tcp://h:0", "1..65535"},
        {"tcp://h:65536", "1..65535"},
        {"tcp://h:x", "1..65535"},
        {"tcp://h:", "1..65535"},
        {"tcp://h:-1", "1..65535"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = 0;
        CHECK (!cli_endpoint_valid (bad[i][0], err, sizeof err));
        s_expect_in (err, bad[i][1]);
        s_expect_in (err, "tcp://HOST:PORT");
    }
    char long_ep[400] = "tcp://";
    memset (long_ep + 6, 'a', 300);
    strcpy (long_ep + 306, ":7611");
    CHECK (!cli_endpoint_valid (long_ep, err, sizeof err));
    s_expect_in (err, "too long");
}

static void test_configure (const char *server_key)
{
    cli_ctx_t ctx;
    run_t r;
    s_ctx (&ctx, "default", "a/b/porthole");
    char config[PATH_MAX + 16], key[PATH_MAX + 16];
    snprintf (config, sizeof config, "%s/config", ctx.config_dir);
    snprintf (key, sizeof key, "%s/default.key", ctx.config_dir);

    /* usage errors change nothing */
    s_configure (&ctx, NULL, server_key, &r);
    CHECK (r.rc == PH_EXIT_USAGE);
    s_expect_in (r.err, "configure needs --endpoint");
    s_expect_in (r.err, "porthole configure --help");
    s_configure (&ctx, "tcp://h:7611", NULL, &r);
    CHECK (r.rc == PH_EXIT_USAGE);
    s_configure (&ctx, "tcp://h", server_key, &r);
    CHECK (r.rc == PH_EXIT_USAGE);
    s_expect_in (r.err, "has no :PORT");
    s_configure (&ctx, "tcp://h:7611", "not-a-key", &r);
    CHECK (r.rc == PH_EXIT_USAGE);
    s_expect_in (r.err, "'not-a-key' is not a 40-character Z85 CURVE key");
    CHECK (access (ctx.config_dir, F_OK) != 0);

    /* the first configure makes the directory, the config and a key */
    s_configure (&ctx, "tcp://ctl.example.com:7611", server_key, &r);
    CHECK (r.rc == PH_EXIT_OK);
    CHECK (s_mode (ctx.config_dir) == 0700);
    CHECK (s_mode (config) == 0600);
    CHECK (s_mode (key) == 0600);
    ph_keypair_t kp;
    CHECK (ph_keys_load (key, &kp) == 0);
    char want[64];
    snprintf (want, sizeof want, "%s\n", kp.public_z85);
    CHECK_STR (r.out, want); /* stdout: the public key alone */
    s_expect_in (r.err, "Wrote a new key");
    ph_config_t *c = ph_config_load (config, NULL, 0);
    CHECK (c != NULL);
    CHECK_STR (ph_config_get (c, "profile default", "endpoint"), "tcp://ctl.example.com:7611");
    CHECK_STR (ph_config_get (c, "profile default", "server_key"), server_key);
    ph_config_destroy (&c);

    /* again: the key is kept, the endpoint replaced */
    s_configure (&ctx, "tcp://10.0.0.9:7000", server_key, &r);
    CHECK (r.rc == PH_EXIT_OK);
    CHECK_STR (r.out, want);
    s_expect_in (r.err, "Kept the existing key");
    c = ph_config_load (config, NULL, 0);
    CHECK_STR (ph_config_get (c, "profile default", "endpoint"), "tcp://10.0.0.9:7000");
    ph_config_destroy (&c);

    /* a second profile: its own section and key; the first one stays */
    cli_ctx_t dev;
    s_ctx (&dev, "dev", "a/b/porthole");
    s_configure (&dev, "tcp://dev:7611", server_key, &r);
    CHECK (r.rc == PH_EXIT_OK);
    CHECK (strcmp (r.out, want) != 0 && strlen (r.out) == PH_Z85_KEY_LEN + 1);
    char dev_key[PATH_MAX + 16];
    snprintf (dev_key, sizeof dev_key, "%s/dev.key", dev.config_dir);
    CHECK (s_mode (dev_key) == 0600);
    c = ph_config_load (config, NULL, 0);
    CHECK_STR (ph_config_get (c, "profile dev", "endpoint"), "tcp://dev:7611");
    CHECK_STR (ph_config_get (c, "profile default", "endpoint"), "tcp://10.0.0.9:7000");
    ph_config_destroy (&c);

    /* a key readable by others is not silently replaced */
    chmod (key, 0644);
    s_configure (&ctx, "tcp://h:1", server_key, &r);
    CHECK (r.rc == PH_EXIT_CONFIG);
    s_expect_in (r.err, "readable by others; chmod 600 it");
    chmod (key, 0600);
    ph_keypair_t still;
    CHECK (ph_keys_load (key, &still) == 0 && strcmp (still.public_z85, kp.public_z85) == 0);
    /* (the config was written before the key was checked, so this failed
     * configure changed the endpoint anyway; put it back) */
    s_configure (&ctx, "tcp://10.0.0.9:7000", server_key, &r);
    CHECK (r.rc == PH_EXIT_OK);

    /* a directory that cannot be made */
    cli_ctx_t blocked;
    char file[1024];
    snprintf (file, sizeof file, "%s/plainfile", s_dir);
    ph_file_write (file, "x", 1, 0600);
    s_ctx (&blocked, "default", "plainfile/sub");
    s_configure (&blocked, "tcp://h:1", server_key, &r);
    CHECK (r.rc == PH_EXIT_CONFIG);
    s_expect_in (r.err, "cannot create the directory");
}

static void test_load (const char *server_key)
{
    cli_ctx_t ctx;
    cli_creds_t creds;
    run_t r;
    s_ctx (&ctx, "default", "a/b/porthole");
    unsetenv ("PORTHOLE_ENDPOINT");
    unsetenv ("PORTHOLE_SERVER_KEY");
    s_load (&ctx, &creds, &r);
    CHECK (r.rc == PH_EXIT_OK);
    CHECK_STR (creds.endpoint, "tcp://10.0.0.9:7000");
    CHECK_STR (creds.server_key, server_key);
    ph_keypair_t kp;
    char key[PATH_MAX + 16];
    snprintf (key, sizeof key, "%s/default.key", ctx.config_dir);
    ph_keys_load (key, &kp);
    CHECK_STR (creds.kp.public_z85, kp.public_z85);
    CHECK_STR (creds.kp.secret_z85, kp.secret_z85);

    /* the environment wins over the profile */
    ph_keypair_t other;
    ph_keys_generate (&other);
    setenv ("PORTHOLE_ENDPOINT", "tcp://override:9", 1);
    setenv ("PORTHOLE_SERVER_KEY", other.public_z85, 1);
    s_load (&ctx, &creds, &r);
    CHECK (r.rc == PH_EXIT_OK);
    CHECK_STR (creds.endpoint, "tcp://override:9");
    CHECK_STR (creds.server_key, other.public_z85);
    setenv ("PORTHOLE_ENDPOINT", "", 1); /* empty: the profile's */
    s_load (&ctx, &creds, &r);
    CHECK_STR (creds.endpoint, "tcp://10.0.0.9:7000");
    setenv ("PORTHOLE_ENDPOINT", "udp://x:1", 1);
    s_load (&ctx, &creds, &r);
    CHECK (r.rc == PH_EXIT_CONFIG);
    s_expect_in (r.err, "from $PORTHOLE_ENDPOINT or the profile");
    unsetenv ("PORTHOLE_ENDPOINT");
    setenv ("PORTHOLE_SERVER_KEY", "short", 1);
    s_load (&ctx, &creds, &r);
    CHECK (r.rc == PH_EXIT_CONFIG);
    s_expect_in (r.err, "the server key 'short' is not a 40-character Z85 CURVE key");
    unsetenv ("PORTHOLE_SERVER_KEY");

    /* a profile nobody configured */
    cli_ctx_t prod;
    s_ctx (&prod, "prod", "a/b/porthole");
    s_load (&prod, &creds, &r);
    CHECK (r.rc == PH_EXIT_CONFIG);
    s_expect_in (r.err, "no endpoint configured for profile prod");
    s_expect_in (r.err, "--profile prod");
    /* ... the default profile's message does not name it */
    cli_ctx_t empty;
    s_ctx (&empty, "default", "nothing-here");
    s_load (&empty, &creds, &r);
    CHECK (r.rc == PH_EXIT_CONFIG);
    s_expect_in (r.err, "no endpoint configured; run porthole configure");
    /* only the endpoint from the environment: the key is still missing */
    setenv ("PORTHOLE_ENDPOINT", "tcp://h:1", 1);
    s_load (&empty, &creds, &r);
    CHECK (r.rc == PH_EXIT_CONFIG);
    s_expect_in (r.err, "no server key configured for profile default");
    setenv ("PORTHOLE_SERVER_KEY", server_key, 1);
    s_load (&empty, &creds, &r);
    CHECK (r.rc == PH_EXIT_CONFIG);
    s_expect_in (r.err, "no key for profile default");
    unsetenv ("PORTHOLE_ENDPOINT");
    unsetenv ("PORTHOLE_SERVER_KEY");

    /* a key file readable by others, a malformed key, a malformed config */
    chmod (key, 0640);
    s_load (&ctx, &creds, &r);
    CHECK (r.rc == PH_EXIT_CONFIG);
    s_expect_in (r.err, "malformed or readable by others");
    ph_file_write (key, "public nonsense\n", 16, 0600);
    s_load (&ctx, &creds, &r);
    CHECK (r.rc == PH_EXIT_CONFIG);
    s_expect_in (r.err, "malformed or readable by others");
    char config[PATH_MAX + 16];
    snprintf (config, sizeof config, "%s/config", ctx.config_dir);
    ph_file_write (config, "[profile default]\nthis line is wrong\n", 37, 0600);
    s_load (&ctx, &creds, &r);
    CHECK (r.rc == PH_EXIT_CONFIG);
    s_expect_in (r.err, "fix the file or run porthole configure again");
}

int main (void)
{
    if (!mkdtemp (s_dir))
        return 1;
    ph_keypair_t server;
    ph_keys_generate (&server);
    test_dir ();
    test_endpoint ();
    test_configure (server.public_z85);
    test_load (server.public_z85);
    char cmd[256];
    snprintf (cmd, sizeof cmd, "rm -rf '%s'", s_dir);
    CHECK (system (cmd) == 0);
    PH_TEST_END ();
}
