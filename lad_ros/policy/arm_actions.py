"""The paper's two arm action representations, computed from measured (reached) arm poses.

Poses are [..., 7]: position xyz (m) + quaternion xyzw, in the arm base frame. The arm action of
frame t targets the pose reached at frame t+1 (the last frame holds still):
- "delta" (setup 1, Faive+Franka): 6-D delta between the reached poses at t+1 and t, in the base
  frame: translation difference and rotation vector of R_{t+1} R_t^T.
- "relative" (setup 2, mimic+Franka): the target pose relative to the pose at the chunk start,
  T_start^-1 T_{t+1}: translation + 6-D rotation (the first two columns of the rotation matrix,
  Zhou et al. 2019), which is continuous where quaternions and Euler angles are not.
"""
from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation


def rotation_to_6d(matrices: np.ndarray) -> np.ndarray:
    """[..., 3, 3] -> [..., 6]: the first two columns, column after column."""
    return np.concatenate([matrices[..., :, 0], matrices[..., :, 1]], axis=-1)


def rotation_from_6d(six: np.ndarray) -> np.ndarray:
    """[..., 6] -> [..., 3, 3] by Gram-Schmidt, so any network output gives a valid rotation."""
    a, b = six[..., :3], six[..., 3:]
    x = a / np.maximum(np.linalg.norm(a, axis=-1, keepdims=True), 1e-9)
    b = b - np.sum(x * b, axis=-1, keepdims=True) * x
    y = b / np.maximum(np.linalg.norm(b, axis=-1, keepdims=True), 1e-9)
    return np.stack([x, y, np.cross(x, y)], axis=-1)


def _split(poses: np.ndarray) -> tuple[np.ndarray, Rotation]:
    return poses[..., :3].astype(np.float64), Rotation.from_quat(poses[..., 3:7])


def _join(positions: np.ndarray, rotations: Rotation) -> np.ndarray:
    return np.concatenate([positions, rotations.as_quat()], axis=-1).astype(np.float32)


def relative_poses(reference: np.ndarray, poses: np.ndarray) -> np.ndarray:
    """reference [7], poses [N, 7] -> [N, 9]: reference^-1 * pose as translation + 6-D rotation."""
    p_ref, r_ref = _split(reference)
    p, r = _split(poses)
    inverse = r_ref.inv()
    translation = inverse.apply(p - p_ref)
    rotation = (inverse * r).as_matrix()
    return np.concatenate([translation, rotation_to_6d(rotation)], axis=-1).astype(np.float32)


def arm_action_chunk(poses: np.ndarray, start: int, horizon: int, kind: str) -> np.ndarray:
    """Arm actions of frames start .. start+horizon-1 of one episode, [horizon, 6 or 9]."""
    last = len(poses) - 1
    frames = np.minimum(np.arange(start, start + horizon), last)
    reached = poses[np.minimum(frames + 1, last)]
    if kind == "relative":
        return relative_poses(poses[start], reached)
    if kind == "delta":
        p_now, r_now = _split(poses[frames])
        p_next, r_next = _split(reached)
        rotvec = (r_next * r_now.inv()).as_rotvec()
        return np.concatenate([p_next - p_now, rotvec], axis=-1).astype(np.float32)
    raise ValueError(f"unknown arm action representation {kind!r}")


def target_poses(start_pose: np.ndarray, actions: np.ndarray, kind: str) -> np.ndarray:
    """Inverse of arm_action_chunk: absolute target poses [H, 7] from the chunk-start pose."""
    p0, r0 = _split(start_pose)
    actions = actions.astype(np.float64)
    if kind == "relative":
        positions = p0 + r0.apply(actions[:, :3])
        rotations = r0 * Rotation.from_matrix(rotation_from_6d(actions[:, 3:9]))
        return _join(positions, rotations)
    if kind == "delta":
        positions = p0 + np.cumsum(actions[:, :3], axis=0)
        rotation, rotations = r0, []
        for rotvec in actions[:, 3:6]:
            rotation = Rotation.from_rotvec(rotvec) * rotation
            rotations.append(rotation.as_quat())
        return np.concatenate([positions, np.array(rotations)], axis=-1).astype(np.float32)
    raise ValueError(f"unknown arm action representation {kind!r}")
