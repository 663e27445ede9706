//! Whole BPDU frames: 802.3 header, LLC header and BPDU, as the daemon
//! sends and receives them.

use super::{
    Bpdu, BpduPacket, Error, EthernetFrame, EthernetRepr, LlcPdu, LlcRepr, MacAddr,
    BRIDGE_GROUP_ADDRESS, ETHERNET_HEADER_LEN, LLC_HEADER_LEN,
};

/// The Ethernet minimum frame length without FCS; [`encode_bpdu_frame`]
/// pads to it.
pub const MIN_FRAME_LEN: usize = 60;

/// A decoded BPDU frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BpduFrame {
    /// Source MAC (the neighbour port's address).
    pub src_addr: MacAddr,
    /// The BPDU.
    pub bpdu: Bpdu,
}

/// Decodes a received frame: destination must be the Bridge Group Address,
/// the 802.3 length must fit the frame, LLC must be 42 42 03, and the BPDU
/// valid per 9.3.4. Padded (60-octet) and unpadded (veth) frames both work;
/// the BPDU is read only from the octets the length field covers.
pub fn decode_bpdu_frame(frame: &[u8]) -> Result<BpduFrame, Error> {
    let eth = EthernetFrame::new_checked(frame)?;
    let hdr = EthernetRepr::parse(&eth)?;
    if hdr.dst_addr != BRIDGE_GROUP_ADDRESS {
        return Err(Error::NotBridgeGroupAddress(hdr.dst_addr));
    }
    let llc_bytes = &eth.payload()[..usize::from(hdr.length)];
    let llc = LlcPdu::new_checked(llc_bytes)?;
    LlcRepr::parse(&llc)?;
    let bpdu = Bpdu::parse(&BpduPacket::new_checked(llc.payload())?)?;
    Ok(BpduFrame {
        src_addr: hdr.src_addr,
        bpdu,
    })
}

/// Encodes `bpdu` sent from a port whose MAC is `src`, padded with zeros
/// to the 60-octet Ethernet minimum.
pub fn encode_bpdu_frame(src: MacAddr, bpdu: &Bpdu) -> Vec<u8> {
    let body = LLC_HEADER_LEN + bpdu.buffer_len();
    let mut buf = vec![0u8; (ETHERNET_HEADER_LEN + body).max(MIN_FRAME_LEN)];
    let mut eth = EthernetFrame::new_unchecked(&mut buf[..]);
    EthernetRepr {
        dst_addr: BRIDGE_GROUP_ADDRESS,
        src_addr: src,
        length: body as u16,
    }
    .emit(&mut eth);
    LlcRepr.emit(&mut buf[ETHERNET_HEADER_LEN..]);
    // Cannot fail: the buffer was sized from buffer_len().
    let _ = bpdu.emit(&mut buf[ETHERNET_HEADER_LEN + LLC_HEADER_LEN..]);
    buf
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{BpduBody, PriorityBpdu};

    #[test]
    fn padded_and_unpadded() {
        let src = MacAddr([2, 1, 0, 1, 0, 2]);
        let tcn = Bpdu::tcn();
        let f = encode_bpdu_frame(src, &tcn);
        assert_eq!(f.len(), 60);
        assert_eq!(&f[12..21], &[0, 7, 0x42, 0x42, 3, 0, 0, 0, 0x80]);
        assert_eq!(decode_bpdu_frame(&f).unwrap().bpdu, tcn);
        assert_eq!(decode_bpdu_frame(&f[..21]).unwrap().src_addr, src);
        assert!(matches!(
            decode_bpdu_frame(&f[..20]),
            Err(Error::BadLength { length: 7, .. })
        ));
        let rst = Bpdu::rst(PriorityBpdu::default());
        let f = encode_bpdu_frame(src, &rst);
        assert_eq!(f.len(), 60);
        assert_eq!(decode_bpdu_frame(&f[..53]).unwrap().bpdu, rst);
        assert!(matches!(
            decode_bpdu_frame(&f[..52]).unwrap_err(),
            Error::BadLength { .. }
        ));
        let mut g = f.clone();
        g[5] = 0x0E;
        assert!(matches!(
            decode_bpdu_frame(&g),
            Err(Error::NotBridgeGroupAddress(_))
        ));
        // A length that cuts the RST BPDU short is a truncated BPDU.
        let mut h = f;
        h[13] = 38;
        assert!(matches!(
            decode_bpdu_frame(&h),
            Err(Error::Truncated { need: 36, .. })
        ));
        let _ = BpduBody::Tcn;
    }
}
