"""The one error type users see.

Every refusal of bad input raises a subclass of `UserError` whose message says what was wrong, what
is allowed and how to fix it. The command line prints it without a traceback; the HTTP server
returns it as a 4xx with the message; the Blender add-on shows it in the panel.
"""

from __future__ import annotations


class UserError(ValueError):
    """Bad input or a missing prerequisite the user can fix. `field` names the offending input."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field
