//! ARP/RARP/InARP wire format (RFC 826, RFC 903, RFC 1931, RFC 2390): a
//! zero-copy [`Packet`] view whose `new_checked` validates length once so
//! no getter can panic, and a validated [`ArpRepr`] for Ethernet/IPv4.

use core::net::Ipv4Addr;

use crate::mac::{MacAddr, ETHERTYPE_IPV4};

/// Hardware type of Ethernet (IANA "Hardware Types").
pub const HTYPE_ETHERNET: u16 = 1;

mod field {
    use core::ops::Range;

    pub const HTYPE: Range<usize> = 0..2;
    pub const PTYPE: Range<usize> = 2..4;
    pub const HLEN: usize = 4;
    pub const PLEN: usize = 5;
    pub const OPER: Range<usize> = 6..8;
    pub const FIXED_LEN: usize = 8;

    pub const fn sha(hlen: u8, _plen: u8) -> Range<usize> {
        FIXED_LEN..FIXED_LEN + hlen as usize
    }
    pub const fn spa(hlen: u8, plen: u8) -> Range<usize> {
        let s = sha(hlen, plen).end;
        s..s + plen as usize
    }
    pub const fn tha(hlen: u8, plen: u8) -> Range<usize> {
        let s = spa(hlen, plen).end;
        s..s + hlen as usize
    }
    pub const fn tpa(hlen: u8, plen: u8) -> Range<usize> {
        let s = tha(hlen, plen).end;
        s..s + plen as usize
    }
}

/// ARP operation codes as IANA assigns them ("ARP Operation Codes").
///
/// Note: IANA assigns 9 to InARP-Reply and 10 to ARP-NAK; the project's seed
/// text called 9 "ARP_NAK". This enum follows IANA.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Operation {
    /// 1, RFC 826.
    Request,
    /// 2, RFC 826.
    Reply,
    /// 3, RARP request (RFC 903).
    RequestReverse,
    /// 4, RARP reply (RFC 903).
    ReplyReverse,
    /// 5, RFC 1931.
    DrarpRequest,
    /// 6, RFC 1931.
    DrarpReply,
    /// 7, RFC 1931.
    DrarpError,
    /// 8, RFC 2390.
    InArpRequest,
    /// 9, RFC 2390.
    InArpReply,
    /// 10, ARP-NAK (IANA cites RFC 1577, ATMARP).
    ArpNak,
    /// Anything else; kept so parsing is total.
    Unknown(u16),
}

impl From<u16> for Operation {
    fn from(v: u16) -> Operation {
        match v {
            1 => Operation::Request,
            2 => Operation::Reply,
            3 => Operation::RequestReverse,
            4 => Operation::ReplyReverse,
            5 => Operation::DrarpRequest,
            6 => Operation::DrarpReply,
            7 => Operation::DrarpError,
            8 => Operation::InArpRequest,
            9 => Operation::InArpReply,
            10 => Operation::ArpNak,
            other => Operation::Unknown(other),
        }
    }
}

impl From<Operation> for u16 {
    fn from(op: Operation) -> u16 {
        match op {
            Operation::Request => 1,
            Operation::Reply => 2,
            Operation::RequestReverse => 3,
            Operation::ReplyReverse => 4,
            Operation::DrarpRequest => 5,
            Operation::DrarpReply => 6,
            Operation::DrarpError => 7,
            Operation::InArpRequest => 8,
            Operation::InArpReply => 9,
            Operation::ArpNak => 10,
            Operation::Unknown(v) => v,
        }
    }
}

impl Operation {
    /// RARP (RFC 903) and DRARP (RFC 1931) travel under EtherType 0x8035;
    /// everything else under 0x0806.
    pub fn is_reverse_family(self) -> bool {
        matches!(
            self,
            Operation::RequestReverse
                | Operation::ReplyReverse
                | Operation::DrarpRequest
                | Operation::DrarpReply
                | Operation::DrarpError
        )
    }
}

/// Why an ARP body could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ArpError {
    /// Shorter than the fixed header or than the address lengths announce.
    #[error("ARP packet truncated")]
    Truncated,
    /// Valid ARP, but not Ethernet/IPv4 (htype 1, ptype 0x0800, lengths 6/4).
    #[error("ARP for a hardware/protocol pair other than Ethernet/IPv4")]
    Unsupported,
}

/// A read-only or mutable view of an ARP packet in a buffer.
#[derive(Debug, Clone)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps a buffer without checking it; getters may panic on a short
    /// buffer. Use [`Packet::new_checked`] on untrusted input.
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// Wraps a buffer after [`Packet::check_len`].
    pub fn new_checked(buffer: T) -> Result<Packet<T>, ArpError> {
        let p = Packet::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }

    /// Ensures the fixed header and all four addresses fit, so no getter
    /// can index past the end. Trailing bytes (Ethernet padding) are fine.
    pub fn check_len(&self) -> Result<(), ArpError> {
        let b = self.buffer.as_ref();
        if b.len() < field::FIXED_LEN {
            return Err(ArpError::Truncated);
        }
        if b.len() < field::tpa(self.hardware_len(), self.protocol_len()).end {
            return Err(ArpError::Truncated);
        }
        Ok(())
    }

    /// Gives the buffer back.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn be16(&self, r: core::ops::Range<usize>) -> u16 {
        let b = &self.buffer.as_ref()[r];
        u16::from_be_bytes([b[0], b[1]])
    }

    /// Hardware type.
    pub fn hardware_type(&self) -> u16 {
        self.be16(field::HTYPE)
    }

    /// Protocol type (an EtherType).
    pub fn protocol_type(&self) -> u16 {
        self.be16(field::PTYPE)
    }

    /// Hardware address length.
    pub fn hardware_len(&self) -> u8 {
        self.buffer.as_ref()[field::HLEN]
    }

    /// Protocol address length.
    pub fn protocol_len(&self) -> u8 {
        self.buffer.as_ref()[field::PLEN]
    }

    /// Operation code.
    pub fn operation(&self) -> Operation {
        Operation::from(self.be16(field::OPER))
    }

    /// Sender hardware address.
    pub fn source_hardware_addr(&self) -> &[u8] {
        &self.buffer.as_ref()[field::sha(self.hardware_len(), self.protocol_len())]
    }

    /// Sender protocol address.
    pub fn source_protocol_addr(&self) -> &[u8] {
        &self.buffer.as_ref()[field::spa(self.hardware_len(), self.protocol_len())]
    }

    /// Target hardware address.
    pub fn target_hardware_addr(&self) -> &[u8] {
        &self.buffer.as_ref()[field::tha(self.hardware_len(), self.protocol_len())]
    }

    /// Target protocol address.
    pub fn target_protocol_addr(&self) -> &[u8] {
        &self.buffer.as_ref()[field::tpa(self.hardware_len(), self.protocol_len())]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    fn set_be16(&mut self, r: core::ops::Range<usize>, v: u16) {
        self.buffer.as_mut()[r].copy_from_slice(&v.to_be_bytes());
    }

    /// Sets the hardware type.
    pub fn set_hardware_type(&mut self, v: u16) {
        self.set_be16(field::HTYPE, v)
    }

    /// Sets the protocol type.
    pub fn set_protocol_type(&mut self, v: u16) {
        self.set_be16(field::PTYPE, v)
    }

    /// Sets the hardware address length.
    pub fn set_hardware_len(&mut self, v: u8) {
        self.buffer.as_mut()[field::HLEN] = v
    }

    /// Sets the protocol address length.
    pub fn set_protocol_len(&mut self, v: u8) {
        self.buffer.as_mut()[field::PLEN] = v
    }

    /// Sets the operation code.
    pub fn set_operation(&mut self, op: Operation) {
        self.set_be16(field::OPER, op.into())
    }

    /// Sets the sender hardware address (length must match `hardware_len`).
    pub fn set_source_hardware_addr(&mut self, v: &[u8]) {
        let r = field::sha(self.hardware_len(), self.protocol_len());
        self.buffer.as_mut()[r].copy_from_slice(v)
    }

    /// Sets the sender protocol address (length must match `protocol_len`).
    pub fn set_source_protocol_addr(&mut self, v: &[u8]) {
        let r = field::spa(self.hardware_len(), self.protocol_len());
        self.buffer.as_mut()[r].copy_from_slice(v)
    }

    /// Sets the target hardware address.
    pub fn set_target_hardware_addr(&mut self, v: &[u8]) {
        let r = field::tha(self.hardware_len(), self.protocol_len());
        self.buffer.as_mut()[r].copy_from_slice(v)
    }

    /// Sets the target protocol address.
    pub fn set_target_protocol_addr(&mut self, v: &[u8]) {
        let r = field::tpa(self.hardware_len(), self.protocol_len());
        self.buffer.as_mut()[r].copy_from_slice(v)
    }
}

/// An Ethernet/IPv4 ARP packet, the only kind Satellite answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ArpRepr {
    /// Operation code (total: unknown codes are representable).
    pub operation: Operation,
    /// Sender hardware address.
    pub source_hardware_addr: MacAddr,
    /// Sender protocol address.
    pub source_protocol_addr: Ipv4Addr,
    /// Target hardware address.
    pub target_hardware_addr: MacAddr,
    /// Target protocol address.
    pub target_protocol_addr: Ipv4Addr,
}

fn ipv4(b: &[u8]) -> Option<Ipv4Addr> {
    let a: [u8; 4] = b.try_into().ok()?;
    Some(Ipv4Addr::from(a))
}

impl ArpRepr {
    /// Bytes an Ethernet/IPv4 ARP packet occupies.
    pub const BUFFER_LEN: usize = 28;

    /// Reads a checked packet; rejects anything but Ethernet/IPv4.
    pub fn parse<T: AsRef<[u8]>>(p: &Packet<T>) -> Result<ArpRepr, ArpError> {
        p.check_len()?;
        if p.hardware_type() != HTYPE_ETHERNET
            || p.protocol_type() != ETHERTYPE_IPV4
            || p.hardware_len() != 6
            || p.protocol_len() != 4
        {
            return Err(ArpError::Unsupported);
        }
        let mac = |b| MacAddr::from_slice(b).ok_or(ArpError::Truncated);
        let ip = |b| ipv4(b).ok_or(ArpError::Truncated);
        Ok(ArpRepr {
            operation: p.operation(),
            source_hardware_addr: mac(p.source_hardware_addr())?,
            source_protocol_addr: ip(p.source_protocol_addr())?,
            target_hardware_addr: mac(p.target_hardware_addr())?,
            target_protocol_addr: ip(p.target_protocol_addr())?,
        })
    }

    /// Writes the packet into `p`, whose buffer must hold
    /// [`ArpRepr::BUFFER_LEN`] bytes.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, p: &mut Packet<T>) {
        p.set_hardware_type(HTYPE_ETHERNET);
        p.set_protocol_type(ETHERTYPE_IPV4);
        p.set_hardware_len(6);
        p.set_protocol_len(4);
        p.set_operation(self.operation);
        p.set_source_hardware_addr(&self.source_hardware_addr.0);
        p.set_source_protocol_addr(&self.source_protocol_addr.octets());
        p.set_target_hardware_addr(&self.target_hardware_addr.0);
        p.set_target_protocol_addr(&self.target_protocol_addr.octets());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // who-has 10.0.0.2 tell 10.0.0.1, from 02:00:00:00:00:01.
    const REQUEST: [u8; 28] = [
        0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, //
        0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 10, 0, 0, 1, //
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 10, 0, 0, 2,
    ];

    fn request_repr() -> ArpRepr {
        ArpRepr {
            operation: Operation::Request,
            source_hardware_addr: MacAddr([2, 0, 0, 0, 0, 1]),
            source_protocol_addr: Ipv4Addr::new(10, 0, 0, 1),
            target_hardware_addr: MacAddr::ZERO,
            target_protocol_addr: Ipv4Addr::new(10, 0, 0, 2),
        }
    }

    #[test]
    fn parse_request() {
        let p = Packet::new_checked(&REQUEST[..]).unwrap();
        assert_eq!(p.hardware_type(), 1);
        assert_eq!(p.protocol_type(), 0x0800);
        assert_eq!(p.operation(), Operation::Request);
        assert_eq!(p.target_protocol_addr(), &[10, 0, 0, 2]);
        assert_eq!(ArpRepr::parse(&p), Ok(request_repr()));
    }

    #[test]
    fn emit_matches_fixture() {
        let mut buf = [0u8; 28];
        request_repr().emit(&mut Packet::new_unchecked(&mut buf[..]));
        assert_eq!(buf, REQUEST);
    }

    #[test]
    fn truncated_and_unsupported() {
        assert_eq!(
            Packet::new_checked(&REQUEST[..7]).unwrap_err(),
            ArpError::Truncated
        );
        assert_eq!(
            Packet::new_checked(&REQUEST[..27]).unwrap_err(),
            ArpError::Truncated
        );
        // Declared lengths larger than the buffer.
        let mut big = REQUEST;
        big[4] = 200;
        assert_eq!(
            Packet::new_checked(&big[..]).unwrap_err(),
            ArpError::Truncated
        );
        // IPv6-style plen 16 inside a long enough buffer: valid view, unsupported repr.
        let mut other = [0u8; 8 + 2 * (6 + 16)];
        other[..8].copy_from_slice(&[0, 1, 0x86, 0xdd, 6, 16, 0, 1]);
        let p = Packet::new_checked(&other[..]).unwrap();
        assert_eq!(ArpRepr::parse(&p), Err(ArpError::Unsupported));
    }

    #[test]
    fn opcodes_follow_iana() {
        for v in 0u16..=12 {
            assert_eq!(u16::from(Operation::from(v)), v);
        }
        assert_eq!(Operation::from(9), Operation::InArpReply);
        assert_eq!(Operation::from(10), Operation::ArpNak);
        assert_eq!(Operation::from(11), Operation::Unknown(11));
        assert!(Operation::DrarpError.is_reverse_family());
        assert!(!Operation::InArpRequest.is_reverse_family());
    }
}
