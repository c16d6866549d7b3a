//! Standard padded base64, the form envelope v1 uses, through a SIMD codec: on the hot path of
//! every direct payload, in both directions.

use crate::error::{Error, Result};

/// Length of standard padded base64 of `n` bytes.
pub fn encoded_len(n: usize) -> usize {
    n.div_ceil(3) * 4
}

/// Appends the base64 of `bytes` to `out`.
pub(crate) fn encode_into(bytes: &[u8], out: &mut String) {
    base64_simd::STANDARD.encode_append(bytes, out);
}

pub fn encode(bytes: &[u8]) -> String {
    base64_simd::STANDARD.encode_to_string(bytes)
}

/// Decodes strictly (padding required, no whitespace, no URL-safe alphabet).
pub fn decode(text: &[u8]) -> Result<Vec<u8>> {
    base64_simd::STANDARD.decode_to_vec(text).map_err(|e| Error::encoding(format!("data is not valid base64: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_strictness() {
        for n in 0..70 {
            let data: Vec<u8> = (0..n as u8).collect();
            let mut out = String::from("x");
            encode_into(&data, &mut out);
            assert_eq!(out.len(), 1 + encoded_len(n));
            assert_eq!(decode(&out.as_bytes()[1..]).unwrap(), data);
            assert_eq!(encode(&data), &out[1..]);
        }
        assert_eq!(encode(b"abc"), "YWJj");
        for bad in [&b"YWJ"[..], b"YW Jj", b"YW-j", b"@@@@"] {
            assert!(decode(bad).is_err(), "{bad:?}");
        }
    }
}
