// Command anchors times Go's own decoders of the Docker wire formats over an
// input file, for benchmarks/bench_go.py: the multiplexed stdout/stderr
// frames through pkg/stdcopy's StdCopy, and a JSON progress stream decoded
// into pkg/jsonmessage's JSONMessage the way the docker CLI reads it.
//
//	anchors -kind stdcopy|jsonmessage [-passes N] [-warmup N] [-read BYTES] FILE
//
// The file is read into memory first; every pass then hands it to the
// decoder through a reader that returns at most -read bytes per Read, as a
// socket would. The result is one JSON object on stdout.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"sort"
	"time"
)

// pass decodes the whole input once and says what it saw.
type pass func(src io.Reader) (counts, error)

type counts struct {
	Units  int64 `json:"units"`  // frames or messages
	Stdout int64 `json:"stdout"` // payload bytes (stdcopy only)
	Stderr int64 `json:"stderr"`
}

type report struct {
	Kind      string    `json:"kind"`
	Bytes     int       `json:"bytes"`
	ReadSize  int       `json:"read_size"`
	Counts    counts    `json:"counts"`
	Seconds   []float64 `json:"seconds"`
	MedianMBs float64   `json:"median_mb_per_s"`
	MinMBs    float64   `json:"min_mb_per_s"`
	MaxMBs    float64   `json:"max_mb_per_s"`
	GoVersion string    `json:"go_version"`
	MaxProcs  int       `json:"gomaxprocs"`
}

// pacedReader hands out data in reads of at most size bytes.
type pacedReader struct {
	data []byte
	size int
}

func (r *pacedReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), r.size)], r.data)
	r.data = r.data[n:]
	return n, nil
}

func min(a, b int) int {
	if a < b {
		return a
	}
	return b
}

var kinds = map[string]pass{
	"stdcopy":     stdcopyPass,
	"jsonmessage": jsonmessagePass,
}

func main() {
	kind := flag.String("kind", "", "stdcopy or jsonmessage")
	passes := flag.Int("passes", 5, "timed passes")
	warmup := flag.Int("warmup", 1, "untimed passes first")
	readSize := flag.Int("read", 64*1024, "bytes per Read at most")
	flag.Parse()
	run, ok := kinds[*kind]
	if !ok || flag.NArg() != 1 || *passes < 1 || *readSize < 1 {
		flag.Usage()
		os.Exit(2)
	}
	data, err := os.ReadFile(flag.Arg(0))
	if err != nil {
		fail(err)
	}
	out := report{Kind: *kind, Bytes: len(data), ReadSize: *readSize,
		GoVersion: runtime.Version(), MaxProcs: runtime.GOMAXPROCS(0)}
	for i := 0; i < *warmup+*passes; i++ {
		start := time.Now()
		seen, err := run(&pacedReader{data, *readSize})
		elapsed := time.Since(start).Seconds()
		if err != nil {
			fail(err)
		}
		if i > 0 && seen != out.Counts {
			fail(fmt.Errorf("pass %d saw %+v, pass 1 saw %+v", i+1, seen, out.Counts))
		}
		out.Counts = seen
		if i >= *warmup {
			out.Seconds = append(out.Seconds, elapsed)
		}
	}
	summarise(&out)
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		fail(err)
	}
}

func summarise(out *report) {
	sorted := append([]float64(nil), out.Seconds...)
	sort.Float64s(sorted)
	n := len(sorted)
	median := sorted[n/2]
	if n%2 == 0 {
		median = (sorted[n/2-1] + sorted[n/2]) / 2
	}
	rate := func(seconds float64) float64 { return float64(out.Bytes) / seconds / 1e6 }
	out.MedianMBs, out.MinMBs, out.MaxMBs = rate(median), rate(sorted[n-1]), rate(sorted[0])
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "anchors:", err)
	os.Exit(1)
}
