//! Standard base64 (RFC 4648, with padding), as Kubernetes writes `[]byte` fields such as
//! `Secret.data` and `ConfigMap.binaryData` on the wire.

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Encodes `bytes` as padded standard base64.
pub fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18u32, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> shift) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn sextet(c: u8) -> Option<u32> {
    match c {
        b'A'..=b'Z' => Some(u32::from(c - b'A')),
        b'a'..=b'z' => Some(u32::from(c - b'a') + 26),
        b'0'..=b'9' => Some(u32::from(c - b'0') + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    }
}

/// Decodes padded standard base64 (line breaks are ignored, as Go's decoder does).
///
/// The error is Go's message, naming the offset of the first bad byte:
/// `illegal base64 data at input byte 3`.
pub fn decode(text: &str) -> Result<Vec<u8>, String> {
    let illegal = |i: usize| format!("illegal base64 data at input byte {i}");
    let input: Vec<(usize, u8)> = text
        .bytes()
        .enumerate()
        .filter(|(_, b)| *b != b'\r' && *b != b'\n')
        .collect();
    let mut out = Vec::with_capacity(input.len() / 4 * 3);
    for (q, quad) in input.chunks(4).enumerate() {
        let last = (q + 1) * 4 >= input.len();
        if quad.len() < 4 {
            // A bad character is reported where it is, else the missing padding at the end.
            let bad = quad
                .iter()
                .find(|(_, b)| *b != b'=' && sextet(*b).is_none());
            return Err(illegal(bad.map_or(text.len(), |(i, _)| *i)));
        }
        let mut n = 0u32;
        let mut pads = 0;
        for (k, (i, b)) in quad.iter().enumerate() {
            if *b == b'=' {
                // Padding only in positions 2 and 3 of the last quad.
                if k < 2 || (k == 2 && quad[3].1 != b'=') {
                    return Err(illegal(*i));
                }
                if !last {
                    return Err(illegal(quad[3].0 + 1));
                }
                pads += 1;
                n <<= 6;
            } else if pads > 0 {
                return Err(illegal(*i));
            } else {
                n = (n << 6) | sextet(*b).ok_or_else(|| illegal(*i))?;
            }
        }
        let [_, b0, b1, b2] = n.to_be_bytes();
        let bytes = [b0, b1, b2];
        out.extend_from_slice(&bytes[..3 - pads]);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_rfc4648_vectors() {
        for (plain, coded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(encode(plain.as_bytes()), coded);
            assert_eq!(decode(coded).unwrap(), plain.as_bytes());
        }
        assert_eq!(decode("czNjcjN0IQ==").unwrap(), b"s3cr3t!");
        assert_eq!(decode("Zm9v\nYmFy").unwrap(), b"foobar");
    }

    #[test]
    fn rejects_bad_input_with_the_offset() {
        assert_eq!(
            decode("Zm9v!").unwrap_err(),
            "illegal base64 data at input byte 4"
        );
        assert_eq!(
            decode("Zg=").unwrap_err(),
            "illegal base64 data at input byte 3"
        );
        assert_eq!(
            decode("Z===").unwrap_err(),
            "illegal base64 data at input byte 1"
        );
        assert_eq!(
            decode("Zg==Zg==").unwrap_err(),
            "illegal base64 data at input byte 4"
        );
        assert!(decode("Zm9").is_err());
        assert!(decode("Zm 9v").is_err());
    }
}
