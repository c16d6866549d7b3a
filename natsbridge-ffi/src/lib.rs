//! The C ABI: placeholder until it lands.
