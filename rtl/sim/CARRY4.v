// Simulation model of the 7-series CARRY4 (synthesis uses the tool's own
// cell): four carry-chain cells. The carry into cell 0 is CI | CYINIT;
// cell k outputs O[k] = S[k] ^ carry and passes S[k] ? carry : DI[k] up.
/* verilator lint_off UNOPTFLAT */
module CARRY4 (
    output wire [3:0] CO,
    output wire [3:0] O,
    input  wire       CI,
    input  wire       CYINIT,
    input  wire [3:0] DI,
    input  wire [3:0] S
);
  // one wire per cell, so no signal depends on its own other bits
  wire c0 = CI | CYINIT;
  wire c1 = S[0] ? c0 : DI[0];
  wire c2 = S[1] ? c1 : DI[1];
  wire c3 = S[2] ? c2 : DI[2];
  wire c4 = S[3] ? c3 : DI[3];
  assign O = S ^ {c3, c2, c1, c0};
  assign CO = {c4, c3, c2, c1};
endmodule
/* verilator lint_on UNOPTFLAT */
