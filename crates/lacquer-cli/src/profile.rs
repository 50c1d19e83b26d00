//! `lacquer profile`: build genre profiles from masters, and see which ones
//! this run knows.
//!
//! Profiles are measured, never typed in: `build --manifest` derives the
//! built-in ones from the labelled corpus, `build --from` makes one from a
//! folder of references a user trusts (the way to get a genre the corpus
//! lacks). Output files are written whole or not at all, and an existing
//! profile is only replaced with `--force`.

use crate::exit::Code;
use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use lacquer_io::{Overwrite, write_bytes_atomically};
use lacquer_reference::{
    ProfileStore, ReferenceError, build_from_folder, build_from_manifest, builtin_platforms,
    default_corpus_cache_dir, default_user_profiles_dir, profile_to_toml, read_manifest,
};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

#[derive(Debug, Args)]
pub struct ProfileArgs {
    #[command(subcommand)]
    command: ProfileCommand,
}

#[derive(Debug, Subcommand)]
enum ProfileCommand {
    /// Measure masters and write profile TOML files.
    ///
    /// With --manifest: one profile per genre of a clip manifest (its real
    /// rows, all splits), from the clips `training-data-manifest/fetch` cut
    /// into the corpus cache. With --from: one profile from every audio file
    /// directly in a folder, each file one track measured whole.
    #[command(after_help = "Examples:\n  \
        lacquer profile build --manifest training-data-manifest/clips.csv --out profiles/ --force\n  \
        lacquer profile build --from ~/refs/hiphop --name hip_hop\n  \
        lacquer master mix.wav --genre hip_hop\n\n\
        Profiles built --from a folder go to the user profile directory by default:\n\
        $LACQUER_PROFILES_DIR, else ${XDG_CONFIG_HOME:-~/.config}/lacquer/profiles.")]
    Build(BuildArgs),

    /// List the profiles this run knows (built-in and user) and the platforms.
    List(ListArgs),

    /// Print one profile as TOML (or JSON).
    Show(ShowArgs),
}

#[derive(Debug, Args)]
pub struct BuildArgs {
    /// Clip manifest (CSV, the format of training-data-manifest/).
    #[arg(long, value_name = "CSV", conflicts_with_all = ["from", "name"], required_unless_present = "from")]
    manifest: Option<PathBuf>,

    /// Corpus cache holding clips/<clip_id>.wav [default: ${XDG_CACHE_HOME:-~/.cache}/lacquer/corpus].
    #[arg(long, value_name = "DIR", requires = "manifest")]
    cache: Option<PathBuf>,

    /// Folder of reference masters to build one profile from.
    #[arg(long, value_name = "DIR", requires = "name")]
    from: Option<PathBuf>,

    /// Name of the profile built --from a folder (lower-case letters, digits, _ and -).
    #[arg(long, value_name = "NAME", requires = "from")]
    name: Option<String>,

    /// Where the TOML files go [default: profiles/ for --manifest, the user profile directory for --from].
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,

    /// Replace existing profile files.
    #[arg(long)]
    force: bool,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// User profile directory [default: $LACQUER_PROFILES_DIR, else ${XDG_CONFIG_HOME:-~/.config}/lacquer/profiles].
    #[arg(long, value_name = "DIR")]
    profiles_dir: Option<PathBuf>,

    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Profile name, e.g. electronic.
    name: String,

    /// User profile directory [default: $LACQUER_PROFILES_DIR, else ${XDG_CONFIG_HOME:-~/.config}/lacquer/profiles].
    #[arg(long, value_name = "DIR")]
    profiles_dir: Option<PathBuf>,

    /// Print JSON instead of TOML.
    #[arg(long)]
    json: bool,
}

pub fn run(args: &ProfileArgs) -> Result<Code> {
    match &args.command {
        ProfileCommand::Build(b) => build(b),
        ProfileCommand::List(l) => list(l),
        ProfileCommand::Show(s) => show(s),
    }
}

/// Prints a library error and picks the exit status for it.
pub(crate) fn report(error: &ReferenceError) -> Code {
    eprintln!("error: {error}");
    if error.is_invalid_input() {
        Code::InvalidInput
    } else {
        Code::Failure
    }
}

/// The profiles for this run: built-in, plus the user directory when one is
/// named (it must exist) or the default one exists.
pub(crate) fn load_store(explicit_dir: Option<&Path>) -> Result<ProfileStore, ReferenceError> {
    match explicit_dir {
        Some(dir) => ProfileStore::load(Some(dir)),
        None => {
            let default = default_user_profiles_dir().filter(|d| d.is_dir());
            ProfileStore::load(default.as_deref())
        }
    }
}

fn build(args: &BuildArgs) -> Result<Code> {
    let overwrite = if args.force {
        Overwrite::Allow
    } else {
        Overwrite::Refuse
    };
    if let Some(manifest) = &args.manifest {
        return build_manifest(args, manifest, overwrite);
    }
    let (Some(from), Some(name)) = (&args.from, &args.name) else {
        bail!("give --manifest CSV, or --from DIR with --name NAME");
    };
    if !lacquer_reference::is_valid_profile_name(name) {
        eprintln!(
            "error: profile name {name:?}: use lower-case letters, digits, '_' or '-' (and not 'platforms')"
        );
        return Ok(Code::InvalidInput);
    }
    let out_dir = match &args.out {
        Some(dir) => dir.clone(),
        None => default_user_profiles_dir().context(
            "no user profile directory: set LACQUER_PROFILES_DIR or HOME, or pass --out",
        )?,
    };
    let target = out_dir.join(format!("{name}.toml"));
    if target.exists() && !args.force {
        eprintln!(
            "error: {}: exists; pass --force to replace it",
            target.display()
        );
        return Ok(Code::InvalidInput);
    }
    let label = from.display().to_string();
    let mut progress = |done: usize, total: usize, what: &str| {
        eprintln!("measured {done}/{total}: {what}");
    };
    let profile = match build_from_folder(from, &label, name, &mut progress) {
        Ok(p) => p,
        Err(e) => return Ok(report(&e)),
    };
    let text = profile_to_toml(&profile)?;
    std::fs::create_dir_all(&out_dir)
        .with_context(|| format!("{}: cannot create the directory", out_dir.display()))?;
    write_bytes_atomically(text.as_bytes(), &target, overwrite)?;
    println!(
        "wrote {} ({} tracks); use it with --genre {name}",
        target.display(),
        profile.provenance.tracks
    );
    Ok(Code::Success)
}

fn build_manifest(args: &BuildArgs, manifest: &Path, overwrite: Overwrite) -> Result<Code> {
    let cache = match &args.cache {
        Some(dir) => dir.clone(),
        None => default_corpus_cache_dir()
            .context("no corpus cache directory: set XDG_CACHE_HOME or HOME, or pass --cache")?,
    };
    let out_dir = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("profiles"));
    // Refuse before minutes of measuring, and before writing anything.
    let clips = match read_manifest(manifest) {
        Ok(c) => c,
        Err(e) => return Ok(report(&e)),
    };
    let genres: BTreeSet<&str> = clips
        .iter()
        .filter(|c| c.kind == "real")
        .map(|c| c.genre.as_str())
        .collect();
    let taken: Vec<PathBuf> = genres
        .iter()
        .map(|g| out_dir.join(format!("{g}.toml")))
        .filter(|p| p.exists())
        .collect();
    if !taken.is_empty() && !args.force {
        for path in &taken {
            eprintln!(
                "error: {}: exists; pass --force to replace it",
                path.display()
            );
        }
        return Ok(Code::InvalidInput);
    }
    let label = manifest.display().to_string();
    let mut progress = |done: usize, total: usize, _: &str| {
        if done.is_multiple_of(50) || done == total {
            eprintln!("measured {done}/{total} clips");
        }
    };
    let profiles = match build_from_manifest(manifest, &label, &cache, &mut progress) {
        Ok(p) => p,
        Err(e) => return Ok(report(&e)),
    };
    let texts = profiles
        .iter()
        .map(|p| Ok((p, profile_to_toml(p)?)))
        .collect::<Result<Vec<_>, ReferenceError>>()?;
    std::fs::create_dir_all(&out_dir)
        .with_context(|| format!("{}: cannot create the directory", out_dir.display()))?;
    for (profile, text) in &texts {
        let path = out_dir.join(format!("{}.toml", profile.name));
        write_bytes_atomically(text.as_bytes(), &path, overwrite)?;
        println!(
            "wrote {} ({} tracks, {} clips)",
            path.display(),
            profile.provenance.tracks,
            profile.provenance.clips
        );
    }
    Ok(Code::Success)
}

fn list(args: &ListArgs) -> Result<Code> {
    let store = match load_store(args.profiles_dir.as_deref()) {
        Ok(s) => s,
        Err(e) => return Ok(report(&e)),
    };
    let platforms = builtin_platforms()?;
    if args.json {
        let profiles: Vec<serde_json::Value> = store
            .iter()
            .map(|e| {
                serde_json::json!({
                    "name": e.profile.name,
                    "origin": e.origin.to_string(),
                    "tracks": e.profile.provenance.tracks,
                    "clips": e.profile.provenance.clips,
                    "description": e.profile.description,
                })
            })
            .collect();
        let out = serde_json::json!({ "profiles": profiles, "platforms": platforms.platforms });
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(Code::Success);
    }
    println!("profiles");
    for e in store.iter() {
        println!(
            "  {:<18}  {:>3} tracks  {}",
            e.profile.name, e.profile.provenance.tracks, e.origin
        );
    }
    println!("platforms (--platform)");
    for p in &platforms.platforms {
        let target = p.target_lufs.map_or_else(
            || "no normalisation".to_string(),
            |t| format!("{t:.0} LUFS"),
        );
        println!(
            "  {:<18}  {:<18}  {target:<16}  {:.1} dBTP",
            p.id, p.name, p.ceiling_dbtp
        );
    }
    Ok(Code::Success)
}

fn show(args: &ShowArgs) -> Result<Code> {
    let store = match load_store(args.profiles_dir.as_deref()) {
        Ok(s) => s,
        Err(e) => return Ok(report(&e)),
    };
    let Some(entry) = store.entry(&args.name) else {
        eprintln!(
            "error: no profile named {:?}; known: {}",
            args.name,
            store.names().join(", ")
        );
        return Ok(Code::InvalidInput);
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&entry.profile)?);
    } else {
        println!("# from {}", entry.origin);
        print!("{}", profile_to_toml(&entry.profile)?);
    }
    Ok(Code::Success)
}
