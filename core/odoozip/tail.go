package odoozip

import (
	"archive/zip"
	"encoding/binary"
	"fmt"
	"io"
	"reflect"
)

// headerOffset is where an entry's local header starts. archive/zip keeps it
// unexported; DataOffset would read the header to find it.
func headerOffset(f *zip.File) int64 {
	v := reflect.ValueOf(f).Elem().FieldByName("headerOffset")
	if v.IsValid() && v.CanInt() {
		return v.Int()
	}
	off, _ := f.DataOffset()
	return off
}

const (
	eocdSig       = 0x06054b50
	eocdLen       = 22
	zip64LocSig   = 0x07064b50
	zip64LocLen   = 20
	zip64EOCDSig  = 0x06064b50
	maxCommentLen = 0xffff
)

// checkDirectoryAtEnd refuses a zip whose central directory does not end
// where its end record begins. archive/zip (like Python's zipfile) accepts
// bytes before an archive, so a truncated backup whose last bytes happen to
// be a zip stored inside it would otherwise open as that inner archive.
func checkDirectoryAtEnd(r io.ReaderAt, size int64) error {
	tailLen := min(size, int64(eocdLen+maxCommentLen))
	tail := make([]byte, tailLen)
	if _, err := r.ReadAt(tail, size-tailLen); err != nil && err != io.EOF {
		return err
	}
	eocd := -1
	for i := len(tail) - eocdLen; i >= 0; i-- {
		if binary.LittleEndian.Uint32(tail[i:]) != eocdSig {
			continue
		}
		if int(binary.LittleEndian.Uint16(tail[i+20:])) == len(tail)-i-eocdLen {
			eocd = i
			break
		}
	}
	if eocd < 0 {
		return fmt.Errorf("%w: the zip's end record is missing or damaged; the file may be truncated", ErrNotOdooArchive)
	}
	eocdPos := size - tailLen + int64(eocd)
	dirSize := int64(binary.LittleEndian.Uint32(tail[eocd+12:]))
	dirOffset := int64(binary.LittleEndian.Uint32(tail[eocd+16:]))
	dirEnd := eocdPos
	if dirOffset == 0xffffffff || dirSize == 0xffffffff || binary.LittleEndian.Uint16(tail[eocd+10:]) == 0xffff {
		// zip64: the locator sits right before the end record and points at
		// the zip64 end record, which follows the directory.
		locPos := eocdPos - zip64LocLen
		if locPos < 0 {
			return fmt.Errorf("%w: the zip64 end record is missing; the file may be truncated", ErrNotOdooArchive)
		}
		loc := make([]byte, zip64LocLen)
		if _, err := r.ReadAt(loc, locPos); err != nil {
			return err
		}
		if binary.LittleEndian.Uint32(loc) != zip64LocSig {
			return fmt.Errorf("%w: the zip64 end record is missing; the file may be truncated", ErrNotOdooArchive)
		}
		recPos := int64(binary.LittleEndian.Uint64(loc[8:]))
		rec := make([]byte, 56)
		if recPos < 0 || recPos+56 > locPos {
			return fmt.Errorf("%w: the zip64 end record points outside the file; the file may be truncated", ErrNotOdooArchive)
		}
		if _, err := r.ReadAt(rec, recPos); err != nil {
			return err
		}
		if binary.LittleEndian.Uint32(rec) != zip64EOCDSig {
			return fmt.Errorf("%w: the zip64 end record is damaged; the file may be truncated", ErrNotOdooArchive)
		}
		dirSize = int64(binary.LittleEndian.Uint64(rec[40:]))
		dirOffset = int64(binary.LittleEndian.Uint64(rec[48:]))
		dirEnd = recPos
	}
	if dirOffset < 0 || dirSize < 0 || dirOffset+dirSize != dirEnd {
		return fmt.Errorf("%w: the zip's directory is not where its end record says; the file is truncated or has data in front of it", ErrNotOdooArchive)
	}
	return nil
}
