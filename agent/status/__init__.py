"""The status API the vendor's cloud pulls: `/livez`, `/readyz`, `/v1/status`,
`/metrics` and the paged feeds.

`server` (aiohttp, bearer tokens), `document` (the status and readiness documents),
`metrics` (Prometheus text), `paging` (the feeds by change number), `heartbeat`
(the optional push) and `client` (`ringback status`). Everything reads the daemon
through the narrow `view.StatusView` Protocol, never the daemon itself. Imports the
layers below it (`report`, `send`, `decide`, `store`, `config`)."""

from agent.imports import defer_init

defer_init("aiohttp")  # `aiohttp.web` without the HTTP client (agent/imports.py)
