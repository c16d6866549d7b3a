//! placeholder until the file server lands
