package odoozip_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/odoo-backup/odoo-backup/core/odoozip"
)

func TestCheckStoreFname(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"ab/ab1234567890abcdef1234567890abcdef1234", true},
		{"abc/abc1234567890abcdef1234567890abcdef12", true},
		{"checklist/ab/ab1234", true},
		{"x", true},
		{"ab/.hidden", true},
		{"ab/...", true},
		{"ab/a b", true},
		{"ab/ünïcode", true},
		{strings.Repeat("a", 1024), true},
		{strings.Repeat("a", 1025), false},
		{"", false},
		{"/ab/cd", false},
		{"ab/../cd", false},
		{"..", false},
		{".", false},
		{"./ab", false},
		{"ab/.", false},
		{"ab/", false},
		{"ab//cd", false},
		{`ab\cd`, false},
		{"ab/c\x00d", false},
		{"ab/c\td", false},
		{"ab/c\rd", false},
		{"ab/c\x7fd", false},
		{"C:/x", false},
		{"ab/c:d", false},
	}
	for _, tc := range tests {
		t.Run(strconv.Quote(tc.name[:min(len(tc.name), 40)]), func(t *testing.T) {
			err := odoozip.CheckStoreFname(tc.name)
			if tc.ok && err != nil {
				t.Errorf("CheckStoreFname(%q) = %v, want nil", tc.name, err)
			}
			if !tc.ok && err == nil {
				t.Errorf("CheckStoreFname(%q) = nil, want a refusal", tc.name)
			}
			if err != nil && !strings.Contains(err.Error(), strconv.Quote(tc.name)) {
				t.Errorf("CheckStoreFname(%q) error %q does not name the file", tc.name, err)
			}
		})
	}
}
