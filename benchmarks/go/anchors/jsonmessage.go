package main

import (
	"encoding/json"
	"io"

	"github.com/docker/docker/pkg/jsonmessage"
)

// jsonmessagePass decodes the stream as DisplayJSONMessagesStream does (one
// json.Decoder over the body, a fresh JSONMessage per Decode), without
// displaying anything.
func jsonmessagePass(src io.Reader) (counts, error) {
	decoder := json.NewDecoder(src)
	var seen counts
	for {
		var message jsonmessage.JSONMessage
		if err := decoder.Decode(&message); err != nil {
			if err == io.EOF {
				return seen, nil
			}
			return seen, err
		}
		if message.Error != nil {
			return seen, message.Error
		}
		seen.Units++
	}
}
