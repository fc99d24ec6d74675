package core

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseTarget(t *testing.T) {
	good := map[string]time.Duration{
		"2h": 2 * time.Hour, "30m": 30 * time.Minute, "1h30m": 90 * time.Minute, "1m": time.Minute,
		"1d": 24 * time.Hour, "2d12h": 60 * time.Hour, " 45M ": 45 * time.Minute,
		"0": 0, "none": 0, "None": 0, "0s": 0, "0d": 0,
	}
	for in, want := range good {
		if got, err := ParseTarget(in); err != nil || got != want {
			t.Errorf("ParseTarget(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	bad := map[string]string{
		"":      "is not a duration",
		"soon":  "is not a duration",
		"2x":    "is not a duration",
		"d":     "is not a duration",
		"1d-2h": "is not a duration",
		"-1d":   "is not a duration",
		"-2h":   "is negative",
		"30s":   "is below 1m",
		"59s":   "is below 1m",
	}
	for in, want := range bad {
		_, err := ParseTarget(in)
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseTarget(%q) = %v, want ErrInvalid saying %q", in, err, want)
		}
	}
}

func TestCheckTargets(t *testing.T) {
	if err := CheckTargets(Service{Name: "app", RPOTargetSeconds: 7200, RTOTargetSeconds: 60}); err != nil {
		t.Errorf("targets of 2h and 1m refused: %v", err)
	}
	if err := CheckTargets(Service{Name: "app"}); err != nil {
		t.Errorf("no targets refused: %v", err)
	}
	for _, s := range []Service{{Name: "app", RPOTargetSeconds: -1}, {Name: "app", RTOTargetSeconds: 30}} {
		if err := CheckTargets(s); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "target of service app") {
			t.Errorf("CheckTargets(%+v) = %v, want ErrInvalid naming the service's target", s, err)
		}
	}
}
