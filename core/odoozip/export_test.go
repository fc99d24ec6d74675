package odoozip

// ChunkSize is the most content one compression job holds: entries larger
// than it are written in several chunks, with a data descriptor.
const ChunkSize = chunkSize
