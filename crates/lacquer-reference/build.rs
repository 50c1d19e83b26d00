//! Embeds every genre profile committed under `profiles/` (all `*.toml` but
//! `platforms.toml`) in the library, so the binary needs no data files and a
//! newly generated profile is picked up by the next build without a code
//! change.

use std::fmt::Write as _;
use std::path::PathBuf;

fn main() {
    let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let profiles_dir = manifest_dir.join("../../profiles");
    println!("cargo:rerun-if-changed={}", profiles_dir.display());
    let mut files: Vec<PathBuf> = std::fs::read_dir(&profiles_dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "toml"))
                .filter(|p| p.file_name().is_some_and(|n| n != "platforms.toml"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    let mut code = String::from(
        "/// (file name, contents) of the built-in profiles, sorted by file name.\npub(crate) const BUILTIN_PROFILES: &[(&str, &str)] = &[\n",
    );
    for path in &files {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let absolute = path.canonicalize().unwrap_or_else(|_| path.clone());
        let _ = writeln!(
            code,
            "    ({name:?}, include_str!({:?})),",
            absolute.display().to_string()
        );
    }
    code.push_str("];\n");
    let out =
        PathBuf::from(std::env::var_os("OUT_DIR").unwrap_or_default()).join("builtin_profiles.rs");
    if let Err(e) = std::fs::write(&out, code) {
        panic!("cannot write {}: {e}", out.display());
    }
}
