"""Renderers of the nightly morning report (:class:`analyzer.history.model.NightReport`): terminal table,
Markdown, HTML with a per-name timeline, JSON and JUnit XML.  Each reads the same ``drift`` rows."""
