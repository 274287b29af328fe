"""Front ends: thin shells over analyzer.api.

The CLI today; the nightly job, the upload service and live capture next.
"""
