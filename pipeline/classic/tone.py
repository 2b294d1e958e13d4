"""Light, colour, sharpness and grain transfer between aligned face crops.

Pure functions on crops of the same size: a warped source face and the target (template) box around
it, with float32 masks in 0..1. They do not care how the warp was made.

Light and colour work in CIELAB, so lightness and chroma are separate:
- the source's own low-frequency lightness (its shading) is taken out and the target's put in;
- the remaining source detail is scaled by a bounded gain (the local light ratio, 0.6-1.6),
  softened towards the target's contrast and its highlights compressed (no white patches);
- chroma is shifted additively (source detail + target low-frequency chroma), never multiplied, and
  follows the lightness as the template's own skin does (warmer shadows, paler highlights);
- no skin comes out brighter than the template's brightest by more than a few L units;
- lightness gets a soft knee before white and black, and out-of-gamut pixels lose chroma rather than
  clip a channel, so nothing newly saturates.
The low-frequency work runs on a copy about 64 px wide, crops larger than TRANSFER_WORK_SIDE are
transferred on a reduced copy, and statistics come from a subsample or a fixed window, so the cost
is a few full-resolution passes whatever the face size.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

import cv2
import numpy as np
from numpy.typing import NDArray

from pipeline.classic.settings import ToneSettings

RGB = NDArray[np.uint8]
FloatMask = NDArray[np.float32]  # H x W, 0..1

LOW_RES: Final = 64  # side of the reduced copy the low-frequency work runs on, in pixels
LIGHT_SIGMA_SHARE: Final = 0.12  # scale of the shading swapped for the target's, share of the face size
CHROMA_SIGMA_SHARE: Final = 0.10  # scale of the skin colour taken from the target (see transfer_...)
LIGHT_GAIN_RANGE: Final = (0.6, 1.6)  # bounds of the source detail gain
EYE_FINE_SIGMA_SHARE: Final = 0.02  # the eyes' fine detail: finer than this share of the face size
EYE_GAIN_MAX: Final = 2.0  # ... its gain may follow the light up to this (ToneSettings.eye_gain_max)
DETAIL_SOFTEN_MIN: Final = 0.75  # lightness detail stronger than the target's is softened, at most to 75 %
HIGHLIGHT_MIN: Final = 8.0  # highlights are compressed above this L excursion at least ...
HIGHLIGHT_GAIN_MAX: Final = 1.25  # highlights (detail above the shading) are raised by the light gain at most this much
HIGHLIGHT_SCALE: Final = 1.5  # ... or above 1.5 x the target's own 99th-percentile highlight
L_KNEE: Final = (4.0, 94.0)  # lightness is compressed smoothly outside this range (L in 0..100)
L_LIMITS: Final = (1.0, 99.0)  # ... towards these asymptotes
CHROMA_GAIN_RANGE: Final = (0.5, 1.0)  # source chroma detail is only ever softened, to the target's spread
CHROMA_DETAIL_MAX: Final = 40.0  # largest a*/b* detail (source minus its low-pass) carried over
CHROMA_DETAIL_SPREADS: Final = 1.5  # ... and at most this many times the target's own chroma detail spread
CHROMA_SLOPE_MAX: Final = 1.0  # largest a* or b* change per unit of lightness taken from a face's own skin
SKIN_L_PERCENTILES: Final = (2.0, 98.0)  # a face's range of skin lightness
SKIN_L_HEADROOM: Final = 4.0  # lightness above the template's brightest skin is compressed into this much
GAMUT_STEPS: Final = 4  # chroma reductions tried for out-of-gamut pixels
GAMUT_MARGIN: Final = 1.5 / 255.0  # stay this far inside the RGB cube, so no channel rounds to 0 or 255
FINE_SIGMA: Final = 1.0  # the fine band: image minus its blur at this sigma (pixels)
SHARPEN_MAX: Final = 1.5  # largest unsharp-mask amount
SOFTEN_SIGMAS: Final = (0.5, 0.7, 0.9, 1.2)  # blurs tried when the source is sharper (1.2 at most)
MIDDLE_SIGMA: Final = 2.5  # the middle band: 1-px blur minus a blur at this sigma
GRAIN_MIN_VARIANCE: Final = 0.25  # missing grain variance below this is left alone
GRAIN_TILE: Final = 256  # side of the noise tile that is repeated over the face
MEASURE_WINDOW: Final = 192  # sharpness and grain are measured in a window at most this big
GRAIN_BAND_LOSS: Final = 1.25  # white noise loses about a fifth of its spread in the fine band
GRAIN_MAX: Final = 6.0  # largest grain standard deviation added, in 8-bit levels
MATCH_TOLERANCE: Final = 0.15  # sharpness or grain within this share counts as matched
MIN_MASK_PIXELS: Final = 16
TRANSFER_WORK_SIDE: Final = 360  # larger crops are transferred on a copy this big (longer side)
STATS_SAMPLES: Final = 20_000  # pixels the transfer's statistics are taken from, about


@dataclass(frozen=True)
class _Box:
    top: int
    left: int
    bottom: int
    right: int

    @property
    def height(self) -> int:
        return self.bottom - self.top

    @property
    def width(self) -> int:
        return self.right - self.left


def transfer_light_and_colour(
    warped_source: RGB,
    target: RGB,
    face_mask: FloatMask,
    skin_mask: FloatMask | None = None,
    *,
    eyes: FloatMask | None = None,
    eye_gain_max: float = EYE_GAIN_MAX,
    light_sigma_share: float = LIGHT_SIGMA_SHARE,
    chroma_sigma_share: float = CHROMA_SIGMA_SHARE,
) -> RGB:
    """The warped source with the target's light and skin colour, keeping the source's detail.

    `face_mask` is where the result will be used; `skin_mask` (default: the face mask) is where
    light and colour are measured. Pixels outside the face mask come back too (the caller
    blends), but only the inside is meaningful. Leaving eyes, brows and lips out of the skin mask
    made the harness's chroma figure worse on t1 (11 -> 24 at the time): the template's own eye
    and lip colouring is then missing from its low-pass, so the default measures the whole face.

    The sigma shares are the low-frequency scales, as shares of the face mask's size: shading
    finer than `light_sigma_share` stays the source's, skin colour finer than `chroma_sigma_share`
    too. A finer chroma scale follows the template's colouring more closely (the harness's chroma
    figure drops), but when the warp does not put the source's nose and cheeks where the target's
    are, the template's pale highlights land on the source's shadows as grey patches; 0.10 was the
    finest that did not show them on the package photos with a similarity warp.

    Inside `eyes` (0..1) the source's fine lightness detail keeps its contrast relative to the light:
    its gain may reach `eye_gain_max` and it is not softened to the target's. Elsewhere, and for the
    shading around the eyes, a dim source's gain stays bounded, so its noise is not raised with it.
    There too the fine chroma detail (an iris's colour) is carried whole, not bounded by the target
    skin's spread.
    """
    _check_pair(warped_source, target)
    face = _as_mask(face_mask, warped_source.shape[:2])
    weight = face if skin_mask is None else _as_mask(skin_mask, warped_source.shape[:2]) * face
    if float(weight.sum()) < MIN_MASK_PIXELS:
        weight = face
    if float(weight.sum()) < MIN_MASK_PIXELS:
        return warped_source.copy()

    height, width = warped_source.shape[:2]
    scale = min(1.0, TRANSFER_WORK_SIDE / max(height, width))
    if scale >= 1.0:
        eyes_here = None if eyes is None else _as_mask(eyes, warped_source.shape[:2])
        return _lab_to_rgb_in_gamut(
            _transfer_lab(
                warped_source, target, weight, face, light_sigma_share, chroma_sigma_share, eyes_here, eye_gain_max
            )
        )
    # A large face: the transfer runs on a reduced copy and its change (in LAB) is resized up and
    # added to the full-resolution source, so the finest source detail is kept as it is.
    size = (max(1, int(round(width * scale))), max(1, int(round(height * scale))))
    small_source = cv2.resize(warped_source, size, interpolation=cv2.INTER_AREA)
    small_target = cv2.resize(target, size, interpolation=cv2.INTER_AREA)
    small_weight = cv2.resize(weight, size, interpolation=cv2.INTER_AREA)
    small_face = cv2.resize(face, size, interpolation=cv2.INTER_AREA)
    small_eyes = None
    if eyes is not None:
        small_eyes = cv2.resize(_as_mask(eyes, (height, width)), size, interpolation=cv2.INTER_AREA)
    if float(small_weight.sum()) < MIN_MASK_PIXELS or float(small_face.sum()) < MIN_MASK_PIXELS:
        return warped_source.copy()
    change = _transfer_lab(
        small_source, small_target, small_weight, small_face, light_sigma_share, chroma_sigma_share, small_eyes,
        eye_gain_max,
    )
    change -= _to_lab(small_source)
    full_lab = _to_lab(warped_source) + cv2.resize(change, (width, height), interpolation=cv2.INTER_LINEAR)
    full_lab[..., 0] = _soft_limit(full_lab[..., 0])
    return _lab_to_rgb_in_gamut(full_lab)


def _transfer_lab(
    warped_source: RGB,
    target: RGB,
    weight: FloatMask,
    face: FloatMask,
    light_sigma_share: float,
    chroma_sigma_share: float,
    eyes: FloatMask | None = None,
    eye_gain_max: float = EYE_GAIN_MAX,
) -> NDArray[np.float32]:
    """The transfer itself, at the resolution given; returns the result in LAB."""
    source_lab = _to_lab(warped_source)
    target_lab = _to_lab(target)
    box = _bounding_box(face)
    size = float(np.sqrt(box.height * box.width))
    source_low, target_low = _low_pass_pair(
        source_lab, target_lab, weight, box, light_sigma_share * size, chroma_sigma_share * size
    )

    light_s, light_t = source_low[..., 0], target_low[..., 0]
    # Statistics come from a regular subsample of the face (about STATS_SAMPLES pixels).
    step = max(1, int(np.sqrt(weight.size / STATS_SAMPLES)))
    sample = (slice(None, None, step), slice(None, None, step))
    inside = weight[sample] > 0.5
    ratio = (light_t + 1.0) / (light_s + 1.0)
    gain = np.clip(ratio, *LIGHT_GAIN_RANGE)
    detail = source_lab[..., 0] - light_s
    # Shading scales with the light, a highlight (the sheen on a nose) does not: raised with a darker
    # source's gain, it landed on the template's own highlight as a pale smear.
    detail *= np.where(detail > 0, np.minimum(gain, HIGHLIGHT_GAIN_MAX), gain)
    target_detail = target_lab[sample][..., 0] - light_t[sample]
    softening = _rms(target_detail, inside) / max(_rms(detail[sample], inside), 1e-3)
    softening = float(np.clip(softening, DETAIL_SOFTEN_MIN, 1.0))
    detail *= softening
    eye_extra = None
    if eyes is not None:
        # The eyes' fine detail (lashes, iris, the whites' edges; not the shading around them) keeps its
        # contrast relative to the light: what the bounded gain and the softening took off is added back.
        fine = source_lab[..., 0] - cv2.GaussianBlur(source_lab[..., 0], (0, 0), EYE_FINE_SIGMA_SHARE * size)
        lost = np.clip(ratio, LIGHT_GAIN_RANGE[0], eye_gain_max) - gain * softening
        eye_extra = eyes * fine * np.maximum(lost, 0.0)
    # Highlights brighter than the target's own would turn into white patches: compress them.
    highlight = max(HIGHLIGHT_MIN, HIGHLIGHT_SCALE * float(np.percentile(target_detail[inside], 99)))
    bright = detail > 0
    detail[bright] = highlight * np.tanh(detail[bright] / highlight)
    # No skin brighter than the template's own brightest by more than SKIN_L_HEADROOM: a pale band.
    darkest, brightest = np.percentile(target_lab[sample][..., 0][inside], SKIN_L_PERCENTILES)
    light = light_t + detail
    over = light > brightest
    light[over] = brightest + SKIN_L_HEADROOM * np.tanh((light[over] - brightest) / SKIN_L_HEADROOM)
    if eye_extra is not None:
        light += eye_extra
    out = np.empty_like(source_lab)
    out[..., 0] = _soft_limit(light)
    # Skin's colour follows its light: shadows are warmer and richer than highlights. The source's own
    # lightness-to-chroma slope is taken out of its detail with its shading, and the template's put in
    # for the light the result has, so the source's shadows do not land grey on warm skin.
    source_slope = _chroma_slope(source_lab[sample], weight[sample])
    target_slope = _chroma_slope(target_lab[sample], weight[sample])
    chroma_detail = source_lab[..., 1:] - source_low[..., 1:]
    chroma_detail -= (source_lab[..., :1] - light_s[..., None]) * source_slope
    source_spread = _rms(chroma_detail[sample], inside)
    target_spread = _rms(target_lab[sample][..., 1:] - target_low[sample][..., 1:], inside)
    chroma_gain = float(np.clip(target_spread / max(source_spread, 1e-3), *CHROMA_GAIN_RANGE))
    # Per-pixel chroma detail is bounded by the target's own spread: a dim or cast source's tinted
    # shadows (blue-grey eye sockets) do not carry over as patches.
    bound = min(CHROMA_DETAIL_MAX, CHROMA_DETAIL_SPREADS * max(target_spread, 1.0))
    carried = np.clip(chroma_detail * chroma_gain, -bound, bound)
    if eyes is not None:
        # The irises' colour (a blue eye on brown skin) is finer than any socket tint: inside the eye
        # openings, the fine chroma detail is carried whole and only the coarser part stays bounded.
        fine_chroma = chroma_detail - cv2.GaussianBlur(chroma_detail, (0, 0), EYE_FINE_SIGMA_SHARE * size)
        in_eyes = np.clip((chroma_detail - fine_chroma) * chroma_gain, -bound, bound) + np.clip(
            fine_chroma, -CHROMA_DETAIL_MAX, CHROMA_DETAIL_MAX
        )
        carried += eyes[..., None] * (in_eyes - carried)
    out[..., 1:] = target_low[..., 1:] + carried
    # Within the template's own range of skin lightness: no extrapolated hue past its brightest or darkest.
    shift = np.clip(out[..., :1], darkest, brightest) - np.clip(light_t[..., None], darkest, brightest)
    out[..., 1:] += shift * target_slope
    return out


def _chroma_slope(lab: NDArray[np.float32], weight: FloatMask) -> NDArray[np.float32]:
    """a* and b* change per unit of lightness over the weighted pixels (least squares), bounded."""
    w = np.ascontiguousarray(weight, dtype=np.float32).reshape(-1)
    total = float(w.sum())
    if total < MIN_MASK_PIXELS:
        return np.zeros(2, dtype=np.float32)
    values = np.ascontiguousarray(lab, dtype=np.float32).reshape(-1, 3)
    centred = values - (w @ values) / np.float32(total)
    weighted_light = w * centred[:, 0]
    variance = float(weighted_light @ centred[:, 0])
    if variance < 1e-6 * total:
        return np.zeros(2, dtype=np.float32)
    slope = (weighted_light @ centred[:, 1:]) / np.float32(variance)
    return np.clip(slope, -CHROMA_SLOPE_MAX, CHROMA_SLOPE_MAX).astype(np.float32)


def match_detail(warped_source: RGB, target: RGB, mask: FloatMask, *, seed: int = 0) -> RGB:
    """Match the source's sharpness and grain to the target's inside `mask`.

    Sharpness is the ratio of the fine band (grey minus a 1-px blur) to the next band (1-px blur
    minus a 2.5-px blur): a ratio of two bands does not depend on how much the face has, only on
    how blurred it is. A softer source (small or upscaled) gets a bounded unsharp mask; a sharper
    one gets at most a 1.2-px blur, the template's own softness. Grain is the robust spread of the
    fine band (skin is mostly flat): a cleaner source gets the missing grain as seeded luminance
    noise, so the same inputs give the same result.
    """
    _check_pair(warped_source, target)
    inside = _as_mask(mask, warped_source.shape[:2]) > 0.5
    if int(inside.sum()) < MIN_MASK_PIXELS:
        return warped_source.copy()
    # Measure on a window of at most MEASURE_WINDOW pixels a side in the middle of the mask, so
    # the cost of the measurements does not grow with the face.
    window = _measure_window(inside)
    inside_w = inside[window]
    source_w = _grey(warped_source[window].astype(np.float32))
    target_w = _grey(target[window].astype(np.float32))
    target_sharpness = _sharpness(target_w, inside_w)
    source_sharpness = _sharpness(source_w, inside_w)
    blur_sigma, amount = 0.0, 0.0
    result_w = source_w
    if source_sharpness > target_sharpness * (1.0 + MATCH_TOLERANCE):
        for sigma in SOFTEN_SIGMAS:
            blur_sigma, result_w = sigma, cv2.GaussianBlur(source_w, (0, 0), sigma)
            if _sharpness(result_w, inside_w) <= target_sharpness * (1.0 + MATCH_TOLERANCE):
                break
    elif target_sharpness > source_sharpness * (1.0 + MATCH_TOLERANCE):
        amount = float(np.clip(target_sharpness / max(source_sharpness, 1e-3) - 1.0, 0.0, SHARPEN_MAX))
        result_w = source_w + amount * (source_w - cv2.GaussianBlur(source_w, (0, 0), FINE_SIGMA))
    missing = _grain(target_w, inside_w) ** 2 - _grain(result_w, inside_w) ** 2
    if blur_sigma == 0.0 and amount == 0.0 and missing <= GRAIN_MIN_VARIANCE:
        return warped_source.copy()

    source = warped_source.astype(np.float32)
    result = source
    if blur_sigma > 0.0:
        result = cv2.GaussianBlur(source, (0, 0), blur_sigma)
    elif amount > 0.0:
        result = source + amount * (source - cv2.GaussianBlur(source, (0, 0), FINE_SIGMA))
    if missing > GRAIN_MIN_VARIANCE:
        grain_sigma = min(GRAIN_MAX, float(np.sqrt(missing)) * GRAIN_BAND_LOSS)
        result = result + _grain_field(source.shape[:2], grain_sigma, seed)[..., None]
    # Sharpening and grain must not saturate: only pixels that were at 0 or 255 may stay there.
    at_bound = (warped_source == 0) | (warped_source == 255)
    limited = np.where(at_bound, source, np.clip(result, 1.0, 254.0))
    return np.clip(limited + 0.5, 0, 255).astype(np.uint8)


def _measure_window(inside: NDArray[np.bool_]) -> tuple[slice, slice]:
    rows = np.flatnonzero(inside.any(axis=1))
    cols = np.flatnonzero(inside.any(axis=0))
    centre_y, centre_x = (rows[0] + rows[-1]) // 2, (cols[0] + cols[-1]) // 2
    half_h = min(MEASURE_WINDOW, rows[-1] - rows[0] + 1) // 2
    half_w = min(MEASURE_WINDOW, cols[-1] - cols[0] + 1) // 2
    return (
        slice(max(0, centre_y - half_h), centre_y + half_h + 1),
        slice(max(0, centre_x - half_w), centre_x + half_w + 1),
    )


def _grain_field(shape_hw: tuple[int, ...], sigma: float, seed: int) -> NDArray[np.float32]:
    """Seeded white noise, drawn as one GRAIN_TILE tile and repeated, so its cost is fixed."""
    reps = (-(-int(shape_hw[0]) // GRAIN_TILE), -(-int(shape_hw[1]) // GRAIN_TILE))
    return np.tile(_unit_grain(seed), reps)[: shape_hw[0], : shape_hw[1]] * np.float32(sigma)


@lru_cache(maxsize=4)
def _unit_grain(seed: int) -> NDArray[np.float32]:
    """One GRAIN_TILE tile of standard normal noise per seed, drawn once (read-only)."""
    tile = np.random.default_rng(seed).standard_normal((GRAIN_TILE, GRAIN_TILE), dtype=np.float32)
    tile.setflags(write=False)
    return tile


def fine_energy(image: RGB, mask: FloatMask) -> float:
    """Robust spread of the grey fine band inside the mask (mostly grain on flat skin)."""
    inside = _as_mask(mask, image.shape[:2]) > 0.5
    return _grain(_grey(image.astype(np.float32)), inside)


def sharpness(image: RGB, mask: FloatMask) -> float:
    """Fine-band over next-band energy inside the mask: lower is blurrier."""
    inside = _as_mask(mask, image.shape[:2]) > 0.5
    return _sharpness(_grey(image.astype(np.float32)), inside)


def masked_low_pass(
    image: NDArray[np.float32], weight: FloatMask, sigma: float | Sequence[float]
) -> NDArray[np.float32]:
    """Normalised-convolution Gaussian blur of `image` (H x W x C), run on a reduced copy.

    Only pixels with weight > 0 are averaged; `sigma` is in full-resolution pixels, one for all
    channels or one per channel. The blur runs on a copy whose longer side is LOW_RES pixels and
    is resized back up, so the cost hardly depends on the image size.
    """
    height, width = weight.shape
    channels = 1 if image.ndim == 2 else image.shape[2]
    sigmas = [float(sigma)] * channels if isinstance(sigma, (int, float)) else [float(v) for v in sigma]
    if len(sigmas) != channels:
        raise ValueError(f"expected {channels} sigmas, got {len(sigmas)}")
    scale = min(1.0, LOW_RES / max(height, width))
    small_size = (max(1, int(round(width * scale))), max(1, int(round(height * scale))))
    weighted = image * weight[..., None] if image.ndim == 3 else image * weight
    small_image = cv2.resize(weighted, small_size, interpolation=cv2.INTER_AREA).reshape(
        small_size[1], small_size[0], channels
    )
    small_weight = cv2.resize(weight, small_size, interpolation=cv2.INTER_AREA)
    low = np.empty_like(small_image)
    for channel_sigma in dict.fromkeys(sigmas):  # channels of one sigma are blurred together
        channels_here = [channel for channel, value in enumerate(sigmas) if value == channel_sigma]
        small_sigma = max(0.5, channel_sigma * scale)
        norm = cv2.GaussianBlur(small_weight, (0, 0), small_sigma, borderType=cv2.BORDER_REPLICATE)
        blurred = cv2.GaussianBlur(
            np.ascontiguousarray(small_image[..., channels_here]), (0, 0), small_sigma, borderType=cv2.BORDER_REPLICATE
        ).reshape(norm.shape[0], norm.shape[1], len(channels_here))
        for index, channel in enumerate(channels_here):
            low[..., channel] = _fill_empty(blurred[..., index] / np.maximum(norm, 1e-4), norm)
    full = cv2.resize(low, (width, height), interpolation=cv2.INTER_LINEAR)
    return full.reshape(height, width, channels).astype(np.float32)


def _low_pass_pair(
    source_lab: NDArray[np.float32],
    target_lab: NDArray[np.float32],
    weight: FloatMask,
    box: _Box,
    light_sigma: float,
    chroma_sigma: float,
) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """Low-pass both LAB images inside the face box; outside it the edge values carry on."""
    pad = int(round(0.1 * np.sqrt(box.height * box.width))) + 1
    height, width = weight.shape
    top, left = max(0, box.top - pad), max(0, box.left - pad)
    bottom, right = min(height, box.bottom + pad), min(width, box.right + pad)
    crop_weight = np.ascontiguousarray(weight[top:bottom, left:right])
    lows = []
    for lab in (source_lab, target_lab):
        crop = np.ascontiguousarray(lab[top:bottom, left:right])
        low = masked_low_pass(crop, crop_weight, (light_sigma, chroma_sigma, chroma_sigma))
        full = cv2.copyMakeBorder(
            low, top, height - bottom, left, width - right, cv2.BORDER_REPLICATE
        ).reshape(height, width, 3)
        lows.append(full)
    return lows[0], lows[1]


def _fill_empty(low: NDArray[np.float32], norm: NDArray[np.float32]) -> NDArray[np.float32]:
    """Where the blur saw almost no weight, use the mean of the well-supported values."""
    weak = norm < 1e-3
    if weak.any() and not weak.all():
        low[weak] = float(low[~weak].mean())
    return low


def _soft_limit(light: NDArray[np.float32]) -> NDArray[np.float32]:
    """Identity inside L_KNEE, smooth exponential approach to L_LIMITS outside it."""
    low_knee, high_knee = L_KNEE
    low_limit, high_limit = L_LIMITS
    out = light.copy()
    high = light > high_knee
    span = high_limit - high_knee
    out[high] = high_knee + span * (1.0 - np.exp(-(light[high] - high_knee) / span))
    low = light < low_knee
    span = low_knee - low_limit
    out[low] = low_knee - span * (1.0 - np.exp(-(low_knee - light[low]) / span))
    return out


def _lab_to_rgb_in_gamut(lab: NDArray[np.float32]) -> RGB:
    """LAB to RGB; pixels outside the RGB cube lose chroma (hue and lightness kept) instead of clipping."""
    rgb = _from_lab(lab)
    flat_rgb = rgb.reshape(-1, 3)
    flat_lab = lab.reshape(-1, 3)
    low, high = GAMUT_MARGIN, 1.0 - GAMUT_MARGIN
    todo = np.flatnonzero(_outside(flat_rgb, low, high))
    for step in range(GAMUT_STEPS):
        if todo.size == 0:
            break
        part = flat_lab[todo]
        part[:, 1:] *= 0.75 if step < GAMUT_STEPS - 1 else 0.0
        flat_lab[todo] = part
        fixed = _from_lab(part[None])[0]
        flat_rgb[todo] = fixed
        todo = todo[_outside(fixed, low, high)]
    return np.clip(rgb * 255.0 + 0.5, 0, 255).astype(np.uint8)


def _outside(rgb: NDArray[np.float32], low: float, high: float) -> NDArray[np.bool_]:
    """Rows of an N x 3 array with a channel outside [low, high] (channel-wise: faster than axis=1)."""
    red, green, blue = rgb[:, 0], rgb[:, 1], rgb[:, 2]
    smallest = np.minimum(np.minimum(red, green), blue)
    largest = np.maximum(np.maximum(red, green), blue)
    return (smallest < low) | (largest > high)


def _sharpness(grey: NDArray[np.float32], inside: NDArray[np.bool_]) -> float:
    fine_blur = cv2.GaussianBlur(grey, (0, 0), FINE_SIGMA)
    fine = (grey - fine_blur)[inside]
    middle = (fine_blur - cv2.GaussianBlur(grey, (0, 0), MIDDLE_SIGMA))[inside]
    return float(np.sqrt(np.mean(fine**2) / max(float(np.mean(middle**2)), 1e-6)))


def _grain(grey: NDArray[np.float32], inside: NDArray[np.bool_]) -> float:
    values = (grey - cv2.GaussianBlur(grey, (0, 0), FINE_SIGMA))[inside]
    if values.size == 0:
        return 0.0
    return float(1.4826 * np.median(np.abs(values - np.median(values))))


def _rms(values: NDArray[np.float32], inside: NDArray[np.bool_]) -> float:
    """Root mean square of `values` (H x W or H x W x C) where `inside` holds."""
    return float(np.sqrt(np.mean(values[inside] ** 2))) if inside.any() else 0.0


def _grey(image: NDArray[np.float32]) -> NDArray[np.float32]:
    return image @ np.array([0.299, 0.587, 0.114], dtype=np.float32)


def _to_lab(image: RGB) -> NDArray[np.float32]:
    """CIELAB in float units (L 0..100, a*, b* around 0) through OpenCV's fast 8-bit path.

    The 8-bit path quantises L to 0.4 and a*b* to 1 unit, well below what the eye sees in skin,
    and runs several times faster than the float conversion.
    """
    lab = cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2LAB).astype(np.float32)
    lab[..., 0] *= 100.0 / 255.0
    lab[..., 1:] -= 128.0
    return lab


def _to_lab_exact(image: RGB) -> NDArray[np.float32]:
    """CIELAB in the same units as _to_lab, through the float conversion (no rounding)."""
    return cv2.cvtColor(np.ascontiguousarray(image, dtype=np.float32) / 255.0, cv2.COLOR_RGB2LAB)


def _from_lab(lab: NDArray[np.float32]) -> NDArray[np.float32]:
    return cv2.cvtColor(np.ascontiguousarray(lab, dtype=np.float32), cv2.COLOR_LAB2RGB)


def _bounding_box(mask: FloatMask) -> _Box:
    rows = np.flatnonzero(mask.max(axis=1) > 0)
    cols = np.flatnonzero(mask.max(axis=0) > 0)
    return _Box(top=int(rows[0]), left=int(cols[0]), bottom=int(rows[-1]) + 1, right=int(cols[-1]) + 1)


def _as_mask(mask: NDArray[np.generic], shape_hw: tuple[int, ...]) -> FloatMask:
    values = np.asarray(mask)
    if values.shape != tuple(shape_hw[:2]):
        raise ValueError(f"mask shape {values.shape} does not match the image {tuple(shape_hw[:2])}")
    if values.dtype == np.uint8:
        return values.astype(np.float32) / 255.0
    return np.clip(values.astype(np.float32), 0.0, 1.0)


def _check_pair(source: RGB, target: RGB) -> None:
    if source.shape != target.shape or source.ndim != 3 or source.shape[2] != 3:
        raise ValueError(f"expected two RGB crops of one size, got {source.shape} and {target.shape}")


def match_edge_light(
    corrected: RGB,
    target: RGB,
    mask: FloatMask,
    face_size: float,
    keep_light: FloatMask | None = None,
    settings: ToneSettings | None = None,
) -> RGB:
    """`corrected` with the target's low frequencies near the mask's border, fading to none deeper in.

    The transfer matches light and colour at the scale of the whole face; what is left differs from
    the template where the face meets the untouched neck and cheeks (a seam) and in the template's
    colouring of its own skin. Here the CIELAB difference target - corrected, low-passed inside the
    mask at `edge_sigma_share` of the face size, is added with a weight of 1 from the border to
    `edge_plateau_share` deep, falling smoothly to 0 at `edge_depth_share` deep; the source's fine detail
    stays everywhere. The plateau took the last jaw seam of the harness (a goatee against the neck)
    from 5.6 to 4.5. Where `keep_light` (0..1) is set, the eyes' region say, the lightness stays the
    source's and only the colour is matched: the recogniser's distance to the source rose by up to 0.1
    when the template's shading replaced the source's around the eyes.
    """
    _check_pair(corrected, target)
    settings = settings or ToneSettings()
    face = _as_mask(mask, corrected.shape[:2])
    inside = (face > 0.5).astype(np.uint8)
    if int(inside.sum()) < MIN_MASK_PIXELS:
        return corrected.copy()
    depth = cv2.distanceTransform(inside, cv2.DIST_L2, 3)
    plateau = settings.edge_plateau_share * face_size
    ramp = np.clip(1.0 - (depth - plateau) / max(1.0, settings.edge_depth_share * face_size - plateau), 0.0, 1.0)
    weight = (ramp * ramp * (3.0 - 2.0 * ramp)) * inside  # smoothstep: no crease where the band ends
    # The exact float conversion: the 8-bit path's rounding, taken there and back over the whole crop,
    # moved pixels by up to 3 levels where nothing was to change.
    source = _to_lab_exact(corrected)
    difference = masked_low_pass(
        _to_lab_exact(target) - source, inside.astype(np.float32), settings.edge_sigma_share * face_size
    )
    light_weight = weight
    if keep_light is not None:
        light_weight = weight * (1.0 - _as_mask(keep_light, corrected.shape[:2]))
    source[..., 0] += difference[..., 0] * light_weight
    source[..., 1:] += difference[..., 1:] * weight[..., None]
    return _lab_to_rgb_in_gamut(source)


@dataclass(frozen=True)
class ToneView:
    """The warped source and the target's face box, reduced so the face is at most `ToneSettings.face_size`
    pixels: light, colour, detail and the skin model run on these copies, so time stays flat."""

    warped: RGB
    target: RGB
    scale: float  # tone pixels per box pixel (1.0: not reduced)

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of the reduced copies."""
        return self.warped.shape[1], self.warped.shape[0]


def tone_view(warped: RGB, target_box: RGB, face_size: float, limit: float) -> ToneView:
    box_h, box_w = warped.shape[:2]
    scale = min(1.0, limit / max(face_size, 1e-3))
    if scale >= 1.0:
        return ToneView(warped=warped, target=target_box, scale=1.0)
    work = (max(2, int(round(box_w * scale))), max(2, int(round(box_h * scale))))
    return ToneView(
        warped=cv2.resize(warped, work, interpolation=cv2.INTER_AREA),
        target=cv2.resize(target_box, work, interpolation=cv2.INTER_AREA),
        scale=scale,
    )


def tone_face(
    warped: RGB,
    view: ToneView,
    face: FloatMask,
    skin: FloatMask,
    eyes: FloatMask,
    eye_openings: FloatMask,
    face_size: float,
    settings: ToneSettings,
) -> NDArray[np.float32]:
    """The warped source with the target's light, colour, sharpness and grain, at the box's full size.

    `eyes` is the eyes' surroundings (their light stays the source's), `eye_openings` the eyes themselves
    (their fine detail keeps its contrast). On a reduced view, the source's finer detail (the warped
    source minus its reduced copy) is added back at full size.
    """
    eye_detail = eye_openings * settings.eye_detail_share if settings.eye_detail_share > 0.0 else None
    corrected = transfer_light_and_colour(
        view.warped, view.target, face, skin_mask=skin, eyes=eye_detail, eye_gain_max=settings.eye_gain_max
    )
    corrected = match_detail(corrected, view.target, face)
    corrected = match_edge_light(corrected, view.target, face, face_size * view.scale, keep_light=eyes, settings=settings)
    if view.scale >= 1.0:
        return corrected.astype(np.float32)
    # The change is resized, not the two images: a linear resize of their difference is the same sum.
    change = cv2.subtract(corrected.astype(np.float32), view.warped.astype(np.float32))
    full = (warped.shape[1], warped.shape[0])
    corrected_full = cv2.add(warped.astype(np.float32), cv2.resize(change, full, interpolation=cv2.INTER_LINEAR))
    # Added detail must not saturate (the tone stage keeps its own output inside 1..254 too).
    np.clip(corrected_full, 1.0, 254.0, out=corrected_full)
    return corrected_full
