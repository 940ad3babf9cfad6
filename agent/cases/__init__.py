"""Recovery cases: every missed call becomes a case that staff own and that closes only
on proof.

The rules, apart from their SQL (`agent.store.cases`): which calls open or join a
case and which prove the caller was reached or count as an attempt (`proof`), when a
case is due by its department's SLA counted in opening hours only (`sla`), the hooks
the pipeline runs inside its transaction for each call and each reply (`keeper`),
the periodic escalation and expiry (`sweep`), and the staff's actions shared by the
status API and the CLI (`actions`), the staff's answer in a case's conversation
shared by the desk, the status API and the CLI (`reply`), the staff notifier that
delivers the store's `case_notifications` rows to each department's channels and
managers (`notify`, its words in `staff_words`) and to its CRM (`crm`: the ADF lead
of `adf` and signed JSON events)."""
