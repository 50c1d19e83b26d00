#!/usr/bin/env python3
"""Python onnxruntime's logits for fixed inputs: the reference the Rust
parity test (crates/lacquer-genre/tests/parity.rs) compares tract against.

The inputs are not stored: they come from a generator both languages run
bit-identically (splitmix64, integer arithmetic, exact float conversion), so
the fixture stays a few KB however large a patch is. The fixture records the
SHA-256 of the input bytes, so a generator that drifted on either side fails
loudly instead of comparing different inputs.

Usage (pip install onnx onnxruntime numpy):

    # the real model (reads n_mels/patch_frames from its card)
    python notebooks/make_parity_fixture.py models/genre-v1.onnx \
        crates/lacquer-genre/tests/fixtures/parity-genre-v1.json

    # the tiny stand-in model the crate's own tests use (written first)
    python notebooks/make_parity_fixture.py --make-test-model \
        crates/lacquer-genre/tests/fixtures/parity-test-model.onnx \
        crates/lacquer-genre/tests/fixtures/parity-test-model.json
"""

import argparse
import hashlib
import json
import os
import sys

import numpy as np

MASK64 = (1 << 64) - 1
SEED = 0x1AC9_0E5D
PATCHES = 3
# Stand-in model: any input size works (global pooling); these match the
# feature parameters so the stand-in exercises the real input shape.
TEST_MODEL_LABELS = ["ambient", "classical", "electronic", "jazz", "metal_rock"]


def splitmix64(state):
    """One step: returns (new_state, output)."""
    state = (state + 0x9E3779B97F4A7C15) & MASK64
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return state, z ^ (z >> 31)


def fixed_inputs(n_mels, frames):
    """[PATCHES, 1, n_mels, frames] float32, every value exact in f32:
    patch 0: uniform noise k/2^22 - 2 with k the top 24 bits (range [-2, 2));
    patch 1: a diagonal ramp ((5m + 3f) mod 32 - 16) / 8;
    patch 2: noise at a quarter of patch 0's scale (its top 24 bits / 2^24 - 0.5)."""
    x = np.zeros((PATCHES, 1, n_mels, frames), dtype=np.float32)
    state = SEED
    for m in range(n_mels):
        for f in range(frames):
            state, z = splitmix64(state)
            x[0, 0, m, f] = np.float32((z >> 40) - (1 << 23)) / np.float32(1 << 22)
    for m in range(n_mels):
        for f in range(frames):
            x[1, 0, m, f] = np.float32(((5 * m + 3 * f) % 32) - 16) / np.float32(8)
    for m in range(n_mels):
        for f in range(frames):
            state, z = splitmix64(state)
            x[2, 0, m, f] = np.float32((z >> 40) - (1 << 23)) / np.float32(1 << 24)
    return x


def make_test_model(path, n_mels, frames):
    """A ~300-parameter CNN with the real model's interface: input "mel"
    [N,1,n_mels,frames], output "logits" [N,5]. Conv → Relu → MaxPool →
    GlobalAveragePool → Flatten → Gemm, opset 17, fixed weights."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(20261122)
    channels = 8
    labels = len(TEST_MODEL_LABELS)
    w_conv = rng.normal(0.0, 0.5, (channels, 1, 3, 3)).astype(np.float32)
    b_conv = rng.normal(0.0, 0.1, (channels,)).astype(np.float32)
    w_fc = rng.normal(0.0, 1.0, (labels, channels)).astype(np.float32)
    b_fc = rng.normal(0.0, 0.1, (labels,)).astype(np.float32)
    nodes = [
        helper.make_node("Conv", ["mel", "w_conv", "b_conv"], ["c"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["r"]),
        helper.make_node("MaxPool", ["r"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("GlobalAveragePool", ["p"], ["g"]),
        helper.make_node("Flatten", ["g"], ["f"], axis=1),
        helper.make_node("Gemm", ["f", "w_fc", "b_fc"], ["logits"], transB=1),
    ]
    graph = helper.make_graph(
        nodes,
        "lacquer-parity-test",
        [helper.make_tensor_value_info("mel", TensorProto.FLOAT, ["batch", 1, n_mels, frames])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", labels])],
        initializer=[
            numpy_helper.from_array(w_conv, "w_conv"),
            numpy_helper.from_array(b_conv, "b_conv"),
            numpy_helper.from_array(w_fc, "w_fc"),
            numpy_helper.from_array(b_fc, "b_fc"),
        ],
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="lacquer"
    )
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, path)


def card_for(onnx_path):
    stem = os.path.splitext(onnx_path)[0]
    card_path = stem + ".card.json"
    if not os.path.exists(card_path):
        return None
    with open(card_path) as f:
        return json.load(f)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model", help=".onnx file (written first with --make-test-model)")
    ap.add_argument("out", help="fixture JSON to write")
    ap.add_argument("--make-test-model", action="store_true")
    ap.add_argument("--n-mels", type=int, default=None)
    ap.add_argument("--frames", type=int, default=None)
    args = ap.parse_args()

    card = card_for(args.model)
    n_mels, frames = args.n_mels, args.frames
    if card is not None:
        n_mels = n_mels or card["feature_params"]["n_mels"]
        frames = frames or card["feature_params"]["patch_frames"]
    n_mels, frames = n_mels or 64, frames or 128

    if args.make_test_model:
        make_test_model(args.model, n_mels, frames)

    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(args.model, options, providers=["CPUExecutionProvider"])
    input_name = card["input_name"] if card else session.get_inputs()[0].name
    x = fixed_inputs(n_mels, frames)
    (logits,) = session.run(None, {input_name: x})
    with open(args.model, "rb") as f:
        model_sha = hashlib.sha256(f.read()).hexdigest()
    fixture = {
        "about": "Python onnxruntime logits for fixed inputs; made by notebooks/make_parity_fixture.py",
        "model_file": os.path.basename(args.model),
        "model_sha256": model_sha,
        "onnxruntime_version": ort.__version__,
        "input_name": input_name,
        "input_shape": list(x.shape),
        "generator": {"name": "splitmix64-v1", "seed": SEED},
        "input_sha256": hashlib.sha256(x.astype("<f4").tobytes()).hexdigest(),
        # str of a float32: the shortest decimal that reads back as the same f32
        "logits": [[float(str(np.float32(v))) for v in row] for row in logits],
    }
    with open(args.out, "w") as f:
        json.dump(fixture, f, indent=1)
        f.write("\n")
    print(f"{args.out}: {len(logits)} patches × {logits.shape[1]} logits, model {model_sha[:12]}")


if __name__ == "__main__":
    sys.exit(main())
