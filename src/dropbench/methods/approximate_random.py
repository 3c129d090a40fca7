"""`approximate-random`: approximate random dropout (Song et al. 2018, arXiv 1805.08939).

Only the paper's abstract is public, so the pattern family below is our reconstruction.

Patterns. Each iteration draws one regular pattern per dropout site, shared by the whole batch:
- `row`: the units of a layer are cut into blocks of `block` units; the pattern keeps a cyclic run
  of m consecutive blocks starting at a uniformly random block s. Kept units are therefore one
  or two contiguous index ranges, so a layer's kept rows of W (and the next layer's kept columns)
  are slices (views) and the forward and backward passes are smaller dense GEMMs.
- `tile`: each weight matrix fed by a dropout site is cut into `tile` x `tile` tiles; each row
  of tiles keeps its own cyclic run of m tile columns (DropConnect at tile granularity).

Because the start s is uniform, every unit (synapse) is kept with probability E[m] / blocks. The
run length m follows a distribution found once by an SGD search: it minimises KL(target || q),
where the target is the kept-unit count of Bernoulli dropout (Binomial(units, 1 - p), expressed
in blocks), plus a penalty that pins E[m] / blocks to 1 - p. So each unit's drop rate is p and the
number of kept units varies from step to step roughly as under Bernoulli dropout.

The dropout scale 1 / (1 - p) is folded into the consuming GEMM (alpha of addmm). The trained
net is an ordinary dense net: evaluation and compaction use every unit.

LSTM language model: a dropped hidden unit leaves the whole sequence, recurrent connections
included (its four gate rows of W_ih / W_hh and its W_hh column), so each step runs a narrower
LSTM; a dropped embedding dimension removes a column of the first W_ih. The narrow LSTM weights
are copied per step (O(weights), 1 / (batch x seq_len) of the GEMM work).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..catalog import ApproximateRandomConfig
from ..dataset import Dataset
from ..errors import ConfigError
from ..models import run_lstm
from .base import Compacted, Method, plain_model

Ranges = tuple[tuple[int, int], ...]  # (start, stop) unit ranges, in the order the compact activation holds them
# One GEMM group of a layer: (weight rows, output columns, ((weight columns, input columns), ...)).
Block = tuple[slice, slice, tuple[tuple[slice, slice], ...]]

SEARCH_STEPS = 400
PENALTY = 1e6  # weight of the squared drop-rate error in the pattern search
MIN_BLOCKS = 4  # a layer is cut into at least this many blocks (if it has the units)
RATE_TOLERANCE = 1e-4  # largest |searched drop rate - p| accepted


# --- patterns ------------------------------------------------------------------------------------


def search_run_lengths(blocks: int, units: int, p: float, steps: int = SEARCH_STEPS) -> torch.Tensor:
    """q[m - 1] = probability of keeping a run of m blocks (m = 1..blocks), found by SGD (Adam).

    Minimises KL(target || q) + PENALTY * (E_q[m] / blocks - (1 - p))^2 over the logits of q, where
    `target` is the number of units Bernoulli dropout keeps, Binomial(units, 1 - p), rounded to
    blocks. The forward KL lets q put mass between the target's bins, which it needs when few
    blocks must average 1 - p. The gradient is written out: autograd would cost 10x the time.
    """
    kept_units = torch.arange(units + 1, dtype=torch.float64)
    pmf = torch.distributions.Binomial(units, probs=torch.tensor(1.0 - p, dtype=torch.float64)).log_prob(kept_units).exp()
    bins = (kept_units * blocks / units).round().clamp(1, blocks).long() - 1
    target = torch.zeros(blocks, dtype=torch.float64).index_add_(0, bins, pmf).clamp_min(1e-12)
    target /= target.sum()
    rate = torch.arange(1, blocks + 1, dtype=torch.float64) / blocks  # keep rate of each run length
    logits = target.log()
    optimizer = torch.optim.Adam([logits], lr=0.05)
    for _ in range(steps):
        q = logits.softmax(0)
        mean = (q * rate).sum()
        # d/dlogits of KL(target || q) is q - target; of the penalty, 2 PENALTY (mean - keep) q (rate - mean)
        logits.grad = q - target + 2 * PENALTY * (mean - (1.0 - p)) * q * (rate - mean)
        optimizer.step()
    return logits.softmax(0)


@dataclass(frozen=True)
class RunPattern:
    """Cyclic runs of blocks over `units` indices, with searched run-length probabilities."""

    units: int
    block: int
    lengths: torch.Tensor  # lengths[m - 1] = P(run of m blocks)

    @classmethod
    def search(cls, units: int, block: int, p: float, what: str) -> "RunPattern":
        block = max(1, min(block, units // MIN_BLOCKS))  # small layers get smaller blocks
        blocks = math.ceil(units / block)
        if p >= 1.0 - 1.0 / blocks:
            raise ConfigError(
                f"p={p} is too high for {what} ({units} units in {blocks} blocks of {block}): a pattern keeps at least "
                f"one block, so p must be below {1 - 1 / blocks:.3g}; lower p, block or tile"
            )
        pattern = cls(units, block, search_run_lengths(blocks, units, p))
        if abs(pattern.drop_rate - p) > RATE_TOLERANCE:
            raise ConfigError(f"the pattern search for {what} reached drop rate {pattern.drop_rate:.5f}, not p={p}; use a smaller block or tile")
        return pattern

    @property
    def blocks(self) -> int:
        return len(self.lengths)

    @property
    def drop_rate(self) -> float:
        """Each index's probability of being dropped: 1 - E[m] / blocks (the start is uniform)."""
        mean_run = float((self.lengths * torch.arange(1, self.blocks + 1, dtype=self.lengths.dtype)).sum())
        return 1.0 - mean_run / self.blocks

    def sample(self) -> Ranges:
        length = int(torch.multinomial(self.lengths, 1)) + 1
        start = int(torch.randint(self.blocks, ()))
        return self.ranges(start, length)

    def ranges(self, start: int, length: int) -> Ranges:
        """Index ranges of `length` blocks from block `start`, wrapping around (at most two)."""
        if length >= self.blocks:
            return ((0, self.units),)
        end = start + length
        if end <= self.blocks:
            return ((start * self.block, min(end * self.block, self.units)),)
        return ((start * self.block, self.units), (0, (end - self.blocks) * self.block))


def ranges_size(ranges: Ranges) -> int:
    return sum(stop - start for start, stop in ranges)


def pieces(ranges: Ranges | None, width: int) -> tuple[tuple[slice, slice], ...]:
    """(index slice, compact slice) per range; None = every index, stored as is."""
    if ranges is None:
        return ((slice(0, width), slice(0, width)),)
    out, at = [], 0
    for start, stop in ranges:
        out.append((slice(start, stop), slice(at, at + stop - start)))
        at += stop - start
    return tuple(out)


def keep_mask(ranges: Ranges, units: int) -> torch.Tensor:
    """0/1 mask of the kept indices: what standard dropout with the same pattern multiplies by."""
    mask = torch.zeros(units)
    for start, stop in ranges:
        mask[start:stop] = 1.0
    return mask


# --- the sliced GEMM -----------------------------------------------------------------------------


class SlicedLinear(torch.autograd.Function):
    """y[:, out] = scale * sum_pieces x[:, xc] @ W[rows, wc].T + b[rows], one addmm per piece.

    Every operand is a slice (view) of x, W or y: no gather, no copy of weights. The backward
    writes only the kept blocks of grad W and grad b (the rest stays exactly zero); autograd's
    slice backward would instead zero-fill and add a full-size tensor per slice.
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, blocks: tuple[Block, ...], width: int, scale: float) -> torch.Tensor:
        ctx.save_for_backward(x, weight)
        ctx.blocks, ctx.scale = blocks, scale
        y = x.new_empty(x.shape[0], width)
        for rows, out, parts in blocks:
            acc = y[:, out]
            acc.copy_(bias[rows])
            for wc, xc in parts:
                acc.addmm_(x[:, xc], weight[rows, wc].t(), alpha=scale)
        return y

    @staticmethod
    def backward(ctx, grad_y: torch.Tensor):
        x, weight = ctx.saved_tensors
        grad_x = torch.zeros_like(x) if ctx.needs_input_grad[0] else None
        grad_w, grad_b = torch.zeros_like(weight), weight.new_zeros(weight.shape[0])
        for rows, out, parts in ctx.blocks:
            g = grad_y[:, out]
            grad_b[rows] = g.sum(0)
            for wc, xc in parts:
                grad_w[rows, wc].addmm_(g.t(), x[:, xc], beta=0, alpha=ctx.scale)
                if grad_x is not None:
                    grad_x[:, xc].addmm_(g, weight[rows, wc], alpha=ctx.scale)
        return grad_x, grad_w, grad_b, None, None, None


def row_blocks(rows: Ranges | None, cols: Ranges | None, layer: nn.Linear) -> tuple[tuple[Block, ...], int]:
    """GEMM blocks of a layer whose kept outputs are `rows` and kept inputs `cols` (None = all)."""
    col_parts = pieces(cols, layer.in_features)
    blocks = tuple((wr, out, col_parts) for wr, out in pieces(rows, layer.out_features))
    return blocks, ranges_size(rows) if rows is not None else layer.out_features


def tile_blocks(pattern: RunPattern, layer: nn.Linear) -> tuple[tuple[Block, ...], int]:
    """GEMM blocks of a layer whose rows of square tiles (the pattern's block) each keep a run of tile columns."""
    blocks = []
    for top in range(0, layer.out_features, pattern.block):
        rows = slice(top, min(top + pattern.block, layer.out_features))
        parts = tuple((wc, wc) for wc, _ in pieces(pattern.sample(), layer.in_features))
        blocks.append((rows, rows, parts))
    return tuple(blocks), layer.out_features


# --- the training modules ------------------------------------------------------------------------


class ApproximateMLP(nn.Module):
    """An MLP trained with regular patterns; shares the plain model's layers (same state_dict keys)."""

    def __init__(self, model: nn.Module, config: ApproximateRandomConfig):
        super().__init__()
        if model.input_index is not None:
            raise ConfigError("approximate-random trains full-input MLPs, not compacted ones")
        self.arch, self.layers, self.config = model.arch, model.layers, config
        # one pattern per hidden site: over its units (row), or over the tile columns of its consumer (tile)
        block = config.block if config.pattern == "row" else config.tile
        self.patterns = [RunPattern.search(w, block, config.p, f"hidden layer {i}") for i, w in enumerate(model.hidden_sizes())]

    def gemm_work(self) -> list[tuple[float, float]]:
        """Per layer: (multiply-adds of a dense training step per sample, expected kept fraction).

        A training step runs the forward GEMM and two backward ones (grad W, grad input), but the
        input layer needs no grad input.
        """
        keep = [1.0 - pattern.drop_rate for pattern in self.patterns]
        work = []
        for i, layer in enumerate(self.layers):
            keep_in = keep[i - 1] if i > 0 else 1.0
            keep_out = keep[i] if i < len(keep) and self.config.pattern == "row" else 1.0
            work.append(((3 if i else 2) * layer.weight.numel(), keep_in * keep_out))
        return work

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.flatten(1)
        if not self.training or self.config.p == 0.0:
            return self.dense(x)
        if self.config.pattern == "tile":
            return self.tiles(x)
        return self.rows(x, [pattern.sample() for pattern in self.patterns])

    def dense(self, x: torch.Tensor) -> torch.Tensor:
        for i, layer in enumerate(self.layers):
            x = layer(x) if i == len(self.layers) - 1 else F.relu(layer(x))
        return x

    def rows(self, x: torch.Tensor, kept: list[Ranges]) -> torch.Tensor:
        """Forward with hidden site i keeping units `kept[i]`: only their rows and columns are computed."""
        last = len(self.layers) - 1
        for i, layer in enumerate(self.layers):
            blocks, width = row_blocks(kept[i] if i < last else None, kept[i - 1] if i > 0 else None, layer)
            x = SlicedLinear.apply(x, layer.weight, layer.bias, blocks, width, 1.0 / (1.0 - self.config.p) if i > 0 else 1.0)
            if i < last:
                x = F.relu(x)
        return x

    def tiles(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.layers[0](x))  # the input layer reads the data, not a dropout site
        for i, layer in enumerate(self.layers[1:]):
            blocks, width = tile_blocks(self.patterns[i], layer)
            x = SlicedLinear.apply(x, layer.weight, layer.bias, blocks, width, 1.0 / (1.0 - self.config.p))
            if i < len(self.layers) - 2:
                x = F.relu(x)
        return x


def _take(w: torch.Tensor, dim: int, ranges: Ranges) -> torch.Tensor:
    parts = [w.narrow(dim, start, stop - start) for start, stop in ranges]
    return parts[0] if len(parts) == 1 else torch.cat(parts, dim)


class ApproximateLSTM(nn.Module):
    """An LSTM language model whose dropped units leave the whole sequence (see the module doc)."""

    def __init__(self, model: nn.Module, config: ApproximateRandomConfig):
        super().__init__()
        if config.pattern != "row":
            raise ConfigError("the LSTM supports the row pattern only (--set pattern=row)")
        self.arch, self.embed, self.lstms, self.head, self.config = model.arch, model.embed, model.lstms, model.head, config
        names = ["the embedding", *(f"LSTM layer {i}" for i in range(len(self.lstms)))]
        self.patterns = [RunPattern.search(w, config.block, config.p, name) for w, name in zip(model.hidden_sizes(), names)]

    def gemm_work(self) -> list[tuple[float, float]]:
        """Per layer: (multiply-adds of a dense training step per token, expected kept fraction)."""
        keep = [1.0 - pattern.drop_rate for pattern in self.patterns]
        work = []
        for lstm, keep_in, keep_out in zip(self.lstms, keep[:-1], keep[1:]):
            inputs, hidden = lstm.input_size, lstm.hidden_size
            kept = keep_out * (keep_in * inputs + keep_out * hidden) / (inputs + hidden)
            work.append((3 * 4 * hidden * (inputs + hidden), kept))
        work.append((3 * self.head.weight.numel(), keep[-1]))
        return work

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        if not self.training or self.config.p == 0.0:
            x = self.embed(tokens)
            for lstm in self.lstms:
                x = lstm(x)[0]
            return self.head(x)
        return self.rows(tokens, [pattern.sample() for pattern in self.patterns])

    def rows(self, tokens: torch.Tensor, kept: list[Ranges]) -> torch.Tensor:
        scale = 1.0 / (1.0 - self.config.p)
        x = F.embedding(tokens, _take(self.embed.weight, 1, kept[0]))
        for lstm, cols, rows in zip(self.lstms, kept[:-1], kept[1:]):
            x = self._narrow_lstm(lstm, x, rows, cols, scale)
        batch, steps, width = x.shape
        blocks, classes = row_blocks(None, kept[-1], self.head)
        return SlicedLinear.apply(x.reshape(batch * steps, width), self.head.weight, self.head.bias, blocks, classes, scale).view(batch, steps, classes)

    @staticmethod
    def _narrow_lstm(lstm: nn.LSTM, x: torch.Tensor, rows: Ranges, cols: Ranges, scale: float) -> torch.Tensor:
        """Run `lstm` with only hidden units `rows` reading inputs `cols`; dropped inputs are scaled out."""
        hidden = lstm.hidden_size

        def gate_rows(w: torch.Tensor) -> torch.Tensor:  # the i, f, g, o rows of the kept units
            return _take(w.view(4, hidden, *w.shape[1:]), 1, rows).reshape(-1, *w.shape[1:])

        w_ih = _take(gate_rows(lstm.weight_ih_l0), 1, cols) * scale
        w_hh = _take(gate_rows(lstm.weight_hh_l0), 1, rows) * scale
        return run_lstm(x, w_ih, w_hh, gate_rows(lstm.bias_ih_l0), gate_rows(lstm.bias_hh_l0))


class ApproximateRandom(Method):
    name = "approximate-random"
    summary = "regular row / tile dropout patterns computed as smaller dense GEMMs (Song et al. 2018)"

    def prepare(self, model: nn.Module) -> nn.Module:
        kind = model.arch["kind"]
        if kind == "mlp":
            return ApproximateMLP(model, self.config)
        if kind == "lstm":
            return ApproximateLSTM(model, self.config)
        raise ConfigError(f"approximate-random supports the mlp and lstm models, not {kind!r}")

    def training_flop_fraction(self, module: nn.Module) -> float:
        work = module.gemm_work()
        return sum(macs * kept for macs, kept in work) / sum(macs for macs, _ in work)

    def compact(self, module: nn.Module, data: Dataset) -> Compacted:
        rates = [round(p.drop_rate, 6) for p in module.patterns]
        return Compacted(plain_model(module), metrics={"pattern_drop_rates": rates})
