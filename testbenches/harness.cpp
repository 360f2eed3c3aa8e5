// Verilator harness for a neurtl design. Offers one vector per clock and
// moves on when the design takes it (in_valid and in_ready): the first
// BURST samples back to back, so the initiation interval can be measured,
// then with a fixed pattern of idle cycles, to exercise the valid pipeline.
// It checks every output against the golden model's expected values, in
// order, and prints the first mismatches per element.
//
// Latency and II are measured from the data, not taken from the compiler:
// the cycle each sample is taken and the cycle its correct result appears
// (out_valid high and out_data equal to the expected value) give each
// sample's latency, which must be one number; the cycles between samples
// taken while the harness offered in every cycle give the II.
//
// Usage: sim <in.hex> <expected.hex>
// Prints one line "RESULT vectors=N mismatches=M latency=L ii=I" at the end
// (L or I is -1 when it was not measured or not one number).
#include "tb_config.h"
#include TB_HEADER
#include "verilated.h"

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

typedef std::vector<uint32_t> Words;

static Words parse_hex(const std::string& s, long bits) {
    Words w((bits + 31) / 32 + 1, 0);
    long nib = 0;
    for (long i = (long)s.size() - 1; i >= 0; --i) {
        char c = s[i];
        int v;
        if (c >= '0' && c <= '9') v = c - '0';
        else if (c >= 'a' && c <= 'f') v = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F') v = c - 'A' + 10;
        else continue;
        w[nib / 8] |= (uint32_t)v << (4 * (nib % 8));
        ++nib;
    }
    return w;
}

static std::vector<Words> read_vectors(const char* path, long bits) {
    std::ifstream f(path);
    std::vector<Words> out;
    std::string line;
    while (std::getline(f, line)) {
        if (!line.empty()) out.push_back(parse_hex(line, bits));
    }
    return out;
}

// Ports up to 64 bits are plain integers in Verilator; wider ones VlWide.
template <class T> static void put(T& port, const Words& w) {
    port = (T)((uint64_t)w[0] | ((uint64_t)w[1] << 32));
}
template <std::size_t N> static void put(VlWide<N>& port, const Words& w) {
    for (std::size_t i = 0; i < N; ++i) port[i] = w[i];
}
template <class T> static Words get(const T& port, long bits) {
    Words w((bits + 31) / 32 + 1, 0);
    uint64_t v = (uint64_t)port;
    w[0] = (uint32_t)v;
    w[1] = (uint32_t)(v >> 32);
    return w;
}
template <std::size_t N> static Words get(const VlWide<N>& port, long bits) {
    Words w((bits + 31) / 32 + 1, 0);
    for (std::size_t i = 0; i < N; ++i) w[i] = port[i];
    return w;
}

static bool bit(const Words& w, long i) { return (w[i / 32] >> (i % 32)) & 1; }

// Element value as a signed 128-bit integer.
static __int128 element(const Words& w, const TbField& f) {
    __int128 v = 0;
    for (int b = f.width - 1; b >= 0; --b) v = (v << 1) | (bit(w, f.offset + b) ? 1 : 0);
    if (f.is_signed && bit(w, f.offset + f.width - 1)) v -= ((__int128)1 << f.width);
    return v;
}

static std::string str128(__int128 v) {
    bool neg = v < 0;
    unsigned __int128 u = neg ? -(unsigned __int128)v : (unsigned __int128)v;
    std::string s;
    do { s.insert(s.begin(), char('0' + (int)(u % 10))); u /= 10; } while (u);
    return neg ? "-" + s : s;
}

static bool same_bits(const Words& a, const Words& b, long bits) {
    for (long i = 0; i < bits; ++i)
        if (bit(a, i) != bit(b, i)) return false;
    return true;
}

static const long BURST = 32;

// Idle cycles, one in eleven, once the back-to-back burst has been taken.
static bool idle(long cycle, long sent) { return sent >= BURST && (cycle * 7 + 3) % 11 == 0; }

// A quantity that must come out the same for every sample: the first
// measurement sets it, a different one is reported and makes it -1.
struct Measure {
    const char* what;
    long value = -2;  // -2: not measured yet
    void note(long v, long sample) {
        if (value == -2) {
            value = v;
        } else if (value >= 0 && v != value) {
            std::printf("ERROR sample %ld: %s %ld cycles, earlier samples %ld\n", sample, what, v, value);
            value = -1;
        }
    }
    long result() const { return value == -2 ? -1 : value; }
};

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: %s in.hex expected.hex\n", argv[0]);
        return 2;
    }
    Verilated::commandArgs(1, argv);
    std::vector<Words> vin = read_vectors(argv[1], TB_IN_BITS);
    std::vector<Words> vexp = read_vectors(argv[2], TB_OUT_BITS);
    if (vin.size() != vexp.size() || vin.empty()) {
        std::fprintf(stderr, "vector files disagree or are empty\n");
        return 2;
    }
    TB_TOP* top = new TB_TOP;
    top->clk = 0;
    top->rst = 1;
    top->in_valid = 0;
    for (int i = 0; i < 4; ++i) {
        top->clk = 0; top->eval();
        top->clk = 1; top->eval();
    }
    top->rst = 0;
    const long n = (long)vin.size();
    std::vector<long> taken(n, -1);  // the cycle each sample was taken
    Measure latency{"latency"}, ii{"II"};
    long sent = 0, got = 0, errors = 0, cycle = 0;
    // Whether the harness offered a sample in every cycle since the last
    // one was taken: only then is the gap between two samples the II.
    bool steady = false;
    const long limit = 2 * n * TB_II + TB_LATENCY + 100;
    while (got < n && cycle < limit) {
        top->clk = 0;
        const bool offer = sent < n && !idle(cycle, sent);
        top->in_valid = offer;
        if (offer) put(top->in_data, vin[sent]);
        top->eval();
        // Taken before the output is read: with latency 0 the result is in
        // this same cycle.
        if (offer && top->in_ready) {
            if (steady) ii.note(cycle - taken[sent - 1], sent);
            taken[sent++] = cycle;
            steady = true;
        } else if (!offer) {
            steady = false;
        }
        if (top->out_valid && got >= sent) {
            if (errors < 10) std::printf("ERROR out_valid in cycle %ld with no sample in flight\n", cycle);
            ++errors;
        } else if (top->out_valid) {
            Words out = get(top->out_data, TB_OUT_BITS);
            if (same_bits(out, vexp[got], TB_OUT_BITS)) {
                latency.note(cycle - taken[got], got);
            } else {
                for (int k = 0; k < TB_N_OUT_FIELDS; ++k) {
                    const TbField& f = TB_OUT_FIELDS[k];
                    __int128 e = element(vexp[got], f), a = element(out, f);
                    if (e != a && errors < 10) {
                        std::printf("MISMATCH sample %ld output %s[%d]: expected %s, got %s (raw, frac %d)\n", got,
                                    f.name, f.index, str128(e).c_str(), str128(a).c_str(), f.frac);
                    }
                }
                ++errors;
            }
            ++got;
        }
        top->clk = 1;
        top->eval();
        ++cycle;
    }
    if (got < n) {
        std::printf("ERROR only %ld of %ld outputs appeared\n", got, n);
        errors += n - got;
    }
    const long lat = latency.result(), gap = ii.result();
    std::printf("RESULT vectors=%ld mismatches=%ld latency=%ld ii=%ld\n", got, errors, lat, gap);
    top->final();
    delete top;
    // One sample has no interval to measure.
    const bool ii_ok = gap == TB_II || (n < 2 && gap == -1);
    return errors == 0 && lat == TB_LATENCY && ii_ok ? 0 : 1;
}
