//! Any bytes as an ONNX file: the importer returns a model or an error,
//! never a panic; what it imports compiles or gets an error.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    neurtl::fuzzing::import_and_check(data);
});
