"""e2e: a real Prometheus scrapes the logshipper (issue 4).

The stack comes up as in the other e2e tests; a metric filter on the
sessions group counts "sudo"; a session prints it; then a real
`prometheus` (Debian's 2.42, deploy/packages) bound to 127.0.0.1 on a free
port scrapes the logshipper's /metrics every second, and its HTTP API must
show the target up with no error, the filter's counter with its labels,
the health counters, and the types the page declared. `promtool check
metrics` lints a scraped page. Without prometheus installed the test fails
and says to run deploy/install-deps (it does not skip).
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.parse
import urllib.request

import phtest
from phtest import StackTest, wait_until

GROUP = "porthole/sessions"
# A namespace with every character metric names may hold besides letters and
# digits (space _ . # / : -): they pass through label values unescaped.
NS = "PortholeE2E/Prom #1:x-y.z"
METRIC = "SudoCount"
JOB = "porthole-logshipper"
SCRAPE_S = 1
WAIT_S = 60            # Prometheus starts, then scrapes every second
COMMAND_EVERY_S = 2.0  # how often a waiting test runs the matching command again
STOP_S = 20


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def promql_labels(**labels):
    return ",".join(f'{k}="{v}"' for k, v in labels.items())


class Prometheus:
    """One prometheus process scraping one URL, its files under workdir,
    its log where the stack's logs are (printed when a test fails)."""

    def __init__(self, target_url, workdir, logdir):
        u = urllib.parse.urlsplit(target_url)
        os.makedirs(workdir, exist_ok=True)
        self.config = os.path.join(workdir, "prometheus.yml")
        with open(self.config, "w") as f:
            f.write(f"""global:
  scrape_interval: {SCRAPE_S}s
  scrape_timeout: {SCRAPE_S}s
  evaluation_interval: {SCRAPE_S}s
scrape_configs:
  - job_name: {JOB}
    metrics_path: {u.path}
    static_configs:
      - targets: ["{u.netloc}"]
""")
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = open(os.path.join(logdir, "prometheus.log"), "w")
        self.proc = subprocess.Popen(
            ["prometheus", f"--config.file={self.config}",
             f"--web.listen-address=127.0.0.1:{self.port}",
             f"--storage.tsdb.path={os.path.join(workdir, 'data')}"],
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True)

    def ready(self):
        if self.proc.poll() is not None:
            raise AssertionError(f"prometheus exited with {self.proc.returncode}")
        try:
            with urllib.request.urlopen(self.base + "/-/ready", timeout=5) as r:
                return r.status == 200
        except OSError:
            return False

    def api(self, path, **params):
        url = f"{self.base}/api/v1/{path}"
        if params:
            url += "?" + urllib.parse.urlencode(params)
        with urllib.request.urlopen(url, timeout=10) as r:
            out = json.load(r)
        assert out["status"] == "success", out
        return out["data"]

    def query(self, expr):
        """The instant vector of expr: [(labels, float value), ...]."""
        data = self.api("query", query=expr)
        assert data["resultType"] == "vector", data
        return [(s["metric"], float(s["value"][1])) for s in data["result"]]

    def value(self, expr):
        """The value of expr's one series, or None while it has none."""
        v = self.query(expr)
        assert len(v) <= 1, v
        return v[0][1] if v else None

    def stop(self):
        """SIGTERM by pid (the process we started), SIGKILL if it lingers."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(STOP_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


class PrometheusTest(StackTest):

    @classmethod
    def setUpClass(cls):
        missing = [p for p in ("prometheus", "promtool") if not shutil.which(p)]
        if missing:
            raise AssertionError(
                f"{' and '.join(missing)} not found: this test needs a real Prometheus; "
                "install it with deploy/install-deps (Debian package prometheus, "
                "listed in deploy/packages)")
        super().setUpClass()

    def metrics_url(self):
        with open(os.path.join(self.stack.dir, "logshipper_metrics_url")) as f:
            return f.read().strip()

    def scrape(self):
        with urllib.request.urlopen(self.metrics_url(), timeout=10) as r:
            self.assertEqual(r.status, 200)
            return r.read().decode()

    def run_matching_command(self):
        p = self.stack.cli("start-session", "--target", self.stack.instance_id, "--command",
                           "echo sudo-prometheus", input=b"")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout, b"sudo-prometheus\n")

    def wait_counted(self, prom, expr, above, what):
        """Runs the matching command (again every COMMAND_EVERY_S: the
        logshipper may not have loaded the filter yet) until Prometheus shows
        expr above `above`; returns that value."""
        last = [0.0]

        def counted():
            if time.monotonic() - last[0] >= COMMAND_EVERY_S:
                self.run_matching_command()
                last[0] = time.monotonic()
            v = prom.value(expr)
            return v if v is not None and v > above else None
        return wait_until(counted, WAIT_S, what)

    def start_prometheus(self):
        prom = Prometheus(self.metrics_url(), os.path.join(self.stack.dir, "prometheus"),
                          os.path.join(self.stack.dir, "logs"))
        self.addCleanup(prom.stop)
        wait_until(prom.ready, WAIT_S, "prometheus ready")
        return prom

    def test_prometheus_scrapes_the_logshipper(self):
        p = self.stack.cli("logs", "create-log-group", GROUP)
        self.assertIn(p.returncode, (0, 70), p.stderr)
        p = self.stack.cli("logs", "put-metric-filter", "--log-group-name", GROUP,
                           "--filter-name", "sudo-prom", "--filter-pattern", '"sudo"',
                           "--metric-transformations",
                           f"metricName={METRIC},metricNamespace={NS},metricValue=1")
        self.assertEqual(p.returncode, 0, p.stderr)
        prom = self.start_prometheus()

        # the target: the logshipper's URL, scraped, up, no error
        def target_up():
            t = prom.api("targets", state="active")["activeTargets"]
            return t if t and t[0]["health"] == "up" and t[0]["lastScrape"] else None
        targets = wait_until(target_up, WAIT_S, "the logshipper target up")
        self.assertEqual(len(targets), 1, targets)
        t = targets[0]
        self.assertEqual(t["scrapeUrl"], self.metrics_url())
        self.assertEqual(t["lastError"], "")
        self.assertEqual(t["labels"]["job"], JOB)
        self.assertEqual(prom.value(f'up{{job="{JOB}"}}'), 1)

        # the filter's counter, with its labels, counts the session's line
        sel = promql_labels(namespace=NS, metric_name=METRIC)
        first = self.wait_counted(prom, f"porthole_metric_samples_total{{{sel}}}", 0,
                                  "Prometheus to see the filter's counter count 'sudo'")
        series = prom.query(f"porthole_metric_samples_total{{{sel}}}")
        self.assertEqual(len(series), 1, series)
        labels = series[0][0]
        self.assertEqual(labels["__name__"], "porthole_metric_samples_total")
        self.assertEqual((labels["namespace"], labels["metric_name"]), (NS, METRIC))
        self.assertEqual(labels["job"], JOB)
        self.assertEqual(set(labels), {"__name__", "job", "instance", "namespace", "metric_name"})
        # it goes on counting: one more matching line, a higher value
        self.wait_counted(prom, f"porthole_metric_samples_total{{{sel}}}", first,
                          "the counter to rise after another 'sudo'")
        # metricValue=1: the summary's sum and count equal the samples (one query
        # each, on the same scrape: Prometheus matches the series by labels)
        self.assertEqual(prom.query(f"porthole_metric_value_sum{{{sel}}} - "
                                    f"porthole_metric_value_count{{{sel}}}")[0][1], 0)
        self.assertEqual(prom.query(f"porthole_metric_samples_total{{{sel}}} - "
                                    f"porthole_metric_value_count{{{sel}}}")[0][1], 0)

        # the logshipper's health: batches, events and bytes appended, no errors
        for name in ("batches", "events", "bytes"):
            v = prom.value(f'porthole_logshipper_{name}_total{{job="{JOB}"}}')
            self.assertIsNotNone(v, name)
            self.assertGreater(v, 0, name)
        self.assertEqual(prom.value(f'porthole_logshipper_errors_total{{job="{JOB}"}}'), 0)
        self.assertIsNotNone(prom.value(f'porthole_logshipper_lag_seconds{{job="{JOB}"}}'))
        info = prom.query(f'porthole_logshipper_info{{job="{JOB}"}}')
        self.assertEqual(len(info), 1, info)
        self.assertTrue(info[0][0]["version"], info)

        # the HELP and TYPE lines were read as the page meant them
        meta = prom.api("metadata")
        want = {"porthole_metric_samples_total": "counter",
                "porthole_metric_value": "summary",
                "porthole_logshipper_batches_total": "counter",
                "porthole_logshipper_lag_seconds": "gauge",
                "porthole_logshipper_info": "gauge"}
        for name, typ in want.items():
            self.assertIn(name, meta)
            self.assertEqual(meta[name][0]["type"], typ, name)
            self.assertTrue(meta[name][0]["help"], name)

        # every sample name the page has, Prometheus stored (nothing dropped)
        page = self.scrape()
        on_page = {line.split("{")[0].split(" ")[0] for line in page.splitlines()
                   if line and not line.startswith("#")}
        stored = set(prom.api("label/__name__/values", **{"match[]": f'{{job="{JOB}"}}'}))
        self.assertLessEqual(on_page, stored)

    def test_promtool_finds_no_problem(self):
        # a page with per-metric lines: a filter that has counted
        p = self.stack.cli("logs", "create-log-group", GROUP)
        self.assertIn(p.returncode, (0, 70), p.stderr)
        p = self.stack.cli("logs", "put-metric-filter", "--log-group-name", GROUP,
                           "--filter-name", "lint", "--filter-pattern", '"sudo"',
                           "--metric-transformations",
                           "metricName=Lint,metricNamespace=PortholeE2E,metricValue=-1.5")
        self.assertEqual(p.returncode, 0, p.stderr)
        last = [0.0]

        def page_with_lint():
            if time.monotonic() - last[0] >= COMMAND_EVERY_S:
                self.run_matching_command()
                last[0] = time.monotonic()
            page = self.scrape()
            return page if 'metric_name="Lint"' in page else None
        page = wait_until(page_with_lint, WAIT_S, "the Lint metric on the page")
        # a negative value: the sum goes below zero, which a summary may do
        self.assertRegex(page, r'(?m)^porthole_metric_value_sum\{namespace="PortholeE2E",'
                               r'metric_name="Lint"\} -\d')
        p = subprocess.run(["promtool", "check", "metrics"], input=page.encode(),
                           capture_output=True, timeout=30)
        self.assertEqual((p.returncode, p.stdout, p.stderr), (0, b"", b""), page)


if __name__ == "__main__":
    phtest.main()
