"""Repository tools that run with the bpy module but are not part of the extension: the headless
Blender entry points (`python -m tools.headless`, `python -m tools.demo_session`) and the procedural
scenes (`tools.scenes`) used by the demo, the tests and the benchmarks. Never shipped in the zip."""
