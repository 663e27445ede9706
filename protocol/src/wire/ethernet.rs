//! The IEEE 802.3 MAC header with a length field, and the 802.2 LLC header
//! that carries BPDUs (7.12.3 of 802.1D-2004: DSAP = SSAP = 0x42, UI).

use super::{Error, MacAddr};

/// The Bridge Group Address, destination of every BPDU (7.12.3, table 7-9).
pub const BRIDGE_GROUP_ADDRESS: MacAddr = MacAddr([0x01, 0x80, 0xC2, 0x00, 0x00, 0x00]);
/// Octets of the 802.3 header (destination, source, length).
pub const ETHERNET_HEADER_LEN: usize = 14;
/// Octets of the LLC header (DSAP, SSAP, control).
pub const LLC_HEADER_LEN: usize = 3;
/// The LLC SAP of the Bridge Spanning Tree Protocol.
pub const LLC_SAP_BRIDGE: u8 = 0x42;
/// LLC control: Unnumbered Information.
pub const LLC_UI: u8 = 0x03;

mod field {
    use core::ops::Range;
    pub const DESTINATION: Range<usize> = 0..6;
    pub const SOURCE: Range<usize> = 6..12;
    pub const LENGTH: Range<usize> = 12..14;
    pub const PAYLOAD: usize = 14;
}

/// A zero-copy view of an 802.3 frame with a length field.
#[derive(Debug, Clone, Copy)]
pub struct EthernetFrame<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> EthernetFrame<T> {
    /// Wraps a buffer without checks.
    pub const fn new_unchecked(buffer: T) -> Self {
        EthernetFrame { buffer }
    }
    /// Wraps a buffer holding at least the 14-octet header.
    pub fn new_checked(buffer: T) -> Result<Self, Error> {
        let len = buffer.as_ref().len();
        if len < ETHERNET_HEADER_LEN {
            return Err(Error::Truncated {
                what: "802.3 header",
                len,
                need: ETHERNET_HEADER_LEN,
            });
        }
        Ok(Self::new_unchecked(buffer))
    }
    /// Releases the buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }
    /// Destination address.
    pub fn dst_addr(&self) -> MacAddr {
        let mut a = [0; 6];
        a.copy_from_slice(&self.buffer.as_ref()[field::DESTINATION]);
        MacAddr(a)
    }
    /// Source address.
    pub fn src_addr(&self) -> MacAddr {
        let mut a = [0; 6];
        a.copy_from_slice(&self.buffer.as_ref()[field::SOURCE]);
        MacAddr(a)
    }
    /// The Length/Type field.
    pub fn length(&self) -> u16 {
        let b = &self.buffer.as_ref()[field::LENGTH];
        u16::from_be_bytes([b[0], b[1]])
    }
    /// Everything after the header, padding included.
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[field::PAYLOAD..]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> EthernetFrame<T> {
    /// Sets the destination address.
    pub fn set_dst_addr(&mut self, a: MacAddr) {
        self.buffer.as_mut()[field::DESTINATION].copy_from_slice(&a.0)
    }
    /// Sets the source address.
    pub fn set_src_addr(&mut self, a: MacAddr) {
        self.buffer.as_mut()[field::SOURCE].copy_from_slice(&a.0)
    }
    /// Sets the Length/Type field.
    pub fn set_length(&mut self, l: u16) {
        self.buffer.as_mut()[field::LENGTH].copy_from_slice(&l.to_be_bytes())
    }
}

/// The 802.3 header of a BPDU frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EthernetRepr {
    /// Destination address.
    pub dst_addr: MacAddr,
    /// Source address (the transmitting port's MAC).
    pub src_addr: MacAddr,
    /// The length field: octets of LLC header plus LLC payload.
    pub length: u16,
}

impl EthernetRepr {
    /// Reads the header; the length must be an 802.3 length (<= 1500) that
    /// fits in the frame (padding after it is allowed).
    pub fn parse<T: AsRef<[u8]>>(f: &EthernetFrame<T>) -> Result<Self, Error> {
        let length = f.length();
        let frame_len = f.buffer.as_ref().len();
        if length > 1500 || usize::from(length) > frame_len - ETHERNET_HEADER_LEN {
            return Err(Error::BadLength { length, frame_len });
        }
        Ok(EthernetRepr {
            dst_addr: f.dst_addr(),
            src_addr: f.src_addr(),
            length,
        })
    }
    /// Writes the header into the frame.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, f: &mut EthernetFrame<T>) {
        f.set_dst_addr(self.dst_addr);
        f.set_src_addr(self.src_addr);
        f.set_length(self.length);
    }
}

/// A zero-copy view of an LLC PDU.
#[derive(Debug, Clone, Copy)]
pub struct LlcPdu<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> LlcPdu<T> {
    /// Wraps a buffer holding at least the 3-octet LLC header.
    pub fn new_checked(buffer: T) -> Result<Self, Error> {
        let len = buffer.as_ref().len();
        if len < LLC_HEADER_LEN {
            return Err(Error::Truncated {
                what: "LLC header",
                len,
                need: LLC_HEADER_LEN,
            });
        }
        Ok(LlcPdu { buffer })
    }
    /// DSAP.
    pub fn dsap(&self) -> u8 {
        self.buffer.as_ref()[0]
    }
    /// SSAP.
    pub fn ssap(&self) -> u8 {
        self.buffer.as_ref()[1]
    }
    /// Control.
    pub fn control(&self) -> u8 {
        self.buffer.as_ref()[2]
    }
    /// The LLC payload.
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[LLC_HEADER_LEN..]
    }
}

/// The LLC header of a BPDU; the only valid value is 0x42 0x42 0x03.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LlcRepr;

impl LlcRepr {
    /// Accepts only the spanning-tree SAP with UI control. The Individual/
    /// Group and Command/Response bits are compared as well, as 0x42 fixes them.
    pub fn parse<T: AsRef<[u8]>>(p: &LlcPdu<T>) -> Result<Self, Error> {
        if (p.dsap(), p.ssap(), p.control()) != (LLC_SAP_BRIDGE, LLC_SAP_BRIDGE, LLC_UI) {
            return Err(Error::NotSpanningTreeLlc {
                dsap: p.dsap(),
                ssap: p.ssap(),
                control: p.control(),
            });
        }
        Ok(LlcRepr)
    }
    /// Writes the three octets.
    pub fn emit(&self, buf: &mut [u8]) {
        buf[..3].copy_from_slice(&[LLC_SAP_BRIDGE, LLC_SAP_BRIDGE, LLC_UI]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trip_and_errors() {
        let mut buf = [0u8; 20];
        let r = EthernetRepr {
            dst_addr: BRIDGE_GROUP_ADDRESS,
            src_addr: MacAddr([2, 1, 0, 1, 0, 2]),
            length: 6,
        };
        r.emit(&mut EthernetFrame::new_checked(&mut buf[..]).unwrap());
        assert_eq!(
            &buf[..14],
            &[1, 0x80, 0xC2, 0, 0, 0, 2, 1, 0, 1, 0, 2, 0, 6]
        );
        assert_eq!(
            EthernetRepr::parse(&EthernetFrame::new_checked(&buf[..]).unwrap()),
            Ok(r)
        );
        buf[13] = 7; // one more than the 6 octets that follow
        assert!(matches!(
            EthernetRepr::parse(&EthernetFrame::new_checked(&buf[..]).unwrap()),
            Err(Error::BadLength { length: 7, .. })
        ));
        assert!(EthernetFrame::new_checked(&buf[..13]).is_err());
        buf[12] = 0x08; // an EtherType, not a length
        assert!(EthernetRepr::parse(&EthernetFrame::new_checked(&buf[..]).unwrap()).is_err());
    }

    #[test]
    fn llc() {
        assert!(LlcRepr::parse(&LlcPdu::new_checked(&[0x42, 0x42, 0x03][..]).unwrap()).is_ok());
        assert_eq!(
            LlcRepr::parse(&LlcPdu::new_checked(&[0x42, 0x43, 0x03][..]).unwrap()),
            Err(Error::NotSpanningTreeLlc {
                dsap: 0x42,
                ssap: 0x43,
                control: 3
            })
        );
        assert!(LlcPdu::new_checked(&[0x42][..]).is_err());
    }
}
