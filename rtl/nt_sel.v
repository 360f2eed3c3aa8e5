// nt_sel: y = s ? b : a, each operand extended by its own signedness to
// the OW-bit result (which the compiler sizes to hold both).
module nt_sel #(
    parameter integer AW = 1,
    parameter integer AS = 1,
    parameter integer BW = 1,
    parameter integer BS = 1,
    parameter integer OW = 1
) (
    input  wire          s,
    input  wire [AW-1:0] a,
    input  wire [BW-1:0] b,
    output wire [OW-1:0] y
);
  wire [OW-1:0] ax;
  wire [OW-1:0] bx;
  nt_resize #(.IW(AW), .IS(AS), .OW(OW)) u_ra (.a(a), .y(ax));
  nt_resize #(.IW(BW), .IS(BS), .OW(OW)) u_rb (.a(b), .y(bx));
  assign y = s ? bx : ax;
endmodule
