// nt_cmul: y = a * C in OW bits, C a constant given as OW-bit two's
// complement. OW holds the exact product's interval, so the low OW bits of
// the modular product are the exact product.
module nt_cmul #(
    parameter integer AW = 1,
    parameter integer AS = 1,
    parameter integer OW = 1,
    parameter [OW-1:0] C = 0
) (
    input  wire [AW-1:0] a,
    output wire [OW-1:0] y
);
  wire [OW-1:0] ax;
  nt_resize #(.IW(AW), .IS(AS), .OW(OW)) u_ra (.a(a), .y(ax));
  assign y = ax * C;
endmodule
