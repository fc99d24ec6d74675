package odoozip_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/odoo-backup/odoo-backup/core/odoozip"
)

func TestOdooSeries(t *testing.T) {
	tests := []struct{ in, want string }{
		{"17.0.1.3", "17.0"},
		{"16.0.1.0", "16.0"},
		{"8.0.1.3", "8.0"},
		{"saas~17.2.1.3", "saas~17.2"},
		{"saas~18.4.1.0", "saas~18.4"},
		{"17.0", "17.0"},
		{"17", ""},
		{"", ""},
	}
	for _, tc := range tests {
		if got := odoozip.OdooSeries(tc.in); got != tc.want {
			t.Errorf("OdooSeries(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestNewManifest(t *testing.T) {
	tests := []struct {
		name        string
		modules     map[string]string
		serverNum   int
		version     string
		versionInfo string // as JSON
		pgVersion   string
	}{
		{"odoo 17 on pg 15", map[string]string{"base": "17.0.1.3", "web": "17.0.1.0"}, 150018, "17.0", `[17,0,0,"final",0,""]`, "15.0"},
		{"odoo 16 on pg 12", map[string]string{"base": "16.0.1.3"}, 120005, "16.0", `[16,0,0,"final",0,""]`, "12.0"},
		{"odoo 18 on pg 17", map[string]string{"base": "18.0.1.3"}, 170002, "18.0", `[18,0,0,"final",0,""]`, "17.0"},
		{"odoo 12 on pg 10", map[string]string{"base": "12.0.1.3"}, 100023, "12.0", `[12,0,0,"final",0,""]`, "10.0"},
		{"no base module", map[string]string{"web": "17.0.1.0"}, 160000, "", `[]`, "16.0"},
		{"no modules", nil, 160000, "", `[]`, "16.0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := odoozip.NewManifest("prod", tc.modules, tc.serverNum)
			if m.OdooDump != "1" || m.DBName != "prod" {
				t.Errorf("odoo_dump, db_name = %q, %q; want \"1\", \"prod\"", m.OdooDump, m.DBName)
			}
			if m.Version != tc.version || m.MajorVersion != tc.version {
				t.Errorf("version, major_version = %q, %q; want %q for both", m.Version, m.MajorVersion, tc.version)
			}
			if vi, _ := json.Marshal(m.VersionInfo); string(vi) != tc.versionInfo {
				t.Errorf("version_info = %s, want %s", vi, tc.versionInfo)
			}
			if m.PGVersion != tc.pgVersion {
				t.Errorf("pg_version from %d = %q, want %q", tc.serverNum, m.PGVersion, tc.pgVersion)
			}
			if m.Modules == nil {
				t.Error("modules is nil; it must marshal as {} like Odoo's")
			}
			if len(tc.modules) > 0 && !reflect.DeepEqual(m.Modules, tc.modules) {
				t.Errorf("modules = %v, want %v", m.Modules, tc.modules)
			}
		})
	}
}

// Odoo's own release.py for a saas release reads:
//
//	version_info = ('saas~17', 2, 0, FINAL, 0, '')
func TestNewManifestSaas(t *testing.T) {
	m := odoozip.NewManifest("prod", map[string]string{"base": "saas~17.2.1.3"}, 160003)
	if m.Version != "saas~17.2" || m.MajorVersion != "saas~17.2" {
		t.Errorf("version, major_version = %q, %q; want saas~17.2 for both", m.Version, m.MajorVersion)
	}
	vi, _ := json.Marshal(m.VersionInfo)
	if string(vi) == `[17,2,0,"final",0,""]` {
		t.Fatalf(`version_info for saas~17.2 is %s; Odoo's own is ["saas~17",2,0,"final",0,""]`, vi)
	}
	if string(vi) != `["saas~17",2,0,"final",0,""]` {
		t.Errorf(`version_info = %s, want ["saas~17",2,0,"final",0,""]`, vi)
	}
}

// Odoo computes pg_version as "%d.%d" % divmod(server_version / 100, 100):
// "9.6" for a 9.6 server, "15.0" for any 15.x.
func TestNewManifestPG9(t *testing.T) {
	m := odoozip.NewManifest("prod", map[string]string{"base": "11.0.1.3"}, 90624)
	if m.PGVersion == "9.0" {
		t.Fatalf(`pg_version from server_version_num 90624 is %q; Odoo writes "9.6" (before 10 the major has two parts)`, m.PGVersion)
	}
	if m.PGVersion != "9.6" {
		t.Errorf("pg_version from 90624 = %q, want 9.6", m.PGVersion)
	}
}

func TestManifestMarshalLikeOdoo(t *testing.T) {
	m := odoozip.NewManifest("prod", map[string]string{"base": "17.0.1.3"}, 150018)
	b, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	want := `{
    "odoo_dump": "1",
    "db_name": "prod",
    "version": "17.0",
    "version_info": [
        17,
        0,
        0,
        "final",
        0,
        ""
    ],
    "major_version": "17.0",
    "pg_version": "15.0",
    "modules": {
        "base": "17.0.1.3"
    }
}`
	if string(b) != want {
		t.Errorf("Marshal:\n got %s\nwant %s", b, want)
	}
}

func TestManifestRoundTrip(t *testing.T) {
	for _, m := range []odoozip.Manifest{
		odoozip.NewManifest("prod", map[string]string{"base": "17.0.1.3", "web": "17.0.1.0", "sale_management": "17.0.1.0"}, 150018),
		odoozip.NewManifest("weird-name_1.2", nil, 100000),
		odoozip.NewManifest("ünïcode", map[string]string{"base": "saas~17.2.1.3", "x": ""}, 160000),
	} {
		b, err := m.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		got, err := odoozip.ParseManifest(b)
		if err != nil {
			t.Fatalf("ParseManifest(Marshal(%+v)): %v", m, err)
		}
		b2, _ := got.Marshal()
		if string(b2) != string(b) {
			t.Errorf("Marshal → ParseManifest → Marshal:\n got %s\nwant %s", b2, b)
		}
		if got.DBName != m.DBName || got.Version != m.Version || got.PGVersion != m.PGVersion || !reflect.DeepEqual(got.Modules, m.Modules) {
			t.Errorf("ParseManifest(Marshal(m)) = %+v, want %+v", got, m)
		}
	}
}

func TestParseManifestTolerance(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want odoozip.Manifest
	}{
		{"odoo 17", `{"odoo_dump": "1", "db_name": "prod", "version": "17.0", "version_info": [17, 0, 0, "final", 0, ""], "major_version": "17.0", "pg_version": "15.0", "modules": {"base": "17.0.1.3"}}`,
			odoozip.Manifest{OdooDump: "1", DBName: "prod", Version: "17.0", VersionInfo: []any{17.0, 0.0, 0.0, "final", 0.0, ""}, MajorVersion: "17.0", PGVersion: "15.0", Modules: map[string]string{"base": "17.0.1.3"}}},
		{"odoo_dump as number", `{"odoo_dump": 1, "db_name": "prod"}`,
			odoozip.Manifest{OdooDump: "1", DBName: "prod"}},
		{"pg_version as number", `{"odoo_dump": "1", "pg_version": 9.6}`,
			odoozip.Manifest{OdooDump: "1", PGVersion: "9.6"}},
		{"missing everything", `{}`, odoozip.Manifest{}},
		{"null fields", `{"odoo_dump": null, "db_name": null, "version_info": null, "modules": null}`, odoozip.Manifest{Modules: map[string]string{}}},
		{"modules with null and odd versions", `{"modules": {"base": "17.0.1.3", "ghost": null, "num": 1.0, "list": []}}`,
			odoozip.Manifest{Modules: map[string]string{"base": "17.0.1.3", "ghost": "", "num": "", "list": ""}}},
		{"modules not an object", `{"modules": ["base"], "db_name": "x"}`, odoozip.Manifest{DBName: "x"}},
		{"version_info not a list", `{"version_info": "17.0"}`, odoozip.Manifest{}},
		{"extra fields", `{"odoo_dump": "1", "db_name": "prod", "future_field": {"a": [1, 2]}, "saas": true}`,
			odoozip.Manifest{OdooDump: "1", DBName: "prod"}},
		{"saas version_info", `{"version": "saas~17.2", "version_info": ["saas~17", 2, 0, "final", 0, ""]}`,
			odoozip.Manifest{Version: "saas~17.2", VersionInfo: []any{"saas~17", 2.0, 0.0, "final", 0.0, ""}}},
		{"BOM-less whitespace", "\n\t {\"db_name\": \"prod\"} \n", odoozip.Manifest{DBName: "prod"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := odoozip.ParseManifest([]byte(tc.in))
			if err != nil {
				t.Fatalf("ParseManifest(%s): %v, want it accepted", tc.in, err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("ParseManifest(%s)\n got %#v\nwant %#v", tc.in, got, tc.want)
			}
		})
	}
}

func TestParseManifestRefuses(t *testing.T) {
	for _, in := range []string{"", "odoo_dump=1", `["odoo_dump", "1"]`, `"manifest"`, `17`, `{"db_name": "prod"`, `{"a":1} trailing`, `null`} {
		t.Run(in, func(t *testing.T) {
			_, err := odoozip.ParseManifest([]byte(in))
			if err == nil && in == "null" {
				t.Fatal("ParseManifest(`null`) = nil error; a JSON null is not an object (json.Unmarshal into a map accepts null); check raw == nil")
			}
			if err == nil {
				t.Fatalf("ParseManifest(%q) = nil error, want a refusal", in)
			}
			if !strings.Contains(err.Error(), "manifest.json") {
				t.Errorf("ParseManifest(%q) error %q, want it to name manifest.json", in, err)
			}
		})
	}
}
