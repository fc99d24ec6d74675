package core

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// MetadataVersion is the version of the metadata object's layout.
const MetadataVersion = 1

// BackupMetadata is the small JSON object stored next to every archive, so
// that a destination describes its own backups and the catalog can be rebuilt
// from the destinations alone. It never holds a secret.
type BackupMetadata struct {
	MetadataVersion int    `json:"metadata_version"`
	Tool            string `json:"tool"`
	// ID is the backup's id in the catalog that recorded it, so a catalog
	// rebuilt from the destinations gives it the same id and the ids people
	// noted ("restore 14 --service staging") still name it. Objects written
	// before it was recorded have none (0).
	ID             int64      `json:"id,omitempty"`
	Archive        string     `json:"archive"`
	Service        string     `json:"service"`
	Database       string     `json:"database"`
	Kind           BackupKind `json:"kind"`
	Format         string     `json:"format"`
	StartedAt      time.Time  `json:"started_at"`
	FinishedAt     time.Time  `json:"finished_at"`
	Size           int64      `json:"size"`
	SHA256         string     `json:"sha256"`
	OdooVersion    string     `json:"odoo_version"`
	PGVersion      string     `json:"pg_version"`
	Modules        int        `json:"modules"`
	FilestoreFiles int        `json:"filestore_files"`
	// MissingFiles counts the attachment files the database referred to
	// that the filestore lacked, so the archive lacks them too;
	// MissingNames names the first MaxMissingNames of them.
	MissingFiles int      `json:"missing_files,omitempty"`
	MissingNames []string `json:"missing_file_names,omitempty"`
	// Tables holds the exact row counts of the key tables (odoosql.KeyTables) in the
	// dumped snapshot; a table too large to count cheaply is left out.
	Tables map[string]int64 `json:"tables,omitempty"`
	// Encryption says how the archive is stored: "" (as it is),
	// "age:<recipient>" or "age:passphrase". Never a key. Size and SHA256
	// are always those of the stored bytes, the ciphertext if encrypted.
	Encryption string `json:"encryption,omitempty"`
	// Pool describes the filestore part of a FormatOdooPool backup: its
	// file list object (FileListKey of Archive) and what it refers to.
	Pool *PoolFacts `json:"pool,omitempty"`
}

// MaxMissingNames bounds the names of missing attachment files a backup
// records (its count has no bound), so its record stays small.
const MaxMissingNames = 100

func (m BackupMetadata) marshal() ([]byte, error) { return json.MarshalIndent(m, "", "  ") }

// putMetadata writes m next to its archive.
func putMetadata(ctx context.Context, st ObjectStore, m BackupMetadata) error {
	data, err := m.marshal()
	if err != nil {
		return err
	}
	if err := st.Put(ctx, MetadataKey(m.Archive), bytes.NewReader(data)); err != nil {
		return fmt.Errorf("write the metadata object next to %s: %w", m.Archive, err)
	}
	return nil
}

// ParseMetadata reads a metadata object.
func ParseMetadata(b []byte) (BackupMetadata, error) {
	var m BackupMetadata
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("%w: metadata object is not valid JSON: %v", ErrCorrupt, err)
	}
	if m.MetadataVersion < 1 || m.Archive == "" || m.SHA256 == "" {
		return m, fmt.Errorf("%w: metadata object lacks its version, archive or checksum", ErrCorrupt)
	}
	return m, nil
}
