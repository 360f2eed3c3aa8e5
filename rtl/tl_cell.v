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
  // Wide enough for up to 2^7 weights of WW bits, and for T (which the
  // compiler keeps within the reachable sums).
  localparam integer SW = WW + 8;
  genvar i;
  generate
    for (i = 0; i < N; i = i + 1) begin : g_term
      wire signed [SW-1:0] w = {{(SW - WW) {WEIGHTS[i*WW+WW-1]}}, WEIGHTS[i*WW+:WW]};
      // Running sum of the weights of the inputs that are 1, one wire per
      // term so simulators see a chain, not a loop.
      wire signed [SW-1:0] s;
      if (i == 0) begin : g_first
        assign s = x[0] ? w : {SW{1'b0}};
      end else begin : g_next
        assign s = x[i] ? g_term[i-1].s + w : g_term[i-1].s;
      end
    end
  endgenerate
  localparam signed [SW-1:0] TS = T[SW-1:0];
  assign y = (g_term[N-1].s >= TS);
endmodule
