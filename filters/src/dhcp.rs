//! DHCP wire format (RFC 2131 §2, the BOOTP header of RFC 951, options as
//! RFC 2132 §2 lays them out): a zero-copy [`Packet`] view whose
//! `new_checked` validates the fixed header and the magic cookie once, so
//! no getter can panic; a total [`OptionIter`] over the options field; and
//! a small validated [`DhcpRepr`] holding what the switch's responder reads
//! from a client and writes back.
//!
//! Only the `options` field is read: option overload (RFC 2132 §9.3, option
//! 52, which moves options into `sname`/`file`) is not followed, since the
//! options a client sends to a server fit the options field.

use core::net::Ipv4Addr;

use crate::mac::MacAddr;

/// UDP port of DHCP servers (RFC 2131 §4.1).
pub const SERVER_PORT: u16 = 67;
/// UDP port of DHCP clients (RFC 2131 §4.1).
pub const CLIENT_PORT: u16 = 68;
/// The magic cookie that starts the options field (RFC 2131 §3, RFC 1497).
pub const MAGIC_COOKIE: [u8; 4] = [99, 130, 83, 99];
/// `op` of a message from client to server.
pub const BOOTREQUEST: u8 = 1;
/// `op` of a message from server to client.
pub const BOOTREPLY: u8 = 2;
/// The broadcast bit of `flags` (RFC 2131 §2, Figure 2).
pub const FLAG_BROADCAST: u16 = 0x8000;
/// The hardware type of Ethernet (IANA "Hardware Types").
pub const HTYPE_ETHERNET: u8 = 1;

/// Option codes the responder reads or writes (RFC 2132 unless noted).
pub mod opt {
    /// Pad (§3.1): one octet, no length.
    pub const PAD: u8 = 0;
    /// Subnet mask (§3.3).
    pub const SUBNET_MASK: u8 = 1;
    /// Router (§3.5).
    pub const ROUTER: u8 = 3;
    /// Domain name server (§3.8).
    pub const DNS: u8 = 6;
    /// Domain name (§3.17).
    pub const DOMAIN_NAME: u8 = 15;
    /// Interface MTU (§5.1).
    pub const INTERFACE_MTU: u8 = 26;
    /// Broadcast address (§5.3).
    pub const BROADCAST: u8 = 28;
    /// NTP servers (§8.3).
    pub const NTP: u8 = 42;
    /// Requested IP address (§9.1).
    pub const REQUESTED_IP: u8 = 50;
    /// IP address lease time (§9.2).
    pub const LEASE_TIME: u8 = 51;
    /// DHCP message type (§9.6).
    pub const MESSAGE_TYPE: u8 = 53;
    /// Server identifier (§9.7).
    pub const SERVER_ID: u8 = 54;
    /// Parameter request list (§9.8).
    pub const PARAMETER_REQUEST_LIST: u8 = 55;
    /// Renewal (T1) time (§9.11).
    pub const RENEWAL_TIME: u8 = 58;
    /// Rebinding (T2) time (§9.12).
    pub const REBINDING_TIME: u8 = 59;
    /// Domain search list (RFC 3397).
    pub const DOMAIN_SEARCH: u8 = 119;
    /// Classless static routes (RFC 3442).
    pub const CLASSLESS_ROUTES: u8 = 121;
    /// End (§3.2): one octet, no length.
    pub const END: u8 = 255;
}

mod field {
    use core::ops::Range;

    pub const OP: usize = 0;
    pub const HTYPE: usize = 1;
    pub const HLEN: usize = 2;
    pub const HOPS: usize = 3;
    pub const XID: Range<usize> = 4..8;
    pub const SECS: Range<usize> = 8..10;
    pub const FLAGS: Range<usize> = 10..12;
    pub const CIADDR: Range<usize> = 12..16;
    pub const YIADDR: Range<usize> = 16..20;
    pub const SIADDR: Range<usize> = 20..24;
    pub const GIADDR: Range<usize> = 24..28;
    pub const CHADDR: Range<usize> = 28..44;
    /// `sname` and `file`, which the responder leaves zero.
    pub const SNAME_FILE: Range<usize> = 44..236;
    pub const MAGIC: Range<usize> = 236..240;
    pub const OPTIONS: usize = 240;
}

/// Octets before the options: the BOOTP header and the magic cookie.
pub const HEADER_LEN: usize = field::OPTIONS;
/// The smallest BOOTP message relays and old clients accept (RFC 1542
/// §3.1.1: 300 octets); replies are padded up to it.
pub const MIN_MESSAGE_LEN: usize = 300;
/// The largest DHCP message every client must accept (RFC 2131 §2: a
/// 576-octet IP datagram, so 312 octets of options); replies never exceed it.
pub const MAX_MESSAGE_LEN: usize = 576 - 20 - 8;

/// Why a DHCP message could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DhcpError {
    /// Shorter than the BOOTP header and magic cookie.
    #[error("DHCP message truncated")]
    Truncated,
    /// The options field does not start with the magic cookie: BOOTP, or
    /// not DHCP at all.
    #[error("no DHCP magic cookie")]
    BadMagic,
    /// An option's length runs past the end of the message.
    #[error("DHCP option truncated")]
    OptionTruncated,
    /// A known option with a length its definition does not allow.
    #[error("DHCP option {0} has a bad length")]
    OptionLength(u8),
    /// No message type option (53): BOOTP, which the responder does not serve.
    #[error("DHCP message without a message type")]
    NoMessageType,
    /// Hardware type or length other than Ethernet's 1/6.
    #[error("DHCP for a hardware type other than Ethernet")]
    Unsupported,
}

/// DHCP message types (RFC 2132 §9.6, RFC 4388 for 10..=13 and beyond
/// being [`MessageType::Unknown`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MessageType {
    /// 1
    Discover,
    /// 2
    Offer,
    /// 3
    Request,
    /// 4
    Decline,
    /// 5
    Ack,
    /// 6
    Nak,
    /// 7
    Release,
    /// 8
    Inform,
    /// Anything else (lease query, bulk lease query...); kept so parsing is total.
    Unknown(u8),
}

impl From<u8> for MessageType {
    fn from(v: u8) -> MessageType {
        match v {
            1 => MessageType::Discover,
            2 => MessageType::Offer,
            3 => MessageType::Request,
            4 => MessageType::Decline,
            5 => MessageType::Ack,
            6 => MessageType::Nak,
            7 => MessageType::Release,
            8 => MessageType::Inform,
            other => MessageType::Unknown(other),
        }
    }
}

impl From<MessageType> for u8 {
    fn from(t: MessageType) -> u8 {
        match t {
            MessageType::Discover => 1,
            MessageType::Offer => 2,
            MessageType::Request => 3,
            MessageType::Decline => 4,
            MessageType::Ack => 5,
            MessageType::Nak => 6,
            MessageType::Release => 7,
            MessageType::Inform => 8,
            MessageType::Unknown(v) => v,
        }
    }
}

/// A read-only or mutable view of a DHCP message (the UDP payload).
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

    /// Wraps a buffer after [`Packet::check_len`] and the magic cookie.
    pub fn new_checked(buffer: T) -> Result<Packet<T>, DhcpError> {
        let p = Packet::new_unchecked(buffer);
        p.check_len()?;
        if p.magic() != MAGIC_COOKIE {
            return Err(DhcpError::BadMagic);
        }
        Ok(p)
    }

    /// Ensures the fixed header and the cookie fit, so no getter can index
    /// past the end. Options are checked as they are read ([`OptionIter`]).
    pub fn check_len(&self) -> Result<(), DhcpError> {
        if self.buffer.as_ref().len() < HEADER_LEN {
            return Err(DhcpError::Truncated);
        }
        Ok(())
    }

    /// Gives the buffer back.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn b(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    fn be16(&self, r: core::ops::Range<usize>) -> u16 {
        let b = &self.b()[r];
        u16::from_be_bytes([b[0], b[1]])
    }

    fn ip(&self, r: core::ops::Range<usize>) -> Ipv4Addr {
        let b = &self.b()[r];
        Ipv4Addr::new(b[0], b[1], b[2], b[3])
    }

    /// `op`: [`BOOTREQUEST`] or [`BOOTREPLY`].
    pub fn op(&self) -> u8 {
        self.b()[field::OP]
    }

    /// Hardware address type.
    pub fn htype(&self) -> u8 {
        self.b()[field::HTYPE]
    }

    /// Hardware address length.
    pub fn hlen(&self) -> u8 {
        self.b()[field::HLEN]
    }

    /// Relay hops.
    pub fn hops(&self) -> u8 {
        self.b()[field::HOPS]
    }

    /// Transaction ID.
    pub fn xid(&self) -> u32 {
        let b = &self.b()[field::XID];
        u32::from_be_bytes([b[0], b[1], b[2], b[3]])
    }

    /// Seconds since the client began.
    pub fn secs(&self) -> u16 {
        self.be16(field::SECS)
    }

    /// Flags ([`FLAG_BROADCAST`]).
    pub fn flags(&self) -> u16 {
        self.be16(field::FLAGS)
    }

    /// Client IP address (set only when the client has one).
    pub fn ciaddr(&self) -> Ipv4Addr {
        self.ip(field::CIADDR)
    }

    /// "Your" IP address: what the server gives.
    pub fn yiaddr(&self) -> Ipv4Addr {
        self.ip(field::YIADDR)
    }

    /// Next server's IP address.
    pub fn siaddr(&self) -> Ipv4Addr {
        self.ip(field::SIADDR)
    }

    /// Relay agent's IP address.
    pub fn giaddr(&self) -> Ipv4Addr {
        self.ip(field::GIADDR)
    }

    /// The 16-octet client hardware address field.
    pub fn chaddr_field(&self) -> &[u8] {
        &self.b()[field::CHADDR]
    }

    /// The magic cookie's octets.
    pub fn magic(&self) -> [u8; 4] {
        let b = &self.b()[field::MAGIC];
        [b[0], b[1], b[2], b[3]]
    }

    /// The options after the cookie.
    pub fn options(&self) -> OptionIter<'_> {
        OptionIter {
            rest: &self.b()[field::OPTIONS..],
        }
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    fn set_ip(&mut self, r: core::ops::Range<usize>, v: Ipv4Addr) {
        self.buffer.as_mut()[r].copy_from_slice(&v.octets())
    }

    /// Sets `op`.
    pub fn set_op(&mut self, v: u8) {
        self.buffer.as_mut()[field::OP] = v
    }

    /// Sets the hardware type and length to Ethernet's.
    pub fn set_ethernet(&mut self) {
        let b = self.buffer.as_mut();
        b[field::HTYPE] = HTYPE_ETHERNET;
        b[field::HLEN] = 6;
    }

    /// Sets the relay hops.
    pub fn set_hops(&mut self, v: u8) {
        self.buffer.as_mut()[field::HOPS] = v
    }

    /// Sets the transaction ID.
    pub fn set_xid(&mut self, v: u32) {
        self.buffer.as_mut()[field::XID].copy_from_slice(&v.to_be_bytes())
    }

    /// Sets the seconds field.
    pub fn set_secs(&mut self, v: u16) {
        self.buffer.as_mut()[field::SECS].copy_from_slice(&v.to_be_bytes())
    }

    /// Sets the flags.
    pub fn set_flags(&mut self, v: u16) {
        self.buffer.as_mut()[field::FLAGS].copy_from_slice(&v.to_be_bytes())
    }

    /// Sets `ciaddr`.
    pub fn set_ciaddr(&mut self, v: Ipv4Addr) {
        self.set_ip(field::CIADDR, v)
    }

    /// Sets `yiaddr`.
    pub fn set_yiaddr(&mut self, v: Ipv4Addr) {
        self.set_ip(field::YIADDR, v)
    }

    /// Sets `siaddr`.
    pub fn set_siaddr(&mut self, v: Ipv4Addr) {
        self.set_ip(field::SIADDR, v)
    }

    /// Sets `giaddr`.
    pub fn set_giaddr(&mut self, v: Ipv4Addr) {
        self.set_ip(field::GIADDR, v)
    }

    /// Sets `chaddr` to an Ethernet address, zero-padded to 16 octets.
    pub fn set_chaddr(&mut self, mac: MacAddr) {
        let b = &mut self.buffer.as_mut()[field::CHADDR];
        b[..6].copy_from_slice(&mac.0);
        b[6..].fill(0);
    }

    /// Zeroes `sname` and `file` and writes the magic cookie.
    pub fn clear_sname_file_and_set_magic(&mut self) {
        let b = self.buffer.as_mut();
        b[field::SNAME_FILE].fill(0);
        b[field::MAGIC].copy_from_slice(&MAGIC_COOKIE);
    }

    /// The options field, for an [`OptionWriter`].
    pub fn options_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[field::OPTIONS..]
    }
}

/// Walks the options field: yields `(code, data)` for every option but
/// Pad, stops at End or at the end of the buffer (RFC 2131 does not
/// require End when the field is full), and yields one error and stops
/// when a length runs past the end.
#[derive(Debug, Clone)]
pub struct OptionIter<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for OptionIter<'a> {
    type Item = Result<(u8, &'a [u8]), DhcpError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let (&code, after) = self.rest.split_first()?;
            match code {
                opt::PAD => self.rest = after,
                opt::END => {
                    self.rest = &[];
                    return None;
                }
                _ => {
                    let Some((&len, body)) = after.split_first() else {
                        self.rest = &[];
                        return Some(Err(DhcpError::OptionTruncated));
                    };
                    let Some(data) = body.get(..usize::from(len)) else {
                        self.rest = &[];
                        return Some(Err(DhcpError::OptionTruncated));
                    };
                    self.rest = &body[usize::from(len)..];
                    return Some(Ok((code, data)));
                }
            }
        }
    }
}

/// Appends options to an options field; every write checks the room left,
/// so a full field is an error, never a panic.
#[derive(Debug)]
pub struct OptionWriter<'a> {
    buf: &'a mut [u8],
    len: usize,
}

/// The options field is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("DHCP options do not fit")]
pub struct OptionsFull;

impl<'a> OptionWriter<'a> {
    /// Starts writing at the beginning of `buf`.
    pub fn new(buf: &'a mut [u8]) -> OptionWriter<'a> {
        OptionWriter { buf, len: 0 }
    }

    /// Octets written so far.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing was written yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Appends raw, already encoded options.
    pub fn raw(&mut self, bytes: &[u8]) -> Result<(), OptionsFull> {
        let end = self.len + bytes.len();
        self.buf
            .get_mut(self.len..end)
            .ok_or(OptionsFull)?
            .copy_from_slice(bytes);
        self.len = end;
        Ok(())
    }

    /// Appends one option; `data` must be at most 255 octets.
    pub fn option(&mut self, code: u8, data: &[u8]) -> Result<(), OptionsFull> {
        let len = u8::try_from(data.len()).map_err(|_| OptionsFull)?;
        self.raw(&[code, len])?;
        self.raw(data)
    }

    /// Appends an option holding one address.
    pub fn ip(&mut self, code: u8, ip: Ipv4Addr) -> Result<(), OptionsFull> {
        self.option(code, &ip.octets())
    }

    /// Appends an option holding one 32-bit number.
    pub fn u32(&mut self, code: u8, v: u32) -> Result<(), OptionsFull> {
        self.option(code, &v.to_be_bytes())
    }

    /// Appends End.
    pub fn end(&mut self) -> Result<(), OptionsFull> {
        self.raw(&[opt::END])
    }
}

/// A set of option codes (the parameter request list), as 256 bits so the
/// repr stays `Copy` and parsing never allocates.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct OptionSet([u64; 4]);

impl OptionSet {
    /// Adds `code`.
    pub fn insert(&mut self, code: u8) {
        self.0[usize::from(code >> 6)] |= 1 << (code & 63);
    }

    /// Whether `code` is in the set.
    pub fn contains(&self, code: u8) -> bool {
        self.0[usize::from(code >> 6)] & (1 << (code & 63)) != 0
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.0 == [0; 4]
    }

    /// The codes in ascending order.
    pub fn iter(&self) -> impl Iterator<Item = u8> + '_ {
        (0..=255u8).filter(|c| self.contains(*c))
    }
}

/// What the responder reads from a client's message and writes into its
/// own: the header fields, and the options that steer the exchange.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DhcpRepr {
    /// [`BOOTREQUEST`] or [`BOOTREPLY`].
    pub op: u8,
    /// Message type (option 53).
    pub message_type: MessageType,
    /// Transaction ID.
    pub xid: u32,
    /// Seconds since the client began.
    pub secs: u16,
    /// Flags ([`FLAG_BROADCAST`]).
    pub flags: u16,
    /// Relay hops.
    pub hops: u8,
    /// Client IP address.
    pub ciaddr: Ipv4Addr,
    /// "Your" IP address.
    pub yiaddr: Ipv4Addr,
    /// Next server.
    pub siaddr: Ipv4Addr,
    /// Relay agent.
    pub giaddr: Ipv4Addr,
    /// Client hardware address (Ethernet only).
    pub chaddr: MacAddr,
    /// Requested IP address (option 50).
    pub requested_ip: Option<Ipv4Addr>,
    /// Server identifier (option 54).
    pub server_id: Option<Ipv4Addr>,
    /// Lease time (option 51).
    pub lease_secs: Option<u32>,
    /// Parameter request list (option 55), as a set.
    pub parameters: OptionSet,
}

fn ipv4_opt(code: u8, data: &[u8]) -> Result<Ipv4Addr, DhcpError> {
    let a: [u8; 4] = data.try_into().map_err(|_| DhcpError::OptionLength(code))?;
    Ok(Ipv4Addr::from(a))
}

impl DhcpRepr {
    /// Reads a checked message: Ethernet hardware addresses and a message
    /// type are required; the last copy of a repeated option wins, except
    /// the parameter request list, whose copies are joined (RFC 3396).
    pub fn parse<T: AsRef<[u8]>>(p: &Packet<T>) -> Result<DhcpRepr, DhcpError> {
        p.check_len()?;
        if p.magic() != MAGIC_COOKIE {
            return Err(DhcpError::BadMagic);
        }
        if p.htype() != HTYPE_ETHERNET || p.hlen() != 6 {
            return Err(DhcpError::Unsupported);
        }
        let chaddr = MacAddr::from_slice(&p.chaddr_field()[..6]).ok_or(DhcpError::Truncated)?;
        let mut message_type = None;
        let mut requested_ip = None;
        let mut server_id = None;
        let mut lease_secs = None;
        let mut parameters = OptionSet::default();
        for o in p.options() {
            let (code, data) = o?;
            match code {
                opt::MESSAGE_TYPE => match data {
                    [t] => message_type = Some(MessageType::from(*t)),
                    _ => return Err(DhcpError::OptionLength(code)),
                },
                opt::REQUESTED_IP => requested_ip = Some(ipv4_opt(code, data)?),
                opt::SERVER_ID => server_id = Some(ipv4_opt(code, data)?),
                opt::LEASE_TIME => {
                    let a: [u8; 4] = data.try_into().map_err(|_| DhcpError::OptionLength(code))?;
                    lease_secs = Some(u32::from_be_bytes(a));
                }
                opt::PARAMETER_REQUEST_LIST => {
                    for c in data {
                        parameters.insert(*c);
                    }
                }
                _ => {}
            }
        }
        Ok(DhcpRepr {
            op: p.op(),
            message_type: message_type.ok_or(DhcpError::NoMessageType)?,
            xid: p.xid(),
            secs: p.secs(),
            flags: p.flags(),
            hops: p.hops(),
            ciaddr: p.ciaddr(),
            yiaddr: p.yiaddr(),
            siaddr: p.siaddr(),
            giaddr: p.giaddr(),
            chaddr,
            requested_ip,
            server_id,
            lease_secs,
            parameters,
        })
    }

    /// Writes the fixed header and the cookie (no options) into `p`, whose
    /// buffer must hold at least [`HEADER_LEN`] octets.
    pub fn emit_header<T: AsRef<[u8]> + AsMut<[u8]>>(&self, p: &mut Packet<T>) {
        p.set_op(self.op);
        p.set_ethernet();
        p.set_hops(self.hops);
        p.set_xid(self.xid);
        p.set_secs(self.secs);
        p.set_flags(self.flags);
        p.set_ciaddr(self.ciaddr);
        p.set_yiaddr(self.yiaddr);
        p.set_siaddr(self.siaddr);
        p.set_giaddr(self.giaddr);
        p.set_chaddr(self.chaddr);
        p.clear_sname_file_and_set_magic();
    }

    /// Writes the whole message (header, the options this repr holds, End)
    /// into `buf`; returns its length, or `None` when `buf` is too small.
    pub fn emit(&self, buf: &mut [u8]) -> Option<usize> {
        let buf_len = buf.len();
        if buf_len < HEADER_LEN {
            return None;
        }
        let mut p = Packet::new_unchecked(&mut *buf);
        self.emit_header(&mut p);
        let mut w = OptionWriter::new(p.options_mut());
        let mut opts = || -> Result<(), OptionsFull> {
            w.option(opt::MESSAGE_TYPE, &[self.message_type.into()])?;
            if let Some(ip) = self.requested_ip {
                w.ip(opt::REQUESTED_IP, ip)?;
            }
            if let Some(ip) = self.server_id {
                w.ip(opt::SERVER_ID, ip)?;
            }
            if let Some(s) = self.lease_secs {
                w.u32(opt::LEASE_TIME, s)?;
            }
            // All 256 codes take two instances (RFC 3396 concatenation,
            // which `parse` follows by taking the union).
            let mut list = [0u8; 255];
            let mut n = 0;
            for c in self.parameters.iter() {
                if n == list.len() {
                    w.option(opt::PARAMETER_REQUEST_LIST, &list)?;
                    n = 0;
                }
                list[n] = c;
                n += 1;
            }
            if n > 0 {
                w.option(opt::PARAMETER_REQUEST_LIST, &list[..n])?;
            }
            w.end()
        };
        opts().ok()?;
        Some(HEADER_LEN + w.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A DISCOVER as udhcpc sends it (abridged options): xid 0x3903f326,
    /// broadcast flag, chaddr 02:00:00:04:00:01, requests 1, 3, 6, 15, 121.
    fn discover() -> Vec<u8> {
        let mut m = vec![0u8; 240];
        m[0] = 1;
        m[1] = 1;
        m[2] = 6;
        m[4..8].copy_from_slice(&[0x39, 0x03, 0xf3, 0x26]);
        m[10] = 0x80;
        m[28..34].copy_from_slice(&[2, 0, 0, 4, 0, 1]);
        m[236..240].copy_from_slice(&MAGIC_COOKIE);
        m.extend_from_slice(&[53, 1, 1]);
        m.extend_from_slice(&[0, 0]); // pads are skipped
        m.extend_from_slice(&[55, 5, 1, 3, 6, 15, 121]);
        m.extend_from_slice(&[50, 4, 10, 0, 0, 9]);
        m.push(255);
        m.extend_from_slice(&[0; 20]); // Ethernet/BOOTP padding after End
        m
    }

    #[test]
    fn parse_discover() {
        let m = discover();
        let p = Packet::new_checked(&m[..]).unwrap();
        assert_eq!(p.op(), BOOTREQUEST);
        assert_eq!(p.xid(), 0x3903_f326);
        assert_eq!(p.flags(), FLAG_BROADCAST);
        let r = DhcpRepr::parse(&p).unwrap();
        assert_eq!(r.message_type, MessageType::Discover);
        assert_eq!(r.chaddr, MacAddr([2, 0, 0, 4, 0, 1]));
        assert_eq!(r.requested_ip, Some(Ipv4Addr::new(10, 0, 0, 9)));
        assert_eq!(r.server_id, None);
        assert_eq!(
            r.parameters.iter().collect::<Vec<_>>(),
            vec![1, 3, 6, 15, 121]
        );
    }

    #[test]
    fn malformed_messages_are_named() {
        let m = discover();
        assert_eq!(
            Packet::new_checked(&m[..239]).unwrap_err(),
            DhcpError::Truncated
        );
        let mut bad = m.clone();
        bad[236] = 0;
        assert_eq!(
            Packet::new_checked(&bad[..]).unwrap_err(),
            DhcpError::BadMagic
        );
        // An option whose length runs off the end.
        let mut cut = m[..240].to_vec();
        cut.extend_from_slice(&[53, 1, 1, 55, 9, 1]);
        let p = Packet::new_checked(&cut[..]).unwrap();
        assert_eq!(DhcpRepr::parse(&p), Err(DhcpError::OptionTruncated));
        // A code with no length octet.
        let mut cut = m[..240].to_vec();
        cut.push(53);
        let p = Packet::new_checked(&cut[..]).unwrap();
        assert_eq!(DhcpRepr::parse(&p), Err(DhcpError::OptionTruncated));
        // No message type: BOOTP.
        let mut bootp = m[..240].to_vec();
        bootp.push(255);
        let p = Packet::new_checked(&bootp[..]).unwrap();
        assert_eq!(DhcpRepr::parse(&p), Err(DhcpError::NoMessageType));
        // Requested IP of 3 octets.
        let mut short = m[..240].to_vec();
        short.extend_from_slice(&[53, 1, 1, 50, 3, 1, 2, 3]);
        let p = Packet::new_checked(&short[..]).unwrap();
        assert_eq!(DhcpRepr::parse(&p), Err(DhcpError::OptionLength(50)));
        // Token ring.
        let mut tr = m.clone();
        tr[1] = 6;
        let p = Packet::new_checked(&tr[..]).unwrap();
        assert_eq!(DhcpRepr::parse(&p), Err(DhcpError::Unsupported));
    }

    #[test]
    fn message_types_round_trip() {
        for v in 0..=255u8 {
            assert_eq!(u8::from(MessageType::from(v)), v);
        }
        assert_eq!(MessageType::from(8), MessageType::Inform);
        assert_eq!(MessageType::from(9), MessageType::Unknown(9));
    }

    #[test]
    fn a_full_parameter_request_list_survives_the_round_trip() {
        let m = discover();
        let mut r = DhcpRepr::parse(&Packet::new_checked(&m[..]).unwrap()).unwrap();
        for c in 0..=255 {
            r.parameters.insert(c);
        }
        let mut buf = [0u8; MAX_MESSAGE_LEN];
        let n = r.emit(&mut buf).unwrap();
        let back = DhcpRepr::parse(&Packet::new_checked(&buf[..n]).unwrap()).unwrap();
        assert_eq!(back, r);
    }

    #[test]
    fn writer_refuses_what_does_not_fit() {
        let mut buf = [0u8; 6];
        let mut w = OptionWriter::new(&mut buf);
        assert_eq!(w.ip(opt::ROUTER, Ipv4Addr::LOCALHOST), Ok(()));
        assert_eq!(w.end(), Err(OptionsFull));
        assert_eq!(w.len(), 6);
        assert_eq!(
            OptionWriter::new(&mut [0u8; 300]).option(1, &[0; 256]),
            Err(OptionsFull)
        );
    }

    mod props {
        use super::super::*;
        use proptest::prelude::*;

        fn ip() -> impl Strategy<Value = Ipv4Addr> {
            any::<u32>().prop_map(Ipv4Addr::from)
        }

        prop_compose! {
            fn repr()(
                op in 1u8..=2, t in any::<u8>(), xid in any::<u32>(), secs in any::<u16>(),
                flags in any::<u16>(), hops in any::<u8>(),
                addrs in (ip(), ip(), ip(), ip()),
                mac in any::<[u8; 6]>(),
                requested_ip in proptest::option::of(ip()),
                server_id in proptest::option::of(ip()),
                lease_secs in proptest::option::of(any::<u32>()),
                params in proptest::collection::vec(1u8..=254, 0..40),
            ) -> DhcpRepr {
                let mut parameters = OptionSet::default();
                for c in params {
                    parameters.insert(c);
                }
                DhcpRepr {
                    op, message_type: MessageType::from(t), xid, secs, flags, hops,
                    ciaddr: addrs.0, yiaddr: addrs.1, siaddr: addrs.2, giaddr: addrs.3,
                    chaddr: MacAddr(mac), requested_ip, server_id, lease_secs, parameters,
                }
            }
        }

        proptest! {
            #[test]
            fn parse_emit_round_trips(r in repr()) {
                let mut buf = [0u8; MAX_MESSAGE_LEN];
                let n = r.emit(&mut buf).unwrap();
                let p = Packet::new_checked(&buf[..n]).unwrap();
                prop_assert_eq!(DhcpRepr::parse(&p), Ok(r));
            }

            #[test]
            fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
                if let Ok(p) = Packet::new_checked(&bytes[..]) {
                    let _ = DhcpRepr::parse(&p);
                    for o in p.options() {
                        let _ = o;
                    }
                }
            }
        }
    }
}
