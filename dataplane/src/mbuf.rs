//! Owning mbuf handles and fixed-size batches.
//!
//! Ownership is the whole point: an [`Mbuf`] frees its buffer on drop, and a
//! [`MbufBatch`] frees whatever it still holds. After a TX burst the mbufs the
//! NIC did not take stay in the batch, so they are neither leaked nor freed
//! twice.

use satellite_protocol::wire::{UNICAST_TAG_LEN, UNICAST_TAG_OFFSET};
use std::ptr::NonNull;

/// One packet buffer, owned. Dropping it returns it to its pool (or, for a
/// shared mbuf, drops one reference).
#[repr(transparent)]
pub struct Mbuf {
    raw: NonNull<dpdk_sys::rte_mbuf>,
}

// SAFETY: an mbuf may be freed from any thread (rte_pktmbuf_free is
// thread-safe through the mempool's lock-free ring); we hold it exclusively.
unsafe impl Send for Mbuf {}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("not enough tailroom in the mbuf")]
pub struct NoRoom;

impl Mbuf {
    /// Takes ownership of a raw mbuf.
    ///
    /// # Safety
    /// `raw` must be a valid mbuf that nothing else will free.
    pub unsafe fn from_raw(raw: NonNull<dpdk_sys::rte_mbuf>) -> Mbuf {
        Mbuf { raw }
    }

    /// Gives up ownership without freeing.
    pub fn into_raw(self) -> NonNull<dpdk_sys::rte_mbuf> {
        let raw = self.raw;
        std::mem::forget(self);
        raw
    }

    /// The mbuf header. Field reads go through this rather than the C
    /// shim: they are the per-frame hot path, and a call per field costs
    /// more than the read (bindgen lays the struct out from the same
    /// headers and flags DPDK was built with).
    #[inline(always)]
    fn hdr(&self) -> &dpdk_sys::rte_mbuf {
        // SAFETY: we own a valid mbuf; its header is initialised memory
        // that outlives the borrow of `self`.
        unsafe { self.raw.as_ref() }
    }

    /// Address of the first data byte (rte_pktmbuf_mtod).
    #[inline(always)]
    fn data_ptr(&self) -> *mut u8 {
        let h = self.hdr();
        (h.buf_addr as *mut u8).wrapping_add(h.data_off as usize)
    }

    /// Bytes of the first segment (where every header we look at lives).
    #[inline]
    pub fn data(&self) -> &[u8] {
        // SAFETY: buf_addr + data_off points at data_len initialised bytes
        // inside the mbuf's buffer, which lives as long as we own the mbuf.
        unsafe { std::slice::from_raw_parts(self.data_ptr(), self.hdr().data_len as usize) }
    }

    /// Mutable bytes of the first segment. Only valid on an mbuf we do not
    /// share (refcount 1); shared mbufs return `None`.
    #[inline]
    pub fn data_mut(&mut self) -> Option<&mut [u8]> {
        if self.refcnt() != 1 {
            return None;
        }
        // SAFETY: as in data(); exclusive because the refcount is 1 and we
        // hold &mut self.
        unsafe {
            Some(std::slice::from_raw_parts_mut(
                self.data_ptr(),
                self.hdr().data_len as usize,
            ))
        }
    }

    /// Length of the whole packet, all segments.
    #[inline]
    pub fn pkt_len(&self) -> u32 {
        self.hdr().pkt_len
    }

    /// Appends `bytes` at the tail.
    pub fn append(&mut self, bytes: &[u8]) -> Result<(), NoRoom> {
        // SAFETY: append returns null or a pointer to `len` writable bytes.
        unsafe {
            let p = dpdk_sys::sat_pktmbuf_append(self.raw.as_ptr(), bytes.len() as u16);
            if p.is_null() || bytes.len() > u16::MAX as usize {
                return Err(NoRoom);
            }
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), p as *mut u8, bytes.len());
        }
        Ok(())
    }

    /// Grows the packet at the front by `len` bytes (headroom) and returns
    /// the new front for the caller to fill: how a VLAN tag is pushed.
    pub fn prepend(&mut self, len: u16) -> Option<&mut [u8]> {
        if self.refcnt() != 1 {
            return None;
        }
        // SAFETY: prepend returns null or a pointer to `len` bytes at the new
        // front of the exclusively owned first segment.
        unsafe {
            let p = dpdk_sys::sat_pktmbuf_prepend(self.raw.as_ptr(), len);
            (!p.is_null()).then(|| std::slice::from_raw_parts_mut(p as *mut u8, len as usize))
        }
    }

    /// Removes `len` bytes from the front: how a VLAN tag is popped.
    pub fn adj(&mut self, len: u16) -> bool {
        if self.refcnt() != 1 {
            return false;
        }
        // SAFETY: adj only moves data_off within the first segment; null on
        // failure.
        unsafe { !dpdk_sys::sat_pktmbuf_adj(self.raw.as_ptr(), len).is_null() }
    }

    /// How many owners share this buffer.
    #[inline]
    pub fn refcnt(&self) -> u16 {
        let p = std::ptr::addr_of!(self.hdr().refcnt) as *const std::sync::atomic::AtomicU16;
        // SAFETY: rte_mbuf_refcnt_read is a relaxed atomic load of this
        // aligned u16; other owners update it atomically.
        unsafe { (*p).load(std::sync::atomic::Ordering::Relaxed) }
    }

    /// A second owning handle to the same buffer (refcount + 1): how one
    /// received frame is flooded to several ports without copying. Neither
    /// handle may write the data afterwards, which `data_mut` enforces.
    #[inline]
    pub fn share(&self) -> Mbuf {
        // SAFETY: bumping the refcount makes the new handle an owner of one
        // reference; the buffer is freed when the last handle drops.
        unsafe { dpdk_sys::sat_mbuf_refcnt_update(self.raw.as_ptr(), 1) };
        Mbuf { raw: self.raw }
    }

    /// A private deep copy from `pool`: for a flooded frame one egress port
    /// must rewrite (VLAN push/pop) while others share the original.
    pub fn deep_copy(&self, pool: &crate::Mempool) -> Option<Mbuf> {
        // SAFETY: both pointers are valid; the copy is a new mbuf we own.
        let m = unsafe { dpdk_sys::sat_pktmbuf_copy(self.raw.as_ptr(), pool.as_ptr()) };
        NonNull::new(m).map(|raw| Mbuf { raw })
    }

    /// Pushes a VLAN tag as the new outermost tag (needs 4 bytes of
    /// headroom and an unshared mbuf).
    pub fn push_vlan(&mut self, tag: satellite_filters::VlanTag) -> bool {
        let Some(hdr) = satellite_filters::vlan::pushed_header(self.data(), tag) else {
            return false;
        };
        match self.prepend(4) {
            Some(_) => {}
            None => return false,
        }
        match self.data_mut() {
            Some(d) if d.len() >= hdr.len() => {
                d[..hdr.len()].copy_from_slice(&hdr);
                true
            }
            _ => false,
        }
    }

    /// Puts the SSTP unicast tag (`tag`, its six octets) after the MACs:
    /// needs 6 bytes of headroom and an unshared mbuf.
    pub fn push_unicast_tag(&mut self, tag: [u8; UNICAST_TAG_LEN]) -> bool {
        let mut macs = [0u8; UNICAST_TAG_OFFSET];
        match self.data().get(..UNICAST_TAG_OFFSET) {
            Some(m) => macs.copy_from_slice(m),
            None => return false,
        }
        if self.prepend(UNICAST_TAG_LEN as u16).is_none() {
            return false;
        }
        match self.data_mut() {
            Some(d) if d.len() >= UNICAST_TAG_OFFSET + UNICAST_TAG_LEN => {
                d[..UNICAST_TAG_OFFSET].copy_from_slice(&macs);
                d[UNICAST_TAG_OFFSET..UNICAST_TAG_OFFSET + UNICAST_TAG_LEN].copy_from_slice(&tag);
                true
            }
            _ => false,
        }
    }

    /// Takes the SSTP unicast tag off (the caller has decoded it): the MACs
    /// move six octets up, over it.
    pub fn pop_unicast_tag(&mut self) -> bool {
        let Some(d) = self.data_mut() else {
            return false;
        };
        if d.len() < UNICAST_TAG_OFFSET + UNICAST_TAG_LEN {
            return false;
        }
        d.copy_within(..UNICAST_TAG_OFFSET, UNICAST_TAG_LEN);
        self.adj(UNICAST_TAG_LEN as u16)
    }

    /// Removes the outermost VLAN tag (the caller knows there is one).
    pub fn pop_vlan(&mut self) -> bool {
        let Some(hdr) = satellite_filters::vlan::popped_header(self.data()) else {
            return false;
        };
        if !self.adj(4) {
            return false;
        }
        match self.data_mut() {
            Some(d) => {
                d[..hdr.len()].copy_from_slice(&hdr);
                true
            }
            None => false,
        }
    }

    /// Asks the CPU to start loading the packet's first cache line.
    #[inline]
    pub fn prefetch_data(&self) {
        crate::prefetch::read(self.data_ptr())
    }
}

impl Drop for Mbuf {
    fn drop(&mut self) {
        // SAFETY: we own one reference to a valid mbuf.
        unsafe { dpdk_sys::sat_pktmbuf_free(self.raw.as_ptr()) }
    }
}

impl std::fmt::Debug for Mbuf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Mbuf({:p}, {} bytes)", self.raw, self.pkt_len())
    }
}

/// Up to `N` owned mbufs, for RX and TX bursts.
pub struct MbufBatch<const N: usize> {
    ptrs: [*mut dpdk_sys::rte_mbuf; N],
    len: usize,
}

// SAFETY: the batch owns its mbufs exclusively (see Mbuf's Send).
unsafe impl<const N: usize> Send for MbufBatch<N> {}

impl<const N: usize> Default for MbufBatch<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> MbufBatch<N> {
    pub const fn new() -> Self {
        MbufBatch {
            ptrs: [std::ptr::null_mut(); N],
            len: 0,
        }
    }
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    #[inline]
    pub fn is_full(&self) -> bool {
        self.len == N
    }

    /// Adds an mbuf; when the batch is full it is handed back.
    #[inline]
    pub fn push(&mut self, m: Mbuf) -> Result<(), Mbuf> {
        if self.len == N {
            return Err(m);
        }
        self.ptrs[self.len] = m.into_raw().as_ptr();
        self.len += 1;
        Ok(())
    }

    /// Receives into the free tail of the batch; returns how many arrived.
    #[inline]
    pub fn rx_burst(&mut self, port: u16, queue: u16) -> usize {
        let room = (N - self.len) as u16;
        if room == 0 {
            return 0;
        }
        // SAFETY: ptrs[len..N] is writable space for `room` pointers; DPDK
        // fills at most `room` of them with mbufs it hands over to us.
        let n = unsafe {
            dpdk_sys::sat_rx_burst(port, queue, self.ptrs.as_mut_ptr().add(self.len), room)
        } as usize;
        self.len += n;
        n
    }

    /// Transmits the batch; returns how many the device took. Those not
    /// taken stay in the batch, in order, still owned by it.
    #[inline]
    pub fn tx_burst(&mut self, port: u16, queue: u16) -> usize {
        if self.len == 0 {
            return 0;
        }
        // SAFETY: ptrs[..len] are mbufs we own; DPDK takes ownership of the
        // first `sent` of them.
        let sent =
            unsafe { dpdk_sys::sat_tx_burst(port, queue, self.ptrs.as_mut_ptr(), self.len as u16) }
                as usize;
        self.ptrs.copy_within(sent..self.len, 0);
        self.len -= sent;
        sent
    }

    /// The mbufs in the batch, borrowed: for a look at a whole burst
    /// (prefetching, parsing) before any frame is handed on.
    #[inline]
    pub fn as_slice(&self) -> &[Mbuf] {
        // SAFETY: ptrs[..len] are non-null owned mbufs, and Mbuf is a
        // transparent NonNull, laid out like the raw pointer.
        unsafe { std::slice::from_raw_parts(self.ptrs.as_ptr() as *const Mbuf, self.len) }
    }

    /// The mbufs in the batch, mutably borrowed: for rewriting headers in
    /// place (the SSTP unicast tag comes off) before classification.
    #[inline]
    pub fn as_mut_slice(&mut self) -> &mut [Mbuf] {
        // SAFETY: as in as_slice; the batch is borrowed exclusively, and
        // each Mbuf handle is the batch's single owner of its buffer.
        unsafe { std::slice::from_raw_parts_mut(self.ptrs.as_mut_ptr() as *mut Mbuf, self.len) }
    }

    /// Takes every mbuf out of the batch, in order.
    #[inline]
    pub fn drain(&mut self) -> impl Iterator<Item = Mbuf> + '_ {
        let len = std::mem::replace(&mut self.len, 0);
        self.ptrs[..len].iter().map(|&p| {
            // SAFETY: every pointer below the old len is an owned, valid mbuf;
            // len was reset, so each is handed out exactly once.
            unsafe { Mbuf::from_raw(NonNull::new_unchecked(p)) }
        })
    }

    /// Frees everything still in the batch; returns how many were freed.
    pub fn free_all(&mut self) -> usize {
        let n = self.len;
        if n > 0 {
            // SAFETY: ptrs[..n] are owned valid mbufs, freed once, then forgotten.
            unsafe { dpdk_sys::sat_pktmbuf_free_bulk(self.ptrs.as_mut_ptr(), n as u32) };
            self.len = 0;
        }
        n
    }
}

impl<const N: usize> Drop for MbufBatch<N> {
    fn drop(&mut self) {
        self.free_all();
    }
}
