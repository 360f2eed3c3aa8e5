// nt_const: a constant operand (a bias, an argmax leaf index).
module nt_const #(
    parameter integer OW = 1,
    parameter [OW-1:0] C = 0
) (
    output wire [OW-1:0] y
);
  assign y = C;
endmodule
