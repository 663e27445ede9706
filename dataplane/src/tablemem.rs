//! Memory for the tables workers read on every frame — the FDB's buckets
//! and shard index, the snapshot's per-port arrays, the filter policies and
//! tables — and the one shared-slice type that holds them.
//!
//! # Where the memory comes from, and why
//!
//! When the EAL runs on hugepages, these tables are allocated from DPDK's
//! own heap (`rte_malloc_socket`), so they sit on the same hugepages as the
//! mbufs; otherwise (`--no-huge`, unit tests, benches without an EAL) from
//! the global allocator. Chosen over an anonymous mapping with
//! `MADV_HUGEPAGE` or `mmap(MAP_HUGETLB)` of our own because:
//!
//! - **One reservation, no best effort.** The pages come from the hugetlbfs
//!   the operator reserved for DPDK (one budget, visible in DPDK's memory
//!   dump). `MADV_HUGEPAGE` only asks for transparent huge pages: the kernel
//!   silently falls back to 4 KB pages when no 2 MB block is free, or when
//!   `transparent_hugepage/enabled` is `never` — exactly when a switch that
//!   has run for weeks would lose them. `MAP_HUGETLB` draws on the same
//!   reserved pool as DPDK anyway.
//! - **DPDK's heap is already an allocator.** The FDB is copy-on-write: a
//!   learn copies one shard, and the old copy is freed by whichever thread
//!   drops the last snapshot holding it — often a worker. `rte_malloc` is
//!   thread-safe and coalesces free blocks; an `mmap` arena would need a
//!   size-class allocator of our own, with its own locking and its own
//!   fragmentation, for the same pages.
//! - **NUMA**: `rte_malloc_socket` can place a table on the workers' socket,
//!   as the mempool is.
//!
//! The price: DPDK memory exists only between `rte_eal_init` and
//! `rte_eal_cleanup`. Each block records where it came from, so blocks
//! from either source can be freed at any time; [`crate::Eal`]'s drop skips
//! `rte_eal_cleanup` (and says so) while DPDK blocks are still live, rather
//! than unmap memory a table still points into. When DPDK's heap cannot
//! grow (no free hugepages left), a table falls back to the global
//! allocator and [`stats`] counts it.
//!
//! # The shared slice
//!
//! [`SharedSlice<T>`] is an `Arc<[T]>` whose allocation comes from here: a
//! reference count in a header, the elements after it (aligned as `T`
//! asks: an FDB bucket starts a cache line), and a handle of pointer and
//! length, so reading the slice never touches the header's line.
//! [`SharedBox<T>`] is the one-element case.

use std::alloc::Layout;
use std::marker::PhantomData;
use std::ops::Deref;
use std::ptr::NonNull;
use std::sync::atomic::{fence, AtomicBool, AtomicU64, AtomicUsize, Ordering};

/// Whether new tables come from DPDK's heap.
static USE_DPDK: AtomicBool = AtomicBool::new(false);
/// Blocks from DPDK's heap not yet freed.
static LIVE_DPDK: AtomicUsize = AtomicUsize::new(0);
static DPDK_BYTES: AtomicU64 = AtomicU64::new(0);
static FALLBACKS: AtomicU64 = AtomicU64::new(0);

/// Where table memory currently comes from, and what it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableMemStats {
    /// New tables go to DPDK's (hugepage) heap.
    pub dpdk_heap: bool,
    /// Blocks in DPDK's heap now.
    pub dpdk_blocks: usize,
    /// Bytes allocated from DPDK's heap since start (not net of frees).
    pub dpdk_bytes_allocated: u64,
    /// Allocations that wanted DPDK's heap and got the global allocator.
    pub fallbacks: u64,
}

/// What [`TableMemStats`] reports now.
pub fn stats() -> TableMemStats {
    TableMemStats {
        dpdk_heap: USE_DPDK.load(Ordering::Relaxed),
        dpdk_blocks: LIVE_DPDK.load(Ordering::Relaxed),
        dpdk_bytes_allocated: DPDK_BYTES.load(Ordering::Relaxed),
        fallbacks: FALLBACKS.load(Ordering::Relaxed),
    }
}

/// Puts new tables in DPDK's heap when the EAL runs on hugepages (there
/// is nothing to gain from DPDK's heap on `--no-huge` 4 KB pages). Returns
/// whether it does. Call after [`crate::Eal::init`], before the FDB is made.
pub fn use_dpdk_heap_if_hugepages(eal: &crate::Eal) -> bool {
    let huge = eal.hugepages();
    USE_DPDK.store(huge, Ordering::SeqCst);
    huge
}

/// Stops putting new tables in DPDK's heap (before `rte_eal_cleanup`).
/// Returns the number of DPDK blocks still live.
pub(crate) fn stop_using_dpdk_heap() -> usize {
    USE_DPDK.store(false, Ordering::SeqCst);
    LIVE_DPDK.load(Ordering::SeqCst)
}

/// The allocation's header: the reference count and where it came from.
struct Header {
    refs: AtomicUsize,
    dpdk: bool,
}

/// Header and `len` elements of `T`: the layout and the elements' offset.
fn layout_of<T>(len: usize) -> (Layout, usize) {
    let (l, off) = Layout::new::<Header>()
        .extend(Layout::array::<T>(len).expect("table size overflows"))
        .expect("table size overflows");
    (l.pad_to_align(), off)
}

/// Allocates `layout` from DPDK's heap when tables go there, else (or when
/// DPDK's heap is full) from the global allocator; `true` for DPDK's.
fn alloc(layout: Layout) -> (NonNull<u8>, bool) {
    if USE_DPDK.load(Ordering::Relaxed) {
        // SAFETY: the EAL is initialised (the flag is set only after
        // `Eal::init` and cleared before cleanup); a NULL type name is
        // allowed; `align()` is a power of two, as rte_malloc requires.
        let p = unsafe {
            dpdk_sys::rte_malloc_socket(
                std::ptr::null(),
                layout.size(),
                layout.align() as u32,
                dpdk_sys::SOCKET_ID_ANY,
            )
        };
        if let Some(p) = NonNull::new(p.cast::<u8>()) {
            LIVE_DPDK.fetch_add(1, Ordering::Relaxed);
            DPDK_BYTES.fetch_add(layout.size() as u64, Ordering::Relaxed);
            return (p, true);
        }
        FALLBACKS.fetch_add(1, Ordering::Relaxed);
    }
    // SAFETY: the layout has a non-zero size (it holds the header).
    let p = unsafe { std::alloc::alloc(layout) };
    match NonNull::new(p) {
        Some(p) => (p, false),
        None => std::alloc::handle_alloc_error(layout),
    }
}

/// Gives back a block [`alloc`] returned.
///
/// # Safety
///
/// `base` came from [`alloc`] with `layout`, which said `dpdk`; nothing
/// uses the block afterwards.
unsafe fn free(base: NonNull<u8>, layout: Layout, dpdk: bool) {
    if dpdk {
        // SAFETY: a block of DPDK's heap (the caller's promise), and the
        // EAL is still up: `Eal`'s drop skips cleanup while blocks live.
        unsafe { dpdk_sys::rte_free(base.as_ptr().cast()) };
        LIVE_DPDK.fetch_sub(1, Ordering::Relaxed);
    } else {
        // SAFETY: from the global allocator with this layout (the caller's
        // promise).
        unsafe { std::alloc::dealloc(base.as_ptr(), layout) };
    }
}

/// An immutable, reference-counted slice in table memory: `Arc<[T]>`
/// placed by this module (see the module's documentation).
pub struct SharedSlice<T> {
    /// The first element. The allocation starts `OFFSET` bytes before it,
    /// with a [`Header`]: reading the slice is this pointer and `len`.
    elems: NonNull<T>,
    len: usize,
    _owns: PhantomData<T>,
}

// SAFETY: like Arc<[T]>: the handle gives shared access to T from any
// thread (so T: Sync) and may drop the elements on any thread (so T: Send);
// the count is atomic.
unsafe impl<T: Send + Sync> Send for SharedSlice<T> {}
// SAFETY: as above.
unsafe impl<T: Send + Sync> Sync for SharedSlice<T> {}

impl<T> SharedSlice<T> {
    /// Where the elements start: the header rounded up to `T`'s alignment
    /// (what `layout_of` computes, as a constant).
    const OFFSET: usize = {
        let a = std::mem::align_of::<T>();
        std::mem::size_of::<Header>().div_ceil(a) * a
    };

    /// Where the allocation starts.
    fn base(&self) -> NonNull<u8> {
        // SAFETY: the elements start OFFSET bytes into the allocation.
        unsafe { NonNull::new_unchecked(self.elems.as_ptr().cast::<u8>().sub(Self::OFFSET)) }
    }

    fn header(&self) -> &Header {
        // SAFETY: the allocation starts with an initialised Header, alive
        // for as long as this handle (one of the counted references) is.
        unsafe { self.base().cast::<Header>().as_ref() }
    }

    #[inline(always)]
    fn elems(&self) -> *mut T {
        self.elems.as_ptr()
    }

    /// A slice of `len` elements, element `i` made by `f(i)`. If `f`
    /// panics the elements made so far are dropped and the block freed.
    pub fn from_fn(len: usize, mut f: impl FnMut(usize) -> T) -> Self {
        let (layout, off) = layout_of::<T>(len);
        debug_assert_eq!(off, Self::OFFSET);
        let (base, dpdk) = alloc(layout);
        // SAFETY: the block is fresh, sized and aligned for a Header.
        unsafe {
            base.cast::<Header>().as_ptr().write(Header {
                refs: AtomicUsize::new(1),
                dpdk,
            })
        };
        // Dropped only when `f` panics: drops the elements written so far
        // and frees the block with the layout it was allocated with.
        struct Partial<T> {
            base: NonNull<u8>,
            written: usize,
            layout: Layout,
            dpdk: bool,
            _t: PhantomData<T>,
        }
        impl<T> Drop for Partial<T> {
            fn drop(&mut self) {
                // SAFETY: the first `written` elements are initialised and
                // nobody else has the block; it came from `alloc` with
                // `layout`.
                unsafe {
                    let elems = self.base.as_ptr().add(SharedSlice::<T>::OFFSET).cast::<T>();
                    std::ptr::drop_in_place(std::ptr::slice_from_raw_parts_mut(
                        elems,
                        self.written,
                    ));
                    free(self.base, self.layout, self.dpdk);
                }
            }
        }
        let mut g = Partial::<T> {
            base,
            written: 0,
            layout,
            dpdk,
            _t: PhantomData,
        };
        // SAFETY: OFFSET is within the block (layout_of's offset).
        let elems = unsafe { base.as_ptr().add(Self::OFFSET).cast::<T>() };
        for i in 0..len {
            let v = f(i);
            // SAFETY: slot i is inside the block (i < len) and unwritten.
            unsafe { elems.add(i).write(v) };
            g.written = i + 1;
        }
        std::mem::forget(g);
        SharedSlice {
            // SAFETY: an offset inside a non-null allocation is not null.
            elems: unsafe { NonNull::new_unchecked(elems) },
            len,
            _owns: PhantomData,
        }
    }

    /// A copy of `items`.
    pub fn from_slice(items: &[T]) -> Self
    where
        T: Clone,
    {
        Self::from_fn(items.len(), |i| items[i].clone())
    }

    /// `len` copies of `value`.
    pub fn from_elem(len: usize, value: T) -> Self
    where
        T: Clone,
    {
        Self::from_fn(len, |_| value.clone())
    }

    /// The slice, writable, when this is its only reference.
    pub fn get_mut(&mut self) -> Option<&mut [T]> {
        // Acquire: every other handle's last use happened before its drop
        // released the count we now see at 1.
        if self.header().refs.load(Ordering::Acquire) != 1 {
            return None;
        }
        // SAFETY: one reference (ours, borrowed mutably) and no weak
        // references exist, so nothing else can see the elements.
        Some(unsafe { std::slice::from_raw_parts_mut(self.elems(), self.len) })
    }

    /// Whether both handles share one block.
    pub fn ptr_eq(a: &Self, b: &Self) -> bool {
        a.elems == b.elems
    }

    /// Whether the block lives in DPDK's heap.
    pub fn in_dpdk_heap(&self) -> bool {
        self.header().dpdk
    }
}

impl<T> Deref for SharedSlice<T> {
    type Target = [T];
    #[inline(always)]
    fn deref(&self) -> &[T] {
        // SAFETY: `len` initialised elements follow the header, and they
        // live (unchanged: only `get_mut` on the sole handle writes) for as
        // long as this handle does.
        unsafe { std::slice::from_raw_parts(self.elems(), self.len) }
    }
}

impl<T> Clone for SharedSlice<T> {
    fn clone(&self) -> Self {
        // Relaxed, as Arc: a new reference is made from an existing one.
        let old = self.header().refs.fetch_add(1, Ordering::Relaxed);
        assert!(old < usize::MAX / 2, "reference count overflow");
        SharedSlice {
            elems: self.elems,
            len: self.len,
            _owns: PhantomData,
        }
    }
}

impl<T> Drop for SharedSlice<T> {
    fn drop(&mut self) {
        if self.header().refs.fetch_sub(1, Ordering::Release) != 1 {
            return;
        }
        fence(Ordering::Acquire);
        let dpdk = self.header().dpdk;
        // SAFETY: this was the last reference: the `len` elements are
        // initialised and nobody else can reach them; they are dropped once,
        // then the block goes back to the allocator it came from, with the
        // layout it was allocated with (same T and len).
        unsafe {
            std::ptr::drop_in_place(std::ptr::slice_from_raw_parts_mut(self.elems(), self.len));
            free(self.base(), layout_of::<T>(self.len).0, dpdk);
        }
    }
}

impl<T> Default for SharedSlice<T> {
    fn default() -> Self {
        Self::from_fn(0, |_| unreachable!())
    }
}

impl<T> From<Vec<T>> for SharedSlice<T> {
    fn from(v: Vec<T>) -> Self {
        let mut it = v.into_iter();
        Self::from_fn(it.len(), |_| it.next().expect("exact length"))
    }
}

impl<T> FromIterator<T> for SharedSlice<T> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        iter.into_iter().collect::<Vec<T>>().into()
    }
}

impl<T: std::fmt::Debug> std::fmt::Debug for SharedSlice<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// One value in table memory, shared: `Arc<T>` placed by this module.
pub struct SharedBox<T>(SharedSlice<T>);

impl<T> SharedBox<T> {
    pub fn new(value: T) -> Self {
        let mut v = Some(value);
        SharedBox(SharedSlice::from_fn(1, |_| v.take().expect("one element")))
    }

    /// Whether both handles share one block.
    pub fn ptr_eq(a: &Self, b: &Self) -> bool {
        SharedSlice::ptr_eq(&a.0, &b.0)
    }

    /// Whether the value lives in DPDK's heap.
    pub fn in_dpdk_heap(&self) -> bool {
        self.0.in_dpdk_heap()
    }
}

impl<T> Clone for SharedBox<T> {
    fn clone(&self) -> Self {
        SharedBox(self.0.clone())
    }
}

impl<T> Deref for SharedBox<T> {
    type Target = T;
    #[inline(always)]
    fn deref(&self) -> &T {
        // SAFETY: a SharedBox is made (`new`) with exactly one element,
        // initialised and alive while the handle is (no bounds check on
        // the per-frame path).
        unsafe { &*self.0.elems() }
    }
}

impl<T: std::fmt::Debug> std::fmt::Debug for SharedBox<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        (**self).fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[repr(C, align(64))]
    #[derive(Clone, Copy, Debug, PartialEq)]
    struct Line([u64; 8]);

    #[test]
    fn elements_are_aligned_and_shared() {
        let a = SharedSlice::from_fn(5, |i| Line([i as u64; 8]));
        assert_eq!(a.as_ptr() as usize % 64, 0);
        assert_eq!(a[3], Line([3; 8]));
        let mut b = a.clone();
        assert!(SharedSlice::ptr_eq(&a, &b));
        assert!(b.get_mut().is_none(), "shared: not writable");
        drop(a);
        b.get_mut().unwrap()[0] = Line([9; 8]);
        assert_eq!(b[0], Line([9; 8]));
        assert!(!b.in_dpdk_heap(), "no EAL in unit tests");
        let e: SharedSlice<Line> = SharedSlice::default();
        assert!(e.is_empty());
    }

    /// Every element is dropped exactly once, when the last handle goes,
    /// whichever thread that is; a panicking constructor drops what it made.
    #[test]
    fn drops_each_element_once() {
        let tracker = Arc::new(());
        let s = SharedSlice::from_elem(10, tracker.clone());
        assert_eq!(Arc::strong_count(&tracker), 11);
        let t = s.clone();
        std::thread::spawn(move || drop(t)).join().unwrap();
        assert_eq!(Arc::strong_count(&tracker), 11);
        drop(s);
        assert_eq!(Arc::strong_count(&tracker), 1);
        let r = std::panic::catch_unwind(|| {
            SharedSlice::from_fn(4, |i| {
                assert!(i < 2, "third element fails");
                tracker.clone()
            })
        });
        assert!(r.is_err());
        assert_eq!(Arc::strong_count(&tracker), 1);
        let b = SharedBox::new(tracker.clone());
        assert_eq!(Arc::strong_count(&b), 2);
        drop(b);
        assert_eq!(Arc::strong_count(&tracker), 1);
        let v: SharedSlice<u16> = (0..300).collect();
        assert_eq!(v.iter().map(|&x| x as u32).sum::<u32>(), 299 * 300 / 2);
    }
}
