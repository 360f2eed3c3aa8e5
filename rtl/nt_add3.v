// nt_add3: y = a + b + c, or a + b - c when SUB=1, modulo 2^W, as a
// 7-series ternary adder: one LUT6_2 and a quarter CARRY4 per bit. The
// compiler passes the operands already extended and shifted to W bits
// (wiring), so designs instantiate few distinct parameter sets.
//
// a + b + c = X + 2M with X the bitwise XOR and M the bitwise majority of
// the three. Bit i's LUT6_2 gives M's bit on O5 (read by bit i+1) and
// X_i ^ M_(i-1) on O6, the carry chain's propagate; the chain's generate
// is M_(i-1), so the chain adds X and 2M. The operands take pins I1..I3
// and M_(i-1) pin I4, the faster ones of each output (I0 is the slowest). Subtracting c is adding ~c
// (folded into the LUT contents) plus one (the chain's carry in).
// The LO lowest bits, where the compiler has proved at most one operand
// is non-zero and none is subtracted, are wires.
module nt_add3 #(
    parameter integer W   = 1,
    parameter integer SUB = 0,
    parameter integer LO  = 0
) (
    input  wire [W-1:0] a,
    input  wire [W-1:0] b,
    input  wire [W-1:0] c,
    output wire [W-1:0] y
);
  // the chain covers bits LO .. W-1, padded to whole CARRY4s
  localparam integer CB = (W - LO + 3) / 4;
  localparam integer N = LO + 4 * CB;
  localparam [63:0] INIT = (SUB != 0) ? 64'hc33c3cc3_c0fcc0fc : 64'h3cc3c33c_fcc0fcc0;
  wire [N-1:0] a_sh = {{(N - W) {1'b0}}, a};
  wire [N-1:0] b_sh = {{(N - W) {1'b0}}, b};
  wire [N-1:0] c_sh = {{(N - W) {1'b0}}, c};
  wire [N-1:0] sum;
  // chain bit k is bit LO + k; maj[k] is the majority of bit LO + k - 1
  // (a chain through the LUTs, which Verilator would rather not order bit
  // by bit)
  /* verilator lint_off UNOPTFLAT */
  wire [4*CB:0] maj;
  /* verilator lint_on UNOPTFLAT */
  wire [4*CB-1:0] prop;
  // the carry into each CARRY4 (a chain, like maj)
  /* verilator lint_off UNOPTFLAT */
  wire [CB:0] cin;
  /* verilator lint_on UNOPTFLAT */
  assign maj[0] = 1'b0;
  assign cin[0] = 1'b0;
  genvar i;
  generate
    if (LO > 0) begin : g_low
      assign sum[LO-1:0] = a_sh[LO-1:0] | b_sh[LO-1:0] | c_sh[LO-1:0];
    end
    for (i = LO; i < N; i = i + 1) begin : g_bit
      if (i < W) begin : g_lut
        LUT6_2 #(.INIT(INIT)) u_lut (
            .I0(1'b0), .I1(a_sh[i]), .I2(b_sh[i]), .I3(c_sh[i]), .I4(maj[i-LO]), .I5(1'b1),
            .O6(prop[i-LO]), .O5(maj[i-LO+1])
        );
      end else begin : g_pad
        // above the result the chain only has to end
        assign prop[i-LO] = 1'b0;
        assign maj[i-LO+1] = 1'b0;
      end
    end
    for (i = 0; i < CB; i = i + 1) begin : g_chain
      wire [3:0] co;
      CARRY4 u_carry (
          .CI(cin[i]),
          .CYINIT((SUB != 0 && i == 0) ? 1'b1 : 1'b0),
          .DI(maj[4*i+3:4*i]),
          .S(prop[4*i+3:4*i]),
          .O(sum[LO+4*i+3:LO+4*i]),
          .CO(co)
      );
      assign cin[i+1] = co[3];
      /* verilator lint_off UNUSED */
      wire unused_co = &{1'b0, co[2:0]};
      /* verilator lint_on UNUSED */
    end
  endgenerate
  assign y = sum[W-1:0];
  /* verilator lint_off UNUSED */
  wire unused = &{1'b0, maj[4*CB], cin[CB]};
  generate
    if (N > W) begin : g_top
      wire unused_pad = &{1'b0, sum[N-1:W], a_sh[N-1:W], b_sh[N-1:W], c_sh[N-1:W]};
    end
  endgenerate
  /* verilator lint_on UNUSED */
endmodule
