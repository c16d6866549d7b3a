//! The checks every link payload passes, whatever downloader fetched it: origin before
//! connecting; cap, size and digest while the bytes stream in.

use std::path::Path;

use bytes::{Bytes, BytesMut};
use futures::StreamExt;

use super::chunks::{self, ChunkThread};
use super::{digest, ByteStream};
use crate::error::{Error, ErrorKind, Result};

/// Refuses non-http(s) URLs, and URLs outside `allowed` origins when a list is given.
pub(crate) fn check_origin(url: &str, allowed: Option<&[String]>) -> Result<()> {
    let parsed = url::Url::parse(url)
        .map_err(|e| Error::new(ErrorKind::OriginNotAllowed, format!("link URL {url:?} is not a valid URL: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(Error::new(
            ErrorKind::OriginNotAllowed,
            format!("link URL scheme {:?} is not allowed; only http and https are fetched", parsed.scheme()),
        ));
    }
    if let Some(allowed) = allowed {
        let origin = parsed.origin().ascii_serialization();
        let ok = allowed
            .iter()
            .any(|a| url::Url::parse(a).map(|u| u.origin().ascii_serialization() == origin).unwrap_or(false));
        if !ok {
            return Err(Error::new(
                ErrorKind::OriginNotAllowed,
                format!("link URL origin {origin} is not in the allowed origins {allowed:?}"),
            ));
        }
    }
    Ok(())
}

/// Running checks on a stream of payload bytes: size as the chunks arrive, digest at the end.
struct Checker<'a> {
    url: &'a str,
    size: u64,
    received: u64,
    digest: Option<(ChunkThread<String>, &'a str)>,
}

impl<'a> Checker<'a> {
    fn new(url: &'a str, size: u64, sha256: Option<&'a str>, cap: Option<u64>) -> Result<Self> {
        if let Some(cap) = cap {
            if size > cap {
                return Err(Error::new(
                    ErrorKind::PayloadTooLarge,
                    format!("link payload of {size} bytes exceeds the receiver's cap of {cap} bytes; raise max_payload_bytes or save it to a directory"),
                ));
            }
        }
        Ok(Checker { url, size, received: 0, digest: sha256.map(|d| (digest::start(), d)) })
    }

    async fn chunk(&mut self, chunk: &Bytes) -> Result<()> {
        self.received += chunk.len() as u64;
        if self.received > self.size {
            return Err(self.mismatch());
        }
        if let Some((d, _)) = &mut self.digest {
            d.send(chunk.clone()).await?;
        }
        Ok(())
    }

    async fn finish(self) -> Result<()> {
        if self.received != self.size {
            return Err(self.mismatch());
        }
        if let Some((d, expected)) = self.digest {
            let got = d.finish().await?;
            if !got.eq_ignore_ascii_case(expected) {
                return Err(Error::new(
                    ErrorKind::DigestMismatch,
                    format!("link payload at {} has sha256 {got}, the envelope says {expected}", self.url),
                ));
            }
        }
        Ok(())
    }

    fn mismatch(&self) -> Error {
        Error::new(
            ErrorKind::SizeMismatch,
            format!(
                "link payload at {} has {}{} bytes, the envelope says {}",
                self.url,
                if self.received > self.size { "more than " } else { "" },
                self.received,
                self.size
            ),
        )
    }
}

/// Reads the whole stream into memory, checking it.
pub(crate) async fn collect(
    mut stream: ByteStream,
    url: &str,
    size: u64,
    sha256: Option<&str>,
    cap: Option<u64>,
) -> Result<Bytes> {
    let mut checker = Checker::new(url, size, sha256, cap)?;
    let mut first: Option<Bytes> = None;
    let mut buf = BytesMut::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        checker.chunk(&chunk).await?;
        // A handler that returns everything at once costs no copy.
        match first.take() {
            None if buf.is_empty() => first = Some(chunk),
            prev => {
                if buf.is_empty() {
                    buf.reserve(size as usize);
                }
                if let Some(p) = prev {
                    buf.extend_from_slice(&p);
                }
                buf.extend_from_slice(&chunk);
            }
        }
    }
    checker.finish().await?;
    Ok(first.unwrap_or_else(|| buf.freeze()))
}

/// Streams to `path` (through a `.part` file renamed at the end), checking it; never holds it whole.
pub(crate) async fn save_to_file(
    mut stream: ByteStream,
    url: &str,
    size: u64,
    sha256: Option<&str>,
    path: &Path,
) -> Result<()> {
    let mut checker = Checker::new(url, size, sha256, None)?;
    let part = path.with_extension("part");
    let mut file = chunks::write_file(&part)?;
    let result: Result<()> = async {
        while let Some(chunk) = stream.next().await {
            let chunk = chunk?;
            checker.chunk(&chunk).await?;
            file.send(chunk).await?;
        }
        file.finish().await?;
        checker.finish().await
    }
    .await;
    match result {
        Ok(()) => {
            tokio::fs::rename(&part, path).await.map_err(|e| Error::io(&format!("cannot write {}", path.display()), e))
        }
        Err(e) => {
            let _ = tokio::fs::remove_file(&part).await;
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::stream;
    use sha2::{Digest, Sha256};

    fn chunks(parts: &[&'static [u8]]) -> ByteStream {
        Box::pin(stream::iter(parts.iter().map(|p| Ok(Bytes::from_static(p))).collect::<Vec<_>>()))
    }

    #[tokio::test]
    async fn collect_checks_size_digest_cap() {
        let ok = collect(chunks(&[b"ab", b"c"]), "u", 3, None, None).await.unwrap();
        assert_eq!(&ok[..], b"abc");
        let one = collect(chunks(&[b"abc"]), "u", 3, None, None).await.unwrap();
        assert_eq!(&one[..], b"abc");
        let sha = hex::encode(Sha256::digest(b"abc"));
        assert!(collect(chunks(&[b"abc"]), "u", 3, Some(&sha), None).await.is_ok());
        let e = collect(chunks(&[b"abd"]), "u", 3, Some(&sha), None).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::DigestMismatch);
        let e = collect(chunks(&[b"ab"]), "u", 3, None, None).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::SizeMismatch);
        let e = collect(chunks(&[b"abcd"]), "u", 3, None, None).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::SizeMismatch);
        let e = collect(chunks(&[b"abc"]), "u", 3, None, Some(2)).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::PayloadTooLarge);
    }

    #[test]
    fn origins() {
        assert!(check_origin("http://127.0.0.1:8080/file/a/b/c", None).is_ok());
        for bad in ["file:///etc/passwd", "ftp://x/y", "nonsense"] {
            assert_eq!(check_origin(bad, None).unwrap_err().kind(), ErrorKind::OriginNotAllowed);
        }
        let allowed = vec!["http://127.0.0.1:8080".to_owned()];
        assert!(check_origin("http://127.0.0.1:8080/x", Some(&allowed)).is_ok());
        assert!(check_origin("http://127.0.0.1:8081/x", Some(&allowed)).is_err());
        assert!(check_origin("https://127.0.0.1:8080/x", Some(&allowed)).is_err());
    }
}
