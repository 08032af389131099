"""Latent action model: losses, schedule, networks, training, metrics, model files, API.

Everything here runs on small synthetic aligned tuples (lad_ros.latent.synthetic), no ROS.
"""
from __future__ import annotations

import json
import math
import shutil

import numpy as np
import pytest
import torch
import yaml

from lad_ros.config import ConfigError
from lad_ros.embodiment import load_embodiment
from lad_ros.latent import api, metrics
from lad_ros.latent.api import LatentActionModel
from lad_ros.latent.figure import gripper_sweep, mean_flexion
from lad_ros.latent.losses import (cross_reconstruction, info_nce, pairwise_info_nce,
                                   reconstruction, temperature)
from lad_ros.latent.networks import LatentActionNet, mlp
from lad_ros.latent.setup_config import load_setup, load_setup_file
from lad_ros.latent.synthetic import synthetic_aligned
from lad_ros.latent.training import train


# --- InfoNCE and temperature -------------------------------------------------------------

def test_info_nce_matches_a_hand_computed_two_sample_case():
    # Unit vectors at 0 and 90 degrees; the partner batch is the same pair.
    z_a = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    z_b = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    tau = 0.5
    # Row n: logits = [cos(a_n, b_0), cos(a_n, b_1)] / tau -> correct logit 2, wrong one 0.
    expected = -math.log(math.exp(2.0) / (math.exp(2.0) + math.exp(0.0)))
    assert info_nce(z_a, z_b, tau).item() == pytest.approx(expected, rel=1e-6)


def test_info_nce_uses_cosine_similarity_and_asymmetric_pairs():
    # b_1 points at 60 degrees: cos = 0.5 to a_0 ... the rows differ, so the a->b and b->a
    # directions differ and the pairwise loss is their mean.
    z_a = torch.tensor([[2.0, 0.0], [0.0, 3.0]])             # lengths must not matter
    z_b = torch.tensor([[1.0, 0.0], [0.5, math.sqrt(3) / 2]])
    tau = 1.0
    c = 0.5                                                  # cos(a_0, b_1) = cos(60 deg)
    s = math.sqrt(3) / 2                                     # cos(a_1, b_1)
    a_to_b = -0.5 * (math.log(math.e ** 1 / (math.e ** 1 + math.e ** c))
                     + math.log(math.e ** s / (math.e ** 0 + math.e ** s)))
    b_to_a = -0.5 * (math.log(math.e ** 1 / (math.e ** 1 + math.e ** 0))
                     + math.log(math.e ** s / (math.e ** c + math.e ** s)))
    assert info_nce(z_a, z_b, tau).item() == pytest.approx(a_to_b, rel=1e-6)
    assert info_nce(z_b, z_a, tau).item() == pytest.approx(b_to_a, rel=1e-6)
    pair = pairwise_info_nce({"a": z_a, "b": z_b}, tau).item()
    assert pair == pytest.approx((a_to_b + b_to_a) / 2, rel=1e-6)


def test_pairwise_info_nce_averages_all_ordered_pairs_of_three_modalities():
    torch.manual_seed(0)
    z = {m: torch.randn(5, 4) for m in "abc"}
    ordered = [info_nce(z[i], z[j], 0.3) for i in "abc" for j in "abc" if i != j]
    assert pairwise_info_nce(z, 0.3).item() == pytest.approx(
        float(sum(ordered) / 6), rel=1e-6)


def test_temperature_schedule_endpoints_and_exponential_midpoint():
    assert temperature(0, 101, 0.4, 0.2) == pytest.approx(0.4)
    assert temperature(100, 101, 0.4, 0.2) == pytest.approx(0.2)
    assert temperature(50, 101, 0.4, 0.2) == pytest.approx(math.sqrt(0.4 * 0.2))
    values = [temperature(s, 101, 0.25, 0.16) for s in range(101)]
    assert all(a > b for a, b in zip(values, values[1:]))


def test_reconstruction_is_mean_over_modalities_of_summed_squared_error():
    predicted = {"a": torch.tensor([[1.0, 2.0]]), "b": torch.tensor([[0.0]])}
    target = {"a": torch.tensor([[0.0, 0.0]]), "b": torch.tensor([[3.0]])}
    assert reconstruction(predicted, target).item() == pytest.approx((1 + 4 + 9) / 2)


def test_cross_reconstruction_decodes_every_other_modality_latent():
    # decoders: "a" doubles its latent's first entry into 2 dims, "b" negates it
    decoders = {"a": lambda z: torch.cat([2 * z[:, :1], 2 * z[:, :1]], dim=1),
                "b": lambda z: -z[:, :1]}
    latents = {"a": torch.tensor([[1.0, 0.0]]), "b": torch.tensor([[0.0, 1.0]])}
    targets = {"a": torch.tensor([[1.0, 1.0]]), "b": torch.tensor([[2.0]])}
    # a -> b: -1 vs 2 -> 9; b -> a: [0, 0] vs [1, 1] -> 2; mean over the 2 ordered pairs
    assert cross_reconstruction(decoders, latents, targets).item() == pytest.approx((9 + 2) / 2)


def test_cross_reconstruction_weight_is_optional_and_non_negative(tmp_path):
    assert load_setup_file(_write_setup(tmp_path)).cross_reconstruction_weight == 1.0
    data = yaml.safe_load(open(load_setup("mimic_gripper").file))
    del data["loss"]["cross_reconstruction_weight"]
    (tmp_path / "paper.yaml").write_text(yaml.safe_dump(data))
    assert load_setup_file(tmp_path / "paper.yaml").cross_reconstruction_weight == 0.0
    with pytest.raises(ConfigError) as error:
        load_setup_file(_write_setup(tmp_path, **{"loss.cross_reconstruction_weight": -1}))
    assert error.value.field == "loss.cross_reconstruction_weight"


# --- networks ------------------------------------------------------------------------------

def test_mlp_has_the_paper_block_structure():
    net = mlp(11, (24, 32), 16, dropout=0.1, input_layernorm=True)
    kinds = [type(m).__name__ for m in net]
    assert kinds == ["LayerNorm", "Linear", "ReLU", "Dropout",
                     "LayerNorm", "Linear", "ReLU", "Dropout", "LayerNorm", "Linear"]
    assert net[-1].out_features == 16 and net[1].in_features == 11


def test_mlp_skips_the_degenerate_layernorm_of_a_one_dim_input():
    # LayerNorm over one feature outputs a constant: the gripper width would be erased.
    assert type(mlp(1, (24,), 8, 0.0, input_layernorm=True)[0]).__name__ == "Linear"
    assert type(mlp(11, (24,), 8, 0.0, input_layernorm=False)[0]).__name__ == "Linear"


def test_encoders_return_unit_latents():
    net = LatentActionNet({"a": 3, "b": 1}, {"a": (8,), "b": (8,)}, latent_dim=5)
    z = net.encode("a", torch.randn(4, 3))
    assert z.shape == (4, 5)
    assert torch.allclose(z.norm(dim=1), torch.ones(4), atol=1e-5)
    assert net.decode("b", z).shape == (4, 1)


# --- setup configs ---------------------------------------------------------------------------

def test_shipped_setups_carry_the_paper_hyperparameters():
    human = load_setup("human_faive_gripper")
    assert human.embodiments == ("human", "faive", "franka_gripper")
    assert human.latent_dim == 128 and (human.tau_start, human.tau_end) == (0.4, 0.2)
    assert human.hidden == {"human": (64,), "faive": (24,), "franka_gripper": (24,)}
    assert (human.optimizer, human.weight_decay, human.lr) == ("adam", 1e-4, 1e-3)
    assert human.paper["batch_size"] == 4096 and human.paper["encoder_epochs"] == 300
    mimic = load_setup("mimic_gripper")
    assert mimic.latent_dim == 16 and (mimic.tau_start, mimic.tau_end) == (0.25, 0.16)
    assert mimic.hidden["mimic"] == (32, 128, 128, 32) and mimic.optimizer == "adamw"
    assert mimic.paper["lr"] == 1e-5 and mimic.paper["batch_size"] == 16384


def _write_setup(tmp_path, **changes):
    data = yaml.safe_load(open(load_setup("mimic_gripper").file))
    for dotted, value in changes.items():
        node = data
        *parents, key = dotted.split(".")
        for parent in parents:
            node = node[parent]
        node[key] = value
    path = tmp_path / "setup.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize("field,value,named", [
    ("latent_dim", 0, "latent_dim"),
    ("embodiments", ["mimic", "robotiq"], "embodiments"),
    ("loss.tau_end", "cold", "loss.tau_end"),
    ("hidden.mimic", [], "hidden.mimic"),
    ("optimizer.kind", "sgd", "optimizer.kind"),
    ("data.heldout_seed", 1, "data.heldout_seed"),
    ("training.bacth_size", 4, "training.bacth_size"),
])
def test_setup_errors_name_file_and_field(tmp_path, field, value, named):
    path = _write_setup(tmp_path, **{field: value})
    with pytest.raises(ConfigError) as error:
        load_setup_file(path)
    assert error.value.field == named and str(path) in str(error.value)


# --- training, metrics, model files, API (one small trained model shared) ------------------

def _tiny_setup(tmp_path, **changes):
    base = {"data.train_samples": 3000, "training.batch_size": 256,
            "training.encoder_epochs": 6, "training.decoder_epochs": 12,
            "hidden.mimic": [32, 32], "hidden.franka_gripper": [32, 32]}
    base.update(changes)
    return load_setup_file(_write_setup(tmp_path, **base))


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    torch.set_num_threads(1)
    setup = _tiny_setup(tmp_path_factory.mktemp("setup"))
    data = synthetic_aligned(setup.train_samples, seed=11)
    heldout = synthetic_aligned(500, seed=12)
    result = train(setup, data, seed=0)
    model = LatentActionModel(result.net, result.normalizers, {"setup": setup.setup})
    return setup, result, model, heldout


def test_training_lowers_both_losses_and_anneals_tau(trained):
    setup, result, _, _ = trained
    h = result.history
    stage = np.array(h["stage"])
    infonce = np.array(h["contrastive"])[stage == "A"]
    recon = np.array(h["recon"])[stage == "B"]
    # A 1-dim gripper width cannot single out one of 256 hand poses, so InfoNCE stays well
    # above 0; it must still fall by over a nat from chance (log 256 = 5.5).
    assert infonce[-10:].mean() < infonce[:10].mean() - 1.0
    assert recon[-10:].mean() < 0.2 * recon[:10].mean()
    taus = np.array(h["tau"])
    assert taus[0] == pytest.approx(setup.tau_start)
    assert taus[stage == "A"][-1] == pytest.approx(setup.tau_end)
    assert np.all(taus[stage == "B"] == setup.tau_end)


def test_trained_model_reconstructs_held_out_data_far_better_than_chance(trained):
    _, _, model, heldout = trained
    matrix = metrics.reconstruction_matrix(model, heldout)
    for name in model.embodiments:
        variance = float(np.sum(np.var(heldout[name], axis=0)))  # error of predicting the mean
        assert matrix[(name, name)] < 0.2 * variance
    # mimic -> gripper is well posed (the width is a function of the hand pose)
    assert matrix[("mimic", "franka_gripper")] < 0.2 * float(np.var(heldout["franka_gripper"]))
    w = metrics.worst(matrix)
    assert w["cr"] == max(v for k, v in matrix.items() if k[0] != k[1])


def test_synthetic_gripper_sweep_flexes_the_decoded_hand(trained):
    _, _, model, _ = trained
    flexion = mean_flexion("mimic", gripper_sweep(model, np.linspace(0, 1, 9))["mimic"])
    assert flexion[0] > flexion[-1] + 0.3  # closed gripper -> flexed fingers, in rad


def test_frozen_encoders_stay_fixed_in_stage_b_and_constant_tau(tmp_path):
    setup = _tiny_setup(tmp_path, **{"training.encoder_epochs": 1, "training.decoder_epochs": 2,
                                     "training.finetune_encoders": False,
                                     "training.anneal_temperature": False,
                                     "data.train_samples": 600})
    data = synthetic_aligned(setup.train_samples, seed=3)
    snapshots = {}

    def remember(stage, epoch, result):
        snapshots[(stage, epoch)] = {k: v.clone() for k, v in
                                     result.net.encoders.state_dict().items()}
    result = train(setup, data, on_epoch_end=remember)
    after_a, after_b = snapshots[("A", 0)], snapshots[("B", 1)]
    assert all(torch.equal(after_a[k], after_b[k]) for k in after_a)
    assert set(result.history["tau"]) == {setup.tau_end}
    stage = np.array(result.history["stage"])
    assert np.all(np.isnan(np.array(result.history["contrastive"])[stage == "B"]))


def test_api_shapes_dtype_limits_and_input_errors(trained):
    _, _, model, heldout = trained
    z = model.encode("mimic", heldout["mimic"][:7])
    assert z.shape == (7, model.latent_dim) and z.dtype == np.float32
    far = np.full((3, model.latent_dim), 50.0, np.float32)     # far outside the data
    for name in model.embodiments:
        decoded = model.decode(name, far)
        config = load_embodiment(name)
        assert np.all(decoded >= np.array(config.lower, np.float32))
        assert np.all(decoded <= np.array(config.upper, np.float32))
    with pytest.raises(ValueError, match=r"\[B, 16\]"):
        model.encode("mimic", heldout["mimic"][0])
    with pytest.raises(ValueError, match="NaN"):
        model.decode("mimic", np.full((1, model.latent_dim), np.nan))
    with pytest.raises(KeyError, match="faive"):
        model.encode("faive", np.zeros((1, 11)))


def _saved(trained, directory):
    setup, result, model, heldout = trained
    from lad_ros.latent.experiment import Run, save
    save(Run(setup, result, model, metrics.reconstruction_matrix(model, heldout)), directory,
         "synthetic", 0.0, 0)
    return directory


def test_saved_model_round_trips_through_the_loader(trained, tmp_path):
    directory = _saved(trained, tmp_path / "m")
    loaded = LatentActionModel.load(directory)
    x = trained[3]["mimic"][:20]
    assert loaded.embodiments == ("mimic", "franka_gripper") and loaded.latent_dim == 16
    np.testing.assert_allclose(loaded.encode("mimic", x), trained[2].encode("mimic", x),
                               atol=1e-6)
    meta = json.loads((directory / "model.json").read_text())
    assert meta["embodiments"]["mimic"]["units"] == "rad"
    assert meta["embodiments"]["mimic"]["action_names"][0] == "thumb_base2cmc"
    assert meta["hyperparameters"]["tau_start"] == 0.25 and meta["git_revision"]
    assert set(meta["metrics"]["reconstruction"]) == {"mimic", "franka_gripper"}
    z = api.encode("mimic", x, model_dir=directory)             # cached module functions
    assert api.decode("franka_gripper", z, model_dir=directory).shape == (20, 1)


def test_loader_rejects_missing_truncated_and_mismatched_files(trained, tmp_path):
    good = _saved(trained, tmp_path / "good")

    def broken(name, edit):
        directory = tmp_path / name
        shutil.copytree(good, directory)
        edit(directory)
        with pytest.raises(ConfigError) as error:
            LatentActionModel.load(directory)
        return error.value

    error = broken("no_weights", lambda d: (d / "model.safetensors").unlink())
    assert "model.safetensors" in error.file and "existing" in error.expected
    error = broken("no_json", lambda d: (d / "model.json").unlink())
    assert error.file.endswith("model.json")

    def truncate(d):
        blob = (d / "model.safetensors").read_bytes()
        (d / "model.safetensors").write_bytes(blob[: len(blob) // 2])
    error = broken("truncated", truncate)
    assert "truncated" in error.expected

    def edit_json(change):
        def apply(d):
            meta = json.loads((d / "model.json").read_text())
            change(meta)
            (d / "model.json").write_text(json.dumps(meta))
        return apply
    error = broken("names", edit_json(lambda m: m["embodiments"]["mimic"]["action_names"]
                                      .reverse()))
    assert error.field == "embodiments.mimic.action_names"
    error = broken("dims", edit_json(lambda m: m["embodiments"]["mimic"].update(action_dim=11)))
    assert error.field == "embodiments.mimic.action_dim"
    error = broken("latent", edit_json(lambda m: m.update(latent_dim=32)))
    assert "shape" in error.expected            # the weights no longer fit model.json
    error = broken("std", edit_json(lambda m: m["embodiments"]["franka_gripper"]
                                    ["normalization"].update(std=[0.0])))
    assert error.field == "embodiments.franka_gripper.normalization.std"
    error = broken("cut_json", lambda d: (d / "model.json").write_text(
        (d / "model.json").read_text()[:200]))
    assert "JSON" in error.expected


def test_train_latent_ablation_prints_table_1_rows_and_the_paper_loss_row(tmp_path, capsys):
    from lad_ros.cli import main
    path = _write_setup(tmp_path, **{"data.train_samples": 600, "data.heldout_samples": 100,
                                     "training.batch_size": 128,
                                     "training.encoder_epochs": 1, "training.decoder_epochs": 1,
                                     "hidden.mimic": [16], "hidden.franka_gripper": [16]})
    out = tmp_path / "out"
    assert main(["train-latent", str(path), "--ablation", "--data", "synthetic", "--no-save",
                 "--no-progress", "--out", str(out)]) == 0
    table = (out / "mimic_gripper_ablation.md").read_text().splitlines()
    assert [row.split("|")[1].strip() for row in table[2:]] == [
        "full", "w/o TA", "w/o FT", "w/o both", "w/o CR (paper's loss)"]
    assert (out / "mimic_gripper_wo_CR_paper_s_loss_loss.png").exists()
    assert capsys.readouterr().out.strip().splitlines()[-1].startswith("latent setup=mimic_gripper")
