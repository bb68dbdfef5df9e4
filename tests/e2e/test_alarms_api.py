"""e2e: the alarms and topics API (controller) through the `porthole alarms` and
`porthole topics` verbs of the CLI.

Alarms: put / describe / an update keeps the state / set-alarm-state (a StateUpdate
history item and an entry of ph:alarm:transitions, none for the same state) /
history filters and paging / delete, and the Redis schema the logshipper relies on.
Validation errors exit 64 when the CLI can tell (operator, period, datapoints,
action syntax, URL) and 70 when only the controller can (a topic that does not
exist). Topics: create (idempotent), subscribe (same subscription, same id), list,
unsubscribe, delete, publish; `topics watch` started first gets a notification
published after it said it watches. A user without a policy is refused, with the
action and resource named.
"""
import json
import os
import select
import subprocess
import tempfile
import time

from phtest import StackTest, main, wait_until

USAGE, API, DENIED = 64, 70, 77
DUMP = "return cjson.encode(redis.call('XRANGE', KEYS[1], '-', '+'))"


class AlarmsApiTest(StackTest):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        try:
            cls.bob_dir = tempfile.mkdtemp(prefix="cli-bob-", dir=cls.stack.dir)
            env = {"PORTHOLE_CONFIG_DIR": cls.bob_dir}
            p = cls.stack.cli("configure", "--endpoint", cls.stack.env["PORTHOLE_ENDPOINT"],
                              "--server-key", cls.stack.env["PORTHOLE_SERVER_KEY"], env=env)
            assert p.returncode == 0, p.stderr
            key = p.stdout.decode().strip().splitlines()[-1]
            for args in (("iam", "create-user", "bob"),
                         ("iam", "add-user-key", "--user", "bob", "--public-key", key)):
                p = cls.stack.cli(*args)
                assert p.returncode == 0, p.stderr
        except BaseException:
            cls.tearDownClass()
            raise

    # -- helpers ------------------------------------------------------------
    def ok(self, *args):
        """A verb that prints nothing on success."""
        p = self.stack.cli(*args)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout, b"")

    def fails(self, code, want, *args):
        p = self.stack.cli(*args)
        self.assertEqual(p.returncode, code, (args, p.stderr))
        self.assertIn(want, p.stderr.decode(), args)
        return p.stderr.decode()

    def put(self, name, *extra):
        return self.stack.cli(*self._put_args(name, *extra))

    def create_topic(self, name):
        self.assertEqual(self.stack.cli_json("topics", "create-topic", name), {"TopicName": name})

    def alarm(self, name):
        found = self.stack.cli_json("alarms", "describe-alarms",
                                    "--alarm-names", name)["MetricAlarms"]
        return found[0] if found else None

    def history(self, name, *extra):
        return self.stack.cli_json("alarms", "describe-alarm-history", "--alarm-name", name,
                                   *extra)

    def stream(self, key):
        raw = json.loads(self.stack.redis("EVAL", DUMP, "1", key))
        return [] if isinstance(raw, dict) else [
            (e[0], dict(zip(e[1][::2], e[1][1::2]))) for e in raw]

    def transitions(self, name):
        return [f for _, f in self.stream("ph:alarm:transitions") if f["alarm"] == name]

    def hgetall(self, key):
        raw = json.loads(self.stack.redis("EVAL", "return cjson.encode(redis.call('HGETALL', "
                                          "KEYS[1]))", "1", key))
        return {} if isinstance(raw, dict) else dict(zip(raw[::2], raw[1::2]))

    @staticmethod
    def reap(proc):
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=10)

    def start_watch(self, topic, *args):
        """`topics watch TOPIC` in the background, once it said on stderr that it watches."""
        w = subprocess.Popen(["porthole", "topics", "watch", topic, *args], env=self.stack.env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.addCleanup(self.reap, w)
        err = b""
        deadline = time.monotonic() + 20
        while f"watching topic {topic};".encode() not in err:
            left = deadline - time.monotonic()
            self.assertGreater(left, 0, f"watch did not start: {err!r}")
            r, _, _ = select.select([w.stderr], [], [], left)
            if r:
                chunk = os.read(w.stderr.fileno(), 4096)
                self.assertTrue(chunk, f"watch exited: {err!r}")
                err += chunk
        return w

    # -- alarms -------------------------------------------------------------
    def test_put_describe_and_update_keeps_state(self):
        self.create_topic("ops-a")
        p = self.put("sudo-a", "--alarm-actions", "topic:ops-a", "instance:end-sessions",
                     "--ok-actions", "instance:reboot:mi-0a1b2c3d4e5f60718",
                     "--alarm-description", "sudo typed in a session")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout, b"")
        a = self.alarm("sudo-a")
        self.assertEqual(a["StateValue"], "INSUFFICIENT_DATA")
        self.assertEqual(a["StateReason"], "Unchecked: Initial alarm creation")
        self.assertRegex(a["StateUpdatedTimestamp"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d")
        self.assertRegex(a["AlarmConfigurationUpdatedTimestamp"], r"^\d{4}-\d\d-\d\dT")
        want = {"AlarmName": "sudo-a", "Namespace": "Porthole", "MetricName": "SudoCount",
                "Statistic": "Sum", "Period": 5, "EvaluationPeriods": 3, "DatapointsToAlarm": 3,
                "Threshold": 1.0, "ComparisonOperator": "GreaterThanOrEqualToThreshold",
                "TreatMissingData": "ignore", "ActionsEnabled": True,
                "AlarmActions": ["topic:ops-a", "instance:end-sessions"],
                "OKActions": ["instance:reboot:mi-0a1b2c3d4e5f60718"],
                "InsufficientDataActions": [], "AlarmDescription": "sudo typed in a session",
                "StateReasonData": ""}
        for k, v in want.items():
            self.assertEqual(a[k], v, k)

        # the schema the logshipper reads
        h = self.hgetall("ph:alarm:{sudo-a}")
        self.assertEqual(h["alarm_actions"], "topic:ops-a\ninstance:end-sessions")
        self.assertEqual(h["insufficient_data_actions"], "")
        self.assertEqual(h["threshold"], "1")
        self.assertEqual(h["actions_enabled"], "1")
        self.assertEqual(h["datapoints_to_alarm"], "3")
        self.assertEqual(h["state_value"], "INSUFFICIENT_DATA")
        for field in ("namespace", "metric_name", "statistic", "period", "evaluation_periods",
                      "comparison_operator", "treat_missing_data", "alarm_description",
                      "state_reason", "state_reason_data", "state_updated_ms",
                      "configuration_updated_ms", "ok_actions"):
            self.assertIn(field, h)
        self.assertIn("sudo-a", self.stack.redis("SMEMBERS", "ph:alarms").split())

        self.ok("alarms", "set-alarm-state", "--alarm-name", "sudo-a", "--state-value", "ALARM",
                "--state-reason", "drill")
        p = self.put("sudo-a", "--threshold", "2.5", "--datapoints-to-alarm", "2",
                     "--statistic", "Maximum", "--actions-enabled", "false")
        self.assertEqual(p.returncode, 0, p.stderr)
        a = self.alarm("sudo-a")
        self.assertEqual((a["StateValue"], a["StateReason"]), ("ALARM", "drill"))
        self.assertEqual((a["Threshold"], a["DatapointsToAlarm"], a["Statistic"]),
                         (2.5, 2, "Maximum"))
        self.assertEqual((a["ActionsEnabled"], a["AlarmActions"], a["AlarmDescription"]),
                         (False, [], ""))

        # (the logshipper ran the ALARM actions meanwhile: Action items, not checked here)
        items = self.history("sudo-a", "--history-item-type",
                             "ConfigurationUpdate")["AlarmHistoryItems"]
        self.assertEqual([i["HistorySummary"] for i in items],
                         ['Alarm "sudo-a" updated', 'Alarm "sudo-a" created'])
        created = json.loads(items[1]["HistoryData"])
        self.assertEqual(created["type"], "Create")
        self.assertEqual(created["createdAlarm"]["alarmActions"],
                         ["topic:ops-a", "instance:end-sessions"])
        updated = json.loads(items[0]["HistoryData"])
        self.assertEqual((updated["type"], updated["updatedAlarm"]["threshold"]), ("Update", 2.5))
        self.assertTrue(all(i["AlarmName"] == "sudo-a" for i in items))
        states = self.history("sudo-a", "--history-item-type", "StateUpdate")["AlarmHistoryItems"]
        self.assertEqual([i["HistorySummary"] for i in states],
                         ["Alarm updated from INSUFFICIENT_DATA to ALARM"])

        p = self.stack.cli("alarms", "describe-alarms", "--alarm-name-prefix", "sudo-",
                           "--output", "table")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertRegex(p.stdout.decode(), r"(?m)^AlarmName\s+State\s")
        self.assertRegex(p.stdout.decode(), r"(?m)^sudo-a\s+ALARM\s+Porthole\s+SudoCount\s+Maximum\s+5\s")

    def test_set_alarm_state_history_and_transition(self):
        self.assertEqual(self.put("state-b").returncode, 0)
        self.ok("alarms", "set-alarm-state", "--alarm-name", "state-b", "--state-value", "ALARM",
                "--state-reason", "test page", "--state-reason-data", '{"source": "drill"}')
        t = self.transitions("state-b")
        self.assertEqual(len(t), 1)
        self.assertEqual((t[0]["old"], t[0]["new"], t[0]["reason"]),
                         ("INSUFFICIENT_DATA", "ALARM", "test page"))
        self.assertRegex(t[0]["ts"], r"^\d{13}$")
        items = self.history("state-b", "--history-item-type", "StateUpdate")["AlarmHistoryItems"]
        self.assertEqual(len(items), 1)
        self.assertEqual(items[0]["HistorySummary"], "Alarm updated from INSUFFICIENT_DATA to ALARM")
        data = json.loads(items[0]["HistoryData"])
        self.assertEqual(data["version"], "1.0")
        self.assertEqual(data["oldState"], {"stateValue": "INSUFFICIENT_DATA",
                                            "stateReason": "Unchecked: Initial alarm creation"})
        self.assertEqual(data["newState"], {"stateValue": "ALARM", "stateReason": "test page",
                                            "stateReasonData": {"source": "drill"}})
        a = self.alarm("state-b")
        self.assertEqual(json.loads(a["StateReasonData"]), {"source": "drill"})

        # the same state again: no change, no history item, no transition (no action)
        self.ok("alarms", "set-alarm-state", "--alarm-name", "state-b", "--state-value", "ALARM",
                "--state-reason", "again")
        self.assertEqual(len(self.transitions("state-b")), 1)
        self.assertEqual(len(self.history("state-b")["AlarmHistoryItems"]), 2)
        self.assertEqual(self.alarm("state-b")["StateReason"], "test page")

        self.ok("alarms", "set-alarm-state", "--alarm-name", "state-b", "--state-value", "OK",
                "--state-reason", "back")
        self.assertEqual([x["new"] for x in self.transitions("state-b")], ["ALARM", "OK"])
        names = lambda state: {a["AlarmName"] for a in self.stack.cli_json(
            "alarms", "describe-alarms", "--state-value", state)["MetricAlarms"]}
        self.assertIn("state-b", names("OK"))
        self.assertNotIn("state-b", names("ALARM"))

        # paging: newest first, NextToken goes on, null on the last page
        page1 = self.history("state-b", "--max-records", "2")
        self.assertEqual([i["HistoryItemType"] for i in page1["AlarmHistoryItems"]],
                         ["StateUpdate", "StateUpdate"])
        self.assertTrue(page1["NextToken"])
        page2 = self.history("state-b", "--max-records", "2", "--next-token", page1["NextToken"])
        self.assertEqual([i["HistoryItemType"] for i in page2["AlarmHistoryItems"]],
                         ["ConfigurationUpdate"])
        self.assertIsNone(page2["NextToken"])
        future = self.history("state-b", "--start-date", "2999-01-01T00:00:00Z")
        self.assertEqual(future["AlarmHistoryItems"], [])
        past = self.history("state-b", "--end-date", "2001-01-01")
        self.assertEqual(past["AlarmHistoryItems"], [])

        self.fails(API, "alarm no-such-alarm does not exist", "alarms", "set-alarm-state",
                   "--alarm-name", "no-such-alarm", "--state-value", "OK", "--state-reason", "x")
        self.fails(USAGE, "--state-reason-data", "alarms", "set-alarm-state", "--alarm-name",
                   "state-b", "--state-value", "OK", "--state-reason", "x",
                   "--state-reason-data", "{not json")

    def test_delete_alarms(self):
        self.assertEqual(self.put("del-c").returncode, 0)
        self.assertEqual(self.put("del-d").returncode, 0)
        self.assertEqual(self.stack.redis("EXISTS", "ph:alarm:{del-c}:history"), "1")
        self.ok("alarms", "delete-alarms", "--alarm-names", "del-c", "del-d", "never-was")
        for name in ("del-c", "del-d"):
            self.assertEqual(self.stack.redis("EXISTS", f"ph:alarm:{{{name}}}"), "0")
            self.assertEqual(self.stack.redis("EXISTS", f"ph:alarm:{{{name}}}:history"), "0")
            self.assertEqual(self.stack.redis("SISMEMBER", "ph:alarms", name), "0")
            self.assertIsNone(self.alarm(name))
        self.assertEqual(self.history("del-c")["AlarmHistoryItems"], [])

    def test_validation_errors(self):
        self.fails(USAGE, "GreaterThanOrEqualToThreshold", *self._put_args(
            "v", "--comparison-operator", "GreaterThan"))
        self.fails(USAGE, "Period", *self._put_args("v", "--period", "7"))
        self.fails(USAGE, "DatapointsToAlarm", *self._put_args(
            "v", "--evaluation-periods", "2", "--datapoints-to-alarm", "3"))
        self.fails(USAGE, "is not an alarm action", *self._put_args(
            "v", "--alarm-actions", "instance:halt"))
        self.fails(USAGE, "is not an alarm action", *self._put_args(
            "v", "--alarm-actions", "instance:stop:mi-123"))
        self.fails(USAGE, "at most 5", *self._put_args(
            "v", "--alarm-actions", *["instance:stop"] * 6))
        self.fails(USAGE, "--namespace", *self._put_args("v", "--namespace", ":bad"))
        self.fails(USAGE, "alarm name", "alarms", "set-alarm-state", "--alarm-name", "a*b",
                   "--state-value", "OK", "--state-reason", "x")
        err = self.fails(API, "topic nowhere does not exist", *self._put_args(
            "v", "--alarm-actions", "topic:nowhere"))
        self.assertIn("create-topic", err)
        self.assertIsNone(self.alarm("v"))
        self.assertEqual(self.stack.redis("EXISTS", "ph:alarm:{v}"), "0")
        self.create_topic("val-t")
        self.fails(USAGE, "--endpoint", "topics", "subscribe", "--topic", "val-t", "--protocol",
                   "webhook", "--endpoint", "ftp://example.com/x")
        self.fails(USAGE, "--endpoint", "topics", "subscribe", "--topic", "val-t", "--protocol",
                   "webhook", "--endpoint", "http://")
        self.fails(USAGE, "--protocol webhook", "topics", "subscribe", "--topic", "val-t",
                   "--protocol", "email", "--endpoint", "http://127.0.0.1:1/x")
        self.fails(USAGE, "--format", "topics", "subscribe", "--topic", "val-t", "--protocol",
                   "webhook", "--endpoint", "http://127.0.0.1:1/x", "--format", "xml")
        self.fails(USAGE, "not a topic name", "topics", "create-topic", "bad.name")
        self.fails(API, "topic nope does not exist", "topics", "subscribe", "--topic", "nope",
                   "--protocol", "webhook", "--endpoint", "http://127.0.0.1:1/x")

    def _put_args(self, name, *extra):
        """put-metric-alarm NAME with defaults for every required option not in extra."""
        base = {"--namespace": "Porthole", "--metric-name": "SudoCount", "--statistic": "Sum",
                "--period": "5", "--evaluation-periods": "3", "--threshold": "1",
                "--comparison-operator": "GreaterThanOrEqualToThreshold",
                # no data keeps the state: the logshipper's evaluator leaves these alarms be
                "--treat-missing-data": "ignore"}
        given = set(a for a in extra if a.startswith("--"))
        args = ["alarms", "put-metric-alarm", "--alarm-name", name]
        for k, v in base.items():
            if k not in given:
                args += [k, v]
        return (*args, *extra)

    # -- topics -------------------------------------------------------------
    def test_topics_lifecycle(self):
        self.assertEqual(self.stack.cli_json("topics", "create-topic", "life"),
                         {"TopicName": "life"})
        created = self.stack.redis("HGET", "ph:topic:{life}", "created_ms")
        self.stack.cli_json("topics", "create-topic", "life")  # idempotent, kept as is
        self.assertEqual(self.stack.redis("HGET", "ph:topic:{life}", "created_ms"), created)
        self.assertIn({"TopicName": "life"},
                      self.stack.cli_json("topics", "list-topics")["Topics"])

        sub = self.stack.cli_json("topics", "subscribe", "--topic", "life", "--protocol",
                                  "webhook", "--endpoint", "http://127.0.0.1:9/hook")
        sid = sub["SubscriptionId"]
        self.assertRegex(sid, r"^sub-[0-9a-f]{16}$")
        again = self.stack.cli_json("topics", "subscribe", "--topic", "life", "--protocol",
                                    "webhook", "--endpoint", "http://127.0.0.1:9/hook")
        self.assertEqual(again["SubscriptionId"], sid)
        am = self.stack.cli_json("topics", "subscribe", "--topic", "life", "--protocol",
                                 "webhook", "--endpoint", "http://127.0.0.1:9/hook",
                                 "--format", "alertmanager")["SubscriptionId"]
        self.assertNotEqual(am, sid)
        subs = self.stack.cli_json("topics", "list-subscriptions", "--topic", "life")
        mine = {s["SubscriptionId"]: s for s in subs["Subscriptions"]}
        self.assertEqual(set(mine), {sid, am})
        self.assertEqual(mine[sid], {"SubscriptionId": sid, "TopicName": "life",
                                     "Protocol": "webhook",
                                     "Endpoint": "http://127.0.0.1:9/hook", "Format": "json",
                                     "Delivered": 0, "Failed": 0, "LastError": "",
                                     "LastAttempt": None})
        self.assertEqual(mine[am]["Format"], "alertmanager")
        h = self.hgetall(f"ph:subscription:{{{sid}}}")
        self.assertEqual((h["topic"], h["protocol"], h["last_attempt_ms"]),
                         ("life", "webhook", "0"))
        all_subs = self.stack.cli_json("topics", "list-subscriptions")["Subscriptions"]
        self.assertTrue({sid, am} <= {s["SubscriptionId"] for s in all_subs})

        self.ok("topics", "unsubscribe", sid)
        self.fails(API, f"subscription {sid} does not exist", "topics", "unsubscribe",
                   "--subscription-id", sid)
        left = self.stack.cli_json("topics", "list-subscriptions", "--topic", "life")
        self.assertEqual([s["SubscriptionId"] for s in left["Subscriptions"]], [am])

        msg = self.stack.cli_json("topics", "publish", "--topic", "life", "--message", "plain")
        self.assertRegex(msg["MessageId"], r"^\d+-\d+$")
        stored = self.stream("ph:topic:{life}:messages")
        self.assertEqual(stored[-1][1]["message"], '"plain"')  # always JSON text

        self.ok("topics", "delete-topic", "life")
        for key in ("ph:topic:{life}", "ph:topic:{life}:subscriptions",
                    "ph:topic:{life}:messages", f"ph:subscription:{{{am}}}"):
            self.assertEqual(self.stack.redis("EXISTS", key), "0", key)
        self.assertNotIn({"TopicName": "life"},
                         self.stack.cli_json("topics", "list-topics")["Topics"])
        self.ok("topics", "delete-topic", "life")  # not there: no error, as SNS
        self.fails(API, "topic life does not exist", "topics", "publish", "--topic", "life",
                   "--message", "x")

    def test_watch_gets_a_published_notification(self):
        self.create_topic("watched")
        self.stack.cli_json("topics", "publish", "--topic", "watched", "--message", "before")
        w = self.start_watch("watched", "--max-notifications", "1", "--output", "json")
        self.stack.cli_json("topics", "publish", "--topic", "watched", "--subject", "hello",
                            "--message", '{"AlarmName": "sudo-a", "NewStateValue": "ALARM"}')
        out, rest = w.communicate(timeout=20)
        self.assertEqual(w.returncode, 0, rest)
        lines = out.decode().splitlines()
        self.assertEqual(len(lines), 1, out)
        n = json.loads(lines[0])
        self.assertEqual((n["TopicName"], n["Subject"]), ("watched", "hello"))
        self.assertEqual(n["Message"], {"AlarmName": "sudo-a", "NewStateValue": "ALARM"})
        self.assertRegex(n["Timestamp"], r"^\d{4}-\d\d-\d\dT")
        self.assertRegex(n["MessageId"], r"^\d+-\d+$")

    def test_watch_text_output_and_interrupt(self):
        self.create_topic("watched-txt")
        w = self.start_watch("watched-txt", "--output", "text")
        self.stack.cli_json("topics", "publish", "--topic", "watched-txt", "--subject", "s1",
                            "--message", "line one")
        buf = b""
        deadline = time.monotonic() + 20
        while b"\n" not in buf and time.monotonic() < deadline:
            r, _, _ = select.select([w.stdout], [], [], 0.5)
            if r:
                buf += os.read(w.stdout.fileno(), 4096)
        self.assertRegex(buf.decode(), r"^\d{4}-\d\d-\d\dT\S+ watched-txt s1: line one\n")
        w.send_signal(2)  # Ctrl-C
        w.wait(timeout=10)
        self.assertEqual(w.returncode, 0)

    # -- authorisation --------------------------------------------------------
    def test_user_without_policy_is_denied(self):
        p = self.stack.cli(*self._put_args("bobs-alarm"), env={"PORTHOLE_CONFIG_DIR": self.bob_dir})
        self.assertEqual(p.returncode, DENIED, p.stderr)
        self.assertIn("alarms:PutMetricAlarm on alarm/bobs-alarm", p.stderr.decode())
        p = self.stack.cli("topics", "create-topic", "bobs-topic",
                           env={"PORTHOLE_CONFIG_DIR": self.bob_dir})
        self.assertEqual(p.returncode, DENIED, p.stderr)
        self.assertIn("topics:CreateTopic on topic/bobs-topic", p.stderr.decode())
        p = self.stack.cli("alarms", "describe-alarms", env={"PORTHOLE_CONFIG_DIR": self.bob_dir})
        self.assertEqual(p.returncode, DENIED, p.stderr)
        self.assertIn("alarms:DescribeAlarms on *", p.stderr.decode())
        self.assertEqual(self.stack.redis("EXISTS", "ph:alarm:{bobs-alarm}"), "0")

    # -- help ------------------------------------------------------------------
    def test_help_of_every_verb(self):
        for group, verbs in (("alarms", ["put-metric-alarm", "describe-alarms",
                                         "describe-alarm-history", "set-alarm-state",
                                         "delete-alarms"]),
                             ("topics", ["create-topic", "delete-topic", "list-topics",
                                         "subscribe", "unsubscribe", "list-subscriptions",
                                         "publish", "watch"])):
            top = self.stack.cli(group, "--help")
            self.assertEqual(top.returncode, 0)
            for verb in verbs:
                self.assertRegex(top.stdout.decode(), rf"(?m)^  {verb}\s")
                p = self.stack.cli(group, verb, "--help")
                self.assertEqual(p.returncode, 0, (group, verb, p.stderr))
                self.assertTrue(p.stdout.decode().startswith(f"Usage: porthole {group} {verb}"))
                self.assertIn("Exit status:", p.stdout.decode())


if __name__ == "__main__":
    main()
