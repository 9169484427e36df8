"""Sub-commands of `ltx-scene`, one module each (see backend/cli.py for the protocol)."""
