// nt_reg: DEPTH pipeline registers on a W-bit value (DEPTH=0: a wire).
// Data registers have no reset: only the valid pipeline (nt_valid) does,
// which saves a reset net per bit and changes no observable output.
module nt_reg #(
    parameter integer W = 1,
    parameter integer DEPTH = 1
) (
    input  wire         clk,
    input  wire [W-1:0] d,
    output wire [W-1:0] q
);
  generate
    if (DEPTH == 0) begin : g_wire
      assign q = d;
      /* verilator lint_off UNUSED */
      wire unused_clk = clk;
      /* verilator lint_on UNUSED */
    end else if (DEPTH == 1) begin : g_one
      reg [W-1:0] r;
      always @(posedge clk) r <= d;
      assign q = r;
    end else begin : g_chain
      reg [W*DEPTH-1:0] r;
      always @(posedge clk) r <= {r[W*(DEPTH-1)-1:0], d};
      assign q = r[W*DEPTH-1:W*(DEPTH-1)];
    end
  endgenerate
endmodule
