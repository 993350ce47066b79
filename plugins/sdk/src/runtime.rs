//! A minimal runtime for `no_std` plugins: a bump allocator and a panic
//! handler that traps. A plugin without std imports nothing from WASI, so the
//! host instantiates it with fewer core instances and no trap stubs.

use core::alloc::{GlobalAlloc, Layout};
use core::cell::UnsafeCell;

/// Bytes in one WebAssembly page.
const PAGE_BYTES: usize = 64 << 10;

/// An allocator that never frees. The host runs every call in a fresh
/// instance, so memory is released when the instance is dropped, and the
/// host's memory limit bounds what one call can take.
pub struct BumpAllocator {
    /// Address of the next free byte; zero until the first allocation.
    next: UnsafeCell<usize>,
}

// SAFETY: wasm32 plugins run on one thread, so `next` is never accessed concurrently.
unsafe impl Sync for BumpAllocator {}

impl BumpAllocator {
    pub const fn new() -> BumpAllocator {
        BumpAllocator {
            next: UnsafeCell::new(0),
        }
    }
}

impl Default for BumpAllocator {
    fn default() -> BumpAllocator {
        BumpAllocator::new()
    }
}

unsafe extern "C" {
    /// First address after the data and the stack, set by the linker.
    static __heap_base: u8;
}

unsafe impl GlobalAlloc for BumpAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: single-threaded, see the `Sync` impl.
        let next = unsafe { &mut *self.next.get() };
        if *next == 0 {
            *next = core::ptr::addr_of!(__heap_base) as usize;
        }

        let start = next.next_multiple_of(layout.align());
        let Some(end) = start.checked_add(layout.size()) else {
            return core::ptr::null_mut();
        };

        let memory_end = core::arch::wasm32::memory_size(0) * PAGE_BYTES;
        if end > memory_end {
            let pages = (end - memory_end).div_ceil(PAGE_BYTES);
            if core::arch::wasm32::memory_grow(0, pages) == usize::MAX {
                return core::ptr::null_mut();
            }
        }

        *next = end;
        start as *mut u8
    }

    unsafe fn dealloc(&self, _pointer: *mut u8, _layout: Layout) {}
}

/// Compares `length` bytes at `left` and `right` as C's `memcmp` does.
///
/// # Safety
///
/// Both pointers must be valid for reads of `length` bytes.
pub unsafe fn compare_bytes(left: *const u8, right: *const u8, length: usize) -> i32 {
    for offset in 0..length {
        // SAFETY: the caller guarantees both ranges are readable.
        let (a, b) = unsafe { (*left.add(offset), *right.add(offset)) };
        if a != b {
            return i32::from(a) - i32::from(b);
        }
    }
    0
}

/// Allocates for the canonical ABI, with the contract of the `cabi_realloc`
/// export: a zero `old_len` allocates, and a zero `new_len` returns a
/// dangling, aligned pointer. Traps when memory cannot grow.
///
/// # Safety
///
/// `align` must be a power of two, and a non-zero `old_len` must describe a
/// block this allocator returned.
pub unsafe fn canonical_realloc(old_pointer: *mut u8, old_len: usize, align: usize, new_len: usize) -> *mut u8 {
    let pointer = if old_len == 0 {
        if new_len == 0 {
            return align as *mut u8;
        }
        // SAFETY: the caller guarantees a power-of-two alignment.
        unsafe { alloc::alloc::alloc(Layout::from_size_align_unchecked(new_len, align)) }
    } else {
        // SAFETY: the caller guarantees that the old block came from this allocator.
        unsafe { alloc::alloc::realloc(old_pointer, Layout::from_size_align_unchecked(old_len, align), new_len) }
    };

    if pointer.is_null() {
        core::arch::wasm32::unreachable();
    }
    pointer
}

/// Defines what a `no_std` plugin needs to link: the global allocator, the
/// panic handler, the `cabi_realloc` export that wasi-libc would otherwise
/// provide, and `memcmp`/`bcmp`, which Rust's core calls but which only
/// libc defines on wasm32-wasip2. Invoke it once, on `wasm32` only.
/// A panic executes `unreachable`, which the host reports as a trap.
#[macro_export]
macro_rules! no_std_runtime {
    () => {
        #[global_allocator]
        static ALLOCATOR: $crate::runtime::BumpAllocator = $crate::runtime::BumpAllocator::new();

        #[panic_handler]
        fn panic(_info: &core::panic::PanicInfo<'_>) -> ! {
            core::arch::wasm32::unreachable()
        }

        /// # Safety
        ///
        /// See `canonical_realloc`. The host calls it while lowering arguments.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn cabi_realloc(
            old_pointer: *mut u8,
            old_len: usize,
            align: usize,
            new_len: usize,
        ) -> *mut u8 {
            unsafe { $crate::runtime::canonical_realloc(old_pointer, old_len, align, new_len) }
        }

        /// # Safety
        ///
        /// Both pointers must be valid for reads of `length` bytes.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn memcmp(left: *const u8, right: *const u8, length: usize) -> i32 {
            unsafe { $crate::runtime::compare_bytes(left, right, length) }
        }

        /// # Safety
        ///
        /// Both pointers must be valid for reads of `length` bytes.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn bcmp(left: *const u8, right: *const u8, length: usize) -> i32 {
            unsafe { $crate::runtime::compare_bytes(left, right, length) }
        }
    };
}
