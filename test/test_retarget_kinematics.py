"""Hand kinematics: our descriptions against MuJoCo on the public reference MJCFs, torch/numpy
agreement, analytic Jacobians against finite differences, config validation."""
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
import torch

from lad_ros.config import ConfigError
from lad_ros.embodiment import load_embodiment
from lad_ros.retarget.kinematics import FINGERS, load_kinematics, load_kinematics_file

# The public reference models live in the steering repo's shared/, beside this checkout in CI.
_REPO = Path(__file__).resolve().parent.parent
REFERENCE = next((p for p in (_REPO.parent / "shared" / "reference" / "hands",
                              Path("/work/shared/reference/hands")) if p.is_dir()),
                 _REPO.parent / "shared" / "reference" / "hands")
REFERENCE_FILES = {"faive": REFERENCE / "faive_hand_p0" / "faive_structure.xml",
                   "mimic": REFERENCE / "mimic_p050_hand" / "right_hand.xml"}


def _reference_model(path: Path):
    """The reference MJCF without meshes (not shipped), each body given a tiny inertia."""
    import mujoco
    root = ET.parse(path).getroot()
    for parent in list(root.iter()):
        for child in list(parent):
            if child.tag in ("geom", "inertial", "site"):
                parent.remove(child)
    for body in root.iter("body"):
        ET.SubElement(body, "inertial", pos="0 0 0", mass="0.01", diaginertia="1e-6 1e-6 1e-6")
    world = root.find("worldbody")
    tops = [b for b in (world if world is not None else root) if b.tag == "body"]
    xml = ('<mujoco><compiler angle="radian"/><worldbody>'
           + "".join(ET.tostring(b, encoding="unicode") for b in tops) + "</worldbody></mujoco>")
    return mujoco.MjModel.from_xml_string(xml)


@pytest.mark.parametrize("hand", ["faive", "mimic"])
def test_fingertips_match_mujoco_on_the_reference_model(hand):
    if not REFERENCE_FILES[hand].is_file():
        pytest.skip("reference hand models not available on this machine")
    import mujoco
    model = _reference_model(REFERENCE_FILES[hand])
    data = mujoco.MjData(model)
    kin = load_kinematics(hand)
    rng = np.random.default_rng(1)
    for q in rng.uniform(kin.lower, kin.upper, (5, len(kin.lower))):
        data.qpos[:] = 0.0
        for chain in kin.chains:  # the reference's coupled joints, set as its tendons would
            for joint in chain.joints:
                address = model.jnt_qposadr[model.joint(joint["name"]).id]
                data.qpos[address] = joint["ratio"] * q[joint["drives"]]
        mujoco.mj_kinematics(model, data)
        tips = kin.chain_frames(q[None])[2][0]
        for i, finger in enumerate(FINGERS):
            expected = data.xpos[model.body(f"{finger}_fingertip").id]
            np.testing.assert_allclose(tips[i], expected, atol=1e-6)


@pytest.mark.parametrize("hand", ["faive", "mimic"])
def test_joint_order_and_limits_come_from_the_embodiment_config(hand):
    kin, config = load_kinematics(hand), load_embodiment(hand)
    assert kin.joint_names == config.joint_names
    np.testing.assert_array_equal(kin.lower, config.lower)
    np.testing.assert_array_equal(kin.upper, config.upper)


def test_faive_rolling_joints_split_the_total_angle_and_dip_follows_pip():
    kin = load_kinematics("faive")
    index = next(c for c in kin.chains if c.finger == "index")
    ratios = {j["name"]: (kin.joint_names[j["drives"]], j["ratio"]) for j in index.joints}
    assert ratios["root2index_pp_virt"] == ratios["root2index_pp"] == ("root2index_pp", 0.5)
    assert ratios["index_mp2dp_virt"] == ratios["index_mp2dp"] == ("index_pp2mp",
                                                                    pytest.approx(0.355))


@pytest.mark.parametrize("hand", ["faive", "mimic", "human"])
def test_torch_float32_matches_numpy_and_is_differentiable(hand):
    kin = load_kinematics(hand)
    q = np.random.default_rng(2).uniform(kin.lower, kin.upper, (7, len(kin.lower)))
    expected = kin.fingertips(q)
    q_torch = torch.tensor(q, dtype=torch.float32, requires_grad=True)
    tips = kin.fingertips(q_torch)
    assert tips.dtype == torch.float32 and tips.shape == (7, 5, 3)
    np.testing.assert_allclose(tips.detach().numpy(), expected, atol=1e-5)
    tips[:, 1, 0].sum().backward()
    analytic = kin.fingertips_and_jacobian(q)[1][:, 1, 0, :]
    np.testing.assert_allclose(q_torch.grad.numpy(), analytic, atol=1e-4)


@pytest.mark.parametrize("hand", ["faive", "mimic", "human"])
def test_analytic_jacobian_matches_finite_differences(hand):
    kin = load_kinematics(hand)
    q = np.random.default_rng(3).uniform(kin.lower, kin.upper, (3, len(kin.lower)))
    _, jac = kin.fingertips_and_jacobian(q)
    eps = 1e-6
    for j in range(q.shape[1]):
        dq = np.zeros_like(q)
        dq[:, j] = eps
        numeric = (kin.fingertips(q + dq) - kin.fingertips(q - dq)) / (2 * eps)
        np.testing.assert_allclose(jac[..., j], numeric, atol=1e-6)


def test_single_pose_without_batch_dimension():
    kin = load_kinematics("mimic")
    assert kin.fingertips(kin.neutral).shape == (5, 3)


def test_palm_and_fingertips_in_palm_and_model_frames():
    kin = load_kinematics("faive")
    q = np.random.default_rng(4).uniform(kin.lower, kin.upper, (2, 11))
    palm = kin.palm_and_fingertips(q)
    model = kin.palm_and_fingertips(q, frame="model")
    assert palm.shape == model.shape == (2, 6, 3)
    np.testing.assert_allclose(palm[:, 0], 0.0)
    np.testing.assert_allclose(model[:, 0], np.broadcast_to(kin.wrist, (2, 3)))
    np.testing.assert_allclose(kin.to_palm(model), palm, atol=1e-12)
    torch_palm = kin.palm_and_fingertips(torch.tensor(q, dtype=torch.float32))
    np.testing.assert_allclose(torch_palm.numpy(), palm, atol=1e-5)


def test_human_keypoints_come_out_in_mediapipe_order():
    kin = load_kinematics("human")
    assert kin.keypoint_names == list(load_embodiment("human").keypoints)
    keypoints = kin.keypoints(kin.neutral[None])
    assert keypoints.shape == (1, 21, 3)
    np.testing.assert_allclose(keypoints[0, 0], 0.0)  # wrist at the origin of the wrist frame


def test_canonical_palm_frame_puts_thumb_and_flexion_on_the_same_side_for_all_hands():
    for hand in ("human", "faive", "mimic"):
        kin = load_kinematics(hand)
        open_tips = kin.fingertips(kin.neutral)
        assert open_tips[0, 1] < open_tips[4, 1], hand  # thumb on −y, pinky on +y
        closed = kin.neutral.copy()
        flex = [i for i, n in enumerate(kin.joint_names) if "index" in n and "pp2mp" in n
                or n == "index_pip"]
        closed[flex] = kin.upper[flex]
        assert kin.fingertips(closed)[1, 2] > open_tips[1, 2], hand  # flexion towards +z


def test_bad_description_names_file_and_field(tmp_path):
    source = Path(load_kinematics("mimic").file).read_text()
    bad = tmp_path / "mimic_bad.yaml"
    bad.write_text(source.replace("drives: index_mcp2pp", "drives: index_mcp2ppp", 1))
    with pytest.raises(ConfigError) as error:
        load_kinematics_file(bad)
    assert error.value.file == str(bad) and "drives" in error.value.field
    bad.write_text(source.replace("axis: [0, 1, 0]", "axis: [0, 0, 0]", 1))
    with pytest.raises(ConfigError, match="non-zero"):
        load_kinematics_file(bad)
