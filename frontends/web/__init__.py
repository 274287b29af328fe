"""``egress serve``: the upload service (a page and a JSON API) over the same analyzer.api as the CLI."""
