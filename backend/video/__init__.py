"""Video in and out for the backend: mp4 + AAC, lossless control videos, reading and probing,
canny, images, masks and contact sheets. See README.md; every refusal is a `VideoError(UserError)`.
"""

from .canny import TRAINER_HIGH, TRAINER_LOW, UNION_23_HIGH, UNION_23_LOW, UNION_23_SHORT_SIDE, canny_video
from .contact_sheet import ContactSheet, contact_sheet, evenly_spaced, render_contact_sheet
from .errors import VideoError
from .frame_folder import read_frame_folder
from .image_loader import load_image
from .lossless_writer import write_lossless_video
from .mask_video import load_mask_video
from .mp4_writer import write_mp4
from .probe import VideoInfo, probe_video
from .reader import read_video
from .resize import cover_crop_geometry, resize_cover_crop

__all__ = [
    "TRAINER_HIGH",
    "TRAINER_LOW",
    "UNION_23_HIGH",
    "UNION_23_LOW",
    "UNION_23_SHORT_SIDE",
    "ContactSheet",
    "VideoError",
    "VideoInfo",
    "canny_video",
    "contact_sheet",
    "cover_crop_geometry",
    "evenly_spaced",
    "load_image",
    "load_mask_video",
    "probe_video",
    "read_frame_folder",
    "read_video",
    "render_contact_sheet",
    "resize_cover_crop",
    "write_lossless_video",
    "write_mp4",
]
