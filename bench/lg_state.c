/*  lg_state: where ph-loadgen finds its stack and keeps its agents.
 *
 *  The stack is a porthole-dev directory (deploy/porthole-dev up DIR):
 *  DIR/agent_endpoint, DIR/cli/config ([profile default] endpoint and
 *  server_key), DIR/cli/default.key (the admin's keypair), DIR/env
 *  (PORTHOLE_REDIS_URL), DIR/pids/{controller,agent-1}.pid and
 *  DIR/agents/1/agent.conf (the real agent's instance id). The command
 *  line wins over the stack, the stack over the environment.
 *
 *  The state directory keeps the enrolled agents, so that later runs skip
 *  enrollment: one file, `agents` (mode 0600):
 *
 *      # ph-loadgen state v1
 *      server_key=<the controller's public key>
 *      mi-0a1b2c3d4e5f60718 <public Z85> <secret Z85>
 *      ...
 *
 *  Identities belong to the cluster whose controller key they were
 *  enrolled with; a state file of another key is ignored.
 */
#include "lg.h"
#include "ph_config.h"
#include "ph_errors.h"
#include "ph_log.h"
#include "ph_util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LG_STATE_FILE    "agents"
#define LG_STATE_HEADER  "# ph-loadgen state v1\n"
#define LG_STATE_MAX     (64u * 1024 * 1024)
#define LG_SMALL_FILE    4096
#define LG_PROFILE       "profile default"
#define LG_REDIS_ENV_KEY "PORTHOLE_REDIS_URL='"

static int s_fail (char *err, size_t errlen, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

static int s_fail (char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (err, errlen, fmt, ap);
    va_end (ap);
    return PH_EINVAL;
}

/*  Copies the first line of a small file into buf (empty when missing). */
static void s_read_line (const char *path, char *buf, size_t len)
{
    char *text = ph_file_read (path, LG_SMALL_FILE, NULL);
    buf[0] = 0;
    if (!text)
        return;
    text[strcspn (text, "\r\n")] = 0;
    snprintf (buf, len, "%s", text);
    free (text);
}

/*  Sets dst to value unless dst is set already (truncating to len). */
static void s_set (char *dst, size_t len, const char *value)
{
    if (*dst || !value || !*value || len == 0)
        return;
    size_t n = strlen (value);
    n = n < len ? n : len - 1;
    memcpy (dst, value, n);
    dst[n] = 0;
}

/*  PORTHOLE_REDIS_URL='...' from DIR/env (written by porthole-dev). */
static void s_redis_from_env_file (const char *path, char *buf, size_t len)
{
    char *text = ph_file_read (path, LG_SMALL_FILE, NULL);
    if (!text)
        return;
    char *at = strstr (text, LG_REDIS_ENV_KEY);
    if (at) {
        at += strlen (LG_REDIS_ENV_KEY);
        at[strcspn (at, "'\n")] = 0;
        s_set (buf, len, at);
    }
    free (text);
}

static void s_from_cli_config (lg_opts_t *o, const char *dir)
{
    char path[LG_PATH_MAX + 32], err[256];
    snprintf (path, sizeof path, "%s/config", dir);
    ph_config_t *conf = ph_config_load (path, err, sizeof err);
    if (conf) {
        s_set (o->client_endpoint, sizeof o->client_endpoint,
               ph_config_get (conf, LG_PROFILE, "endpoint"));
        s_set (o->server_key, sizeof o->server_key, ph_config_get (conf, LG_PROFILE, "server_key"));
        ph_config_destroy (&conf);
    }
    snprintf (path, sizeof path, "%s/default.key", dir);
    s_set (o->admin_key_file, sizeof o->admin_key_file, path);
}

static void s_from_stack (lg_opts_t *o)
{
    char path[LG_PATH_MAX + 64], line[LG_ENDPOINT_MAX];
    const char *d = o->stack;
    snprintf (path, sizeof path, "%s/agent_endpoint", d);
    s_read_line (path, line, sizeof line);
    s_set (o->agent_endpoint, sizeof o->agent_endpoint, line);
    snprintf (path, sizeof path, "%s/cli", d);
    s_from_cli_config (o, path);
    snprintf (path, sizeof path, "%s/env", d);
    s_redis_from_env_file (path, o->redis_url, sizeof o->redis_url);
    snprintf (path, sizeof path, "%s/loadgen", d);
    s_set (o->state_dir, sizeof o->state_dir, path);
    if (!o->controller_pid) {
        snprintf (path, sizeof path, "%s/pids/controller.pid", d);
        s_set (o->controller_pid_file, sizeof o->controller_pid_file, path);
    }
    if (!o->agent_pid) {
        snprintf (path, sizeof path, "%s/pids/agent-1.pid", d);
        s_set (o->agent_pid_file, sizeof o->agent_pid_file, path);
    }
    snprintf (path, sizeof path, "%s/agents/1/agent.conf", d);
    char err[256];
    ph_config_t *conf = ph_config_load (path, err, sizeof err);
    if (conf) {
        s_set (o->real_target, sizeof o->real_target, ph_config_get (conf, "", "instance_id"));
        ph_config_destroy (&conf);
    }
}

static void s_from_environment (lg_opts_t *o)
{
    s_set (o->client_endpoint, sizeof o->client_endpoint, getenv ("PORTHOLE_ENDPOINT"));
    s_set (o->server_key, sizeof o->server_key, getenv ("PORTHOLE_SERVER_KEY"));
    s_set (o->redis_url, sizeof o->redis_url, getenv ("PORTHOLE_REDIS_URL"));
    const char *dir = getenv ("PORTHOLE_CONFIG_DIR");
    if (dir && *dir)
        s_from_cli_config (o, dir);
}

int lg_stack_resolve (lg_opts_t *o, char *err, size_t errlen)
{
    if (*o->stack)
        s_from_stack (o);
    s_from_environment (o);
    s_set (o->state_dir, sizeof o->state_dir, "ph-loadgen-state");
    if (strncmp (o->agent_endpoint, "tcp://", 6) != 0)
        return s_fail (err, errlen,
                       "no agents endpoint; give --stack DIR (a porthole-dev stack) or "
                       "--agent-endpoint tcp://HOST:PORT");
    if (strncmp (o->client_endpoint, "tcp://", 6) != 0)
        return s_fail (err, errlen,
                       "no clients endpoint; give --stack DIR, --client-endpoint "
                       "tcp://HOST:PORT or set PORTHOLE_ENDPOINT");
    if (!ph_keys_z85_valid (o->server_key))
        return s_fail (err, errlen,
                       "no valid controller key; give --stack DIR, --server-key KEY (40 Z85 "
                       "characters) or set PORTHOLE_SERVER_KEY");
    if (!*o->admin_key_file)
        return s_fail (err, errlen,
                       "no admin key; give --stack DIR, --admin-key FILE or set "
                       "PORTHOLE_CONFIG_DIR");
    return 0;
}

/* ---- state file ----------------------------------------------------------- */

int lg_state_add (lg_state_t *st, const char *iid, const ph_keypair_t *kp)
{
    if (st->count == st->cap) {
        size_t cap = st->cap ? st->cap * 2 : 1024;
        lg_identity_t *ids = realloc (st->ids, cap * sizeof *ids);
        if (!ids)
            return PH_ENOMEM;
        st->ids = ids;
        st->cap = cap;
    }
    lg_identity_t *id = &st->ids[st->count++];
    snprintf (id->iid, sizeof id->iid, "%s", iid);
    id->kp = *kp;
    return 0;
}

void lg_state_free (lg_state_t *st)
{
    if (st->ids)
        memset (st->ids, 0, st->cap * sizeof *st->ids);
    free (st->ids);
    memset (st, 0, sizeof *st);
}

static void s_state_path (const lg_opts_t *o, char *buf, size_t len)
{
    snprintf (buf, len, "%s/%s", o->state_dir, LG_STATE_FILE);
}

/*  One "mi-... PUBLIC SECRET" line into st; false when malformed. */
static bool s_parse_identity (lg_state_t *st, char *line)
{
    char *iid = strtok (line, " ");
    char *pub = strtok (NULL, " ");
    char *sec = strtok (NULL, " ");
    if (!iid || !pub || !sec || !ph_instance_id_valid (iid) || !ph_keys_z85_valid (pub) ||
        !ph_keys_z85_valid (sec))
        return false;
    ph_keypair_t kp;
    snprintf (kp.public_z85, sizeof kp.public_z85, "%s", pub);
    snprintf (kp.secret_z85, sizeof kp.secret_z85, "%s", sec);
    return lg_state_add (st, iid, &kp) == 0;
}

int lg_state_load (const lg_opts_t *o, lg_state_t *st, char *err, size_t errlen)
{
    char path[LG_PATH_MAX + 16];
    s_state_path (o, path, sizeof path);
    memset (st, 0, sizeof *st);
    char *text = ph_file_read (path, LG_STATE_MAX, NULL);
    if (!text)
        return 0; /* nothing enrolled yet */
    bool same_cluster = false;
    int rc = 0;
    unsigned lineno = 0;
    for (char *save = NULL, *line = strtok_r (text, "\n", &save); line;
         line = strtok_r (NULL, "\n", &save)) {
        lineno++;
        if (*line == '#')
            continue;
        if (strncmp (line, "server_key=", 11) == 0) {
            same_cluster = strcmp (line + 11, o->server_key) == 0;
            if (!same_cluster)
                break;
            continue;
        }
        if (!same_cluster || !s_parse_identity (st, line)) {
            rc = s_fail (err, errlen, "%s line %u is malformed; remove the file to enroll anew",
                         path, lineno);
            break;
        }
    }
    if (rc == 0 && !same_cluster && st->count == 0)
        ph_warn ("%s belongs to another controller key; enrolling new agents", path);
    free (text);
    return rc;
}

int lg_state_save (const lg_opts_t *o, const lg_state_t *st)
{
    char path[LG_PATH_MAX + 16];
    if (ph_mkdir_p (o->state_dir, 0700) != 0)
        return PH_EIO;
    s_state_path (o, path, sizeof path);
    size_t cap = 128 + st->count * 128, len = 0;
    char *buf = malloc (cap);
    if (!buf)
        return PH_ENOMEM;
    len += (size_t)snprintf (buf + len, cap - len, "%sserver_key=%s\n", LG_STATE_HEADER,
                             o->server_key);
    for (size_t i = 0; i < st->count; i++)
        len += (size_t)snprintf (buf + len, cap - len, "%s %s %s\n", st->ids[i].iid,
                                 st->ids[i].kp.public_z85, st->ids[i].kp.secret_z85);
    int rc = ph_file_write (path, buf, len, 0600);
    memset (buf, 0, len);
    free (buf);
    return rc;
}
