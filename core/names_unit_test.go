package core

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestValidateName(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"prod", true},
		{"Prod-1", true},
		{"a", true},
		{"0", true},
		{"odoo17.staging_eu-west", true},
		{"a" + strings.Repeat("b", 62), true},
		{"a" + strings.Repeat("b", 63), false},
		{"", false},
		{"-prod", false},
		{".prod", false},
		{"_prod", false},
		{"..", false},
		{"prod/x", false},
		{"../x", false},
		{"prod x", false},
		{"prod\n", false},
		{"\nprod", false},
		{"prod:1", false},
		{"prod\\x", false},
		{"prød", false},
		{"prod*", false},
	}
	for _, tc := range tests {
		t.Run(strconv.Quote(tc.name), func(t *testing.T) {
			err := ValidateName("service", tc.name)
			if tc.ok && err != nil {
				t.Errorf("ValidateName(%q) = %v, want nil", tc.name, err)
			}
			if !tc.ok {
				if !errors.Is(err, ErrInvalid) {
					t.Errorf("ValidateName(%q) = %v, want an error wrapping ErrInvalid", tc.name, err)
				} else if !strings.Contains(err.Error(), strconv.Quote(tc.name)) || !strings.Contains(err.Error(), "service name") {
					t.Errorf("ValidateName(%q) error %q, want it to name the service and the value", tc.name, err)
				}
			}
		})
	}
}

func TestValidateDatabaseName(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"odoo", true},
		{"_odoo", true},
		{"prod_2024-01.copy", true},
		{"17", true},
		{"a" + strings.Repeat("b", 62), true},
		{"a" + strings.Repeat("b", 63), false},
		{"", false},
		{"-odoo", false},
		{".odoo", false},
		{"..", false},
		{"odoo prod", false},
		{`odoo"; DROP DATABASE x; --`, false},
		{"odoo'", false},
		{"odoo/x", false},
		{"odoo\x00", false},
		{"odoo\n", false},
		{"odoo=x", false},
	}
	for _, tc := range tests {
		t.Run(strconv.Quote(tc.name), func(t *testing.T) {
			err := ValidateDatabaseName(tc.name)
			if tc.ok && err != nil {
				t.Errorf("ValidateDatabaseName(%q) = %v, want nil", tc.name, err)
			}
			if !tc.ok && !errors.Is(err, ErrInvalid) {
				t.Errorf("ValidateDatabaseName(%q) = %v, want an error wrapping ErrInvalid", tc.name, err)
			}
		})
	}
}

func TestParseFrequency(t *testing.T) {
	tests := []struct {
		in     string
		want   Frequency
		ok     bool
		period time.Duration
	}{
		{"", Manual, true, 0},
		{"manual", Manual, true, 0},
		{"none", Manual, true, 0},
		{"hourly", Hourly, true, time.Hour},
		{"daily", Daily, true, 24 * time.Hour},
		{"weekly", Weekly, true, 7 * 24 * time.Hour},
		{"monthly", Monthly, true, 31 * 24 * time.Hour},
		{"yearly", "", false, 0},
		{"Daily", "", false, 0},
		{" daily", "", false, 0},
		{"1h", "", false, 0},
		{"every day", "", false, 0},
	}
	for _, tc := range tests {
		got, err := ParseFrequency(tc.in)
		if tc.ok {
			if err != nil || got != tc.want {
				t.Errorf("ParseFrequency(%q) = %q, %v; want %q, nil", tc.in, got, err, tc.want)
			}
			if p := got.Period(); p != tc.period {
				t.Errorf("%q.Period() = %v, want %v", got, p, tc.period)
			}
			continue
		}
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), strconv.Quote(tc.in)) {
			t.Errorf("ParseFrequency(%q) = %q, %v; want an ErrInvalid error naming the value", tc.in, got, err)
		}
	}
	if got := Manual.String(); got != "manual only" {
		t.Errorf("Manual.String() = %q, want %q", got, "manual only")
	}
	if got := Daily.String(); got != "daily" {
		t.Errorf("Daily.String() = %q, want %q", got, "daily")
	}
}

func TestBackupKey(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		paris = time.FixedZone("CET", 3600)
	}
	tests := []struct {
		service string
		started time.Time
		kind    BackupKind
		n       int
		want    string
	}{
		{"prod", time.Date(2024, 3, 5, 1, 2, 3, 0, time.UTC), KindScheduled, 1, "prod/2024/03/prod_20240305-010203_scheduled.zip"},
		{"prod", time.Date(2024, 3, 5, 1, 2, 3, 999_999_999, time.UTC), KindManual, 0, "prod/2024/03/prod_20240305-010203_manual.zip"},
		{"prod", time.Date(2024, 3, 5, 1, 2, 3, 0, time.UTC), KindSafety, 2, "prod/2024/03/prod_20240305-010203_safety-2.zip"},
		{"prod", time.Date(2024, 3, 5, 1, 2, 3, 0, time.UTC), KindUpload, 12, "prod/2024/03/prod_20240305-010203_upload-12.zip"},
		// 00:30 in Paris on 1 January is still the previous year in UTC.
		{"shop.eu", time.Date(2025, 1, 1, 0, 30, 0, 0, paris), KindCopy, 1, "shop.eu/2024/12/shop.eu_20241231-233000_copy.zip"},
		{"a", time.Date(999, 11, 30, 23, 59, 59, 0, time.UTC), KindScheduled, 1, "a/0999/11/a_09991130-235959_scheduled.zip"},
	}
	for _, tc := range tests {
		got := backupKey(tc.service, tc.started, tc.kind, tc.n)
		if got != tc.want {
			t.Errorf("backupKey(%q, %v, %q, %d) = %q, want %q", tc.service, tc.started, tc.kind, tc.n, got, tc.want)
		}
	}
	if got, want := MetadataKey("prod/2024/03/prod_20240305-010203_manual.zip"), "prod/2024/03/prod_20240305-010203_manual.zip.json"; got != want {
		t.Errorf("MetadataKey = %q, want %q", got, want)
	}
}
