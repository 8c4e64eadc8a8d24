// Command gen writes the catalogue's embedded file, internal/catalog/catalog.json.gz,
// from its sources (see internal/catalog/SOURCES.md), and the region pattern
// into internal/config/schema.json. Run it with go generate in internal/catalog.
package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"regexp"

	"github.com/port-labs/port-aws-exporter/internal/catalog/internal/build"
	"github.com/port-labs/port-aws-exporter/internal/catalog/internal/wire"
)

func main() {
	cfnLint := flag.String("cfnlint", "", "cfn-lint's package directory (default: the one $PORT_AWS_EXPORTER_CFNLINT_PYTHON or "+build.DefaultPython+" imports)")
	registry := flag.String("registry", os.Getenv("PORT_AWS_EXPORTER_REGISTRY_SCHEMAS"), "directory of complete resource provider schemas ($PORT_AWS_EXPORTER_REGISTRY_SCHEMAS)")
	registrySource := flag.String("registry-source", os.Getenv("PORT_AWS_EXPORTER_REGISTRY_SOURCE"), "what -registry is, with its version ($PORT_AWS_EXPORTER_REGISTRY_SOURCE)")
	pinned := flag.String("pinned", os.Getenv("PORT_AWS_EXPORTER_REGISTRY_PINNED"), "terraform-provider-awscc's all_schemas.hcl, naming the types whose schema it keeps old (default: the one beside -registry)")
	out := flag.String("out", "catalog.json.gz", "file to write")
	schemaFile := flag.String("schema", "../config/schema.json", "config's JSON Schema, whose region pattern is rewritten (empty: leave it)")
	flag.Parse()
	if err := run(*cfnLint, *registry, *registrySource, *pinned, *out, *schemaFile); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(cfnLint, registry, registrySource, pinned, out, schemaFile string) error {
	if registry == "" || registrySource == "" {
		return fmt.Errorf("-registry and -registry-source are required (see internal/catalog/SOURCES.md)")
	}
	if cfnLint == "" {
		dir, err := build.FindCfnLint(build.Python())
		if err != nil {
			return err
		}
		cfnLint = dir
	}
	sdkDir, sdkVersion, err := build.FindSDK()
	if err != nil {
		return err
	}
	f, err := build.Build(build.Options{CfnLintDir: cfnLint, RegistryDir: registry, RegistrySource: registrySource, PinnedFile: pinned, SDKDir: sdkDir, SDKVersion: sdkVersion})
	if err != nil {
		return err
	}
	data, err := Encode(f)
	if err != nil {
		return err
	}
	if err := os.WriteFile(out, data, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "gen: wrote %s: %d types, %d regions, %d partitions (%d bytes)\n", out, len(f.Types), len(f.Regions), len(f.Partitions), len(data))
	if schemaFile != "" {
		return writeRegionPattern(schemaFile, wire.RegionPattern(f.Partitions))
	}
	return nil
}

// Encode is the embedded file: the catalogue as JSON, one type a line (so a
// diff of the decompressed file reads well), gzip'd.
func Encode(f *wire.File) ([]byte, error) {
	var js bytes.Buffer
	head := *f
	head.Types = nil
	h, err := json.Marshal(head)
	if err != nil {
		return nil, err
	}
	js.Write(bytes.TrimSuffix(h, []byte(`"types":null}`)))
	js.WriteString("\"types\":[\n")
	for i, t := range f.Types {
		b, err := json.Marshal(t)
		if err != nil {
			return nil, err
		}
		js.Write(b)
		if i < len(f.Types)-1 {
			js.WriteByte(',')
		}
		js.WriteByte('\n')
	}
	js.WriteString("]}\n")
	var gz bytes.Buffer
	w, err := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(js.Bytes()); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return gz.Bytes(), nil
}

// regionPatternLine is the $defs/region pattern line of schema.json.
var regionPatternLine = regexp.MustCompile(`("region": \{\s*"type": "string",\s*"pattern": )"(?:[^"\\]|\\.)*"`)

func writeRegionPattern(path, pattern string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	loc := regionPatternLine.FindSubmatchIndex(data)
	if loc == nil {
		return fmt.Errorf("%s: no $defs region pattern found to rewrite", path)
	}
	quoted, err := json.Marshal(pattern)
	if err != nil {
		return err
	}
	var updated []byte
	updated = append(updated, data[:loc[3]]...)
	updated = append(updated, quoted...)
	updated = append(updated, data[loc[1]:]...)
	return os.WriteFile(path, updated, 0o644)
}
