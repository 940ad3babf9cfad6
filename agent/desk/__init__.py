"""The desk: the web page where Service, Sales and Parts work their missed calls.

Served by the daemon on `desk.listen` (aiohttp, server-rendered Jinja2 pages, a
little plain JavaScript shipped here for live updates; nothing from a CDN).
`auth` owns passwords (argon2 hashes in the credentials directory), sessions,
CSRF tokens and the login throttle; `server` the routes; `templates/` and `static/`
what the browser gets. Imports the layers below the daemon (config, store, status's
view of the daemon); the daemon starts it.
"""

from agent.imports import defer_init

defer_init("aiohttp")  # `aiohttp.web` without the HTTP client (agent/imports.py)
