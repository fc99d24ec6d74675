package core

import (
	"errors"
	"strconv"
	"strings"
	"testing"
)

func TestParseGFS(t *testing.T) {
	tests := []struct {
		in   string
		want GFS
	}{
		{"7d,4w,2m", GFS{Daily: 7, Weekly: 4, Monthly: 2}},
		{"24h,7d,4w,12m,1y", GFS{Hourly: 24, Daily: 7, Weekly: 4, Monthly: 12, Yearly: 1}},
		{"1y", GFS{Yearly: 1}},
		{"2m,7d", GFS{Daily: 7, Monthly: 2}},
		{" 7d , 4w ", GFS{Daily: 7, Weekly: 4}},
		{"100000h", GFS{Hourly: 100000}},
		{"07d", GFS{Daily: 7}},
	}
	for _, tc := range tests {
		got, err := ParseGFS(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseGFS(%q) = %+v, %v; want %+v, nil", tc.in, got, err, tc.want)
		}
	}
}

func TestParseGFSRefuses(t *testing.T) {
	tests := []struct {
		in  string
		why string // part of the message
	}{
		{"", "is empty"},
		{"   ", "is empty"},
		{"7d,7d", `names the unit "d" twice`},
		{"7d,3d", `names the unit "d" twice`},
		{"7x", `unknown unit "x"`},
		{"7D", `unknown unit "D"`},
		{"77", `unknown unit "7"`},
		{"0d", "not a positive number"},
		{"-1d", "not a positive number"},
		{"100001d", "not a positive number"},
		{"99999999999999999999d", "not a positive number"},
		{"d", "without a count and a unit"},
		{"7", "without a count and a unit"},
		{"7d,", "without a count and a unit"},
		{",7d", "without a count and a unit"},
		{"7d,,4w", "without a count and a unit"},
		{"7 d", "not a positive number"},
		{"1.5d", "not a positive number"},
		{"7d;4w", "not a positive number"},
		{"keep 7", "not a positive number"},
	}
	for _, tc := range tests {
		t.Run(strconv.Quote(tc.in), func(t *testing.T) {
			got, err := ParseGFS(tc.in)
			if err == nil {
				t.Fatalf("ParseGFS(%q) = %+v, nil; want an error", tc.in, got)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("ParseGFS(%q) error %v does not wrap ErrInvalid", tc.in, err)
			}
			if !strings.Contains(err.Error(), tc.why) || !strings.Contains(err.Error(), strconv.Quote(tc.in)) {
				t.Errorf("ParseGFS(%q) error %q, want it to quote the rule and say %q", tc.in, err, tc.why)
			}
			if got != (GFS{}) {
				t.Errorf("ParseGFS(%q) returned %+v with its error, want the zero GFS", tc.in, got)
			}
		})
	}
}

func TestRetentionString(t *testing.T) {
	tests := []struct {
		r      Retention
		want   string
		isZero bool
	}{
		{Retention{}, "keep all", true},
		{Retention{GFS: &GFS{}}, "keep all", true},
		{Retention{KeepLast: 1}, "keep 1", false},
		{Retention{KeepLast: 14}, "keep 14", false},
		{Retention{GFS: &GFS{Daily: 7, Weekly: 4, Monthly: 2}}, "GFS 7d,4w,2m", false},
		{Retention{GFS: &GFS{Hourly: 24, Daily: 7, Weekly: 4, Monthly: 12, Yearly: 3}}, "GFS 24h,7d,4w,12m,3y", false},
		{Retention{KeepLast: 3, GFS: &GFS{Yearly: 1}}, "GFS 1y", false},
		{Retention{KeepLast: 3, GFS: &GFS{}}, "keep 3", false},
	}
	for _, tc := range tests {
		if got := tc.r.String(); got != tc.want {
			t.Errorf("%+v.String() = %q, want %q", tc.r, got, tc.want)
		}
		if got := tc.r.IsZero(); got != tc.isZero {
			t.Errorf("%+v.IsZero() = %v, want %v", tc.r, got, tc.isZero)
		}
	}
	if got, want := DefaultGFS.String(), "7d,4w,2m"; got != want {
		t.Errorf("DefaultGFS.String() = %q, want %q (the spec's example)", got, want)
	}
}

func FuzzParseGFS(f *testing.F) {
	for _, s := range []string{"7d,4w,2m", "24h,7d,4w,12m,1y", "", " 1y ", "7d,7d", "0d", "-1d", "+7d", "1e3d", "7x", "07d", "100000h", "100001h", "7d,,4w"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		g, err := ParseGFS(s)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("ParseGFS(%q) error %v does not wrap ErrInvalid", s, err)
			}
			return
		}
		if g == (GFS{}) {
			t.Fatalf("ParseGFS(%q) accepted a rule that keeps nothing", s)
		}
		for _, n := range []int{g.Hourly, g.Daily, g.Weekly, g.Monthly, g.Yearly} {
			if n < 0 || n > 100000 {
				t.Fatalf("ParseGFS(%q) = %+v, a count out of range", s, g)
			}
		}
		back, err := ParseGFS(g.String())
		if err != nil || back != g {
			t.Fatalf("ParseGFS(%q) = %+v, whose String %q parses back as %+v, %v", s, g, g.String(), back, err)
		}
	})
}
