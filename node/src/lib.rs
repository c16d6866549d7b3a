//! The Node addon: placeholder until it lands.
