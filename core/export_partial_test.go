package core

// RenameDir lets tests make the filestore directory moves of a swap fail.
var RenameDir = &renameDir
