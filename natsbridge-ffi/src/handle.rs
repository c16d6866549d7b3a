//! Opaque handles: boxed values whose addresses are registered (with their type) while they are
//! live. Every use checks the registry first, so a NULL, freed or foreign pointer, or a handle of
//! another type, is refused without reading the memory it points to.

use std::collections::HashMap;
use std::sync::{LazyLock, RwLock};

use crate::error::{arg, R};

pub(crate) trait Handle: Sized {
    const TAG: u64;
    const NAME: &'static str;
    /// Handles that live inside this one (borrowed by C), registered and unregistered with it.
    fn children(&self) -> Vec<(usize, u64)> {
        Vec::new()
    }
}

/// Implements `Handle` for a type.
macro_rules! handle {
    ($t:ty, $tag:expr, $name:expr) => {
        impl crate::handle::Handle for $t {
            const TAG: u64 = $tag;
            const NAME: &'static str = $name;
        }
    };
}
pub(crate) use handle;

static LIVE: LazyLock<RwLock<HashMap<usize, u64>>> = LazyLock::new(Default::default);

/// Addresses are stored masked: the registry must not look like a pointer to leak checkers
/// (valgrind), so that a handle the program forgets to free is reported as lost.
const MASK: usize = 0x5a5a_5a5a_5a5a_5a5a_u64 as usize;

fn key<T>(p: *const T) -> usize {
    (p as usize) ^ MASK
}

pub(crate) fn register(addr: usize, tag: u64) {
    LIVE.write().unwrap_or_else(|p| p.into_inner()).insert(addr ^ MASK, tag);
}

pub(crate) fn unregister(addr: usize) {
    LIVE.write().unwrap_or_else(|p| p.into_inner()).remove(&(addr ^ MASK));
}

fn check<T: Handle>(p: *const T, what: &str) -> R {
    if p.is_null() {
        return Err(arg(format!("{what} ({}) is NULL", T::NAME)));
    }
    let tag = LIVE.read().unwrap_or_else(|p| p.into_inner()).get(&key(p)).copied();
    if tag != Some(T::TAG) {
        return Err(arg(format!("{what} is not a live {} (freed already, or a handle of another type)", T::NAME)));
    }
    Ok(())
}

/// Borrows a live handle.
pub(crate) unsafe fn get<'a, T: Handle>(p: *const T, what: &str) -> R<&'a T> {
    check(p, what)?;
    Ok(unsafe { &*p })
}

/// Borrows a live handle mutably.
pub(crate) unsafe fn get_mut<'a, T: Handle>(p: *mut T, what: &str) -> R<&'a mut T> {
    check(p, what)?;
    Ok(unsafe { &mut *p })
}

/// Borrows a handle that may be NULL.
pub(crate) unsafe fn get_opt<'a, T: Handle>(p: *const T, what: &str) -> R<Option<&'a T>> {
    if p.is_null() {
        Ok(None)
    } else {
        unsafe { get(p, what) }.map(Some)
    }
}

/// Boxes a value into a registered handle.
pub(crate) fn new<T: Handle>(v: T) -> *mut T {
    let p = Box::into_raw(Box::new(v));
    let mut live = LIVE.write().unwrap_or_else(|p| p.into_inner());
    for (addr, tag) in unsafe { &*p }.children() {
        live.insert(addr ^ MASK, tag);
    }
    live.insert(key(p), T::TAG);
    p
}

/// Writes a new handle to an out-parameter that has been checked.
pub(crate) unsafe fn give<T: Handle>(out: *mut *mut T, v: T) {
    unsafe { out.write(new(v)) };
}

/// Frees `*pp` (when it is a live handle of this type) and sets `*pp` to NULL.
pub(crate) unsafe fn free<T: Handle>(pp: *mut *mut T) -> R {
    if pp.is_null() {
        return Ok(());
    }
    let p = unsafe { *pp };
    if p.is_null() {
        return Ok(());
    }
    unsafe { *pp = std::ptr::null_mut() };
    {
        let mut live = LIVE.write().unwrap_or_else(|p| p.into_inner());
        if live.get(&key(p)) != Some(&T::TAG) {
            return Err(arg(format!(
                "the handle to free is not a live {} (freed already, or of another type)",
                T::NAME
            )));
        }
        live.remove(&key(p));
        for (addr, _) in unsafe { &*p }.children() {
            live.remove(&(addr ^ MASK));
        }
    }
    let b = unsafe { Box::from_raw(p) };
    // Dropping engine values may touch tokio resources: do it inside the runtime's context (if
    // the runtime was never started, nothing of it can be in the handle).
    let _ctx = crate::runtime::started().map(|rt| rt.enter());
    drop(b);
    Ok(())
}
