"""The training loop: seeds, optimiser and schedule from config, progress, divergence stop.

The same seed, data and method give the same weights on CPU: every random draw (init, batch
order, dropout masks) comes from torch's seeded generators.
"""

from __future__ import annotations

import copy
import math
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Iterator, Protocol

import torch
import torch.nn.functional as F
from torch import nn

from .dataset import Dataset
from .errors import TrainingDiverged
from .schemas.plan import OPTIMIZERS, SCHEDULES


@dataclass(frozen=True)
class StepState:
    """Where training is, handed to `regularizer` and `on_step`."""

    epoch: int  # 0-based
    step: int  # global, 0-based
    steps_per_epoch: int
    total_steps: int
    dataset_size: int  # training samples (or tokens): the N of a per-sample loss

    @property
    def progress(self) -> float:
        """Fraction of training done, in [0, 1]."""
        return self.step / max(self.total_steps - 1, 1)


class StepHooks(Protocol):
    """What the loop calls on a method each step; `methods.base.Method` implements it."""

    def regularizer(self, module: nn.Module, state: StepState) -> torch.Tensor | None: ...

    def on_step(self, module: nn.Module, state: StepState) -> None: ...


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 20
    batch_size: int = 64
    lr: float = 1e-3
    optimizer: str = "adam"  # "adam" or "sgd"
    momentum: float = 0.9  # sgd only
    weight_decay: float = 0.0
    schedule: str = "constant"  # "constant", "cosine", "step" (x0.1 at 50 % and 75 %) or "linear" (to 0 after `hold`)
    grad_clip: float = 0.0  # max gradient norm; 0 = off
    seed: int = 0
    hold: float = 0.0  # linear schedule: the fraction of training at the full lr before it falls linearly to 0

    def __post_init__(self):
        if self.epochs < 1 or self.batch_size < 1:
            raise ValueError("epochs and batch_size must be >= 1")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise ValueError(f"lr must be a positive number, got {self.lr}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, got {self.optimizer!r}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {', '.join(SCHEDULES)}, got {self.schedule!r}")
        if not 0.0 <= self.hold < 1.0:
            raise ValueError(f"hold must be in [0, 1), got {self.hold}")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class FitResult:
    history: list[dict[str, float]] = field(default_factory=list)  # one record per epoch
    steps: int = 0


def steps_per_epoch(data: Dataset, config: TrainConfig, seq_len: int = 0) -> int:
    n = len(data.train)
    if data.kind == "language":
        return max(1, n // (config.batch_size * seq_len))
    return math.ceil(n / config.batch_size)


def batches(data: Dataset, config: TrainConfig, generator: torch.Generator, seq_len: int = 0) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """One epoch of (inputs, targets): shuffled samples, or random windows of a token stream."""
    if data.kind == "language":
        tokens = data.train.x
        offsets = torch.arange(seq_len + 1)
        for _ in range(steps_per_epoch(data, config, seq_len)):
            starts = torch.randint(0, len(tokens) - seq_len - 1, (config.batch_size, 1), generator=generator)
            window = tokens[starts + offsets]
            yield window[:, :-1], window[:, 1:]
        return
    order = torch.randperm(len(data.train), generator=generator)
    for i in range(0, len(order), config.batch_size):
        idx = order[i : i + config.batch_size]
        yield data.train.x[idx], data.train.y[idx]


def loss_fn(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))


def make_optimizer(params: list[nn.Parameter], config: TrainConfig) -> torch.optim.Optimizer:
    if config.optimizer == "sgd":
        return torch.optim.SGD(params, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay)
    # fused: one kernel over all tensors; the per-tensor loop took ~30 % of an MLP step on CPU
    return torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay, fused=True)


def _lr_factor(config: TrainConfig, progress: float) -> float:
    if config.schedule == "cosine":
        return 0.5 * (1 + math.cos(math.pi * progress))
    if config.schedule == "step":
        return 0.01 if progress >= 0.75 else 0.1 if progress >= 0.5 else 1.0
    if config.schedule == "linear":  # sparse VD's reference code: held, then linearly to 0
        return min(1.0, (1.0 - progress) / (1.0 - config.hold))
    return 1.0


def fit(
    module: nn.Module,
    data: Dataset,
    config: TrainConfig,
    method: StepHooks | None = None,
    progress: Any = None,
    grad_masks: dict[str, torch.Tensor] | None = None,
    device: str = "cpu",
    label: str = "train",
) -> FitResult:
    """Train `module` in place. `progress` is a rich Progress (or None for silence), `label` its task name.

    `grad_masks` (parameter name -> 0/1 mask) keeps pruned weights at zero while fine-tuning.
    On a NaN / inf loss the last good weights (end of the previous epoch) are restored and
    TrainingDiverged is raised.
    """
    torch.manual_seed(config.seed)
    module.to(device)
    params = dict(module.named_parameters())
    hooks = [params[name].register_hook(_masking(mask.to(device))) for name, mask in (grad_masks or {}).items()]
    try:
        return _fit(module, data, config, method, progress, device, list(params.values()), label)
    finally:
        for h in hooks:
            h.remove()



def _masking(mask: torch.Tensor) -> Callable[[torch.Tensor], torch.Tensor]:
    """A gradient hook that zeroes the gradient of pruned weights."""
    return lambda grad: grad * mask
def _fit(
    module: nn.Module,
    data: Dataset,
    config: TrainConfig,
    method: StepHooks | None,
    progress: Any,
    device: str,
    params: list[nn.Parameter],
    label: str,
) -> FitResult:
    optimizer = make_optimizer([p for p in params if p.requires_grad], config)
    generator = torch.Generator().manual_seed(config.seed)
    seq_len = module.arch.get("seq_len", 0)
    per_epoch = steps_per_epoch(data, config, seq_len)
    total = per_epoch * config.epochs
    task = progress.add_task(label, total=total, status="") if progress else None
    last_good = copy.deepcopy(module.state_dict())
    result = FitResult()
    for epoch in range(config.epochs):
        module.train()
        loss_sum, seen = 0.0, 0
        for x, y in batches(data, config, generator, seq_len):
            state = StepState(epoch, result.steps, per_epoch, total, len(data.train))
            loss, objective = loop_step(module, x, y, optimizer, method, state, config, device)
            if not math.isfinite(objective):
                module.load_state_dict(last_good)
                raise TrainingDiverged(
                    f"training diverged at epoch {epoch + 1}, step {result.steps + 1} (loss {objective}); lower the learning rate (--lr)"
                )
            loss_sum, seen = loss_sum + loss * len(x), seen + len(x)
            result.steps += 1
            if task is not None:
                progress.update(task, advance=1, status=f"epoch {epoch + 1}/{config.epochs} · loss {loss:.3f}")
        val = evaluate(module, data, "val", device=device)
        record = {"epoch": epoch + 1, "loss": loss_sum / max(seen, 1), **{f"val_{k}": v for k, v in val.items()}}
        result.history.append(record)
        last_good = copy.deepcopy(module.state_dict())
        if task is not None:
            progress.update(task, status=f"epoch {epoch + 1}/{config.epochs} · loss {record['loss']:.3f} · val acc {100 * val['accuracy']:.1f}%")
    module.eval()
    return result


def loop_step(
    module: nn.Module, x: torch.Tensor, y: torch.Tensor, optimizer: torch.optim.Optimizer,
    method: StepHooks | None, state: StepState, config: TrainConfig, device: str,
) -> tuple[float, float]:
    """One step of the training loop, all of what `_fit` does per batch but the bookkeeping: the
    batch moved to the device, this step's learning rate, `train_step`, and the loss and objective
    read back (a device sync on CUDA). The training-step timings (timing.training) call it too."""
    for group in optimizer.param_groups:
        group["lr"] = config.lr * _lr_factor(config, state.progress)
    loss, objective = train_step(module, x.to(device), y.to(device), optimizer, method, state, config.grad_clip)
    return loss.item(), objective.item()


def train_step(
    module: nn.Module, x: torch.Tensor, y: torch.Tensor, optimizer: torch.optim.Optimizer,
    method: StepHooks | None, state: StepState, grad_clip: float = 0.0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Forward, loss (+ the method's regulariser), backward, optimiser step, the method's on_step.

    Returns (loss, objective); when the objective is not finite nothing is updated.
    The training loop and the training-step timings both run it through `loop_step`.
    """
    loss = loss_fn(module(x), y)
    reg = method.regularizer(module, state) if method else None
    objective = loss if reg is None else loss + reg
    if not torch.isfinite(objective):
        return loss, objective
    optimizer.zero_grad(set_to_none=True)
    objective.backward()
    if grad_clip:
        nn.utils.clip_grad_norm_(module.parameters(), grad_clip)
    optimizer.step()
    if method:
        method.on_step(module, state)
    return loss, objective


@torch.no_grad()
def predict(model: nn.Module, x: torch.Tensor, batch_size: int = 1024, device: str = "cpu") -> torch.Tensor:
    """Logits of `model` (in eval mode) for all of `x`, batched."""
    was_training = model.training
    model.eval()
    try:
        return torch.cat([model(x[i : i + batch_size].to(device)).cpu() for i in range(0, len(x), batch_size)])
    finally:
        model.train(was_training)


def eval_windows(data: Dataset, split: str, seq_len: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Non-overlapping (inputs, targets) windows of a token stream."""
    tokens = data.split(split).x
    n = (len(tokens) - 1) // seq_len
    return tokens[: n * seq_len].reshape(n, seq_len), tokens[1 : n * seq_len + 1].reshape(n, seq_len)


def evaluate(model: nn.Module, data: Dataset, split: str = "test", device: str = "cpu") -> dict[str, float]:
    """accuracy (and loss; perplexity for a language model) on one split."""
    if data.kind == "language":
        x, y = eval_windows(data, split, model.arch["seq_len"])
    else:
        x, y = data.split(split).x, data.split(split).y
    logits = predict(model, x, device=device)
    loss = loss_fn(logits, y).item()
    metrics = {"accuracy": (logits.argmax(-1) == y).float().mean().item(), "loss": loss}
    if data.kind == "language":
        metrics["perplexity"] = math.exp(min(loss, 50.0))
    return metrics
