//! `lacquer profile` (being built).

use crate::exit::Code;
use anyhow::{Result, bail};
use clap::Args;

#[derive(Debug, Args)]
pub struct ProfileArgs {}

pub fn run(_args: &ProfileArgs) -> Result<Code> {
    bail!("`lacquer profile` is not built yet")
}
