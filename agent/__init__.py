"""ringback: a dealership's missed calls become recovered customers.

The house, bottom to top; a folder imports only the ones above it in this list:

- `model`, `errors`, `numbers`, `backoff`, `plural`, `client_tls`: the vocabulary
  (calls, outcomes, decisions, send results, counters; the exception tree; phone
  numbers and their mask; the one backoff of in-process retries; the one plural
  rule of what people read; the one TLS context of HTTPS clients). Imports nothing
  of ours; nor does
  `imports`, the third-party packages whose `__init__` is deferred (config, status
  and desk use it).
- `config/`: the YAML, typed and validated once; departments, hours, templates.
- `store/`: the SQLite store, the only shared state and the queue.
- `decide/`: a finished call becomes a stored verdict and decision.
- `send/`: the outbox drained through the sender chain.
- `cases/`: recovery cases: proof, SLA, escalation and expiry, staff's actions.
- `report/`: the managers' report and live staffing alerts.
- `status/`: the status API, through a narrow view of the daemon.
- `desk/`: the advisors' web page (login, the board of callers to call back).
- `daemon/`: `ringback run`, owning every task.
- `ops/`: the technician's commands beside the service.
- `cli/`: the `ringback` command.

Drivers (`drivers/`) are reached only through `drivers.sources.SOURCES` and
`drivers.senders.SENDERS`; `tests/test_house.py` keeps these rules.
"""

__version__ = "0.1.0"
