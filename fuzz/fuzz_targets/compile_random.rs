//! Random valid networks (the property tests' generators, so every op
//! they draw), compiled with options the input picks, run through the
//! datapath interpreter and the golden model, which must agree.
#![no_main]

use libfuzzer_sys::fuzz_target;

use neurtl::testgen as networks;

fuzz_target!(|data: &[u8]| {
    let (model, opts, seed) = networks::fuzz_case(data);
    let text = model.to_string();
    assert!(
        neurtl::fuzzing::check_text(&text, opts, seed),
        "a generated network does not compile: {text}"
    );
});
