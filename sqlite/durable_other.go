//go:build !linux

package sqlite

import "os"

// syncFile flushes f to the disk with os.File.Sync: fsync, F_FULLFSYNC on macOS,
// FlushFileBuffers on Windows — each at least as strong as Linux's fdatasync.
func syncFile(f *os.File) error { return f.Sync() }

// fileID is a file's identity, compared with os.SameFile (device and inode, or
// volume and file index on Windows). Linux asks statx for the inode alone instead
// (durable_linux.go).
type fileID struct{ fi os.FileInfo }

func pathID(path string) (fileID, error) {
	fi, err := os.Stat(path)
	return fileID{fi}, err
}

func fdID(f *os.File) (fileID, error) {
	fi, err := f.Stat()
	return fileID{fi}, err
}

func sameFile(a, b fileID) bool { return a.fi != nil && b.fi != nil && os.SameFile(a.fi, b.fi) }
