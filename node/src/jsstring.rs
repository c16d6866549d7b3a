//! Large strings (and their bytes) to JavaScript without a copy. An envelope's JSON text
//! (`env_json_str`) is hundreds of kilobytes for large direct payloads; `napi_create_string_utf8`
//! would validate and copy it into a fresh V8 allocation on the JS thread every time. When the
//! text is ASCII (base64, ids and most JSON are) and the running Node has
//! `node_api_create_external_string_latin1` (Node >= 18.18 / 20.4), V8 uses the Rust string's
//! memory as it is and frees it through a finalizer; otherwise the string is created the ordinary
//! way. The same memory can also back a `Buffer` (for publishing through nats.js), so the text
//! exists once.

use std::ffi::{c_char, c_void};
use std::ptr;
use std::sync::{Arc, OnceLock};

use napi::bindgen_prelude::*;
use napi::sys;

/// Below this size copying is cheaper than an external string's bookkeeping.
const EXTERNAL_MIN: usize = 32 * 1024;

type CreateExternalLatin1 = unsafe extern "C" fn(
    env: sys::napi_env,
    str_: *const c_char,
    length: isize,
    finalize: sys::napi_finalize,
    finalize_hint: *mut c_void,
    result: *mut sys::napi_value,
    copied: *mut bool,
) -> sys::napi_status;

fn create_external_latin1() -> Option<CreateExternalLatin1> {
    static FN: OnceLock<Option<CreateExternalLatin1>> = OnceLock::new();
    *FN.get_or_init(|| {
        #[cfg(unix)]
        {
            // SAFETY: dlsym with a NUL-terminated name; the symbol, when the host exports it, has
            // exactly the signature above (Node-API, js_native_api.h).
            let sym = unsafe { libc::dlsym(libc::RTLD_DEFAULT, c"node_api_create_external_string_latin1".as_ptr()) };
            (!sym.is_null()).then(|| unsafe { std::mem::transmute::<*mut c_void, CreateExternalLatin1>(sym) })
        }
        #[cfg(not(unix))]
        {
            None
        }
    })
}

/// Finalizer of external strings and buffers: releases the `Arc<String>` they were made over.
unsafe extern "C" fn release(_env: sys::napi_env, _data: *mut c_void, hint: *mut c_void) {
    // SAFETY: `hint` is a `Box<Arc<String>>` leaked when the value was made, handed back once.
    drop(unsafe { Box::from_raw(hint.cast::<Arc<String>>()) });
}

/// A JavaScript string with `text`'s content: external (no copy) when it can be.
unsafe fn string_value(env: sys::napi_env, text: &Arc<String>) -> Result<sys::napi_value> {
    if text.len() >= EXTERNAL_MIN && text.is_ascii() {
        if let Some(create) = create_external_latin1() {
            let hint = Box::into_raw(Box::new(text.clone()));
            let mut result = ptr::null_mut();
            let mut copied = false;
            // SAFETY: the bytes stay valid until V8 calls `release` (or has called it already,
            // when it copied them); on failure nothing took ownership of `hint`.
            let status = unsafe {
                create(
                    env,
                    text.as_ptr().cast(),
                    text.len() as isize,
                    Some(release),
                    hint.cast(),
                    &mut result,
                    &mut copied,
                )
            };
            if status == sys::Status::napi_ok {
                return Ok(result);
            }
            drop(unsafe { Box::from_raw(hint) });
        }
    }
    unsafe { small_string(env, text) }
}

/// A JavaScript string copied from `text`: as Latin-1 when it is ASCII (the same characters),
/// which spares V8 its UTF-8 decoding pass.
unsafe fn small_string(env: sys::napi_env, text: &str) -> Result<sys::napi_value> {
    if !text.is_ascii() {
        return unsafe { <&str>::to_napi_value(env, text) };
    }
    let mut result = ptr::null_mut();
    // SAFETY: `text` is valid for its length; ASCII is valid Latin-1.
    check_status!(unsafe {
        sys::napi_create_string_latin1(env, text.as_ptr().cast(), text.len() as isize, &mut result)
    })?;
    Ok(result)
}

/// A `Buffer` over `text`'s bytes, sharing its memory (a copy where external buffers are refused).
unsafe fn buffer_value(env: sys::napi_env, text: &Arc<String>) -> Result<sys::napi_value> {
    let mut result = ptr::null_mut();
    if text.is_empty() {
        check_status!(unsafe { sys::napi_create_buffer(env, 0, ptr::null_mut(), &mut result) })?;
        return Ok(result);
    }
    let hint = Box::into_raw(Box::new(text.clone()));
    // SAFETY: the memory is kept alive by `hint` until `release` runs; JavaScript only reads it
    // (the JS layer hands it to nats.js' publish and drops it).
    let status = unsafe {
        sys::napi_create_external_buffer(
            env,
            text.len(),
            text.as_ptr().cast_mut().cast(),
            Some(release),
            hint.cast(),
            &mut result,
        )
    };
    if status == sys::Status::napi_ok {
        return Ok(result);
    }
    drop(unsafe { Box::from_raw(hint) });
    check_status!(unsafe {
        sys::napi_create_buffer_copy(env, text.len(), text.as_ptr().cast(), ptr::null_mut(), &mut result)
    })?;
    Ok(result)
}

/// A string that becomes a JavaScript string without a copy when it can.
pub struct JsString(pub String);

impl ToNapiValue for JsString {
    unsafe fn to_napi_value(env: sys::napi_env, val: Self) -> Result<sys::napi_value> {
        if val.0.len() < EXTERNAL_MIN {
            return unsafe { small_string(env, &val.0) };
        }
        unsafe { string_value(env, &Arc::new(val.0)) }
    }
}

/// The same text as a JavaScript string and as a `Buffer` over the same memory.
pub struct SharedText(pub Arc<String>);

impl SharedText {
    pub unsafe fn string(&self, env: sys::napi_env) -> Result<sys::napi_value> {
        unsafe { string_value(env, &self.0) }
    }

    pub unsafe fn buffer(&self, env: sys::napi_env) -> Result<sys::napi_value> {
        unsafe { buffer_value(env, &self.0) }
    }
}
