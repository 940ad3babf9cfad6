"""`ringback run`: the long-running service.

`service` (signals, reload, READY, the status API's life), `runtime` (one TaskGroup
owning the sources, the pipeline, the dispatcher, alerts and retention), `systemd`
(sd_notify and the watchdog) and `logs` (journal-friendly lines with numbers
masked). Imports every layer below it; nothing but the CLI imports it."""
