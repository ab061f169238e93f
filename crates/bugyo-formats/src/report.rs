//! The one parse report shared by the reference-data loaders (`rpki`,
//! `rpsl`, `asrel`, `as2org`, `watch`).
//!
//! A loader keeps every good record it finds and skips the bad ones; the
//! [`ParseReport`] it returns says how many records it read, how many it
//! skipped and why, with the position (line, column, JSON path or object
//! index) of the first [`MAX_ERRORS`] problems. A problem that stopped the
//! reading before the end of the input (a JSON syntax error, a truncated
//! compressed file) is kept in [`ParseReport::fatal`]; the records before it
//! are still returned.

use std::fmt;

/// How many problems a report keeps as values; later ones are only counted.
pub const MAX_ERRORS: usize = 50;

/// Where in an input a problem was found. Every part is optional: text
/// formats give a line, JSON gives a path such as `roas[17]` (and a line and
/// column for syntax errors), TOML gives both a line and a path.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Position {
    /// 1-based line number in the decompressed input.
    pub line: Option<u64>,
    /// 1-based column, when known.
    pub column: Option<u64>,
    /// A path to the value, e.g. `roas[17]`, `member[2].prefixes[0]` or
    /// `aut-num AS3257`.
    pub path: Option<String>,
}

impl Position {
    /// A position given by a line number only.
    pub fn line(line: u64) -> Position {
        Position {
            line: Some(line),
            ..Position::default()
        }
    }

    /// A position given by a path (JSON path, object index) only.
    pub fn path(path: impl Into<String>) -> Position {
        Position {
            path: Some(path.into()),
            ..Position::default()
        }
    }

    /// A position given by a line and a column.
    pub fn line_column(line: u64, column: u64) -> Position {
        Position {
            line: Some(line),
            column: Some(column),
            path: None,
        }
    }

    /// The same position with a path added.
    pub fn with_path(mut self, path: impl Into<String>) -> Position {
        self.path = Some(path.into());
        self
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut sep = "";
        if let Some(l) = self.line {
            write!(f, "line {l}")?;
            if let Some(c) = self.column {
                write!(f, ", column {c}")?;
            }
            sep = ", ";
        }
        if let Some(p) = &self.path {
            write!(f, "{sep}{p}")?;
            sep = ", ";
        }
        if sep.is_empty() {
            write!(f, "input")?;
        }
        Ok(())
    }
}

/// One problem found in an input: where, and why.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{position}: {reason}")]
pub struct ParseError {
    /// Where the problem is.
    pub position: Position,
    /// What is wrong, in plain words.
    pub reason: String,
}

impl ParseError {
    /// Builds an error.
    pub fn new(position: Position, reason: impl Into<String>) -> ParseError {
        ParseError {
            position,
            reason: reason.into(),
        }
    }
}

/// What a loader read: counts, and the first problems as values.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ParseReport {
    /// The format that was recognised, e.g. `rpki-client JSON`, `RPSL`,
    /// `CAIDA as-rel serial-1`.
    pub format: &'static str,
    /// Records of the kinds the loader extracts that it read, good or bad.
    pub records: u64,
    /// Of those, records skipped as malformed.
    pub skipped: u64,
    /// Records deliberately passed over: other RPSL object classes, expired
    /// VRPs, duplicates. Not errors.
    pub ignored: u64,
    /// All problems found, including those not kept in `errors` and those
    /// that dropped only part of a record (e.g. one bad as-set member).
    pub error_count: u64,
    /// The first [`MAX_ERRORS`] problems.
    pub errors: Vec<ParseError>,
    /// A problem that stopped the reading before the end of the input; the
    /// records read before it are kept.
    pub fatal: Option<ParseError>,
}

impl ParseReport {
    /// An empty report for the given format.
    pub fn new(format: &'static str) -> ParseReport {
        ParseReport {
            format,
            ..ParseReport::default()
        }
    }

    /// Records that were kept: `records - skipped`.
    pub fn accepted(&self) -> u64 {
        self.records.saturating_sub(self.skipped)
    }

    /// True if nothing went wrong at all.
    pub fn is_clean(&self) -> bool {
        self.error_count == 0 && self.fatal.is_none()
    }

    /// Counts one record read.
    #[inline]
    pub fn record(&mut self) {
        self.records += 1;
    }

    /// Counts a record skipped as malformed, with where and why.
    pub fn skip(&mut self, position: Position, reason: impl Into<String>) {
        self.skipped += 1;
        self.problem(position, reason);
    }

    /// Notes a problem that did not drop a whole record (e.g. one bad member
    /// of an as-set, the rest of which is kept).
    pub fn problem(&mut self, position: Position, reason: impl Into<String>) {
        self.error_count += 1;
        if self.errors.len() < MAX_ERRORS {
            self.errors.push(ParseError::new(position, reason));
        }
    }

    /// Notes that reading stopped before the end of the input.
    pub fn fail(&mut self, position: Position, reason: impl Into<String>) {
        self.error_count += 1;
        if self.fatal.is_none() {
            self.fatal = Some(ParseError::new(position, reason));
        }
    }

    /// Adds another report's counts and errors to this one (several files
    /// loaded into one data set). The format stays that of `self` unless it
    /// was empty.
    pub fn merge(&mut self, other: ParseReport) {
        if self.format.is_empty() {
            self.format = other.format;
        }
        self.records += other.records;
        self.skipped += other.skipped;
        self.ignored += other.ignored;
        self.error_count += other.error_count;
        let room = MAX_ERRORS.saturating_sub(self.errors.len());
        self.errors.extend(other.errors.into_iter().take(room));
        if self.fatal.is_none() {
            self.fatal = other.fatal;
        }
    }
}

impl fmt::Display for ParseReport {
    /// One line: `RPSL: 1200 records, 3 skipped, 40 ignored, 3 problems`,
    /// followed by the fatal error if any.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let format = if self.format.is_empty() {
            "input"
        } else {
            self.format
        };
        write!(
            f,
            "{format}: {} records, {} skipped, {} ignored, {} problems",
            self.records, self.skipped, self.ignored, self.error_count
        )?;
        if let Some(e) = &self.fatal {
            write!(f, "; stopped early at {e}")?;
        }
        Ok(())
    }
}

/// Reads lines from a buffered reader into a reused buffer, counting them
/// and stripping the line end (`\n` or `\r\n`). I/O errors in the middle of
/// the input (a truncated gzip file, say) end the reading and are noted as
/// the report's fatal error.
pub(crate) struct LineReader<R> {
    inner: R,
    buf: Vec<u8>,
    line: u64,
}

impl<R: std::io::BufRead> LineReader<R> {
    pub(crate) fn new(inner: R) -> Self {
        LineReader {
            inner,
            buf: Vec::with_capacity(256),
            line: 0,
        }
    }

    /// The next line without its end, with its 1-based number, or `None`
    /// at the end of the input or on a read error (noted in `report`).
    pub(crate) fn next_line(&mut self, report: &mut ParseReport) -> Option<(u64, &[u8])> {
        self.buf.clear();
        match self.inner.read_until(b'\n', &mut self.buf) {
            Ok(0) => None,
            Ok(_) => {
                self.line += 1;
                let mut end = self.buf.len();
                if end > 0 && self.buf[end - 1] == b'\n' {
                    end -= 1;
                }
                if end > 0 && self.buf[end - 1] == b'\r' {
                    end -= 1;
                }
                Some((self.line, &self.buf[..end]))
            }
            Err(e) => {
                report.fail(Position::line(self.line + 1), format!("read error: {e}"));
                None
            }
        }
    }
}

/// Trims ASCII whitespace from both ends of a byte slice.
pub(crate) fn trim_bytes(mut b: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = b {
        if first.is_ascii_whitespace() {
            b = rest;
        } else {
            break;
        }
    }
    while let [rest @ .., last] = b {
        if last.is_ascii_whitespace() {
            b = rest;
        } else {
            break;
        }
    }
    b
}

/// A short, printable excerpt of some bytes for an error message.
pub(crate) fn excerpt(b: &[u8]) -> String {
    const MAX: usize = 60;
    let s = String::from_utf8_lossy(&b[..b.len().min(MAX)]);
    let mut out: String = s
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    if b.len() > MAX {
        out.push('…');
    }
    out
}

/// Parses `address/length` and refuses host bits set beyond the length
/// (`192.0.2.1/24`): in reference data they mean a damaged record, not a
/// prefix to be guessed.
pub(crate) fn parse_prefix_strict(s: &str) -> Result<bugyo_model::Prefix, String> {
    let s = s.trim();
    let (a, l) = s
        .split_once('/')
        .ok_or_else(|| format!("not a prefix (no /length): {s:?}"))?;
    let addr: std::net::IpAddr = a.parse().map_err(|_| format!("not an IP address: {a:?}"))?;
    if l.is_empty() || l.len() > 3 || !l.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("bad prefix length in {s:?}"));
    }
    let len: u8 = l
        .parse()
        .map_err(|_| format!("bad prefix length in {s:?}"))?;
    let p = bugyo_model::Prefix::new(addr, len).map_err(|e| format!("{s}: {e}"))?;
    if p.addr() != addr {
        return Err(format!("host bits set in {s} (the network is {p})"));
    }
    Ok(p)
}

/// Parses an ASN written `65000`, `AS65000` or asdot `1.10`.
pub(crate) fn parse_asn(s: &str) -> Result<bugyo_model::Asn, String> {
    s.parse::<bugyo_model::Asn>()
        .map_err(|_| format!("not an AS number: {:?}", s.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_first_errors_and_counts_all() {
        let mut r = ParseReport::new("test");
        for i in 0..(MAX_ERRORS as u64 + 10) {
            r.record();
            r.skip(Position::line(i + 1), "bad");
        }
        assert_eq!(r.errors.len(), MAX_ERRORS);
        assert_eq!(r.error_count, MAX_ERRORS as u64 + 10);
        assert_eq!(r.accepted(), 0);
        assert_eq!(r.errors[0].to_string(), "line 1: bad");
        assert_eq!(Position::path("roas[3]").to_string(), "roas[3]");
        assert_eq!(
            Position::line_column(2, 5).with_path("x").to_string(),
            "line 2, column 5, x"
        );
    }

    #[test]
    fn trims() {
        assert_eq!(trim_bytes(b"  a b \t"), b"a b");
        assert_eq!(trim_bytes(b"   "), b"");
    }
}
