//! STUN (RFC 5389) Binding messages: just what a reachability check needs — build a request, answer
//! one, and read XOR-MAPPED-ADDRESS, SOFTWARE and FINGERPRINT from any STUN server's response (the
//! A/V Edge's MS-TURN and coturn both answer a plain Binding request). MESSAGE-INTEGRITY is parsed
//! but not verified: reachability needs no credentials.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

pub const MAGIC_COOKIE: u32 = 0x2112_A442;
pub const BINDING_REQUEST: u16 = 0x0001;
pub const BINDING_SUCCESS: u16 = 0x0101;
pub const HEADER_LEN: usize = 20;

const ATTR_MAPPED_ADDRESS: u16 = 0x0001;
const ATTR_MESSAGE_INTEGRITY: u16 = 0x0008;
const ATTR_XOR_MAPPED_ADDRESS: u16 = 0x0020;
const ATTR_SOFTWARE: u16 = 0x8022;
const ATTR_FINGERPRINT: u16 = 0x8028;
const FINGERPRINT_XOR: u32 = 0x5354_554E;

/// One decoded attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attribute {
    XorMappedAddress(SocketAddr),
    MappedAddress(SocketAddr),
    Software(String),
    MessageIntegrity([u8; 20]),
    Fingerprint(u32),
    Other { kind: u16, value: Vec<u8> },
}

/// A decoded STUN message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub kind: u16,
    pub transaction: [u8; 12],
    pub attributes: Vec<Attribute>,
}

impl Message {
    /// The reflexive address the server saw (XOR-MAPPED-ADDRESS, else MAPPED-ADDRESS).
    pub fn mapped_address(&self) -> Option<SocketAddr> {
        self.attributes
            .iter()
            .find_map(|a| match a {
                Attribute::XorMappedAddress(s) => Some(*s),
                _ => None,
            })
            .or_else(|| {
                self.attributes.iter().find_map(|a| match a {
                    Attribute::MappedAddress(s) => Some(*s),
                    _ => None,
                })
            })
    }

    pub fn software(&self) -> Option<&str> {
        self.attributes.iter().find_map(|a| match a {
            Attribute::Software(s) => Some(s.as_str()),
            _ => None,
        })
    }
}

/// Why bytes are not a usable STUN message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StunError {
    TooShort(usize),
    NotStun,
    LengthMismatch { header: usize, actual: usize },
    Truncated { kind: u16 },
    BadAddress { kind: u16 },
    BadFingerprint { expected: u32, found: u32 },
}

impl fmt::Display for StunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StunError::TooShort(n) => write!(f, "{n} bytes is shorter than a STUN header"),
            StunError::NotStun => f.write_str("not a STUN message (no magic cookie)"),
            StunError::LengthMismatch { header, actual } => {
                write!(
                    f,
                    "header says {header} attribute bytes, message has {actual}"
                )
            }
            StunError::Truncated { kind } => write!(f, "attribute 0x{kind:04x} runs past the end"),
            StunError::BadAddress { kind } => {
                write!(f, "attribute 0x{kind:04x} is not a valid address")
            }
            StunError::BadFingerprint { expected, found } => {
                write!(
                    f,
                    "FINGERPRINT is 0x{found:08x}, the message hashes to 0x{expected:08x}"
                )
            }
        }
    }
}

impl std::error::Error for StunError {}

/// CRC-32 (IEEE 802.3, as zlib), bitwise: STUN messages are small.
pub fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xEDB8_8320 & mask);
        }
    }
    !crc
}

/// Quick test: could these bytes start a STUN message?
pub fn looks_like_stun(bytes: &[u8]) -> bool {
    bytes.len() >= HEADER_LEN
        && bytes[0] & 0xC0 == 0
        && u32::from_be_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]) == MAGIC_COOKIE
}

/// Total length of the message whose header starts `bytes` (for framing STUN over TCP).
pub fn framed_len(bytes: &[u8]) -> Option<usize> {
    (bytes.len() >= 4).then(|| HEADER_LEN + usize::from(u16::from_be_bytes([bytes[2], bytes[3]])))
}

fn xor_address(
    value: &[u8],
    transaction: &[u8; 12],
    kind: u16,
    xor: bool,
) -> Result<SocketAddr, StunError> {
    let bad = StunError::BadAddress { kind };
    if value.len() < 4 {
        return Err(bad);
    }
    let cookie = MAGIC_COOKIE.to_be_bytes();
    let mut port = u16::from_be_bytes([value[2], value[3]]);
    if xor {
        port ^= (MAGIC_COOKIE >> 16) as u16;
    }
    let ip = match (value[1], value.len()) {
        (0x01, 8) => {
            let mut o = [value[4], value[5], value[6], value[7]];
            if xor {
                for (b, c) in o.iter_mut().zip(cookie) {
                    *b ^= c;
                }
            }
            IpAddr::V4(Ipv4Addr::from(o))
        }
        (0x02, 20) => {
            let mut o = [0u8; 16];
            o.copy_from_slice(&value[4..20]);
            if xor {
                let key: Vec<u8> = cookie.iter().chain(transaction.iter()).copied().collect();
                for (b, k) in o.iter_mut().zip(key) {
                    *b ^= k;
                }
            }
            IpAddr::V6(Ipv6Addr::from(o))
        }
        _ => return Err(bad),
    };
    Ok(SocketAddr::new(ip, port))
}

/// Decodes one message; a FINGERPRINT, when present, must match.
pub fn decode(bytes: &[u8]) -> Result<Message, StunError> {
    if bytes.len() < HEADER_LEN {
        return Err(StunError::TooShort(bytes.len()));
    }
    if !looks_like_stun(bytes) {
        return Err(StunError::NotStun);
    }
    let kind = u16::from_be_bytes([bytes[0], bytes[1]]);
    let length = usize::from(u16::from_be_bytes([bytes[2], bytes[3]]));
    if length != bytes.len() - HEADER_LEN || length % 4 != 0 {
        return Err(StunError::LengthMismatch {
            header: length,
            actual: bytes.len() - HEADER_LEN,
        });
    }
    let mut transaction = [0u8; 12];
    transaction.copy_from_slice(&bytes[8..20]);
    let mut attributes = Vec::new();
    let mut at = HEADER_LEN;
    while at < bytes.len() {
        if at + 4 > bytes.len() {
            return Err(StunError::Truncated { kind: 0 });
        }
        let akind = u16::from_be_bytes([bytes[at], bytes[at + 1]]);
        let alen = usize::from(u16::from_be_bytes([bytes[at + 2], bytes[at + 3]]));
        let start = at + 4;
        let end = start + alen;
        if end > bytes.len() {
            return Err(StunError::Truncated { kind: akind });
        }
        let value = &bytes[start..end];
        let attr = match akind {
            ATTR_XOR_MAPPED_ADDRESS => {
                Attribute::XorMappedAddress(xor_address(value, &transaction, akind, true)?)
            }
            ATTR_MAPPED_ADDRESS => {
                Attribute::MappedAddress(xor_address(value, &transaction, akind, false)?)
            }
            ATTR_SOFTWARE => Attribute::Software(String::from_utf8_lossy(value).into_owned()),
            ATTR_MESSAGE_INTEGRITY if alen == 20 => {
                let mut mac = [0u8; 20];
                mac.copy_from_slice(value);
                Attribute::MessageIntegrity(mac)
            }
            ATTR_FINGERPRINT if alen == 4 => {
                let found = u32::from_be_bytes([value[0], value[1], value[2], value[3]]);
                let expected = crc32(&bytes[..at]) ^ FINGERPRINT_XOR;
                if found != expected {
                    return Err(StunError::BadFingerprint { expected, found });
                }
                Attribute::Fingerprint(found)
            }
            _ => Attribute::Other {
                kind: akind,
                value: value.to_vec(),
            },
        };
        attributes.push(attr);
        at = end + (4 - alen % 4) % 4;
    }
    Ok(Message {
        kind,
        transaction,
        attributes,
    })
}

fn push_attribute(out: &mut Vec<u8>, kind: u16, value: &[u8]) {
    out.extend_from_slice(&kind.to_be_bytes());
    out.extend_from_slice(&(value.len() as u16).to_be_bytes());
    out.extend_from_slice(value);
    out.resize(out.len() + (4 - value.len() % 4) % 4, 0);
}

fn finish(mut out: Vec<u8>) -> Vec<u8> {
    // the length counts the FINGERPRINT attribute that is about to be added
    let length = (out.len() - HEADER_LEN + 8) as u16;
    out[2..4].copy_from_slice(&length.to_be_bytes());
    let fp = crc32(&out) ^ FINGERPRINT_XOR;
    push_attribute(&mut out, ATTR_FINGERPRINT, &fp.to_be_bytes());
    out
}

fn header(kind: u16, transaction: &[u8; 12]) -> Vec<u8> {
    let mut out = Vec::with_capacity(96);
    out.extend_from_slice(&kind.to_be_bytes());
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(&MAGIC_COOKIE.to_be_bytes());
    out.extend_from_slice(transaction);
    out
}

/// A Binding request with SOFTWARE and FINGERPRINT. `software` pads the request so it is at least
/// as long as the answer it asks for (a responder that never amplifies can then reply).
pub fn binding_request(transaction: &[u8; 12], software: &str) -> Vec<u8> {
    let mut out = header(BINDING_REQUEST, transaction);
    push_attribute(&mut out, ATTR_SOFTWARE, software.as_bytes());
    finish(out)
}

/// A Binding success response telling `peer` the address it was seen from.
pub fn binding_response(transaction: &[u8; 12], peer: SocketAddr) -> Vec<u8> {
    let mut out = header(BINDING_SUCCESS, transaction);
    let cookie = MAGIC_COOKIE.to_be_bytes();
    let mut value = vec![0u8];
    let port = peer.port() ^ (MAGIC_COOKIE >> 16) as u16;
    match peer.ip() {
        IpAddr::V4(v4) => {
            value.push(0x01);
            value.extend_from_slice(&port.to_be_bytes());
            value.extend(v4.octets().iter().zip(cookie).map(|(b, c)| b ^ c));
        }
        IpAddr::V6(v6) => {
            value.push(0x02);
            value.extend_from_slice(&port.to_be_bytes());
            let key: Vec<u8> = cookie.iter().chain(transaction.iter()).copied().collect();
            value.extend(v6.octets().iter().zip(key).map(|(b, k)| b ^ k));
        }
    }
    push_attribute(&mut out, ATTR_XOR_MAPPED_ADDRESS, &value);
    finish(out)
}

/// Longest Binding response this module sends (IPv6 XOR-MAPPED-ADDRESS + FINGERPRINT).
pub const MAX_RESPONSE_LEN: usize = HEADER_LEN + 4 + 20 + 8;

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    const TX: [u8; 12] = [
        0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae,
    ];

    /// RFC 5769 section 2.1
    fn rfc5769_request() -> Vec<u8> {
        hex("00010058 2112a442 b7e7a701 bc34d686 fa87dfae
             80220010 5354554e 20746573 7420636c 69656e74
             00240004 6e0001ff
             80290008 932ff9b1 51263b36
             00060009 6576746a 3a683676 59202020
             00080014 9aeaa70c bfd8cb56 781ef2b5 b2d3f249 c1b571a2
             80280004 e57a3bcf")
    }

    /// RFC 5769 section 2.2
    fn rfc5769_ipv4_response() -> Vec<u8> {
        hex("0101003c 2112a442 b7e7a701 bc34d686 fa87dfae
             8022000b 74657374 20766563 746f7220
             00200008 0001a147 e112a643
             00080014 2b91f599 fd9e90c3 8c7489f9 2af9ba53 f06be7d7
             80280004 c07d4c96")
    }

    /// RFC 5769 section 2.3
    fn rfc5769_ipv6_response() -> Vec<u8> {
        hex("01010048 2112a442 b7e7a701 bc34d686 fa87dfae
             8022000b 74657374 20766563 746f7220
             00200014 0002a147 0113a9fa a5d3f179 bc25f4b5 bed2b9d9
             00080014 a382954e 4be67bf1 1784c97c 8292c275 bfe3ed41
             80280004 c8fb0b4c")
    }

    #[test]
    fn rfc5769_request_decodes_and_its_fingerprint_checks() {
        let m = decode(&rfc5769_request()).unwrap();
        assert_eq!(m.kind, BINDING_REQUEST);
        assert_eq!(m.transaction, TX);
        assert_eq!(m.software(), Some("STUN test client"));
        assert!(m.attributes.contains(&Attribute::Fingerprint(0xe57a3bcf)));
        assert!(
            m.attributes
                .iter()
                .any(|a| matches!(a, Attribute::MessageIntegrity(_)))
        );
    }

    #[test]
    fn rfc5769_ipv4_response_maps_to_192_0_2_1_port_32853() {
        let m = decode(&rfc5769_ipv4_response()).unwrap();
        assert_eq!(m.kind, BINDING_SUCCESS);
        assert_eq!(m.mapped_address(), Some("192.0.2.1:32853".parse().unwrap()));
        assert_eq!(
            m.software(),
            Some("test vector"),
            "length 11: the space is padding"
        );
    }

    #[test]
    fn rfc5769_ipv6_response_maps_to_its_address() {
        let m = decode(&rfc5769_ipv6_response()).unwrap();
        assert_eq!(
            m.mapped_address(),
            Some(
                "[2001:db8:1234:5678:11:2233:4455:6677]:32853"
                    .parse()
                    .unwrap()
            )
        );
    }

    #[test]
    fn a_flipped_bit_breaks_the_fingerprint() {
        let mut bytes = rfc5769_ipv4_response();
        bytes[30] ^= 0x01;
        assert!(matches!(
            decode(&bytes),
            Err(StunError::BadFingerprint { .. })
        ));
    }

    #[test]
    fn our_response_encodes_the_xor_mapped_address_like_the_rfc() {
        let ours = binding_response(&TX, "192.0.2.1:32853".parse().unwrap());
        // same XOR-MAPPED-ADDRESS bytes as the RFC vector
        assert_eq!(&ours[20..32], &hex("00200008 0001a147 e112a643")[..]);
        let back = decode(&ours).unwrap();
        assert_eq!(
            back.mapped_address(),
            Some("192.0.2.1:32853".parse().unwrap())
        );
        let v6: SocketAddr = "[2001:db8:1234:5678:11:2233:4455:6677]:32853"
            .parse()
            .unwrap();
        let ours6 = binding_response(&TX, v6);
        assert_eq!(
            &ours6[20..44],
            &hex("00200014 0002a147 0113a9fa a5d3f179 bc25f4b5 bed2b9d9")[..]
        );
        assert_eq!(ours6.len(), MAX_RESPONSE_LEN);
    }

    #[test]
    fn our_request_round_trips_and_is_long_enough_to_be_answered() {
        let req = binding_request(&TX, "portplan reachability check 1");
        let m = decode(&req).unwrap();
        assert_eq!(m.kind, BINDING_REQUEST);
        assert!(req.len() >= MAX_RESPONSE_LEN, "{} bytes", req.len());
        assert_eq!(framed_len(&req), Some(req.len()));
    }

    #[test]
    fn garbage_is_rejected_not_panicked_on() {
        assert_eq!(decode(&[0u8; 4]), Err(StunError::TooShort(4)));
        assert_eq!(
            decode(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
            Err(StunError::NotStun)
        );
        let mut bad = rfc5769_ipv4_response();
        bad[3] = 0xff;
        assert!(matches!(
            decode(&bad),
            Err(StunError::LengthMismatch { .. })
        ));
    }

    #[test]
    fn crc32_matches_the_zlib_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }
}
