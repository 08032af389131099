"""Hand kinematics from the project's own YAML descriptions (config/retarget/kinematics/*.yaml).

A hand is five serial chains (thumb, index, middle, ring, pinky) hanging off a rigid palm. Each
kinematic joint is a hinge driven by one actuated joint at a fixed ratio: that covers the Faive
rolling-contact halves (two joints at 0.5 of the total angle), the Faive DIP (0.71 of the PIP)
and the mimic DIP (1:1 with the PIP). Joint order and limits of robot hands come from
config/embodiments/<name>.yaml, the single source of truth; the description adds geometry only.

Forward kinematics is batched and written once over an array namespace, so it runs on numpy
(float64 or float32) and on torch tensors (differentiable) alike. Positions are returned in the
hand's canonical palm frame (see `palm_frame`), in which keyvectors of different hands compare.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from lad_ros.config import ConfigError, Fields, JointSpec, _joints, read_yaml
from lad_ros.embodiment import load_embodiment, resolve

FINGERS = ("thumb", "index", "middle", "ring", "pinky")


def _quat_to_matrix(w: float, x: float, y: float, z: float) -> np.ndarray:
    n = math.sqrt(w * w + x * x + y * y + z * z)
    w, x, y, z = w / n, x / n, y / n, z / n
    return np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
                     [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
                     [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)]])


def _skew(v: np.ndarray) -> np.ndarray:
    return np.array([[0.0, -v[2], v[1]], [v[2], 0.0, -v[0]], [-v[1], v[0], 0.0]])


def palm_frame(wrist, index_mcp, middle_mcp, pinky_mcp) -> np.ndarray:
    """Canonical palm frame shared by every hand: rows are its axes in the input frame.

    x points from the wrist to the middle MCP (along the fingers), z is the normal of the plane
    through wrist, index MCP and pinky MCP, y = z × x. For right hands this puts the thumb on the
    same side for human and robots, whatever frame the tracker or the robot model uses.
    Inputs are numpy [..., 3]; returns [..., 3, 3].
    """
    x = middle_mcp - wrist
    x = x / np.linalg.norm(x, axis=-1, keepdims=True)
    n = cross(index_mcp - wrist, pinky_mcp - wrist)
    z = n - (n * x).sum(-1, keepdims=True) * x
    z = z / np.linalg.norm(z, axis=-1, keepdims=True)
    return np.stack([x, cross(z, x), z], axis=-2)


def cross(a, b):
    """a × b over the last axis; np.cross's axis juggling costs more than the product itself
    on the small arrays of a single frame."""
    a0, a1, a2 = a[..., 0], a[..., 1], a[..., 2]
    b0, b1, b2 = b[..., 0], b[..., 1], b[..., 2]
    return np.stack([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0], axis=-1)


@dataclass(frozen=True)
class _Chain:
    finger: str
    joints: tuple  # of dicts: name, drives, ratio, pos, rot, anchor, axis
    tip: np.ndarray
    keypoints: tuple  # (name, joint index or -1 for the tip)


def _chain(fields: Fields, actuated: list[str]) -> _Chain:
    fields.keys_known({"finger", "joints", "tip", "tip_keypoint"})
    finger = fields.choice("finger", FINGERS)
    joints = []
    for item in fields.items("joints"):
        item.keys_known({"name", "drives", "ratio", "pos", "quat_wxyz", "anchor", "axis",
                         "keypoint"})
        drives = item.req("drives", str)
        if drives not in actuated:
            raise item.error("drives", f"one of the actuated joints {actuated}", drives)
        axis = np.array(item.vector("axis", 3))
        if np.linalg.norm(axis) < 1e-9:
            raise item.error("axis", "a non-zero vector", list(axis))
        joints.append(dict(
            name=item.req("name", str), drives=actuated.index(drives),
            ratio=item.number("ratio", default=1.0),
            pos=np.array(item.vector("pos", 3, default=(0.0, 0.0, 0.0))),
            rot=_quat_to_matrix(*item.vector("quat_wxyz", 4, default=(1.0, 0.0, 0.0, 0.0))),
            anchor=np.array(item.vector("anchor", 3, default=(0.0, 0.0, 0.0))),
            axis=axis / np.linalg.norm(axis), keypoint=item.opt("keypoint", str, None)))
    if not joints:
        raise fields.error("joints", "at least one joint", [])
    keypoints = tuple((j["keypoint"], i) for i, j in enumerate(joints) if j["keypoint"])
    tip_keypoint = fields.opt("tip_keypoint", str, None)
    if tip_keypoint:
        keypoints += ((tip_keypoint, -1),)
    return _Chain(finger, tuple(joints), np.array(fields.vector("tip", 3)), keypoints)


class HandKinematics:
    """Batched forward kinematics of one hand; `q` is [..., n_joints] in `joint_names` order."""

    def __init__(self, file: str, name: str, joints: tuple[JointSpec, ...], chains: list[_Chain],
                 wrist: np.ndarray):
        self.file, self.name, self.joints = file, name, joints
        self.joint_names = [j.name for j in joints]
        self.lower = np.array([j.lower for j in joints])
        self.upper = np.array([j.upper for j in joints])
        self.neutral = np.array([j.neutral for j in joints])
        by_finger = {c.finger: c for c in chains}
        missing = [f for f in FINGERS if f not in by_finger]
        if missing or len(chains) != len(FINGERS):
            raise ConfigError(file, "chains", f"one chain per finger {list(FINGERS)}",
                              [c.finger for c in chains])
        self.chains = [by_finger[f] for f in FINGERS]
        depth = max(len(c.joints) for c in self.chains)
        n = len(joints)
        pre_rot = np.tile(np.eye(3), (5, depth, 1, 1))
        pre_pos = np.zeros((5, depth, 3))
        axis = np.tile([0.0, 0.0, 1.0], (5, depth, 1))
        coupling = np.zeros((5, depth, n))
        drives = np.zeros((5, depth), dtype=np.int64)  # padding joints: ratio 0 on joint 0
        tip = np.zeros((5, 3))
        for c, chain in enumerate(self.chains):
            previous_anchor = np.zeros(3)
            for k, joint in enumerate(chain.joints):
                # MJCF-style body: T = T_parent · Trans(pos) · Rot(quat); the hinge turns about
                # `anchor` in that body frame. Fold the anchor shifts into one fixed transform
                # per joint, so each step is "fixed transform, then rotation about the origin".
                pre_rot[c, k] = joint["rot"]
                pre_pos[c, k] = joint["pos"] - previous_anchor + joint["rot"] @ joint["anchor"]
                axis[c, k] = joint["axis"]
                coupling[c, k, joint["drives"]] += joint["ratio"]
                drives[c, k] = joint["drives"]
                previous_anchor = joint["anchor"]
            tip[c] = chain.tip - previous_anchor
        driven = coupling.reshape(-1, n).any(axis=0)
        if not driven.all():
            raise ConfigError(file, "chains", "every actuated joint driven by some chain joint",
                              [self.joint_names[i] for i in np.flatnonzero(~driven)])
        self.depth = depth
        self._drives = drives.reshape(-1)
        # Canonical palm frame from the zero-pose landmarks: MCP = first joint of the chain.
        self.wrist = wrist
        mcp = {c.finger: self._np_anchor0(c) for c in self.chains}
        self.palm_rotation = palm_frame(wrist, mcp["index"], mcp["middle"], mcp["pinky"])
        self.keypoint_names = ["wrist"] + [name for c in self.chains for name, _ in c.keypoints]
        # Two constant sets: the model frame, and the palm frame (the first fixed transform of
        # every chain moved into it), so solvers get palm-frame tips without a conversion.
        in_palm_rot, in_palm_pos = pre_rot.copy(), pre_pos.copy()
        in_palm_rot[:, 0] = self.palm_rotation @ pre_rot[:, 0]
        in_palm_pos[:, 0] = (pre_pos[:, 0] - wrist) @ self.palm_rotation.T
        self._np = {"model": _derived_constants(pre_rot, pre_pos, axis, coupling, tip),
                    "palm": _derived_constants(in_palm_rot, in_palm_pos, axis, coupling, tip)}

    def _np_anchor0(self, chain: _Chain) -> np.ndarray:
        j = chain.joints[0]
        return j["pos"] + j["rot"] @ j["anchor"]

    @functools.lru_cache(maxsize=16)
    def _constants(self, backend: str, dtype, device=None, frame: str = "model") -> dict:
        if backend == "numpy":
            consts = {k: v.astype(dtype) for k, v in self._np[frame].items()}
            consts.update(wrist=self.wrist.astype(dtype), palm=self.palm_rotation.astype(dtype))
            return consts
        import torch
        consts = {k: torch.as_tensor(v, dtype=dtype, device=device)
                  for k, v in self._np[frame].items()}
        consts.update(wrist=torch.as_tensor(self.wrist, dtype=dtype, device=device),
                      palm=torch.as_tensor(self.palm_rotation, dtype=dtype, device=device))
        return consts

    def _consts_for(self, q, frame: str = "model"):
        if isinstance(q, np.ndarray):
            dtype = q.dtype if q.dtype in (np.float32, np.float64) else np.float64
            return self._constants("numpy", np.dtype(dtype).type, None, frame), np
        import torch
        return self._constants("torch", q.dtype, q.device, frame), torch

    def chain_frames(self, q, fast_trig: bool = False, frame: str = "model"):
        """Joint anchors [..., 5, depth, 3], world joint axes [..., 5, depth, 3] and fingertips
        [..., 5, 3] in the hand's model frame or ("palm") the canonical palm frame (numpy in,
        numpy out; torch in, torch out).

        fast_trig (numpy only): sin/cos in float32, which numpy vectorises (~30× faster than
        float64 here); the ~1e-7 error moves a fingertip by far less than a micrometre. The
        solvers use it; plain forward kinematics stays exact."""
        if isinstance(q, np.ndarray) and q.dtype not in (np.float32, np.float64):
            q = q.astype(np.float64)
        k, xp = self._consts_for(q, frame)
        batch = q.shape[:-1]
        q2 = q.reshape(-1, q.shape[-1])
        angles = q2[:, self._drives] * k["ratios"]  # [B, 5·depth]; each hinge has one driver
        # Fixed transform then hinge, as one matrix: pre_rot · Rodrigues(axis, angle), linear in
        # (1, sin, 1 − cos): one batched GEMM per joint instead of broadcasting over 3×3 blocks.
        if xp is np and fast_trig:
            low = angles.astype(np.float32)
            sin, cos = np.sin(low).astype(q.dtype), np.cos(low).astype(q.dtype)
        else:
            sin, cos = xp.sin(angles), xp.cos(angles)
        coefficients = xp.stack([xp.ones_like(angles), sin, 1 - cos], -1)
        # Each joint's matrix comes with that matrix times the next joint's offset and axis
        # (or the fingertip), [3 × 5]: one product per level then moves the frame and yields
        # the next anchor and axis.
        steps = xp.swapaxes(xp.swapaxes(coefficients, 0, 1) @ k["step_basis"], 0, 1)
        steps = steps.reshape(len(q2), 5, self.depth, 3, 5)
        pos = k["pre_pos"][:, 0] + 0 * steps[:, :, 0, :, 0]  # broadcast to the batch
        anchors, axes = [pos], [k["pre_axis"][:, 0] + 0 * pos]
        frame_and_next = steps[:, :, 0]
        for j in range(self.depth):
            if j:
                frame_and_next = rot @ steps[:, :, j]
            rot = frame_and_next[..., :3]
            pos = pos + frame_and_next[..., 3]
            if j + 1 < self.depth:
                anchors.append(pos)
                axes.append(frame_and_next[..., 4])
        tips = pos
        shape = (*batch, 5)
        return (xp.stack(anchors, -2).reshape(*shape, self.depth, 3),
                xp.stack(axes, -2).reshape(*shape, self.depth, 3), tips.reshape(*shape, 3))

    def to_palm(self, points):
        """Model-frame points [..., 3] → canonical palm frame (origin at the wrist)."""
        k, _ = self._consts_for(points)
        return (points - k["wrist"]) @ k["palm"].T

    def fingertips(self, q):
        """Fingertip positions [..., 5, 3] in the canonical palm frame (palm point = origin)."""
        return self.chain_frames(q, frame="palm")[2]

    def palm_and_fingertips(self, q, frame: str = "palm"):
        """[..., 6, 3]: the palm point (the wrist) then the five fingertips, in the palm frame
        (where the palm point is the origin) or the model frame."""
        tips = self.chain_frames(q, frame=frame)[2]
        k, xp = self._consts_for(tips)
        palm = (k["wrist"] if frame == "model" else 0 * k["wrist"]) + 0 * tips[..., :1, :]
        return xp.concatenate([palm, tips], -2)

    def fingertips_and_jacobian(self, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """numpy: fingertips [B, 5, 3] in the palm frame and d tips / d q [B, 5, 3, n]."""
        anchors, axes, tips = self.chain_frames(q, fast_trig=True, frame="palm")
        columns = cross(axes, tips[..., None, :] - anchors)  # [B, 5, depth, 3]
        per_joint = self._constants("numpy", np.dtype(q.dtype).type, None, "palm")["per_joint"]
        return tips, np.swapaxes(columns, -1, -2) @ per_joint  # [B, 5, 3, n]

    def keypoints(self, q):
        """Named keypoints (wrist first, then the chains' marked joints and tips) in the model
        frame, [..., 1 + len(keypoint_names), 3]; used by the human model and for drawing."""
        anchors, _, tips = self.chain_frames(q)
        k, xp = self._consts_for(q)
        points = [k["wrist"] + 0 * tips[..., 0, :]]
        for c, chain in enumerate(self.chains):
            for _, index in chain.keypoints:
                points.append(tips[..., c, :] if index < 0 else anchors[..., c, index, :])
        return xp.stack(points, -2)


def _derived_constants(pre_rot, pre_pos, axis, coupling, tip) -> dict:
    """Everything chain_frames needs, precomputed from the per-joint fixed transforms."""
    five, depth, n = coupling.shape
    skew = np.stack([[_skew(a) for a in row] for row in axis])
    pre_axis = (pre_rot @ axis[..., None])[..., 0]
    # What each joint's frame carries to the next level: its offset and axis, or the fingertip.
    carried = np.zeros((five, depth, 3, 2))
    carried[:, :-1, :, 0], carried[:, :-1, :, 1] = pre_pos[:, 1:], pre_axis[:, 1:]
    carried[:, -1, :, 0] = tip
    terms = [pre_rot, pre_rot @ skew, pre_rot @ skew @ skew]  # × (1, sin, 1 − cos)
    return dict(
        pre_pos=pre_pos, pre_axis=pre_axis,
        # [5·depth, 3, 15]: joint matrix pre_rot · Rodrigues(axis, angle) and that matrix times
        # the carried vectors, both linear in (1, sin, 1 − cos)
        step_basis=np.stack([np.concatenate([t, t @ carried], -1) for t in terms], 2).reshape(
            five * depth, 3, 15),
        ratios=coupling.sum(axis=2).reshape(-1),
        per_joint=coupling)  # [5, depth, n]: d(hinge angle) / d(actuated joint)


def load_kinematics_file(path: str) -> HandKinematics:
    path = str(path)
    fields = Fields(path, read_yaml(path))
    fields.keys_known({"name", "embodiment", "source", "joints", "wrist", "chains"})
    embodiment = fields.opt("embodiment", str, None)
    if embodiment is not None:
        joints = load_embodiment(embodiment).joints
        if "joints" in fields.data:
            raise fields.error("joints", "no joint list when 'embodiment' gives the joints",
                               "a joint list")
    else:
        joints = _joints(fields)  # the human model lists its own (anatomical) joints
    names = [j.name for j in joints]
    chains = [_chain(item, names) for item in fields.items("chains")]
    return HandKinematics(path, fields.req("name", str), joints, chains,
                          np.array(fields.vector("wrist", 3)))


@functools.lru_cache(maxsize=None)
def load_kinematics(name: str) -> HandKinematics:
    """Shipped description config/retarget/kinematics/<name>.yaml (human, faive, mimic)."""
    return load_kinematics_file(str(resolve(f"config/retarget/kinematics/{name}.yaml")))
