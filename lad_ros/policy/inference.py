"""The policy network prepared for inference: precision, memory layout, thread count per phase
and, optionally, torch.compile. No ROS.

Measured on the 2-core CPU (docs/policy.md, "Where the time goes"): image encoding (ResNet18
convolutions) gains from a second thread, the transformer denoiser does not (21-row matrix
products: the second thread costs more in wake-ups than it saves), so each phase runs with its
own thread count. Inductor with frozen weights (constants it can prepack and fold) and
autotuned matrix-product kernels cut a bfloat16 transformer step from 8.8 to 4.5 ms and the
ResNet18 from 21 to 17 ms. Compiled code bakes in the thread count it was compiled under, so
each module compiles inside its phase, and `freezing` is an inductor setting read while
compiling, so the phases switch it on (a `torch.compile(options=...)` patch did not reach it:
7.1 ms per step instead of 6.0, measured).
Compilation needs a C++ compiler; without one (or on any compile error) the runner warns and
stays in eager mode. Compiled networks are also checked against eager ones at start-up, and
dropped when they disagree: with torch 2.13, frozen weights plus autotuned kernels computed
wrong float32 results (max error 0.27-0.79 on unit-scale outputs; bfloat16 was right), so
autotuning is used for bfloat16 only.
"""
from __future__ import annotations

import contextlib
import warnings

import torch

from lad_ros.policy.model import LatentDiffusionPolicy

# autotuned CPU GEMMs: 4.5 vs 5.1 ms per bfloat16 transformer step (float32: see above)
COMPILE_MODES = {torch.bfloat16: "max-autotune-no-cudagraphs", torch.float32: None}
# largest difference to eager, on unit-scale outputs, that is still rounding
AGREEMENT_TOLERANCE = {torch.bfloat16: 0.05, torch.float32: 1e-3}


class InferenceNetworks:
    def __init__(self, model: LatentDiffusionPolicy, dtype: torch.dtype, device: torch.device,
                 encode_threads: int, denoise_threads: int, compile_: bool):
        self.model = model.to(device=device, dtype=dtype).eval()
        self.device, self.dtype = device, dtype
        self.phase_threads = {"encode": encode_threads, "denoise": denoise_threads}
        if device.type == "cpu":  # oneDNN convolutions are fastest on NHWC activations
            for encoder in model.image_encoders:
                encoder.to(memory_format=torch.channels_last)
        self._use_eager()
        self.compile_requested = compile_
        self.compile_error: str | None = None
        if compile_:
            mode = COMPILE_MODES.get(dtype)
            self.encoders = [torch.compile(e, dynamic=False, mode=mode)
                             for e in model.image_encoders]
            self.denoiser = torch.compile(model.denoiser, dynamic=False, mode=mode)

    @property
    def compiled(self) -> bool:
        return self.compile_requested and self.compile_error is None

    def _use_eager(self) -> None:
        self.encoders = list(self.model.image_encoders)
        self.denoiser = self.model.denoiser

    def disagreement_with_eager(self, images: torch.Tensor, sample: torch.Tensor,
                                timestep: torch.Tensor, cond: torch.Tensor) -> str | None:
        """Run the compiled and the eager networks on the same inputs; a description of the
        first one that differs beyond rounding, or None. Call inside the phases."""
        tolerance = AGREEMENT_TOLERANCE.get(self.dtype, 0.05)
        checks = [(f"image encoder {i}", compiled, eager, (images,))
                  for i, (compiled, eager) in enumerate(zip(self.encoders,
                                                            self.model.image_encoders))]
        checks.append(("denoiser", self.denoiser, self.model.denoiser,
                       (sample.to(self.dtype), timestep, cond)))
        for name, compiled, eager, inputs in checks:
            with self.phase("encode" if name != "denoiser" else "denoise"):
                expected, got = eager(*inputs).float(), compiled(*inputs).float()
            error = (got - expected).abs().max().item()
            if not error <= tolerance * max(1.0, expected.abs().max().item()):
                return f"compiled {name} differs from eager by {error:.3g}"
        return None

    def fall_back_to_eager(self, error: Exception | str) -> None:
        if isinstance(error, Exception):
            error = f"{type(error).__name__}: {error}"
        self.compile_error = error.splitlines()[0][:300]
        warnings.warn(f"torch.compile failed, running the policy in eager mode (slower): "
                      f"{self.compile_error}", RuntimeWarning, stacklevel=3)
        self._use_eager()

    @contextlib.contextmanager
    def phase(self, name: str):
        """Run a phase ("encode" or "denoise") with its thread count (CPU only; torch's
        intra-op pool is process-wide, and the runner is the process's only torch user)."""
        if self.device.type == "cpu":
            torch.set_num_threads(self.phase_threads[name])
        if not self.compiled:
            yield
            return
        import torch._inductor.config as inductor_config
        with inductor_config.patch(freezing=True):
            yield

    def encode(self, camera: int, images: torch.Tensor) -> torch.Tensor:
        """[N, 3, h, w] cropped uint8 images of one camera -> [N, feature_dim]. One image per
        call: a fixed input shape, so compiled code is never specialized twice."""
        encoder = self.encoders[0 if self.model.config.encoder.shared else camera]
        return torch.cat([encoder(image[None]) for image in images])

    def denoise(self, sample: torch.Tensor, timestep: torch.Tensor,
                cond: torch.Tensor) -> torch.Tensor:
        """The network in its precision; the sampler's arithmetic stays in float32."""
        return self.denoiser(sample.to(self.dtype), timestep, cond).float()
