//go:build !linux

package sqlite

import "errors"

// pinWriterThread pins nothing outside Linux; an explicit CPU is an error.
func pinWriterThread(cpu int) (int, func(), error) {
	if cpu >= 0 {
		return -1, func() {}, errors.New("sqlite: pinning the writer to a CPU needs Linux")
	}
	return -1, func() {}, nil
}

func threadID() int { return 0 }
