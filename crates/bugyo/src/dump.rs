//! `bugyo dump`: every route in MRT files, one line each, in the exact
//! format of `bgpdump -m` (or JSON lines).

use bugyo_formats::mrt::bgpdump::BgpdumpFormatter;
use bugyo_formats::mrt::json::write_json;
use bugyo_formats::mrt::{MrtReader, ReadStats};
use clap::{Args, ValueEnum};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Output format of `bugyo dump`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DumpFormat {
    /// `bgpdump -m` pipe-separated lines.
    Bgpdump,
    /// One JSON object per line.
    Json,
}

/// Arguments of `bugyo dump`.
#[derive(Args, Debug)]
pub struct DumpArgs {
    /// MRT files (gzip, bzip2 or plain; `-` for standard input).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "bgpdump")]
    pub format: DumpFormat,
}

/// Runs `bugyo dump`.
pub fn run(args: DumpArgs) -> ExitCode {
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(1 << 17, stdout.lock());
    let mut failed = false;
    for file in &args.files {
        match dump_file(file, args.format, &mut out) {
            Ok(stats) => summary(file, &stats),
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("bugyo dump: {}: {e}", file.display());
                eprintln!("bugyo dump: {}: 開けません: {e}", file.display());
                failed = true;
            }
        }
    }
    if let Err(e) = out.flush() {
        if e.kind() != io::ErrorKind::BrokenPipe {
            eprintln!("bugyo dump: write error: {e}");
            return ExitCode::FAILURE;
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn dump_file(path: &Path, format: DumpFormat, out: &mut impl Write) -> io::Result<ReadStats> {
    let mut reader = MrtReader::open(path)?;
    let mut fmt = BgpdumpFormatter::new();
    let mut buf: Vec<u8> = Vec::with_capacity(1 << 17);
    while let Some(item) = reader.next_entry() {
        let Ok(entry) = item else { continue };
        match format {
            DumpFormat::Bgpdump => fmt.write_entry(&entry, &mut buf),
            DumpFormat::Json => write_json(&entry, &mut buf)?,
        }
        if buf.len() >= 1 << 16 {
            out.write_all(&buf)?;
            buf.clear();
        }
    }
    out.write_all(&buf)?;
    Ok(reader.stats().clone())
}

/// Prints the per-file summary on standard error, in English and Japanese.
fn summary(path: &Path, s: &ReadStats) {
    let mut first = String::new();
    for (i, e) in s.errors.iter().take(3).enumerate() {
        first.push_str(if i == 0 { " — " } else { "; " });
        first.push_str(&e.to_string());
    }
    eprintln!(
        "bugyo dump: {}: {} records read, {} entries, {} skipped ({} bytes), {} warnings{first}",
        path.display(),
        s.records,
        s.entries,
        s.skipped,
        s.skipped_bytes,
        s.warnings
    );
    eprintln!(
        "bugyo dump: {}: レコード {} 件を読み込み、エントリ {} 件、スキップ {} 件（{} バイト）、警告 {} 件{first}",
        path.display(),
        s.records,
        s.entries,
        s.skipped,
        s.skipped_bytes,
        s.warnings
    );
}
