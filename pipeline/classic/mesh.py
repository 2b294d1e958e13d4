"""MediaPipe's 478-point face mesh, run with ai-edge-litert, with our own crop and un-projection.

The model file is `face_landmarker.task` (Apache-2.0), installed by `install_mesh_model.py` and pinned by
sha256. It is a zip of TFLite models; this module uses `face_landmarks_detector.tflite` (input 1x256x256x3
RGB float in 0..1, outputs 1434 = 478 x (x, y, z) in crop pixels and a face-presence logit) and the
canonical face mesh in `geometry_pipeline_metadata_landmarks.binarypb` (468 vertices, 898 triangles), whose
triangles the swap warps over.

Mesh indexes follow MediaPipe: "left"/"right" are the subject's, so the subject's right eye is on the image
left of a frontal face.
"""

from __future__ import annotations

import io
import struct
import sys
import threading
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import cv2
import numpy as np
from numpy.typing import NDArray

from pipeline.classic.litert import interpreter, read_pinned
from pipeline.errors import ModelUnavailable
from pipeline.mesh_topology import (
    LEFT_EYE,
    LOWER_LIP_INNER,
    MOUTH_CORNERS,
    NOSE_TIP,
    RIGHT_EYE,
    UPPER_LIP_INNER,
)

MESH_MODEL_NAME: Final = "face_landmarker.task"
MESH_MODEL_SHA256: Final = "64184e229b263107bc2b804c6625db1341ff2bb731874b0bcc2fe6544e0bc9ff"
MESH_POINTS: Final = 478
CANONICAL_POINTS: Final = 468
INPUT_SIZE: Final = 256
CROP_SCALE: Final = 1.5  # crop side / mesh extent, as MediaPipe's landmarks-to-ROI step
PRESENCE_THRESHOLD: Final = 0.5
PRESENCE_OUTPUT: Final = "Identity_1"  # 1x1x1x1 face-presence logit (Identity_2 is a tongue score)
REFINE_PASSES: Final = 1  # crops re-centred on the previous pass's mesh

Mesh = NDArray[np.float32]  # 478 x 3: x, y in image pixels, z in the same pixel scale (camera-relative)
Triangles = NDArray[np.int32]  # T x 3 vertex indexes



@dataclass(frozen=True)
class CanonicalFace:
    """MediaPipe's canonical face model: vertices (468 x 3, y up, centimetres) and its triangles."""

    vertices: NDArray[np.float32]
    triangles: Triangles
    mirror: NDArray[np.int32]  # 478 indexes: the vertex on the other side of the face


def mesh_model_path() -> Path:
    """Where install_mesh_model.py puts the file: <sys.prefix>/share/coswap/face_landmarker.task."""
    return Path(sys.prefix) / "share" / "coswap" / MESH_MODEL_NAME


def read_mesh_model(path: Path) -> dict[str, bytes]:
    """The members of the pinned .task file; ModelUnavailable when missing or not the pinned file."""
    data = read_pinned(path, MESH_MODEL_SHA256, "face mesh model", "pipeline/classic/install_mesh_model.py")
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def parse_canonical_face(metadata: bytes) -> CanonicalFace:
    """Vertices and triangles from geometry_pipeline_metadata_landmarks.binarypb (a small protobuf).

    GeometryPipelineMetadata.canonical_mesh (field 1) is a Mesh3d: vertex_buffer (field 3, five floats
    x, y, z, u, v per vertex) and index_buffer (field 4, uint32 triangle corners).
    """
    mesh_bytes = next(value for number, value in _fields(metadata) if number == 1)
    floats: list[float] = []
    indexes: list[int] = []
    for number, value in _fields(mesh_bytes):
        if number == 3:
            floats.extend(_floats(value))
        elif number == 4:
            indexes.extend(_varints(value) if isinstance(value, bytes) else [value])
    vertices = np.asarray(floats, dtype=np.float32).reshape(-1, 5)[:, :3]
    triangles = np.asarray(indexes, dtype=np.int32).reshape(-1, 3)
    return CanonicalFace(vertices=vertices, triangles=triangles, mirror=_mirror_map(vertices))


class FaceMesher:
    """Runs the landmark model on a rotated, scaled crop around a face and maps the mesh back.

    One interpreter, serialised by a lock (TFLite interpreters are not thread-safe).
    """

    def __init__(self, model_path: Path | None = None) -> None:
        members = read_mesh_model(model_path or mesh_model_path())
        self.canonical = parse_canonical_face(members["geometry_pipeline_metadata_landmarks.binarypb"])
        self._interpreter = interpreter(members["face_landmarks_detector.tflite"])
        self._input = self._interpreter.get_input_details()[0]["index"]
        outputs = {d["name"]: d for d in self._interpreter.get_output_details()}
        self._landmarks_out = next(d["index"] for d in outputs.values() if d["shape"][-1] == MESH_POINTS * 3)
        self._presence_out = outputs[PRESENCE_OUTPUT]["index"]
        self._lock = threading.Lock()
        self._canonical_kps = _canonical_five_points(self.canonical.vertices)

    def mesh(self, image: NDArray[np.uint8], kps: NDArray[np.float32]) -> tuple[Mesh, float]:
        """The 478-point mesh of the face whose 5 keypoints are `kps`, and the face-presence score."""
        matrix = self._crop_from_keypoints(kps)
        points, score = self._run(image, matrix)
        for _ in range(REFINE_PASSES):
            matrix = _crop_from_mesh(points)
            points, score = self._run(image, matrix)
        return points, score

    def _crop_from_keypoints(self, kps: NDArray[np.float32]) -> NDArray[np.float64]:
        """Place the canonical face on the keypoints, then crop around its extent like a mesh crop."""
        similarity = similarity_transform(self._canonical_kps, kps[:5])
        flat = self.canonical.vertices[:, :2] * np.array([1.0, -1.0], dtype=np.float32)
        placed = flat @ similarity[:, :2].T.astype(np.float32) + similarity[:, 2].astype(np.float32)
        return _crop_from_mesh(np.hstack([placed, np.zeros((len(placed), 1), np.float32)]))

    def _run(self, image: NDArray[np.uint8], matrix: NDArray[np.float64]) -> tuple[Mesh, float]:
        crop = cv2.warpAffine(
            image, matrix, (INPUT_SIZE, INPUT_SIZE), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT
        )
        tensor = (crop.astype(np.float32) / 255.0)[None]
        with self._lock:
            self._interpreter.set_tensor(self._input, tensor)
            self._interpreter.invoke()
            raw = self._interpreter.get_tensor(self._landmarks_out).reshape(MESH_POINTS, 3).copy()
            logit = float(self._interpreter.get_tensor(self._presence_out).reshape(-1)[0])
        inverse = cv2.invertAffineTransform(matrix)
        scale = float(np.sqrt(abs(np.linalg.det(inverse[:, :2]))))
        xy = raw[:, :2] @ inverse[:, :2].T.astype(np.float32) + inverse[:, 2].astype(np.float32)
        points = np.hstack([xy, raw[:, 2:3] * scale]).astype(np.float32)
        return points, float(1.0 / (1.0 + np.exp(-logit)))


def similarity_transform(source: NDArray[np.float32], target: NDArray[np.float32]) -> NDArray[np.float64]:
    """Least-squares rotation, uniform scale and translation taking `source` onto `target` (Umeyama)."""
    src = np.asarray(source, dtype=np.float64)
    dst = np.asarray(target, dtype=np.float64)
    src_mean, dst_mean = src.mean(axis=0), dst.mean(axis=0)
    src_c, dst_c = src - src_mean, dst - dst_mean
    covariance = dst_c.T @ src_c / len(src)
    u, singular, vt = np.linalg.svd(covariance)
    sign = np.eye(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        sign[1, 1] = -1.0
    rotation = u @ sign @ vt
    variance = (src_c**2).sum() / len(src)
    scale = float(np.trace(np.diag(singular) @ sign) / variance) if variance > 0 else 1.0
    translation = dst_mean - scale * rotation @ src_mean
    return np.hstack([scale * rotation, translation[:, None]])


def mesh_five_points(mesh: Mesh) -> NDArray[np.float32]:
    """insightface-style keypoints from a mesh: image-left eye, image-right eye, nose tip, mouth corners."""
    right_eye = mesh[list(RIGHT_EYE), :2].mean(axis=0)
    left_eye = mesh[list(LEFT_EYE), :2].mean(axis=0)
    eyes = sorted([right_eye, left_eye], key=lambda p: float(p[0]))
    corners = sorted([mesh[MOUTH_CORNERS[0], :2], mesh[MOUTH_CORNERS[1], :2]], key=lambda p: float(p[0]))
    return np.stack([eyes[0], eyes[1], mesh[NOSE_TIP, :2], corners[0], corners[1]]).astype(np.float32)


def mouth_openness(mesh: Mesh) -> float:
    """Inner-lip gap over mouth width: about 0 for a closed mouth, 0.3 and up for an open one."""
    gap = float(np.linalg.norm(mesh[UPPER_LIP_INNER, :2] - mesh[LOWER_LIP_INNER, :2]))
    width = float(np.linalg.norm(mesh[MOUTH_CORNERS[0], :2] - mesh[MOUTH_CORNERS[1], :2]))
    return gap / max(width, 1e-3)


def mirror_mesh(mesh: Mesh, width: int, mirror: NDArray[np.int32]) -> Mesh:
    """The mesh of the horizontally flipped image (x -> width - 1 - x), indexes swapped left for right."""
    flipped = mesh.copy()
    flipped[:, 0] = (width - 1) - flipped[:, 0]
    return flipped[mirror]


def _crop_from_mesh(points: NDArray[np.float32]) -> NDArray[np.float64]:
    """Affine image -> 256 crop: eyes level, centred on the mesh extent, side CROP_SCALE x its long side."""
    right_eye = points[list(RIGHT_EYE), :2].mean(axis=0)
    left_eye = points[list(LEFT_EYE), :2].mean(axis=0)
    dx, dy = float(left_eye[0] - right_eye[0]), float(left_eye[1] - right_eye[1])
    angle = np.arctan2(dy, dx)
    cos, sin = np.cos(-angle), np.sin(-angle)
    rotation = np.array([[cos, -sin], [sin, cos]])
    xy = points[:CANONICAL_POINTS, :2].astype(np.float64)
    rotated = xy @ rotation.T
    low, high = rotated.min(axis=0), rotated.max(axis=0)
    centre_rotated = (low + high) / 2.0
    side = CROP_SCALE * float(max(high - low))
    side = max(side, 4.0)
    scale = INPUT_SIZE / side
    centre = rotation.T @ centre_rotated
    linear = scale * rotation
    offset = np.array([INPUT_SIZE / 2.0, INPUT_SIZE / 2.0]) - linear @ centre
    return np.hstack([linear, offset[:, None]])


def _canonical_five_points(vertices: NDArray[np.float32]) -> NDArray[np.float32]:
    """The canonical face's 5 keypoints in image orientation (y down, as seen from the front)."""
    flat = vertices[:, :2] * np.array([1.0, -1.0], dtype=np.float32)
    padded = np.vstack([np.hstack([flat, np.zeros((len(flat), 1), np.float32)]),
                        np.zeros((MESH_POINTS - len(flat), 3), np.float32)])
    return mesh_five_points(padded)


def _mirror_map(vertices: NDArray[np.float32]) -> NDArray[np.int32]:
    mirrored = vertices * np.array([-1.0, 1.0, 1.0], dtype=np.float32)
    distances = np.linalg.norm(vertices[None, :, :] - mirrored[:, None, :], axis=2)
    canonical = distances.argmin(axis=1).astype(np.int32)
    irises = np.concatenate([np.arange(473, 478), np.arange(468, 473)]).astype(np.int32)
    return np.concatenate([canonical, irises])


def _fields(data: bytes) -> list[tuple[int, bytes | int]]:
    fields: list[tuple[int, bytes | int]] = []
    position = 0
    while position < len(data):
        key, position = _varint(data, position)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, position = _varint(data, position)
            fields.append((number, value))
        elif wire == 2:
            length, position = _varint(data, position)
            fields.append((number, data[position : position + length]))
            position += length
        elif wire == 5:
            fields.append((number, data[position : position + 4]))
            position += 4
        elif wire == 1:
            fields.append((number, data[position : position + 8]))
            position += 8
        else:
            raise ModelUnavailable("face mesh metadata is not a protobuf this code reads")
    return fields


def _varint(data: bytes, position: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = data[position]
        position += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return result, position


def _varints(data: bytes) -> list[int]:
    values: list[int] = []
    position = 0
    while position < len(data):
        value, position = _varint(data, position)
        values.append(value)
    return values


def _floats(value: bytes | int) -> list[float]:
    if isinstance(value, int):
        return []
    return list(struct.unpack(f"<{len(value) // 4}f", value))
