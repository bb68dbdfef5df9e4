"""e2e (issue 4): from a `sudo` typed in a session to a notification in
seconds. A metric filter counts "sudo" in the sessions' text lines; an alarm
(Sum >= 1 over 5 s) notifies a topic (watched with `topics watch`, and
delivered to a webhook receiver on loopback) and ends the instance's
sessions; with no more matches the alarm goes back to OK."""
import http.server
import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time

import phtest
from phtest import StackTest, wait_until

NS = "PortholeAlarmE2E"


class _Receiver(http.server.BaseHTTPRequestHandler):
    posts = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        _Receiver.posts.append((self.path, self.headers.get("Content-Type"), body,
                                time.monotonic()))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


class AlarmsTest(StackTest):

    @classmethod
    def setUpClass(cls):
        # a harmless reboot command for the agent of this stack
        cls.marker_dir = tempfile.mkdtemp(prefix="ph-e2e-reboot-")
        cls.marker = os.path.join(cls.marker_dir, "rebooted")
        os.environ["PORTHOLE_DEV_AGENT_ARGS"] = f"--action-reboot 'touch {cls.marker}'"
        try:
            super().setUpClass()
        finally:
            del os.environ["PORTHOLE_DEV_AGENT_ARGS"]
        cls.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
        threading.Thread(target=cls.httpd.serve_forever, daemon=True).start()

    @classmethod
    def tearDownClass(cls):
        cls.httpd.shutdown()
        cls.httpd.server_close()
        shutil.rmtree(cls.marker_dir, ignore_errors=True)
        super().tearDownClass()

    def cli_ok(self, *args):
        p = self.stack.cli(*args)
        self.assertEqual(p.returncode, 0, (args, p.stderr))
        return p

    def alarm(self, name):
        out = self.stack.cli_json("alarms", "describe-alarms", "--alarm-names", name)
        return out["MetricAlarms"][0]

    def test_sudo_to_notification(self):
        port = self.httpd.server_address[1]
        p = self.stack.cli("logs", "create-log-group", "porthole/sessions")
        self.assertIn(p.returncode, (0, 70))
        self.cli_ok("logs", "put-metric-filter", "--log-group-name", "porthole/sessions",
                    "--filter-name", "sudo", "--filter-pattern", '"sudo"',
                    "--metric-transformations",
                    f"metricName=SudoCount,metricNamespace={NS},metricValue=1")
        self.cli_ok("topics", "create-topic", "ops")
        sub = self.stack.cli_json("topics", "subscribe", "--topic", "ops", "--protocol",
                                  "webhook", "--endpoint", f"http://127.0.0.1:{port}/hook")
        self.assertTrue(sub["SubscriptionId"])
        am = self.stack.cli_json("topics", "subscribe", "--topic", "ops", "--protocol",
                                 "webhook", "--endpoint", f"http://127.0.0.1:{port}/am",
                                 "--format", "alertmanager")
        self.assertTrue(am["SubscriptionId"])
        with socket.socket() as probe:  # a port nobody listens on
            probe.bind(("127.0.0.1", 0))
            dead = probe.getsockname()[1]
        broken = self.stack.cli_json("topics", "subscribe", "--topic", "ops", "--protocol",
                                     "webhook", "--endpoint", f"http://127.0.0.1:{dead}/x")
        self.cli_ok("alarms", "put-metric-alarm", "--alarm-name", "sudo-typed",
                    "--namespace", NS, "--metric-name", "SudoCount", "--statistic", "Sum",
                    "--period", "5", "--evaluation-periods", "1", "--threshold", "1",
                    "--comparison-operator", "GreaterThanOrEqualToThreshold",
                    "--treat-missing-data", "notBreaching",
                    "--alarm-actions", "topic:ops", "instance:end-sessions", "instance:reboot",
                    "--ok-actions", "topic:ops")
        # an idle alarm with no data settles at OK (notBreaching)
        wait_until(lambda: self.alarm("sudo-typed")["StateValue"] == "OK", 20,
                   "the new alarm to settle at OK")

        watch = self.stack.start_pty("topics", "watch", "ops", "--output", "text")
        self.addCleanup(watch.close)
        time.sleep(1)  # the watcher starts "from now": let it take its first position
        s = self.shell()
        # the filter must be loaded by the logshipper before the line goes by
        wait_until(lambda: "sudo" in json.dumps(self.stack.cli_json(
            "logs", "describe-metric-filters", "--log-group-name", "porthole/sessions")), 10,
            "the filter in place")
        time.sleep(1.5)
        t0 = time.monotonic()
        s.send("echo sudo-check\r")
        wait_until(lambda: self.alarm("sudo-typed")["StateValue"] == "ALARM", 10,
                   "the alarm in ALARM")
        t_alarm = time.monotonic() - t0
        watch.expect(rb"ALARM", timeout=10)
        # the two subscriptions are posted to independently: wait for this
        # one's ALARM (the OK before it may be the last /hook post so far)
        hook = wait_until(lambda: [h for h in (json.loads(b) for p, _, b, _ in _Receiver.posts
                                               if p == "/hook")
                                   if json.loads(h["Message"])["NewStateValue"] == "ALARM"],
                          10, "the webhook POST of the ALARM")
        self.assertEqual(hook[-1]["Type"], "Notification")
        self.assertEqual(hook[-1]["TopicName"], "ops")
        alerts = wait_until(lambda: [json.loads(b) for p, _, b, _ in _Receiver.posts
                                     if p == "/am" and b'"ALARM"' in b], 10,
                            "the Alertmanager POST")
        self.assertEqual(alerts[-1][0]["labels"]["alertname"], "sudo-typed")
        self.assertIn("startsAt", alerts[-1][0])
        self.assertNotIn("endsAt", alerts[-1][0])
        # the instance action ended the session: the CLI's shell exits
        self.assertIsNotNone(s.wait(timeout=15))
        self.assertLess(t_alarm, 3.0, "sudo -> ALARM took %.2f s" % t_alarm)
        print("sudo -> ALARM in %.2f s" % t_alarm)

        hist = self.stack.cli_json("alarms", "describe-alarm-history", "--alarm-name",
                                   "sudo-typed")["AlarmHistoryItems"]
        kinds = {h["HistoryItemType"] for h in hist}
        self.assertTrue({"ConfigurationUpdate", "StateUpdate", "Action"} <= kinds, kinds)
        summaries = " | ".join(h["HistorySummary"] for h in hist)
        self.assertIn("instance:end-sessions", summaries)
        self.assertIn("topic:ops", summaries)
        self.assertIn("instance:reboot", summaries)
        self.assertTrue(os.path.exists(self.marker), "the agent's reboot command did not run")
        # a subscriber that cannot be reached: failures are counted and shown
        def failing():
            subs = self.stack.cli_json("topics", "list-subscriptions", "--topic", "ops")
            mine = [x for x in subs["Subscriptions"]
                    if x["SubscriptionId"] == broken["SubscriptionId"]]
            return mine[0] if mine and mine[0]["Failed"] >= 1 else None
        bad = wait_until(failing, 15, "the unreachable subscriber's failure to show")
        self.assertIn("refused", bad["LastError"])
        self.assertEqual(bad["Delivered"], 0)
        audit = self.stack.cli_json("audit", "lookup-events", "--action",
                                    "alarms:InstanceAction")["Events"]
        self.assertTrue(audit)
        self.assertEqual(audit[0]["Principal"], "alarm:sudo-typed")

        # no more matches: back to OK, notified again
        wait_until(lambda: self.alarm("sudo-typed")["StateValue"] == "OK", 60,
                   "the alarm back to OK")
        watch.expect(rb"OK", timeout=10)
        resolved = wait_until(lambda: [json.loads(b) for p, _, b, _ in _Receiver.posts
                                       if p == "/am" and b'"endsAt"' in b], 10,
                              "the Alertmanager resolve POST")
        self.assertEqual(resolved[-1][0]["labels"]["state"], "OK")
        # the listing's order is not the order of subscribing: find ours by id
        subs = self.stack.cli_json("topics", "list-subscriptions", "--topic", "ops")
        mine = [x for x in subs["Subscriptions"] if x["SubscriptionId"] == sub["SubscriptionId"]]
        self.assertEqual(len(mine), 1, subs)
        self.assertGreaterEqual(mine[0]["Delivered"], 1)


if __name__ == "__main__":
    phtest.main()
