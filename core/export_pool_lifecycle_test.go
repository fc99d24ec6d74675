package core

// MaxBufferedFile lets tests send small filestore files down the path of
// files too large to hold in memory.
var MaxBufferedFile = &maxBufferedFile
