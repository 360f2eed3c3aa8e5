// nt_valid: the valid bit's pipeline, DEPTH cycles, synchronous active-high
// reset. out_valid follows in_valid exactly DEPTH cycles later.
module nt_valid #(
    parameter integer DEPTH = 1
) (
    input  wire clk,
    input  wire rst,
    input  wire d,
    output wire q
);
  generate
    if (DEPTH == 0) begin : g_wire
      assign q = d;
      /* verilator lint_off UNUSED */
      wire unused = clk ^ rst;
      /* verilator lint_on UNUSED */
    end else if (DEPTH == 1) begin : g_one
      reg r;
      always @(posedge clk) r <= rst ? 1'b0 : d;
      assign q = r;
    end else begin : g_chain
      reg [DEPTH-1:0] r;
      always @(posedge clk) r <= rst ? {DEPTH{1'b0}} : {r[DEPTH-2:0], d};
      assign q = r[DEPTH-1];
    end
  endgenerate
endmodule
