"""Draw the add-on's panels in background Blender, which has no windows to draw into: each panel's
`draw` runs against a layout that records the calls (the panel code itself is the real one, with the
real scene properties)."""

from __future__ import annotations

import types


class Layout:
    """Records prop/operator/label calls of a panel's draw, including nested rows and boxes."""

    def __init__(self, log):
        self.__dict__["log"] = log

    def __getattr__(self, name):
        def call(*args, **kwargs):
            self.log.append((name, args, kwargs))
            return Layout(self.log)

        return call

    def __setattr__(self, name, value):
        self.log.append(("set", (name, value), {}))


def draw_all(installed, context, running=False):
    panel = installed.module("ui.panel")
    log = []
    for cls in panel.CLASSES[:-1]:
        cls.draw(types.SimpleNamespace(layout=Layout(log)), context)
    props = {args[1] for name, args, _ in log if name == "prop"}
    ops = {args[0] for name, args, _ in log if name == "operator"}
    labels = [kw.get("text", "") for name, _, kw in log if name in ("label", "progress")]
    return props, ops, labels
