// nt_rom: a read-only memory of DEPTH words of W bits, contents given as
// one parameter (word k in bits [k*W +: W]), read combinationally.
// Synthesis maps it to LUTs or block ROM; there is no initial block.
module nt_rom #(
    parameter integer DEPTH = 1,
    parameter integer W = 1,
    parameter integer AW = 1,
    parameter [DEPTH*W-1:0] DATA = 0
) (
    input  wire [AW-1:0] addr,
    output wire [W-1:0]  q
);
  // The address never exceeds DEPTH - 1 (the controller counts to it).
  assign q = DATA[addr*W+:W];
endmodule
