// nt_lt: y = (a < b), each operand extended by its own signedness first,
// so a signed and an unsigned value compare as the integers they hold.
module nt_lt #(
    parameter integer AW = 1,
    parameter integer AS = 1,
    parameter integer BW = 1,
    parameter integer BS = 1
) (
    input  wire [AW-1:0] a,
    input  wire [BW-1:0] b,
    output wire          y
);
  localparam integer XW = ((AW > BW) ? AW : BW) + 1;
  wire [XW-1:0] ax;
  wire [XW-1:0] bx;
  nt_resize #(.IW(AW), .IS(AS), .OW(XW)) u_ra (.a(a), .y(ax));
  nt_resize #(.IW(BW), .IS(BS), .OW(XW)) u_rb (.a(b), .y(bx));
  assign y = $signed(ax) < $signed(bx);
endmodule
