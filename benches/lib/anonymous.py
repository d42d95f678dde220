"""Anonymous forms: many cookie-less GET /login and GET /register (each a first visit), and what
they leave behind: rows in every table (must be none: the CSRF token is stateless, no session is
opened) and the server's resident memory before and after (must stay flat)."""

import http.client
import sqlite3
import subprocess
import threading
import time
import urllib.parse

from .procs import status_kib

PATHS = ("/login", "/register")
WARM_UP = 500
RSS_FLAT_MIB = 2.0


def count_rows(db_url):
    """table -> row count, for every table of the database (the migrator's too)."""
    if db_url.startswith("sqlite://"):
        path = urllib.parse.urlparse(db_url).path
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
            names = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                              "AND name NOT LIKE 'sqlite_%' ORDER BY name")]
            return {n: db.execute(f'SELECT COUNT(*) FROM "{n}"').fetchone()[0] for n in names}
    names = subprocess.run(["psql", db_url, "-At", "-c", "SELECT table_name FROM information_schema.tables "
                            "WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY 1"],
                           capture_output=True, text=True, check=True).stdout.split()
    sql = " UNION ALL ".join(f"SELECT '{n}', COUNT(*) FROM \"{n}\"" for n in names)
    out = subprocess.run(["psql", db_url, "-At", "-F", " ", "-c", sql], capture_output=True, text=True, check=True)
    return {n: int(c) for n, c in (line.split() for line in out.stdout.splitlines())}


def _send(port, count, errors, lock):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    for i in range(count):
        try:
            conn.request("GET", PATHS[i % len(PATHS)], headers={"Accept": "text/html"})
            res = conn.getresponse()
            res.read()
            ok = res.status == 200 and "portcullis_session" not in (res.getheader("Set-Cookie") or "")
        except (OSError, http.client.HTTPException):
            ok = False
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        if not ok:
            with lock:
                errors[0] += 1
    conn.close()


def _burst(port, total, clients):
    errors, lock = [0], threading.Lock()
    threads = [threading.Thread(target=_send, args=(port, total // clients, errors, lock)) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors[0]


def run(server, port, db_url, total, clients=8):
    """Warms up, then sends `total` anonymous GETs over `clients` keep-alive connections."""
    _burst(port, WARM_UP, clients)
    rows_before = count_rows(db_url)
    rss_before = status_kib(server.pid, "VmRSS") / 1024
    cpu_before, started = server.cpu(), time.perf_counter()
    errors = _burst(port, total, clients)
    seconds, cpu = time.perf_counter() - started, server.cpu() - cpu_before
    rss_after = status_kib(server.pid, "VmRSS") / 1024
    rows_after = count_rows(db_url)
    created = {t: rows_after.get(t, 0) - n for t, n in rows_before.items() if rows_after.get(t, 0) != n}
    created.update({t: n for t, n in rows_after.items() if t not in rows_before})
    result = {
        "requests": total, "errors": errors, "seconds": seconds, "rps": total / seconds,
        "cpu_us_per_op": cpu / total * 1e6, "rows_created": sum(created.values()), "rows_created_by_table": created,
        "rss_before_mib": rss_before, "rss_after_mib": rss_after,
    }
    print(f"  anonymous forms: {total} GET /login + /register, {result['rps']:.0f}/s, "
          f"cpu {result['cpu_us_per_op']:.1f} µs/req, rows created {result['rows_created']} {created or ''}, "
          f"RSS {rss_before:.1f} → {rss_after:.1f} MiB, errors {errors}", flush=True)
    return result


def target(result):
    """(target, measured, met) for the report."""
    if not result:
        return None
    growth = result["rss_after_mib"] - result["rss_before_mib"]
    return (f"{result['requests']:,} anonymous GET /login and /register: no rows created, RSS flat (≤ {RSS_FLAT_MIB:g} MiB growth)",
            f"{result['rows_created']} rows; RSS {result['rss_before_mib']:.1f} → {result['rss_after_mib']:.1f} MiB "
            f"({growth:+.1f}); {result['rps']:,.0f}/s, {result['cpu_us_per_op']:.0f} µs CPU per request",
            result["rows_created"] == 0 and growth <= RSS_FLAT_MIB and not result["errors"])
