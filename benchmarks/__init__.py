"""Throughput and per-request cost of the provider; run ``python benchmarks/run.py``.

- ``inprocess``: SQL queries and CPU milliseconds per request, through Django's test client.
- ``seed``: the rows the HTTP benchmark needs (clients, users with sessions, refresh tokens).
- ``load``: the load driver (threads, one keep-alive ``http.client`` connection each).
- ``server``: a fresh database (SQLite file or PostgreSQL) and gunicorn around it.
- ``report``: the tables printed at the end, with targets and PASS/FAIL.

Nothing here is imported by oauthkit itself.
"""
