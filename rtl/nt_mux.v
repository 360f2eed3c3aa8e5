// nt_mux: word `sel` of a bus of N words of W bits (word 0 lowest).
module nt_mux #(
    parameter integer N = 1,
    parameter integer W = 1,
    parameter integer SW = 1
) (
    input  wire [N*W-1:0] bus,
    input  wire [SW-1:0]  sel,
    output wire [W-1:0]   y
);
  // `sel` never exceeds N - 1 (it comes from a schedule ROM).
  assign y = bus[sel*W+:W];
endmodule
