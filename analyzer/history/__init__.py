"""The nightly history: a Parquet store of every night's captures, and the drift between nights.

``store`` writes a run into its own folder (``profile=…/night=…/run=<id>/``) and commits it by
atomically replacing ``manifest.json``; ``lock`` keeps two runs of one history apart; ``query``
reads the live runs with DuckDB; ``drift`` compares a night with its profile's baseline.  Front
ends reach all of it through :func:`analyzer.api.nightly` and :func:`analyzer.api.drift`.
"""
