"""Depth resizing keeps background black beside silhouettes (no foreground blended into it)."""

import numpy as np

from shared.raster.bilinear import bilinear_taps, resize_bilinear
from shared.raster.depth import depth_to_video, inverse_depth


def silhouettes(frames=3, h=144, w=256):
    """A near sphere-ish blob and a far slab in front of nothing (+inf background)."""
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    z = np.full((frames, h, w), np.inf, np.float32)
    for f in range(frames):
        blob = (xs - 80 - 10 * f) ** 2 + (ys - 70) ** 2 < 40**2
        z[f][blob] = 2.0 + ((xs[blob] - 80) ** 2 + (ys[blob] - 70) ** 2) / 3000
        slab = (xs > 150) & (xs < 230) & (ys > 30 + f) & (ys < 120)
        z[f][slab] = 9.0
    return z


def test_no_grey_in_the_background_next_to_silhouettes():
    z = silhouettes()
    for width, height in ((512, 288), (1024, 576), (400, 225)):
        v = depth_to_video(z, width, height)[..., 0]
        # background at the output size: where the nearest source pixel is background
        yi0, yi1, h0, h1 = bilinear_taps(z.shape[1], height)
        xi0, xi1, w0, w1 = bilinear_taps(z.shape[2], width)
        near = np.isinf(z)[:, np.where(h0 >= h1, yi0, yi1)][:, :, np.where(w0 >= w1, xi0, xi1)]
        assert (v[near] == 0).all()
        # and no value between black and the darkest geometry anywhere (no halo)
        darkest = depth_to_video(z)[..., 0][~np.isinf(z)].min()
        assert not ((v > 0) & (v < darkest)).any()
        # the silhouette is there and about the right size (nearest upsampling)
        assert abs((v > 0).mean() - (~np.isinf(z)).mean()) < 0.01


def test_inside_geometry_the_resize_stays_bilinear():
    z = silhouettes(frames=1)
    v = depth_to_video(z, 512, 288)[0, ..., 0].astype(np.float64)
    d = inverse_depth(z)
    norm = (d - d.min()) / (d.max() - d.min())
    smooth = np.rint(resize_bilinear(norm.astype(np.float32), 288, 512, exact=False)[0] * 255)
    inside = resize_bilinear((~np.isinf(z)).astype(np.float32), 288, 512, exact=False)[0] == 1
    assert inside.sum() > 10000
    assert np.abs(v[inside] - smooth[inside]).max() <= 1
