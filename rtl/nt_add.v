// nt_add: y = (a << ASH) + (b << BSH), or minus when SUB=1, in OW bits.
// Operands are extended by their own signedness first. The compiler sizes
// OW from the exact interval of the result, so arithmetic modulo 2^OW gives
// the exact value; an explicit (wrapping) accumulator relies on the same
// modulo behaviour on purpose.
module nt_add #(
    parameter integer AW  = 1,
    parameter integer AS  = 1,
    parameter integer ASH = 0,
    parameter integer BW  = 1,
    parameter integer BS  = 1,
    parameter integer BSH = 0,
    parameter integer SUB = 0,
    parameter integer OW  = 1
) (
    input  wire [AW-1:0] a,
    input  wire [BW-1:0] b,
    output wire [OW-1:0] y
);
  wire [OW-1:0] ax;
  wire [OW-1:0] bx;
  nt_resize #(.IW(AW), .IS(AS), .OW(OW)) u_ra (.a(a), .y(ax));
  nt_resize #(.IW(BW), .IS(BS), .OW(OW)) u_rb (.a(b), .y(bx));
  wire [OW-1:0] a_sh = ax << ASH;
  wire [OW-1:0] b_sh = bx << BSH;
  generate
    if (SUB != 0) begin : g_sub
      assign y = a_sh - b_sh;
    end else begin : g_add
      assign y = a_sh + b_sh;
    end
  endgenerate
endmodule
