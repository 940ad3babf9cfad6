"""What a technician runs beside the service: `install`/`uninstall` (`install`,
`install_steps`), `doctor` (`doctor`, `doctor_system`), the outbox actions
(`outbox`), `send_test` and `purge`. Imports the layers below the daemon; each
command is safe to run while the daemon runs."""
