// nt_resize: two's-complement (IS=1) or unsigned (IS=0) value to OW bits.
// Widening sign- or zero-extends. Narrowing keeps the low bits: the
// compiler only narrows values it has proved to fit, so this is exact.
module nt_resize #(
    parameter integer IW = 1,
    parameter integer IS = 1,
    parameter integer OW = 1
) (
    input  wire [IW-1:0] a,
    output wire [OW-1:0] y
);
  generate
    if (OW > IW) begin : g_extend
      wire fill = (IS != 0) ? a[IW-1] : 1'b0;
      assign y = {{(OW - IW) {fill}}, a};
    end else begin : g_keep
      assign y = a[OW-1:0];
      if (OW < IW) begin : g_drop
        /* verilator lint_off UNUSED */
        wire [IW-1:0] dropped = a;
        /* verilator lint_on UNUSED */
      end
    end
  endgenerate
endmodule
