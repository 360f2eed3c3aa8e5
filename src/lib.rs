//! neurtl: trained neural networks to bit-exact, pipelined Verilog.
//!
//! A model flows front end → IR → passes → back end; see ARCHITECTURE.md.
pub mod backend;
pub mod compile;
pub mod datapath;
pub mod device;
pub mod estimate;
pub mod explore;
pub mod fixed;
pub mod formal;
pub mod frontend;
pub mod fuzzing;
pub mod golden;
pub mod ir;
pub mod metrics;
pub mod passes;
pub mod report;
pub mod report_html;
pub mod sim;
pub mod synth;
pub mod testgen;
pub mod vectors;
