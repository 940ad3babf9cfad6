"""PBX-side sources and SMS-side senders. Imports only `agent.model` and `agent.errors`."""
