// Package odoozip writes and reads the archive format of Odoo's database
// manager: a zip of dump.sql, manifest.json and filestore/<xx>/<sha1>.
//
// The writer streams (it never needs to seek); the reader validates every
// entry before anything is extracted, because archives may come from outside.
package odoozip
