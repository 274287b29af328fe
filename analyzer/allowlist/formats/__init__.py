"""The generic allowlist formats: no vendor\x27s syntax (the vendors\x27 are in analyzer.firewalls)."""
