//! Memory the library hands out (strings and byte buffers the caller owns): allocated here, with
//! a small header in front that records the length and a tag, and freed here.

use std::alloc::{alloc, dealloc, Layout};
use std::ffi::c_char;

use crate::error::{arg, guard_void, internal, R};

const HEADER: usize = 16;
const LIVE: u64 = 0x6e62_6275_665f_6f6b; // "nbbuf_ok"
const FREED: u64 = 0x6e62_6275_665f_6672; // "nbbuf_fr"

fn layout(len: usize) -> R<Layout> {
    let size = len.checked_add(HEADER + 1).ok_or_else(|| internal("allocation too large"))?;
    Layout::from_size_align(size, HEADER).map_err(|e| internal(format!("allocation too large: {e}")))
}

/// Copies `data` into a new library buffer, NUL-terminated (the NUL is not counted in the length).
pub(crate) fn give(data: &[u8]) -> R<*mut u8> {
    let layout = layout(data.len())?;
    unsafe {
        let base = alloc(layout);
        if base.is_null() {
            return Err(internal(format!("out of memory allocating {} bytes", data.len())));
        }
        base.cast::<u64>().write(data.len() as u64);
        base.add(8).cast::<u64>().write(LIVE);
        let p = base.add(HEADER);
        std::ptr::copy_nonoverlapping(data.as_ptr(), p, data.len());
        p.add(data.len()).write(0);
        Ok(p)
    }
}

/// Hands `data` out through `out`/`out_len` (either may be NULL only when noted by the caller).
pub(crate) unsafe fn give_to(data: &[u8], out: *mut *mut u8, out_len: *mut usize) -> R {
    let p = give(data)?;
    unsafe {
        out.write(p);
        crate::error::put(out_len, data.len());
    }
    Ok(())
}

unsafe fn release(pp: *mut *mut u8) -> R {
    if pp.is_null() {
        return Ok(());
    }
    let p = unsafe { *pp };
    if p.is_null() {
        return Ok(());
    }
    unsafe {
        *pp = std::ptr::null_mut();
        let base = p.sub(HEADER);
        if base.add(8).cast::<u64>().read() != LIVE {
            return Err(arg(
                "nb_bytes_free/nb_string_free: this pointer was not handed out by natsbridge (or was freed)",
            ));
        }
        let len = base.cast::<u64>().read() as usize;
        base.add(8).cast::<u64>().write(FREED);
        dealloc(base, layout(len)?);
    }
    Ok(())
}

/// Frees a byte buffer the library handed out (`uint8_t **` outputs) and sets `*bytes` to NULL.
/// Safe on NULL and on an already freed (NULLed) pointer.
#[no_mangle]
pub unsafe extern "C" fn nb_bytes_free(bytes: *mut *mut u8) {
    guard_void(|| unsafe { release(bytes) })
}

/// Frees a string the library handed out (`char **` outputs) and sets `*string` to NULL.
/// Safe on NULL and on an already freed (NULLed) pointer. Strings the library hands out are
/// NUL-terminated and come with their length in bytes (which does not count the NUL).
#[no_mangle]
pub unsafe extern "C" fn nb_string_free(string: *mut *mut c_char) {
    guard_void(|| unsafe { release(string.cast()) })
}

/// A UTF-8 string with a trailing NUL the C side can read as a C string; the length excludes it.
#[derive(Clone, Debug, Default)]
pub(crate) struct NulStr(Vec<u8>);

impl NulStr {
    pub fn new(mut s: String) -> Self {
        s.push('\0');
        NulStr(s.into_bytes())
    }

    pub fn from_str(s: &str) -> Self {
        let mut v = Vec::with_capacity(s.len() + 1);
        v.extend_from_slice(s.as_bytes());
        v.push(0);
        NulStr(v)
    }

    pub fn ptr(&self) -> *const c_char {
        self.0.as_ptr().cast()
    }

    pub fn len(&self) -> usize {
        self.0.len() - 1
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0[..self.len()]
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(self.as_bytes()).unwrap_or_default()
    }

    /// Writes a borrowed view through the two out-parameters.
    pub unsafe fn lend(&self, out: *mut *const c_char, out_len: *mut usize) -> R {
        unsafe {
            crate::error::out(out, "out")?;
            out.write(self.ptr());
            crate::error::put(out_len, self.len());
        }
        Ok(())
    }
}
