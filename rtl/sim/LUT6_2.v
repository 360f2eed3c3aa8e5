// Simulation model of the 7-series LUT6_2 (synthesis uses the tool's own
// cell): a 64-entry table INIT read at {I5..I0} on O6, and the lower 32
// entries at {I4..I0} on O5.
// A ternary adder chains O5 into the next LUT, which Verilator flags as
// a loop through the cell's ports; it is not one.
/* verilator lint_off UNOPTFLAT */
module LUT6_2 #(
    parameter [63:0] INIT = 64'h0
) (
    output wire O6,
    output wire O5,
    input  wire I0,
    input  wire I1,
    input  wire I2,
    input  wire I3,
    input  wire I4,
    input  wire I5
);
  assign O6 = INIT[{I5, I4, I3, I2, I1, I0}];
  assign O5 = INIT[{1'b0, I4, I3, I2, I1, I0}];
endmodule
/* verilator lint_on UNOPTFLAT */
