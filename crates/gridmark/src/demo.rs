//! `gridmark demo`: the synthetic utility, loaded through the same paths as real data.

use crate::cli::DemoArgs;
use crate::CliError;
use std::path::Path;

pub fn run(_data: Option<&Path>, _args: DemoArgs) -> Result<(), CliError> {
    Err(crate::usage("demo: not built yet"))
}
