//! The checked-in header `include/natsbridge.h` is what cbindgen makes of the code now (the build
//! script writes it to OUT_DIR). Fix a failure with `scripts/test-c.sh --update-header`.

#[test]
fn checked_in_header_matches_the_code() {
    let generated = std::fs::read_to_string(env!("NATSBRIDGE_GENERATED_HEADER")).expect("the build wrote a header");
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../include/natsbridge.h");
    let checked_in = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(
        generated == checked_in,
        "include/natsbridge.h differs from what cbindgen makes of natsbridge-ffi now; run scripts/test-c.sh --update-header"
    );
}

#[test]
fn every_export_is_in_the_header() {
    let header = std::fs::read_to_string(env!("NATSBRIDGE_GENERATED_HEADER")).expect("the build wrote a header");
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut missing = Vec::new();
    for entry in std::fs::read_dir(&src).expect("src") {
        let text = std::fs::read_to_string(entry.expect("entry").path()).expect("source");
        for line in text.lines() {
            let line = line.trim_start();
            let Some(rest) =
                line.strip_prefix("pub unsafe extern \"C\" fn ").or_else(|| line.strip_prefix("pub extern \"C\" fn "))
            else {
                continue;
            };
            let name = rest.split('(').next().unwrap_or_default();
            if !header.contains(&format!("{name}(")) {
                missing.push(name.to_owned());
            }
        }
    }
    assert!(missing.is_empty(), "exports missing from the header: {missing:?}");
}
