//! Generates the C header with cbindgen into `OUT_DIR/natsbridge.h` (the same configuration as
//! the cbindgen command line run in this folder: `cbindgen.toml`). `scripts/test-c.sh` and the
//! `header` test compare it with the checked-in `include/natsbridge.h`; set
//! `NATSBRIDGE_WRITE_HEADER=1` to also write the checked-in copy.

use std::path::PathBuf;

fn main() {
    let crate_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR"));
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-env-changed=NATSBRIDGE_WRITE_HEADER");
    let config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml")).expect("cbindgen.toml reads");
    let bindings = match cbindgen::Builder::new().with_crate(&crate_dir).with_config(config).generate() {
        Ok(b) => b,
        Err(e) => panic!("cbindgen cannot generate the header: {e}"),
    };
    let generated = out_dir.join("natsbridge.h");
    bindings.write_to_file(&generated);
    println!("cargo:rustc-env=NATSBRIDGE_GENERATED_HEADER={}", generated.display());
    if std::env::var_os("NATSBRIDGE_WRITE_HEADER").is_some_and(|v| v == "1") {
        let checked_in = crate_dir.join("../include/natsbridge.h");
        std::fs::create_dir_all(checked_in.parent().expect("include dir")).expect("include dir");
        bindings.write_to_file(&checked_in);
    }
}
