package port

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"

	"github.com/port-labs/port-aws-exporter/internal/entity"
	"github.com/port-labs/port-aws-exporter/internal/jsonvalue"
)

// UpsertOptions are the query flags of an upsert. upsert=true&merge=true are
// always sent: the exporter owns the fields it maps and leaves the others.
type UpsertOptions struct {
	// CreateMissingRelatedEntities creates relation targets that do not exist
	// yet, instead of failing the entity with 404.
	CreateMissingRelatedEntities bool
}

// DeleteOptions are the query flags of a delete.
type DeleteOptions struct {
	// DeleteDependents also deletes entities related to the deleted ones;
	// without it, an entity with dependents is not deleted.
	DeleteDependents bool
}

// Result is the outcome for one entity, in the order of the input.
type Result struct {
	Ref entity.Ref
	// Created is true when Port reports that the upsert created the entity
	// (only the bulk route says; the single route does not tell).
	Created bool
	Err     error
}

// ErrNotSent marks entities the client refused before sending: an
// identifier Port would reject, or a body over Port's size limit.
var ErrNotSent = errors.New("not sent to Port")

// encodeEntity writes e as encoding/json encodes a struct of its fields
// but the blueprint (wireEntity in the tests) without
// HTML escaping ("<" and "&" as themselves, not 6-byte escapes that count
// against 1 MiB), field by field through jsonvalue, which is several times
// faster on the dynamic properties (TestEncodeEntityMatchesEncodingJSON).
func encodeEntity(e entity.Entity) ([]byte, error) {
	return AppendEntity(make([]byte, 0, 512), e)
}

// AppendEntity appends the body Port's entity routes take for e (no
// blueprint: it is in the URL); the benchmarks print entities with it.
func AppendEntity(dst []byte, e entity.Entity) ([]byte, error) {
	dst = append(dst, `{"identifier":`...)
	dst = jsonvalue.AppendString(dst, e.Identifier)
	if e.Title != "" {
		dst = append(dst, `,"title":`...)
		dst = jsonvalue.AppendString(dst, e.Title)
	}
	if e.Icon != "" {
		dst = append(dst, `,"icon":`...)
		dst = jsonvalue.AppendString(dst, e.Icon)
	}
	var err error
	if e.Team != nil {
		dst = append(dst, `,"team":`...)
		if dst, err = jsonvalue.Append(dst, e.Team); err != nil {
			return nil, err
		}
	}
	if len(e.Properties) > 0 {
		dst = append(dst, `,"properties":`...)
		if dst, err = jsonvalue.AppendObject(dst, e.Properties); err != nil {
			return nil, err
		}
	}
	if len(e.Relations) > 0 {
		dst = append(dst, `,"relations":`...)
		if dst, err = jsonvalue.AppendObject(dst, e.Relations); err != nil {
			return nil, err
		}
	}
	return append(dst, '}'), nil
}

func upsertQuery(opts UpsertOptions) url.Values {
	q := url.Values{"upsert": {"true"}, "merge": {"true"}}
	if opts.CreateMissingRelatedEntities {
		q.Set("create_missing_related_entities", "true")
	}
	return q
}

func entitiesPath(blueprint string) string {
	return "/v1/blueprints/" + url.PathEscape(blueprint) + "/entities"
}

// bulkEnvelope is the size of `{"entities":[` + `]}` around the entities.
const bulkEnvelope = len(`{"entities":[]}`)

// UpsertEntities writes entities of one blueprint with as few requests as
// Port's limits allow (20 entities and 1 MiB per request), Concurrency
// requests at a time. Identifiers are checked first; a bad one is that
// entity's error and is not sent. A bulk request Port refuses as too large
// is sent again as single upserts. One Result per entity, in input order.
func (c *Client) UpsertEntities(ctx context.Context, blueprint string, ents []entity.Entity, opts UpsertOptions) []Result {
	results := make([]Result, len(ents))
	type item struct {
		index int
		body  []byte
	}
	var batches [][]item
	var singles []int
	var batch []item
	size := bulkEnvelope
	flush := func() {
		if len(batch) > 0 {
			batches = append(batches, batch)
		}
		batch, size = nil, bulkEnvelope
	}
	for i, e := range ents {
		results[i].Ref = entity.Ref{Blueprint: blueprint, Identifier: e.Identifier}
		body, err := c.checkEntity(blueprint, e)
		if err != nil {
			results[i].Err = err
			continue
		}
		if bulkEnvelope+len(body) > c.cfg.MaxRequestBytes {
			// Fits a request on its own but not inside the bulk envelope.
			singles = append(singles, i)
			continue
		}
		add := len(body)
		if len(batch) > 0 {
			add++ // the comma
		}
		if len(batch) == MaxBulkUpsert || size+add > c.cfg.MaxRequestBytes {
			flush()
			add = len(body)
		}
		batch = append(batch, item{index: i, body: body})
		size += add
	}
	flush()

	c.parallel(len(batches)+len(singles), func(n int) {
		if n >= len(batches) {
			i := singles[n-len(batches)]
			results[i] = c.UpsertEntity(ctx, blueprint, ents[i], opts)
			return
		}
		b := batches[n]
		need := bulkEnvelope + len(b) - 1
		for _, it := range b {
			need += len(it.body)
		}
		var body bytes.Buffer
		body.Grow(need)
		body.WriteString(`{"entities":[`)
		for k, it := range b {
			if k > 0 {
				body.WriteByte(',')
			}
			body.Write(it.body)
		}
		body.WriteString(`]}`)
		indexes := make([]int, len(b))
		for k, it := range b {
			indexes[k] = it.index
		}
		c.sendBulk(ctx, blueprint, ents, indexes, body.Bytes(), opts, results)
	})
	return results
}

// checkEntity validates what Port would reject before anything is sent, and
// returns the entity's body.
func (c *Client) checkEntity(blueprint string, e entity.Entity) ([]byte, error) {
	if err := entity.ValidateBlueprint(blueprint); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotSent, err)
	}
	if e.Blueprint != "" && e.Blueprint != blueprint {
		return nil, fmt.Errorf("%w: entity %q is of blueprint %q, not %q", ErrNotSent, e.Identifier, e.Blueprint, blueprint)
	}
	if err := entity.ValidateIdentifier(e.Identifier); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotSent, err)
	}
	body, err := encodeEntity(e)
	if err != nil {
		return nil, fmt.Errorf("%w: entity %q cannot be encoded as JSON: %w", ErrNotSent, e.Identifier, err)
	}
	if len(body) > c.cfg.MaxRequestBytes {
		return nil, fmt.Errorf("%w: entity %q is %d bytes of JSON, over Port's %d-byte request limit", ErrNotSent, e.Identifier, len(body), c.cfg.MaxRequestBytes)
	}
	return body, nil
}

type bulkAnswer struct {
	Entities []struct {
		Created    bool   `json:"created"`
		Identifier string `json:"identifier"`
		Index      int    `json:"index"`
	} `json:"entities"`
	Errors []struct {
		Identifier string `json:"identifier"`
		Index      int    `json:"index"`
		StatusCode int    `json:"statusCode"`
		Error      string `json:"error"`
		Message    string `json:"message"`
	} `json:"errors"`
}

// sendBulk sends one bulk request for ents[indexes] and fills their results.
func (c *Client) sendBulk(ctx context.Context, blueprint string, ents []entity.Entity, indexes []int, body []byte, opts UpsertOptions, results []Result) {
	path := entitiesPath(blueprint) + "/bulk"
	resp, err := c.do(ctx, request{route: "bulk_upsert", method: http.MethodPost, path: path, query: upsertQuery(opts), body: body})
	var apiErr *APIError
	if errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusRequestEntityTooLarge {
		// Port's limit is lower than ours: send each entity on its own.
		c.log.Warn("Port refused a bulk upsert as too large; sending its entities one by one",
			"blueprint", blueprint, "entities", len(indexes), "bytes", len(body), "trace_id", apiErr.TraceID)
		for _, i := range indexes {
			results[i] = c.UpsertEntity(ctx, blueprint, ents[i], opts)
		}
		return
	}
	if err != nil {
		for _, i := range indexes {
			results[i].Err = err
		}
		return
	}
	applyBulkAnswer(resp.body, path, resp.header.Get("X-Trace-Id"), ents, indexes, results)
}

// applyBulkAnswer matches Port's bulk answer to the request by index, as
// Port's clients do: identifiers may repeat, indexes do not. An entity the
// answer does not mention gets an error rather than a silent success.
func applyBulkAnswer(raw []byte, path, traceID string, ents []entity.Entity, indexes []int, results []Result) {
	var answer bulkAnswer
	if err := json.Unmarshal(raw, &answer); err != nil {
		err = fmt.Errorf("port POST %s: decoding the bulk answer (trace id %s): %w", path, traceID, err)
		for _, i := range indexes {
			results[i].Err = err
		}
		return
	}
	done := make([]bool, len(indexes))
	for _, a := range answer.Entities {
		if a.Index >= 0 && a.Index < len(indexes) {
			results[indexes[a.Index]].Created = a.Created
			done[a.Index] = true
		}
	}
	for _, e := range answer.Errors {
		if e.Index >= 0 && e.Index < len(indexes) {
			results[indexes[e.Index]].Err = &APIError{StatusCode: e.StatusCode, Code: e.Error, Message: e.Message,
				TraceID: traceID, Method: http.MethodPost, Path: path}
			done[e.Index] = true
		}
	}
	for k, ok := range done {
		if !ok {
			results[indexes[k]].Err = fmt.Errorf("port POST %s: the bulk answer does not mention entity %q (index %d; trace id %s)",
				path, ents[indexes[k]].Identifier, k, traceID)
		}
	}
}

// UpsertEntity writes one entity through Port's single-entity route.
func (c *Client) UpsertEntity(ctx context.Context, blueprint string, e entity.Entity, opts UpsertOptions) Result {
	res := Result{Ref: entity.Ref{Blueprint: blueprint, Identifier: e.Identifier}}
	body, err := c.checkEntity(blueprint, e)
	if err != nil {
		res.Err = err
		return res
	}
	_, res.Err = c.do(ctx, request{route: "upsert", method: http.MethodPost, path: entitiesPath(blueprint), query: upsertQuery(opts), body: body})
	return res
}

// DeleteEntities deletes entities of one blueprint, up to 100 per request.
// An entity already gone is a success. When Port refuses a bulk request as a
// whole for a reason about its content (an entity with dependents), its
// entities are deleted one by one so that one cannot block the others; a
// transient failure is reported for each entity instead, to be retried.
func (c *Client) DeleteEntities(ctx context.Context, blueprint string, ids []string, opts DeleteOptions) []Result {
	results := make([]Result, len(ids))
	var valid []int
	for i, id := range ids {
		results[i].Ref = entity.Ref{Blueprint: blueprint, Identifier: id}
		if err := entity.ValidateBlueprint(blueprint); err != nil {
			results[i].Err = fmt.Errorf("%w: %w", ErrNotSent, err)
			continue
		}
		if err := entity.ValidateIdentifier(id); err != nil {
			results[i].Err = fmt.Errorf("%w: %w", ErrNotSent, err)
			continue
		}
		valid = append(valid, i)
	}
	var batches [][]int
	for len(valid) > 0 {
		n := min(len(valid), MaxBulkDelete)
		batches = append(batches, valid[:n])
		valid = valid[n:]
	}
	path := "/v1/blueprints/" + url.PathEscape(blueprint) + "/bulk/entities/delete"
	c.parallel(len(batches), func(n int) {
		batch := batches[n]
		body := struct {
			Entities []string `json:"entities"`
		}{make([]string, len(batch))}
		for k, i := range batch {
			body.Entities[k] = ids[i]
		}
		err := c.postJSON(ctx, "bulk_delete", path, deleteQuery(opts), body, nil)
		if err == nil {
			return
		}
		if IsTransient(err) {
			for _, i := range batch {
				results[i].Err = err
			}
			return
		}
		c.log.Warn("Port refused a bulk delete; deleting its entities one by one", "blueprint", blueprint, "entities", len(batch), "error", err)
		for _, i := range batch {
			results[i].Err = c.DeleteEntity(ctx, blueprint, ids[i], opts)
		}
	})
	return results
}

// DeleteEntity deletes one entity; one that is already gone is a success.
func (c *Client) DeleteEntity(ctx context.Context, blueprint, id string, opts DeleteOptions) error {
	if err := entity.ValidateIdentifier(id); err != nil {
		return fmt.Errorf("%w: %w", ErrNotSent, err)
	}
	_, err := c.do(ctx, request{route: "delete", method: http.MethodDelete, path: entitiesPath(blueprint) + "/" + url.PathEscape(id), query: deleteQuery(opts)})
	if IsNotFound(err) {
		return nil
	}
	return err
}

func deleteQuery(opts DeleteOptions) url.Values {
	return url.Values{"delete_dependents": {fmt.Sprint(opts.DeleteDependents)}}
}

// parallel runs fn(0..n-1) with at most Concurrency at a time. Every index
// runs even after ctx ends, so that every entity gets a result (fn fails fast then).
func (c *Client) parallel(n int, fn func(int)) {
	if n == 1 {
		fn(0)
		return
	}
	sem := make(chan struct{}, c.cfg.Concurrency)
	var wg sync.WaitGroup
	for i := range n {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			fn(i)
		}()
	}
	wg.Wait()
}
