// Package vfs is the filesystem seam of the storage engine: every byte the
// store reads or writes goes through FS and File, so that tests can inject
// write and sync failures and simulate a crash that loses whatever was not
// made durable.
//
// Two implementations are provided:
//
//   - OS, backed by package os. Sync is fsync(2); SyncDir opens the directory
//     and fsyncs it so that creations, renames and removals in it survive a
//     power loss.
//   - MemFS, an in-memory filesystem with fault injection for tests. It keeps,
//     next to the live state, the state a crash would leave: a file's contents
//     become durable only through File.Sync, and a directory entry (creation,
//     rename, removal) only through SyncDir of its parent directory. Crash
//     replaces the live state with that durable state and invalidates every
//     open File. Directories made by MkdirAll are durable at once (a
//     simplification: the store creates its directories before writing data
//     and does not rely on losing them).
//
// Semantics shared by both implementations:
//
//   - File.Write appends at the end of the file (files are append-only
//     streams; ReadAt reads anywhere). A short write returns a non-nil error.
//   - Create truncates an existing file; OpenForAppend opens an existing file
//     for reading and appending; Open opens read-only and Write fails.
//   - List returns the base names of the entries of a directory, sorted.
//
// The package never interprets file contents and holds no keys.
package vfs
