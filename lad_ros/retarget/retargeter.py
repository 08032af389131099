"""Human hand → robot joints (LAD eq. 5) and → gripper width (eq. 6).

    θ_R = argmin_θ Σ_i w_i ‖v_i^H − s_i v_i^R(θ)‖² + λ ‖θ − θ_neutral‖²,   lower <= θ <= upper

over the 15 keyvectors, with per-keyvector scale factors s_i and weights w_i and a small pull
λ towards the neutral pose (it settles joints the keyvectors do not see), from
config/retarget/<hand>.yaml. `retarget` is the batch mode (raises on bad input);
`StreamingRetargeter` is the teleop mode (one frame, warm-started, never raises).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from lad_ros.config import Fields, read_yaml
from lad_ros.embodiment import load_embodiment, resolve
from lad_ros.retarget.keyvectors import (BEND_ANGLE_NAMES, KEYVECTOR_NAMES, KeypointError,
                                         _DIFFERENCE, bend_angles, gripper_width,
                                         keyvectors_from_points, palm_points_of_valid,
                                         validate_keypoints)
from lad_ros.retarget.kinematics import HandKinematics, load_kinematics
from lad_ros.retarget.solver import solve_box_lm

HANDS = ("faive", "mimic")
SWITCH_BRANCH_COST_RATIO = 0.8  # streaming: hysteresis before leaving the warm-started solution


@dataclass(frozen=True)
class HandRetargetSettings:
    file: str
    hand: str
    scales: np.ndarray        # s_i [15]
    weights: np.ndarray       # w_i [15]
    regularization: float     # λ, m² per rad²
    batch_iterations: int
    stream_iterations: int
    damping: float
    batch_chunk: int
    step_tolerance: float     # rad: stop when no joint moves more than this in one step
    stream_smoothing: float   # μ, m² per rad²: streaming pull towards the previous output
    initial_guess: dict       # robot joint → human bend angle it starts from


def load_hand_settings_file(path: str) -> HandRetargetSettings:
    path = str(path)
    fields = Fields(path, read_yaml(path))
    fields.keys_known({"hand", "regularization", "keyvectors", "solver", "initial_guess"})
    hand = fields.choice("hand", HANDS)
    guess = fields.sub("initial_guess", required=False)
    initial_guess = {} if guess is None else dict(guess.data)
    joints = load_embodiment(hand).joint_names
    for joint, bend in initial_guess.items():
        if joint not in joints:
            raise guess.error(str(joint), f"a joint of {hand}: {joints}", joint)
        if bend not in BEND_ANGLE_NAMES:
            raise guess.error(str(joint), f"a human bend angle {list(BEND_ANGLE_NAMES)}", bend)
    keyvectors = fields.sub("keyvectors")
    keyvectors.keys_known(set(KEYVECTOR_NAMES))
    scales, weights = [], []
    for name in KEYVECTOR_NAMES:
        entry = keyvectors.sub(name)
        entry.keys_known({"scale", "weight"})
        scales.append(entry.number("scale", minimum=1e-3, maximum=1e3))
        weights.append(entry.number("weight", minimum=0.0, maximum=1e6))
    solver = fields.sub("solver")
    solver.keys_known({"batch_iterations", "stream_iterations", "damping", "batch_chunk",
                       "step_tolerance_rad", "stream_smoothing"})

    def positive_int(key):
        value = solver.req(key, int)
        if value < 1:
            raise solver.error(key, "an integer >= 1", value)
        return value
    return HandRetargetSettings(
        file=path, hand=hand, scales=np.array(scales), weights=np.array(weights),
        regularization=fields.number("regularization", minimum=0.0),
        batch_iterations=positive_int("batch_iterations"),
        stream_iterations=positive_int("stream_iterations"),
        damping=solver.number("damping", minimum=1e-12), batch_chunk=positive_int("batch_chunk"),
        step_tolerance=solver.number("step_tolerance_rad", minimum=1e-9, maximum=0.1),
        stream_smoothing=solver.number("stream_smoothing", minimum=0.0),
        initial_guess=initial_guess)


@functools.lru_cache(maxsize=None)
def load_hand_settings(hand: str) -> HandRetargetSettings:
    return load_hand_settings_file(str(resolve(f"config/retarget/{hand}.yaml")))


@functools.lru_cache(maxsize=None)
def load_gripper_width_m(path: str | None = None) -> float:
    """W of eq. 6 from config/retarget/franka_gripper.yaml."""
    path = str(path or resolve("config/retarget/franka_gripper.yaml"))
    fields = Fields(path, read_yaml(path))
    fields.keys_known({"standard_width_m"})
    return fields.number("standard_width_m", minimum=1e-3, maximum=1.0)


class HandRetargeter:
    """Keyvector retargeting to one robot hand; outputs are always within the joint limits."""

    def __init__(self, kinematics: HandKinematics, settings: HandRetargetSettings):
        self.kinematics, self.settings = kinematics, settings
        self.lower, self.upper = kinematics.lower, kinematics.upper
        self.neutral = kinematics.neutral
        root_w = np.sqrt(settings.weights)
        # Cost Σ w_i ‖s_i v_i^R − v_i^H‖² = ‖A·tips − b‖² with A = diag(√w s) D (15×5, acting on
        # [thumb..pinky] tips; the palm is the origin). With A = QR this equals
        # ‖R·tips − Qᵀb‖² + a constant, so the solver works on 5×3 residual rows instead of 15×3.
        a = (root_w * settings.scales)[:, None] * _DIFFERENCE[:, 1:]
        q_factor, r_factor = np.linalg.qr(a)
        if np.linalg.matrix_rank(a) < 5:
            q_factor, r_factor = np.eye(len(a)), a  # some weights are 0: keep all rows
        self._reduce = r_factor              # tips → reduced residual rows
        self._project = q_factor.T * root_w  # human keyvectors → reduced targets
        names = kinematics.joint_names
        self._guess_joints = [names.index(j) for j in settings.initial_guess]
        self._guess_bends = [BEND_ANGLE_NAMES.index(b) for b in settings.initial_guess.values()]

    @classmethod
    def for_hand(cls, hand: str) -> "HandRetargeter":
        return cls(load_kinematics(hand), load_hand_settings(hand))

    @property
    def joint_names(self) -> list[str]:
        return self.kinematics.joint_names

    def _residual_fn(self, target_kv: np.ndarray):
        target = (self._project @ target_kv).reshape(len(target_kv), -1)

        def residual(q, rows):
            tips, tips_jac = self.kinematics.fingertips_and_jacobian(q)
            reduced_jac = self._reduce @ tips_jac.reshape(len(q), 5, -1)
            return ((self._reduce @ tips).reshape(len(q), -1) - target[rows],
                    reduced_jac.reshape(len(q), -1, q.shape[1]))
        return residual

    def solve_keyvectors(self, human_kv: np.ndarray, q0: np.ndarray | None = None,
                         iterations: int | None = None) -> np.ndarray:
        """Human keyvectors [B, 15, 3] (palm frame) → joints [B, n] within the limits."""
        return self.solve_with_cost(human_kv, q0, iterations)[0]

    def solve_with_cost(self, human_kv: np.ndarray, q0: np.ndarray | None = None,
                        iterations: int | None = None, previous: np.ndarray | None = None,
                        ) -> tuple[np.ndarray, np.ndarray]:
        """solve_keyvectors, also returning each solution's cost. With `previous` (streaming),
        the cost also has μ‖θ − θ_previous‖² (μ = stream_smoothing): one combined prior, since
        λ‖θ − a‖² + μ‖θ − b‖² = (λ + μ)‖θ − (λa + μb)/(λ + μ)‖² + const."""
        if q0 is None:
            q0 = np.broadcast_to(self.neutral, (len(human_kv), len(self.neutral)))
        weight, center = self.settings.regularization, self.neutral
        if previous is not None and self.settings.stream_smoothing > 0:
            smoothing = self.settings.stream_smoothing
            center = (weight * self.neutral + smoothing * previous) / (weight + smoothing)
            weight = weight + smoothing
        q, cost = solve_box_lm(self._residual_fn(human_kv), q0, self.lower, self.upper,
                               iterations or self.settings.batch_iterations, self.settings.damping,
                               prior_weight=weight, prior=center,
                               step_tolerance=self.settings.step_tolerance)
        # Last line of defence: a non-finite solution (it cannot come from validated input)
        # becomes the neutral pose rather than reaching a motor.
        broken = ~np.isfinite(q).all(axis=1)
        if broken.any():
            q[broken], cost[broken] = self.neutral, np.inf
        return np.clip(q, self.lower, self.upper), cost

    def initial_guess(self, keypoints: np.ndarray) -> np.ndarray:
        """Neutral pose with finger joints set from the human's bend angles: starts the solver
        in the natural branch (MCP and PIP curl together) of the two-link finger IK."""
        q0 = np.tile(self.neutral, (len(keypoints), 1))
        q0[:, self._guess_joints] = bend_angles(keypoints)[:, self._guess_bends]
        return np.clip(q0, self.lower, self.upper)

    def retarget(self, keypoints, progress=None) -> np.ndarray:
        """Batch mode: human keypoints [..., 21, 3] → float32 joints [B, n]; KeypointError on
        bad input. `progress(done)` is called after each chunk (for a progress bar)."""
        kp = validate_keypoints(keypoints)
        chunk = self.settings.batch_chunk
        out = np.empty((len(kp), len(self.neutral)), dtype=np.float32)
        for start in range(0, len(kp), chunk):
            part = kp[start:start + chunk]
            human_kv = keyvectors_from_points(palm_points_of_valid(part))
            out[start:start + chunk] = self.solve_keyvectors(human_kv, self.initial_guess(part))
            if progress is not None:
                progress(len(part))
        return np.clip(out, self.lower.astype(np.float32), self.upper.astype(np.float32))

    def robot_keyvectors(self, q) -> np.ndarray:
        """s_i-scaled robot keyvectors [B, 15, 3] of joints q [B, n] (what the human's match)."""
        tips = self.kinematics.fingertips(np.asarray(q, dtype=np.float64))
        return (self.settings.scales[:, None] * _DIFFERENCE[:, 1:]) @ tips


class _FrameStream:
    """What the streaming retargeters share: a bad frame never raises; it is counted in
    `rejected_frames`, its reason kept in `last_error`, and the last good output stays."""

    def __init__(self, output: np.ndarray):
        self.output = output
        self.rejected_frames = 0
        self.last_error = ""

    def _one_frame(self, convert, keypoints):
        """convert(keypoints) when it is valid and holds exactly one frame, else None (the
        rejection counted)."""
        try:
            value = convert(keypoints)
            if len(value) != 1:
                raise KeypointError(f"streaming retargeting takes one frame, got {len(value)}")
        except KeypointError as error:
            self.rejected_frames += 1
            self.last_error = str(error)
            return None
        return value


class StreamingRetargeter(_FrameStream):
    """Teleop mode: one frame at a time, warm-started from the previous solution.

    A bad frame (wrong shape, NaN/inf, degenerate palm) never raises: it is counted in
    `rejected_frames`, its reason kept in `last_error`, and the last good output is returned
    (the neutral pose before the first good frame)."""

    def __init__(self, retargeter: HandRetargeter, iterations: int | None = None):
        super().__init__(retargeter.neutral.copy())
        self.retargeter = retargeter
        self.iterations = iterations or retargeter.settings.stream_iterations
        self.accepted_frames = 0

    def step(self, keypoints) -> np.ndarray:
        kp = self._one_frame(validate_keypoints, keypoints)
        if kp is None:
            return self.output.copy()
        # Two starts in one batched solve (numpy's per-call cost dominates a single frame, so
        # the second is nearly free): the previous output, and the human's bend angles. The
        # warm start keeps the motion continuous; the bend-angle start lets a finger leave an
        # IK branch that the motion has made a poor fit. Switch only for a clearly lower cost.
        guess = self.retargeter.initial_guess(kp)
        starts = np.concatenate([self.output[None], guess]) if self.accepted_frames else guess
        human_kv = keyvectors_from_points(palm_points_of_valid(kp))
        warm = self.accepted_frames > 0
        q, cost = self.retargeter.solve_with_cost(
            np.repeat(human_kv, len(starts), axis=0), starts,
            self.iterations if warm else self.retargeter.settings.batch_iterations,
            previous=self.output if warm else None)
        best = 1 if len(q) == 2 and cost[1] < SWITCH_BRANCH_COST_RATIO * cost[0] else 0
        self.output = q[best]
        self.accepted_frames += 1
        return self.output.copy()

    def reset(self) -> None:
        """Forget the warm start (e.g. after tracking was lost)."""
        self.output = self.retargeter.neutral.copy()
        self.accepted_frames = 0


class GripperRetargeter(_FrameStream):
    """Eq. 6 for the parallel gripper, batch or streaming (same rejection rules)."""

    def __init__(self, standard_width_m: float | None = None):
        super().__init__(np.ones(1))
        self.standard_width_m = standard_width_m or load_gripper_width_m()

    def retarget(self, keypoints) -> np.ndarray:
        return gripper_width(keypoints, self.standard_width_m).astype(np.float32)

    def step(self, keypoints) -> np.ndarray:
        width = self._one_frame(lambda k: gripper_width(k, self.standard_width_m), keypoints)
        if width is None:
            return self.output.copy()
        self.output = width[0]
        return self.output.copy()


def streaming_retargeter(embodiment: str) -> "StreamingRetargeter | GripperRetargeter":
    """Teleop: the streaming retargeter for a robot end-effector (faive, mimic, franka_gripper);
    each has step(keypoints) → command, rejected_frames and last_error."""
    if embodiment == "franka_gripper":
        return GripperRetargeter()
    if embodiment not in HANDS:
        raise ValueError(f"no retargeter for {embodiment!r}; one of {[*HANDS, 'franka_gripper']}")
    return StreamingRetargeter(HandRetargeter.for_hand(embodiment))
