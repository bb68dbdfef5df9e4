/*  cli_profile: see cli_profile.h. */
#include "cli_profile.h"
#include "cli_output.h"
#include "ph_config.h"
#include "ph_util.h"

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CLI_CONFIG_FILE "config"
#define CLI_DIR_MODE    0700
#define CLI_FILE_MODE   0600

int cli_profile_dir (char *buf, size_t len)
{
    const char *dir = getenv ("PORTHOLE_CONFIG_DIR");
    if (dir && *dir) {
        snprintf (buf, len, "%s", dir);
        return 0;
    }
    const char *home = getenv ("HOME");
    if (!home || !*home) {
        struct passwd *pw = getpwuid (getuid ());
        home = pw ? pw->pw_dir : NULL;
    }
    if (!home || !*home)
        return PH_EINVAL;
    snprintf (buf, len, "%s/.config/porthole", home);
    return 0;
}

static bool s_fail (char *err, size_t errlen, const char *endpoint, const char *why)
{
    snprintf (err, errlen, "endpoint '%s' %s; write it as tcp://HOST:PORT, e.g. tcp://%s:7611",
              endpoint, why, "controller.example.com");
    return false;
}

static bool s_host_valid (const char *host, size_t len)
{
    if (len == 0)
        return false;
    if (host[0] == '[')
        return len > 2 && host[len - 1] == ']' &&
               strspn (host + 1, "0123456789abcdefABCDEF:.") == len - 2;
    for (size_t i = 0; i < len; i++) {
        char c = host[i];
        if (!(c == '-' || c == '.' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
              (c >= 'A' && c <= 'Z')))
            return false;
    }
    return true;
}

bool cli_endpoint_valid (const char *endpoint, char *err, size_t errlen)
{
    if (strncmp (endpoint, "tcp://", 6) != 0)
        return s_fail (err, errlen, endpoint, "does not start with tcp://");
    const char *host = endpoint + 6;
    const char *colon = strrchr (host, ':');
    if (!colon || (host[0] == '[' && colon < strchr (host, ']')))
        return s_fail (err, errlen, endpoint, "has no :PORT");
    if (!s_host_valid (host, (size_t)(colon - host)))
        return s_fail (err, errlen, endpoint, "has no valid host name or address");
    uint64_t port;
    if (ph_parse_uint (colon + 1, 1, 65535, &port) != 0)
        return s_fail (err, errlen, endpoint, "has a port that is not a number in 1..65535");
    if (strlen (endpoint) >= CLI_ENDPOINT_MAX)
        return s_fail (err, errlen, endpoint, "is too long");
    return true;
}

static int s_path (const cli_ctx_t *ctx, const char *file, char *buf, size_t len)
{
    if ((size_t)snprintf (buf, len, "%s/%s", ctx->config_dir, file) >= len)
        return PH_EINVAL;
    return 0;
}

static int s_key_path (const cli_ctx_t *ctx, char *buf, size_t len)
{
    char file[CLI_PROFILE_NAME_MAX + 8];
    snprintf (file, sizeof file, "%s.key", ctx->profile);
    return s_path (ctx, file, buf, len);
}

/*  Loads the config file, or prints why not and returns NULL. */
static ph_config_t *s_load_config (const cli_ctx_t *ctx)
{
    char path[PATH_MAX + 16], err[512];
    s_path (ctx, CLI_CONFIG_FILE, path, sizeof path);
    ph_config_t *config = ph_config_load (path, err, sizeof err);
    if (!config)
        cli_error (PH_EXIT_CONFIG, "%s; fix the file or run porthole configure again", err);
    return config;
}

static int s_load_key (const cli_ctx_t *ctx, ph_keypair_t *kp)
{
    char path[PATH_MAX + 80];
    s_key_path (ctx, path, sizeof path);
    int rc = ph_keys_load (path, kp);
    if (rc == PH_ENOENT)
        return cli_error (PH_EXIT_CONFIG,
                          "no key for profile %s (%s); run porthole configure --profile %s "
                          "--endpoint tcp://HOST:7611 --server-key KEY",
                          ctx->profile, path, ctx->profile);
    if (rc != 0)
        return cli_error (PH_EXIT_CONFIG,
                          "the key file %s is malformed or readable by others; chmod 600 it, or "
                          "remove it and run porthole configure to make a new key",
                          path);
    return PH_EXIT_OK;
}

/*  The value of key: environment first, then the profile's section. */
static const char *s_setting (const ph_config_t *config, const char *section, const char *env,
                              const char *key)
{
    const char *value = getenv (env);
    if (value && *value)
        return value;
    value = ph_config_get (config, section, key);
    return value && *value ? value : NULL;
}

static int s_check_creds (const cli_ctx_t *ctx, const char *endpoint, const char *server_key)
{
    char err[512];
    if (!endpoint)
        return cli_error (PH_EXIT_CONFIG,
                          "no endpoint configured%s%s; run porthole configure "
                          "--endpoint tcp://HOST:7611 --server-key KEY%s%s",
                          strcmp (ctx->profile, CLI_PROFILE_DEFAULT) ? " for profile " : "",
                          strcmp (ctx->profile, CLI_PROFILE_DEFAULT) ? ctx->profile : "",
                          strcmp (ctx->profile, CLI_PROFILE_DEFAULT) ? " --profile " : "",
                          strcmp (ctx->profile, CLI_PROFILE_DEFAULT) ? ctx->profile : "");
    if (!cli_endpoint_valid (endpoint, err, sizeof err))
        return cli_error (PH_EXIT_CONFIG, "%s (from $PORTHOLE_ENDPOINT or the profile)", err);
    if (!server_key)
        return cli_error (PH_EXIT_CONFIG,
                          "no server key configured for profile %s; run porthole "
                          "configure --endpoint %s --server-key KEY (the controller's public key)",
                          ctx->profile, endpoint);
    if (!ph_keys_z85_valid (server_key))
        return cli_error (PH_EXIT_CONFIG,
                          "the server key '%s' is not a 40-character Z85 CURVE "
                          "key; copy the controller's public key again",
                          server_key);
    return PH_EXIT_OK;
}

int cli_profile_load (const cli_ctx_t *ctx, cli_creds_t *creds)
{
    char section[CLI_PROFILE_NAME_MAX + 16];
    snprintf (section, sizeof section, "profile %s", ctx->profile);
    ph_config_t *config = s_load_config (ctx);
    if (!config)
        return PH_EXIT_CONFIG;
    const char *endpoint = s_setting (config, section, "PORTHOLE_ENDPOINT", "endpoint");
    const char *server_key = s_setting (config, section, "PORTHOLE_SERVER_KEY", "server_key");
    int rc = s_check_creds (ctx, endpoint, server_key);
    if (rc == PH_EXIT_OK) {
        snprintf (creds->endpoint, sizeof creds->endpoint, "%s", endpoint);
        snprintf (creds->server_key, sizeof creds->server_key, "%s", server_key);
        rc = s_load_key (ctx, &creds->kp);
    }
    ph_config_destroy (&config);
    return rc;
}

/*  Keeps an existing key of the profile or makes one. Returns an exit code. */
static int s_ensure_key (const cli_ctx_t *ctx, ph_keypair_t *kp)
{
    char path[PATH_MAX + 80];
    s_key_path (ctx, path, sizeof path);
    int rc = ph_keys_load (path, kp);
    if (rc == 0) {
        fprintf (stderr, "Kept the existing key %s.\n", path);
        return PH_EXIT_OK;
    }
    if (rc != PH_ENOENT)
        return s_load_key (ctx, kp); /* prints the reason */
    if (ph_keys_generate (kp) != 0 || ph_keys_save (kp, path) != 0)
        return cli_error (PH_EXIT_CONFIG,
                          "cannot write the key file %s: %s; check the "
                          "directory's permissions",
                          path, strerror (errno));
    fprintf (stderr, "Wrote a new key %s.\n", path);
    return PH_EXIT_OK;
}

static int s_save_config (const cli_ctx_t *ctx, const char *endpoint, const char *server_key)
{
    char path[PATH_MAX + 16], section[CLI_PROFILE_NAME_MAX + 16];
    snprintf (section, sizeof section, "profile %s", ctx->profile);
    s_path (ctx, CLI_CONFIG_FILE, path, sizeof path);
    ph_config_t *config = s_load_config (ctx);
    if (!config)
        return PH_EXIT_CONFIG;
    int rc = PH_EXIT_OK;
    if (ph_config_set (config, section, "endpoint", endpoint) != 0 ||
        ph_config_set (config, section, "server_key", server_key) != 0 ||
        ph_config_save (config, path, CLI_FILE_MODE) != 0)
        rc = cli_error (PH_EXIT_CONFIG, "cannot write %s: %s; check the directory's permissions",
                        path, strerror (errno));
    else
        fprintf (stderr, "Wrote profile %s to %s.\n", ctx->profile, path);
    ph_config_destroy (&config);
    return rc;
}

int cli_verb_configure (cli_ctx_t *ctx, const cli_args_t *args)
{
    const char *endpoint = cli_args_get (args, "endpoint");
    const char *server_key = cli_args_get (args, "server-key");
    char err[512];
    if (!endpoint || !server_key)
        return cli_usage_error (ctx->verb, "configure needs --endpoint tcp://HOST:7611 and "
                                           "--server-key KEY (the controller's public key)");
    if (!cli_endpoint_valid (endpoint, err, sizeof err))
        return cli_usage_error (ctx->verb, "%s", err);
    if (!ph_keys_z85_valid (server_key))
        return cli_usage_error (ctx->verb,
                                "--server-key '%s' is not a 40-character Z85 CURVE "
                                "key; use the public key that porthole-controller keygen printed",
                                server_key);
    if (ph_mkdir_p (ctx->config_dir, CLI_DIR_MODE) != 0)
        return cli_error (PH_EXIT_CONFIG, "cannot create the directory %s: %s", ctx->config_dir,
                          strerror (errno));
    ph_keypair_t kp;
    int rc = s_save_config (ctx, endpoint, server_key);
    if (rc == PH_EXIT_OK)
        rc = s_ensure_key (ctx, &kp);
    if (rc != PH_EXIT_OK)
        return rc;
    fprintf (stderr, "Your public key follows; an administrator registers it for you.\n");
    printf ("%s\n", kp.public_z85);
    return fflush (stdout) == 0 ? PH_EXIT_OK : PH_EXIT_CONFIG;
}
