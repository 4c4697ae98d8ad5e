#!/usr/bin/env python3
"""Peers of chunkload for benches/compare.sh: one CSV file into one table, as each
tool's documentation shows it, with its defaults.

  peers.py psycopg URL TABLE FILE   psycopg 3 cursor.copy(): COPY ... FROM STDIN (FORMAT
                                    csv, HEADER), the file streamed in 1 MiB blocks, one
                                    transaction
  peers.py duckdb URL TABLE FILE    DuckDB with its postgres extension: ATTACH the
                                    database, INSERT INTO pg.public.TABLE SELECT * FROM
                                    read_csv(FILE) ("" the empty string, as PostgreSQL
                                    reads CSV; the extension writes with binary COPY)
  peers.py duckdb-extension         prints the extension file the duckdb-extension-postgres
                                    wheel ships, or fails

The DuckDB extension is loaded from the wheel's file, with automatic installing and
loading of extensions switched off: nothing is downloaded from DuckDB's extension server.
"""

import glob
import os
import sys


def psycopg_copy(url, table, path):
    import psycopg

    with psycopg.connect(url) as conn:
        with conn.cursor() as cur:
            with cur.copy(f"COPY {table} FROM STDIN WITH (FORMAT csv, HEADER)") as copy:
                with open(path, "rb") as f:
                    while block := f.read(1 << 20):
                        copy.write(block)
        # Leaving the connection's block commits.


def duckdb_extension():
    """The postgres extension file inside the duckdb-extension-postgres wheel, for the
    installed duckdb's version (extensions/vX.Y.Z/postgres.duckdb_extension)."""
    import duckdb
    import duckdb_extension_postgres

    root = os.path.dirname(duckdb_extension_postgres.__file__)
    want = os.path.join(root, "extensions", f"v{duckdb.__version__}", "postgres.duckdb_extension")
    if os.path.exists(want):
        return want
    found = glob.glob(os.path.join(root, "extensions", "*", "postgres.duckdb_extension"))
    raise SystemExit(
        f"duckdb {duckdb.__version__}: no matching postgres extension in the wheel "
        f"(found {found or 'none'}); install duckdb at the wheel's version"
    )


def loadable(ext):
    """DuckDB derives the entry point from the file name (`postgres_scanner_duckdb_cpp_init`
    for the extension's real name, postgres_scanner), so the wheel's postgres.duckdb_extension
    is loaded through a link of that name, made once under the environment's prefix."""
    link = os.path.join(sys.prefix, "duckdb-extensions", "postgres_scanner.duckdb_extension")
    if not os.path.exists(link):
        os.makedirs(os.path.dirname(link), exist_ok=True)
        os.symlink(ext, link)
    return link


def duckdb_insert(url, table, path):
    import duckdb

    con = duckdb.connect(
        config={"autoinstall_known_extensions": False, "autoload_known_extensions": False}
    )
    con.execute(f"LOAD '{loadable(duckdb_extension())}'")
    lit = lambda s: "'" + s.replace("'", "''") + "'"
    con.execute(f"ATTACH {lit(url)} AS pg (TYPE postgres)")
    con.execute(f"INSERT INTO pg.public.{table} SELECT * FROM read_csv({lit(path)}, header = true, allow_quoted_nulls = false)")
    con.close()


def main(argv):
    if argv[1:2] == ["duckdb-extension"]:
        print(duckdb_extension())
        return
    if len(argv) != 5 or argv[1] not in ("psycopg", "duckdb"):
        raise SystemExit(__doc__)
    _, tool, url, table, path = argv
    {"psycopg": psycopg_copy, "duckdb": duckdb_insert}[tool](url, table, path)


if __name__ == "__main__":
    main(sys.argv)
