//! The BPDUs of 802.1D-2004 clause 9: Configuration (35 octets),
//! Topology Change Notification (4 octets) and RST (36 octets).

use super::{Error, MacAddr};
use core::fmt;
use serde::{Deserialize, Serialize};

/// Octets of a Configuration BPDU (9.3.1).
pub const CONFIG_BPDU_LEN: usize = 35;
/// Octets of a Topology Change Notification BPDU (9.3.2).
pub const TCN_BPDU_LEN: usize = 4;
/// Octets of an RST BPDU (9.3.3), including the Version 1 Length octet.
pub const RST_BPDU_LEN: usize = 36;

/// Byte ranges of the BPDU fields (9.3.1, 9.3.3), as in smoltcp's `mod field`.
mod field {
    use core::ops::Range;
    pub const PROTOCOL_ID: Range<usize> = 0..2;
    pub const VERSION: usize = 2;
    pub const TYPE: usize = 3;
    pub const FLAGS: usize = 4;
    pub const ROOT_ID: Range<usize> = 5..13;
    pub const ROOT_PATH_COST: Range<usize> = 13..17;
    pub const BRIDGE_ID: Range<usize> = 17..25;
    pub const PORT_ID: Range<usize> = 25..27;
    pub const MESSAGE_AGE: Range<usize> = 27..29;
    pub const MAX_AGE: Range<usize> = 29..31;
    pub const HELLO_TIME: Range<usize> = 31..33;
    pub const FORWARD_DELAY: Range<usize> = 33..35;
    pub const VERSION1_LENGTH: usize = 35;
}

/// A Bridge Identifier (9.2.5): 16-bit priority (4-bit priority in units of
/// 4096 plus the 12-bit system ID extension) followed by the bridge MAC.
/// The derived ordering is the standard's: numerically lower is better.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct BridgeId {
    /// Priority including the system ID extension (low 12 bits).
    pub priority: u16,
    /// The bridge address.
    pub mac: MacAddr,
}

impl BridgeId {
    /// Builds a Bridge Identifier from priority and address.
    pub const fn new(priority: u16, mac: MacAddr) -> Self {
        BridgeId { priority, mac }
    }
    fn from_bytes(b: &[u8]) -> Self {
        BridgeId {
            priority: u16::from_be_bytes([b[0], b[1]]),
            mac: MacAddr::from_slice(&b[2..8]).unwrap_or_default(),
        }
    }
    fn to_bytes(self) -> [u8; 8] {
        let mut o = [0u8; 8];
        o[..2].copy_from_slice(&self.priority.to_be_bytes());
        o[2..].copy_from_slice(&self.mac.0);
        o
    }
}

impl fmt::Display for BridgeId {
    /// Same notation as tcpdump: `8000.02:00:00:00:00:01`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04x}.{}", self.priority, self.mac)
    }
}

impl From<BridgeId> for String {
    fn from(b: BridgeId) -> String {
        b.to_string()
    }
}

impl core::str::FromStr for BridgeId {
    type Err = String;
    /// Parses tcpdump's notation, `8000.02:00:00:00:00:01`.
    fn from_str(s: &str) -> Result<Self, String> {
        let (p, m) = s
            .split_once('.')
            .ok_or_else(|| format!("bridge ID {s:?} is not PRIO.MAC"))?;
        let priority =
            u16::from_str_radix(p, 16).map_err(|_| format!("bad priority {p:?} in {s:?}"))?;
        Ok(BridgeId::new(priority, m.parse()?))
    }
}

impl TryFrom<String> for BridgeId {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        s.parse()
    }
}

impl fmt::Debug for BridgeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A Port Identifier (9.2.7): 4-bit priority (in units of 16) and 12-bit
/// port number. Lower is better.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct PortId(pub u16);

impl PortId {
    /// Builds a Port Identifier; `priority` is 0..=240 (its low 4 bits are
    /// dropped), `number` 0..=4095 (higher bits dropped).
    pub const fn new(priority: u8, number: u16) -> Self {
        PortId(((priority as u16 & 0xF0) << 8) | (number & 0x0FFF))
    }
    /// The port priority, a multiple of 16.
    pub const fn priority(self) -> u8 {
        ((self.0 >> 8) & 0xF0) as u8
    }
    /// The port number.
    pub const fn number(self) -> u16 {
        self.0 & 0x0FFF
    }
}

impl fmt::Display for PortId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04x}", self.0)
    }
}

impl From<PortId> for String {
    fn from(p: PortId) -> String {
        p.to_string()
    }
}

impl TryFrom<String> for PortId {
    type Error = String;
    /// Parses four hex digits, as displayed.
    fn try_from(s: String) -> Result<Self, String> {
        u16::from_str_radix(&s, 16)
            .map(PortId)
            .map_err(|_| format!("bad port ID {s:?}"))
    }
}

impl fmt::Debug for PortId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A BPDU time parameter in units of 1/256 s (9.2.8).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
pub struct BpduTime(pub u16);

impl BpduTime {
    /// Encodes whole seconds.
    pub const fn from_secs(s: u16) -> Self {
        BpduTime(s.saturating_mul(256))
    }
    /// Whole seconds, rounded to nearest: the engine's timers run in whole
    /// seconds (17.13), and legacy bridges send fractional message ages.
    pub const fn to_secs_rounded(self) -> u16 {
        ((self.0 as u32 + 128) / 256) as u16
    }
    /// Seconds as a float, for display.
    pub fn as_secs_f64(self) -> f64 {
        f64::from(self.0) / 256.0
    }
}

impl fmt::Debug for BpduTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.2}s", self.as_secs_f64())
    }
}

/// The Protocol Version Identifier (9.3). Total: unknown versions are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProtocolVersion {
    /// 0: 802.1D-1998 STP.
    Stp,
    /// 2: RSTP.
    Rstp,
    /// 3: MSTP (802.1Q); its BPDUs are handled as RST BPDUs (9.3.4).
    Mstp,
    /// Any other value.
    Unknown(u8),
}

impl From<u8> for ProtocolVersion {
    fn from(v: u8) -> Self {
        match v {
            0 => ProtocolVersion::Stp,
            2 => ProtocolVersion::Rstp,
            3 => ProtocolVersion::Mstp,
            v => ProtocolVersion::Unknown(v),
        }
    }
}

impl From<ProtocolVersion> for u8 {
    fn from(v: ProtocolVersion) -> u8 {
        match v {
            ProtocolVersion::Stp => 0,
            ProtocolVersion::Rstp => 2,
            ProtocolVersion::Mstp => 3,
            ProtocolVersion::Unknown(v) => v,
        }
    }
}

/// The BPDU Type octet (9.3). Total: unknown types are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BpduType {
    /// 0x00: Configuration BPDU.
    Config,
    /// 0x80: Topology Change Notification BPDU.
    Tcn,
    /// 0x02: RST (and MST) BPDU.
    Rst,
    /// Any other value.
    Unknown(u8),
}

impl From<u8> for BpduType {
    fn from(v: u8) -> Self {
        match v {
            0x00 => BpduType::Config,
            0x80 => BpduType::Tcn,
            0x02 => BpduType::Rst,
            v => BpduType::Unknown(v),
        }
    }
}

impl From<BpduType> for u8 {
    fn from(v: BpduType) -> u8 {
        match v {
            BpduType::Config => 0x00,
            BpduType::Tcn => 0x80,
            BpduType::Rst => 0x02,
            BpduType::Unknown(v) => v,
        }
    }
}

/// The Port Role field of the RST BPDU flags (9.3.3, bits 3-4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PortRoleFlag {
    /// 0: Unknown (Master port in MSTP).
    Unknown,
    /// 1: Alternate or Backup.
    AlternateOrBackup,
    /// 2: Root.
    Root,
    /// 3: Designated.
    Designated,
}

/// The flags octet (9.3.1, 9.3.3), kept raw so that reserved bits survive
/// a parse/emit round trip.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Flags(pub u8);

impl Flags {
    /// Topology Change (bit 1).
    pub const TOPOLOGY_CHANGE: u8 = 0x01;
    /// Proposal (bit 2, RST only).
    pub const PROPOSAL: u8 = 0x02;
    /// Port Role mask (bits 3-4, RST only).
    pub const ROLE_MASK: u8 = 0x0C;
    /// Learning (bit 5, RST only).
    pub const LEARNING: u8 = 0x10;
    /// Forwarding (bit 6, RST only).
    pub const FORWARDING: u8 = 0x20;
    /// Agreement (bit 7, RST only).
    pub const AGREEMENT: u8 = 0x40;
    /// Topology Change Acknowledgment (bit 8).
    pub const TOPOLOGY_CHANGE_ACK: u8 = 0x80;

    fn bit(self, m: u8) -> bool {
        self.0 & m != 0
    }
    fn set(&mut self, m: u8, v: bool) {
        if v {
            self.0 |= m
        } else {
            self.0 &= !m
        }
    }
    /// Topology Change flag.
    pub fn topology_change(self) -> bool {
        self.bit(Self::TOPOLOGY_CHANGE)
    }
    /// Proposal flag.
    pub fn proposal(self) -> bool {
        self.bit(Self::PROPOSAL)
    }
    /// Learning flag.
    pub fn learning(self) -> bool {
        self.bit(Self::LEARNING)
    }
    /// Forwarding flag.
    pub fn forwarding(self) -> bool {
        self.bit(Self::FORWARDING)
    }
    /// Agreement flag.
    pub fn agreement(self) -> bool {
        self.bit(Self::AGREEMENT)
    }
    /// Topology Change Acknowledgment flag.
    pub fn topology_change_ack(self) -> bool {
        self.bit(Self::TOPOLOGY_CHANGE_ACK)
    }
    /// Port Role field.
    pub fn role(self) -> PortRoleFlag {
        match (self.0 & Self::ROLE_MASK) >> 2 {
            0 => PortRoleFlag::Unknown,
            1 => PortRoleFlag::AlternateOrBackup,
            2 => PortRoleFlag::Root,
            _ => PortRoleFlag::Designated,
        }
    }
    /// Sets the Topology Change flag.
    pub fn set_topology_change(&mut self, v: bool) {
        self.set(Self::TOPOLOGY_CHANGE, v)
    }
    /// Sets the Proposal flag.
    pub fn set_proposal(&mut self, v: bool) {
        self.set(Self::PROPOSAL, v)
    }
    /// Sets the Learning flag.
    pub fn set_learning(&mut self, v: bool) {
        self.set(Self::LEARNING, v)
    }
    /// Sets the Forwarding flag.
    pub fn set_forwarding(&mut self, v: bool) {
        self.set(Self::FORWARDING, v)
    }
    /// Sets the Agreement flag.
    pub fn set_agreement(&mut self, v: bool) {
        self.set(Self::AGREEMENT, v)
    }
    /// Sets the Topology Change Acknowledgment flag.
    pub fn set_topology_change_ack(&mut self, v: bool) {
        self.set(Self::TOPOLOGY_CHANGE_ACK, v)
    }
    /// Sets the Port Role field.
    pub fn set_role(&mut self, r: PortRoleFlag) {
        let v = match r {
            PortRoleFlag::Unknown => 0,
            PortRoleFlag::AlternateOrBackup => 1,
            PortRoleFlag::Root => 2,
            PortRoleFlag::Designated => 3,
        };
        self.0 = (self.0 & !Self::ROLE_MASK) | (v << 2);
    }
}

impl fmt::Debug for Flags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Flags({:#04x}", self.0)?;
        for (m, n) in [
            (Self::TOPOLOGY_CHANGE, " TC"),
            (Self::PROPOSAL, " P"),
            (Self::LEARNING, " L"),
            (Self::FORWARDING, " F"),
            (Self::AGREEMENT, " A"),
            (Self::TOPOLOGY_CHANGE_ACK, " TCA"),
        ] {
            if self.bit(m) {
                f.write_str(n)?;
            }
        }
        write!(f, " {:?})", self.role())
    }
}

/// A zero-copy view of a BPDU, validated once by [`BpduPacket::new_checked`].
#[derive(Debug, Clone, Copy)]
pub struct BpduPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> BpduPacket<T> {
    /// Wraps a buffer without checking it; getters may then panic.
    pub const fn new_unchecked(buffer: T) -> Self {
        BpduPacket { buffer }
    }

    /// Wraps a buffer after checking that it holds at least the minimum
    /// length of the BPDU type it announces (9.3.4). Getters of fields that
    /// the announced type does not have must not be called unless
    /// [`BpduPacket::has_priority_vector`] is true.
    pub fn new_checked(buffer: T) -> Result<Self, Error> {
        let p = Self::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }

    /// Checks the length against the type's minimum.
    pub fn check_len(&self) -> Result<(), Error> {
        let b = self.buffer.as_ref();
        if b.len() < TCN_BPDU_LEN {
            return Err(Error::Truncated {
                what: "BPDU",
                len: b.len(),
                need: TCN_BPDU_LEN,
            });
        }
        let need = match (BpduType::from(b[field::TYPE]), b[field::VERSION]) {
            (BpduType::Tcn, _) => TCN_BPDU_LEN,
            (BpduType::Config, _) => CONFIG_BPDU_LEN,
            (BpduType::Rst, v) if v >= 2 => RST_BPDU_LEN,
            _ => TCN_BPDU_LEN,
        };
        if b.len() < need {
            return Err(Error::Truncated {
                what: "BPDU",
                len: b.len(),
                need,
            });
        }
        Ok(())
    }

    /// True when the buffer is long enough to hold the Configuration BPDU
    /// fields (root identifier .. forward delay).
    pub fn has_priority_vector(&self) -> bool {
        self.buffer.as_ref().len() >= CONFIG_BPDU_LEN
    }

    fn u16_at(&self, r: core::ops::Range<usize>) -> u16 {
        let b = &self.buffer.as_ref()[r];
        u16::from_be_bytes([b[0], b[1]])
    }

    /// Protocol Identifier (0x0000 for spanning tree).
    pub fn protocol_id(&self) -> u16 {
        self.u16_at(field::PROTOCOL_ID)
    }
    /// Protocol Version Identifier.
    pub fn version(&self) -> ProtocolVersion {
        self.buffer.as_ref()[field::VERSION].into()
    }
    /// BPDU Type.
    pub fn bpdu_type(&self) -> BpduType {
        self.buffer.as_ref()[field::TYPE].into()
    }
    /// Flags.
    pub fn flags(&self) -> Flags {
        Flags(self.buffer.as_ref()[field::FLAGS])
    }
    /// Root Identifier.
    pub fn root_id(&self) -> BridgeId {
        BridgeId::from_bytes(&self.buffer.as_ref()[field::ROOT_ID])
    }
    /// Root Path Cost.
    pub fn root_path_cost(&self) -> u32 {
        let b = &self.buffer.as_ref()[field::ROOT_PATH_COST];
        u32::from_be_bytes([b[0], b[1], b[2], b[3]])
    }
    /// Bridge Identifier of the transmitting bridge.
    pub fn bridge_id(&self) -> BridgeId {
        BridgeId::from_bytes(&self.buffer.as_ref()[field::BRIDGE_ID])
    }
    /// Port Identifier of the transmitting port.
    pub fn port_id(&self) -> PortId {
        PortId(self.u16_at(field::PORT_ID))
    }
    /// Message Age.
    pub fn message_age(&self) -> BpduTime {
        BpduTime(self.u16_at(field::MESSAGE_AGE))
    }
    /// Max Age.
    pub fn max_age(&self) -> BpduTime {
        BpduTime(self.u16_at(field::MAX_AGE))
    }
    /// Hello Time.
    pub fn hello_time(&self) -> BpduTime {
        BpduTime(self.u16_at(field::HELLO_TIME))
    }
    /// Forward Delay.
    pub fn forward_delay(&self) -> BpduTime {
        BpduTime(self.u16_at(field::FORWARD_DELAY))
    }
}

/// The fields that Configuration and RST BPDUs share: the message priority
/// vector, the timers and the flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct PriorityBpdu {
    /// Flags (only TC and TCA are meaningful in a Configuration BPDU).
    pub flags: Flags,
    /// Root Identifier.
    pub root_id: BridgeId,
    /// Root Path Cost.
    pub root_path_cost: u32,
    /// Transmitting bridge.
    pub bridge_id: BridgeId,
    /// Transmitting port.
    pub port_id: PortId,
    /// Message Age.
    pub message_age: BpduTime,
    /// Max Age.
    pub max_age: BpduTime,
    /// Hello Time.
    pub hello_time: BpduTime,
    /// Forward Delay.
    pub forward_delay: BpduTime,
}

/// What a BPDU carries, by its validated type (9.3.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BpduBody {
    /// Configuration BPDU (any protocol version).
    Config(PriorityBpdu),
    /// Topology Change Notification BPDU (any protocol version).
    Tcn,
    /// RST BPDU (protocol version 2 or greater).
    Rst(PriorityBpdu),
}

/// A validated BPDU (9.3.4): the version octet as received and the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Bpdu {
    /// Protocol Version Identifier as received (or to be sent).
    pub version: ProtocolVersion,
    /// The BPDU by type.
    pub body: BpduBody,
}

impl Bpdu {
    /// A Configuration BPDU at version 0.
    pub fn config(p: PriorityBpdu) -> Self {
        Bpdu {
            version: ProtocolVersion::Stp,
            body: BpduBody::Config(p),
        }
    }
    /// A TCN BPDU at version 0.
    pub fn tcn() -> Self {
        Bpdu {
            version: ProtocolVersion::Stp,
            body: BpduBody::Tcn,
        }
    }
    /// An RST BPDU at version 2.
    pub fn rst(p: PriorityBpdu) -> Self {
        Bpdu {
            version: ProtocolVersion::Rstp,
            body: BpduBody::Rst(p),
        }
    }

    /// Validates a BPDU per 802.1D-2004 9.3.4. Octets after the type's
    /// length (frame padding, MSTP extensions) are ignored, as the clause
    /// requires "at least" that many octets.
    pub fn parse<T: AsRef<[u8]>>(p: &BpduPacket<T>) -> Result<Self, Error> {
        p.check_len()?;
        if p.protocol_id() != 0 {
            return Err(Error::UnknownProtocolId(p.protocol_id()));
        }
        let version = p.version();
        let fields = || PriorityBpdu {
            flags: p.flags(),
            root_id: p.root_id(),
            root_path_cost: p.root_path_cost(),
            bridge_id: p.bridge_id(),
            port_id: p.port_id(),
            message_age: p.message_age(),
            max_age: p.max_age(),
            hello_time: p.hello_time(),
            forward_delay: p.forward_delay(),
        };
        let body = match (p.bpdu_type(), u8::from(version)) {
            (BpduType::Config, _) => BpduBody::Config(fields()),
            (BpduType::Tcn, _) => BpduBody::Tcn,
            (BpduType::Rst, v) if v >= 2 => BpduBody::Rst(fields()),
            (t, v) => {
                return Err(Error::UnknownBpduType {
                    bpdu_type: t.into(),
                    version: v,
                })
            }
        };
        Ok(Bpdu { version, body })
    }

    /// Parses a BPDU from raw octets.
    pub fn parse_bytes(b: &[u8]) -> Result<Self, Error> {
        Self::parse(&BpduPacket::new_checked(b)?)
    }

    /// The BPDU type this value encodes as.
    pub fn bpdu_type(&self) -> BpduType {
        match self.body {
            BpduBody::Config(_) => BpduType::Config,
            BpduBody::Tcn => BpduType::Tcn,
            BpduBody::Rst(_) => BpduType::Rst,
        }
    }

    /// Octets that [`Bpdu::emit`] writes.
    pub fn buffer_len(&self) -> usize {
        match self.body {
            BpduBody::Config(_) => CONFIG_BPDU_LEN,
            BpduBody::Tcn => TCN_BPDU_LEN,
            BpduBody::Rst(_) => RST_BPDU_LEN,
        }
    }

    /// Writes the BPDU at the start of `buf`; returns octets written.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, Error> {
        let len = self.buffer_len();
        if buf.len() < len {
            return Err(Error::BufferTooSmall {
                len: buf.len(),
                need: len,
            });
        }
        let b = &mut buf[..len];
        b[field::PROTOCOL_ID].copy_from_slice(&[0, 0]);
        b[field::VERSION] = self.version.into();
        b[field::TYPE] = self.bpdu_type().into();
        if let BpduBody::Config(p) | BpduBody::Rst(p) = &self.body {
            b[field::FLAGS] = p.flags.0;
            b[field::ROOT_ID].copy_from_slice(&p.root_id.to_bytes());
            b[field::ROOT_PATH_COST].copy_from_slice(&p.root_path_cost.to_be_bytes());
            b[field::BRIDGE_ID].copy_from_slice(&p.bridge_id.to_bytes());
            b[field::PORT_ID].copy_from_slice(&p.port_id.0.to_be_bytes());
            b[field::MESSAGE_AGE].copy_from_slice(&p.message_age.0.to_be_bytes());
            b[field::MAX_AGE].copy_from_slice(&p.max_age.0.to_be_bytes());
            b[field::HELLO_TIME].copy_from_slice(&p.hello_time.0.to_be_bytes());
            b[field::FORWARD_DELAY].copy_from_slice(&p.forward_delay.0.to_be_bytes());
        }
        if let BpduBody::Rst(_) = self.body {
            b[field::VERSION1_LENGTH] = 0;
        }
        Ok(len)
    }

    /// Emits into a new vector.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut v = vec![0; self.buffer_len()];
        // Cannot fail: the vector has exactly buffer_len() octets.
        let _ = self.emit(&mut v);
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// First Config BPDU of kernel-stp-802.1d_ring4_tuned.pcap (after LLC).
    const KERNEL_CONFIG: [u8; 35] = [
        0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00,
        0x00, 0x00, 0x10, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x80, 0x01, 0x00, 0x00, 0x06,
        0x00, 0x01, 0x00, 0x04, 0x00,
    ];

    #[test]
    fn parses_config_fixture() {
        let b = Bpdu::parse_bytes(&KERNEL_CONFIG).unwrap();
        assert_eq!(b.version, ProtocolVersion::Stp);
        let BpduBody::Config(p) = b.body else {
            panic!("not config: {b:?}")
        };
        assert_eq!(p.root_id.to_string(), "1000.02:00:00:00:00:01");
        assert_eq!(p.bridge_id, p.root_id);
        assert_eq!(p.port_id, PortId::new(0x80, 1));
        assert_eq!(p.root_path_cost, 0);
        assert_eq!(p.max_age, BpduTime::from_secs(6));
        assert_eq!(p.hello_time, BpduTime::from_secs(1));
        assert_eq!(p.forward_delay, BpduTime::from_secs(4));
        assert_eq!(b.to_vec(), KERNEL_CONFIG);
    }

    #[test]
    fn tcn_of_any_version_and_length_rules() {
        assert_eq!(
            Bpdu::parse_bytes(&[0, 0, 0, 0x80]).unwrap().body,
            BpduBody::Tcn
        );
        assert_eq!(
            Bpdu::parse_bytes(&[0, 0, 7, 0x80]).unwrap().version,
            ProtocolVersion::Unknown(7)
        );
        assert!(matches!(
            Bpdu::parse_bytes(&[0, 0, 0]),
            Err(Error::Truncated { need: 4, .. })
        ));
        assert!(matches!(
            Bpdu::parse_bytes(&KERNEL_CONFIG[..34]),
            Err(Error::Truncated { need: 35, .. })
        ));
        assert!(matches!(
            Bpdu::parse_bytes(&[0, 1, 0, 0x80]),
            Err(Error::UnknownProtocolId(1))
        ));
    }

    #[test]
    fn rst_type_needs_version_two_and_36_octets() {
        let mut rst = [0u8; 36];
        rst[2] = 2;
        rst[3] = 2;
        assert!(matches!(
            Bpdu::parse_bytes(&rst).unwrap().body,
            BpduBody::Rst(_)
        ));
        assert!(matches!(
            Bpdu::parse_bytes(&rst[..35]),
            Err(Error::Truncated { need: 36, .. })
        ));
        // Version 3 (MSTP) with type 2 is handled as RST (9.3.4 c).
        rst[2] = 3;
        let b = Bpdu::parse_bytes(&rst).unwrap();
        assert_eq!(b.version, ProtocolVersion::Mstp);
        assert!(matches!(b.body, BpduBody::Rst(_)));
        // Type 2 at version 0 or 1 is not a valid BPDU.
        rst[2] = 1;
        assert_eq!(
            Bpdu::parse_bytes(&rst),
            Err(Error::UnknownBpduType {
                bpdu_type: 2,
                version: 1
            })
        );
        // A Configuration BPDU at version 2 is still a Configuration BPDU.
        let mut c = KERNEL_CONFIG;
        c[2] = 2;
        assert!(matches!(
            Bpdu::parse_bytes(&c).unwrap().body,
            BpduBody::Config(_)
        ));
        assert!(matches!(
            Bpdu::parse_bytes(&[0, 0, 2, 0x55]),
            Err(Error::UnknownBpduType {
                bpdu_type: 0x55,
                ..
            })
        ));
    }

    #[test]
    fn flags_bits() {
        let mut f = Flags::default();
        f.set_proposal(true);
        f.set_role(PortRoleFlag::Designated);
        assert_eq!(f.0, 0x0E);
        f.set_agreement(true);
        f.set_topology_change_ack(true);
        assert_eq!(f.0, 0xCE);
        assert_eq!(f.role(), PortRoleFlag::Designated);
        f.set_role(PortRoleFlag::Root);
        assert_eq!(f.0, 0xCA);
        assert!(f.proposal() && f.agreement() && !f.learning());
    }

    #[test]
    fn port_and_bridge_ids() {
        let p = PortId::new(0x80, 0x123);
        assert_eq!(p.0, 0x8123);
        assert_eq!((p.priority(), p.number()), (0x80, 0x123));
        let a = BridgeId::new(0x8000, MacAddr([2, 0, 0, 0, 0, 1]));
        let b = BridgeId::new(0x1000, MacAddr([2, 0, 0, 0, 0, 9]));
        assert!(b < a, "lower priority wins before MAC");
        assert_eq!("02-00-00-00-00-09".parse::<MacAddr>().unwrap(), b.mac);
        assert!("02:00".parse::<MacAddr>().is_err());
    }

    #[test]
    fn time_rounding() {
        assert_eq!(BpduTime(264).to_secs_rounded(), 1); // 1.03 s
        assert_eq!(BpduTime(13).to_secs_rounded(), 0); // 0.05 s
        assert_eq!(BpduTime::from_secs(20).to_secs_rounded(), 20);
    }
}
