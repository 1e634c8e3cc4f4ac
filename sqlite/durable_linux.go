//go:build linux

package sqlite

import (
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// syncFile flushes f's data to the disk: fdatasync, retried on EINTR. Through
// Control, so a concurrent reopen cannot close the descriptor under it.
func syncFile(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		for {
			if serr = syscall.Fdatasync(int(fd)); serr != syscall.EINTR {
				return
			}
		}
	}); err != nil {
		return err
	}
	return serr
}

// fileID is a file's identity: its device and inode numbers.
type fileID struct{ dev, ino uint64 }

// pathID and fdID ask the kernel for the inode number alone (statx with
// STATX_INO), not for a full stat. Since Linux 6.13 a stat that reads a file's
// timestamps makes its next write take a fresh fine-grained timestamp, so every
// write dirties the inode, and ext4 then writes the inode at every fdatasync: one
// more 4 KiB write, waited for, before each flush of the WAL (measured on our
// machine: as many inode writes as flushes). Asked this way, the WAL's
// timestamps change at most once per clock tick, and so does the inode write
// (docs/PERFORMANCE-LOG.md, session 4).
func pathID(path string) (fileID, error) {
	id, err := statxID(unix.AT_FDCWD, path, 0)
	if err != nil {
		return fileID{}, &os.PathError{Op: "statx", Path: path, Err: err}
	}
	return id, nil
}

func fdID(f *os.File) (fileID, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return fileID{}, err
	}
	var id fileID
	var serr error
	if err := rc.Control(func(fd uintptr) { id, serr = statxID(int(fd), "", unix.AT_EMPTY_PATH) }); err != nil {
		return fileID{}, err
	}
	if serr != nil {
		return fileID{}, &os.PathError{Op: "statx", Path: f.Name(), Err: serr}
	}
	return id, nil
}

// statxID is statx(dirfd, path, flags) asking for the inode number alone.
func statxID(dirfd int, path string, flags int) (fileID, error) {
	var st unix.Statx_t
	if err := unix.Statx(dirfd, path, flags|unix.AT_STATX_DONT_SYNC, unix.STATX_INO, &st); err != nil {
		return fileID{}, err
	}
	return fileID{unix.Mkdev(st.Dev_major, st.Dev_minor), st.Ino}, nil
}

func sameFile(a, b fileID) bool { return a == b }
