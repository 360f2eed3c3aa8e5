// tl_pe_ctrl: the controller of a folded design. Idle, it is ready; it
// takes a sample when in_valid, then runs STEPS schedule steps (step =
// 0 .. STEPS-1, one per cycle, `run` high) and raises `done` for the one
// cycle after the last step, when the result is complete. A new sample can
// be taken in that same cycle: II = STEPS + 1, latency = STEPS + 1.
module tl_pe_ctrl #(
    parameter integer STEPS = 1,
    parameter integer CW = 1
) (
    input  wire          clk,
    input  wire          rst,
    input  wire          in_valid,
    output wire          in_ready,
    output wire          take,
    output wire          run,
    output wire [CW-1:0] step,
    output wire          done
);
  reg busy;
  reg fin;
  reg [CW-1:0] cnt;
  localparam integer LAST = STEPS - 1;
  wire at_last = (cnt == LAST[CW-1:0]);
  assign in_ready = ~busy;
  assign take = ~busy & in_valid;
  assign run = busy;
  assign step = cnt;
  assign done = fin;
  always @(posedge clk) begin
    if (rst) begin
      busy <= 1'b0;
      fin <= 1'b0;
      cnt <= {CW{1'b0}};
    end else begin
      fin <= busy && at_last;
      if (!busy) begin
        cnt <= {CW{1'b0}};
        if (in_valid) busy <= 1'b1;
      end else if (at_last) begin
        busy <= 1'b0;
        cnt <= {CW{1'b0}};
      end else begin
        cnt <= cnt + 1'b1;
      end
    end
  end
endmodule
