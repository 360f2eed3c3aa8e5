//! neurtl: trained neural networks to bit-exact, pipelined Verilog.
pub mod fixed;
