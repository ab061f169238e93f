//! The `bugyo` command line: a thin layer over the library crates.

use clap::{Parser, Subcommand};
use std::process::ExitCode;

mod dump;

/// bugyo (経路奉行): Internet routing early warning for operators, their hub
/// and the regulator.
#[derive(Parser, Debug)]
#[command(name = "bugyo", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Print every route in MRT files, in `bgpdump -m` format or JSON.
    Dump(dump::DumpArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Dump(args) => dump::run(args),
    }
}
