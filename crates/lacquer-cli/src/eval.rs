//! `lacquer eval` (being built).

use crate::exit::Code;
use anyhow::{Result, bail};
use clap::Args;

#[derive(Debug, Args)]
pub struct EvalArgs {}

pub fn run(_args: &EvalArgs) -> Result<Code> {
    bail!("`lacquer eval` is not built yet")
}
