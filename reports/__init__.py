"""Renderers: they read the analyzer's tables and never decode packets themselves."""
