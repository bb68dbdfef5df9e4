"""e2e: metric filters and metrics (issue 4). Filters are put with the CLI,
the logshipper runs them over what it stores (session text lines, the audit
log group), and get-metric-statistics shows the counts per second."""
import json
import os
import re
import time
import urllib.error
import urllib.request

import phtest
from phtest import StackTest, wait_until

NS = "PortholeE2E"


class MetricsTest(StackTest):

    def put_filter(self, group, name, pattern, transform):
        p = self.stack.cli("logs", "put-metric-filter", "--log-group-name", group,
                           "--filter-name", name, "--filter-pattern", pattern,
                           "--metric-transformations", transform)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout, b"")

    def ensure_group(self, group):
        p = self.stack.cli("logs", "create-log-group", group)
        self.assertIn(p.returncode, (0, 70), p.stderr)

    def stats(self, metric, *stats, period=1, window=120):
        now = int(time.time())
        return self.stack.cli_json("metrics", "get-metric-statistics", "--namespace", NS,
                                   "--metric-name", metric, "--start-time", str(now - window),
                                   "--end-time", str(now + 2), "--period", str(period),
                                   "--statistics", *stats)

    def total(self, metric, stat="Sum"):
        return sum(d[stat] for d in self.stats(metric, stat)["Datapoints"])

    def test_sudo_in_a_session_counts(self):
        group = "porthole/sessions"
        self.ensure_group(group)
        self.put_filter(group, "sudo", '"sudo"',
                        f"metricName=SudoCount,metricNamespace={NS},metricValue=1")
        self.put_filter(group, "never", "NEVERMATCHESANYTHING",
                        f"metricName=Quiet,metricNamespace={NS},metricValue=1,defaultValue=0")
        filters = self.stack.cli_json("logs", "describe-metric-filters", "--log-group-name",
                                      group)["metricFilters"]
        names = {f["filterName"]: f for f in filters}
        self.assertEqual(set(names), {"sudo", "never"})
        t = names["sudo"]["metricTransformations"][0]
        self.assertEqual((t["metricName"], t["metricNamespace"], t["metricValue"]),
                         ("SudoCount", NS, "1"))
        self.assertEqual(names["never"]["metricTransformations"][0]["defaultValue"], 0)
        self.assertEqual(names["sudo"]["filterPattern"], '"sudo"')
        self.assertEqual(names["sudo"]["logGroupName"], group)

        s = self.shell()

        def counted():
            # each try types the word again: the logshipper may not have loaded
            # the new filter when the first line went by
            self.run_in(s, "echo sudo-check")
            return self.total("SudoCount") >= 1
        wait_until(counted, 30, "SudoCount counted the session's 'sudo' lines")
        dps = self.stats("SudoCount", "Sum", "SampleCount", "Maximum")["Datapoints"]
        self.assertTrue(all(d["Maximum"] == 1 and d["Sum"] == d["SampleCount"] for d in dps), dps)
        self.assertTrue(all(d["Unit"] == "None" for d in dps))
        # the asciicast stream holds the same text, but only the text lines count
        s.send("exit\r")
        s.wait()
        # defaultValue: seconds with events and no match report 0
        quiet = wait_until(lambda: self.stats("Quiet", "Sum", "SampleCount")["Datapoints"], 20,
                           "Quiet datapoints")
        self.assertEqual(sum(d["Sum"] for d in quiet), 0)
        self.assertGreaterEqual(sum(d["SampleCount"] for d in quiet), 1)
        # per minute (the roll-up) agrees with per second
        per_min = sum(d["Sum"] for d in self.stats("SudoCount", "Sum", period=60,
                                                   window=600)["Datapoints"])
        self.assertEqual(per_min, self.total("SudoCount"))
        metrics = self.stack.cli_json("metrics", "list-metrics", "--namespace", NS)["Metrics"]
        self.assertIn({"Namespace": NS, "MetricName": "SudoCount"}, metrics)

        # the logshipper's Prometheus page: its own counters and the metric's
        with open(os.path.join(self.stack.dir, "logshipper_metrics_url")) as f:
            url = f.read().strip()
        with urllib.request.urlopen(url, timeout=10) as r:
            self.assertEqual(r.status, 200)
            self.assertTrue(r.headers["Content-Type"].startswith("text/plain; version=0.0.4"))
            page = r.read().decode()
        self.assertRegex(page, r"(?m)^# TYPE porthole_logshipper_batches_total counter$")
        batches = int(re.search(r"(?m)^porthole_logshipper_batches_total (\d+)$", page).group(1))
        self.assertGreater(batches, 0)
        m = re.search(r'(?m)^porthole_metric_samples_total\{namespace="%s",'
                      r'metric_name="SudoCount"\} (\d+)$' % NS, page)
        self.assertIsNotNone(m, page)
        self.assertGreaterEqual(int(m.group(1)), 1)
        with self.assertRaises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(url.replace("/metrics", "/nope"), timeout=10)
        self.assertEqual(e.exception.code, 404)

        p = self.stack.cli("logs", "delete-metric-filter", "--log-group-name", group,
                           "--filter-name", "never")
        self.assertEqual(p.returncode, 0, p.stderr)
        p = self.stack.cli("logs", "delete-metric-filter", "--log-group-name", group,
                           "--filter-name", "never")
        self.assertEqual(p.returncode, 70)
        self.assertIn(b"no metric filter named never", p.stderr)

    def test_audit_group_json_filter(self):
        # the audit trail is copied into porthole/audit; a JSON filter counts in it
        wait_until(lambda: self.stack.cli("logs", "describe-log-groups").returncode == 0 and
                   "porthole/audit" in self.stack.cli("logs", "describe-log-groups").stdout
                   .decode(), 20, "porthole/audit exists")
        self.put_filter("porthole/audit", "streams", '{ $.action = "logs:DescribeLogStreams" }',
                        f"metricName=StreamsListed,metricNamespace={NS},metricValue=1")

        def counted():
            self.stack.cli("logs", "describe-log-streams", "--log-group-name", "porthole/audit")
            return self.total("StreamsListed") >= 1
        wait_until(counted, 30, "StreamsListed counted from the audit log group")

    def test_test_metric_filter_and_bad_patterns(self):
        out = self.stack.cli_json("logs", "test-metric-filter", "--filter-pattern",
                                  "[ip, user, verb=sudo, ...]", "--log-event-messages",
                                  "10.0.0.1 alice sudo -i", "10.0.0.2 bob ls -l")
        self.assertEqual(len(out["matches"]), 1)
        m = out["matches"][0]
        self.assertEqual(m["eventNumber"], 1)
        self.assertEqual(m["eventMessage"], "10.0.0.1 alice sudo -i")
        self.assertEqual(m["extractedValues"]["$ip"], "10.0.0.1")
        self.assertEqual(m["extractedValues"]["$user"], "alice")
        out = self.stack.cli_json("logs", "test-metric-filter", "--filter-pattern",
                                  '{ $.n > 10 }', "--log-event-messages", '{"n": 11}',
                                  '{"n": 3}', "not json")
        self.assertEqual([m["eventNumber"] for m in out["matches"]], [1])

        p = self.stack.cli("logs", "test-metric-filter", "--filter-pattern", "{ $.n > }",
                           "--log-event-messages", "x")
        self.assertEqual(p.returncode, 70)
        self.assertIn(b"position", p.stderr)
        self.ensure_group("e2e/bad")
        for pattern, transform, text in (
                ("[a, b", f"metricName=M,metricNamespace={NS},metricValue=1", b"position"),
                ("ERROR", f"metricName=M,metricNamespace={NS},metricValue=$.x", b"metricValue"),
                ("ERROR", f"metricName=M,metricNamespace={NS},metricValue=1,unit=Parsecs",
                 b"unit")):
            p = self.stack.cli("logs", "put-metric-filter", "--log-group-name", "e2e/bad",
                               "--filter-name", "f", "--filter-pattern", pattern,
                               "--metric-transformations", transform)
            self.assertEqual(p.returncode, 70, (pattern, p.stderr))
            self.assertIn(text, p.stderr)
        p = self.stack.cli("logs", "put-metric-filter", "--log-group-name", "e2e/bad",
                           "--filter-name", "f", "--filter-pattern", "x",
                           "--metric-transformations", "metricName=M")
        self.assertEqual(p.returncode, 64)
        p = self.stack.cli("logs", "put-metric-filter", "--log-group-name", "no/such/group",
                           "--filter-name", "f", "--filter-pattern", "x",
                           "--metric-transformations",
                           f"metricName=M,metricNamespace={NS},metricValue=1")
        self.assertEqual(p.returncode, 70)
        self.assertIn(b"does not exist", p.stderr)
        now = int(time.time())
        p = self.stack.cli("metrics", "get-metric-statistics", "--namespace", NS,
                           "--metric-name", "M", "--start-time", str(now - 60), "--end-time",
                           str(now), "--period", "7", "--statistics", "Sum")
        self.assertEqual(p.returncode, 70)
        self.assertIn(b"--period", p.stderr)


if __name__ == "__main__":
    phtest.main()
