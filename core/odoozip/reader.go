package odoozip

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"strings"
)

// Limits bound what an archive may claim, so that a hostile archive is
// refused before anything is extracted rather than filling a disk.
type Limits struct {
	// MaxEntries caps the number of entries.
	MaxEntries int
	// MaxEntrySize caps one entry's uncompressed size.
	MaxEntrySize uint64
	// MaxTotalSize caps the sum of uncompressed sizes.
	MaxTotalSize uint64
	// MaxRatio caps uncompressed/compressed for entries over 1 MiB; deflate
	// cannot exceed about 1032:1, so more is a lie.
	MaxRatio uint64
	// MaxManifestSize caps manifest.json, which is read into memory.
	MaxManifestSize uint64
}

// DefaultLimits suit any real Odoo database.
var DefaultLimits = Limits{
	MaxEntries:      10_000_000,
	MaxEntrySize:    1 << 40, // 1 TiB
	MaxTotalSize:    4 << 40, // 4 TiB
	MaxRatio:        1100,
	MaxManifestSize: 16 << 20,
}

// ErrNotOdooArchive says the zip is a zip but not an Odoo backup.
var ErrNotOdooArchive = errors.New("not an Odoo backup")

// ErrHostile says the archive tries something no backup needs.
var ErrHostile = errors.New("unsafe archive")

// Archive is an opened, validated Odoo zip.
type Archive struct {
	zr       *zip.Reader
	Manifest *Manifest // nil when the archive has no manifest.json
	// ManifestFile is the manifest.json entry (nil without one).
	ManifestFile *zip.File
	Dump         *zip.File
	// Filestore holds the filestore entries in the order they are stored, so
	// reading them one after the other reads the archive front to back.
	Filestore []*zip.File
	// FilestoreSize is the sum of the filestore entries' uncompressed sizes.
	FilestoreSize uint64
	// Ignored lists entries that are neither dump, manifest nor filestore.
	Ignored []string
}

// Open reads the central directory of the zip in r and validates every entry
// against lim: names that are relative and stay inside the archive, regular
// files only (no links, no devices), no duplicates, no encryption, and sizes
// within bounds. It reads manifest.json if present.
func Open(r io.ReaderAt, size int64, lim Limits) (*Archive, error) {
	zr, err := zip.NewReader(r, size)
	if errors.Is(err, zip.ErrInsecurePath) && zr != nil {
		// GODEBUG=zipinsecurepath=0: the checks below name the entry.
		err = nil
	}
	if err != nil {
		if errors.Is(err, zip.ErrFormat) {
			return nil, fmt.Errorf("%w: the file is not a zip archive or is truncated (%v)", ErrNotOdooArchive, err)
		}
		return nil, err
	}
	if err := checkDirectoryAtEnd(r, size); err != nil {
		return nil, err
	}
	if len(zr.File) > lim.MaxEntries {
		return nil, fmt.Errorf("%w: %d entries, more than the %d allowed", ErrHostile, len(zr.File), lim.MaxEntries)
	}
	a := &Archive{zr: zr}
	seen := make(map[string]bool, len(zr.File))
	files := make(map[string]bool, len(zr.File))
	dirs := map[string]bool{}
	var total uint64
	var manifest *zip.File
	for _, f := range zr.File {
		name := f.Name
		if strings.HasSuffix(name, "/") && f.UncompressedSize64 == 0 {
			// Directory entries carry nothing; other zip tools write them.
			continue
		}
		if err := checkRelPath(name); err != nil {
			return nil, fmt.Errorf("%w: entry %q %v", ErrHostile, name, err)
		}
		if seen[name] {
			return nil, fmt.Errorf("%w: entry %q appears twice", ErrHostile, name)
		}
		seen[name] = true
		// A file and a folder of the same name cannot both be extracted
		// (only the filestore is extracted).
		for dir := path.Dir(name); strings.HasPrefix(name, FilestoreDir) && dir != "."; dir = path.Dir(dir) {
			if files[dir] {
				return nil, fmt.Errorf("%w: entry %q lies under %q, which is a file", ErrHostile, name, dir)
			}
			dirs[dir] = true
		}
		if dirs[name] && strings.HasPrefix(name, FilestoreDir) {
			return nil, fmt.Errorf("%w: entry %q is a file but other entries use it as a folder", ErrHostile, name)
		}
		files[name] = true
		if !f.Mode().IsRegular() && f.Mode()&fs.ModeType != 0 {
			return nil, fmt.Errorf("%w: entry %q is a %s, not a regular file", ErrHostile, name, kindOf(f.Mode()))
		}
		if f.Flags&0x1 != 0 {
			return nil, fmt.Errorf("%w: entry %q is encrypted", ErrHostile, name)
		}
		if f.Method != zip.Store && f.Method != zip.Deflate {
			return nil, fmt.Errorf("%w: entry %q uses compression method %d; only stored and deflated entries are read", ErrNotOdooArchive, name, f.Method)
		}
		if f.UncompressedSize64 > lim.MaxEntrySize {
			return nil, fmt.Errorf("%w: entry %q claims %d bytes, more than the %d allowed", ErrHostile, name, f.UncompressedSize64, lim.MaxEntrySize)
		}
		if f.UncompressedSize64 > 1<<20 && f.UncompressedSize64 > lim.MaxRatio*max(f.CompressedSize64, 1) {
			return nil, fmt.Errorf("%w: entry %q expands %d bytes into %d, beyond what compression can do", ErrHostile, name, f.CompressedSize64, f.UncompressedSize64)
		}
		total += f.UncompressedSize64
		if total > lim.MaxTotalSize {
			return nil, fmt.Errorf("%w: entries claim more than %d bytes in all", ErrHostile, lim.MaxTotalSize)
		}
		switch {
		case name == DumpName:
			a.Dump = f
		case name == ManifestName:
			manifest = f
		case strings.HasPrefix(name, FilestoreDir):
			a.Filestore = append(a.Filestore, f)
			a.FilestoreSize += f.UncompressedSize64
		default:
			a.Ignored = append(a.Ignored, name)
		}
	}
	if a.Dump == nil {
		return nil, fmt.Errorf("%w: the zip has no dump.sql", ErrNotOdooArchive)
	}
	// The central directory gives each entry's header offset, and headers
	// come in file order: sorting by it needs no read of the archive.
	sort.SliceStable(a.Filestore, func(i, j int) bool {
		return headerOffset(a.Filestore[i]) < headerOffset(a.Filestore[j])
	})
	if manifest != nil {
		if manifest.UncompressedSize64 > lim.MaxManifestSize {
			return nil, fmt.Errorf("%w: manifest.json claims %d bytes", ErrHostile, manifest.UncompressedSize64)
		}
		b, err := readAll(manifest)
		if err != nil {
			return nil, err
		}
		m, err := ParseManifest(b)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrNotOdooArchive, err)
		}
		a.Manifest = &m
		a.ManifestFile = manifest
	}
	return a, nil
}

func kindOf(m fs.FileMode) string {
	switch {
	case m&fs.ModeSymlink != 0:
		return "symbolic link"
	case m&fs.ModeDir != 0:
		return "directory with content"
	case m&fs.ModeDevice != 0, m&fs.ModeCharDevice != 0:
		return "device"
	case m&fs.ModeNamedPipe != 0:
		return "named pipe"
	case m&fs.ModeSocket != 0:
		return "socket"
	}
	return "special file"
}

func readAll(f *zip.File) ([]byte, error) {
	rc, err := f.Open()
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", f.Name, err)
	}
	defer rc.Close()
	var b bytes.Buffer
	if _, err := io.Copy(&b, rc); err != nil {
		return nil, fmt.Errorf("read %s: %w", f.Name, err)
	}
	return b.Bytes(), nil
}

// StoreFname is the filestore-relative path of a filestore entry.
func StoreFname(f *zip.File) string { return strings.TrimPrefix(f.Name, FilestoreDir) }

// DumpHeader is how every plain pg_dump output starts.
const DumpHeader = "--\n-- PostgreSQL database dump"

// CheckDumpHeader reads the start of dump.sql and says whether it is a plain
// pg_dump; it consumes the reader.
func CheckDumpHeader(f *zip.File) error {
	rc, err := f.Open()
	if err != nil {
		return err
	}
	defer rc.Close()
	head := make([]byte, len(DumpHeader))
	if _, err := io.ReadFull(rc, head); err != nil {
		return fmt.Errorf("%w: dump.sql is shorter than a pg_dump header", ErrNotOdooArchive)
	}
	if string(head) != DumpHeader {
		return fmt.Errorf("%w: dump.sql does not start like a pg_dump plain dump", ErrNotOdooArchive)
	}
	return nil
}
