package config

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// S3Getter is the part of *s3.Client that Load uses.
type S3Getter interface {
	GetObject(ctx context.Context, in *s3.GetObjectInput, opts ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}

// MaxSize is the largest config Load reads. Real configs are kilobytes; the
// cap keeps a wrong path (a log file, a binary) from being read whole.
const MaxSize = 16 << 20

// Load reads a config from a path or from s3://bucket/key (s3 may be nil
// for paths), as JSON or YAML: by extension (.json, .yaml, .yml), otherwise
// by content. It returns an error for what prevents reading the document
// (I/O, syntax, with line and column); problems of content are left to
// Validate, so that all of them are reported together. Unknown keys become
// cfg.Warnings.
func Load(ctx context.Context, location string, s3 S3Getter) (*Config, error) {
	data, err := read(ctx, location, s3)
	if err != nil {
		return nil, err
	}
	cfg, err := Parse(data, formatOf(location, data))
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", location, err)
	}
	cfg.Source = location
	return cfg, nil
}

// Format is how a config document is written.
type Format int

const (
	JSON Format = iota
	YAML
)

// Parse decodes a config document, in either dialect (see Dialect: the
// document's content decides). See Load.
func Parse(data []byte, format Format) (*Config, error) {
	// Windows editors may start a UTF-8 file with a byte order mark, which
	// neither JSON nor Port's exporter (json.loads would fail) expects.
	data = bytes.TrimPrefix(data, []byte("\ufeff"))
	var root *node
	var err error
	if format == YAML {
		root, err = parseYAMLTree(data)
	} else {
		root, err = parseTree(data)
	}
	if err != nil {
		return nil, err
	}
	var b builder
	var cfg *Config
	cs := loadSchema()
	if path, ok := detectOcean(root); ok {
		cs = loadOceanSchema()
		cfg = b.oceanConfig(root)
		cfg.DetectedBy = path
		cfg.schema = cs
	} else {
		cfg = b.config(root)
	}
	problems, warnings := cs.check(root)
	cfg.decodeProblems = append(problems, b.problems...)
	cfg.Warnings = uniqueProblems(append(append(warnings, b.warnings...), lenientWarnings(cfg)...))
	cfg.Notes = uniqueProblems(b.notes)
	sortProblems(root, cfg.Warnings, documentOrder)
	sortProblems(root, cfg.Notes, documentOrder)
	cfg.tree = root
	return cfg, nil
}

func formatOf(location string, data []byte) Format {
	switch strings.ToLower(path.Ext(location)) {
	case ".json":
		return JSON
	case ".yaml", ".yml":
		return YAML
	}
	trimmed := bytes.TrimLeft(data, " \t\r\n\ufeff")
	if len(trimmed) > 0 && (trimmed[0] == '{' || trimmed[0] == '[') {
		return JSON
	}
	return YAML
}

// ParseS3URL splits s3://bucket/key.
func ParseS3URL(location string) (bucket, key string, err error) {
	rest, ok := strings.CutPrefix(location, "s3://")
	if !ok {
		return "", "", fmt.Errorf("%q is not an s3:// URL", location)
	}
	bucket, key, _ = strings.Cut(rest, "/")
	if bucket == "" || key == "" {
		return "", "", fmt.Errorf("%q: want s3://bucket/key", location)
	}
	return bucket, key, nil
}

func read(ctx context.Context, location string, client S3Getter) ([]byte, error) {
	if !strings.HasPrefix(location, "s3://") {
		f, err := os.Open(location)
		if err != nil {
			return nil, fmt.Errorf("read config: %w", err)
		}
		defer f.Close()
		return readLimited(f, location)
	}
	bucket, key, err := ParseS3URL(location)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	if client == nil {
		return nil, fmt.Errorf("read config %s: no S3 client", location)
	}
	out, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return nil, fmt.Errorf("read config %s: %w", location, err)
	}
	defer out.Body.Close()
	return readLimited(out.Body, location)
}

func readLimited(r io.Reader, location string) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxSize+1))
	if err != nil {
		return nil, fmt.Errorf("read config %s: %w", location, err)
	}
	if len(data) > MaxSize {
		return nil, fmt.Errorf("read config %s: larger than %d MiB", location, MaxSize>>20)
	}
	return data, nil
}
