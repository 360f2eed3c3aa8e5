//! Back ends: lowered IR in, files out. Each back end is a module with one
//! entry function, its own options and its own error type.

pub mod testbench;
pub mod timing;
pub mod tl_cells;
pub mod verilog;
