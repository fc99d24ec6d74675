package core

import (
	"errors"
	"strings"
	"testing"
)

func TestParseRateReadsEveryUnit(t *testing.T) {
	for in, want := range map[string]int64{
		"20MiB/s":      20 << 20,
		"20 MiB/s":     20 << 20,
		" 20mib/S ":    20 << 20,
		"1B/s":         1,
		"500KB/s":      500_000,
		"1.5MB/s":      1_500_000,
		"2GB/s":        2_000_000_000,
		"64KiB/s":      64 << 10,
		"1.5GiB/s":     3 << 29,
		"100Mbit/s":    12_500_000,
		"800kbit/s":    100_000,
		"1Gbit/s":      125_000_000,
		"8 mbit/s":     1_000_000,
		"none":         0,
		"OFF":          0,
		"1024GiB/s":    1 << 40,
		"0.5KiB/s":     512,
		"3.0000MiB/s":  3 << 20,
		"12.3456KB/s":  12346,
		"0.125kbit/s":  16,
		"7 B/s":        7,
		"1000000 B/s":  1_000_000,
		"2 GiB/s":      2 << 30,
		"10 MB/s":      10_000_000,
		"1 Mbit/s":     125_000,
		"1.25 Gbit/s":  156_250_000,
		"100.5 KiB/s":  102912,
		"99 KiB/s":     99 << 10,
		"0.001 MiB/s":  1049,
		"1.0 kbit/s":   125,
		"3 kb/s":       3000,
		"3 gib/s":      3 << 30,
		"0.25 Mbit/s":  31250,
		"42 b/s":       42,
		"4096 B/s":     4096,
		"5.5 GB/s":     5_500_000_000,
		"1 KIB/S":      1024,
		"2.5 mb/s":     2_500_000,
		"800 KBIT/S":   100_000,
		"16 Gbit/s":    2_000_000_000,
		"0.8 kbit/s":   100,
		"123456789B/s": 123456789,
	} {
		got, err := ParseRate(in)
		if err != nil || got != want {
			t.Errorf("ParseRate(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
}

// Each bad rate gets one sentence that shows a valid one, and no value.
func TestParseRateRefusesWithOneSentence(t *testing.T) {
	for in, says := range map[string]string{
		"":           "no rate given",
		"   ":        "no rate given",
		"0":          "has no unit",
		"0MiB/s":     "a rate of 0",
		"0.0 KB/s":   "a rate of 0",
		"-5MiB/s":    "is negative",
		"20MiB":      "is not per second",
		"20 mbit":    "is not per second",
		"20MiB/h":    "not known",
		"20Mbps":     "not known",
		"fast":       "not a number",
		"MiB/s":      "not a number",
		"1.2.3MB/s":  "not a number",
		"1e6B/s":     "not known",
		"20":         "has no unit",
		"0.1B/s":     "less than 1 byte",
		"2TiB/s":     "not known",
		"2000GiB/s":  "more than 1 TiB/s",
		"20 MiB/s/s": "not known",
		"∞":          "not a number",
	} {
		got, err := ParseRate(in)
		if err == nil {
			t.Errorf("ParseRate(%q) = %d; want an error", in, got)
			continue
		}
		msg := err.Error()
		if got != 0 || !errors.Is(err, ErrInvalid) || !strings.Contains(msg, says) || !strings.Contains(msg, "20MiB/s") ||
			strings.Count(msg, ". ") > 0 || strings.Contains(msg, "\n") {
			t.Errorf("ParseRate(%q) = %d, %q; want one sentence saying %q with an example", in, got, msg, says)
		}
	}
}

func TestFormatRateReadsBack(t *testing.T) {
	for b, want := range map[int64]string{
		0:           "none",
		1:           "1 B/s",
		1023:        "1023 B/s",
		1024:        "1 KiB/s",
		20 << 20:    "20 MiB/s",
		3 << 29:     "1.5 GiB/s",
		12_500_000:  "11.92 MiB/s",
		1 << 40:     "1024 GiB/s",
		100 << 10:   "100 KiB/s",
		1536 * 1024: "1.5 MiB/s",
	} {
		got := FormatRate(b)
		if got != want {
			t.Errorf("FormatRate(%d) = %q; want %q", b, got, want)
		}
		if b == 0 {
			continue
		}
		back, err := ParseRate(got)
		if err != nil || float64(back) < float64(b)*0.999 || float64(back) > float64(b)*1.001 {
			t.Errorf("ParseRate(FormatRate(%d) = %q) = %d, %v; want about %d", b, got, back, err, b)
		}
	}
}

// Whatever is typed, ParseRate either gives a rate within its bounds that
// FormatRate shows and ParseRate reads back (to its rounding), or refuses
// with one sentence that shows a valid rate, and no value.
func FuzzParseRate(f *testing.F) {
	for _, s := range []string{"20MiB/s", "0", "none", "1.5 GB/s", "100Mbit/s", "-1KB/s", "20MiB", "fast", "0.001B/s", "1e9B/s", " 7 kbit/S "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseRate(s)
		if err != nil {
			msg := err.Error()
			if v != 0 || !errors.Is(err, ErrInvalid) || !strings.Contains(msg, "20MiB/s") || strings.Contains(msg, "\n") {
				t.Fatalf("ParseRate(%q) = %d, %q; want 0 and one sentence with an example", s, v, msg)
			}
			return
		}
		if v == 0 {
			if l := strings.ToLower(strings.TrimSpace(s)); l != "none" && l != "off" {
				t.Fatalf("ParseRate(%q) = 0 without an error", s)
			}
			return
		}
		if v < 1 || v > MaxRate {
			t.Fatalf("ParseRate(%q) = %d; out of bounds", s, v)
		}
		back, err := ParseRate(FormatRate(v))
		if err != nil || float64(back) < float64(v)*0.995 || float64(back) > float64(v)*1.005 {
			t.Fatalf("ParseRate(FormatRate(%d) = %q) = %d, %v", v, FormatRate(v), back, err)
		}
	})
}
