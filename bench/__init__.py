"""Benchmarks for collate-handoff-bot: ``python -m bench`` runs them all and writes BENCHMARKS.md.

Every process here talks to the others over loopback only. The simulators run in the bench
process; the bot, the bare-Bolt baselines and the load generator each run in a process of their
own (``bench.botproc``, ``bench.barebolt``, ``bench.loadgen``), so a server's latency is never
measured by a client sharing its event loop.
"""
