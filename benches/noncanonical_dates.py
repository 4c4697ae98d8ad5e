#!/usr/bin/env python3
# usage: benches/noncanonical_dates.py wide.csv out.csv  (BENCHMARKS.md, issue 11 note)
# Rewrites a `chunkload gen wide` file so that created_at (timestamptz) and day (date)
# use month-name spellings with a zone abbreviation: "Aug 21 2007 01:04:36.517899 PST",
# "Mar 04 1931". Columns 1-7 never hold quotes, so a record's first 7 fields split at commas;
# the rest of the record (quoted text, embedded newlines) is copied byte for byte.
import sys, datetime
MON = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()
src, dst = sys.argv[1], sys.argv[2]
PST = datetime.timezone(datetime.timedelta(hours=-8))
with open(src, "rb") as f, open(dst, "wb") as out:
    first = True
    in_quote = False
    for line in f:
        if first or in_quote:
            out.write(line)
            first = False
            in_quote ^= line.count(b'"') % 2 == 1
            continue
        parts = line.split(b",", 7)
        ts = datetime.datetime.fromisoformat(parts[4].decode()).astimezone(PST)
        parts[4] = ("%s %02d %04d %02d:%02d:%02d.%06d PST" % (MON[ts.month - 1], ts.day, ts.year,
                    ts.hour, ts.minute, ts.second, ts.microsecond)).encode()
        d = datetime.date.fromisoformat(parts[5].decode())
        parts[5] = ("%s %02d %04d" % (MON[d.month - 1], d.day, d.year)).encode()
        out.write(b",".join(parts))
        in_quote = parts[7].count(b'"') % 2 == 1
