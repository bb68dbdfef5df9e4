/*  cli_test: running one CLI verb in-process the way the verb tests do:
 *  options as name/value pairs, stdout and stderr captured into files and
 *  read back, a profile "default" (endpoint, server key, a user key) in
 *  the config dir cli_test_dir, which the test sets (a mkdtemp dir) before
 *  running anything. Usage errors must send nothing to the fake
 *  controller (cli_fake.h). Header-only: every function is static. */
#ifndef CLI_TEST_H
#define CLI_TEST_H

#include "cli.h"
#include "cli_args.h"
#include "cli_fake.h"
#include "ph_config.h"
#include "ph_keys.h"
#include "ph_test.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define T_UNUSED __attribute__ ((unused)) /* not every test uses every helper */

#define OPTS(...) ((const char *const[]){__VA_ARGS__, NULL})
#define NO_OPTS   ((const char *const *)NULL)

static char *cli_test_dir; /* the profile's config dir; set by the test */

typedef struct {
    int rc;
    char *out; /* heap */
    char err[2048];
} cli_test_run_t;

typedef int (cli_test_fn) (cli_ctx_t *ctx, const cli_args_t *args);

static T_UNUSED int s_cli_test_tmpfile (void)
{
    char path[] = "/tmp/ph-test-cli-verbs-out-XXXXXX";
    int fd = mkstemp (path);
    unlink (path);
    return fd;
}

/*  Runs verb with options given as NULL-terminated name/value pairs. */
static T_UNUSED void cli_test_run (cli_test_run_t *r, cli_test_fn *verb, const char *name,
                                   cli_output_t output, const char *const *opts)
{
    cli_ctx_t ctx;
    memset (&ctx, 0, sizeof ctx);
    snprintf (ctx.profile, sizeof ctx.profile, "default");
    snprintf (ctx.config_dir, sizeof ctx.config_dir, "%s", cli_test_dir);
    ctx.output = output;
    ctx.timeout_s = 5;
    ctx.verb = name;
    cli_args_t args;
    memset (&args, 0, sizeof args);
    args.verb = name;
    for (size_t i = 0; opts && opts[i]; i += 2)
        args.items[args.count++] = (cli_arg_t){opts[i], opts[i + 1]};
    int out = s_cli_test_tmpfile (), err = s_cli_test_tmpfile ();
    fflush (stdout);
    fflush (stderr);
    int so = dup (1), se = dup (2);
    dup2 (out, 1);
    dup2 (err, 2);
    r->rc = verb (&ctx, &args);
    fflush (stdout);
    fflush (stderr);
    dup2 (so, 1);
    dup2 (se, 2);
    close (so);
    close (se);
    off_t size = lseek (out, 0, SEEK_END);
    r->out = calloc (1, (size_t)size + 1);
    if (pread (out, r->out, (size_t)size, 0) != size)
        r->out[0] = 0;
    ssize_t n = pread (err, r->err, sizeof r->err - 1, 0);
    r->err[n > 0 ? n : 0] = 0;
    close (out);
    close (err);
}

static T_UNUSED void cli_test_expect_in (const char *text, const char *want)
{
    if (!strstr (text, want)) {
        fprintf (stderr, "'%s' lacks '%s'\n", text, want);
        CHECK (false);
    } else
        CHECK (true);
}

/*  A usage error: exit 64, a message with want, and nothing sent. */
static T_UNUSED void cli_test_expect_usage (zactor_t *server, cli_test_fn *verb, const char *name,
                                            const char *const *opts, const char *want)
{
    ph_env_t *last;
    int before = cli_fake_last (server, &last);
    ph_wire_free (&last);
    cli_test_run_t r;
    cli_test_run (&r, verb, name, CLI_OUT_JSON, opts);
    CHECK (r.rc == PH_EXIT_USAGE);
    cli_test_expect_in (r.err, want);
    CHECK_STR (r.out, "");
    free (r.out);
    CHECK (cli_fake_last (server, &last) == before);
    ph_wire_free (&last);
}

/*  A profile "default" in cli_test_dir: endpoint, the controller's
 *  server_key (Z85) and a new user key. */
static T_UNUSED void cli_test_write_profile (const char *endpoint, const char *server_key)
{
    char path[256];
    ph_config_t *c = ph_config_new ();
    ph_config_set (c, "profile default", "endpoint", endpoint);
    ph_config_set (c, "profile default", "server_key", server_key);
    snprintf (path, sizeof path, "%s/config", cli_test_dir);
    ph_config_save (c, path, 0600);
    ph_config_destroy (&c);
    ph_keypair_t kp;
    ph_keys_generate (&kp);
    snprintf (path, sizeof path, "%s/default.key", cli_test_dir);
    ph_keys_save (&kp, path);
}

#endif
