//! `lacquer plan` (being built).

use crate::exit::Code;
use anyhow::{Result, bail};
use clap::Args;

#[derive(Debug, Args)]
pub struct PlanArgs {}

pub fn run(_args: &PlanArgs) -> Result<Code> {
    bail!("`lacquer plan` is not built yet")
}
