package core

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// rateUnits are the units ParseRate reads, with their bytes per second.
// Units are matched without regard to case; a "B" is always bytes and bits
// are spelled "bit", so "mb/s" is megabytes and "mbit/s" megabits.
var rateUnits = []struct {
	unit  string
	bytes float64
}{
	{"B/s", 1},
	{"KB/s", 1e3}, {"MB/s", 1e6}, {"GB/s", 1e9},
	{"KiB/s", 1 << 10}, {"MiB/s", 1 << 20}, {"GiB/s", 1 << 30},
	{"kbit/s", 1e3 / 8}, {"Mbit/s", 1e6 / 8}, {"Gbit/s", 1e9 / 8},
}

// MaxRate is the largest limit ParseRate accepts (1 TiB/s): more is no
// limit at all.
const MaxRate = 1 << 40

// rateExample ends every ParseRate error: a valid value to copy.
const rateExample = "write a rate such as 20MiB/s, 500KB/s or 100Mbit/s, or none for no limit"

// ParseRate reads a bandwidth limit: a positive number (decimals allowed)
// and a unit per second, with or without a space between them: B/s, KB/s,
// MB/s, GB/s (powers of 1000), KiB/s, MiB/s, GiB/s (powers of 1024), or
// kbit/s, Mbit/s, Gbit/s (bits, powers of 1000). The "/s" is required,
// case does not matter. "none" or "off" is no limit and gives 0. It
// returns bytes per second, rounded, at least 1 and at most MaxRate.
func ParseRate(s string) (int64, error) {
	t := strings.TrimSpace(s)
	switch strings.ToLower(t) {
	case "":
		return 0, Userf(ErrInvalid, "no rate given; %s", rateExample)
	case "none", "off":
		return 0, nil
	}
	i := strings.IndexFunc(t, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	num, unit := t, ""
	if i >= 0 {
		num, unit = t[:i], strings.TrimSpace(t[i:])
	}
	if strings.HasPrefix(t, "-") {
		return 0, Userf(ErrInvalid, "rate %q is negative; %s", s, rateExample)
	}
	v, err := strconv.ParseFloat(num, 64)
	if num == "" || err != nil {
		return 0, Userf(ErrInvalid, "rate %q is not a number with a unit; %s", s, rateExample)
	}
	if unit == "" {
		return 0, Userf(ErrInvalid, "rate %q has no unit; %s", s, rateExample)
	}
	per := 0.0
	for _, u := range rateUnits {
		if strings.EqualFold(unit, u.unit) {
			per = u.bytes
		}
	}
	if per == 0 {
		for _, u := range rateUnits {
			if strings.EqualFold(unit+"/s", u.unit) {
				return 0, Userf(ErrInvalid, "rate %q is not per second; %s", s, rateExample)
			}
		}
		return 0, Userf(ErrInvalid, "rate %q has a unit that is not known (%q); %s", s, unit, rateExample)
	}
	if v == 0 {
		return 0, Userf(ErrInvalid, "a rate of 0 would stop every transfer; %s", rateExample)
	}
	b := math.Round(v * per)
	if b < 1 {
		return 0, Userf(ErrInvalid, "rate %q is less than 1 byte per second; %s", s, rateExample)
	}
	if b > MaxRate {
		return 0, Userf(ErrInvalid, "rate %q is more than 1 TiB/s, which limits nothing; %s", s, rateExample)
	}
	return int64(b), nil
}

// FormatRate shows bytes per second in the largest 1024-based unit that
// keeps it at least 1, e.g. "20 MiB/s" or "1.5 GiB/s"; 0 is "none". It
// reads back with ParseRate (to within the rounding of 3 significant
// digits).
func FormatRate(b int64) string {
	if b <= 0 {
		return "none"
	}
	units := []string{"B/s", "KiB/s", "MiB/s", "GiB/s"}
	v := float64(b)
	i := 0
	for v >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	num := strconv.FormatFloat(v, 'f', -1, 64)
	if v != math.Trunc(v) {
		num = strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.2f", v), "0"), ".")
	}
	return num + " " + units[i]
}
