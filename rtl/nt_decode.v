// nt_decode: a one-hot decoder, y[i] = (sel == i) while every `en` bit is
// set, else 0. The folded array's result banks take their write strobes
// from it (en = {run, last step of a group}, sel = the group).
module nt_decode #(
    parameter integer N  = 1,
    parameter integer SW = 1,
    parameter integer EW = 1
) (
    input  wire [EW-1:0] en,
    input  wire [SW-1:0] sel,
    output wire [N-1:0]  y
);
  genvar i;
  generate
    for (i = 0; i < N; i = i + 1) begin : g_out
      localparam [SW-1:0] K = i;
      assign y[i] = (&en) & (sel == K);
    end
  endgenerate
endmodule
