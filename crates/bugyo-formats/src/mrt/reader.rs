//! [`MrtReader`]: MRT record framing over any byte stream, with recovery.
//!
//! Records are read through a sliding window so that the reader can look
//! ahead: a record is trusted when the header after it is plausible too.
//! When a header is implausible (unknown type, impossible length, time far
//! from the previous record) the reader scans forward for the next place
//! where two plausible headers follow each other, and counts the skipped
//! bytes. TABLE_DUMP records whose length is 4 bytes short (a producer bug
//! in early RIS dumps) are recognised by the same look-ahead and corrected.

use super::decode::{ty, Decoder, Header, Sink};
use super::{MrtEntry, MrtError, ReadStats};
use std::collections::VecDeque;
use std::io::{self, BufRead, Read};
use std::path::Path;

/// Largest time jump (seconds) between neighbouring records still taken as
/// plausible when looking for record boundaries.
const MAX_TIME_JUMP: i64 = 7 * 86_400;

/// Reads MRT records from a stream and yields decoded entries.
pub struct MrtReader {
    src: Box<dyn BufRead>,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// Stream offset of `buf[0]`.
    base: u64,
    eof: bool,
    io_error: Option<io::Error>,
    pending: VecDeque<Result<MrtEntry, MrtError>>,
    stats: ReadStats,
    dec: Decoder,
    last_time: Option<u32>,
}

impl MrtReader {
    /// Opens a file (gzip, bzip2 or plain, recognised from its content;
    /// `-` for standard input).
    pub fn open(path: &Path) -> io::Result<Self> {
        Ok(MrtReader::from_boxed(crate::input::open(path)?))
    }

    /// Reads from an already decompressed stream.
    pub fn new(r: impl BufRead + 'static) -> Self {
        MrtReader::from_boxed(Box::new(r))
    }

    fn from_boxed(src: Box<dyn BufRead>) -> Self {
        MrtReader {
            src,
            buf: vec![0; 1 << 18],
            start: 0,
            end: 0,
            base: 0,
            eof: false,
            io_error: None,
            pending: VecDeque::with_capacity(64),
            stats: ReadStats::default(),
            dec: Decoder::new(),
            last_time: None,
        }
    }

    /// What has been read so far.
    pub fn stats(&self) -> &ReadStats {
        &self.stats
    }

    /// The next entry, a skipped record as an error, or `None` at the end.
    pub fn next_entry(&mut self) -> Option<Result<MrtEntry, MrtError>> {
        loop {
            if let Some(e) = self.pending.pop_front() {
                if e.is_ok() {
                    self.stats.entries += 1;
                }
                return Some(e);
            }
            if !self.read_record() {
                return None;
            }
        }
    }

    /// Makes at least `n` bytes available from `start` unless the stream ends.
    fn fill(&mut self, n: usize) -> bool {
        while self.end - self.start < n && !self.eof {
            if self.start > 0
                && (self.buf.len() - self.end < (1 << 16) || self.start > self.buf.len() / 2)
            {
                self.buf.copy_within(self.start..self.end, 0);
                self.base += self.start as u64;
                self.end -= self.start;
                self.start = 0;
            }
            if self.buf.len() - self.end < (1 << 16) || self.buf.len() < n {
                let want = (self.buf.len() * 2).max(n + (1 << 16));
                self.buf.resize(want, 0);
            }
            match self.src.read(&mut self.buf[self.end..]) {
                Ok(0) => self.eof = true,
                Ok(k) => self.end += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.io_error = Some(e);
                    self.eof = true;
                }
            }
        }
        self.end - self.start >= n
    }

    fn offset(&self) -> u64 {
        self.base + self.start as u64
    }

    fn header_at(&self, rel: usize) -> Header {
        Header::parse(&self.buf[self.start + rel..self.start + rel + 12])
    }

    fn time_ok(&self, h: &Header, reference: Option<u32>) -> bool {
        match reference {
            Some(t) => (i64::from(h.time) - i64::from(t)).abs() <= MAX_TIME_JUMP,
            None => true,
        }
    }

    /// Whether a plausible header (or the exact end of the stream) is at
    /// `rel` bytes from `start`.
    fn boundary_ok(&mut self, rel: usize, reference: Option<u32>) -> bool {
        if !self.fill(rel + 12) {
            return self.end - self.start == rel && self.eof;
        }
        let h = self.header_at(rel);
        h.plausible() && self.time_ok(&h, reference)
    }

    fn skip(&mut self, offset: u64, reason: String) {
        self.pending.push_back(Err(MrtError {
            offset,
            reason: reason.clone(),
        }));
        self.stats.skip(MrtError { offset, reason });
    }

    /// Moves `start` forward from `from` (relative) to the next place where
    /// a plausible header is followed by another (or by the end).
    fn resync(&mut self, from: usize, why: String) {
        let offset = self.offset();
        let mut rel = from;
        loop {
            if !self.fill(rel + 12) {
                // Nothing plausible before the end.
                let rest = self.end - self.start;
                self.stats.skipped_bytes += rest as u64;
                self.stats.bytes += rest as u64;
                self.start = self.end;
                self.skip(
                    offset,
                    format!("{why}; no record boundary found in the remaining {rest} bytes"),
                );
                return;
            }
            let h = self.header_at(rel);
            if h.plausible() && self.time_ok(&h, self.last_time) {
                let next = rel + 12 + h.len as usize;
                if self.boundary_ok(next, Some(h.time)) {
                    self.stats.skipped_bytes += rel as u64;
                    self.stats.bytes += rel as u64;
                    self.start += rel;
                    self.skip(
                        offset,
                        format!(
                            "{why}; skipped {rel} bytes to the next record at offset {}",
                            offset + rel as u64
                        ),
                    );
                    return;
                }
            }
            rel += 1;
            // Keep the window small while scanning far.
            if rel > (1 << 20) {
                self.stats.skipped_bytes += rel as u64 - 1;
                self.stats.bytes += rel as u64 - 1;
                self.start += rel - 1;
                rel = 1;
            }
        }
    }

    /// Reads and decodes one record; false at the end of the stream.
    fn read_record(&mut self) -> bool {
        if !self.fill(12) {
            let rest = self.end - self.start;
            if rest > 0 {
                let off = self.offset();
                self.stats.bytes += rest as u64;
                self.stats.skipped_bytes += rest as u64;
                self.start = self.end;
                self.skip(
                    off,
                    format!("truncated record header ({rest} bytes) at the end"),
                );
                return true;
            }
            if let Some(e) = self.io_error.take() {
                let off = self.offset();
                self.skip(off, format!("read error: {e}"));
                return true;
            }
            return false;
        }
        let h = self.header_at(0);
        if !h.plausible() || !self.time_ok(&h, self.last_time) {
            self.stats.records += 1;
            let why = format!(
                "implausible record header (time {}, type {}, subtype {}, length {})",
                h.time, h.ty, h.sub, h.len
            );
            self.resync(1, why);
            return true;
        }
        self.stats.records += 1;
        let mut total = 12 + h.len as usize;
        if !self.fill(total) {
            let off = self.offset();
            let have = self.end - self.start;
            self.stats.bytes += have as u64;
            self.stats.skipped_bytes += have as u64;
            self.start = self.end;
            self.skip(
                off,
                format!("record truncated at the end: {have} of {total} bytes"),
            );
            return true;
        }
        let mut next_ok = self.boundary_ok(total, Some(h.time));
        if !next_ok && h.ty == ty::TABLE_DUMP && self.boundary_ok(total + 4, Some(h.time)) {
            total += 4;
            next_ok = true;
            self.stats.length_fixes += 1;
        }
        let hdr = if total != 12 + h.len as usize {
            Header {
                len: total as u32 - 12,
                ..h
            }
        } else {
            h
        };
        let off = self.offset();
        let body = &self.buf[self.start + 12..self.start + total];
        let mut sink = Sink {
            out: &mut self.pending,
            stats: &mut self.stats,
            offset: off,
        };
        let before = sink.out.len();
        let res = self.dec.decode(&hdr, body, &mut sink);
        match res {
            Ok(()) => {
                self.last_time = Some(h.time);
                self.start += total;
                self.stats.bytes += total as u64;
            }
            Err(e) if next_ok => {
                self.pending.truncate(before);
                self.last_time = Some(h.time);
                self.start += total;
                self.stats.bytes += total as u64;
                self.skip(off, e);
            }
            Err(e) => {
                // Neither the body nor the framing can be trusted.
                self.pending.truncate(before);
                self.resync(
                    1,
                    format!("bad record ({e}) and no record boundary after it"),
                );
            }
        }
        true
    }
}

impl Iterator for MrtReader {
    type Item = Result<MrtEntry, MrtError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_entry()
    }
}

impl std::fmt::Debug for MrtReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MrtReader")
            .field("offset", &self.offset())
            .field("stats", &self.stats)
            .finish()
    }
}

/// Reads a whole stream into entries, dropping skipped records (they are
/// counted in the returned stats).
pub fn read_all(r: impl Read + 'static) -> io::Result<(Vec<MrtEntry>, ReadStats)> {
    let mut rd = MrtReader::new(crate::input::decompressed(r)?);
    let v: Vec<MrtEntry> = rd.by_ref().filter_map(Result::ok).collect();
    Ok((v, rd.stats().clone()))
}
