"""The aligned-dataset contract (generate/save/load_aligned), its validation, and the
`lad retarget-data`, `lad retarget-figure` and `lad bench retarget` commands."""
import json
import re

import numpy as np
import pytest

from lad_ros.cli import main
from lad_ros.config import ConfigError
from lad_ros.embodiment import load_embodiment
from lad_ros.retarget.dataset import (generate_aligned, generation_meta, load_aligned,
                                      save_aligned)
from lad_ros.retarget.human import POSE_FAMILIES

N = 40


@pytest.fixture(scope="module")
def aligned():
    return generate_aligned(N, seed=5)


def test_generate_aligned_has_the_contracted_keys_shapes_and_dtypes(aligned):
    expected = {"human": (63, np.float32), "faive": (11, np.float32), "mimic": (16, np.float32),
                "franka_gripper": (1, np.float32)}
    assert set(aligned) == set(expected) | {"pose_family"}
    for key, (width, dtype) in expected.items():
        assert aligned[key].shape == (N, width) and aligned[key].dtype == dtype
        assert np.isfinite(aligned[key]).all()
    assert aligned["pose_family"].dtype == np.int16 and aligned["pose_family"].shape == (N,)
    assert 0 <= aligned["pose_family"].min() and aligned["pose_family"].max() < len(POSE_FAMILIES)
    for hand in ("faive", "mimic", "franka_gripper"):
        config = load_embodiment(hand)
        assert (aligned[hand] >= np.float32(config.lower)).all()
        assert (aligned[hand] <= np.float32(config.upper)).all()
    wrist = aligned["human"].reshape(N, 21, 3)[:, 0]
    assert np.abs(wrist).max() == 0.0  # wrist frame: the wrist is the origin


def test_generate_aligned_is_deterministic_in_the_seed(aligned):
    again = generate_aligned(N, seed=5)
    other = generate_aligned(N, seed=6)
    for key in aligned:
        np.testing.assert_array_equal(again[key], aligned[key])
    assert not np.array_equal(other["human"], aligned["human"])


def test_save_and_load_round_trip(aligned, tmp_path):
    path = tmp_path / "aligned.npz"
    save_aligned(path, aligned, generation_meta(5, N))
    data, meta = load_aligned(path)
    for key in aligned:
        np.testing.assert_array_equal(data[key], aligned[key])
    assert meta["seed"] == 5 and meta["n"] == N
    assert meta["pose_families"] == list(POSE_FAMILIES)
    assert set(meta["scale_factors"]) == {"faive", "mimic"}


def _corrupt(aligned, tmp_path, change):
    data = {k: v.copy() for k, v in aligned.items()}
    meta = generation_meta(5, N)
    change(data, meta)
    path = tmp_path / "bad.npz"
    with open(path, "wb") as stream:
        np.savez(stream, meta=np.array(json.dumps(meta)), **data)
    return path


@pytest.mark.parametrize("change, field", [
    (lambda d, m: d.pop("mimic"), "<keys>"),
    (lambda d, m: d.__setitem__("faive", d["faive"].astype(np.float64)), "faive"),
    (lambda d, m: d.__setitem__("mimic", d["mimic"][:, :15]), "mimic"),
    (lambda d, m: d["human"].__setitem__((3, 4), np.nan), "human"),
    (lambda d, m: d["franka_gripper"].__setitem__((0, 0), 1.5), "franka_gripper"),
    (lambda d, m: d["faive"].__setitem__((0, 0), 9.0), "faive"),
    (lambda d, m: d.__setitem__("pose_family", d["pose_family"].astype(np.int64)),
     "pose_family"),
    (lambda d, m: d["pose_family"].__setitem__(0, 99), "pose_family"),
    (lambda d, m: m.pop("pose_families"), "meta.pose_families"),
])
def test_load_aligned_rejects_bad_files_naming_the_field(aligned, tmp_path, change, field):
    path = _corrupt(aligned, tmp_path, change)
    with pytest.raises(ConfigError) as error:
        load_aligned(path)
    assert error.value.field == field and error.value.file == str(path)


def test_load_aligned_rejects_missing_and_non_npz_files(tmp_path):
    with pytest.raises(ConfigError, match="existing"):
        load_aligned(tmp_path / "missing.npz")
    junk = tmp_path / "junk.npz"
    junk.write_text("not an archive")
    with pytest.raises(ConfigError, match="readable"):
        load_aligned(junk)


def test_retarget_data_command_writes_a_loadable_file(tmp_path, capsys):
    out = tmp_path / "sub" / "data.npz"
    assert main(["retarget-data", "--n", "24", "--out", str(out), "--seed", "3",
                 "--no-progress"]) == 0
    data, meta = load_aligned(out)
    assert len(data["human"]) == 24 and meta["seed"] == 3
    assert "wrote 24 aligned tuples" in capsys.readouterr().out


def test_retarget_data_shows_progress_and_rejects_a_bad_count(tmp_path, capsys):
    assert main(["retarget-data", "--n", "8", "--out", str(tmp_path / "p.npz")]) == 0
    assert "retarget" in capsys.readouterr().err  # the tqdm bar
    assert main(["retarget-data", "--n", "0", "--out", str(tmp_path / "z.npz")]) == 2
    assert not (tmp_path / "z.npz").exists()


def test_retarget_figure_command_writes_a_png(tmp_path):
    out = tmp_path / "figure.png"
    assert main(["retarget-figure", "--out", str(out), "--families", "open",
                 "pinch_index"]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_bench_prints_a_table_and_the_summary_line(capsys):
    assert main(["bench", "retarget", "--batch", "200", "--waypoints", "3",
                 "--frames-per-move", "10", "--suggest-scales"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert any(line.startswith("# mimic suggested scales: palm_to_thumb") for line in lines)
    assert any(line.startswith("| faive |") for line in lines)
    assert re.fullmatch(r"retarget faive_ms=[\d.]+ mimic_ms=[\d.]+ faive_kv_mm=[\d.]+ "
                        r"mimic_kv_mm=[\d.]+", lines[-1])
