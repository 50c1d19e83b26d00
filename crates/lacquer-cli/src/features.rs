//! `lacquer features` (being built).

use crate::exit::Code;
use anyhow::{Result, bail};
use clap::Args;

#[derive(Debug, Args)]
pub struct FeaturesArgs {}

pub fn run(_args: &FeaturesArgs) -> Result<Code> {
    bail!("`lacquer features` is not built yet")
}
