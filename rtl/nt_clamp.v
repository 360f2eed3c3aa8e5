// nt_clamp: y = clamp(a << SH, LO, HI) in OW bits, each bound only when
// enabled (relu: LO=0 only; hard_tanh: both). LO and HI are CW-bit two's
// complement constants. A lower bound of 0 tests the sign bit alone:
// Yosys would build the comparison as a carry chain.
module nt_clamp #(
    parameter integer IW = 1,
    parameter integer IS = 1,
    parameter integer SH = 0,
    parameter integer CW = 1,
    parameter [CW-1:0] LO = 0,
    parameter [CW-1:0] HI = 0,
    parameter integer ENLO = 1,
    parameter integer ENHI = 0,
    parameter integer OW = 1
) (
    input  wire [IW-1:0] a,
    output wire [OW-1:0] y
);
  localparam integer XW = ((IW + SH > CW) ? IW + SH : CW) + 1;
  wire [XW-1:0] ax;
  wire [XW-1:0] lo;
  wire [XW-1:0] hi;
  nt_resize #(.IW(IW), .IS(IS), .OW(XW)) u_ra (.a(a), .y(ax));
  nt_resize #(.IW(CW), .IS(1), .OW(XW)) u_rl (.a(LO), .y(lo));
  nt_resize #(.IW(CW), .IS(1), .OW(XW)) u_rh (.a(HI), .y(hi));
  wire [XW-1:0] x = ax << SH;
  wire below;
  generate
    if (ENLO != 0 && LO == 0) begin : g_sign
      assign below = x[XW-1];
    end else begin : g_cmp
      assign below = (ENLO != 0) && ($signed(x) < $signed(lo));
    end
  endgenerate
  wire above = (ENHI != 0) && ($signed(x) > $signed(hi));
  wire [XW-1:0] v = below ? lo : above ? hi : x;
  assign y = v[OW-1:0];
  /* verilator lint_off UNUSED */
  wire [XW-1:0] unused_v = v;
  /* verilator lint_on UNUSED */
endmodule
