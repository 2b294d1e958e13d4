"""Vertex indexes of MediaPipe's 478-point face mesh: region contours and single landmarks.

"left"/"right" are the subject's: the subject's right eye is on the image left of a frontal face.
Contours come from MediaPipe's face_mesh_connections (closed rings, in order). Engine-neutral data.
"""

from __future__ import annotations

from typing import Final

FACE_OVAL: Final = (10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377,
                    152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109)
LIPS_OUTER: Final = (61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291, 409, 270, 269, 267, 0, 37, 39, 40, 185)
LIPS_INNER: Final = (78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308, 415, 310, 311, 312, 13, 82, 81, 80, 191)
RIGHT_EYE: Final = (33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158, 159, 160, 161, 246)
LEFT_EYE: Final = (263, 249, 390, 373, 374, 380, 381, 382, 362, 398, 384, 385, 386, 387, 388, 466)
RIGHT_BROW: Final = (70, 63, 105, 66, 107, 55, 65, 52, 53, 46)
LEFT_BROW: Final = (300, 293, 334, 296, 336, 285, 295, 282, 283, 276)
NOSE_TIP: Final = 1
CHIN: Final = 152
FOREHEAD: Final = 10
UPPER_LIP_INNER: Final = 13
UPPER_LIP_OUTER: Final = 0
LOWER_LIP_INNER: Final = 14
MOUTH_CORNERS: Final = (61, 291)
RIGHT_CHEEK: Final = (116, 117, 118, 101, 36, 205, 187, 147, 123)  # the subject's right cheek (mirror for the left)
