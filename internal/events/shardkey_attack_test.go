package events

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

// TestShardKeyNeverPrinted: the derived key signs shard messages, so
// printing it (a %v of a struct holding it, a slog attribute, a JSON dump
// of options) would let whoever reads the logs forge shard messages. Every
// way of printing it shows no form of the key's bytes.
func TestShardKeyNeverPrinted(t *testing.T) {
	k, err := NewShardKey("a secret")
	if err != nil {
		t.Fatal(err)
	}
	forms := []string{hex.EncodeToString(k.key), base64.StdEncoding.EncodeToString(k.key), fmt.Sprint(k.key), fmt.Sprintf("%#v", k.key)}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("x", "key", k, "holder", struct{ Key *ShardKey }{k})
	slog.New(slog.NewTextHandler(&logged, nil)).Info("x", "key", k, "value", *k)
	asJSON, _ := json.Marshal(struct{ Key *ShardKey }{k})
	outputs := []string{
		fmt.Sprint(k), fmt.Sprintf("%v %+v %#v %s %x %q", k, k, k, k, k, k), fmt.Sprintf("%v %+v %#v", *k, *k, *k),
		fmt.Sprintf("%+v", struct{ Key *ShardKey }{k}), fmt.Sprintf("%#v", struct{ Key ShardKey }{*k}),
		logged.String(), string(asJSON),
	}
	if len(outputs) < 7 {
		t.Fatal("cases cut short")
	}
	for i, out := range outputs {
		for _, f := range forms {
			if strings.Contains(out, f) || strings.Contains(strings.ToLower(out), strings.ToLower(hex.EncodeToString(k.key[:8]))) {
				t.Errorf("output %d shows the key: %s", i, out)
				break
			}
		}
	}
}
