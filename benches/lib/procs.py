"""Processes under test: start pinned to a core, wait until ready, read CPU and memory."""

import os
import signal
import subprocess
import time
import urllib.request

CLK_TCK = os.sysconf("SC_CLK_TCK")
SERVER_CORE = "0"
LOAD_CORE = "1"


def cpu_seconds(pid):
    """utime + stime of a process and all its threads, from /proc/PID/stat."""
    with open(f"/proc/{pid}/stat") as f:
        stat = f.read()
    fields = stat[stat.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def status_kib(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def reset_peak_rss(pid):
    """Writing 5 to clear_refs resets VmHWM, so each scenario reports its own peak."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def http_ok(url, timeout=1.0):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return 200 <= r.status < 300
    except Exception:
        return False


READY_TIMEOUT_SECS = 180


class Server:
    """A server process pinned to the server core; `ready_ms` is spawn-to-first-200."""

    def __init__(self, name, argv, ready_url, env=None, cwd=None, log=None, cores=SERVER_CORE):
        self.name = name
        full_env = dict(os.environ)
        full_env.update(env or {})
        self.log = open(log, "ab") if log else subprocess.DEVNULL
        started = time.perf_counter()
        self.proc = subprocess.Popen(
            ["taskset", "-c", cores] + argv,
            env=full_env,
            cwd=cwd,
            stdout=self.log,
            stderr=self.log,
            start_new_session=True,
        )
        # The peer seeds its users (argon2 hashes) before it listens; on a loaded machine that
        # took over a minute once.
        deadline = started + READY_TIMEOUT_SECS
        while not http_ok(ready_url, timeout=0.5):
            if self.proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {self.proc.returncode} before it was ready (log: {log})")
            if time.perf_counter() > deadline:
                self.stop()
                raise RuntimeError(f"{name} not ready after {READY_TIMEOUT_SECS} s (log: {log})")
            time.sleep(0.005)
        self.ready_ms = (time.perf_counter() - started) * 1000
        self.pid = self.proc.pid
        self.idle_rss_mib = status_kib(self.pid, "VmRSS") / 1024

    def cpu(self):
        return cpu_seconds(self.pid)

    def peak_rss_mib(self):
        return status_kib(self.pid, "VmHWM") / 1024

    def reset_peak(self):
        reset_peak_rss(self.pid)

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        if self.log is not subprocess.DEVNULL:
            self.log.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
