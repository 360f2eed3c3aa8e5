// nt_sign: y = (a >= 0), the bipolar bit of sign(a) (1 = +1, 0 = -1).
// `a` is a signed two's-complement value of W bits.
module nt_sign #(
    parameter integer W = 2
) (
    input  wire [W-1:0] a,
    output wire         y
);
  assign y = ~a[W-1];
  /* verilator lint_off UNUSED */
  wire [W-1:0] unused_a = a;
  /* verilator lint_on UNUSED */
endmodule
