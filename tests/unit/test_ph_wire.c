/*  Unit tests of common/ph_wire.c: round trips and every validation rule. */
#include "ph_errors.h"
#include "ph_test.h"
#include "ph_wire.h"

#include <stdlib.h>

static ph_env_t s_env (ph_body_t body)
{
    ph_env_t env = PH_ENV_INIT;
    env.version = PH_WIRE_VERSION;
    env.request_id = 42;
    env.body_case = body;
    return env;
}

/*  Encodes env and decodes it again; returns the decode result. */
static int s_roundtrip (const ph_env_t *env, ph_env_t **out, char *err, size_t errlen)
{
    size_t len;
    uint8_t *buf = ph_wire_encode (env, &len);
    if (!buf)
        return PH_ETOOBIG;
    int rc = ph_wire_decode (buf, len, out, err, errlen);
    free (buf);
    return rc;
}

static void s_test_good (void)
{
    char err[256];
    Porthole__V1__StartSessionRequest req = PORTHOLE__V1__START_SESSION_REQUEST__INIT;
    req.target = "mi-0123456789abcdef0";
    req.reason = "deploy";
    ph_env_t env = s_env (PORTHOLE__V1__ENVELOPE__BODY_START_SESSION);
    env.start_session = &req;
    ph_env_t *out;
    CHECK (s_roundtrip (&env, &out, err, sizeof err) == 0);
    CHECK (out && out->request_id == 42);
    CHECK_STR (out->start_session->target, "mi-0123456789abcdef0");
    CHECK_STR (ph_wire_body_name (out->body_case), "start_session");
    ph_wire_free (&out);
    CHECK (out == NULL);
}

static void s_test_bad_envelopes (void)
{
    char err[256];
    ph_env_t *out;
    CHECK (ph_wire_decode ("\xff\xff\xff\xff", 4, &out, err, sizeof err) == PH_EPROTO && !out);
    CHECK (ph_wire_decode ("", 0, &out, err, sizeof err) == PH_EPROTO);         /* version 0 */
    CHECK (ph_wire_decode ("\x08\x01", 2, &out, err, sizeof err) == PH_EPROTO); /* no body */
    CHECK (strstr (err, "no body") != NULL);
    CHECK (ph_wire_decode ("x", PH_MSG_MAX + 1, &out, err, sizeof err) == PH_ETOOBIG);

    Porthole__V1__Heartbeat hb = PORTHOLE__V1__HEARTBEAT__INIT;
    ph_env_t env = s_env (PORTHOLE__V1__ENVELOPE__BODY_HEARTBEAT);
    env.heartbeat = &hb;
    env.version = 7;
    CHECK (s_roundtrip (&env, &out, err, sizeof err) == PH_EPROTO);
    CHECK (strstr (err, "version 7") != NULL);
}

static void s_test_required_and_strings (void)
{
    char err[256];
    ph_env_t *out;
    Porthole__V1__Enroll en = PORTHOLE__V1__ENROLL__INIT;
    en.activation_id = "abc";
    ph_env_t env = s_env (PORTHOLE__V1__ENVELOPE__BODY_ENROLL);
    env.enroll = &en;
    CHECK (s_roundtrip (&env, &out, err, sizeof err) == PH_EPROTO);
    CHECK (strstr (err, "activation_code") != NULL);
    en.activation_code = "code";
    en.hostname = "bad\xff";
    CHECK (s_roundtrip (&env, &out, err, sizeof err) == PH_EPROTO);
    CHECK (strstr (err, "UTF-8") != NULL);
    char *big = malloc (PH_STR_MAX + 2);
    memset (big, 'a', PH_STR_MAX + 1);
    big[PH_STR_MAX + 1] = 0;
    en.hostname = big;
    CHECK (s_roundtrip (&env, &out, err, sizeof err) == PH_EPROTO);
    en.hostname = "host";
    CHECK (s_roundtrip (&env, &out, err, sizeof err) == 0);
    ph_wire_free (&out);
    free (big);
}

static void s_test_stream_data (void)
{
    char err[256];
    ph_env_t *out;
    Porthole__V1__StreamData sd = PORTHOLE__V1__STREAM_DATA__INIT;
    sd.session_id = "alice-0123456789abcdef0";
    ph_env_t env = s_env (PORTHOLE__V1__ENVELOPE__BODY_STREAM_DATA);
    env.stream_data = &sd;
    CHECK (s_roundtrip (&env, &out, err, sizeof err) == PH_EPROTO); /* kind unset */
    sd.kind = PORTHOLE__V1__STREAM_KIND__STDOUT;
    sd.seq = 1;
    static uint8_t payload[PH_PAYLOAD_MAX + 1];
    sd.payload.data = payload;
    sd.payload.len = PH_PAYLOAD_MAX;
    CHECK (s_roundtrip (&env, &out, err, sizeof err) == 0);
    CHECK (out && out->stream_data->payload.len == PH_PAYLOAD_MAX);
    ph_wire_free (&out);
    sd.payload.len = PH_PAYLOAD_MAX + 1;
    CHECK (s_roundtrip (&env, &out, err, sizeof err) == PH_EPROTO);
    sd.payload.len = 0;
    sd.kind = PORTHOLE__V1__STREAM_KIND__ACK; /* ACK must have seq 0 */
    CHECK (s_roundtrip (&env, &out, err, sizeof err) == PH_EPROTO);
    sd.seq = 0;
    CHECK (s_roundtrip (&env, &out, err, sizeof err) == 0);
    ph_wire_free (&out);
    sd.kind = 99; /* unknown enum value */
    CHECK (s_roundtrip (&env, &out, err, sizeof err) == PH_EPROTO);
    CHECK (strstr (err, "unknown value") != NULL);
}

static void s_test_repeated_limit (void)
{
    char err[256];
    ph_env_t *out;
    Porthole__V1__Hello hello = PORTHOLE__V1__HELLO__INIT;
    hello.n_session_ids = PH_REPEATED_MAX + 1;
    hello.session_ids = calloc (hello.n_session_ids, sizeof (char *));
    for (size_t i = 0; i < hello.n_session_ids; i++)
        hello.session_ids[i] = "s";
    ph_env_t env = s_env (PORTHOLE__V1__ENVELOPE__BODY_HELLO);
    env.hello = &hello;
    CHECK (s_roundtrip (&env, &out, err, sizeof err) == PH_EPROTO);
    hello.n_session_ids = 3;
    CHECK (s_roundtrip (&env, &out, err, sizeof err) == 0);
    CHECK (out && out->hello->n_session_ids == 3);
    ph_wire_free (&out);
    free (hello.session_ids);
}

int main (void)
{
    s_test_good ();
    s_test_bad_envelopes ();
    s_test_required_and_strings ();
    s_test_stream_data ();
    s_test_repeated_limit ();
    PH_TEST_END ();
}
