"""The refusal raised by every function in `backend.video`."""

from __future__ import annotations

from shared.errors import UserError


class VideoError(UserError):
    """A video, image or mask that cannot be read or written as asked.

    The message names the input, says what was wrong and how to fix it; the HTTP server turns it
    into a 4xx response, the command line prints it without a traceback.
    """
