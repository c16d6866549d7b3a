//! Plain-object conversions for the shapes only the JS layer sees (not part of `index.d.ts`).

use napi::bindgen_prelude::*;

/// `impl ToNapiValue` writing each field as a property of a new plain object.
macro_rules! to_js_object {
    ($ty:ident { $($field:ident : $name:literal),* $(,)? }) => {
        impl napi::bindgen_prelude::ToNapiValue for $ty {
            unsafe fn to_napi_value(
                env: napi::sys::napi_env,
                val: Self,
            ) -> napi::Result<napi::sys::napi_value> {
                let js_env = napi::Env::from_raw(env);
                let mut obj = napi::bindgen_prelude::Object::new(&js_env)?;
                $( obj.set($name, val.$field)?; )*
                unsafe { <&napi::bindgen_prelude::Object as napi::bindgen_prelude::ToNapiValue>::to_napi_value(env, &obj) }
            }
        }
    };
}

/// `impl FromNapiValue` reading each field (all optional) from a plain object.
macro_rules! from_js_object {
    ($ty:ident { $($field:ident : $name:literal),* $(,)? }) => {
        impl napi::bindgen_prelude::FromNapiValue for $ty {
            unsafe fn from_napi_value(
                env: napi::sys::napi_env,
                value: napi::sys::napi_value,
            ) -> napi::Result<Self> {
                let obj = napi::bindgen_prelude::Object::from_raw(env, value);
                Ok($ty { $( $field: $crate::js::optional(&obj, $name)?, )* })
            }
        }
        impl napi::bindgen_prelude::TypeName for $ty {
            fn type_name() -> &'static str {
                stringify!($ty)
            }
            fn value_type() -> napi::ValueType {
                napi::ValueType::Object
            }
        }
        impl napi::bindgen_prelude::ValidateNapiValue for $ty {}
    };
}

pub(crate) use {from_js_object, to_js_object};

/// An optional property: `undefined` and `null` are `None`.
pub fn optional<T: FromNapiValue>(obj: &Object, name: &str) -> Result<Option<T>> {
    Ok(obj.get::<Option<T>>(name)?.flatten())
}
