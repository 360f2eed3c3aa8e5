// nt_bank: W register bits, each loading its d bit when its we bit is set.
module nt_bank #(
    parameter integer W = 1
) (
    input  wire         clk,
    input  wire [W-1:0] we,
    input  wire [W-1:0] d,
    output reg  [W-1:0] q
);
  integer i;
  always @(posedge clk) begin
    for (i = 0; i < W; i = i + 1) begin
      if (we[i]) q[i] <= d[i];
    end
  end
endmodule
