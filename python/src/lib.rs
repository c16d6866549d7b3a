//! The Python extension: placeholder until it lands.
