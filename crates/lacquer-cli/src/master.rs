//! `lacquer master` (being built).

use crate::exit::Code;
use anyhow::{Result, bail};
use clap::Args;

#[derive(Debug, Args)]
pub struct MasterArgs {}

pub fn run(_args: &MasterArgs) -> Result<Code> {
    bail!("`lacquer master` is not built yet")
}
