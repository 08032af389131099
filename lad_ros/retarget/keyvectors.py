"""Keyvectors (LAD stage 1): palm→fingertip (5) and fingertip→fingertip (10), in the palm frame.

Human keypoints arrive as 21 points in MediaPipe order (wrist frame, metres). They are checked
here — shape, finiteness, a non-degenerate palm — before anything is computed from them, and
expressed in the canonical palm frame (`kinematics.palm_frame`) that robot hands share.
"""
from __future__ import annotations

import itertools

import numpy as np

from lad_ros.retarget.kinematics import FINGERS, palm_frame

KEYPOINT_COUNT = 21
WRIST, INDEX_MCP, MIDDLE_MCP, PINKY_MCP = 0, 5, 9, 17
FINGERTIPS = (4, 8, 12, 16, 20)  # thumb, index, middle, ring, pinky tips in MediaPipe order

# Point indices into [palm, thumb, index, middle, ring, pinky] (palm = wrist, the frame origin).
KEYVECTOR_PAIRS = tuple((0, 1 + f) for f in range(5)) + tuple(
    (1 + a, 1 + b) for a, b in itertools.combinations(range(5), 2))
_POINT_NAMES = ("palm",) + FINGERS
KEYVECTOR_NAMES = tuple(f"{_POINT_NAMES[a]}_to_{_POINT_NAMES[b]}" for a, b in KEYVECTOR_PAIRS)
THUMB_KEYVECTORS = tuple(i for i, (a, _) in enumerate(KEYVECTOR_PAIRS) if a == 1)

# keyvectors = _DIFFERENCE @ points: row i is +1 at its end point, -1 at its start point.
_DIFFERENCE = np.zeros((len(KEYVECTOR_PAIRS), 6))
for _row, (_start, _end) in enumerate(KEYVECTOR_PAIRS):
    _DIFFERENCE[_row, _start], _DIFFERENCE[_row, _end] = -1.0, 1.0

MIN_PALM_SIZE_M = 1e-3  # wrist-to-MCP spans below this cannot define a palm frame
MAX_COORDINATE_M = 10.0  # a tracked hand in its wrist frame is never this far out


class KeypointError(ValueError):
    """Human keypoints that cannot be retargeted (wrong shape, NaN/inf, degenerate palm)."""


def validate_keypoints(keypoints) -> np.ndarray:
    """[..., 21, 3] or [..., 63] keypoints → float64 [B, 21, 3], or KeypointError saying why."""
    try:
        array = np.asarray(keypoints, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise KeypointError(f"human keypoints: expected numbers, got {type(keypoints).__name__}"
                            f" ({error})") from None
    if array.ndim >= 1 and array.shape[-1] == 3 * KEYPOINT_COUNT:
        array = array.reshape(*array.shape[:-1], KEYPOINT_COUNT, 3)
    if array.ndim < 2 or array.shape[-2:] != (KEYPOINT_COUNT, 3):
        raise KeypointError(f"human keypoints: expected shape [..., 21, 3] or [..., 63] "
                            f"(MediaPipe order, metres), got {list(np.shape(keypoints))}")
    array = array.reshape(-1, KEYPOINT_COUNT, 3)
    bad = ~np.isfinite(array).all(axis=(1, 2))
    if bad.any():
        raise KeypointError(f"human keypoints: {int(bad.sum())} of {len(array)} frames contain "
                            f"NaN or inf (first at index {int(np.flatnonzero(bad)[0])})")
    far = np.abs(array).max(axis=(1, 2)) > MAX_COORDINATE_M
    if far.any():
        raise KeypointError(f"human keypoints: {int(far.sum())} frames have coordinates beyond "
                            f"±{MAX_COORDINATE_M} m (first at index {int(np.flatnonzero(far)[0])})")
    spans = array[:, [INDEX_MCP, MIDDLE_MCP, PINKY_MCP]] - array[:, [WRIST]]
    span = np.linalg.norm(spans, axis=-1).min(axis=-1)
    normal = np.cross(spans[:, 0], spans[:, 2])
    # palm_frame's z: the normal without its component along wrist -> middle MCP
    along = spans[:, 1] / np.maximum(np.linalg.norm(spans[:, 1], axis=-1, keepdims=True), 1e-12)
    palm_z = normal - (normal * along).sum(-1, keepdims=True) * along
    degenerate = ((span < MIN_PALM_SIZE_M)
                  | (np.linalg.norm(palm_z, axis=-1) < MIN_PALM_SIZE_M ** 2))
    if degenerate.any():
        raise KeypointError(f"human keypoints: {int(degenerate.sum())} frames have a degenerate "
                            f"palm (wrist and index/middle/pinky MCPs nearly coincident or "
                            f"collinear, or the middle MCP along the palm normal; first at index "
                            f"{int(np.flatnonzero(degenerate)[0])})")
    return array


def human_palm_points(keypoints) -> np.ndarray:
    """Keypoints → [B, 6, 3]: wrist (origin) and five fingertips in the palm frame."""
    return palm_points_of_valid(validate_keypoints(keypoints))


def palm_points_of_valid(kp: np.ndarray) -> np.ndarray:
    """Like human_palm_points, for keypoints that already passed validate_keypoints."""
    return _to_palm(kp, kp[:, (WRIST,) + FINGERTIPS])


def canonical_keypoints(keypoints) -> np.ndarray:
    """All 21 keypoints [B, 21, 3] in the palm frame: the same numbers whatever wrist frame the
    tracker (or the synthetic human model) reports in. The aligned dataset stores these."""
    kp = validate_keypoints(keypoints)
    return _to_palm(kp, kp)


def _to_palm(kp: np.ndarray, points: np.ndarray) -> np.ndarray:
    rotation = palm_frame(kp[:, WRIST], kp[:, INDEX_MCP], kp[:, MIDDLE_MCP], kp[:, PINKY_MCP])
    return np.einsum("bij,bkj->bki", rotation, points - kp[:, [WRIST]])


def keyvectors_from_points(points):
    """[..., 6, 3] palm + fingertip points → [..., 15, 3] keyvectors (numpy or torch)."""
    if isinstance(points, np.ndarray):
        return _DIFFERENCE.astype(points.dtype) @ points
    import torch
    return torch.as_tensor(_DIFFERENCE, dtype=points.dtype, device=points.device) @ points


def human_keyvectors(keypoints) -> np.ndarray:
    return keyvectors_from_points(human_palm_points(keypoints))


def gripper_width(keypoints, standard_width_m: float) -> np.ndarray:
    """LAD eq. 6: min(min over thumb-tip keyvectors ‖v‖ / W, 1) → float [B, 1] in [0, 1]."""
    kv = human_keyvectors(keypoints)[:, THUMB_KEYVECTORS]
    width = np.linalg.norm(kv, axis=-1).min(axis=-1) / standard_width_m
    return np.clip(width, 0.0, 1.0)[:, None]


# (name, a, b, c): the bend at b between segments a→b and b→c, MediaPipe indices.
BEND_ANGLES = tuple(
    [("thumb_mcp", 1, 2, 3), ("thumb_ip", 2, 3, 4)]
    + [(f"{finger}_{joint}", *points) for i, finger in enumerate(FINGERS[1:])
       for joint, points in zip(("mcp", "pip", "dip"),
                                ((0, 5 + 4 * i, 6 + 4 * i), (5 + 4 * i, 6 + 4 * i, 7 + 4 * i),
                                 (6 + 4 * i, 7 + 4 * i, 8 + 4 * i)))])
BEND_ANGLE_NAMES = tuple(name for name, *_ in BEND_ANGLES)


def bend_angles(keypoints: np.ndarray) -> np.ndarray:
    """Unsigned bend angles [B, len(BEND_ANGLES)] of validated keypoints [B, 21, 3]: a cheap,
    frame-free description of how curled each finger is (used to start the solver)."""
    a, b, c = (keypoints[:, [entry[k] for entry in BEND_ANGLES]] for k in (1, 2, 3))
    u, v = b - a, c - b
    cosine = (u * v).sum(-1) / (np.linalg.norm(u, axis=-1) * np.linalg.norm(v, axis=-1) + 1e-12)
    return np.arccos(np.clip(cosine, -1.0, 1.0))
