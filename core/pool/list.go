package pool

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"sort"

	"github.com/odoo-backup/odoo-backup/core/odoozip"
)

// ListVersion is the version of the file list's layout.
const ListVersion = 1

// Header is the first line of a file list.
type Header struct {
	Version int    `json:"file_list_version"`
	Service string `json:"service"`
	// Archive is the key of the backup's archive, the database part.
	Archive string `json:"archive"`
	Files   int    `json:"files"`
}

// Entry is one filestore file of a backup.
type Entry struct {
	// Name is the file's ir_attachment.store_fname ("ab/ab12…").
	Name string `json:"name"`
	// Object is the id of the pool object holding its content.
	Object string `json:"object"`
	// Size is the file's size, Deflated the object's deflate stream's and
	// Stored the stored object's (the ciphertext's on an encrypting
	// destination, else Deflated).
	Size     int64 `json:"size"`
	Deflated int64 `json:"deflated"`
	Stored   int64 `json:"stored"`
	// CRC32 (IEEE, as zip entries carry it) and SHA256 are of the content.
	CRC32  uint32 `json:"crc32"`
	SHA256 string `json:"sha256"`
	// ModTime is the file's modification time (Unix nanoseconds) when it
	// was read: a later backup that finds the same name, size and time
	// takes the object without reading the file again.
	ModTime int64 `json:"mtime"`
}

// check refuses an entry a restore could not trust to name a file and an
// object.
func (e Entry) check() error {
	if err := odoozip.CheckStoreFname(e.Name); err != nil {
		return err
	}
	if !ValidID(e.Object) {
		return fmt.Errorf("file %s: object id %q is not 64 hex digits", e.Name, e.Object)
	}
	if e.Size < 0 || e.Deflated < 0 || e.Stored < 0 {
		return fmt.Errorf("file %s: negative size", e.Name)
	}
	if len(e.SHA256) != 64 {
		return fmt.Errorf("file %s: checksum %q is not a SHA-256", e.Name, e.SHA256)
	}
	return nil
}

// WriteList writes a file list: gzip of a header line and one JSON line per
// entry, sorted by name. It sorts entries in place.
func WriteList(w io.Writer, h Header, entries []Entry) error {
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name < entries[j].Name })
	h.Version = ListVersion
	h.Files = len(entries)
	zw, err := gzip.NewWriterLevel(w, gzip.BestSpeed)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(zw, 64<<10)
	enc := json.NewEncoder(bw)
	if err := enc.Encode(h); err != nil {
		return err
	}
	for _, e := range entries {
		if err := enc.Encode(e); err != nil {
			return err
		}
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	return zw.Close()
}

// maxLine bounds one line of a file list: a store_fname and a few numbers
// never come near it.
const maxLine = 64 << 10

// ReadList reads a file list, checking every entry; a list that is not one
// (damaged, truncated, hostile) fails with an error wrapping ErrInvalidList.
func ReadList(r io.Reader) (Header, []Entry, error) {
	var h Header
	zr, err := gzip.NewReader(r)
	if err != nil {
		return h, nil, fmt.Errorf("%w: %v", ErrInvalidList, err)
	}
	sc := bufio.NewScanner(zr)
	sc.Buffer(make([]byte, 64<<10), maxLine)
	if !sc.Scan() {
		return h, nil, fmt.Errorf("%w: no header line (%v)", ErrInvalidList, sc.Err())
	}
	if err := json.Unmarshal(sc.Bytes(), &h); err != nil || h.Version < 1 {
		return h, nil, fmt.Errorf("%w: the header line is not a file list header", ErrInvalidList)
	}
	if h.Version > ListVersion {
		return h, nil, fmt.Errorf("%w: file list version %d is newer than this version reads (%d)", ErrInvalidList, h.Version, ListVersion)
	}
	entries := make([]Entry, 0, min(h.Files, 1<<20))
	prev := ""
	for sc.Scan() {
		var e Entry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			return h, nil, fmt.Errorf("%w: entry %d is not JSON: %v", ErrInvalidList, len(entries)+1, err)
		}
		if err := e.check(); err != nil {
			return h, nil, fmt.Errorf("%w: %v", ErrInvalidList, err)
		}
		if e.Name <= prev && len(entries) > 0 {
			return h, nil, fmt.Errorf("%w: file %s is out of order or twice", ErrInvalidList, e.Name)
		}
		prev = e.Name
		entries = append(entries, e)
	}
	if err := sc.Err(); err != nil {
		return h, nil, fmt.Errorf("%w: %v", ErrInvalidList, err)
	}
	if len(entries) != h.Files {
		return h, nil, fmt.Errorf("%w: it holds %d files but its header says %d", ErrInvalidList, len(entries), h.Files)
	}
	return h, entries, nil
}
