"""Human hand: 21 tracker keypoints, or synthetic ones from a joint-angle model with anatomical
limits (config/retarget/kinematics/human.yaml) for dataset generation.

Synthetic poses come in named families (open hand, power grasp, pinches of the thumb with each
finger, pointing, partial closures). Pinches are closed by a small IK on the thumb and the
pinching finger, so the fingertips really meet (a few mm apart, as tracked tip points do).
Every sampled hand is scaled (hand sizes differ) and gets tracker-like keypoint noise.
"""
from __future__ import annotations

import numpy as np

from lad_ros.retarget.kinematics import FINGERS, HandKinematics, load_kinematics
from lad_ros.retarget.solver import solve_box_lm

POSE_FAMILIES = ("open", "power", "pinch_index", "pinch_middle", "pinch_ring", "pinch_pinky",
                 "point", "partial")
# Sampling shares of the families (sum 1). Grasp-frequency studies of daily and workshop
# manipulation (Zheng et al. 2011; Bullock et al. 2013) find power/wrap grasps the most used and
# thumb-index the dominant precision grasp; thumb-ring and thumb-pinky tip pinches are rare.
# Pinches are 30 % of the poses, power grasps and partial closures 45 % (docs/retargeting.md).
FAMILY_WEIGHTS = {"open": 0.15, "power": 0.25, "pinch_index": 0.15, "pinch_middle": 0.07,
                  "pinch_ring": 0.04, "pinch_pinky": 0.04, "point": 0.10, "partial": 0.20}
# Closure of the fingers that do not take part in a tip pinch: flexed beyond the resting
# posture (~0.5) up to curled into the palm, out of the way of the pinched object.
PINCH_OTHERS_CLOSURE = (0.7, 1.0)
# Power grasps wrap an object (~2-7 cm across): the fingers close around it, not into a bare
# fist (a fist without an object is still in the "partial" family, closure up to 1).
POWER_CLOSURE = (0.5, 0.85)
_SPREAD_SIGN = {"index": 1.0, "middle": 0.2, "ring": -0.8, "pinky": -1.0}

HAND_SCALE_RANGE = (0.88, 1.12)   # whole-hand size factor per sample
KEYPOINT_NOISE_M = 0.0015         # tracker noise, per coordinate (wrist stays the origin)
PINCH_GAP_RANGE_M = (0.004, 0.012)  # tracked thumb/finger tip points stay apart by finger pads


class HumanHandModel:
    def __init__(self, kinematics: HandKinematics | None = None):
        self.kinematics = kinematics or load_kinematics("human")
        self.index = {name: i for i, name in enumerate(self.kinematics.joint_names)}

    def keypoints(self, angles: np.ndarray) -> np.ndarray:
        """Joint angles [B, 20] → keypoints [B, 21, 3], MediaPipe order, wrist frame, metres."""
        return self.kinematics.keypoints(np.asarray(angles, dtype=np.float64))

    # -- sampling ---------------------------------------------------------------------------
    def _set(self, angles, rows, name, low, high, rng):
        angles[rows, self.index[name]] = rng.uniform(low, high, len(rows))

    def _open_fingers(self, angles, rows, rng, fingers=FINGERS[1:]):
        for f in fingers:
            spread = _SPREAD_SIGN[f] * rng.uniform(-0.05, 0.25, len(rows))
            angles[rows, self.index[f"{f}_mcp_abd"]] = spread
            self._set(angles, rows, f"{f}_mcp_flex", -0.25, 0.25, rng)
            self._set(angles, rows, f"{f}_pip", 0.0, 0.25, rng)
            self._set(angles, rows, f"{f}_dip", 0.0, 0.15, rng)

    def _closed_fingers(self, angles, rows, rng, fingers=FINGERS[1:]):
        for f in fingers:
            self._set(angles, rows, f"{f}_mcp_abd", -0.05, 0.05, rng)
            self._set(angles, rows, f"{f}_mcp_flex", 1.1, 1.6, rng)
            self._set(angles, rows, f"{f}_pip", 1.3, 1.9, rng)
            self._set(angles, rows, f"{f}_dip", 0.6, 1.3, rng)

    def _thumb(self, angles, rows, rng, cmc_flex, cmc_abd, mcp, ip):
        for name, (low, high) in zip(("thumb_cmc_flex", "thumb_cmc_abd", "thumb_mcp_flex",
                                      "thumb_ip_flex"), (cmc_flex, cmc_abd, mcp, ip)):
            self._set(angles, rows, name, low, high, rng)

    def sample_angles(self, families: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Joint angles [B, 20] for the given family indices [B] (pinches not yet closed)."""
        angles = np.tile(self.kinematics.neutral, (len(families), 1))
        for family_index, family in enumerate(POSE_FAMILIES):
            rows = np.flatnonzero(families == family_index)
            if not len(rows):
                continue
            if family == "open":
                self._open_fingers(angles, rows, rng)
                self._thumb(angles, rows, rng, (-0.4, 0.1), (0.0, 0.6), (-0.2, 0.2), (-0.2, 0.3))
            elif family == "power":
                self._blend(angles, rows, rng, rng.uniform(*POWER_CLOSURE, len(rows)))
            elif family == "point":
                self._open_fingers(angles, rows, rng, ("index",))
                self._closed_fingers(angles, rows, rng, ("middle", "ring", "pinky"))
                self._thumb(angles, rows, rng, (0.5, 0.9), (-0.2, 0.2), (0.3, 0.8), (0.2, 0.8))
            elif family == "partial":
                self._blend(angles, rows, rng, rng.uniform(0.0, 1.0, len(rows)))
            else:  # pinch_<finger>: the others relaxed to curled (PINCH_OTHERS_CLOSURE)
                finger = family.split("_", 1)[1]
                self._blend(angles, rows, rng, rng.uniform(*PINCH_OTHERS_CLOSURE, len(rows)))
                self._set(angles, rows, f"{finger}_mcp_abd", -0.05, 0.05, rng)
                self._set(angles, rows, f"{finger}_mcp_flex", 0.3, 1.0, rng)
                self._set(angles, rows, f"{finger}_pip", 0.3, 1.1, rng)
                angles[rows, self.index[f"{finger}_dip"]] = (
                    0.6 * angles[rows, self.index[f"{finger}_pip"]])
                self._thumb(angles, rows, rng, (0.3, 0.7), (-0.1, 0.3), (0.1, 0.5), (0.1, 0.5))
        return np.clip(angles, self.kinematics.lower, self.kinematics.upper)

    def _blend(self, angles, rows, rng, closure):
        """Per-finger mix of an open and a closed hand around a shared closure in [0, 1]."""
        open_, closed = angles.copy(), angles.copy()
        self._open_fingers(open_, rows, rng)
        self._closed_fingers(closed, rows, rng)
        self._thumb(open_, rows, rng, (-0.4, 0.1), (0.0, 0.6), (-0.2, 0.2), (-0.2, 0.3))
        self._thumb(closed, rows, rng, (0.5, 1.0), (-0.3, 0.2), (0.4, 1.0), (0.3, 1.2))
        for f in FINGERS:
            columns = [i for name, i in self.index.items() if name.startswith(f)]
            alpha = np.clip(closure + rng.normal(0.0, 0.1, len(rows)), 0.0, 1.0)[:, None]
            angles[np.ix_(rows, columns)] = ((1 - alpha) * open_[np.ix_(rows, columns)]
                                             + alpha * closed[np.ix_(rows, columns)])

    def close_pinches(self, angles: np.ndarray, families: np.ndarray,
                      rng: np.random.Generator) -> np.ndarray:
        """Move thumb and pinching finger so their tips end a few mm apart (batched IK)."""
        angles = angles.copy()
        for finger_index, finger in enumerate(FINGERS[1:], start=1):
            rows = np.flatnonzero(families == POSE_FAMILIES.index(f"pinch_{finger}"))
            if len(rows):
                angles[rows] = self._pinch_ik(angles[rows], finger_index, finger, rng)
        return angles

    def _pinch_ik(self, start, finger_index, finger, rng):
        kin = self.kinematics
        free = np.array([name.startswith(("thumb", finger)) for name in kin.joint_names])
        tips = kin.fingertips(start)
        apart = tips[:, 0] - tips[:, finger_index]
        direction = apart / np.linalg.norm(apart, axis=-1, keepdims=True)
        gap = rng.uniform(*PINCH_GAP_RANGE_M, len(start))[:, None] * direction

        def residual(q, rows):
            tips, jac = kin.fingertips_and_jacobian(q)
            r = tips[:, 0] - tips[:, finger_index] - gap[rows]
            return r, (jac[:, 0] - jac[:, finger_index]) * free
        # A weak pull to the sampled pose keeps the rest of the hand (and the pinch) natural.
        return solve_box_lm(residual, start, kin.lower, kin.upper, iterations=30,
                            prior_weight=1e-5, prior=start)[0]

    def sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """n synthetic hands: keypoints float64 [n, 21, 3] and family indices int16 [n]."""
        shares = np.array([FAMILY_WEIGHTS[name] for name in POSE_FAMILIES])
        families = rng.choice(len(POSE_FAMILIES), size=n, p=shares / shares.sum()).astype(np.int16)
        angles = self.close_pinches(self.sample_angles(families, rng), families, rng)
        keypoints = self.keypoints(angles) * rng.uniform(*HAND_SCALE_RANGE, (n, 1, 1))
        noise = rng.normal(0.0, KEYPOINT_NOISE_M, keypoints.shape)
        noise[:, 0] = 0.0
        return keypoints + noise, families
