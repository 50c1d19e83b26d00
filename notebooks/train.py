#!/usr/bin/env python3
"""Train the genre CNN on features exported by `lacquer features`; export ONNX + model card.

Headless entry point; train.ipynb calls the same functions. The features are
never computed here: the Rust exporter writes them with the exact function
inference uses, so training and serving see the same numbers.

    python notebooks/train.py --features build/genre/features.npz \
        --manifest training-data-manifest/clips.csv --out-dir models --version genre-v1

Splits come from the manifest (by source track / artist / album / package).
Model selection (early stopping) uses the validation split only; the test
split is scored once, after training, with the chosen weights.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import math
import random
import sys
import warnings
import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

OPSET = 17
INPUT_NAME = "mel"
OUTPUT_NAME = "logits"
REPO = Path(__file__).resolve().parent.parent


# ---------------------------------------------------------------- data


@dataclass
class FeatureSet:
    x: np.ndarray  # [N, 1, n_mels, frames] float32
    y: np.ndarray  # [N] int64
    clip_index: np.ndarray  # [N] int64
    split: np.ndarray  # [N] str
    clip_ids: list[str]
    clip_tracks: list[str]
    labels: list[str]
    feature_params: dict
    manifest_sha256: str
    sha256: str  # of the .npz file


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def load_features(path: Path) -> FeatureSet:
    with np.load(path, allow_pickle=False) as z:
        return FeatureSet(
            x=z["x"].astype(np.float32),
            y=z["y"].astype(np.int64),
            clip_index=z["clip_index"].astype(np.int64),
            split=z["split"].astype(str),
            clip_ids=[str(s) for s in z["clip_ids"]],
            clip_tracks=[str(s) for s in z["clip_source_track_ids"]],
            labels=[str(s) for s in z["labels"]],
            feature_params=json.loads(str(z["feature_params_json"][()])),
            manifest_sha256=str(z["manifest_sha256"][()]),
            sha256=sha256_file(path),
        )


def test_fingerprint(manifest: Path) -> str:
    """The test-split fingerprint `training-data-manifest/check` prints."""
    sys.path.insert(0, str(REPO / "training-data-manifest"))
    import manifest_format as mf  # noqa: E402  (repository module, not a package)

    header, rows = mf.read_manifest(manifest)
    return mf.check_manifest(header, rows, 0).test_fingerprint


# ---------------------------------------------------------------- model


class GenreCnn(nn.Module):
    """A strided 3x3 stem and three 3x3 conv blocks (BN folds into the convs on
    export), global average pool, one linear layer: ~60k parameters. The stem
    (stride 2, then 2x2 max-pool) quarters each axis before the wide layers,
    which keeps training on a shared CPU and inference under tract cheap
    (~6.5 M multiply-adds per 64x128 patch)."""

    def __init__(self, n_labels: int, widths: tuple[int, ...] = (16, 32, 64, 64), dropout: float = 0.3):
        super().__init__()
        layers: list[nn.Module] = []
        c_in = 1
        for i, c_out in enumerate(widths):
            stride = 2 if i == 0 else 1
            layers += [
                nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False),
                nn.BatchNorm2d(c_out),
                nn.ReLU(),
            ]
            if i < len(widths) - 1:
                layers.append(nn.MaxPool2d(2))
            c_in = c_out
        self.body = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(c_in, n_labels)

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        h = self.pool(self.body(mel)).flatten(1)
        return self.head(self.drop(h))


class PooledStats(nn.Module):
    """Per-mel-band statistics over the patch's frames, then a linear layer
    (or one small hidden layer): ~1-8k parameters instead of the CNN's 60k.

    For every band: the mean (the long-term spectrum shape), the standard
    deviation over time (how much the band moves) and the RMS of the
    frame-to-frame difference (onsets, tremolo, beat). The statistics are
    standardised with the training patches' mean and spread (buffers, so
    they export as constants). Same input as the CNN, so the Rust side
    needs no change; ONNX ops: ReduceMean, Sub, Mul, Add, Sqrt, Slice, Concat,
    Flatten, Gemm (+ Relu)."""

    STATS = 3

    def __init__(self, n_labels: int, n_mels: int, hidden: int = 0, dropout: float = 0.3):
        super().__init__()
        n_stats = self.STATS * n_mels
        self.register_buffer("stat_mean", torch.zeros(n_stats))
        self.register_buffer("stat_scale", torch.ones(n_stats))
        self.drop = nn.Dropout(dropout)
        if hidden:
            self.head = nn.Sequential(nn.Linear(n_stats, hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, n_labels))
        else:
            self.head = nn.Linear(n_stats, n_labels)

    @staticmethod
    def statistics(mel: torch.Tensor) -> torch.Tensor:
        mean = mel.mean(dim=3, keepdim=True)  # [N,1,M,1]
        centred = mel - mean
        std = torch.sqrt((centred * centred).mean(dim=3) + 1e-6)
        diff = mel[:, :, :, 1:] - mel[:, :, :, :-1]
        flux = torch.sqrt((diff * diff).mean(dim=3) + 1e-6)
        return torch.cat([mean.flatten(1), std.flatten(1), flux.flatten(1)], dim=1)

    @torch.no_grad()
    def fit_standardisation(self, x: torch.Tensor) -> None:
        s = torch.cat([self.statistics(x[i : i + 256]) for i in range(0, len(x), 256)])
        self.stat_mean.copy_(s.mean(0))
        self.stat_scale.copy_(1.0 / (s.std(0) + 1e-3))

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        z = (self.statistics(mel) - self.stat_mean) * self.stat_scale
        return self.head(self.drop(z))


class Ensemble(nn.Module):
    """Members trained from different seeds; the output is the mean of their
    log-softmax, whose softmax is the normalised geometric mean of their
    probabilities (ONNX: the members' graphs, LogSoftmax, Unsqueeze, Concat,
    ReduceMean)."""

    def __init__(self, members: list[nn.Module]):
        super().__init__()
        self.members = nn.ModuleList(members)

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        return torch.stack([torch.log_softmax(m(mel), dim=1) for m in self.members]).mean(0)


MODELS = ("cnn", "pooled")


def build_model(cfg: "TrainConfig", n_labels: int, n_mels: int) -> nn.Module:
    if cfg.model == "cnn":
        return GenreCnn(n_labels, cfg.widths, cfg.dropout)
    if cfg.model == "pooled":
        return PooledStats(n_labels, n_mels, cfg.hidden, cfg.dropout)
    raise ValueError(f"unknown model {cfg.model!r} (one of {MODELS})")


def describe_model(cfg: "TrainConfig") -> str:
    if cfg.model == "cnn":
        one = f"GenreCnn widths={list(cfg.widths)} dropout={cfg.dropout}"
    else:
        head = f"hidden {cfg.hidden}" if cfg.hidden else "linear"
        one = f"PooledStats per-band mean/std/flux over time, standardised, {head} head, dropout={cfg.dropout}"
    if cfg.ensemble > 1:
        one = f"Ensemble of {cfg.ensemble} x {one} (seeds {cfg.seed}..{cfg.seed + cfg.ensemble - 1}, mean log-softmax)"
    return f"{one} (notebooks/train.py)"


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


# ---------------------------------------------------------------- augmentation


@dataclass
class Augment:
    """Augmentations in the feature domain, where the exported patches live.

    Feature values are dB / scale_db with the patch mean removed (see
    lacquer-genre features.rs), so a constant gain is already invisible to
    the model; what a mastering input can still differ by is level *over
    time* (fades, compression), tonal balance, where the bar starts, and what
    else is in the mix.
    """

    scale_db: float
    dynamic_range_db: float
    gain_ramp_db: float = 6.0  # total change across the patch, ±
    tilt_db: float = 6.0  # change from lowest to highest band, ±
    max_shift_frames: int = 64
    mix_prob: float = 0.5
    mix_alpha: float = 0.4
    # Off by default (genre-v1 was trained without them):
    eq_db: float = 0.0  # random smooth EQ curve (3 cosine terms across the bands), ± up to this
    freq_mask_bands: int = 0  # SpecAugment: flatten one random run of up to this many bands

    def describe(self) -> str:
        parts = [
            f"gain ramp ±{self.gain_ramp_db:g} dB over the patch",
            f"spectral tilt ±{self.tilt_db:g} dB",
            f"circular time shift ±{self.max_shift_frames} frames",
        ]
        if self.eq_db:
            parts.append(f"random smooth EQ ±{self.eq_db:g} dB (3 cosine terms)")
        if self.freq_mask_bands:
            parts.append(f"one band mask of up to {self.freq_mask_bands} mel bands")
        parts.append(
            f"power-domain mixing with another patch (p={self.mix_prob:g}, "
            f"Beta({self.mix_alpha:g},{self.mix_alpha:g}), soft labels)"
        )
        return ", ".join(parts)

    def renormalise(self, x: torch.Tensor) -> torch.Tensor:
        # Same normalisation as the Rust side: clamp below max, remove mean.
        floor = x.amax(dim=(2, 3), keepdim=True) - self.dynamic_range_db / self.scale_db
        x = torch.maximum(x, floor)
        return x - x.mean(dim=(2, 3), keepdim=True)

    def __call__(self, x: torch.Tensor, y_soft: torch.Tensor, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        n, _, n_mels, frames = x.shape
        u = lambda *shape: torch.rand(*shape, generator=gen)  # noqa: E731
        # Gain ramp over time (a constant gain cancels out in the features).
        ramp = torch.linspace(-0.5, 0.5, frames).view(1, 1, 1, frames)
        x = x + (u(n, 1, 1, 1) * 2 - 1) * self.gain_ramp_db / self.scale_db * ramp
        # Spectral tilt (EQ): linear in mel band index, ± tilt_db end to end.
        slope = torch.linspace(-0.5, 0.5, n_mels).view(1, 1, n_mels, 1)
        x = x + (u(n, 1, 1, 1) * 2 - 1) * self.tilt_db / self.scale_db * slope
        if self.eq_db:
            # A smooth random EQ (what another mix or master does), peak ± eq_db.
            k = torch.arange(1, 4, dtype=torch.float32).view(1, 3, 1)
            basis = torch.cos(math.pi * k * torch.linspace(0, 1, n_mels).view(1, 1, n_mels))
            coef = (u(n, 3, 1) * 2 - 1) / 3
            curve = (coef * basis).sum(1) * self.eq_db / self.scale_db  # [n, n_mels]
            x = x + curve.view(n, 1, n_mels, 1)
        if self.freq_mask_bands:
            # Replace a run of bands with the patch's mean level (0 after renormalising).
            width = (u(n) * (self.freq_mask_bands + 1)).floor().long()
            start = (u(n) * (n_mels - width + 1)).floor().long()
            band = torch.arange(n_mels).view(1, n_mels)
            masked = (band >= start.view(n, 1)) & (band < (start + width).view(n, 1))
            x = torch.where(masked.view(n, 1, n_mels, 1), x.mean(dim=(2, 3), keepdim=True), x)
        # Time shift: circular roll by up to max_shift_frames either way.
        shifts = ((u(n) * 2 - 1) * self.max_shift_frames).round().long()
        idx = (torch.arange(frames).view(1, frames) - shifts.view(n, 1)) % frames
        x = torch.gather(x, 3, idx.view(n, 1, 1, frames).expand(n, 1, n_mels, frames))
        # Mixing: sum with another patch in the power domain (what mixing two
        # signals does to their spectra), soft labels by power share.
        mix = u(n) < self.mix_prob
        if mix.any():
            partner = torch.randperm(n, generator=gen)
            lam = torch.distributions.Beta(self.mix_alpha, self.mix_alpha).sample((n,))
            lam = torch.maximum(lam, 1 - lam)  # the original stays dominant
            lam = torch.where(mix, lam, torch.ones_like(lam))
            to_power = math.log(10.0) * self.scale_db / 10.0
            a = torch.exp(x * to_power)
            b = torch.exp(x[partner] * to_power)
            l4 = lam.view(n, 1, 1, 1)
            x = torch.log(l4 * a + (1 - l4) * b + 1e-30) / to_power
            y_soft = lam.view(n, 1) * y_soft + (1 - lam.view(n, 1)) * y_soft[partner]
        return self.renormalise(x), y_soft




# ---------------------------------------------------------------- metrics


def confusion(y_true: np.ndarray, y_pred: np.ndarray, n: int) -> np.ndarray:
    m = np.zeros((n, n), dtype=np.int64)
    for t, p in zip(y_true, y_pred):
        m[t, p] += 1
    return m


def metrics_from_confusion(m: np.ndarray, labels: list[str]) -> dict:
    per_class = {}
    f1s = []
    for i, label in enumerate(labels):
        tp = int(m[i, i])
        support = int(m[i].sum())
        predicted = int(m[:, i].sum())
        precision = tp / predicted if predicted else 0.0
        recall = tp / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class[label] = {
            "precision": round(precision, 4),
            "recall": round(recall, 4),
            "f1": round(f1, 4),
            "support": support,
        }
        f1s.append(f1)
    total = int(m.sum())
    return {
        "macro_f1": round(float(np.mean(f1s)), 4),
        "accuracy": round(float(np.trace(m)) / total, 4) if total else 0.0,
        "n": total,
        "per_class": per_class,
        "confusion_matrix": m.tolist(),
    }


@torch.no_grad()
def patch_logits(model: nn.Module, x: np.ndarray, batch: int = 256) -> np.ndarray:
    model.eval()
    out = [model(torch.from_numpy(x[i : i + batch])).numpy() for i in range(0, len(x), batch)]
    return np.concatenate(out) if out else np.zeros((0, 0), dtype=np.float32)


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def evaluate(model: nn.Module, fs: FeatureSet, split: str) -> dict:
    """Clip level (softmax averaged over a clip's patches, as inference does
    for a track) is the headline; patch and source-track level beside it."""
    mask = fs.split == split
    logits = patch_logits(model, fs.x[mask])
    probs = softmax(logits)
    y = fs.y[mask]
    clips = fs.clip_index[mask]
    n = len(fs.labels)
    patch = metrics_from_confusion(confusion(y, probs.argmax(1), n), fs.labels)

    clip_ids = np.unique(clips)
    clip_prob = np.stack([probs[clips == c].mean(0) for c in clip_ids])
    clip_true = np.array([y[clips == c][0] for c in clip_ids])
    clip = metrics_from_confusion(confusion(clip_true, clip_prob.argmax(1), n), fs.labels)

    tracks = np.array([fs.clip_tracks[c] for c in clip_ids])
    track_names = sorted(set(tracks))
    track_prob = np.stack([clip_prob[tracks == t].mean(0) for t in track_names])
    track_true = np.array([clip_true[tracks == t][0] for t in track_names])
    track = metrics_from_confusion(confusion(track_true, track_prob.argmax(1), n), fs.labels)

    mean_nll = float(-np.log(np.maximum(probs[np.arange(len(y)), y], 1e-12)).mean()) if len(y) else 0.0
    return {
        "level": "clip (softmax averaged over the clip's patches)",
        **clip,
        "patch_level": {k: patch[k] for k in ("macro_f1", "accuracy", "n")},
        "source_track_level": {
            k: track[k] for k in ("macro_f1", "accuracy", "n", "confusion_matrix")
        },
        "patch_nll": round(mean_nll, 4),
    }


# ---------------------------------------------------------------- training


@dataclass
class TrainConfig:
    seed: int = 20261122
    epochs: int = 30
    patience: int = 10
    batch_size: int = 32
    lr: float = 2e-3
    weight_decay: float = 1e-3
    label_smoothing: float = 0.05
    threads: int = 2
    augment: bool = True
    model: str = "cnn"  # one of MODELS
    widths: tuple[int, ...] = (16, 32, 64, 64)  # cnn
    hidden: int = 0  # pooled: 0 = linear head
    dropout: float = 0.3
    aug_tilt_db: float = 6.0
    aug_eq_db: float = 0.0
    aug_freq_mask_bands: int = 0
    ensemble: int = 1  # > 1: that many members from seeds seed, seed+1, ..., each early-stopped on val


@dataclass
class TrainResult:
    model: nn.Module
    best_epoch: int | list[int]  # a list for an ensemble, one per member
    epochs_run: int | list[int]
    history: list = field(default_factory=list)


def seed_everything(seed: int, threads: int) -> torch.Generator:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True)
    gen = torch.Generator()
    gen.manual_seed(seed)
    return gen


def augment_for(cfg: TrainConfig, fs: FeatureSet) -> Augment:
    p = fs.feature_params
    return Augment(
        scale_db=p["scale_db"],
        dynamic_range_db=p["dynamic_range_db"],
        tilt_db=cfg.aug_tilt_db,
        eq_db=cfg.aug_eq_db,
        freq_mask_bands=cfg.aug_freq_mask_bands,
    )


def train(fs: FeatureSet, cfg: TrainConfig, log=print) -> TrainResult:
    gen = seed_everything(cfg.seed, cfg.threads)
    n_labels = len(fs.labels)
    train_mask = fs.split == "train"
    x_train = torch.from_numpy(fs.x[train_mask])
    y_train = torch.from_numpy(fs.y[train_mask])
    # Class weights: inverse patch frequency, so macro-F1 is what is optimised.
    counts = np.bincount(fs.y[train_mask], minlength=n_labels).astype(np.float64)
    weights = torch.tensor(counts.sum() / (n_labels * np.maximum(counts, 1)), dtype=torch.float32)

    model = build_model(cfg, n_labels, fs.x.shape[2])
    if isinstance(model, PooledStats):
        model.fit_standardisation(x_train)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=cfg.epochs)
    aug = augment_for(cfg, fs)

    best_key = (-1.0, -math.inf)
    best_state = None
    best_epoch = 0
    history = []
    for epoch in range(1, cfg.epochs + 1):
        model.train()
        order = torch.randperm(len(x_train), generator=gen)
        total_loss = 0.0
        for start in range(0, len(order), cfg.batch_size):
            idx = order[start : start + cfg.batch_size]
            xb = x_train[idx]
            yb = nn.functional.one_hot(y_train[idx], n_labels).float()
            if cfg.augment:
                xb, yb = aug(xb, yb, gen)
            yb = yb * (1 - cfg.label_smoothing) + cfg.label_smoothing / n_labels
            logp = torch.log_softmax(model(xb), dim=1)
            loss = -(yb * logp * weights).sum(1).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            total_loss += float(loss) * len(idx)
        sched.step()
        val = evaluate(model, fs, "val")
        # Early stopping on validation macro-F1 (clip level); ties broken by
        # the lower validation loss.
        key = (val["macro_f1"], -val["patch_nll"])
        row = {
            "epoch": epoch,
            "train_loss": round(total_loss / len(order), 4),
            "val_macro_f1": val["macro_f1"],
            "val_patch_nll": val["patch_nll"],
        }
        history.append(row)
        log(json.dumps(row))
        if key > best_key:
            best_key, best_epoch = key, epoch
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        elif epoch - best_epoch >= cfg.patience:
            log(f"early stop at epoch {epoch}: best val macro-F1 {best_key[0]} at epoch {best_epoch}")
            break
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return TrainResult(model, best_epoch, len(history), history)


# ---------------------------------------------------------------- export


def export_onnx(model: nn.Module, fs: FeatureSet, path: Path) -> float:
    """Writes the ONNX graph and returns the largest |logit| difference
    between onnxruntime and torch on the validation patches."""
    import onnxruntime as ort

    model.eval()
    _, _, n_mels, frames = fs.x.shape
    dummy = torch.zeros(1, 1, n_mels, frames)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".onnx.tmp")
    with warnings.catch_warnings():
        # dynamo=False on purpose (no onnxscript needed; tract runs the result).
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(
            model,
            (dummy,),
            str(tmp),
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}},
            opset_version=OPSET,
            do_constant_folding=True,
            dynamo=False,
        )
    sess = ort.InferenceSession(str(tmp), providers=["CPUExecutionProvider"])
    x = fs.x[fs.split == "val"]
    ours = sess.run([OUTPUT_NAME], {INPUT_NAME: x})[0]
    theirs = patch_logits(model, x)
    worst = float(np.abs(ours - theirs).max())
    tmp.replace(path)
    return worst


def write_card(path: Path, card: dict) -> None:
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)


def train_and_export(
    features: Path, manifest: Path, out_dir: Path, version: str, cfg: TrainConfig, log=print
) -> dict:
    """Everything after the export: train, choose on val, score test once,
    write `<out_dir>/<version>.onnx` and its card. Returns the card."""
    fs = load_features(features)
    manifest_sha = sha256_file(manifest)
    if manifest_sha != fs.manifest_sha256:
        raise ValueError(
            f"{features} was exported from a manifest with sha256 {fs.manifest_sha256}, "
            f"but {manifest} has {manifest_sha}; re-run `lacquer features`"
        )
    for split in ("train", "val", "test"):
        if not (fs.split == split).any():
            raise ValueError(f"{features} has no {split} patches")
    log(
        f"{len(fs.y)} patches, {len(fs.clip_ids)} clips, labels {fs.labels}, "
        f"x {fs.x.shape}, features sha256 {fs.sha256}"
    )

    if cfg.ensemble > 1:
        runs = [train(fs, dataclasses.replace(cfg, seed=cfg.seed + i), log) for i in range(cfg.ensemble)]
        result = TrainResult(
            Ensemble([r.model for r in runs]).eval(),
            best_epoch=[r.best_epoch for r in runs],
            epochs_run=[r.epochs_run for r in runs],
            history=[r.history for r in runs],
        )
    else:
        result = train(fs, cfg, log)
    validation = evaluate(result.model, fs, "val")
    # The test split is scored once, here, after every choice was made on val.
    test = evaluate(result.model, fs, "test")

    onnx_path = out_dir / f"{version}.onnx"
    parity = export_onnx(result.model, fs, onnx_path)
    card = {
        "version": version,
        "labels": fs.labels,
        "feature_version": fs.feature_params["version"],
        "feature_params": fs.feature_params,
        "input_name": INPUT_NAME,
        "input_shape": ["batch", 1, int(fs.x.shape[2]), int(fs.x.shape[3])],
        "output": OUTPUT_NAME,
        "training_data_sha256": {"features_npz": fs.sha256, "manifest": fs.manifest_sha256},
        "test_split_fingerprint": test_fingerprint(manifest),
        "metrics": {"validation": validation, "test": test},
        "date": dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat(),
        "opset": OPSET,
        "parameters": parameter_count(result.model),
        "architecture": describe_model(cfg),
        "training": {
            "seed": cfg.seed,
            "threads": cfg.threads,
            "epochs_run": result.epochs_run,
            "best_epoch": result.best_epoch,
            "early_stopping": f"validation clip-level macro-F1, patience {cfg.patience}",
            "optimizer": f"AdamW lr={cfg.lr} wd={cfg.weight_decay}, cosine schedule over {cfg.epochs} epochs, batch {cfg.batch_size}",
            "loss": f"class-weighted cross-entropy, label smoothing {cfg.label_smoothing}",
            "augmentation": augment_for(cfg, fs).describe() if cfg.augment else "none",
            "train_patches": int((fs.split == "train").sum()),
            "torch": torch.__version__,
            "onnxruntime_vs_torch_max_abs_logit_diff": parity,
        },
    }
    write_card(out_dir / f"{version}.card.json", card)
    size = onnx_path.stat().st_size
    log(f"wrote {onnx_path} ({size} bytes, {card['parameters']} parameters), ORT parity {parity:.2e}")
    for name, m in (("validation", validation), ("test", test)):
        log(f"{name}: clip macro-F1 {m['macro_f1']}, accuracy {m['accuracy']}, n {m['n']}")
        for label, c in m["per_class"].items():
            log(f"  {label:18s} P {c['precision']:.3f} R {c['recall']:.3f} F1 {c['f1']:.3f} n {c['support']}")
        log(f"  confusion (rows true, cols predicted): {m['confusion_matrix']}")
    return card


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--features", type=Path, required=True, help=".npz from `lacquer features`")
    ap.add_argument("--manifest", type=Path, required=True, help="the manifest the features came from")
    ap.add_argument("--out-dir", type=Path, default=REPO / "models")
    ap.add_argument("--version", default="genre-v1")
    ap.add_argument("--seed", type=int, default=TrainConfig.seed)
    ap.add_argument("--epochs", type=int, default=TrainConfig.epochs)
    ap.add_argument("--patience", type=int, default=TrainConfig.patience)
    ap.add_argument("--threads", type=int, default=TrainConfig.threads)
    ap.add_argument("--no-augment", action="store_true")
    ap.add_argument("--model", choices=MODELS, default=TrainConfig.model)
    ap.add_argument("--hidden", type=int, default=TrainConfig.hidden, help="pooled: hidden units (0 = linear head)")
    ap.add_argument("--dropout", type=float, default=TrainConfig.dropout)
    ap.add_argument("--lr", type=float, default=TrainConfig.lr)
    ap.add_argument("--weight-decay", type=float, default=TrainConfig.weight_decay)
    ap.add_argument("--aug-tilt-db", type=float, default=TrainConfig.aug_tilt_db)
    ap.add_argument("--aug-eq-db", type=float, default=TrainConfig.aug_eq_db)
    ap.add_argument("--aug-freq-mask-bands", type=int, default=TrainConfig.aug_freq_mask_bands)
    ap.add_argument("--ensemble", type=int, default=TrainConfig.ensemble, help="members from consecutive seeds")
    args = ap.parse_args(argv)
    cfg = TrainConfig(
        seed=args.seed,
        epochs=args.epochs,
        patience=args.patience,
        threads=args.threads,
        augment=not args.no_augment,
        model=args.model,
        hidden=args.hidden,
        dropout=args.dropout,
        lr=args.lr,
        weight_decay=args.weight_decay,
        aug_tilt_db=args.aug_tilt_db,
        aug_eq_db=args.aug_eq_db,
        aug_freq_mask_bands=args.aug_freq_mask_bands,
        ensemble=args.ensemble,
    )
    try:
        train_and_export(args.features, args.manifest, args.out_dir, args.version, cfg)
    except (ValueError, OSError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
