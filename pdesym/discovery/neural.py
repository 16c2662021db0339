r"""Neural discovery: K MLP generators trained so that their span has the smallest validity.

Each generator is an MLP vector field :math:`V_k(x, t, u) = (\xi_k, \tau_k, \varphi_k)` with a
linear skip path, standardised inputs and outputs scaled by the data's standard deviations
(:class:`pdesym.generators.MLPVectorFields`). On a batch of jet samples the *objective* returns
the residuals :math:`R_k` of the symmetry criterion (characteristic form
:math:`D_tQ - F'[u]Q`, :mod:`pdesym.prolongation`) and the standardised field values
:math:`W_k = (\xi_k/\sigma_x, \tau_k/\sigma_t, \varphi_k/\sigma_u)`. With the Gram matrices

.. math::  A = \tfrac1N R R^\top, \qquad G = \tfrac1N \textstyle\sum_c W_c W_c^\top,

the validity eigenvalues are the generalised eigenvalues :math:`A w = \lambda G w` (residual
relative to the field's own size: the "V" normalisation of DESIGN §7.1). The loss

.. math::  \mathcal L = \log\det(C + \epsilon I) + \beta\,\|G - I\|_F^2 + \gamma\,\mathrm{smooth},
           \qquad C = L^{-1} A L^{-\top},\ G = LL^\top,

depends on the learned *span* only (any invertible mixing of the K fields leaves
:math:`\log\det C` unchanged); the small :math:`\|G - I\|` term keeps the basis well conditioned
(this doubles as the orthogonality penalty), the smoothness term penalises curvature of the MLP
part. Automatic K (DESIGN §7.1): train :math:`d_{max} + 2` generators, sort the eigenvalues,
choose K ≤ d_max at the largest ratio :math:`\lambda_{K+1}/\lambda_K`; accept when that ratio is
:math:`\ge 5`, :math:`\ge 1.5\times` the runner-up and the choice is stable at the end of training
(the same K in 2/3 of the spectra recorded on a fixed subset over the last 5 % of the steps: the
prototype's "last 20 %" rejected KdV runs whose slowest generator, the scaling, was still
converging while the final gap was 1e4); otherwise the caller falls back to the null-space result.

After the Adam steps a full-batch L-BFGS *polish* (``polish`` iterations on a fixed set of at most
``polish_points`` samples, same loss) finishes the job: Adam's step-size floor leaves the slowest
exact symmetry stuck well above the others — KdV, seed 0, 1600 steps: Galilean boost at
λ = 4.6e-8 against 8e-11 for the third generator, while the best non-symmetry reached 3.3e-7, so
the largest ratio fell *below* the boost and K came out 3; after 40 polish iterations the boost
is at 3.9e-10 and K = 4 with ratio 890. When a polish ran, stability is judged over its records
(deterministic, full batch) instead of the last Adam steps.

Runs are deterministic for a seed and resumable: checkpoints hold the model, the optimiser, the
sampling generator's state, the step and the history, so an interrupted run resumed from its
checkpoint ends bit-identical (on CPU) to an uninterrupted one.

Under ``torchrun`` (an initialised process group, :mod:`pdesym.distributed`) training is data
parallel. The loss is not a mean over rows but a function of the Gram matrices, which *are*
sums over rows: every rank draws the same batch, evaluates the objective on its rows
(:func:`pdesym.distributed.batch_rows`), and the partial Grams :math:`A_r, G_r` are summed over
ranks (all-reduce) so every rank sees the global :math:`A = \sum_r A_r`, :math:`G = \sum_r G_r`.
The gradient flows through the local part only, and the local loss is multiplied by the world
size W; DistributedDataParallel then averages the parameter gradients, which gives
:math:`\tfrac1W\sum_r W\,\partial\mathcal L/\partial A : \partial A_r/\partial\theta = \partial\mathcal L/\partial\theta`,
the single-process gradient up to round-off. The models start equal (same seed, and DDP
broadcasts rank 0's parameters), receive the same averaged gradient, hence stay equal; the
monitored and final spectra are sharded the same way. Only rank 0 writes the checkpoint.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import torch

from pdesym.atomic import atomic_torch_save
from pdesym.distributed import DistributedContext, batch_rows, current_context
from pdesym.errors import PdesymError

__all__ = [
    "NeuralSettings",
    "NeuralProgress",
    "NeuralResult",
    "Objective",
    "validity_grams",
    "span_loss",
    "span_loss_from_grams",
    "validity_spectrum",
    "spectrum_from_grams",
    "choose_dimension",
    "train_generators",
    "mlp_taylor",
    "mlp_residual",
]

#: objective(model, indices) -> (R (K, B), W (K, B, 3)) on the jet samples with those indices.
Objective = Callable[[torch.nn.Module, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]


@dataclass(frozen=True)
class NeuralSettings:
    """Options of a neural run (every one has a default that works on KdV, KS and Burgers).

    generators: K to train; ``None`` = automatic (``max_generators + 2`` trained, K by the gap).
    """

    generators: int | None = None
    max_generators: int = 4
    steps: int = 1200
    lr: float = 5e-3
    lr_final: float = 1e-5
    hidden: int = 32
    depth: int = 2
    activation: str = "tanh"
    batch: int = 1024
    conditioning: float = 1e-2
    smoothness: float = 1e-3
    floor: float = 1e-12
    record_every: int = 10
    checkpoint_every: int = 100
    min_ratio: float = 5.0
    min_margin: float = 1.5
    stable_fraction: float = 0.05
    polish: int = 60
    polish_points: int = 4096
    polish_tolerance: float = 1e-3
    seed: int = 0

    def __post_init__(self) -> None:
        if self.generators is not None and (isinstance(self.generators, bool) or int(self.generators) < 1):
            raise PdesymError(f"The number of generators must be a positive integer or 'auto', got {self.generators!r}.")
        if int(self.steps) < 1:
            raise PdesymError(f"--steps must be a positive integer, got {self.steps!r}.")
        if int(self.max_generators) < 1:
            raise PdesymError(f"max_generators must be at least 1, got {self.max_generators!r}.")
        if isinstance(self.polish, bool) or int(self.polish) < 0:
            raise PdesymError(f"--polish must be an integer >= 0 (L-BFGS iterations), got {self.polish!r}.")

    @property
    def trained(self) -> int:
        """How many generators are trained."""
        return int(self.generators) if self.generators is not None else int(self.max_generators) + 2


@dataclass(frozen=True)
class NeuralProgress:
    """What the progress callback sees after a recorded step."""

    step: int
    steps: int
    loss: float
    validity: tuple[float, ...]  # sorted validity eigenvalues of the learned span
    seconds: float
    phase: str = "adam"          # "adam" or "polish" (step counts on after the Adam steps)


@dataclass
class NeuralResult:
    """A trained run: the model, the validity spectrum, the chosen symmetry span and its history."""

    model: torch.nn.Module
    spectrum: torch.Tensor          # (K_trained,) sorted generalised eigenvalues
    mixing: torch.Tensor            # (K_trained, K_trained) columns = eigen-combinations, same order
    dimension: int                  # K chosen
    gap: float | None               # λ_{K+1}/λ_K
    runner_up: float | None         # second largest consecutive ratio
    accepted: bool
    reason: str
    history_steps: list[int] = field(default_factory=list)
    history_spectra: list[list[float]] = field(default_factory=list)
    seconds: float = 0.0
    resumed_from: int | None = None
    polished: int = 0               # L-BFGS iterations run after the Adam steps

    def fields(self, points: torch.Tensor, *, k: int | None = None) -> torch.Tensor:
        """Values (k, N, 3) of the first ``k`` (default: the chosen K) eigen-generators at points (N, 3)."""
        k = self.dimension if k is None else k
        with torch.no_grad():
            v = self.model(points)
            return torch.einsum("jk,jni->kni", self.mixing[:, :k].to(v), v)


# --------------------------------------------------------------------------- the span loss
def validity_grams(residuals: torch.Tensor, values: torch.Tensor, n: int | None = None
                   ) -> tuple[torch.Tensor, torch.Tensor]:
    r"""The Gram matrices :math:`A = \tfrac1n RR^\top` (K, K) and :math:`G = \tfrac1n\sum_c W_cW_c^\top` (K, K).

    ``residuals`` (K, N), ``values`` (K, N, c); ``n`` defaults to N. With ``n`` the size of a
    whole batch and N the rows of one shard, the Grams of the shards sum to those of the batch.
    """
    n = residuals.shape[1] if n is None else n
    a = residuals @ residuals.transpose(0, 1) / n
    g = torch.einsum("kni,lni->kl", values, values) / n
    return a, g


def _whiten(a: torch.Tensor, g: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(C, L) with G = L Lᵀ and C = L⁻¹ A L⁻ᵀ (symmetrised)."""
    eye = torch.eye(g.shape[0], dtype=g.dtype, device=g.device)
    lower = torch.linalg.cholesky(g + 1e-14 * g.diagonal().mean().detach() * eye)
    x = torch.linalg.solve_triangular(lower, a, upper=False)
    c = torch.linalg.solve_triangular(lower, x.transpose(0, 1), upper=False)
    return 0.5 * (c + c.transpose(0, 1)), lower


def span_loss_from_grams(a: torch.Tensor, g: torch.Tensor, *, conditioning: float = 1e-2,
                         floor: float = 1e-12) -> torch.Tensor:
    r""":math:`\log\det(L^{-1}AL^{-\top} + \epsilon I) + \beta\|G - I\|_F^2` with :math:`G = LL^\top`.

    ε = ``floor`` × mean eigenvalue (detached) so that exact symmetries do not drive the loss
    to −∞; β = ``conditioning``.
    """
    c, _ = _whiten(a, g)
    k = c.shape[0]
    eye = torch.eye(k, dtype=c.dtype, device=c.device)
    eps = floor * (c.diagonal().mean().detach().clamp_min(torch.finfo(c.dtype).tiny))
    chol = torch.linalg.cholesky(c + eps * eye)
    logdet = 2.0 * torch.log(chol.diagonal()).sum()
    return logdet + conditioning * ((g - eye) ** 2).sum()


def span_loss(residuals: torch.Tensor, values: torch.Tensor, *, conditioning: float = 1e-2,
              floor: float = 1e-12) -> tuple[torch.Tensor, torch.Tensor]:
    r""":math:`\log\det(L^{-1}AL^{-\top} + \epsilon I) + \beta\|G - I\|_F^2` and the Gram G.

    ``residuals`` (K, N), ``values`` (K, N, c) standardised; see :func:`span_loss_from_grams`.
    """
    a, g = validity_grams(residuals, values)
    return span_loss_from_grams(a, g, conditioning=conditioning, floor=floor), g


def spectrum_from_grams(a: torch.Tensor, g: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Sorted generalised eigenvalues λ of :math:`A w = \lambda G w` and the G-orthonormal eigenvectors."""
    c, lower = _whiten(a, g)
    lam, vec = torch.linalg.eigh(c)
    w = torch.linalg.solve_triangular(lower.transpose(0, 1), vec, upper=True)
    return lam.clamp_min(0.0), w


def validity_spectrum(residuals: torch.Tensor, values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Sorted generalised eigenvalues λ of :math:`A w = \lambda G w` and the eigenvectors (columns).

    λ_k is the validity (mean squared residual over mean squared standardised size) of the k-th
    eigen-combination of the fields; the span of the first K columns is the candidate algebra.
    """
    return spectrum_from_grams(*validity_grams(residuals, values))


def _ratios(spectrum) -> list[float]:
    s = [max(float(v), 1e-300) for v in spectrum]
    return [s[i + 1] / s[i] for i in range(len(s) - 1)]


def choose_dimension(spectrum, *, min_ratio: float = 5.0, min_margin: float = 1.5,
                     max_k: int | None = None) -> tuple[int, float | None, float | None, bool, str]:
    """K at the largest consecutive ratio λ_{K+1}/λ_K (K ≤ ``max_k``) of the sorted spectrum and
    whether the gap is convincing. Returns (K, ratio, runner-up ratio, accepted, reason).

    ``max_k`` keeps the non-symmetries trained above the gap out of the choice: the ratio
    between two of them says nothing about symmetries (a smooth net makes the last one very bad).
    """
    ratios = _ratios(spectrum)
    if max_k is not None:
        ratios = ratios[:max(int(max_k), 1)]
    if not ratios:
        return len(spectrum), None, None, False, "one generator trained: no gap to measure"
    order = sorted(range(len(ratios)), key=lambda i: -ratios[i])
    best = order[0]
    ratio = ratios[best]
    runner = ratios[order[1]] if len(order) > 1 else None
    if ratio < min_ratio:
        return best + 1, ratio, runner, False, f"the largest validity ratio {ratio:.3g} is below {min_ratio:g}"
    if runner is not None and ratio < min_margin * runner:
        return best + 1, ratio, runner, False, (f"the largest validity ratio {ratio:.3g} is less than {min_margin:g}× "
                                                f"the runner-up {runner:.3g}")
    return best + 1, ratio, runner, True, "clear validity gap"


# --------------------------------------------------------------------------- training
def _lr(settings: NeuralSettings, step: int) -> float:
    """Cosine decay from lr to lr_final (a function of the step: resumable)."""
    frac = min(step / max(settings.steps, 1), 1.0)
    return settings.lr_final + 0.5 * (settings.lr - settings.lr_final) * (1.0 + math.cos(math.pi * frac))


def _settings_key(settings: NeuralSettings) -> dict:
    keep = asdict(settings)
    for volatile in ("checkpoint_every",):
        keep.pop(volatile)
    return keep


class _ObjectiveModule(torch.nn.Module):
    """``objective(model, indices)`` as a module, so that DDP sees the forward pass that uses the
    parameters (the objective reaches the weights directly, not through ``model.forward``)."""

    def __init__(self, model: torch.nn.Module, objective: Objective) -> None:
        super().__init__()
        self.model = model
        self.objective = objective

    def forward(self, indices: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.objective(self.model, indices)


def _all_reduce_grams(a: torch.Tensor, g: torch.Tensor, context: DistributedContext
                      ) -> tuple[torch.Tensor, torch.Tensor]:
    """The Grams summed over ranks; the value is the global one (the same bytes on every rank),
    the gradient is that of the local part (DDP sums the parts, see the module docstring)."""
    if not context.is_distributed:
        return a, g
    both = torch.stack([a.detach(), g.detach()])
    torch.distributed.all_reduce(both)
    return both[0] + (a - a.detach()), both[1] + (g - g.detach())


def _sharded_grams(objective: Objective, model: torch.nn.Module, indices: torch.Tensor,
                   context: DistributedContext, chunk: int = 2048) -> tuple[torch.Tensor, torch.Tensor]:
    """Global Grams (no gradient) of the objective at ``indices``: this rank's rows, in chunks,
    summed over ranks."""
    rows = indices[batch_rows(len(indices), context)]
    a = g = None
    with torch.no_grad():
        for part in rows.split(chunk) if len(rows) else [rows]:
            pa, pg = validity_grams(*objective(model, part), len(indices))
            a, g = (pa, pg) if a is None else (a + pa, g + pg)
        return _all_reduce_grams(a, g, context)


def train_generators(
    model: torch.nn.Module,
    objective: Objective,
    n_samples: int,
    settings: NeuralSettings,
    *,
    smoothness: Callable[[torch.nn.Module, int], torch.Tensor] | None = None,
    evaluate: Callable[[torch.nn.Module], tuple[torch.Tensor, torch.Tensor]] | None = None,
    monitor: Callable[[torch.nn.Module], tuple[torch.Tensor, torch.Tensor]] | None = None,
    monitor_indices: torch.Tensor | None = None,
    checkpoint: str | os.PathLike | None = None,
    resume: bool = False,
    callback: Callable[[NeuralProgress], None] | None = None,
    report_scale: float = 1.0,
    context: DistributedContext | None = None,
) -> NeuralResult:
    r"""Train ``model`` (K fields) to minimise :func:`span_loss` of ``objective`` over minibatches.

    Args:
        model: the K generators (``model(points) -> (K, N, 3)``), already seeded.
        objective: ``objective(model, indices)`` -> (R (K, B), W (K, B, 3)) on jet samples.
        n_samples: number of jet samples the indices are drawn from (``batch`` per step, without
            replacement within a step; all of them when ``batch >= n_samples``).
        smoothness: ``smoothness(model, step)`` -> (K,) curvature penalty (seeded by the step).
        evaluate: full-data (R, W) for the final spectrum (default: the objective on all samples,
            in chunks of 2048 without gradient, sharded over the ranks when distributed).
        monitor: (R, W) on a fixed subset, recorded every ``record_every`` steps — the history
            that the stability rule reads. Prefer ``monitor_indices`` (the objective on those
            samples, sharded over the ranks); with neither, the current minibatch (noisier).
        checkpoint: file to write every ``checkpoint_every`` steps (atomically; by rank 0) and at
            the end.
        resume: continue from ``checkpoint`` (its settings must match).
        callback: called with :class:`NeuralProgress` every ``record_every`` steps; raising in it
            stops training (the last checkpoint stays).
        report_scale: factor from the objective's validity units to the reported ones.
        context: the process group's context (default :func:`pdesym.distributed.current_context`):
            when it spans several ranks, training is data parallel with DDP and follows the
            single-process run up to round-off (module docstring). ``evaluate`` and ``monitor``,
            when given, are then computed whole on every rank.
    """
    start = time.perf_counter()
    context = current_context() if context is None else context
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=settings.lr)
    # the same stream on every rank: every rank draws the same batch and takes its rows of it
    gen = torch.Generator().manual_seed(int(settings.seed) + 7919)
    step = 0
    polished = 0
    hist_steps: list[int] = []
    hist_spectra: list[list[float]] = []
    resumed_from = None
    if resume:
        if checkpoint is None or not Path(checkpoint).is_file():
            raise PdesymError(f"Cannot resume: no checkpoint at {checkpoint}.")
        state = torch.load(checkpoint, map_location="cpu", weights_only=False)
        if state.get("settings") != _settings_key(settings):
            raise PdesymError(f"The checkpoint {checkpoint} was written with other neural settings; "
                              "resume with the same options or start over with --force.")
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        gen.set_state(state["generator"])
        step = int(state["step"])
        polished = int(state.get("polished", 0))
        hist_steps, hist_spectra = list(state["history_steps"]), [list(s) for s in state["history_spectra"]]
        resumed_from = step + polished

    network: torch.nn.Module = _ObjectiveModule(model, objective)
    if context.is_distributed:
        device = next(model.parameters()).device
        network = torch.nn.parallel.DistributedDataParallel(
            network, device_ids=[device.index] if device.type == "cuda" else None)

    def save() -> None:
        if checkpoint is None or not context.is_main:
            return
        state = {"model": model.state_dict(), "optimizer": opt.state_dict(), "generator": gen.get_state(),
                 "step": step, "polished": polished, "history_steps": hist_steps, "history_spectra": hist_spectra,
                 "settings": _settings_key(settings)}
        atomic_torch_save(checkpoint, state)

    def losses(idx: torch.Tensor, smooth_seed: int) -> tuple[torch.Tensor, torch.Tensor, tuple]:
        """(loss, the share this rank back-propagates, the Grams or (R, W) for the record)."""
        if context.is_distributed:
            r, w = network(idx[batch_rows(len(idx), context)])
            a, g = _all_reduce_grams(*validity_grams(r, w, len(idx)), context)
            span = span_loss_from_grams(a, g, conditioning=settings.conditioning, floor=settings.floor)
            # DDP divides the summed gradients by the world size: scale the local share back up
            local, seen = span * context.world_size, ("grams", a.detach(), g.detach())
        else:
            r, w = network(idx)
            span, _ = span_loss(r, w, conditioning=settings.conditioning, floor=settings.floor)
            local, seen = span, ("rows", r.detach(), w.detach())
        loss = span
        if smoothness is not None and settings.smoothness:
            penalty = settings.smoothness * smoothness(model, smooth_seed).sum()  # the same on every rank
            loss, local = loss + penalty, local + penalty
        return loss, local, seen

    def record(at: int, seen: tuple) -> None:
        with torch.no_grad():
            if monitor_indices is not None:
                lam, _ = spectrum_from_grams(*_sharded_grams(objective, model, monitor_indices, context))
            elif monitor is not None:
                lam, _ = validity_spectrum(*monitor(model))
            elif seen[0] == "grams":
                lam, _ = spectrum_from_grams(seen[1], seen[2])
            else:
                lam, _ = validity_spectrum(seen[1], seen[2])
        hist_steps.append(at)
        hist_spectra.append([float(v) * report_scale for v in lam])

    total = settings.steps + settings.polish
    batch = min(int(settings.batch), int(n_samples)) if settings.batch else int(n_samples)
    while step < settings.steps:
        for group in opt.param_groups:
            group["lr"] = _lr(settings, step)
        idx = torch.randperm(n_samples, generator=gen)[:batch] if batch < n_samples else torch.arange(n_samples)
        loss, local, seen = losses(idx, step)
        if not torch.isfinite(loss):
            raise PdesymError(f"The neural loss became non-finite at step {step}; try a smaller learning rate or "
                              "check the data for NaNs.")
        opt.zero_grad(set_to_none=True)
        local.backward()
        opt.step()
        step += 1
        if step % settings.record_every == 0 or step == settings.steps:
            record(step, seen)
        if step % settings.checkpoint_every == 0 or step == settings.steps:
            save()
        if callback is not None and (step % settings.record_every == 0 or step == settings.steps):
            callback(NeuralProgress(step, total, float(loss.detach()), tuple(hist_spectra[-1]),
                                    time.perf_counter() - start))

    if settings.polish and polished == 0:
        # full batch on a fixed subset and a fixed smoothness sample: a deterministic function, as
        # L-BFGS needs; its state (curvature pairs) lives across the chunks of record_every iterations
        fixed = torch.arange(min(int(settings.polish_points), int(n_samples)))
        if monitor_indices is not None:
            fixed = fixed.to(monitor_indices.device)
        lbfgs = torch.optim.LBFGS(params, lr=1.0, max_iter=settings.record_every, history_size=50,
                                  line_search_fn="strong_wolfe", tolerance_grad=0.0, tolerance_change=0.0)
        last: list = [None, None]

        def closure() -> torch.Tensor:
            lbfgs.zero_grad(set_to_none=True)
            loss, local, seen = losses(fixed, settings.steps)
            local.backward()
            last[0], last[1] = loss.detach(), seen
            return loss

        previous = None
        while polished < settings.polish:
            chunk = min(settings.record_every, settings.polish - polished)
            lbfgs.param_groups[0]["max_iter"] = chunk
            lbfgs.step(closure)
            polished += chunk
            if not torch.isfinite(last[0]):
                raise PdesymError("The neural loss became non-finite during the L-BFGS polish; rerun with --polish 0.")
            record(settings.steps + polished, last[1])
            if callback is not None:
                callback(NeuralProgress(settings.steps + polished, total, float(last[0]), tuple(hist_spectra[-1]),
                                        time.perf_counter() - start, "polish"))
            # converged (the log-det loss moved by less than polish_tolerance over a chunk), or
            # L-BFGS stopped at a point where its line search makes no progress
            if previous is not None and previous - float(last[0]) < settings.polish_tolerance:
                break
            previous = float(last[0])
        save()

    if evaluate is not None:
        r, w = evaluate(model)
        lam, vec = validity_spectrum(r.detach(), w.detach())
    else:
        lam, vec = spectrum_from_grams(*_sharded_grams(objective, model, torch.arange(n_samples), context))
    lam = lam * report_scale
    max_k = max(settings.trained - 2, 1)
    k, ratio, runner, accepted, reason = choose_dimension(lam, min_ratio=settings.min_ratio,
                                                          min_margin=settings.min_margin, max_k=max_k)
    if settings.generators is not None:
        k, accepted, reason = settings.trained, True, "K fixed by the user"
    elif accepted:
        # minibatch spectra are noisy: "stable" = the same K in at least 2/3 of the records of the
        # last ``stable_fraction`` of the Adam steps. After a polish (full batch, deterministic,
        # converging) the K of its last third of records (at least 2): the slowest symmetry may
        # cross the gap early in the polish (KdV seed 0: K = 3 for 30 iterations, then 4)
        if settings.polish:
            records = [s for st, s in zip(hist_steps, hist_spectra) if st > settings.steps]
            tail = records[-max(2, len(records) // 3):]
            where = "the end of the L-BFGS polish"
        else:
            tail = [s for st, s in zip(hist_steps, hist_spectra)
                    if st >= (1.0 - settings.stable_fraction) * settings.steps]
            where = f"the last {settings.stable_fraction:.0%} of training"
        same = [choose_dimension(s, min_ratio=0.0, min_margin=0.0, max_k=max_k)[0] == k for s in tail]
        if same and sum(same) < (2 * len(same)) / 3:
            accepted, reason = False, (f"the chosen K = {k} was not stable over {where} "
                                       f"(chosen in {sum(same)} of {len(same)} records)")
    return NeuralResult(model, lam, vec, k, ratio, runner, accepted, reason, hist_steps, hist_spectra,
                        time.perf_counter() - start, resumed_from, polished)


# --------------------------------------------------------------------------- Taylor mode through an MLP
def _tanh_series(a: list[torch.Tensor]) -> list[torch.Tensor]:
    r"""Taylor coefficients of :math:`y = \tanh(a(s))` from those of a(s), by
    :math:`y' = (1 - y^2)a'`: :math:`m y_m = \sum_{j=1}^m j a_j w_{m-j}`, :math:`w = 1 - y^2`."""
    y = [torch.tanh(a[0])]
    w = [1.0 - y[0] * y[0]]
    for m in range(1, len(a)):
        ym = sum(j * a[j] * w[m - j] for j in range(1, m + 1)) / m
        y.append(ym)
        w.append(-sum(y[i] * y[m - i] for i in range(m + 1)))
    return y


def mlp_taylor(model: torch.nn.Module, base: torch.Tensor, series: list[torch.Tensor]) -> list[torch.Tensor]:
    r"""Taylor coefficients :math:`c_m` of :math:`s \mapsto V_k(p(s))` for a tanh
    :class:`~pdesym.generators.MLPVectorFields` along a curve :math:`p(s) = \sum_m p_m s^m`.

    ``base`` = p_0 (N, 3), ``series`` = [p_1, ..., p_n] (each (N, 3)); returns [c_0, ..., c_n],
    each (K, N, 3), so :math:`\frac{d^m}{ds^m} V(p(s))|_0 = m!\,c_m`. Truncated polynomial
    arithmetic through the layers (linear maps act coefficient-wise, tanh by its ODE): about
    n + 1 forward passes instead of the :math:`2^n` of nested forward-mode AD.
    """
    z = [(base - model.mean) / model.std] + [p / model.std for p in series]
    h = z
    for i, (w, b) in enumerate(zip(model.weights, model.biases)):
        eq = "ni,kih->knh" if i == 0 else "knh,khg->kng"
        a = [torch.einsum(eq, hm, w) for hm in h]
        a[0] = a[0] + b[:, None, :]
        h = _tanh_series(a)
    out = []
    for m, hm in enumerate(h):
        o = torch.einsum("knh,khi->kni", hm, model.w_out) + torch.einsum("kij,nj->kni", model.skip_matrix, z[m])
        if m == 0:
            o = o + model.b_out[:, None, :]
        out.append(o * model.out_scale)
    return out


def mlp_residual(model: torch.nn.Module, jets, equation):
    r""":class:`~pdesym.prolongation.ResidualParts` (each (N, K)) of :math:`R = D_tQ - F'[u](Q)` for a tanh MLP batch on flat jets.

    Same quantity as :func:`pdesym.prolongation.characteristic_residual` (which it is tested
    against), with the total derivatives :math:`D_x^j` of the fields along the solution computed
    by :func:`mlp_taylor` on the curve :math:`(x + s, t, \sum_m u_{x^m} s^m/m!)` and :math:`D_t`
    on :math:`(x, t + r, u + u_t r)`.
    """
    from math import factorial

    from pdesym.prolongation import linearisation, residual_from_derivatives

    n = equation.spatial_order
    x, t = jets.x, jets.t
    base = torch.stack([x, t, jets[(0, 0)]], -1)
    zero = torch.zeros_like(x)
    one = torch.ones_like(x)
    series = [torch.stack([one, zero, jets[(1, 0)]], -1)]
    series += [torch.stack([zero, zero, jets[(m, 0)] / factorial(m)], -1) for m in range(2, n + 1)]
    coeffs = mlp_taylor(model, base, series)
    dx = [tuple((factorial(m) * c).permute(1, 0, 2).unbind(-1)) for m, c in enumerate(coeffs)]
    ct = mlp_taylor(model, base, [torch.stack([zero, one, jets[(0, 1)]], -1)])[1]
    dt = tuple(ct.permute(1, 0, 2).unbind(-1))
    names = jets.names()
    lin = [f(x, t, names) for f in linearisation(equation)]
    return residual_from_derivatives(dx, dt, jets, lin)
