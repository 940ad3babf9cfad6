"""The configuration: one YAML file, typed and validated once. Owns the settings models
(`settings`), the mapping from a validation error back to its YAML line (`lines`),
`check-config`'s offline checks (`check`) and summary (`summary`), the templates' cost
against the senders' limits (`budget`), phone numbers in the site's region (`phones`),
the departments (routing rules, hours, holidays, templates: `departments`, `texts`,
their holiday exceptions `dept_holidays`), quiet hours (`hours`) and the staffing
alerts' section (`alerts`). Imports only the vocabulary (`agent.model`,
`agent.errors`, `agent.numbers`) and the driver tables, whose options models it joins."""

from agent.config import budget  # noqa: F401  (registers its load check)
