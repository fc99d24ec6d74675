package odoozip

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Manifest is manifest.json as Odoo's dump_db_manifest writes it.
type Manifest struct {
	OdooDump     string            `json:"odoo_dump"`
	DBName       string            `json:"db_name"`
	Version      string            `json:"version"`
	VersionInfo  []any             `json:"version_info"`
	MajorVersion string            `json:"major_version"`
	PGVersion    string            `json:"pg_version"`
	Modules      map[string]string `json:"modules"`
}

// NewManifest builds the manifest of a database from what the database says
// about itself: the installed modules with their versions and the server's
// version number (server_version_num, e.g. 150018).
//
// Odoo writes its own release in version; a backup tool has no Odoo release,
// so the version is taken from the installed base module ("17.0.1.3" → "17.0"),
// which is what the release was when the database was last updated.
func NewManifest(db string, modules map[string]string, serverVersionNum int) Manifest {
	major := OdooSeries(modules["base"])
	m := Manifest{
		OdooDump:     "1",
		DBName:       db,
		Version:      major,
		MajorVersion: major,
		PGVersion:    pgVersion(serverVersionNum),
		Modules:      modules,
	}
	if m.Modules == nil {
		m.Modules = map[string]string{}
	}
	m.VersionInfo = versionInfo(major)
	return m
}

// OdooSeries turns a module version such as "17.0.1.3" or "saas~17.2.1.0"
// into the Odoo series "17.0" / "saas~17.2"; "" when unknown.
func OdooSeries(moduleVersion string) string {
	parts := strings.Split(moduleVersion, ".")
	if len(parts) < 2 {
		return ""
	}
	return parts[0] + "." + parts[1]
}

// pgVersion is the server's major version as Odoo writes it:
// "%d.%d" % divmod(server_version / 100, 100), so "15.0" for 150018 and
// "9.6" for 90624.
func pgVersion(num int) string {
	return fmt.Sprintf("%d.%d", num/10000, (num/100)%100)
}

// versionInfo mirrors odoo.release.version_info: [17, 0, 0, "final", 0, ""],
// or ["saas~17", 2, 0, "final", 0, ""] for a saas release.
func versionInfo(series string) []any {
	saas := strings.HasPrefix(series, "saas~")
	major, minor, ok := strings.Cut(strings.TrimPrefix(series, "saas~"), ".")
	if !ok {
		return []any{}
	}
	ma, err1 := strconv.Atoi(major)
	mi, err2 := strconv.Atoi(minor)
	if err1 != nil || err2 != nil {
		return []any{}
	}
	if saas {
		return []any{"saas~" + major, mi, 0, "final", 0, ""}
	}
	return []any{ma, mi, 0, "final", 0, ""}
}

// Marshal renders the manifest as Odoo does (indented JSON).
func (m Manifest) Marshal() ([]byte, error) {
	return json.MarshalIndent(m, "", "    ")
}

// ParseManifest reads manifest.json, tolerating the extra or missing fields of
// other Odoo releases but requiring it to be a JSON object.
func ParseManifest(b []byte) (Manifest, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return Manifest{}, fmt.Errorf("manifest.json is not valid JSON: %v", err)
	}
	if raw == nil {
		return Manifest{}, fmt.Errorf("manifest.json is not a JSON object")
	}
	var m Manifest
	// Odoo versions disagree on types (odoo_dump as string or number), so
	// read field by field and keep what makes sense.
	str := func(key string) string {
		v, ok := raw[key]
		if !ok {
			return ""
		}
		var s string
		if json.Unmarshal(v, &s) == nil {
			return s
		}
		return strings.Trim(string(v), `"`)
	}
	m.OdooDump = str("odoo_dump")
	m.DBName = str("db_name")
	m.Version = str("version")
	m.MajorVersion = str("major_version")
	m.PGVersion = str("pg_version")
	if v, ok := raw["version_info"]; ok {
		_ = json.Unmarshal(v, &m.VersionInfo)
	}
	if v, ok := raw["modules"]; ok {
		var mods map[string]any
		if err := json.Unmarshal(v, &mods); err == nil {
			m.Modules = make(map[string]string, len(mods))
			for k, val := range mods {
				if s, ok := val.(string); ok {
					m.Modules[k] = s
				} else {
					m.Modules[k] = ""
				}
			}
		}
	}
	return m, nil
}
