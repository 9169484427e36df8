"""Where LTX Scene keeps its data on this machine: one rule for the server, the models and the add-on.

`$XDG_DATA_HOME/ltx-scene` (`~/.local/share/ltx-scene` when unset): the server's job store and
token, and `models/` with one folder per model bundle.
"""

from __future__ import annotations

import os
from pathlib import Path

APP_FOLDER = "ltx-scene"
TOKEN_FILE = "token"


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(base) / APP_FOLDER


def default_models_dir() -> Path:
    return default_data_dir() / "models"


def default_token_file() -> Path:
    """Where `ltx-scene serve` writes its access token when no --data-dir is given."""
    return default_data_dir() / TOKEN_FILE
