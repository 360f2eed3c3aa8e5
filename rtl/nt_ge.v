// nt_ge: y = (a >= T), a threshold comparison. T is a TW-bit two's
// complement constant; `a` is W bits, signed when S != 0.
module nt_ge #(
    parameter integer W  = 1,
    parameter integer S  = 1,
    parameter integer TW = 1,
    parameter [TW-1:0] T = 0
) (
    input  wire [W-1:0] a,
    output wire         y
);
  localparam integer XW = ((W > TW) ? W : TW) + 1;
  wire [XW-1:0] ax;
  wire [XW-1:0] tx;
  nt_resize #(.IW(W), .IS(S), .OW(XW)) u_ra (.a(a), .y(ax));
  nt_resize #(.IW(TW), .IS(1), .OW(XW)) u_rt (.a(T), .y(tx));
  assign y = $signed(ax) >= $signed(tx);
endmodule
