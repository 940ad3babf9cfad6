"""Sending: the outbox drained through the sender chain.

`dispatcher` claims due texts, re-checks them, renders them and hands them to
`chain`, which tries the configured senders in order with a circuit breaker and
rate limits, and records what happened. Imports `agent.decide`, `agent.store`,
`agent.config`, the vocabulary and the `Sender` protocol."""
