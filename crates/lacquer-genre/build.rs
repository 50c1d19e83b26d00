//! Embeds the committed genre model when the checkout has one.
//!
//! `GenreModel::builtin()` compiles `models/genre-v1.onnx` and its card into
//! the binary so an installed `lacquer` needs no model files. A checkout
//! without the model (before the first one is trained) must still build:
//! then `builtin()` returns `GenreError::NoBuiltinModel` instead.

use std::path::Path;

fn main() {
    // Read at run time: `env!` would bake in the directory the build script
    // itself was first compiled in.
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default();
    let models = Path::new(&manifest_dir).join("../../models");
    let onnx = models.join("genre-v1.onnx");
    let card = models.join("genre-v1.card.json");
    println!("cargo::rustc-check-cfg=cfg(lacquer_builtin_model)");
    println!("cargo::rerun-if-changed={}", onnx.display());
    println!("cargo::rerun-if-changed={}", card.display());
    if onnx.is_file() && card.is_file() {
        println!("cargo::rustc-cfg=lacquer_builtin_model");
    }
}
