// nt_leaky: leaky ReLU, y = a >= 0 ? a << SH : a * A, in OW bits. A is the
// slope as AW-bit two's complement with SH fractional bits, so both
// branches land on the same grid.
module nt_leaky #(
    parameter integer IW = 1,
    parameter integer IS = 1,
    parameter integer SH = 0,
    parameter integer OW = 1,
    parameter [OW-1:0] A = 0
) (
    input  wire [IW-1:0] a,
    output wire [OW-1:0] y
);
  wire [OW-1:0] ax;
  nt_resize #(.IW(IW), .IS(IS), .OW(OW)) u_ra (.a(a), .y(ax));
  wire neg = (IS != 0) && a[IW-1];
  assign y = neg ? ax * A : ax << SH;
endmodule
