/*  Unit tests of cli/cli_filter.c: the --filters syntax (Key=...,Values=...
 *  in any case, Value= as an alias), keys checked against a list and
 *  respelt as the list spells them, and every malformed filter refused
 *  with a message that shows the right form. Runs under ASan, so every
 *  path, failed ones included, must free what it parsed. */
#include "cli_filter.h"
#include "ph_errors.h"
#include "ph_test.h"

#include <stdio.h>
#include <string.h>

static const char *const s_session_keys[] = {"Target", "Owner", "Status", NULL};

/*  args holding the given --filters values (at most CLI_ARGS_MAX). */
static void s_args (cli_args_t *args, const char *const *values, size_t n)
{
    memset (args, 0, sizeof *args);
    args->verb = "describe-sessions";
    for (size_t i = 0; i < n; i++) {
        args->items[i].name = "filters";
        args->items[i].value = values[i];
    }
    args->count = n;
}

/*  Parses one --filters value; returns the rc, err the message. */
static int s_one (cli_filters_t *f, const char *value, const char *const *allowed, char *err,
                  size_t errlen)
{
    cli_args_t args;
    s_args (&args, &value, 1);
    err[0] = 0;
    return cli_filters_parse (f, &args, allowed, err, errlen);
}

static void test_good (void)
{
    cli_filters_t f;
    char err[512];
    CHECK (s_one (&f, "Key=tag:role,Values=web,db", NULL, err, sizeof err) == 0);
    CHECK (f.count == 1);
    if (f.count == 1) {
        CHECK_STR (f.items[0]->key, "tag:role");
        CHECK (f.items[0]->n_values == 2);
        CHECK_STR (f.items[0]->values[0], "web");
        CHECK_STR (f.items[0]->values[1], "db");
    }
    cli_filters_free (&f);
    CHECK (f.count == 0);

    /* names in any case, "Value=" as well as "Values=", key respelt */
    CHECK (s_one (&f, "key=target,value=mi-0123456789abcdef0", s_session_keys, err, sizeof err) ==
           0);
    CHECK (f.count == 1);
    if (f.count == 1) {
        CHECK_STR (f.items[0]->key, "Target");
        CHECK (f.items[0]->n_values == 1);
        CHECK_STR (f.items[0]->values[0], "mi-0123456789abcdef0");
    }
    cli_filters_free (&f);
    CHECK (s_one (&f, "KEY=OWNER,VALUES=alice", s_session_keys, err, sizeof err) == 0);
    CHECK (f.count == 1 && strcmp (f.items[0]->key, "Owner") == 0);
    cli_filters_free (&f);

    /* without a list, the key is kept as typed */
    CHECK (s_one (&f, "Key=PingStatus,Values=Online", NULL, err, sizeof err) == 0);
    CHECK (f.count == 1 && strcmp (f.items[0]->key, "PingStatus") == 0);
    cli_filters_free (&f);

    /* '=' inside a value is part of the value */
    CHECK (s_one (&f, "Key=tag:x,Values=a=b", NULL, err, sizeof err) == 0);
    CHECK (f.count == 1 && f.items[0]->n_values == 1 && strcmp (f.items[0]->values[0], "a=b") == 0);
    cli_filters_free (&f);

    /* several filters keep their order; none at all is fine */
    const char *two[] = {"Key=Status,Values=Connected", "Key=Owner,Values=bob,carol"};
    cli_args_t args;
    s_args (&args, two, 2);
    CHECK (cli_filters_parse (&f, &args, s_session_keys, err, sizeof err) == 0);
    CHECK (f.count == 2);
    if (f.count == 2) {
        CHECK_STR (f.items[0]->key, "Status");
        CHECK_STR (f.items[1]->key, "Owner");
        CHECK (f.items[1]->n_values == 2);
        CHECK_STR (f.items[1]->values[1], "carol");
    }
    cli_filters_free (&f);
    s_args (&args, NULL, 0);
    CHECK (cli_filters_parse (&f, &args, s_session_keys, err, sizeof err) == 0 && f.count == 0);
    cli_filters_free (&f);
}

/*  Expects value to be refused with a message containing want. */
static void s_expect_refused (const char *value, const char *const *allowed, const char *want)
{
    cli_filters_t f;
    char err[512];
    int rc = s_one (&f, value, allowed, err, sizeof err);
    CHECK (rc == PH_EINVAL);
    if (!strstr (err, want)) {
        fprintf (stderr, "filter '%s': message '%s' lacks '%s'\n", value, err, want);
        CHECK (false);
    }
    cli_filters_free (&f);
}

static void test_bad (void)
{
    s_expect_refused ("Key=Bogus,Values=x", s_session_keys,
                      "filter key 'Bogus' is not known; use one of Target, Owner, Status");
    s_expect_refused ("Key=,Values=x", NULL, "empty Key");
    s_expect_refused ("Key=tag:,Values=x", NULL, "names no tag");
    s_expect_refused ("Key=a,Values=", NULL, "has an empty value");
    s_expect_refused ("Key=a,Values=x,,y", NULL, "has an empty value");
    s_expect_refused ("Key=a,Values=,x", NULL, "has an empty value");
    s_expect_refused ("Key=a,Values=x,", NULL, "ends with ','");
    s_expect_refused ("Values=x,Key=a", NULL, "is not understood");
    s_expect_refused ("Key=a", NULL, "is not understood");
    s_expect_refused ("tag:role=web", NULL, "is not understood");
    s_expect_refused ("Key=a,Vals=x", NULL, "Key=NAME,Values=V1");
    s_expect_refused ("", NULL, "is not understood");
}

static void test_limits (void)
{
    cli_filters_t f;
    char err[512];
    /* CLI_FILTER_VALUES_MAX values fit, one more does not */
    char text[2048] = "Key=tag:n,Values=";
    for (int i = 0; i < CLI_FILTER_VALUES_MAX; i++)
        snprintf (text + strlen (text), sizeof text - strlen (text), "%sv%d", i ? "," : "", i);
    CHECK (s_one (&f, text, NULL, err, sizeof err) == 0);
    CHECK (f.count == 1 && f.items[0]->n_values == CLI_FILTER_VALUES_MAX);
    CHECK_STR (f.items[0]->values[CLI_FILTER_VALUES_MAX - 1], "v99");
    cli_filters_free (&f);
    strcat (text, ",v100");
    CHECK (s_one (&f, text, NULL, err, sizeof err) == PH_EINVAL);
    CHECK (strstr (err, "more than 100 values") != NULL);
    cli_filters_free (&f);

    /* CLI_FILTERS_MAX filters fit, one more does not */
    const char *many[CLI_FILTERS_MAX + 1];
    for (int i = 0; i <= CLI_FILTERS_MAX; i++)
        many[i] = "Key=Owner,Values=a";
    cli_args_t args;
    s_args (&args, many, CLI_FILTERS_MAX);
    CHECK (cli_filters_parse (&f, &args, s_session_keys, err, sizeof err) == 0);
    CHECK (f.count == CLI_FILTERS_MAX);
    cli_filters_free (&f);
    s_args (&args, many, CLI_FILTERS_MAX + 1);
    CHECK (cli_filters_parse (&f, &args, s_session_keys, err, sizeof err) == PH_EINVAL);
    CHECK (strstr (err, "too many --filters") != NULL);
    cli_filters_free (&f);

    /* a bad filter after good ones: all of it is freed (ASan) */
    const char *mixed[] = {"Key=Owner,Values=a", "Key=Target,Values=b", "Key=Nope,Values=c"};
    s_args (&args, mixed, 3);
    CHECK (cli_filters_parse (&f, &args, s_session_keys, err, sizeof err) == PH_EINVAL);
    CHECK (strstr (err, "'Nope'") != NULL);
    cli_filters_free (&f);
    CHECK (f.count == 0);
}

int main (void)
{
    test_good ();
    test_bad ();
    test_limits ();
    PH_TEST_END ();
}
