"""Avaya IP Office SMDR: comma-separated, no quoting, 17 to 35+ fields.

A call may span records sharing Call ID and Call Start; `Continuation` = 1 means
more follow. `feed()` holds those segments and emits one call when the record with
Continuation 0 arrives, or after `continuation_timeout_seconds` (outcome `unknown`
unless a person answered). Parties: `E<ext>` extension, `T<9000+n>` trunk, `V<...>`
voicemail/auto-attendant channel; sites list which V devices or called numbers are
auto-attendants (`auto_attendant:`), otherwise a V-only call counts as voicemail.
A call with no trunk party in any of its records (both parties `E` or `V` devices) is
internal, whatever its Direction and Is Internal columns say (an extension calling
voicemail, a transfer between two extensions): nobody outside called.

The family in four modules, each importing only the ones before it: `records` (one
record's fields read by index into a `Segment`, and the tables of common field
values both paths share), `calls` (a call's direction, outcome and facts from its
segments), `lane` (the batch lane, `read_lines`: clean batches read in one loop,
equal to the long way), `parser` (`IpOfficeParser`: `feed` line by line, the quick
one-pass reading of a common record, the calls held for their last record).
"""

from drivers.sources.smdr.avaya_ipoffice.parser import IpOfficeParser

__all__ = ["IpOfficeParser"]
