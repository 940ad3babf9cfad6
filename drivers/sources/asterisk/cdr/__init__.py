"""Catch-up from the PBX's own records: Asterisk CDR (and CEL where it is on) rows read
after a start or a reconnect, judged into `CallRecord`s with `evidence: cdr`.

One module per back-end (`mysql`: FreePBX's `asteriskcdrdb`; `csvfile`: cdr_csv's
`Master.csv`; `sqlite`: cdr_sqlite3_custom), named in `backends`; each hands raw rows
to `rows`, which turns them into typed rows (bad ones counted and skipped); `judge`
turns the rows of one `linkedid` into one verdict; `catchup` runs a read since a
watermark and `runner` decides when and from where. The options live in `config`
(light, imported by the driver table).
"""
