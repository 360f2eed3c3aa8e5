// nt_quant: cast a fixed-point value to another format, the hardware mirror
// of `cast` in src/fixed/mod.rs (ap_fixed semantics).
//
// SHIFT = input fractional bits - output fractional bits. SHIFT > 0 drops
// that many bits with quantization mode QM; SHIFT < 0 shifts left. Then the
// overflow mode OM brings the result into the OW-bit output range.
//   QM: 0 trn, 1 trn_zero, 2 rnd, 3 rnd_zero, 4 rnd_inf, 5 rnd_min_inf, 6 rnd_conv
//   OM: 0 wrap, 1 sat, 2 sat_zero, 3 sat_sym (on one signed bit: sat, as ap_fixed)
// All work happens in XW bits, wide enough that nothing here can overflow.
module nt_quant #(
    parameter integer IW    = 1,
    parameter integer IS    = 1,
    parameter integer SHIFT = 0,
    parameter integer OW    = 1,
    parameter integer OS    = 1,
    parameter integer QM    = 0,
    parameter integer OM    = 0
) (
    input  wire [IW-1:0] a,
    output wire [OW-1:0] y
);
  localparam integer D = (SHIFT > 0) ? SHIFT : 0;
  localparam integer L = (SHIFT < 0) ? -SHIFT : 0;
  localparam integer W0 = (IW + L > D) ? IW + L : D;
  localparam integer XW = ((W0 > OW) ? W0 : OW) + 3;

  wire [XW-1:0] x;
  nt_resize #(.IW(IW), .IS(IS), .OW(XW)) u_rx (.a(a), .y(x));

  // v: the value quantized onto the output grid, exact, XW bits signed.
  wire [XW-1:0] v;
  generate
    if (D == 0) begin : g_left
      assign v = x << L;
    end else begin : g_drop
      wire neg = x[XW-1];
      wire [XW-1:0] fl = $signed(x) >>> D;
      wire qb = x[D-1];  // the half bit
      wire r;            // any bit below the half bit
      if (D >= 2) begin : g_r
        assign r = |x[D-2:0];
      end else begin : g_nor
        assign r = 1'b0;
      end
      reg inc;
      always @(*) begin
        case (QM)
          1: inc = neg & (qb | r);
          2: inc = qb;
          3: inc = qb & (neg | r);
          4: inc = qb & (~neg | r);
          5: inc = qb & r;
          6: inc = qb & (fl[0] | r);
          default: inc = 1'b0;
        endcase
      end
      assign v = fl + {{(XW - 1) {1'b0}}, inc};
    end
  endgenerate

  localparam [XW-1:0] ONE = {{(XW - 1) {1'b0}}, 1'b1};
  localparam [XW-1:0] MAXV = (OS != 0) ? (ONE << (OW - 1)) - ONE : (ONE << OW) - ONE;
  localparam [XW-1:0] MINV = (OS == 0) ? {XW{1'b0}} :
                             (OM == 3 && OW > 1) ? ONE - (ONE << (OW - 1)) : {XW{1'b0}} - (ONE << (OW - 1));
  wire over  = $signed(v) > $signed(MAXV);
  wire under = $signed(v) < $signed(MINV);
  /* verilator lint_off UNUSED */
  wire [XW-1:0] unused_hi = v;
  /* verilator lint_on UNUSED */
  generate
    if (OM == 0) begin : g_wrap
      assign y = v[OW-1:0];
      /* verilator lint_off UNUSED */
      wire unused_flags = over ^ under;
      /* verilator lint_on UNUSED */
    end else if (OM == 2) begin : g_zero
      assign y = (over | under) ? {OW{1'b0}} : v[OW-1:0];
    end else begin : g_sat
      assign y = over ? MAXV[OW-1:0] : under ? MINV[OW-1:0] : v[OW-1:0];
    end
  endgenerate
endmodule
