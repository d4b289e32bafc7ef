"""Close of quarter and capitation.

At each quarter end PCRM tells every linked practice that the quarter has closed (an F8 through the
outbox), takes a snapshot of who was registered where as at the last day of the quarter, stores it,
and sends it to PCSE over MESH as a CSV and a summary JSON. docs/capitation.md describes the rules
and the file layout.

Modules: `quarters` (dates), `selectors` (reads: closed quarters, stored lines, the links F8s go
on), `close` (the idempotent close), `snapshot` (one SQL aggregate, the stored lines, the CSV and
summary), `delivery` (MESH send, retries, acknowledgement), `tasks` (thin Celery tasks, beat), and
the web layer (`views`, `tables`, `filters`, `presenters`, `urls`).
"""
