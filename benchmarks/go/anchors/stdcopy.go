package main

import (
	"io"

	"github.com/docker/docker/pkg/stdcopy"
)

// countingWriter discards what it is given, counting bytes and writes
// (StdCopy writes each frame's payload with one Write).
type countingWriter struct {
	bytes  int64
	writes int64
}

func (w *countingWriter) Write(p []byte) (int, error) {
	w.bytes += int64(len(p))
	w.writes++
	return len(p), nil
}

func stdcopyPass(src io.Reader) (counts, error) {
	var stdout, stderr countingWriter
	if _, err := stdcopy.StdCopy(&stdout, &stderr, src); err != nil {
		return counts{}, err
	}
	return counts{Units: stdout.writes + stderr.writes, Stdout: stdout.bytes, Stderr: stderr.bytes}, nil
}
