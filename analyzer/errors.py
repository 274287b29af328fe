"""The one error type a front end has to catch: bad input, said in one line.

Every problem with what the user gave (a capture that is not one, an allowlist that cannot be
read, an option out of range) reaches the front end as an :class:`InputError` whose message is
one line naming the file and the reason.  The CLI turns it into exit 2, the web service into a
400; anything else that escapes is a bug in the product and keeps its traceback.
"""

from __future__ import annotations


class InputError(ValueError):
    """Bad input: a capture, an allowlist or an option.  ``str(error)`` is the one line to show."""


class OptionsError(InputError):
    """An option out of range (an unknown dialect, an unknown noise kind, jobs < 1)."""


class CaptureError(InputError):
    """The capture could not be read: missing, unreadable, or not a capture at all."""
