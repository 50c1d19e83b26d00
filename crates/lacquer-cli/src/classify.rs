//! `lacquer classify` (being built).

use crate::exit::Code;
use anyhow::{Result, bail};
use clap::Args;

#[derive(Debug, Args)]
pub struct ClassifyArgs {}

pub fn run(_args: &ClassifyArgs) -> Result<Code> {
    bail!("`lacquer classify` is not built yet")
}
