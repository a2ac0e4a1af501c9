#!/usr/bin/python3
"""snapshot_upsert.py: the CPU cost of keeping analytics' snapshots in SQLite,
by table kind and statement, without the service around it.

Analytics rewrites an aggregate's whole state (kilobytes for a project with
its transactions) for every event it applies. This writes N_UPDATES states
that grow as a project's do (100 bytes, then 120 more each time, up to
16 KB) into N_KEYS rows, in transactions of BATCH, with the settings of the
service's store (WAL, synchronous=NORMAL, a 128 MiB page cache, checkpoints
every 8,000 pages), and prints the process CPU seconds of each variant:

  worowid     WITHOUT ROWID, INSERT OR REPLACE   (analytics' schema 2)
  worowidup   WITHOUT ROWID, upsert
  rowidrepl   rowid table + UNIQUE, INSERT OR REPLACE
  rowid       rowid table + UNIQUE, upsert        (analytics' schema 3)

    taskset -c 1 /usr/bin/python3 bench/snapshot_upsert.py [DIR] [VARIANT ...]

Python's sqlite3 module drives the same B-tree code as the service's
libsqlite3; the figures compare the variants, not the service's rate.
"""
import os
import random
import sqlite3
import sys
import tempfile
import time

N_KEYS, N_UPDATES, BATCH = 10000, 200000, 200

TABLES = {
    "worowid": ("PRIMARY KEY (type, id)) STRICT, WITHOUT ROWID",
                "INSERT OR REPLACE INTO snapshots (type, id, seq, state) VALUES (?, ?, ?, ?)"),
    "worowidup": ("PRIMARY KEY (type, id)) STRICT, WITHOUT ROWID",
                  "INSERT INTO snapshots (type, id, seq, state) VALUES (?, ?, ?, ?)"
                  " ON CONFLICT (type, id) DO UPDATE SET seq = excluded.seq, state = excluded.state"),
    "rowidrepl": ("UNIQUE (type, id)) STRICT",
                  "INSERT OR REPLACE INTO snapshots (type, id, seq, state) VALUES (?, ?, ?, ?)"),
    "rowid": ("UNIQUE (type, id)) STRICT",
              "INSERT INTO snapshots (type, id, seq, state) VALUES (?, ?, ?, ?)"
              " ON CONFLICT (type, id) DO UPDATE SET seq = excluded.seq, state = excluded.state"),
}


def run(directory, variant):
    path = os.path.join(directory, variant + ".db")
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)
    table, upsert = TABLES[variant]
    db = sqlite3.connect(path, isolation_level=None)
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "cache_size=-131072",
                   "wal_autocheckpoint=8000"):
        db.execute("PRAGMA " + pragma)
    db.execute("CREATE TABLE snapshots (type TEXT NOT NULL, id TEXT NOT NULL,"
               " seq INTEGER NOT NULL, state BLOB NOT NULL, " + table)
    rnd, sizes, blob = random.Random(1), {}, os.urandom(16000)
    t0 = time.process_time()
    for _ in range(N_UPDATES // BATCH):
        db.execute("BEGIN")
        for _ in range(BATCH):
            k = rnd.randrange(N_KEYS)
            sizes[k] = sizes.get(k, 100) + 120
            db.execute(upsert, ("project", "prj_%024x" % k, sizes[k], blob[:min(sizes[k], 16000)]))
        db.execute("COMMIT")
    spent = time.process_time() - t0
    db.close()
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)
    return spent


def main():
    args = sys.argv[1:]
    directory = args.pop(0) if args and os.path.isdir(args[0]) else tempfile.mkdtemp()
    variants = args or list(TABLES)
    for rnd in (1, 2):
        for v in variants:
            print("round %d %-10s %.2f CPU s for %d upserts" % (rnd, v, run(directory, v), N_UPDATES),
                  flush=True)


if __name__ == "__main__":
    main()
