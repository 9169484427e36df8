"""The pieces of `ltx-scene demo` (backend/commands/demo.py): which bundle, the server process,
the Blender session, and the files left in the output folder. See README.md."""
