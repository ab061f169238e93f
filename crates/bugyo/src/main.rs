//! The `bugyo` command line: a thin layer over the library crates.

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// mimalloc rather than the system allocator: the live path interleaves
/// short-lived UPDATEs with the long-lived RIB, and glibc's heap kept the
/// holes (bugyo bench ingest: bytes per route held after a full table).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Writes a line to standard output; a reader that went away (`| head`)
/// just ends the output.
macro_rules! say {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($t)*);
    }};
}

mod bench;
mod demo;
mod dump;
mod load;
mod members;
mod notify;
mod replay;
mod report;
mod scenario;
mod serve;
mod serve_config;

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
    /// Replay MRT archives through detection and print the incidents.
    Replay(replay::ReplayArgs),
    /// Generate a synthetic scenario (RIB, churn, a 2017-class leak, a hijack), replay it, print the incidents.
    Demo(demo::DemoArgs),
    /// Watch live BGP feeds: detect, archive every message, report incident changes.
    Serve(Box<serve::ServeArgs>),
    /// Benchmark: the same MRT files through bugyo and `bgpdump -m`, side by side.
    Bench(bench::BenchArgs),
    /// Member organisations in the store: add, list, show.
    Org(members::OrgArgs),
    /// API tokens: create (printed once), revoke.
    Token(members::TokenArgs),
    /// The people who use bugyo: add, list, disable (their tokens die with them).
    User(members::UserArgs),
    /// Send the notices owed for recorded incident changes (e-mail, webhook, Slack, syslog).
    Notify(notify::NotifyArgs),
    /// Statutory accident reports: classify an outage (major, quarterly, none) with its deadlines; file reports that arrived by e-mail.
    Report(report::ReportArgs),
}

/// Sends the libraries' log records (`tracing`) to standard error: warnings
/// and errors of every crate, and bugyo's own progress (`info`); `RUST_LOG`
/// chooses otherwise (e.g. `RUST_LOG=debug`). Colours only on a terminal.
fn init_logging() {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,bugyo=info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    match cli.command {
        Command::Dump(args) => dump::run(args),
        Command::Replay(args) => replay::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Demo(args) => demo::run(args),
        Command::Serve(args) => serve::run(*args),
        Command::Org(args) => members::run_org(args),
        Command::Token(args) => members::run_token(args),
        Command::User(args) => members::run_user(args),
        Command::Notify(args) => notify::run(args),
        Command::Report(args) => report::run(args),
    }
}
