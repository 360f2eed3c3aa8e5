// tl_cell: one threshold-logic gate, y = [sum_i WEIGHTS[i] * x[i] >= T].
// Weight i is the WW-bit two's-complement field WEIGHTS[i*WW +: WW].
// This behavioral body is for simulation and FPGA synthesis; an ASIC flow
// swaps the module for a threshold-logic standard cell with the same
// parameters.
module tl_cell #(
    parameter integer N = 1,
    parameter integer WW = 2,
    parameter [N*WW-1:0] WEIGHTS = 0,
    parameter integer T = 0
) (
    input  wire [N-1:0] x,
    output wire         y
);
  reg signed [31:0] s;
  integer i;
  always @* begin
    s = 0;
    for (i = 0; i < N; i = i + 1) begin
      if (x[i]) s = s + {{(32 - WW) {WEIGHTS[i*WW+WW-1]}}, WEIGHTS[i*WW+:WW]};
    end
  end
  assign y = (s >= T);
endmodule
