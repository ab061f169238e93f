//! The route archive: every received message kept as MRT, so that any tool
//! can replay what bugyo saw. Updates and state changes go to BGP4MP_ET
//! files rotated every few minutes of data time, RIB snapshots to
//! TABLE_DUMP_V2 files, in the layout RIPE RIS uses:
//!
//! ```text
//! DIR/2017.08/updates.20170825.0320.gz
//! DIR/2017.08/bview.20170825.0400.gz
//! ```
//!
//! The current updates file is flushed to a gzip sync point on every
//! [`UpdateArchive::flush`], so a crash loses at most what was not yet
//! flushed, and `bugyo replay` reads the file up to that point. A file a
//! crash left unfinished is repaired before it is appended to (see
//! [`repair`]), so the next run's records stay readable after it.

use bugyo_formats::mrt::{MrtEntry, MrtWriter, RibEntry};
use bugyo_model::Timestamp;
use flate2::write::GzEncoder;
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// How the archive is laid out and kept.
#[derive(Clone, Debug)]
pub struct ArchiveConfig {
    /// The archive's root directory.
    pub dir: PathBuf,
    /// Length of one updates file, in seconds of data time (RIS: 300).
    pub rotate_secs: i64,
    /// Files older than this many days are removed by [`prune`]; `None`
    /// keeps everything.
    pub retention_days: Option<u32>,
}

impl ArchiveConfig {
    /// RIS-like defaults under `dir`: 5-minute updates files, kept forever.
    pub fn new(dir: impl Into<PathBuf>) -> ArchiveConfig {
        ArchiveConfig {
            dir: dir.into(),
            rotate_secs: 300,
            retention_days: None,
        }
    }
}

type GzMrt = MrtWriter<GzEncoder<BufWriter<File>>>;

struct OpenFile {
    start: i64,
    path: PathBuf,
    writer: GzMrt,
}

/// Writes updates and state changes into rotating MRT files.
pub struct UpdateArchive {
    config: ArchiveConfig,
    current: Option<OpenFile>,
    written: u64,
}

/// `YYYY.MM` and `YYYYMMDD.HHMM` of a Unix time (UTC).
fn stamps(secs: i64) -> (String, String) {
    let t = Timestamp::from_secs(secs).rfc3339(); // 2017-08-25T03:20:00Z
    let (y, mo, d, h, mi) = (&t[0..4], &t[5..7], &t[8..10], &t[11..13], &t[14..16]);
    (format!("{y}.{mo}"), format!("{y}{mo}{d}.{h}{mi}"))
}

/// The path of the file of kind `kind` (`updates` or `bview`) starting at `secs`.
pub fn file_path(dir: &Path, kind: &str, secs: i64) -> PathBuf {
    let (month, stamp) = stamps(secs);
    dir.join(month).join(format!("{kind}.{stamp}.gz"))
}

/// The length of the complete MRT records at the start of `data`.
fn complete_records(data: &[u8]) -> usize {
    let mut off = 0;
    while let Some(h) = data.get(off..off + 12) {
        let len = u32::from_be_bytes([h[8], h[9], h[10], h[11]]) as usize;
        match off.checked_add(12 + len) {
            Some(end) if end <= data.len() => off = end,
            _ => break,
        }
    }
    off
}

/// Makes an updates file that a crash left unfinished (a gzip member with
/// no end, perhaps a record cut in half) whole again: its complete records
/// are rewritten as a finished gzip file, atomically. Returns the number of
/// bytes of cut records dropped, or `None` if the file was whole (or absent).
/// Without this, a reader would stop at the unfinished member and never see
/// what a later run appended after it.
pub fn repair(path: &Path) -> io::Result<Option<usize>> {
    let raw = match fs::read(path) {
        Ok(r) if !r.is_empty() => r,
        Ok(_) => return Ok(None),
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    // Fed in small steps, so that what decodes before the damage is kept
    // (a decoder that fails on a chunk gives none of that chunk's output).
    let mut decoder = flate2::write::MultiGzDecoder::new(Vec::new());
    let mut whole = raw.chunks(64).all(|c| decoder.write_all(c).is_ok());
    whole &= decoder.try_finish().is_ok();
    let data = std::mem::take(decoder.get_mut());
    let keep = complete_records(&data);
    if whole && keep == data.len() {
        return Ok(None);
    }
    let tmp = path.with_extension("gz.repair");
    let mut gz = GzEncoder::new(
        BufWriter::new(File::create(&tmp)?),
        flate2::Compression::default(),
    );
    gz.write_all(&data[..keep])?;
    let mut out = gz.finish()?;
    out.flush()?;
    out.get_ref().sync_all()?;
    fs::rename(&tmp, path)?;
    Ok(Some(data.len() - keep))
}

fn create(path: &Path) -> io::Result<GzMrt> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)?;
    }
    if let Some(dropped) = repair(path)? {
        tracing::warn!(
            path = %path.display(),
            dropped_bytes = dropped,
            "archive file left unfinished by a crash repaired before appending"
        );
    }
    // Appending keeps what an earlier run wrote into the same period: a
    // gzip file may hold several members, and readers take them all.
    let file = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    Ok(MrtWriter::new(GzEncoder::new(
        BufWriter::new(file),
        flate2::Compression::default(),
    )))
}

impl UpdateArchive {
    /// An archive writer; no file is opened until the first entry.
    pub fn new(config: ArchiveConfig) -> UpdateArchive {
        UpdateArchive {
            config,
            current: None,
            written: 0,
        }
    }

    /// Entries written so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// The file being written, if any.
    pub fn current_path(&self) -> Option<&Path> {
        self.current.as_ref().map(|f| f.path.as_path())
    }

    /// Writes an UPDATE or a state change, rotating to a new file when the
    /// entry's data time enters a new period. Other entries are ignored.
    pub fn write(&mut self, entry: &MrtEntry) -> io::Result<()> {
        let time = match entry {
            MrtEntry::Update(u) => u.time,
            MrtEntry::State(s) => s.time,
            _ => return Ok(()),
        };
        let period = self.config.rotate_secs.max(1);
        let start = time.secs - time.secs.rem_euclid(period);
        if self.current.as_ref().is_none_or(|f| f.start != start) {
            self.close()?;
            let path = file_path(&self.config.dir, "updates", start);
            self.current = Some(OpenFile {
                start,
                writer: create(&path)?,
                path,
            });
        }
        if let Some(f) = &mut self.current {
            f.writer.write_entry(entry)?;
            self.written += 1;
        }
        Ok(())
    }

    /// Makes everything written so far readable from the file (a gzip
    /// sync point) and pushes it to the operating system.
    pub fn flush(&mut self) -> io::Result<()> {
        if let Some(f) = &mut self.current {
            f.writer.flush()?;
        }
        Ok(())
    }

    /// Finishes the current file.
    pub fn close(&mut self) -> io::Result<()> {
        if let Some(f) = self.current.take() {
            let gz = f.writer.into_inner()?;
            let mut out = gz.finish()?;
            out.flush()?;
            out.get_ref().sync_all()?;
        }
        Ok(())
    }
}

impl Drop for UpdateArchive {
    fn drop(&mut self) {
        // Best effort: an error here has nowhere to go but the log.
        if let Err(e) = self.close() {
            eprintln!("archive: cannot close {:?}: {e}", self.current_path());
        }
    }
}

/// Writes a RIB snapshot (TABLE_DUMP_V2) taken at `time`; returns its path.
pub fn write_rib_snapshot(dir: &Path, time: Timestamp, routes: &[RibEntry]) -> io::Result<PathBuf> {
    let path = file_path(dir, "bview", time.secs);
    let tmp = path.with_extension("gz.tmp");
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)?;
    }
    let file = File::create(&tmp)?;
    let mut w = MrtWriter::new(GzEncoder::new(
        BufWriter::new(file),
        flate2::Compression::default(),
    ));
    w.write_rib_dump(time, routes)?;
    let mut out = w.into_inner()?.finish()?;
    out.flush()?;
    out.get_ref().sync_all()?;
    // A snapshot appears whole or not at all.
    fs::rename(&tmp, &path)?;
    Ok(path)
}

/// Removes archive files older than the retention period, judged by the
/// time in their names. Returns how many were removed.
pub fn prune(config: &ArchiveConfig, now: Timestamp) -> io::Result<usize> {
    let Some(days) = config.retention_days else {
        return Ok(0);
    };
    let cutoff = now.secs - i64::from(days) * 86_400;
    let (_, cutoff_stamp) = stamps(cutoff);
    let mut removed = 0;
    let Ok(months) = fs::read_dir(&config.dir) else {
        return Ok(0);
    };
    for month in months.flatten() {
        let Ok(files) = fs::read_dir(month.path()) else {
            continue;
        };
        for f in files.flatten() {
            let name = f.file_name().to_string_lossy().to_string();
            // updates.YYYYMMDD.HHMM.gz / bview.YYYYMMDD.HHMM.gz
            let stamp = name
                .split('.')
                .skip(1)
                .take(2)
                .collect::<Vec<_>>()
                .join(".");
            if stamp.len() == 13 && stamp < cutoff_stamp {
                fs::remove_file(f.path())?;
                removed += 1;
            }
        }
    }
    Ok(removed)
}
