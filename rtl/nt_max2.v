// nt_max2: one argmax comparison. Keeps (va, ia) unless vb is strictly
// larger, so the lower index (always on the a side) wins ties.
module nt_max2 #(
    parameter integer W  = 1,
    parameter integer S  = 1,
    parameter integer IW = 1
) (
    input  wire [W-1:0]  va,
    input  wire [IW-1:0] ia,
    input  wire [W-1:0]  vb,
    input  wire [IW-1:0] ib,
    output wire [W-1:0]  v,
    output wire [IW-1:0] i
);
  wire b_wins;
  generate
    if (S != 0) begin : g_s
      assign b_wins = $signed(vb) > $signed(va);
    end else begin : g_u
      assign b_wins = vb > va;
    end
  endgenerate
  assign v = b_wins ? vb : va;
  assign i = b_wins ? ib : ia;
endmodule
