package mapping

import (
	"context"

	"github.com/port-labs/port-aws-exporter/internal/config"
	"github.com/port-labs/port-aws-exporter/internal/entity"
	"github.com/port-labs/port-aws-exporter/internal/jq"
	"github.com/port-labs/port-aws-exporter/internal/source"
)

// mappingBatch evaluates a mapping's blueprint, identifier, title, icon,
// team, properties and relations together (jq.Batch): natively where the
// expression allows, the rest in one gojq run. The values then go through
// exactly the checks mapOne makes of values it evaluates one by one; when
// the batch fails, mapOne evaluates them one by one, so a failing field is
// still reported as itself, with its path and First's error.
type mappingBatch struct {
	batch *jq.Batch
	index map[*jq.Query]int // a query's place in the batch
}

func newMappingBatch(cm *config.CompiledMapping) *mappingBatch {
	var qs []*jq.Query
	index := map[*jq.Query]int{}
	add := func(q *jq.Query) {
		if _, seen := index[q]; q == nil || seen {
			return // not set, or an Ocean field that did not compile
		}
		index[q] = len(qs)
		qs = append(qs, q)
	}
	add(cm.Blueprint.Query)
	add(cm.Identifier)
	add(cm.Title)
	add(cm.Icon)
	add(cm.Team)
	for _, f := range cm.Properties {
		add(f.Query)
	}
	for _, f := range cm.Relations {
		add(f.Query)
	}
	return &mappingBatch{batch: jq.NewBatch(qs), index: index}
}

// fieldValues are a mapping's values for one input, or nil: then each
// expression is evaluated alone.
type fieldValues struct {
	index map[*jq.Query]int
	vals  []jq.Value
}

func (fv *fieldValues) first(ctx context.Context, q *jq.Query, input any) (any, bool, error) {
	if fv != nil {
		if i, ok := fv.index[q]; ok {
			return fv.vals[i].V, fv.vals[i].Found, nil
		}
	}
	return q.First(ctx, input)
}

// mapBatched maps input with mapping i, its expressions evaluated as one
// batch within dl.
func (r *Resource) mapBatched(ctx context.Context, dl *jq.Deadline, i int, input any, res source.Resource) (entity.Entity, error) {
	cm := &r.compiled.Mappings[i]
	mb := r.batches[i]
	vals := make([]jq.Value, mb.batch.Len())
	var fv *fieldValues
	if !r.perField && mb.batch.Eval(ctx, dl, input, vals) {
		fv = &fieldValues{index: mb.index, vals: vals}
	}
	return r.mapOne(ctx, fv, cm, input, res)
}
