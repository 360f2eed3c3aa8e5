//! Any bytes as a model JSON file: the reader and every pass return a
//! model or an error, never a panic, a hang or a huge allocation; a model
//! that compiles also gets its golden model and datapath built.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    neurtl::fuzzing::compile_and_check(text);
});
