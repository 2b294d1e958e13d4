"""The classic engine's tunables, one frozen class per stage: source → warp → regions → tone → composite.

Every stage function takes its settings as an argument, so a harness sweeps a value with
`dataclasses.replace(ClassicSettings(), warp=replace(WarpSettings(), geometry_share=0.8))` and hands the
result to `ClassicEngine(settings=...)`. The calibrations of the detectors the stages call (glasses,
skin model, deblocking, the colour transfer's internals) stay beside those detectors.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pipeline.pose import FAR_HALF_MARGIN, MAX_SOURCE_YAW


@dataclass(frozen=True)
class SourceSettings:
    """Preparing the source photo once per couple: the crop and the bare-forehead measurement."""

    crop_margin: float = 0.25  # share of the face size kept around the source mesh
    forehead_steps: int = 12  # samples from the brows to the forehead's top, per line
    forehead_patch_share: float = 0.06  # sample patch radius, as a share of the eye distance
    forehead_start: float = 0.25  # sampling starts this far up (clear of the brows themselves)
    forehead_skin_distance: float = 16.0  # CIELAB distance from the cheeks beyond which it is not skin
    forehead_l_weight: float = 0.4  # lightness counts less: a forehead is often lit unlike the cheeks
    fill_max_share: float = 0.15  # an occluder on bare skin, up to this share of the oval, is filled from the skin
    fill_feature_overlap: float = 0.1  # ... when at most this share of it covers the eyes, brows or lips
    fill_min_solidity: float = 0.7  # ... and it is this compact (area / convex hull's): a beard ring or a hand is not
    fill_grow_share: float = 0.03  # ... grown by this share of the face size (its shadow and outline go too)
    fill_work_face: float = 96.0  # ... the fill computed with the face at most this many pixels large
    strand_width_share: float = 0.1  # hair strands over the forehead: dark lines narrower than this share of the eye distance
    strand_depth: float = 0.25  # ... this share of the forehead's median lightness darker than around them
    strand_min_length: float = 0.2  # ... at least this many eye distances long
    strand_max_thickness: float = 0.1  # ... at most this thick on average (eye distances)
    strand_max_tilt: float = 60.0  # ... and within this many degrees of the face's vertical (wrinkles lie across)
    strand_edge_share: float = 0.05  # ... below the eyes: entering from the oval's edge (this many eye distances in)
    strand_gap: float = 0.7  # ... or going on from a strand above, across a gap (an eye) this many eye distances long
    lock_window_share: float = 0.3  # strands side by side: within a window this many eye distances wide ...
    lock_density: float = 0.3  # ... covering this share of it are a lock, filled from the face's other side
    strand_grow_share: float = 0.01  # ... filled grown by this share of the face size
    strand_work_face: float = 160.0  # ... found and filled with the face at most this many pixels large


@dataclass(frozen=True)
class WarpSettings:
    """Mapping the source texture onto the target's mesh triangles."""

    geometry_share: float = 1.0  # share of the source's inner-face geometry put on the target mesh
    outline_share: float = 0.4  # share of the source's face outline (jaw, cheeks) put on the target mesh
    work_face_size: float = 160.0  # face size (pixels) of the working grid for the map and the masks
    source_face_limit: float = 1.4  # a source face larger than this x the target's is shrunk first
    half_fill_yaw: float = 28.0  # a source turned further: its far half is filled from the mirrored near half
    half_fill_margin: float = FAR_HALF_MARGIN  # ... when the target is at least this much more frontal
    max_fill_yaw: float = MAX_SOURCE_YAW  # a source turned further onto such a target: the template stays (the pose note says so)
    far_blend_band: tuple[float, float] = (-0.15, 0.45)  # the mirrored fill ramps in across this share of the half width
    max_stretch: float = 3.0  # a triangle enlarged more than this x the face's average is overstretched
    degenerate_area: float = 0.05  # square pixels: a target triangle smaller than this has collapsed
    min_face_size: float = 8.0  # smaller target faces are left as they are


@dataclass(frozen=True)
class RegionSettings:
    """Every mask: where the source goes, what of the target stays, and the parts tone and occlusion use."""

    forehead_keep: float = 0.95  # share of the forehead (brows to the oval's top) taken from the source
    forehead_min: float = 0.15  # ... but at least this much, even under a fringe
    forehead_margin: float = 0.0  # ... and this much less than the source's bare forehead reaches
    oval_inset: float = 0.0  # the whole oval pulled towards the nose tip: the source's own edge stays out
    temple_inset: float = 0.04  # upper oval points pulled towards the eyes' middle by up to this share
    front_facing_min: float = 0.05  # a target triangle narrower than this share of its canonical area is hidden
    max_stretched_share: float = 0.25  # more of the face than this overstretched (and a pose note): the template stays
    mouth_open: float = 0.2  # inner-lip gap / mouth width above which a mouth counts as open
    mouth_feather_share: float = 0.015  # a kept open mouth's own narrow feather, share of the face size
    exempt_grow_share: float = 0.12  # eyes, brows and lips masks grown by this share of the eye distance
    exempt_brow_share: float = 0.15  # brow band thickness, as a share of the eye distance
    eyes_region_share: float = 1.2  # the eyes grown by this share of the eye distance: their light stays the source's
    eyes_region_edge: tuple[float, float] = (0.8, 1.2)  # ... fully inside that ellipse's radius 0.8, fading out by 1.2
    eye_openings_share: float = 0.2  # the eyes with their lids and lashes: grown by this share of the eye distance
    source_occluder_share: float = 0.04  # a non-skin region of the source this share of its oval is an occluder
    occluder_grow_share: float = 0.02  # ... grown and softened by this share of the face size on the target
    dark_share: float = 0.5  # source pixels darker than this x its cheeks' lightness (hair, deep shade) ...
    dark_edge_share: float = 0.06  # ... in regions reaching this outer band of the oval above the nose ...
    dark_reach: float = 0.2  # ... and this many eye distances into the face are not pasted
    dark_brow_share: float = 0.2  # ... outside the brows (a band this many eye distances thick) ...
    dark_middle_share: float = 0.15  # ... and the eyes, nose and mouth's hull grown by this many eye distances
    finger_gap_share: float = 0.15  # finger gaps: dark lines narrower than this share of the eye distance
    finger_line_depth: float = 0.15  # ... this share of the face's median lightness darker than around them
    finger_line_length: float = 0.6  # ... at least this many eye distances long
    finger_line_elongation: float = 4.0  # ... this many times as long as wide
    finger_line_max_tilt: float = 45.0  # ... and within this many degrees of the face's horizontal
    finger_lines: int = 2  # ... this many of them on the forehead: a hand lies there
    finger_grow: tuple[float, float] = (0.45, 0.2)  # their hull grown by this many eye distances across and along
    lens_darkness: float = 0.45  # sunglasses: darker than this x the cheeks' median lightness
    lens_eye_share: float = 0.85  # ... over this share of each eye opening
    lens_ring_share: float = 0.5  # ... and this share of the skin ring around it
    lens_reach: float = 0.4  # ... the ring reaching this many eye distances from the eye's centre
    lens_grow_share: float = 0.05  # ... the lenses grown by this many eye distances
    beard_kept_min: float = 0.02  # share of the lower face the target's occluders must cover to look for a beard
    beard_edge_share: float = 0.08  # the beard region's soft upper edge, as a share of the eye distance
    # A target's own frames, kept: below the eyes, dark regions this many eye distances wide or wider are the
    # shade under a lens or beside the nose, not frame (kept, the template's skin shows there as a patch) ...
    kept_frames_shade: float = 0.12
    # ... and each kept pixel weighs 0 to 1 as it stands out over this range of grey levels (darker or
    # lighter) within this many eye distances: the wire stays, the skin the drawn rims cover beside it goes
    kept_frames_contrast: tuple[float, float] = (6.0, 16.0)
    kept_frames_line_share: float = 0.1


@dataclass(frozen=True)
class ToneSettings:
    """Light, colour, sharpness and grain matched to the target."""

    face_size: float = 128.0  # tone and occlusion run with the face at most this large
    edge_depth_share: float = 0.4  # the template's own light comes in this deep from the face's border (share of the face size)
    edge_plateau_share: float = 0.2  # ... fully this deep
    edge_sigma_share: float = 0.05  # ... at the scale of this share of the face size
    eye_detail_share: float = 1.0  # in the eye openings, this share of the source's fine detail keeps its contrast
    eye_gain_max: float = 2.0  # ... its gain following the light up to this (elsewhere at most 1.6)


@dataclass(frozen=True)
class CompositeSettings:
    """The final blend of the toned source over the target."""

    feather_share: float = 0.03  # erosion before feathering, as a share of the face size


@dataclass(frozen=True)
class ClassicSettings:
    source: SourceSettings = field(default_factory=SourceSettings)
    warp: WarpSettings = field(default_factory=WarpSettings)
    regions: RegionSettings = field(default_factory=RegionSettings)
    tone: ToneSettings = field(default_factory=ToneSettings)
    composite: CompositeSettings = field(default_factory=CompositeSettings)
