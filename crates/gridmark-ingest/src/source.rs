//! Opening a source file: compression by magic bytes, content hashing, and cutting text into
//! whole-line chunks that parser threads can work on independently.

use crate::error::{IngestError, IoAt, format_err};
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Container {
    Plain,
    Gzip,
    Parquet,
}

/// Looks at the first bytes: gzip (`1f 8b`), Parquet (`PAR1`), or text.
pub fn sniff(path: &Path) -> Result<Container, IngestError> {
    let mut head = [0u8; 4];
    let mut f = File::open(path).at(path)?;
    let n = read_up_to(&mut f, &mut head).at(path)?;
    Ok(match &head[..n] {
        [0x1f, 0x8b, ..] => Container::Gzip,
        b"PAR1" => Container::Parquet,
        _ => Container::Plain,
    })
}

fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

fn hash_range(path: &Path, start: u64, len: u64) -> Result<blake3::Hash, IngestError> {
    use std::io::{Seek, SeekFrom};
    let mut f = File::open(path).at(path)?;
    f.seek(SeekFrom::Start(start)).at(path)?;
    let mut h = blake3::Hasher::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut left = len;
    while left > 0 {
        let want = buf.len().min(left as usize);
        let n = f.read(&mut buf[..want]).at(path)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
        left -= n as u64;
    }
    Ok(h.finalize())
}

/// Content hash of the file's bytes as stored: blake3 of the whole file, or for files over
/// 64 MiB blake3 of the blake3 hashes of its two halves, computed on two threads (the re-import
/// check then costs half the time on a laptop's cores).
pub fn hash_file(path: &Path) -> Result<String, IngestError> {
    let len = std::fs::metadata(path).at(path)?.len();
    if len <= 64 << 20 {
        return Ok(hash_range(path, 0, len)?.to_hex().to_string());
    }
    let half = len / 2;
    let (a, b) = std::thread::scope(|s| {
        let first = s.spawn(|| hash_range(path, 0, half));
        let second = hash_range(path, half, len - half);
        (first.join().expect("hash thread"), second)
    });
    let mut h = blake3::Hasher::new();
    h.update(b"gridmark-halves-v1");
    h.update(&len.to_le_bytes());
    h.update(a?.as_bytes());
    h.update(b?.as_bytes());
    Ok(h.finalize().to_hex().to_string())
}

/// A decompressed text stream.
pub fn open_text(path: &Path, container: Container) -> Result<Box<dyn Read + Send>, IngestError> {
    let f = File::open(path).at(path)?;
    Ok(match container {
        Container::Plain => Box::new(f),
        Container::Gzip => Box::new(flate2::read::MultiGzDecoder::new(BufReader::with_capacity(
            1 << 20,
            f,
        ))),
        Container::Parquet => return Err(format_err(path, "is a Parquet file, not text")),
    })
}

/// Whole lines of text, numbered.
#[derive(Debug)]
pub struct Chunk {
    pub seq: u64,
    /// Line number (1-based) of the first line in `data`.
    pub first_line: u64,
    pub data: Vec<u8>,
}

/// Longest line accepted; a longer one is a hostile or binary file.
pub const MAX_LINE: usize = 16 << 20;

pub struct ChunkReader {
    path: PathBuf,
    inner: Box<dyn Read + Send>,
    carry: Vec<u8>,
    next_line: u64,
    seq: u64,
    chunk_size: usize,
    eof: bool,
    started: bool,
    /// Decompressed bytes produced so far (for progress).
    pub bytes_read: u64,
}

impl ChunkReader {
    pub fn new(path: &Path, inner: Box<dyn Read + Send>, chunk_size: usize) -> Self {
        Self {
            path: path.to_path_buf(),
            inner,
            carry: Vec::new(),
            next_line: 1,
            seq: 0,
            chunk_size,
            eof: false,
            started: false,
            bytes_read: 0,
        }
    }

    /// The next run of whole lines, or `None` at the end.
    pub fn next_chunk(&mut self) -> Result<Option<Chunk>, IngestError> {
        if self.eof && self.carry.is_empty() {
            return Ok(None);
        }
        let mut data = std::mem::take(&mut self.carry);
        // Read at least a chunk; keep reading while the data holds no line break yet.
        let mut want = self.chunk_size;
        loop {
            if !self.eof && data.len() < want {
                let start = data.len();
                data.resize(want.max(start + (1 << 16)), 0);
                let n = read_up_to(&mut self.inner, &mut data[start..]).map_err(|e| {
                    IngestError::Format {
                        path: self.path.clone(),
                        reason: format!(
                            "cannot read past line {} ({e}); the file may be truncated or not what its name says",
                            self.next_line
                        ),
                    }
                })?;
                data.truncate(start + n);
                self.bytes_read += n as u64;
                if n == 0 {
                    self.eof = true;
                }
            }
            if !self.started {
                self.started = true;
                if data.starts_with(b"\xEF\xBB\xBF") {
                    data.drain(..3);
                }
            }
            if self.eof {
                break;
            }
            match memchr::memrchr(b'\n', &data) {
                Some(i) => {
                    self.carry.extend_from_slice(&data[i + 1..]);
                    data.truncate(i + 1);
                    break;
                }
                None if data.len() > MAX_LINE => {
                    return Err(IngestError::Line {
                        path: self.path.clone(),
                        line: self.next_line,
                        reason: format!(
                            "line is longer than {} MiB without a line break; is this a text file of the expected layout?",
                            MAX_LINE >> 20
                        ),
                    });
                }
                None => want = data.len() + self.chunk_size.max(1 << 16),
            }
        }
        if data.is_empty() {
            return Ok(None);
        }
        let lines =
            memchr::memchr_iter(b'\n', &data).count() as u64 + u64::from(!data.ends_with(b"\n"));
        let chunk = Chunk {
            seq: self.seq,
            first_line: self.next_line,
            data,
        };
        self.seq += 1;
        self.next_line += lines;
        Ok(Some(chunk))
    }
}

/// Iterates the lines of a chunk with their numbers, without the line break (and `\r`).
pub fn lines(chunk: &Chunk) -> impl Iterator<Item = (u64, &[u8])> {
    let data = chunk.data.strip_suffix(b"\n").unwrap_or(&chunk.data);
    data.split(|&b| b == b'\n').enumerate().map(move |(i, l)| {
        (
            chunk.first_line + i as u64,
            l.strip_suffix(b"\r").unwrap_or(l),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_are_whole_lines_and_numbered() {
        let text = b"\xEF\xBB\xBFh\nab\ncd\r\nef".to_vec();
        let mut r = ChunkReader::new(Path::new("x"), Box::new(std::io::Cursor::new(text)), 4);
        let mut got = Vec::new();
        while let Some(c) = r.next_chunk().unwrap() {
            for (n, l) in lines(&c) {
                got.push((n, String::from_utf8(l.to_vec()).unwrap()));
            }
        }
        let want: Vec<(u64, String)> = vec![(1, "h"), (2, "ab"), (3, "cd"), (4, "ef")]
            .into_iter()
            .map(|(n, s)| (n, s.to_string()))
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn an_endless_line_is_refused() {
        let text = vec![b'x'; MAX_LINE + 10];
        let mut r = ChunkReader::new(
            Path::new("big.csv"),
            Box::new(std::io::Cursor::new(text)),
            1 << 20,
        );
        let e = r.next_chunk().unwrap_err().to_string();
        assert!(e.contains("big.csv") && e.contains("line 1"), "{e}");
    }
}
