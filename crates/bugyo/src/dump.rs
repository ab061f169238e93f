//! `bugyo dump`: every route in MRT files, one line each, in the exact
//! format of `bgpdump -m` (or JSON lines).

use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `bugyo dump`.
#[derive(Args, Debug)]
pub struct DumpArgs {
    /// MRT files (gzip, bzip2 or plain; `-` for standard input).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
}

/// Runs `bugyo dump`.
pub fn run(_args: DumpArgs) -> ExitCode {
    eprintln!("not implemented yet");
    ExitCode::FAILURE
}
