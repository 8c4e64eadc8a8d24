package mapping

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync"

	"github.com/port-labs/port-aws-exporter/internal/config"
	"github.com/port-labs/port-aws-exporter/internal/jq"
	"github.com/port-labs/port-aws-exporter/internal/source"
)

// Ocean's rules, for the entries with selector.aws.document: ocean (every
// entry of a port-app-config.yml): what Ocean's AWS integration and
// port_ocean's JQEntityProcessor do, read from port-labs/ocean
// (integrations/aws/utils/resources.py, port_ocean/core/handlers/
// entity_processor/jq_entity_processor.py, port_ocean/core/integrations/
// mixins/utils.py handle_items_to_parse):
//
//   - the document (Document): {"Identifier", "Properties", "__Kind",
//     "__Region", "__AccountId"} for Cloud Control kinds, whether or not
//     GetResource was called; the service's answer with the three "__" keys
//     at its top for the kinds Ocean reads with a Describe or List call; the
//     reader's own document for the account kinds;
//   - the selector must give a boolean: anything else (no output, a string,
//     null) is an error of the resource, as in Ocean;
//   - a title, icon, team, property or relation that fails (does not
//     compile, or errs on this resource) is sent as null, as Ocean does; it
//     is logged once per expression. The identifier and blueprint are not
//     forgiven: Ocean silently drops such an entity, this exporter reports it
//     (and so keeps the shard from deleting anything);
//   - with port.itemsToParse, each item is added under itemsToParseName to
//     the document (from which, with itemsToParseTopLevelTransform, the
//     array is first removed), and the selector is evaluated per item.

// Document is what an entry's jq expressions see for res.
func (r *Resource) Document(res source.Resource) map[string]any {
	props := res.Properties
	if props == nil {
		props = map[string]any{}
	}
	if !r.ocean {
		return props
	}
	kind := r.docKind
	switch config.OceanLayout(kind) {
	case config.LayoutOwn:
		return props
	case config.LayoutFlat:
		out := make(map[string]any, len(props)+4)
		out["__Kind"], out["__Region"], out["__AccountId"] = kind, res.Region, res.AccountID
		for k, v := range props { // the answer's own keys win, as in Ocean's {**extra, **resource}
			out[k] = v
		}
		if kind == "AWS::CloudFormation::Stack" {
			addStackName(out)
		}
		return out
	}
	return map[string]any{
		"Identifier":  res.Identifier,
		"Properties":  props,
		"__Kind":      kind,
		"__Region":    res.Region,
		"__AccountId": res.AccountID,
	}
}

// addStackName adds the StackName that DescribeStacks gives Ocean and Cloud
// Control's stack properties lack: it is the name part of the stack id
// (arn:aws:cloudformation:<region>:<account>:stack/<name>/<uuid>).
func addStackName(doc map[string]any) {
	if _, ok := doc["StackName"]; ok {
		return
	}
	id, _ := doc["StackId"].(string)
	_, rest, ok := strings.Cut(id, ":stack/")
	if name, _, found := strings.Cut(rest, "/"); ok && found && name != "" {
		doc["StackName"] = name
	}
}

// oceanItems is the compiled item rule of one mapping under Ocean's rules.
type oceanItems struct {
	name string
	// drop removes the array from the document (top-level transform); nil
	// when the transform is off. dropAll is set when Ocean finds no path
	// to delete and deletes the whole document (the resource gives nothing).
	drop    *jq.Query
	dropAll bool
}

// deletionPathPattern is the first plain path of a pipe segment, as Ocean
// finds the array to delete (extract_jq_deletion_path_revised).
var deletionPathPattern = regexp.MustCompile(`^(?:\.\w+|\.\[[^\]]+\])(?:\.\w+|\[[^\]]+\]|\.\[[^\]]+\])*`)

var varBinding = regexp.MustCompile(`^\.\s+as\s+\$\w+`)

// deletionPath is the path Ocean deletes from the document before adding
// an item, or "" when it finds none (it then deletes ".": everything).
func deletionPath(itemsToParse string) string {
	expr := strings.TrimSpace(itemsToParse)
	chain := expr
	if strings.HasPrefix(expr, "(") {
		end := strings.IndexByte(expr, ')')
		if end < 0 {
			return ""
		}
		chain = strings.TrimSpace(expr[1:end])
	}
	for _, seg := range strings.Split(chain, "|") {
		seg = strings.TrimSpace(seg)
		if varBinding.MatchString(seg) || seg == "." || strings.HasPrefix(seg, "$") {
			continue
		}
		if p := deletionPathPattern.FindString(seg); p != "" {
			return p
		}
	}
	return ""
}

// compileOceanItems prepares a mapping's Ocean item rule (nil: none).
func compileOceanItems(m *config.Mapping) *oceanItems {
	if m.ItemsToParseName == "" || m.ItemsToParse == "" {
		return nil
	}
	it := &oceanItems{name: m.ItemsToParseName}
	if !m.ItemsTopLevelTransform {
		return it
	}
	path := deletionPath(m.ItemsToParse)
	q, err := jq.Compile("del(" + path + ")")
	if path == "" || err != nil {
		// Ocean then deletes "." (or its del() fails): the document is
		// null and the resource gives nothing.
		it.dropAll = true
		return it
	}
	it.drop = q
	return it
}

// oceanInputs are the documents one mapping is evaluated against under
// Ocean's item rule: one per item, or none when Ocean would skip the
// resource (items not a list, the document deleted whole).
func (r *Resource) oceanInputs(ctx context.Context, dl *jq.Deadline, cm *config.CompiledMapping, it *oceanItems, doc map[string]any, res source.Resource) []any {
	items, _, err := cm.ItemsToParse.FirstWithin(ctx, dl, doc)
	if err != nil {
		r.logNull(cm.Path+".itemsToParse", res, err, "the resource gives no entities")
		return nil
	}
	list, ok := items.([]any)
	if !ok {
		return nil // Ocean logs "Expected list" and skips the resource
	}
	base := doc
	switch {
	case it.dropAll:
		return nil
	case it.drop != nil:
		v, found, err := it.drop.FirstWithin(ctx, dl, doc)
		m, isMap := v.(map[string]any)
		if err != nil || !found || !isMap {
			return nil
		}
		base = m
	}
	out := make([]any, 0, len(list))
	for _, item := range list {
		merged := make(map[string]any, len(base)+1)
		for k, v := range base {
			merged[k] = v
		}
		merged[it.name] = item
		out = append(out, merged)
	}
	return out
}

// selectOcean evaluates the selector under Ocean's rule: a boolean or an error.
func (r *Resource) selectOcean(ctx context.Context, dl *jq.Deadline, input any, res source.Resource, item int) (bool, error) {
	q := r.compiled.Selector
	if q == nil {
		return true, nil
	}
	v, found, err := q.FirstWithin(ctx, dl, input)
	if err != nil {
		return false, &Error{Path: r.compiled.Path + ".selector.query", Resource: res, Item: item, Err: err}
	}
	b, ok := v.(bool)
	if !found || !ok {
		return false, &Error{Path: r.compiled.Path + ".selector.query", Resource: res, Item: item,
			Err: fmt.Errorf("the selector must give true or false (Ocean's rule), it gave %s", describe(v, found))}
	}
	return b, nil
}

// nullLog reports, once per expression, the fields Ocean's rules sent as null.
type nullLog struct {
	mu     sync.Mutex
	logger *slog.Logger
	seen   map[string]bool
}

// SetLogger sets where the mapper reports the fields it sent as null under
// Ocean's rules (once per expression); default slog.Default().
func (m *Mapper) SetLogger(l *slog.Logger) {
	m.nulls.mu.Lock()
	m.nulls.logger = l
	m.nulls.mu.Unlock()
}

func (r *Resource) logNull(path string, res source.Resource, err error, what string) {
	n := r.nulls
	if n == nil {
		return
	}
	n.mu.Lock()
	if n.seen[path] {
		n.mu.Unlock()
		return
	}
	n.seen[path] = true
	logger := n.logger
	n.mu.Unlock()
	if logger == nil {
		logger = slog.Default()
	}
	logger.Warn("mapping: "+what+" (Ocean's rule); further failures of this expression are not logged",
		"path", path, "resource", res.Identifier, "kind", res.Kind, "region", res.Region, "error", err.Error())
}
