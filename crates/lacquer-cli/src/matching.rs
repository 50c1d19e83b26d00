//! `lacquer match` (being built).

use crate::exit::Code;
use anyhow::{Result, bail};
use clap::Args;

#[derive(Debug, Args)]
pub struct MatchArgs {}

pub fn run(_args: &MatchArgs) -> Result<Code> {
    bail!("`lacquer match` is not built yet")
}
