"""What managers read: the report over the stored calls and the live staffing alerts.

`query` scans the store once; `data` and `score` hold the figures and the robust
worst-day score; `build` assembles a `Report`; `text`, `render`, `html` and `output`
write it as text, CSV, JSON or HTML, the text and the page in the site's language
(`words`); `history` generates two dealership years for the
demo; `alerts` (the rule) and `watch` (the loop the daemon runs) raise staffing
alerts, in the site's staff language (`alert_words`). Imports `agent.store`,
`agent.config` and the vocabulary."""
