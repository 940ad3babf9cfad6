"""Deciding: a finished call in, a stored verdict and decision out.

`pipeline` records every call, routes it to a department and asks `policy` (pure)
whether to text now, later or not, then commits call, decision and text in one
transaction. Imports `agent.config`, `agent.store` and the vocabulary."""
