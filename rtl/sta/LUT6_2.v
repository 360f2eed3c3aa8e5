// Timing of the 7-series LUT6_2 for Yosys `sta`, read after Yosys' own
// cell library (whose LUT6_2 has no timing arcs, so paths would stop at
// it). The pin delays are those of its LUT6 (O6) and LUT5 (O5) in that
// library. O5 has arcs only from I1..I3: the one LUT6_2 neurtl
// instantiates (`rtl/nt_add3.v`) computes a majority of I1..I3 on O5,
// and a vendor timer likewise drops the arcs of pins a LUT's function
// ignores.
module LUT6_2 (
    output O6,
    output O5,
    input  I0,
    input  I1,
    input  I2,
    input  I3,
    input  I4,
    input  I5
);
  parameter [63:0] INIT = 0;
  assign O6 = INIT[{I5, I4, I3, I2, I1, I0}];
  assign O5 = INIT[{1'b0, I4, I3, I2, I1, I0}];
  specify
    (I0 => O6) = 642;
    (I1 => O6) = 631;
    (I2 => O6) = 472;
    (I3 => O6) = 407;
    (I4 => O6) = 238;
    (I5 => O6) = 127;
    (I1 => O5) = 472;
    (I2 => O5) = 407;
    (I3 => O5) = 238;
  endspecify
endmodule
