package core

import (
	"fmt"
	"path/filepath"
)

// NewDatabaseFilestore is the filestore directory a restore into the new
// database db uses when none is given: beside the filestore of the backup's
// service svc (<data_dir>/filestore/<db>), or "" when svc has none.
func NewDatabaseFilestore(svc Service, db string) string {
	if svc.FilestoreDir == "" {
		return ""
	}
	return filepath.Join(filepath.Dir(svc.FilestoreDir), db)
}

// DownloadFileName is the file a download of b is written to unless told
// otherwise: SERVICE_ID with the archive's extension (.zip, or that of its
// database dump format), in the current directory.
func DownloadFileName(b Backup) string {
	ext := map[string]string{FormatPlainSQL: ".sql", FormatSQLGz: ".sql.gz", FormatPGCustom: ".dump"}[b.Format]
	if ext == "" {
		ext = ".zip"
	}
	return fmt.Sprintf("./%s_%d%s", b.Service, b.ID, ext)
}

// ActionSetPrimary: the service has no primary configuration, which the
// work asked for needs; give it one. Advice.Service is the service.
const ActionSetPrimary Action = "set-primary"

// NoPrimaryError says service has no primary destination for what it is
// needed for (for example "to upload to", "for the safety backup taken
// before a restore"). cause is the catalog's error; the result wraps
// ErrInvalid and cause.
func NoPrimaryError(service, forWhat string, cause error) error {
	if cause == nil {
		cause = ErrNotFound
	}
	return Advise(Advice{Action: ActionSetPrimary, Service: service}, fmt.Errorf("%w: %w", ErrInvalid, cause),
		"service %q has no primary destination %s", service, forWhat)
}
