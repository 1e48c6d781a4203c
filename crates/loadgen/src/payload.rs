//! The sequence header every message body starts with.
//!
//! A consumer learns from the body alone who sent a message, in which order and when, so the
//! run needs no side channel between producers and consumers:
//!
//! ```text
//! RRRRRRRR.PPPPPPPP.SSSSSSSSSSSSSSSS.TTTTTTTTTTTTTTTT.xxxx…
//! run id   producer sequence         sent (unix ns)   padding up to --size
//! ```
//!
//! Every field is fixed-width lowercase hex, so the header has one length, needs no JSON escaping
//! and can be rewritten in place inside a prebuilt request body (see `wire::SendBatchTemplate`).
//! The run id tells this run's messages from leftovers of an earlier run on a reused queue.

/// Bytes taken by the header: four hex fields and their four separators.
pub const HEADER_LEN: usize = 8 + 1 + 8 + 1 + 16 + 1 + 16 + 1;

/// The byte that fills a body after its header.
pub const PADDING: u8 = b'x';

const SEPARATOR: u8 = b'.';
const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";

/// What a producer stamps on a message and a consumer reads back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stamp {
    pub run_id: u32,
    pub producer: u32,
    pub sequence: u64,
    pub sent_unix_ns: u64,
}

/// Writes `stamp` as a header into the first `HEADER_LEN` bytes of `out`.
///
/// Panics if `out` is shorter than `HEADER_LEN`: bodies are sized by the caller, never by input.
pub fn encode_header(stamp: &Stamp, out: &mut [u8]) {
    let out = &mut out[..HEADER_LEN];
    write_hex(&mut out[0..8], u64::from(stamp.run_id));
    out[8] = SEPARATOR;
    write_hex(&mut out[9..17], u64::from(stamp.producer));
    out[17] = SEPARATOR;
    write_hex(&mut out[18..34], stamp.sequence);
    out[34] = SEPARATOR;
    write_hex(&mut out[35..51], stamp.sent_unix_ns);
    out[51] = SEPARATOR;
}

/// Reads the header at the start of `body`; `None` if the body was not written by a loadgen.
pub fn decode_header(body: &[u8]) -> Option<Stamp> {
    let header = body.get(..HEADER_LEN)?;
    let separators_ok = [8, 17, 34, 51]
        .iter()
        .all(|&index| header[index] == SEPARATOR);
    if !separators_ok {
        return None;
    }
    Some(Stamp {
        run_id: u32::try_from(read_hex(&header[0..8])?).ok()?,
        producer: u32::try_from(read_hex(&header[9..17])?).ok()?,
        sequence: read_hex(&header[18..34])?,
        sent_unix_ns: read_hex(&header[35..51])?,
    })
}

/// A whole body of `size` bytes (at least `HEADER_LEN`): header, then padding.
pub fn body(stamp: &Stamp, size: usize) -> Vec<u8> {
    assert!(size >= HEADER_LEN, "a body must hold its header");
    let mut body = vec![PADDING; size];
    encode_header(stamp, &mut body);
    body
}

/// Writes `value` as lowercase hex, zero-padded to fill `out` exactly (the high bits that do not
/// fit are dropped; callers size `out` for the field's type).
pub fn write_hex(out: &mut [u8], mut value: u64) {
    for byte in out.iter_mut().rev() {
        *byte = HEX_DIGITS[(value & 0xf) as usize];
        value >>= 4;
    }
}

fn read_hex(digits: &[u8]) -> Option<u64> {
    digits.iter().try_fold(0u64, |value, &digit| {
        let nibble = match digit {
            b'0'..=b'9' => digit - b'0',
            b'a'..=b'f' => digit - b'a' + 10,
            _ => return None,
        };
        Some((value << 4) | u64::from(nibble))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamp() -> Stamp {
        Stamp {
            run_id: 0xdead_beef,
            producer: 7,
            sequence: 123_456_789,
            sent_unix_ns: 1_767_225_600_123_456_789,
        }
    }

    #[test]
    fn header_round_trips() {
        let body = body(&stamp(), 100);
        assert_eq!(body.len(), 100);
        assert_eq!(decode_header(&body), Some(stamp()));
        assert!(body[HEADER_LEN..].iter().all(|&byte| byte == PADDING));
    }

    #[test]
    fn header_has_the_documented_layout() {
        let body = body(&stamp(), HEADER_LEN);
        assert_eq!(
            std::str::from_utf8(&body).unwrap(),
            "deadbeef.00000007.00000000075bcd15.18867251f555cd15."
        );
    }

    #[test]
    fn extreme_values_round_trip() {
        let stamp = Stamp {
            run_id: u32::MAX,
            producer: u32::MAX,
            sequence: u64::MAX,
            sent_unix_ns: 0,
        };
        assert_eq!(decode_header(&body(&stamp, HEADER_LEN)), Some(stamp));
    }

    #[test]
    fn encoding_in_place_overwrites_only_the_header() {
        let mut body = body(&stamp(), 64);
        let later = Stamp {
            sequence: 124_000_000,
            ..stamp()
        };
        encode_header(&later, &mut body);
        assert_eq!(decode_header(&body), Some(later));
        assert!(body[HEADER_LEN..].iter().all(|&byte| byte == PADDING));
    }

    #[test]
    fn foreign_bodies_are_rejected() {
        assert_eq!(decode_header(b""), None);
        assert_eq!(decode_header(b"hello world"), None);
        let mut body = body(&stamp(), 80);
        body[17] = b'-';
        assert_eq!(decode_header(&body), None);
        let mut body = self::body(&stamp(), 80);
        body[20] = b'G';
        assert_eq!(decode_header(&body), None);
    }
}
