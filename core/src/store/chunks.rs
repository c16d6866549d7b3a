//! Large payloads move as chunks between the transfer and blocking threads: one thread reads a
//! file, others hash or write what passes. Each works beside the transfer, never on its path, and
//! hands chunks over without copying them (tokio's file type copies every chunk once more).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use bytes::Bytes;
use futures::StreamExt;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::ByteStream;
use crate::error::{Error, ErrorKind, Result};

/// Chunks in flight to or from a thread: bounds the memory a slow side can make the other hold.
const IN_FLIGHT: usize = 8;

/// The size of the chunks a file is read in.
const READ_CHUNK: u64 = 256 * 1024;

/// A blocking thread that takes chunks in order, then returns what it made of them.
pub(crate) struct ChunkThread<T> {
    tx: mpsc::Sender<Bytes>,
    done: JoinHandle<Result<T>>,
}

impl<T: Send + 'static> ChunkThread<T> {
    /// Starts a thread that runs `each` on every chunk and `end` after the last one.
    pub(crate) fn start<S: Send + 'static>(
        mut state: S,
        each: fn(&mut S, &[u8]) -> Result<()>,
        end: fn(S) -> Result<T>,
    ) -> Self {
        let (tx, mut rx) = mpsc::channel::<Bytes>(IN_FLIGHT);
        let done = tokio::task::spawn_blocking(move || {
            while let Some(chunk) = rx.blocking_recv() {
                each(&mut state, &chunk)?;
            }
            end(state)
        });
        ChunkThread { tx, done }
    }

    /// Hands over the next chunk; fails (with the thread's own error) once the thread has failed.
    pub(crate) async fn send(&mut self, chunk: Bytes) -> Result<()> {
        if self.tx.send(chunk).await.is_ok() {
            return Ok(());
        }
        Err(match (&mut self.done).await {
            Ok(Err(e)) => e,
            _ => stopped(),
        })
    }

    /// What the thread made of every chunk sent.
    pub(crate) async fn finish(self) -> Result<T> {
        drop(self.tx);
        self.done.await.map_err(|_| stopped())?
    }

    /// `stream` unchanged, each chunk also handed to this thread as it passes. The stream lets go
    /// of the thread when it ends or fails, so [`finish`](Self::finish) never waits on a holder.
    pub(crate) fn tee(&self, stream: ByteStream) -> ByteStream {
        Box::pin(futures::stream::unfold((stream, Some(self.tx.clone())), |(mut stream, tx)| async move {
            let tx = tx?;
            let item = match stream.next().await? {
                Ok(chunk) => tx.send(chunk.clone()).await.map(|()| chunk).map_err(|_| stopped()),
                Err(e) => Err(e),
            };
            let tx = item.is_ok().then_some(tx);
            Some((item, (stream, tx)))
        }))
    }
}

fn stopped() -> Error {
    Error::new(ErrorKind::Internal, "a transfer thread stopped unexpectedly")
}

/// A file as a stream of chunks, read on a blocking thread straight into the chunks' memory.
pub(crate) fn read_file(path: PathBuf) -> Result<ByteStream> {
    let file = std::fs::File::open(&path).map_err(|e| Error::io(&format!("cannot open {}", path.display()), e))?;
    let (tx, rx) = mpsc::channel::<Result<Bytes>>(IN_FLIGHT);
    tokio::task::spawn_blocking(move || loop {
        let mut chunk = Vec::with_capacity(READ_CHUNK as usize);
        // A short chunk is the last: `take` reads until the chunk is full or the file ends.
        let (item, last) = match (&file).take(READ_CHUNK).read_to_end(&mut chunk) {
            Ok(0) => break,
            Ok(n) => (Ok(Bytes::from(chunk)), (n as u64) < READ_CHUNK),
            Err(e) => (Err(Error::io(&format!("cannot read {}", path.display()), e)), true),
        };
        if tx.blocking_send(item).is_err() || last {
            break;
        }
    });
    Ok(Box::pin(futures::stream::unfold(rx, |mut rx| async move { Some((rx.recv().await?, rx)) })))
}

/// A thread that writes chunks to a new file at `path`.
pub(crate) fn write_file(path: &Path) -> Result<ChunkThread<()>> {
    let io = |e| Error::io(&format!("cannot write {}", path.display()), e);
    let file = std::fs::File::create(path).map_err(io)?;
    // Writes of a chunk at least this big skip the buffer; small chunks are gathered first.
    let out = (std::io::BufWriter::with_capacity(256 * 1024, file), path.to_path_buf());
    Ok(ChunkThread::start(
        out,
        |(w, path), chunk| w.write_all(chunk).map_err(|e| Error::io(&format!("cannot write {}", path.display()), e)),
        |(mut w, path)| w.flush().map_err(|e| Error::io(&format!("cannot write {}", path.display()), e)),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sum_lengths() -> ChunkThread<usize> {
        let add = |n: &mut usize, c: &[u8]| {
            *n += c.len();
            Ok(())
        };
        ChunkThread::start(0usize, add, Ok)
    }

    #[tokio::test]
    async fn a_file_reads_back_whole_in_chunks() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let data: Vec<u8> = (0..(READ_CHUNK as u32 * 2 + 5)).map(|i| (i * 31) as u8).collect();
        std::fs::write(&path, &data).unwrap();
        let chunks: Vec<Bytes> = read_file(path.clone()).unwrap().map(|c| c.unwrap()).collect().await;
        assert_eq!(chunks.len(), 3);
        assert_eq!(chunks.concat(), data);
        std::fs::write(&path, b"").unwrap();
        assert_eq!(read_file(path).unwrap().count().await, 0);
        let e = read_file(dir.path().join("missing")).err().unwrap();
        assert_eq!(e.kind(), ErrorKind::Io);
    }

    #[tokio::test]
    async fn written_chunks_land_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out");
        let mut w = write_file(&path).unwrap();
        for part in [&b"ab"[..], &[7u8; 300_000][..], b"z"] {
            w.send(Bytes::copy_from_slice(part)).await.unwrap();
        }
        w.finish().await.unwrap();
        let got = std::fs::read(&path).unwrap();
        assert_eq!(got.len(), 300_003);
        assert_eq!((&got[..2], got[2], got[300_002]), (&b"ab"[..], 7, b'z'));
    }

    #[tokio::test]
    async fn a_failing_thread_reports_its_own_error() {
        let mut t: ChunkThread<()> =
            ChunkThread::start((), |_, _| Err(Error::new(ErrorKind::Io, "disk full")), |()| Ok(()));
        let mut first_error = None;
        for _ in 0..IN_FLIGHT + 2 {
            if let Err(e) = t.send(Bytes::from_static(b"x")).await {
                first_error = Some(e);
                break;
            }
        }
        assert_eq!(first_error.expect("the thread's failure surfaces").message(), "disk full");
    }

    #[tokio::test]
    async fn tee_hands_over_every_chunk_and_lets_go_at_the_end() {
        let t = sum_lengths();
        let chunks = vec![Ok(Bytes::from_static(b"abc")), Ok(Bytes::from_static(b"de"))];
        let passed: Vec<_> = t.tee(Box::pin(futures::stream::iter(chunks))).collect().await;
        assert_eq!(passed.len(), 2);
        assert_eq!(t.finish().await.unwrap(), 5);
        let t = sum_lengths();
        let broken = vec![Ok(Bytes::from_static(b"ab")), Err(Error::new(ErrorKind::DownloadFailed, "cut"))];
        let mut teed = t.tee(Box::pin(futures::stream::iter(broken)));
        assert!(teed.next().await.unwrap().is_ok());
        assert_eq!(teed.next().await.unwrap().unwrap_err().kind(), ErrorKind::DownloadFailed);
        assert!(teed.next().await.is_none());
        // `teed` still exists: the thread must not wait for it.
        assert_eq!(t.finish().await.unwrap(), 2);
    }
}
