//! Opening input files whatever their compression: gzip, bzip2 or plain,
//! recognised from the first bytes of the content, never from the file name.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

/// The compression of an input, as recognised from its magic bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    /// No compression recognised.
    Plain,
    /// gzip (RFC 1952), magic `1f 8b`.
    Gzip,
    /// bzip2, magic `BZh`.
    Bzip2,
}

impl Compression {
    /// Recognises the compression from the first bytes of a stream.
    pub fn detect(head: &[u8]) -> Compression {
        if head.starts_with(&[0x1f, 0x8b]) {
            Compression::Gzip
        } else if head.len() >= 4 && head.starts_with(b"BZh") && (b'1'..=b'9').contains(&head[3]) {
            Compression::Bzip2
        } else {
            Compression::Plain
        }
    }
}

/// Wraps a reader so that it yields decompressed bytes, detecting the
/// compression from the content. Concatenated gzip members are read as one
/// stream, as `zcat` does.
pub fn decompressed<R: Read + 'static>(reader: R) -> io::Result<Box<dyn BufRead>> {
    let mut buf = BufReader::with_capacity(1 << 16, reader);
    let head = buf.fill_buf()?;
    let out: Box<dyn BufRead> = match Compression::detect(head) {
        Compression::Plain => Box::new(buf),
        Compression::Gzip => Box::new(BufReader::with_capacity(
            1 << 16,
            flate2::bufread::MultiGzDecoder::new(buf),
        )),
        Compression::Bzip2 => Box::new(BufReader::with_capacity(
            1 << 16,
            bzip2::bufread::MultiBzDecoder::new(buf),
        )),
    };
    Ok(out)
}

/// Opens a file for reading, decompressing it if its content says so.
/// `-` means standard input.
pub fn open(path: &Path) -> io::Result<Box<dyn BufRead>> {
    if path.as_os_str() == "-" {
        return decompressed(io::stdin());
    }
    let f = File::open(path)
        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
    decompressed(f)
}

/// Reads a whole file, decompressed, into memory.
pub fn read_all(path: &Path) -> io::Result<Vec<u8>> {
    let mut r = open(path)?;
    let mut v = Vec::new();
    r.read_to_end(&mut v)?;
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn detects_by_content() {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(b"hello").unwrap();
        let gz = gz.finish().unwrap();
        assert_eq!(Compression::detect(&gz), Compression::Gzip);
        let mut s = String::new();
        decompressed(io::Cursor::new(gz))
            .unwrap()
            .read_to_string(&mut s)
            .unwrap();
        assert_eq!(s, "hello");

        let mut bz = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
        bz.write_all(b"world").unwrap();
        let bz = bz.finish().unwrap();
        assert_eq!(Compression::detect(&bz), Compression::Bzip2);
        let mut s = String::new();
        decompressed(io::Cursor::new(bz))
            .unwrap()
            .read_to_string(&mut s)
            .unwrap();
        assert_eq!(s, "world");

        let mut s = String::new();
        decompressed(io::Cursor::new(b"plain".to_vec()))
            .unwrap()
            .read_to_string(&mut s)
            .unwrap();
        assert_eq!(s, "plain");
        assert_eq!(Compression::detect(b""), Compression::Plain);
    }
}
