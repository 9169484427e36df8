"""Scene capture: a Blender scene -> a ControlPackage (see README.md).

from .capture import CaptureSettings, capture_package, plan_capture
"""

from .settings import CapturePlan, CaptureSettings, resolve_plan  # noqa: F401


def capture_package(scene, settings, progress=None):
    """See `package.capture_package` (imported lazily: it needs bpy)."""
    from .package import capture_package as _capture

    return _capture(scene, settings, progress)


def plan_capture(scene, settings):
    from .package import plan_capture as _plan

    return _plan(scene, settings)
